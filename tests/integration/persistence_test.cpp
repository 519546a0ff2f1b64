// The SLI windows across restarts of the real binary: SIGTERM, kill -9, a damaged state file,
// a state_dir that goes away while fulcrum runs.

#include "harness.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <fstream>

namespace {

using namespace fulcrum::testing;
namespace fs = std::filesystem;

const std::string binary = FULCRUM_BINARY;

// The value of one series on /metrics, e.g. `fulcrum_sli_window_requests{service="app_pool",
// window="30d"}`; -1 when it is not there.
double value_of(const std::string& metrics, const std::string& series) {
    const auto at = metrics.find("\n" + series + " ");
    if (at == std::string::npos) {
        return -1;
    }
    return std::stod(metrics.substr(at + series.size() + 2));
}

const std::string requests_30d = R"(fulcrum_sli_window_requests{service="app_pool",window="30d"})";
const std::string errors_30d = R"(fulcrum_sli_window_errors{service="app_pool",window="30d"})";
const std::string requests_5m = R"(fulcrum_sli_window_requests{service="app_pool",window="5m"})";
const std::string slow_30d = R"(fulcrum_sli_window_slow_requests{service="app_pool",window="30d"})";
const std::string saves_ok = R"(fulcrum_sli_state_saves_total{result="ok"})";
const std::string saves_failed = R"(fulcrum_sli_state_saves_total{result="failed"})";

class persistence : public ::testing::Test {
protected:
    nginx_backend app{"app-1"};
    temp_dir state;

