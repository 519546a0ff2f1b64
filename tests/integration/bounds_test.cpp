// The bounds on configured values as an operator meets them: `fulcrum --check` and a start of
// the real binary refuse each value out of range with its place in the file, and a head limit
// of 1 MiB serves large heads.

#include "harness.hpp"

#include <gtest/gtest.h>

#include <boost/crc.hpp>

#include <sys/stat.h>

#include <cstdio>
#include <filesystem>

namespace {

using namespace fulcrum::testing;

const std::string binary = FULCRUM_BINARY;

// The smallest valid file, with `extra` before it.
std::string minimal(const std::string& extra) {
    return extra + "frontends:\n"
                   "  - name: http\n"
                   "    bind: 127.0.0.1:0\n"
                   "    default_backend: app_pool\n"
                   "backends:\n"
                   "  - name: app_pool\n"
                   "    servers: [{name: a, address: 10.0.0.1:80}]\n";
}

struct verdict {
    int code = -1;
    std::string output;
};

// `fulcrum <args> -c <file>`, killed if it is still running after 20 s (exit 124).
verdict run_fulcrum(const std::string& args, const std::filesystem::path& file) {
    verdict v;
    v.output = run("timeout 20 " + binary + " " + args + " -c " + file.string() + " 2>&1", &v.code);
    return v;
}

TEST(check_bounds, out_of_range_values_are_located_and_refused) {
    temp_dir dir;
    struct bad_file {
        std::string yaml;
        std::string error; // after "<file>:"
    };
    const bad_file files[] = {
        {minimal("defaults: {limits: {max_head_bytes: 18446744073709551615}}\n"),
         "1:37: defaults.limits.max_head_bytes: must be between 1 and 1m, got "
         "18446744073709551615"},
        {minimal("defaults: {limits: {max_head_bytes: 100g}}\n"),
         "1:37: defaults.limits.max_head_bytes: must be between 1 and 1m, got 100g"},
        {minimal("defaults: {limits: {max_headers: 1000000000}}\n"),
         "1:34: defaults.limits.max_headers: must be between 1 and 1000, got 1000000000"},
        {minimal("defaults: {timeouts: {server: 106752d}}\n"),
         "1:31: defaults.timeouts.server: duration '106752d' is too large (at most "
         "2147483647ms, about 24.8 days)"},
        {minimal("global: {shutdown_grace: 25d}\n"),
         "1:26: global.shutdown_grace: duration '25d' is too large (at most 2147483647ms, about "
         "24.8 days)"},
        {"frontends:\n"
         "  - name: http\n"
         "    bind: 127.0.0.1:0\n"
         "    default_backend: app_pool\n"
         "    routes: [{path_prefix: \"/api\\0\", backend: app_pool}]\n"
         "backends:\n"
         "  - name: app_pool\n"
         "    servers: [{name: a, address: 10.0.0.1:80}]\n",
         "5:28: frontends[0].routes[0].path_prefix: must not contain control characters (found "
         "\\x00 at position 5)"},
    };
    int index = 0;
    for (const auto& bad : files) {
        const auto file = dir.path() / ("bad-" + std::to_string(index++) + ".yaml");
        write_file(file, bad.yaml);
        for (const std::string args : {"--check", ""}) {
            const auto v = run_fulcrum(args, file);
            EXPECT_EQ(v.code, 1) << args << "\n" << v.output;
            EXPECT_NE(v.output.find(file.string() + ":" + bad.error), std::string::npos)
                << args << "\n"
                << v.output;
        }
    }
}

TEST(check_bounds, a_fifo_as_token_file_is_refused_at_once_by_check_and_start) {
    temp_dir dir;
    const auto fifo = dir.path() / "admin.token";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    const auto file = dir.path() / "fifo.yaml";
    write_file(file, minimal("admin: {bind: 127.0.0.1:0, token_file: " + fifo.string() + "}\n"));
    for (const std::string args : {"--check", ""}) {
        const auto v = run_fulcrum(args, file);
        EXPECT_EQ(v.code, 1) << args << "\n" << v.output; // 124: it waited for a writer
        EXPECT_NE(v.output.find(file.string() + ":1:40: admin.token_file: '" + fifo.string() +
                                "' is a FIFO, not a regular file"),
                  std::string::npos)
            << args << "\n"
            << v.output;
    }
}

TEST(check_bounds, a_configuration_over_one_mib_is_refused_before_parsing) {
    temp_dir dir;
    const auto file = dir.path() / "big.yaml";
    std::string yaml = minimal("");
    while (yaml.size() <= 1024 * 1024) {
        yaml += "# " + std::string(1000, 'x') + "\n";
    }
    write_file(file, yaml);
    const auto v = run_fulcrum("--check", file);
    EXPECT_EQ(v.code, 1) << v.output;
    EXPECT_NE(v.output.find(file.string() +
                            ": larger than 1048576 bytes, the most a configuration file may be"),
              std::string::npos)
        << v.output;
}

TEST(check_bounds, a_one_mib_head_limit_serves_a_head_far_larger_than_the_usual) {
    nginx_backend app("app-1");
    config_options options;
    options.limits = "{max_head_bytes: 1m, max_headers: 1000}";
    fulcrum_process lb(config_yaml({{"app-1", app.address()}}, options));
    // Under nginx's own limit of 4 x 8 KiB, over the 4 KiB fulcrum sets aside for a head.
    std::string request = "GET / HTTP/1.1\r\nHost: x\r\n";
    for (int i = 0; i < 24; ++i) {
        request += "X-Filler-" + std::to_string(i) + ": " + std::string(1000, 'v') + "\r\n";
    }
    request += "Connection: close\r\n\r\n";
    raw_client client(lb.port());
    client.send(request);
    EXPECT_EQ(parse_response(client.receive_all()).status, 200);
    // And a head past the limit is still refused with 431.
    raw_client big(lb.port());
    big.send("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(1024 * 1024, 'v') + "\r\n\r\n");
    EXPECT_EQ(parse_response(big.receive_all()).status, 431);
}

TEST(state_bounds, a_state_file_with_values_out_of_range_is_set_aside_and_fulcrum_serves) {
    nginx_backend app("app-1");
    temp_dir state;
    // A valid checksum around a time the wall clock cannot hold.
    const std::string body = "fulcrum-sli-state 1\nsaved 9223372036854775807\n"
                             "counter service/app_pool/availability\n5m 340001280 1 1\n";
    boost::crc_32_type crc;
    crc.process_bytes(body.data(), body.size());
    char checksum[32];
    std::snprintf(checksum, sizeof checksum, "crc32 %08x\n", crc.checksum());
    const auto file = state.path() / "sli.state";
    write_file(file, body + checksum);

    config_options options;
    options.global_extra = "state_dir: " + state.path().string();
    fulcrum_process lb(config_yaml({{"app-1", app.address()}}, options));
    EXPECT_NE(lb.log().find("state file " + file.string() +
                            " has a bad line 2 (saved time out of range): 'saved "
                            "9223372036854775807'; set aside as "),
              std::string::npos)
        << lb.log();
    EXPECT_EQ(get(lb.port(), "/").status, 200);
    int aside = 0;
    for (const auto& e : std::filesystem::directory_iterator(state.path())) {
        aside += e.path().filename().string().starts_with("sli.state.corrupt-") ? 1 : 0;
    }
    EXPECT_EQ(aside, 1);
}

} // namespace
