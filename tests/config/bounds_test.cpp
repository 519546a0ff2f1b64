// Every configured number in its documented range, strings without control characters, token
// files that are regular files, and the size of the file itself (docs/configuration.md,
// "Ranges").

#include "config/config.hpp"
#include "config/values.hpp"
#include "config_loading.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace fulcrum::config {
namespace {

using namespace std::chrono_literals;
using namespace loading;

// `defaults:\n  limits: {<key>: <value>}`: its value starts at column 13 + the key's length.
strings limit_errors(const std::string& key, const std::string& value) {
    return errors_of(with_defaults("defaults:\n  limits: {" + key + ": " + value + "}\n"));
}

std::string limit_error(const std::string& key, const std::string& message) {
    return "t.yaml:2:" + std::to_string(14 + key.size()) + ": defaults.limits." + key + ": " +
           message;
}

class temp_dir {
public:
    temp_dir() {
        std::string pattern =
            (std::filesystem::temp_directory_path() / "fulcrum-bounds-XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr) {
            throw std::runtime_error("mkdtemp failed");
        }
        path_ = pattern;
    }
    ~temp_dir() { std::filesystem::remove_all(path_); }
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

// ---- sizes and counts

TEST(config_bounds, a_head_limit_past_one_mib_is_refused_however_it_is_written) {
    for (const std::string value : {"18446744073709551615", "18446744073709551616", "100g", "2m",
                                    "1048577", "99999999999999999999g"}) {
        EXPECT_EQ(
            limit_errors("max_head_bytes", value),
            (strings{limit_error("max_head_bytes", "must be between 1 and 1m, got " + value)}))
            << value;
    }
    EXPECT_EQ(load_ok(with_defaults("defaults:\n  limits: {max_head_bytes: 1m}\n"))
                  .frontends[0]
                  .limits.max_head_bytes,
              1024u * 1024);
    EXPECT_EQ(limit_errors("max_uri_bytes", "1g"),
              (strings{limit_error("max_uri_bytes", "must be between 1 and 1m, got 1g")}));
}

TEST(config_bounds, max_headers_is_at_most_a_thousand) {
    EXPECT_EQ(limit_errors("max_headers", "1000000000"),
              (strings{limit_error("max_headers", "must be between 1 and 1000, got 1000000000")}));
    EXPECT_EQ(limit_errors("max_headers", "18446744073709551616"),
              (strings{limit_error("max_headers",
                                   "must be between 1 and 1000, got 18446744073709551616")}));
    EXPECT_EQ(load_ok(with_defaults("defaults:\n  limits: {max_headers: 1000}\n"))
                  .frontends[0]
                  .limits.max_headers,
              1000u);
}

TEST(config_bounds, a_body_limit_is_at_most_one_tib_and_zero_is_none) {
    EXPECT_EQ(limit_errors("max_body_bytes", "1025g"),
              (strings{limit_error("max_body_bytes", "must be between 0 and 1024g, got 1025g")}));
    EXPECT_EQ(load_ok(with_defaults("defaults:\n  limits: {max_body_bytes: 1024g}\n"))
                  .frontends[0]
                  .limits.max_body_bytes,
              1ull << 40);
    EXPECT_EQ(load_ok(with_defaults("defaults:\n  limits: {max_body_bytes: 0}\n"))
                  .frontends[0]
                  .limits.max_body_bytes,
              0u);
}

TEST(config_bounds, idle_connections_per_server_are_at_most_one_per_port) {
    EXPECT_EQ(errors_of(with_defaults("defaults:\n  pool: {max_idle_per_server: 65536}\n")),
              (strings{"t.yaml:2:31: defaults.pool.max_idle_per_server: must be between 0 and "
                       "65535, got 65536"}));
}

// ---- durations

TEST(config_bounds, durations_end_at_2147483647ms_as_haproxys_timers) {
    for (const std::string value :
         {"25d", "106752d", "2147483648ms", "9223372036854775807ms", "18446744073709551616s"}) {
        EXPECT_EQ(errors_of(with_defaults("defaults:\n  timeouts: {server: " + value + "}\n")),
                  (strings{"t.yaml:2:22: defaults.timeouts.server: duration '" + value +
                           "' is too large (at most 2147483647ms, about 24.8 days)"}))
            << value;
    }
    EXPECT_EQ(load_ok(with_defaults("defaults:\n  timeouts: {tunnel: 2147483647ms}\n"))
                  .backends[0]
                  .tunnel_timeout,
              largest_duration);
    EXPECT_EQ(load_ok(with_defaults("global: {shutdown_grace: 24d}\n")).global.shutdown_grace,
              24 * 24h);
    duration d{};
    EXPECT_FALSE(parse_duration("25d", d));
}

// ---- strings

TEST(config_bounds, a_nul_or_control_character_in_a_string_is_refused_where_it_is) {
    const std::string routes = R"(frontends:
  - name: http
    bind: [10.17.1.18:80]
    default_backend: app_pool
    routes:
      - {path_prefix: "/api\0/x", backend: app_pool}
      - {host: "api\x07.example.com", backend: app_pool}
backends:
  - name: app_pool
    service: "shop\tfront"
    servers:
      - {name: app-1, address: 10.132.20.236:80}
)";
    EXPECT_EQ(errors_of(routes),
              (strings{
                  "t.yaml:6:23: frontends[0].routes[0].path_prefix: must not contain control "
                  "characters (found \\x00 at position 5)",
                  "t.yaml:7:16: frontends[0].routes[1].host: must not contain control characters "
                  "(found \\x07 at position 4)",
                  "t.yaml:10:14: backends[0].service: must not contain control characters (found "
                  "\\x09 at position 5)",
              }));
    // A raw NUL byte in the file, not only the escape.
    std::string raw = std::string(minimal);
    raw.replace(raw.find("app-1"), 5, std::string("app\0-1", 6));
    EXPECT_EQ(errors_of(raw), (strings{"t.yaml:8:19: invalid YAML: control character \\x00"}));
}

TEST(config_bounds, line_breaks_are_allowed_only_where_text_is_passed_on_as_it_is) {
    const config c = load_ok(with_defaults(R"(defaults:
  health_check: {type: http, expect_body: "ok\n"}
failover:
  node: a
  peer: 10.0.0.2:9100
  hooks: {on_active: [/usr/bin/logger, "two\nlines"]}
)"));
    EXPECT_EQ(c.backends[0].servers[0].check.expect_body, "ok\n");
    EXPECT_EQ(c.failover->hooks.on_active[1], "two\nlines");
    EXPECT_EQ(errors_of(with_defaults(R"(failover:
  node: a
  peer: 10.0.0.2:9100
  hooks: {on_active: ["/usr/bin/\nlogger"], on_passive: [/bin/true, "a\0b"]}
)")),
              (strings{"t.yaml:4:23: failover.hooks.on_active[0]: must not contain control "
                       "characters (found \\x0a at position 10)",
                       "t.yaml:4:69: failover.hooks.on_passive[1]: must not contain control "
                       "characters (found \\x00 at position 2)"}));
}

// ---- token files

TEST(config_bounds, a_token_file_that_is_a_fifo_or_a_device_is_refused_at_check) {
    temp_dir dir;
    const std::string fifo = (dir.path() / "admin.token").string();
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    EXPECT_EQ(
        errors_of(with_defaults("admin: {token_file: " + fifo + "}\n")),
        (strings{"t.yaml:1:21: admin.token_file: '" + fifo + "' is a FIFO, not a regular file"}));
    EXPECT_EQ(errors_of(with_defaults(R"(failover:
  controller: false
  reserved_ip: {address: 203.0.113.10, token_file: /dev/zero}
)")),
              (strings{"t.yaml:3:52: failover.reserved_ip.token_file: '/dev/zero' is a "
                       "character device, not a regular file"}));
    EXPECT_EQ(errors_of(with_defaults("admin: {token_file: " + dir.path().string() + "}\n")),
              (strings{"t.yaml:1:21: admin.token_file: '" + dir.path().string() +
                       "' is a directory, not a regular file"}));
    // Not there yet: the start reports it, when the file is read.
    const config c =
        load_ok(with_defaults("admin: {token_file: " + (dir.path() / "later").string() + "}\n"));
    EXPECT_EQ(c.admin.token_file, (dir.path() / "later").string());
}

// ---- the file itself

TEST(config_bounds, a_file_over_one_mib_is_refused_before_it_is_parsed) {
    // Valid YAML all through: only the size is wrong.
    std::string big = std::string(minimal);
    big += "# " + std::string(largest_file_bytes - big.size() - 3, 'x') + "\n";
    ASSERT_EQ(big.size(), largest_file_bytes);
    EXPECT_EQ(errors_of(big), strings{});
    big += "\n";
    EXPECT_EQ(errors_of(big),
              (strings{"t.yaml: larger than 1048576 bytes, the most a configuration file may be"}));

    temp_dir dir;
    const auto file = dir.path() / "big.yaml";
    std::ofstream(file) << big;
    const auto loaded = load_file(file.string());
    ASSERT_EQ(loaded.errors.size(), 1u);
    EXPECT_EQ(loaded.errors[0].to_string(),
              file.string() + ": larger than 1048576 bytes, the most a configuration file may be");
    // Endless input: read up to one byte past the limit, then refused.
    EXPECT_EQ(load_file("/dev/zero").errors.at(0).to_string(),
              "/dev/zero: larger than 1048576 bytes, the most a configuration file may be");
}

} // namespace
} // namespace fulcrum::config
