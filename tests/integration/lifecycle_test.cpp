// The binary as an operator meets it: --check, the tutorial's config, the admin listener,
// SIGTERM.

#include "harness.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <regex>

namespace {

using namespace fulcrum::testing;

const std::string binary = FULCRUM_BINARY;
const std::string tutorial = std::string(FULCRUM_SOURCE_DIR) + "/deploy/examples/tutorial.yaml";

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
    for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
        text.replace(at, from.size(), to);
    }
    return text;
}

// full.yaml's certificates are in place as an operator would have them: certbot's pair and an
// RSA certificate with its key in the same file.
TEST(check, accepts_the_shipped_examples) {
    temp_dir certs;
    int code = -1;
    run(std::string(FULCRUM_SOURCE_DIR) + "/tests/support/test_certs " + certs.path().string() +
            " >/dev/null",
        &code);
    ASSERT_EQ(code, 0);
    const auto& dir = certs.path();
    write_file(dir / "fullchain.pem", read_file(dir / "server.crt"));
    write_file(dir / "privkey.pem", read_file(dir / "server.key"));
    write_file(dir / "example.com.rsa.pem",
               read_file(dir / "server_rsa.crt") + read_file(dir / "server_rsa.key"));
    std::filesystem::permissions(dir / "privkey.pem", std::filesystem::perms::owner_read |
                                                          std::filesystem::perms::owner_write);
    std::filesystem::permissions(dir / "example.com.rsa.pem",
                                 std::filesystem::perms::owner_read |
                                     std::filesystem::perms::owner_write);
    for (const auto* example : {"tutorial.yaml", "full.yaml"}) {
        auto text = read_file(std::string(FULCRUM_SOURCE_DIR) + "/deploy/examples/" + example);
        text = replace_all(text, "/etc/letsencrypt/live/example.com/", dir.string() + "/");
        text = replace_all(text, "/etc/fulcrum/tls/", dir.string() + "/");
        const auto file = dir / example;
        write_file(file, text);
        const auto out = run(binary + " --check -c " + file.string() + " 2>&1", &code);
        EXPECT_EQ(code, 0) << out;
        EXPECT_NE(out.find("configuration is valid"), std::string::npos) << out;
    }
}

TEST(check, reports_located_errors_and_fails) {
    temp_dir dir;
    const auto file = dir.path() / "bad.yaml";
    write_file(file, "frontends:\n"
                     "  - name: http\n"
                     "    bnd: 127.0.0.1:80\n"
                     "    default_backend: app_pool\n"
                     "backends:\n"
                     "  - name: app_pool\n"
                     "    servers: [{name: a, address: 10.0.0.1:80}]\n");
    int code = -1;
    const auto out = run(binary + " --check -c " + file.string() + " 2>&1", &code);
    EXPECT_EQ(code, 1);
    EXPECT_NE(out.find(file.string() + ":3:5: frontends[0].bnd: unknown key 'bnd' (did you mean "
                                       "'bind'?)"),
              std::string::npos)
        << out;
}

TEST(tutorial, the_tutorial_setup_serves_round_robin_with_forwardfor) {
    nginx_backend app1("app-1");
    nginx_backend app2("app-2");
    // The tutorial's file, with its addresses moved onto this machine's loopback.
    std::string yaml = read_file(tutorial);
    ASSERT_NE(yaml.find("10.132.20.236:80"), std::string::npos);
    yaml = replace_all(yaml, "10.17.1.18:80", "127.0.0.1:0");
    yaml = replace_all(yaml, "127.0.0.1:9100", "127.0.0.1:0");
    yaml = replace_all(yaml, "10.132.20.236:80", app1.address());
    yaml = replace_all(yaml, "10.132.20.237:80", app2.address());
    fulcrum_process lb(yaml);

    std::vector<std::string> bodies;
    for (int i = 0; i < 4; ++i) {
        bodies.push_back(run(
            "curl -sS --max-time 10 http://127.0.0.1:" + std::to_string(lb.port("http")) + "/"));
    }
    EXPECT_EQ(bodies, (std::vector<std::string>{"app-1\n", "app-2\n", "app-1\n", "app-2\n"}));
    EXPECT_EQ(get(lb.port("http"), "/xff").body.substr(0, 10), "127.0.0.1|");
}

