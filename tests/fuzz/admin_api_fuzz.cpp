// libFuzzer target for the admin API's request handling (app/admin_api.hpp), as the admin
// listener (app/admin.cpp) drives it: the input is what a client sends, parsed by the same
// request parser with the default limits, and each request read whole (a body with
// Content-Length, as the listener accepts) goes to admin_api::handle() over a fixed
// configuration and token. It checks that every answer has a status the listener has a reason
// phrase for, that every JSON answer parses, and that a server's admin state changes only by a
// POST with the right token that is answered 200.
#include "app/admin_api.hpp"
#include "check.hpp"
#include "health/checker.hpp"
#include "health/server_states.hpp"
#include "http/json.hpp"
#include "http/parser.hpp"
#include "sli/exposition.hpp"
#include "sli/meter.hpp"
#include "sli/service_windows.hpp"
#include "sli/slo_exposition.hpp"

#include <boost/asio/io_context.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace {

using fulcrum::fuzz::check;
namespace config = fulcrum::config;
namespace health = fulcrum::health;
namespace http = fulcrum::http;
namespace sli = fulcrum::sli;

constexpr std::string_view token = "fuzz-token";

// The names the seeds use (tests/fuzz/admin_api_fuzz/).
constexpr std::string_view configuration = R"(
frontends:
  - {name: http, bind: ["127.0.0.1:0"], default_backend: app_pool}
backends:
  - name: app_pool
    servers:
      - {name: app-1, address: 127.0.0.1:8081}
      - {name: app-2, address: 127.0.0.1:8082}
  - name: api
    service: api
    servers:
      - {name: api-1, address: 127.0.0.1:8083}
slo:
  objective: 99.95
  latency: {threshold: 300ms, objective: 99}
)";

config::config load() {
    auto r = config::load_string(configuration, "admin_api_fuzz.yaml");
    check(r.ok());
    return std::move(r.value);
}

// What main() builds around the API, without starting anything.
struct node {
    config::config cfg = load();
    health::server_states states{cfg};
    boost::asio::io_context control{1};
    health::checker checker{control, cfg, states};
    sli::meter meter{cfg, 1};
    sli::service_windows windows{meter, cfg.slo};
    fulcrum::admin_api api{cfg,
                           states,
                           checker,
                           meter,
                           windows,
                           std::string(token),
                           {std::make_shared<sli::meter_collectable>(cfg, meter),
                            std::make_shared<sli::slo_collectable>(
                                meter, windows, [] { return sli::wall_clock::now(); }),
                            checker.metrics()}};

    std::vector<health::admin_state> admin_states() const {
        std::vector<health::admin_state> out;
        for (std::size_t b = 0; b < cfg.backends.size(); ++b) {
            for (std::size_t s = 0; s < cfg.backends[b].servers.size(); ++s) {
                out.push_back(states.admin(b, s));
            }
        }
        return out;
    }
};

void handle(node& n, const http::message_head& head, std::string_view body) {
    const auto before = n.admin_states();
    const auto authorization = head.find("Authorization");
    const auto reply = n.api.handle(head.method(), head.path(), authorization, body);
    check(reply.status == 200 || reply.status == 400 || reply.status == 401 ||
          reply.status == 403 || reply.status == 404 || reply.status == 405 || reply.status == 503);
    check(!reply.content_type.empty() && !reply.body.empty());
    if (reply.content_type == "application/json") {
        check(http::json::parse(reply.body).has_value());
    }
    if (n.admin_states() != before) {
        check(head.method() == "POST" && reply.status == 200 &&
              authorization == "Bearer " + std::string(token));
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static node n;
    std::string_view input(reinterpret_cast<const char*>(data), size);
    http::parser parser(http::parser::mode::request, config::limits{});
    // The listener's refusals before the API is asked (app/admin.cpp).
    constexpr std::size_t max_body = 4096;
    for (;;) {
        auto r = parser.feed(input);
        input.remove_prefix(r.consumed);
        if (r.event != http::parse_event::head_done || parser.head().chunked() ||
            parser.head().content_length() > max_body) {
            return 0;
        }
        r = parser.feed(input);
        if (r.event != http::parse_event::message_done) {
            return 0;
        }
        handle(n, parser.head(), input.substr(0, r.consumed));
        if (!parser.head().keep_alive()) {
            return 0;
        }
        input.remove_prefix(r.consumed);
        parser.next_message();
    }
}
