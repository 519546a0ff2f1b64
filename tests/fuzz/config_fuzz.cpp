// libFuzzer target for the configuration loader (config/config.hpp, load_string). The input is
// a YAML file. It checks that the loader never throws, that every error is located inside the
// input and says something, and that a configuration it accepts holds together: every backend
// index in range, weights and priorities within their documented ranges, each SLI service
// named once.
#include "check.hpp"
#include "config/config.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

namespace {

using fulcrum::fuzz::check;
namespace config = fulcrum::config;

const std::string file_name = "fuzz.yaml";

void check_errors(const config::load_result& r, std::string_view text) {
    const auto lines = static_cast<int>(std::count(text.begin(), text.end(), '\n')) + 1;
    for (const auto& e : r.errors) {
        check(e.file == file_name && !e.message.empty());
        check(e.line >= 0 && e.line <= lines && e.column >= 0 && (e.line == 0) == (e.column == 0));
        check(e.to_string().starts_with(file_name + ":"));
    }
}

void check_config(const config::config& c) {
    for (const auto& f : c.frontends) {
        check(f.default_backend < c.backends.size());
        for (const auto& r : f.routes) {
            check(r.backend < c.backends.size());
        }
    }
    for (const auto& b : c.backends) {
        for (const auto& s : b.servers) {
            check(s.weight >= 1 && s.weight <= 256);
        }
    }
    if (c.failover) {
        check(c.failover->priority >= 1 && c.failover->priority <= 255);
    }
    const auto services = config::service_names(c);
    check(std::set<std::string>(services.begin(), services.end()).size() == services.size());
    for (const auto& b : c.backends) {
        check(std::find(services.begin(), services.end(), b.service) != services.end());
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    try {
        const auto r = config::load_string(text, file_name);
        check_errors(r, text);
        if (r.ok()) {
            check_config(r.value);
        }
    } catch (...) {
        check(false); // bad input must come back as diagnostics
    }
    return 0;
}
