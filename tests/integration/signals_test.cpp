// Signals sent to the real binary (docs/operations.md, "Signals"): the ones that are logged
// and ignored, and a second SIGTERM or SIGINT that cuts a drain short.

#include "harness.hpp"

#include <gtest/gtest.h>

#include <csignal>

namespace {

using namespace fulcrum::testing;

struct logged_signal {
    int number;
    std::string line;
};

void PrintTo(const logged_signal& s, std::ostream* out) {
    *out << sigabbrev_np(s.number);
}

class ignored_signal : public ::testing::TestWithParam<logged_signal> {};

TEST_P(ignored_signal, is_logged_and_fulcrum_goes_on_serving) {
    nginx_backend app1("app-1");
    fulcrum_process lb(config_yaml({{"app-1", app1.address()}}));
    ASSERT_EQ(get(lb.port(), "/").status, 200);
    lb.proc().signal(GetParam().number);
    // Logged, or (before) the process ended at once without a word.
    eventually([&] {
        return lb.log().find(GetParam().line) != std::string::npos || !lb.proc().running();
    });
    ASSERT_TRUE(lb.proc().running()) << lb.log();
    EXPECT_NE(lb.log().find(GetParam().line), std::string::npos) << lb.log();
    EXPECT_EQ(get(lb.port(), "/").body, "app-1\n");
    EXPECT_EQ(get(lb.admin_port(), "/healthz").status, 200);
    // Sent again, it is logged again: the first did not use up the handling.
    lb.proc().signal(GetParam().number);
    EXPECT_TRUE(eventually([&] {
        const auto log = lb.log();
        return log.find(GetParam().line) != log.rfind(GetParam().line);
    })) << lb.log();
    EXPECT_EQ(get(lb.port(), "/").status, 200);
    // And SIGTERM still drains and stops.
    lb.proc().signal(SIGTERM);
    EXPECT_EQ(lb.proc().wait(10s), 0) << lb.log();
}

INSTANTIATE_TEST_SUITE_P(
    signals, ignored_signal,
    ::testing::Values(
        logged_signal{SIGHUP, "SIGHUP: no frontend has TLS certificates to reload"},
        logged_signal{SIGUSR1, "SIGUSR1: there is no access log to reopen; ignored"},
        logged_signal{SIGUSR2, "SIGUSR2: ignored"}, logged_signal{SIGQUIT, "SIGQUIT: ignored"},
        logged_signal{SIGALRM, "SIGALRM: ignored"}),
    [](const ::testing::TestParamInfo<logged_signal>& info) {
        return std::string(sigabbrev_np(info.param.number));
    });

const std::string requests_30d = R"(fulcrum_sli_window_requests{service="app_pool",window="30d"})";

// A drain held open by a response the client does not read, so that only the grace period,
// a minute here, would end it.
struct held_drain {
    nginx_backend app{"app-1", 64 * 1024 * 1024};
    temp_dir state;

    std::string yaml() const {
        config_options options;
        options.shutdown_grace = "60s";
        options.global_extra = "state_dir: " + state.path().string() + ", state_interval: 1h";
        return config_yaml({{"app-1", app.address()}}, options);
    }
    // Starts a 64 MiB download on `client` and reads only its beginning.
    static void hold(raw_client& client) {
        client.send("GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
        const auto start =
            client.receive_until([](const std::string& r) { return r.size() > 1024; });
        ASSERT_TRUE(start.starts_with("HTTP/1.1 200")) << start.substr(0, 200);
    }
};

TEST(signals, a_second_sigterm_during_the_drain_stops_at_once_and_the_windows_are_saved) {
    held_drain d;
    {
        fulcrum_process lb(d.yaml());
        for (int i = 0; i < 3; ++i) {
            ASSERT_EQ(get(lb.port(), "/").status, 200);
        }
        raw_client client(lb.port());
        held_drain::hold(client);
        lb.proc().signal(SIGTERM);
        ASSERT_TRUE(eventually([&] {
            return lb.log().find("SIGTERM: draining, 1 connections open") != std::string::npos;
        })) << lb.log();
        EXPECT_EQ(get(lb.admin_port(), "/healthz").status, 503);
        EXPECT_TRUE(lb.proc().running()) << "the held response keeps the drain going";

        lb.proc().signal(SIGTERM);
        // Well within the 60 s grace.
        EXPECT_EQ(lb.proc().wait(10s), 0) << lb.log();
        const auto log = lb.log();
        EXPECT_NE(log.find("SIGTERM during the drain: stopping now, closing 1 connections"),
                  std::string::npos)
            << log;
        EXPECT_NE(log.find("SLI windows saved to " + (d.state.path() / "sli.state").string()),
                  std::string::npos)
            << log;
        EXPECT_TRUE(client.closed_by_peer(5s));
    }
    // The three answered requests were saved at the stop (the interval is an hour).
    fulcrum_process lb(d.yaml());
    EXPECT_EQ(sample(scrape_metrics(lb.admin_port()), requests_30d), 3) << lb.log();
}

TEST(signals, sigterm_after_sigint_also_stops_at_once) {
    held_drain d;
    fulcrum_process lb(d.yaml());
    raw_client client(lb.port());
    held_drain::hold(client);
    lb.proc().signal(SIGINT);
    ASSERT_TRUE(eventually([&] {
        return lb.log().find("SIGINT: draining, 1 connections open") != std::string::npos;
    })) << lb.log();
    lb.proc().signal(SIGTERM);
    EXPECT_EQ(lb.proc().wait(10s), 0) << lb.log();
    EXPECT_NE(lb.log().find("SIGTERM during the drain: stopping now"), std::string::npos)
        << lb.log();
}

} // namespace