TEST(admin, healthz_and_metrics_count_by_frontend_backend_server_and_code) {
    nginx_backend app1("app-1");
    fulcrum_process lb(config_yaml({{"app-1", app1.address()}}));
    EXPECT_EQ(get(lb.admin_port(), "/healthz").status, 200);
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(get(lb.port(), "/").status, 200);
    }
    EXPECT_EQ(get(lb.port(), "/empty").status, 204);
    raw_client bad(lb.port());
    bad.send("GET / HTTP/1.1\r\nHost : x\r\n\r\n");
    EXPECT_EQ(parse_response(bad.receive_all()).status, 400);

    const auto metrics = get(lb.admin_port(), "/metrics");
    EXPECT_EQ(metrics.status, 200);
    EXPECT_NE(metrics.head.find("Content-Type: text/plain; version=0.0.4"), std::string::npos);
    const auto& m = metrics.body;
    EXPECT_NE(m.find("fulcrum_frontend_http_responses_total{frontend=\"http\",code=\"200\"} 3"),
              std::string::npos)
        << m;
    EXPECT_NE(m.find("fulcrum_frontend_http_responses_total{frontend=\"http\",code=\"400\"} 1"),
              std::string::npos)
        << m;
    EXPECT_NE(m.find("fulcrum_backend_http_responses_total{backend=\"app_pool\",server=\"app-1\","
                     "code=\"204\"} 1"),
              std::string::npos)
        << m;
    EXPECT_NE(m.find("fulcrum_backend_http_responses_total{backend=\"app_pool\",server=\"<NOSRV>\","
                     "code=\"400\"} 1"),
              std::string::npos)
        << m;
    EXPECT_NE(m.find("fulcrum_http_requests_total{service=\"app_pool\",code=\"200\"} 3"),
              std::string::npos)
        << m;
    EXPECT_NE(m.find("fulcrum_http_requests_total{service=\"app_pool\",code=\"400\"} 1"),
              std::string::npos)
        << m;
    // The direct SLI follows within a second tick: 3 x 200, a 204 and a 400, no 5xx.
    const std::string window_requests =
        "fulcrum_sli_window_requests{service=\"app_pool\",window=\"5m\"} 5";
    EXPECT_TRUE(eventually([&] {
        return get(lb.admin_port(), "/metrics").body.find(window_requests) != std::string::npos;
    })) << get(lb.admin_port(), "/metrics").body;
    EXPECT_NE(
        get(lb.admin_port(), "/metrics")
            .body.find("fulcrum_sli_availability_ratio{service=\"app_pool\",window=\"5m\"} 1"),
        std::string::npos);
    EXPECT_EQ(get(lb.admin_port(), "/nope").status, 404);
}

TEST(admin, a_client_that_hangs_up_mid_response_is_counted_as_aborted_not_as_a_response) {
    nginx_backend app1("app-1", 64 * 1024 * 1024);
    fulcrum_process lb(config_yaml({{"app-1", app1.address()}}));
    {
        raw_client client(lb.port());
        client.send("GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
        client.receive_until([](const std::string& r) { return r.size() > 65536; });
    }
    const auto aborted = "fulcrum_http_requests_aborted_total{service=\"app_pool\"} 1";
    EXPECT_TRUE(eventually([&] {
        return get(lb.admin_port(), "/metrics").body.find(aborted) != std::string::npos;
    })) << get(lb.admin_port(), "/metrics").body;
    // Not a response: every status count is still 0.
    const auto metrics = scrape_metrics(lb.admin_port());
    EXPECT_EQ(sample(metrics, "fulcrum_http_request_duration_seconds_count{service=\"app_pool\"}"),
              0);
    for (const auto& [name, value] : metrics) {
        if (name.starts_with("fulcrum_http_requests_total{")) {
            EXPECT_EQ(value, 0) << name;
        }
    }
}

TEST(shutdown, sigterm_lets_an_in_flight_response_finish_then_exits_zero) {
    nginx_backend app1("app-1", 64 * 1024 * 1024);
    fulcrum_process lb(config_yaml({{"app-1", app1.address()}}));
    raw_client client(lb.port());
    client.send("GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
    // The response is under way once its first bytes are here; the client reads no further
    // for now, so most of the 64 MiB is still to come when the signal arrives.
    const auto start = client.receive_until([](const std::string& r) { return r.size() > 1024; });
    ASSERT_TRUE(start.starts_with("HTTP/1.1 200")) << start.substr(0, 200);
    lb.proc().signal(SIGTERM);
    EXPECT_TRUE(eventually([&] { return !raw_client(lb.port()).connected(); }))
        << "no new connections are accepted while draining";
    const auto health = get(lb.admin_port(), "/healthz");
    EXPECT_EQ(health.status, 503);
    EXPECT_EQ(health.body, "{\"status\": \"draining\", \"healthy\": false, \"frontends\": "
                           "[{\"name\": \"http\", \"listening\": false, \"servers_up\": 1}]}\n");

    const auto rest = client.receive_all(30s);
    const auto end_of_head = start.find("\r\n\r\n") + 4;
    EXPECT_EQ(start.size() + rest.size() - end_of_head, 64u * 1024 * 1024)
        << "the whole body arrived";
    EXPECT_EQ(lb.proc().wait(10s), 0);
    EXPECT_NE(lb.log().find("SIGTERM: draining"), std::string::npos) << lb.log();
}

TEST(shutdown, idle_keep_alive_connections_do_not_hold_up_the_exit) {
    nginx_backend app1("app-1");
    config_options options;
    options.shutdown_grace = "30s";
    fulcrum_process lb(config_yaml({{"app-1", app1.address()}}, options));
    raw_client idle(lb.port());
    idle.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_EQ(parse_response(idle.receive_response()).status, 200);
    lb.proc().signal(SIGTERM);
    EXPECT_TRUE(idle.closed_by_peer(5s));
    EXPECT_EQ(lb.proc().wait(5s), 0) << "exited well before the 30 s grace period";
}

} // namespace