    // `threshold`: a latency objective with this threshold, none when empty.
    std::string yaml(const std::string& interval = "60s", const std::string& threshold = "") const {
        config_options options;
        options.global_extra =
            "state_dir: " + state.path().string() + ", state_interval: " + interval;
        return config_yaml({{"app-1", app.address()}}, options) +
               (threshold.empty()
                    ? std::string()
                    : "slo:\n  latency: {threshold: " + threshold + ", objective: 99}\n");
    }
    static std::string metrics(fulcrum_process& lb) {
        return get(lb.admin_port(), "/metrics").body;
    }
    // `ok` responses and `failed` 503s, each on its own connection (so each is complete, and
    // metered, before the next starts).
    void send(fulcrum_process& lb, int ok, int failed) const {
        for (int i = 0; i < ok; ++i) {
            ASSERT_EQ(get(lb.port(), "/").status, 200);
        }
        for (int i = 0; i < failed; ++i) {
            ASSERT_EQ(get(lb.port(), "/status/503").status, 503);
        }
    }
    bool shows(fulcrum_process& lb, const std::string& series, double expected) const {
        return eventually([&] { return value_of(metrics(lb), series) == expected; });
    }
};

TEST_F(persistence, after_sigterm_and_a_restart_the_windows_have_the_same_counts) {
    double requests = 0;
    double errors = 0;
    {
        fulcrum_process lb(yaml("60s", "250ms"));
        EXPECT_NE(lb.log().find("no state file " + (state.path() / "sli.state").string() +
                                ", starting with empty windows"),
                  std::string::npos)
            << lb.log();
        send(lb, 20, 3);
        ASSERT_EQ(get(lb.port(), "/slow").status, 200); // 350 ms: slower than the threshold
        ASSERT_TRUE(shows(lb, requests_30d, 24)) << metrics(lb);
        requests = value_of(metrics(lb), requests_30d);
        errors = value_of(metrics(lb), errors_30d);
        // Answered just before the signal: not ticked into the windows yet, and only the save
        // at shutdown (the interval is 60 s) can keep it.
        send(lb, 0, 1);
        lb.proc().signal(SIGTERM);
        EXPECT_EQ(lb.proc().wait(10s), 0);
        EXPECT_NE(lb.log().find("SLI windows saved to " + (state.path() / "sli.state").string()),
                  std::string::npos)
            << lb.log();
    }
    EXPECT_EQ(requests, 24);
    EXPECT_EQ(errors, 3);

    {
        fulcrum_process lb(yaml("60s", "250ms"));
        EXPECT_NE(lb.log().find(": 3 restored, 0 new (empty), 0 no longer configured (dropped)"),
                  std::string::npos)
            << lb.log();
        // Loaded before the listeners opened: the first scrape has them, no tick needed.
        const auto m = metrics(lb);
        EXPECT_EQ(value_of(m, requests_30d), 25) << m;
        EXPECT_EQ(value_of(m, errors_30d), 4) << m;
        EXPECT_EQ(value_of(m, requests_5m), 25) << m;
        EXPECT_EQ(value_of(m, slow_30d), 1) << m;
        // And counting goes on from there.
        send(lb, 1, 0);
        EXPECT_TRUE(shows(lb, requests_30d, 26)) << metrics(lb);
        EXPECT_EQ(value_of(metrics(lb), errors_30d), 4);
    }

    // Another latency threshold: what was slow under 250 ms means nothing under 400 ms, so the
    // latency windows start empty; availability is kept.
    fulcrum_process lb(yaml("60s", "400ms"));
    EXPECT_NE(lb.log().find(": 2 restored, 1 new (empty), 1 no longer configured (dropped)"),
              std::string::npos)
        << lb.log();
    const auto m = metrics(lb);
    EXPECT_EQ(value_of(m, requests_30d), 26) << m;
    EXPECT_EQ(value_of(m, slow_30d), 0) << m;
}

TEST_F(persistence, a_kill_9_keeps_what_the_last_periodic_save_had) {
    {
        fulcrum_process lb(yaml("1s"));
        send(lb, 8, 2);
        ASSERT_TRUE(shows(lb, requests_30d, 10)) << metrics(lb);
        // A save that ends after this scrape began after the tick that brought the 10 in.
        const double saved = value_of(metrics(lb), saves_ok);
        ASSERT_TRUE(eventually([&] { return value_of(metrics(lb), saves_ok) > saved; }))
            << metrics(lb);
        lb.proc().signal(SIGKILL);
        EXPECT_EQ(lb.proc().wait(10s), 128 + SIGKILL);
        EXPECT_EQ(lb.log().find("SLI windows saved to"), std::string::npos) << "no final save";
    }
    EXPECT_TRUE(fs::exists(state.path() / "sli.state"));

    fulcrum_process lb(yaml("1s"));
    const auto m = metrics(lb);
    EXPECT_EQ(value_of(m, requests_30d), 10) << m << lb.log();
    EXPECT_EQ(value_of(m, errors_30d), 2) << m;
}

TEST_F(persistence, a_damaged_state_file_is_set_aside_and_counting_starts_from_zero) {
    {
        fulcrum_process lb(yaml());
        send(lb, 5, 1);
        lb.proc().signal(SIGTERM);
        ASSERT_EQ(lb.proc().wait(10s), 0);
    }
    const auto file = state.path() / "sli.state";
    std::string text = read_file(file);
    const auto at = text.find("\n30d ");
    ASSERT_NE(at, std::string::npos) << text;
    text[at + 2] = '1'; // "30d" becomes "31d"
    write_file(file, text);

    fulcrum_process lb(yaml());
    EXPECT_NE(lb.log().find("state file " + file.string() + " is corrupt (CRC-32 "),
              std::string::npos)
        << lb.log();
    EXPECT_NE(lb.log().find(", starting with empty windows"), std::string::npos) << lb.log();
    std::vector<fs::path> aside;
    for (const auto& e : fs::directory_iterator(state.path())) {
        if (e.path().filename().string().starts_with("sli.state.corrupt-")) {
            aside.push_back(e.path());
        }
    }
    ASSERT_EQ(aside.size(), 1u);
    EXPECT_EQ(read_file(aside[0]), text) << "kept as it was, for a post-mortem";
    EXPECT_EQ(value_of(metrics(lb), requests_30d), 0) << metrics(lb);
    send(lb, 2, 0);
    EXPECT_TRUE(shows(lb, requests_30d, 2)) << metrics(lb);
    EXPECT_EQ(value_of(metrics(lb), errors_30d), 0);
}

TEST_F(persistence, a_failed_save_is_logged_once_and_fulcrum_goes_on_serving) {
    fulcrum_process lb(yaml("1s"));
    ASSERT_TRUE(eventually([&] { return value_of(metrics(lb), saves_ok) >= 1; }));
    fs::remove_all(state.path());
    ASSERT_TRUE(eventually([&] { return value_of(metrics(lb), saves_failed) >= 3; }))
        << metrics(lb);
    send(lb, 3, 0);
    const auto log = lb.log();
    const std::string line = "cannot save the SLI windows: cannot create " +
                             (state.path() / "sli.state.tmp").string() +
                             ": No such file or directory (they are kept in memory; fulcrum goes "
                             "on serving and retries every 1s)";
    const auto first = log.find(line);
    EXPECT_NE(first, std::string::npos) << log;
    EXPECT_EQ(log.find("cannot save", first + 1), std::string::npos) << "one line: " << log;

    fs::create_directory(state.path());
    EXPECT_TRUE(eventually([&] { return lb.log().find(" again, after ") != std::string::npos; }))
        << lb.log();
    EXPECT_TRUE(eventually([&] { return fs::exists(state.path() / "sli.state"); }));
}

TEST(persistence_start, a_state_dir_that_does_not_exist_stops_the_start_with_the_reason) {
    temp_dir dir;
    const auto missing = dir.path() / "nope";
    config_options options;
    options.global_extra = "state_dir: " + missing.string();
    write_file(dir.path() / "fulcrum.yaml", config_yaml({{"app-1", "127.0.0.1:1"}}, options));
    int code = -1;
    const auto out = run(binary + " -c " + (dir.path() / "fulcrum.yaml").string() + " 2>&1", &code);
    EXPECT_EQ(code, 1);
    EXPECT_EQ(out, "fulcrum: state_dir " + missing.string() + ": No such file or directory\n");
}

TEST(persistence_start, without_a_state_dir_fulcrum_says_the_windows_are_not_kept) {
    nginx_backend app("app-1");
    fulcrum_process lb(config_yaml({{"app-1", app.address()}}));
    EXPECT_NE(lb.log().find("no state_dir: the SLI windows are not kept across a restart"),
              std::string::npos)
        << lb.log();
    EXPECT_EQ(value_of(get(lb.admin_port(), "/metrics").body, saves_ok), -1);
}

} // namespace
