// `fulcrum health` against the real binary and real nginx backends: the exit codes that
// keepalived's track_script and the OCF agent's monitor act on.

#include "harness.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>

namespace {

using namespace fulcrum::testing;

const std::string binary = FULCRUM_BINARY;

// Checks every 200 ms, so that the servers are DOWN about a second after they stop.
const std::string fast_checks =
    "    health_check: {interval: 200ms, timeout: 100ms, rise: 2, fall: 3}\n";

struct outcome {
    int code = -1;
    std::string out; // stdout and stderr
};

outcome health(const std::filesystem::path& config, const std::string& extra = "") {
    outcome r;
    r.out = run(binary + " health -c " + config.string() + extra + " 2>&1", &r.code);
    return r;
}

class health_command : public ::testing::Test {
protected:
    // /big is 64 MiB, far more than socket buffers hold unread: a response a client does not
    // read stays in flight and holds a drain open.
    nginx_backend app1{"app-1", 64 * 1024 * 1024};
    nginx_backend app2{"app-2", 64 * 1024 * 1024};
    temp_dir dir;
    std::filesystem::path config = dir.path() / "fulcrum.yaml";
    std::uint16_t admin_port = 0;
    std::optional<fulcrum_process> lb;

    // fulcrum with its admin listener on a fixed port, which `fulcrum health` reads from the
    // same file. A port picked here can be taken before fulcrum binds it: retry then.
    void start(const std::string& shutdown_grace = "5s") {
        for (int attempt = 0; attempt < 5 && !lb; ++attempt) {
            admin_port = unused_port();
            config_options options;
            options.backend_extra = fast_checks;
            options.admin_bind = "127.0.0.1:" + std::to_string(admin_port);
            options.shutdown_grace = shutdown_grace;
            const auto yaml =
                config_yaml({{"app-1", app1.address()}, {"app-2", app2.address()}}, options);
            write_file(config, yaml);
            try {
                lb.emplace(yaml);
            } catch (const std::runtime_error&) {
                lb.reset();
            }
        }
        ASSERT_TRUE(lb.has_value());
    }
};

TEST_F(health_command, says_0_while_servers_are_up_1_once_they_are_down_3_once_fulcrum_is_gone) {
    start();
    const auto up = health(config);
    EXPECT_EQ(up.code, 0) << up.out;
    EXPECT_EQ(up.out, "healthy: frontend http has 2 servers up\n");

    app1.stop();
    app2.stop();
    outcome down;
    EXPECT_TRUE(eventually([&] {
        down = health(config);
        return down.code != 0;
    }));
    EXPECT_EQ(down.code, 1) << down.out;
    EXPECT_EQ(down.out, "unhealthy: frontend http has no server up\n");

    lb->proc().signal(SIGTERM);
    ASSERT_EQ(lb->proc().wait(10s), 0);
    const auto gone = health(config);
    EXPECT_EQ(gone.code, 3) << gone.out;
    EXPECT_EQ(gone.out, "not running: connect to 127.0.0.1:" + std::to_string(admin_port) +
                            " failed: Connection refused\n");
}

TEST_F(health_command, a_draining_node_says_1) {
    start("30s");
    raw_client client(lb->port());
    client.send("GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_TRUE(client.receive_until([](const std::string& r) { return r.size() > 1024; })
                    .starts_with("HTTP/1.1 200"));
    lb->proc().signal(SIGTERM);
    ASSERT_TRUE(eventually([&] { return !raw_client(lb->port()).connected(); }));
    const auto draining = health(config);
    EXPECT_EQ(draining.code, 1) << draining.out;
    EXPECT_EQ(draining.out, "draining: not accepting connections\n");
}

TEST_F(health_command, a_listener_that_never_answers_says_3_after_the_timeout) {
    silent_listener hung_admin;
    const auto port = std::to_string(hung_admin.port());
    config_options options;
    options.admin_bind = "127.0.0.1:" + port;
    write_file(config, config_yaml({{"app-1", app1.address()}}, options));

    const auto hung = health(config, " --timeout 300ms");
    EXPECT_EQ(hung.code, 3) << hung.out;
    EXPECT_EQ(hung.out, "not answering: timed out after 300ms waiting for the response\n");
}

TEST_F(health_command, another_service_on_the_admin_port_says_3_even_when_it_answers_200) {
    config_options options;
    options.admin_bind = app1.address();
    write_file(config, config_yaml({{"app-1", app1.address()}}, options));
    const auto wrong = health(config);
    EXPECT_EQ(wrong.code, 3) << wrong.out;
    EXPECT_EQ(wrong.out, "not answering: " + app1.address() +
                             " answered 200 to GET /healthz, without fulcrum's health report (is "
                             "it fulcrum's admin listener?)\n");
}

TEST_F(health_command, usage_and_configuration_errors_say_2) {
    config_options options;
    write_file(config, config_yaml({{"app-1", app1.address()}}, options));
    const auto no_port = health(config);
    EXPECT_EQ(no_port.code, 2) << no_port.out;
    EXPECT_NE(no_port.out.find("admin.bind 127.0.0.1:0 has no fixed port"), std::string::npos)
        << no_port.out;

    write_file(config, "frontends: [\n");
    EXPECT_EQ(health(config).code, 2);
    EXPECT_EQ(health(dir.path() / "missing.yaml").code, 2);
    EXPECT_EQ(health(config, " --timeout soon").code, 2);
    int code = -1;
    run(binary + " health 2>&1", &code);
    EXPECT_EQ(code, 2);
    run(binary + " health -c " + config.string() + " --check 2>&1", &code);
    EXPECT_EQ(code, 2);
}

} // namespace
