// libFuzzer target for the SLI state file reader (sli/state_file.hpp). Byte 0, when odd, has
// the target sign the rest with its correct CRC-32 line, so that mutations reach the line
// parser instead of stopping at the checksum; the rest is the file. It checks that a file is
// either loaded or set aside whole (nothing restored from it), that restored buckets never
// count more good than total (the SLI never flatters), and that what was loaded, saved and
// loaded again into fresh counters gives the same counters and the same file.
#include "check.hpp"
#include "sli/state_file.hpp"

#include <boost/crc.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace {

using fulcrum::fuzz::check;
namespace fs = std::filesystem;
namespace sli = fulcrum::sli;
using outcome = sli::state_file::load_result::outcome;

// The names the seeds use (tests/fuzz/state_file_fuzz/), as fulcrum names its counters.
const std::vector<std::string> names{"service/app_pool/availability",
                                     "backend/app_pool/availability", "service/app_pool/latency"};
const sli::wall_clock::time_point now{std::chrono::seconds(1'700'006'400)};

// One directory for the whole run, on tmpfs when there is one: every load and save syncs.
const fs::path& directory() {
    static const fs::path dir = [] {
        const fs::path base = fs::is_directory("/dev/shm") ? "/dev/shm" : fs::temp_directory_path();
        std::string pattern = (base / "fulcrum-state-fuzz-XXXXXX").string();
        check(::mkdtemp(pattern.data()) != nullptr);
        std::atexit([] { fs::remove_all(directory()); });
        return fs::path(pattern);
    }();
    return dir;
}

struct counters {
    std::vector<sli::window_counter> windows = std::vector<sli::window_counter>(names.size());
    sli::state_file file{directory()};
    counters() {
        for (std::size_t i = 0; i < names.size(); ++i) {
            file.add(names[i], windows[i]);
        }
    }
};

// The buckets that count: save() leaves empty ones out.
std::vector<sli::window_counter::saved_bucket> counted(const sli::window_counter& c) {
    std::vector<sli::window_counter::saved_bucket> out;
    for (const auto& b : c.saved()) {
        if (b.value.total != 0) {
            out.push_back(b);
        }
    }
    return out;
}

bool same(const std::vector<sli::window_counter::saved_bucket>& a,
          const std::vector<sli::window_counter::saved_bucket>& b) {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (a[i].w != b[i].w || a[i].number != b[i].number || a[i].value.good != b[i].value.good ||
            a[i].value.total != b[i].value.total) {
            return false;
        }
    }
    return true;
}

std::string read(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

void write(const fs::path& path, std::string_view text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    check(out.good());
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) {
        return 0;
    }
    std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
    if ((data[0] & 1) != 0) {
        boost::crc_32_type crc;
        crc.process_bytes(text.data(), text.size());
        char line[32];
        std::snprintf(line, sizeof line, "crc32 %08x\n", crc.checksum());
        text += line;
    }
    for (const auto& entry : fs::directory_iterator(directory())) {
        fs::remove(entry.path());
    }
    counters first;
    write(first.file.path(), text);

    const auto loaded = first.file.load(now);
    check(loaded.what != outcome::missing && !loaded.message.empty());
    if (loaded.what == outcome::set_aside) {
        check(!fs::exists(first.file.path()));
        for (const auto& w : first.windows) {
            check(w.saved().empty());
        }
        return 0;
    }
    for (const auto& w : first.windows) {
        for (const auto& b : w.saved()) {
            check(b.value.good <= b.value.total);
        }
    }

    check(!first.file.save(now));
    const auto saved = read(first.file.path());
    counters second;
    check(second.file.load(now).what == outcome::loaded);
    for (std::size_t i = 0; i < names.size(); ++i) {
        check(same(counted(first.windows[i]), counted(second.windows[i])));
    }
    check(!second.file.save(now));
    check(read(second.file.path()) == saved);
    return 0;
}
