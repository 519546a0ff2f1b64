#include "base/exhaustion.hpp"
#include "eventually.hpp"
#include "health/checker.hpp"
#include "responder.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace config = fulcrum::config;
using fulcrum::health::checker;
using fulcrum::health::server_states;
using steady = std::chrono::steady_clock;
using namespace std::chrono_literals;

// The control thread of fulcrum: the checker, its reports and its metrics live there.
class control_thread {
public:
    control_thread() : guard_(asio::make_work_guard(io)), thread_([this] { io.run(); }) {}
    ~control_thread() { stop(); }

    template <typename F> auto call(F f) {
        std::packaged_task<decltype(f())()> task(std::move(f));
        auto result = task.get_future();
        asio::post(io, [&task] { task(); });
        return result.get();
    }
    void stop() {
        guard_.reset();
        io.stop();
        if (thread_.joinable()) {
            thread_.join();
        }
    }

    asio::io_context io;

private:
    asio::executor_work_guard<asio::io_context::executor_type> guard_;
    std::thread thread_;
};

using fulcrum::testing::eventually;
using fulcrum::testing::responder;

// A listening socket the test opens and closes. The kernel completes connections to it
// without accept(), which is all a TCP check needs, and a connection nobody reads from never
// gets an answer.
class listener {
public:
    explicit listener(std::uint16_t port = 0) { open(port); }

    void open(std::uint16_t port) {
        acceptor_.emplace(io_);
        const asio::ip::tcp::endpoint at(asio::ip::make_address("127.0.0.1"), port);
        acceptor_->open(at.protocol());
        acceptor_->set_option(asio::socket_base::reuse_address(true));
        acceptor_->bind(at);
        acceptor_->listen();
        port_ = acceptor_->local_endpoint().port();
    }
    void close() { acceptor_.reset(); }
    std::uint16_t port() const { return port_; }

private:
    asio::io_context io_;
    std::optional<asio::ip::tcp::acceptor> acceptor_;
    std::uint16_t port_ = 0;
};

// A port nothing listens on: connects to it are refused.
std::uint16_t closed_port() {
    listener l;
    return l.port();
}

config::health_check tcp_check() {
    config::health_check c;
    c.interval = 50ms;
    c.timeout = 50ms;
    c.rise = 2;
    c.fall = 2;
    return c;
}

config::health_check http_check() {
    config::health_check c = tcp_check();
    c.type = config::health_check::kind::http;
    c.path = "/health";
    c.timeout = 1000ms;
    c.interval = 1000ms;
    return c;
}

config::config one_server(std::uint16_t port, const config::health_check& check) {
    config::config cfg;
    cfg.backends.resize(1);
    cfg.backends[0].name = "app_pool";
    cfg.backends[0].servers.resize(1);
    cfg.backends[0].servers[0].name = "app-1";
    cfg.backends[0].servers[0].address = {"127.0.0.1", port};
    cfg.backends[0].servers[0].check = check;
    return cfg;
}

fulcrum::health::jitter_source no_jitter() {
    return [](config::duration) { return config::duration(0); };
}

// A checker on its control thread, started.
struct rig {
    explicit rig(config::config c, fulcrum::health::jitter_source jitter = no_jitter())
        : cfg(std::move(c)), states(cfg), health(control.io, cfg, states, std::move(jitter)) {
        control.call([this] { health.start(); });
    }
    ~rig() {
        control.call([this] { health.stop(); });
        control.stop();
    }

    checker::report report(std::size_t backend = 0, std::size_t server = 0) {
        return control.call([=, this] { return health.server_report(backend, server); });
    }
    std::string metrics() {
        return control.call(
            [this] { return prometheus::TextSerializer().Serialize(health.metrics()->Collect()); });
    }
    bool last_check_starts_with(std::string_view prefix) {
        return report().last_check.starts_with(prefix);
    }

    control_thread control;
    config::config cfg;
    server_states states;
    checker health;
};

bool contains(const std::string& text, std::string_view part) {
    return text.find(part) != std::string::npos;
}

// ---- TCP checks

TEST(checker_tcp, a_listening_server_passes_and_stays_up) {
    listener l;
    rig r(one_server(l.port(), tcp_check()));
    ASSERT_TRUE(eventually([&] { return r.last_check_starts_with("passed in "); }))
        << r.report().last_check;
    EXPECT_TRUE(r.states.up(0, 0));
    EXPECT_TRUE(r.report().checks_enabled);
    EXPECT_TRUE(r.report().up);
}

TEST(checker_tcp, detects_a_server_going_down_and_coming_back) {
    listener l;
    const auto port = l.port();
    testing::internal::CaptureStderr();
    rig r(one_server(port, tcp_check()));
    ASSERT_TRUE(eventually([&] { return r.last_check_starts_with("passed"); }));

    const auto before_down = r.report().last_change;
    l.close();
    ASSERT_TRUE(eventually([&] { return !r.states.up(0, 0); }));
    EXPECT_TRUE(r.last_check_starts_with("connect refused after ")) << r.report().last_check;
    EXPECT_FALSE(r.report().up);
    EXPECT_GT(r.report().last_change, before_down);

    l.open(port);
    ASSERT_TRUE(eventually([&] { return r.states.up(0, 0); }));
    const std::string log = testing::internal::GetCapturedStderr();
    EXPECT_TRUE(contains(log, "fulcrum: server app_pool/app-1 DOWN: 2 consecutive checks failed "
                              "(last: connect refused after "))
        << log;
    EXPECT_TRUE(contains(log, "fulcrum: server app_pool/app-1 UP: 2 consecutive checks passed "
                              "(last: passed in "))
        << log;

    const std::string text = r.metrics();
    EXPECT_TRUE(contains(
        text, R"(fulcrum_server_transitions_total{backend="app_pool",server="app-1",to="down"} 1)"))
        << text;
    EXPECT_TRUE(contains(
        text, R"(fulcrum_server_transitions_total{backend="app_pool",server="app-1",to="up"} 1)"))
        << text;
    EXPECT_FALSE(contains(text, R"(reason="connect"} 0)")) << text;
}

TEST(checker_tcp, a_failed_first_check_takes_the_server_down_at_once) {
    testing::internal::CaptureStderr();
    config::health_check check = tcp_check();
    check.fall = 3;
    check.interval = 10s; // a second check would come much later than the deadline below
    rig r(one_server(closed_port(), check));
    ASSERT_TRUE(eventually([&] { return !r.states.up(0, 0); }, 5s));
    const std::string log = testing::internal::GetCapturedStderr();
    EXPECT_TRUE(contains(log, "fulcrum: server app_pool/app-1 DOWN: first check failed (connect "
                              "refused after "))
        << log;
    EXPECT_TRUE(contains(
        r.metrics(),
        R"(fulcrum_server_check_failures_total{backend="app_pool",server="app-1",reason="connect"} 1)"));
}

TEST(checker_tcp, a_connect_that_never_completes_times_out) {
    // With a backlog of 0 the accept queue holds one connection; once it is full the kernel
    // drops further SYNs, so the check's connect hangs.
    asio::io_context io;
    asio::ip::tcp::acceptor full(
        io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0), false);
    full.listen(0);
    asio::ip::tcp::socket filler(io);
    filler.connect(full.local_endpoint());
    config::health_check check = tcp_check();
    check.timeout = 100ms;
    check.interval = 200ms;
    rig r(one_server(full.local_endpoint().port(), check));
    ASSERT_TRUE(eventually([&] { return !r.states.up(0, 0); }));
    EXPECT_EQ(r.report().last_check, "timed out after 100ms");
}

TEST(checker_tcp, checks_go_to_the_check_port) {
    listener checks;
    config::health_check check = tcp_check();
    check.port = checks.port();
    rig r(one_server(closed_port(), check));
    ASSERT_TRUE(eventually([&] { return r.last_check_starts_with("passed"); }));
    EXPECT_TRUE(r.states.up(0, 0));
}

// Lowers this process's descriptor limit to the descriptors open now, so that the next
// socket() fails with EMFILE; the old limit comes back at the end of the scope.
class out_of_descriptors {
public:
    out_of_descriptors() {
        ::getrlimit(RLIMIT_NOFILE, &saved_);
        const int lowest_free = ::dup(0);
        ::close(lowest_free);
        rlimit lowered = saved_;
        lowered.rlim_cur = static_cast<rlim_t>(lowest_free);
        ::setrlimit(RLIMIT_NOFILE, &lowered);
    }
    ~out_of_descriptors() { ::setrlimit(RLIMIT_NOFILE, &saved_); }

private:
    rlimit saved_{};
};

TEST(checker_tcp, a_check_fulcrum_cannot_make_for_want_of_descriptors_never_takes_it_down) {
    listener l;
    testing::internal::CaptureStderr();
    rig r(one_server(l.port(), tcp_check()));
    ASSERT_TRUE(eventually([&] { return r.last_check_starts_with("passed"); }));
    const auto emfile = [] {
        return fulcrum::base::exhaustion_count(fulcrum::base::exhaustion::emfile);
    };
    const auto before = emfile();
    {
        out_of_descriptors exhausted;
        // Twice `fall` checks that could not connect.
        ASSERT_TRUE(eventually(
            [&] { return emfile() >= before + 2 * r.cfg.backends[0].servers[0].check.fall; }));
        EXPECT_TRUE(r.last_check_starts_with("not checked: fulcrum is out of resources"))
            << r.report().last_check;
        EXPECT_TRUE(r.states.up(0, 0));
    }
    ASSERT_TRUE(eventually([&] { return r.last_check_starts_with("passed"); }));
    EXPECT_TRUE(r.states.up(0, 0));
    const std::string log = testing::internal::GetCapturedStderr();
    EXPECT_FALSE(contains(log, "DOWN")) << log;
    // Once per episode: one line however many checks failed.
    EXPECT_EQ(std::count_if(log.begin(), log.end(), [](char c) { return c == '\n'; }), 1) << log;
    EXPECT_TRUE(contains(log, "fulcrum: health check of app_pool/app-1 failed: fulcrum is out of "
                              "the process's descriptor limit (RLIMIT_NOFILE) (emfile)"))
        << log;
    const std::string text = r.metrics();
    EXPECT_TRUE(contains(
        text,
        R"(fulcrum_server_check_failures_total{backend="app_pool",server="app-1",reason="connect"} 0)"))
        << text;
    EXPECT_TRUE(contains(
        text, R"(fulcrum_server_transitions_total{backend="app_pool",server="app-1",to="down"} 0)"))
        << text;
}

// ---- HTTP checks

TEST(checker_http, sends_the_documented_request) {
    responder server;
    rig r(one_server(server.port(), http_check()));
    ASSERT_TRUE(eventually([&] { return server.requests() > 0; }));
    EXPECT_EQ(server.last_request(),
              "GET /health HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(server.port()) +
                  "\r\nUser-Agent: fulcrum-health-check\r\nConnection: "
                  "close\r\n\r\n");
    ASSERT_TRUE(eventually([&] { return r.last_check_starts_with("passed in "); }));
}

TEST(checker_http, host_and_method_come_from_the_config) {
    responder server;
    server.reply("HTTP/1.1 204 No Content\r\n\r\n");
    config::health_check check = http_check();
    check.method = "HEAD";
    check.host = "app.example.com";
    check.path = "/status?full=1";
    rig r(one_server(server.port(), check));
    ASSERT_TRUE(eventually([&] { return server.requests() > 0; }));
    EXPECT_TRUE(server.last_request().starts_with(
        "HEAD /status?full=1 HTTP/1.1\r\nHost: app.example.com\r\n"))
        << server.last_request();
}

TEST(checker_http, a_head_response_announcing_a_body_is_complete_without_one) {
    responder server;
    server.reply("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");
    config::health_check check = http_check();
    check.method = "HEAD";
    rig r(one_server(server.port(), check));
    ASSERT_TRUE(eventually([&] { return r.last_check_starts_with("passed in "); }))
        << r.report().last_check;
}

TEST(checker_http, statuses_outside_the_expected_ranges_fail) {
    responder server;
    server.reply("HTTP/1.1 302 Found\r\nLocation: /login\r\nContent-Length: 0\r\n\r\n");
    config::health_check check = http_check();
    check.interval = 100ms;
    check.timeout = 100ms;
    // The default range 200-399 accepts a redirect.
    rig r(one_server(server.port(), check));
    ASSERT_TRUE(eventually([&] { return r.last_check_starts_with("passed"); }));

    server.reply("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n");
    ASSERT_TRUE(eventually([&] { return !r.states.up(0, 0); }));
    EXPECT_EQ(r.report().last_check, "status 503");
    EXPECT_FALSE(contains(r.metrics(), R"(reason="status"} 0)"));
}

TEST(checker_http, a_list_of_codes_and_ranges_is_honoured) {
    responder server;
    server.reply("HTTP/1.1 302 Found\r\nContent-Length: 0\r\n\r\n");
    config::health_check check = http_check();
    check.expect_status = {{200, 200}, {204, 204}, {401, 403}};
    rig r(one_server(server.port(), check));
    ASSERT_TRUE(eventually([&] { return !r.states.up(0, 0); }));
    EXPECT_EQ(r.report().last_check, "status 302");
}

TEST(checker_http, a_status_in_a_later_range_passes) {
    responder server;
    server.reply("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
    config::health_check check = http_check();
    check.expect_status = {{200, 200}, {204, 204}, {401, 403}};
    rig r(one_server(server.port(), check));
    ASSERT_TRUE(eventually([&] { return r.last_check_starts_with("passed"); }));
    EXPECT_TRUE(r.states.up(0, 0));
}

TEST(checker_http, expect_body_finds_the_text_or_fails) {
    responder server;
    server.reply("HTTP/1.1 200 OK\r\nContent-Length: 19\r\n\r\n{\"status\": \"ready\"}");
    config::health_check check = http_check();
    check.expect_body = "\"ready\"";
    check.interval = 100ms;
    check.timeout = 100ms;
    rig r(one_server(server.port(), check));
    ASSERT_TRUE(eventually([&] { return r.last_check_starts_with("passed"); }));

    server.reply("HTTP/1.1 200 OK\r\nContent-Length: 22\r\n\r\n{\"status\": \"starting\"}");
    ASSERT_TRUE(eventually([&] { return !r.states.up(0, 0); }));
    EXPECT_EQ(r.report().last_check, "body does not contain '\"ready\"'");
    EXPECT_FALSE(contains(r.metrics(), R"(reason="body"} 0)"));
}

TEST(checker_http, expect_body_reads_chunked_and_close_delimited_bodies) {
    responder server;
    // "ok" split across two chunks: found in the payload, not in the wire bytes.
    server.reply("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                 "3\r\nall\r\n2\r\n o\r\n1\r\nk\r\n0\r\n\r\n");
    config::health_check check = http_check();
    check.expect_body = "all ok";
    check.interval = 100ms;
    check.timeout = 100ms;
    rig r(one_server(server.port(), check));
    ASSERT_TRUE(eventually([&] { return r.last_check_starts_with("passed"); }))
        << r.report().last_check;
    EXPECT_TRUE(r.states.up(0, 0));

    server.reply("HTTP/1.0 200 OK\r\n\r\nall ok until the server closes");
    const int seen = server.requests();
    // Checks are sequential: once a second request after the change has arrived, a check
    // with the new reply has been recorded.
    ASSERT_TRUE(eventually([&] { return server.requests() > seen + 2; }));
    EXPECT_TRUE(r.last_check_starts_with("passed")) << r.report().last_check;
    EXPECT_TRUE(r.states.up(0, 0));
}

TEST(checker_http, a_server_that_never_answers_times_out) {
    listener silent; // accepts (in the kernel) and never answers
    config::health_check check = http_check();
    check.timeout = 100ms;
    check.interval = 200ms;
    rig r(one_server(silent.port(), check));
    ASSERT_TRUE(eventually([&] { return !r.states.up(0, 0); }));
    EXPECT_EQ(r.report().last_check, "timed out after 100ms");
    const std::string text = r.metrics();
    EXPECT_TRUE(contains(
        text,
        R"(fulcrum_server_check_failures_total{backend="app_pool",server="app-1",reason="timeout"} 1)"))
        << text;
}

TEST(checker_http, a_malformed_response_is_a_protocol_failure) {
    responder server;
    server.reply("SSH-2.0-OpenSSH_9.2\r\n\r\n");
    rig r(one_server(server.port(), http_check()));
    ASSERT_TRUE(eventually([&] { return !r.states.up(0, 0); }));
    EXPECT_TRUE(r.last_check_starts_with("bad response: ")) << r.report().last_check;
    EXPECT_TRUE(contains(
        r.metrics(),
        R"(fulcrum_server_check_failures_total{backend="app_pool",server="app-1",reason="protocol"} 1)"));
}

TEST(checker_http, a_connection_closed_before_the_response_is_a_protocol_failure) {
    responder server;
    server.reply("");
    rig r(one_server(server.port(), http_check()));
    ASSERT_TRUE(eventually([&] { return !r.states.up(0, 0); }));
    EXPECT_EQ(r.report().last_check, "connection closed before a complete response");
}

// ---- jitter

TEST(checker_jitter, uniform_jitter_stays_within_the_interval_and_spreads) {
    auto jitter = fulcrum::health::uniform_jitter(42);
    config::duration low = 10s;
    config::duration high = 0s;
    for (int i = 0; i < 10000; ++i) {
        const auto d = jitter(2000ms);
        ASSERT_GE(d, 0ms);
        ASSERT_LT(d, 2000ms);
        low = std::min(low, d);
        high = std::max(high, d);
    }
    EXPECT_LT(low, 50ms);
    EXPECT_GT(high, 1950ms);
    // The shortest interval leaves only zero.
    EXPECT_EQ(jitter(1ms), 0ms);
    // Seeded: the same seed gives the same sequence.
    auto a = fulcrum::health::uniform_jitter(7);
    auto b = fulcrum::health::uniform_jitter(7);
    for (int i = 0; i < 100; ++i) {
        EXPECT_EQ(a(10s), b(10s));
    }
}

TEST(checker_jitter, the_first_check_waits_for_the_jitter_of_its_interval) {
    responder server;
    std::mutex mutex;
    std::vector<config::duration> asked;
    std::vector<config::duration> given;
    auto inner = fulcrum::health::uniform_jitter(3);
    fulcrum::health::jitter_source recording = [&](config::duration interval) {
        // At least 300 ms, so that the test can see the wait.
        const auto d = std::max(inner(interval), config::duration(300));
        std::lock_guard lock(mutex);
        asked.push_back(interval);
        given.push_back(d);
        return d;
    };
    config::health_check check = http_check();
    check.interval = 2s;
    const auto before = steady::now();
    rig r(one_server(server.port(), check), recording);
    ASSERT_TRUE(eventually([&] { return server.first_request_at().has_value(); }));
    std::lock_guard lock(mutex);
    ASSERT_EQ(asked, (std::vector<config::duration>{2s}));
    ASSERT_LT(given[0], 2s);
    EXPECT_GE(*server.first_request_at() - before, given[0]);
}

TEST(checker_jitter, a_server_is_up_and_not_checked_yet_while_its_jitter_runs) {
    listener l;
    config::health_check check = tcp_check();
    check.interval = 60s;
    rig r(one_server(l.port(), check), [](config::duration interval) { return interval - 1ms; });
    const auto report = r.report();
    EXPECT_TRUE(report.checks_enabled);
    EXPECT_TRUE(report.up);
    EXPECT_EQ(report.last_check, "not checked yet");
    EXPECT_TRUE(r.states.available(0, 0));
}

// ---- passive observation and servers without checks

TEST(checker_passive, a_passive_down_needs_rise_passes_to_come_back) {
    listener l;
    testing::internal::CaptureStderr();
    config::config cfg = one_server(l.port(), tcp_check());
    cfg.backends[0].servers[0].check.interval = 100ms;
    cfg.backends[0].servers[0].check.rise = 3;
    rig r(cfg);
    ASSERT_TRUE(eventually([&] { return r.last_check_starts_with("passed"); }));
    bool marked = false;
    for (int i = 0; i < 3; ++i) {
        marked = r.states.observe_connect(0, 0, false);
    }
    ASSERT_TRUE(marked);
    ASSERT_FALSE(r.states.up(0, 0));
    ASSERT_TRUE(eventually([&] { return r.states.up(0, 0); }));
    const std::string log = testing::internal::GetCapturedStderr();
    EXPECT_TRUE(contains(log, "fulcrum: server app_pool/app-1 UP: 3 consecutive checks passed "
                              "(last: passed in "))
        << log;
    const std::string text = r.metrics();
    EXPECT_TRUE(contains(
        text, R"(fulcrum_server_transitions_total{backend="app_pool",server="app-1",to="down"} 1)"))
        << text;
    EXPECT_TRUE(contains(
        text, R"(fulcrum_server_transitions_total{backend="app_pool",server="app-1",to="up"} 1)"))
        << text;
}

TEST(checker_passive, a_server_without_checks_comes_back_after_rise_intervals) {
    testing::internal::CaptureStderr();
    config::health_check check = tcp_check();
    check.enabled = false;
    check.interval = 100ms;
    check.rise = 2;
    rig r(one_server(closed_port(), check));
    EXPECT_FALSE(r.report().checks_enabled);
    EXPECT_EQ(r.report().last_check, "checks disabled");
    EXPECT_TRUE(r.states.up(0, 0));
    for (int i = 0; i < 3; ++i) {
        r.states.observe_connect(0, 0, false);
    }
    ASSERT_FALSE(r.states.up(0, 0));
    ASSERT_TRUE(eventually([&] { return r.states.up(0, 0); }));
    // The control thread logs the transition after publishing it: let it finish that handler.
    r.report();
    const std::string log = testing::internal::GetCapturedStderr();
    EXPECT_TRUE(contains(log, "fulcrum: server app_pool/app-1 UP: back in rotation after 200ms "
                              "(passive DOWN; checks disabled)"))
        << log;
    // No checks, so no check series.
    EXPECT_FALSE(contains(r.metrics(), "fulcrum_server_check_duration_seconds_count{"));
}

TEST(checker_passive, log_lines) {
    const config::config cfg = one_server(80, tcp_check());
    testing::internal::CaptureStderr();
    fulcrum::health::log_passive_down(cfg, 0, 0, fulcrum::health::transition_cause::passive_connect,
                                      3);
    fulcrum::health::log_passive_down(cfg, 0, 0, fulcrum::health::transition_cause::passive_5xx, 5);
    using fulcrum::health::transition_cause;
    fulcrum::health::log_passive_down(cfg, 0, 0, transition_cause::passive_closed, 5);
    fulcrum::health::log_passive_down(cfg, 0, 0, transition_cause::passive_invalid, 1);
    fulcrum::health::log_passive_down(cfg, 0, 0, transition_cause::passive_timed_out, 2);
    EXPECT_EQ(testing::internal::GetCapturedStderr(),
              "fulcrum: server app_pool/app-1 DOWN: 3 consecutive connect failures (passive)\n"
              "fulcrum: server app_pool/app-1 DOWN: 5 consecutive 5xx responses (passive)\n"
              "fulcrum: server app_pool/app-1 DOWN: 5 consecutive gateway errors, the last a "
              "connection closed early (passive)\n"
              "fulcrum: server app_pool/app-1 DOWN: 1 consecutive gateway error, the last an "
              "invalid response (passive)\n"
              "fulcrum: server app_pool/app-1 DOWN: 2 consecutive gateway errors, the last a "
              "response timeout (passive)\n");
}

// ---- reports and metrics

TEST(checker_metrics, every_family_is_exposed) {
    listener l;
    config::config cfg = one_server(l.port(), tcp_check());
    cfg.backends[0].servers.push_back(cfg.backends[0].servers[0]);
    cfg.backends[0].servers[1].name = "app-2";
    cfg.backends[0].servers[1].check.enabled = false;
    rig r(cfg);
    ASSERT_TRUE(eventually([&] { return r.last_check_starts_with("passed"); }));
    r.states.set_admin(0, 1, fulcrum::health::admin_state::drain);
    // The data-plane SLI appears after the first 1 s tick.
    ASSERT_TRUE(eventually(
        [&] { return contains(r.metrics(), "fulcrum_sli_backend_availability_ratio{"); }));
    const std::string text = r.metrics();
    for (
        std::string_view line : {
            R"(# TYPE fulcrum_server_up gauge)",
            R"(fulcrum_server_up{backend="app_pool",server="app-1"} 1)",
            R"(fulcrum_server_up{backend="app_pool",server="app-2"} 1)",
            R"(# TYPE fulcrum_server_admin_state gauge)",
            R"(fulcrum_server_admin_state{backend="app_pool",server="app-1",state="ready"} 1)",
            R"(fulcrum_server_admin_state{backend="app_pool",server="app-1",state="maint"} 0)",
            R"(fulcrum_server_admin_state{backend="app_pool",server="app-2",state="ready"} 0)",
            R"(fulcrum_server_admin_state{backend="app_pool",server="app-2",state="drain"} 1)",
            R"(# TYPE fulcrum_server_check_duration_seconds histogram)",
            R"(fulcrum_server_check_duration_seconds_bucket{backend="app_pool",server="app-1",le="0.001"})",
            R"(fulcrum_server_check_duration_seconds_bucket{backend="app_pool",server="app-1",le="5"})",
            R"(fulcrum_server_check_duration_seconds_bucket{backend="app_pool",server="app-1",le="+Inf"})",
            R"(fulcrum_server_check_duration_seconds_count{backend="app_pool",server="app-1"})",
            R"(# TYPE fulcrum_server_check_failures_total counter)",
            R"(fulcrum_server_check_failures_total{backend="app_pool",server="app-1",reason="connect"} 0)",
            R"(fulcrum_server_check_failures_total{backend="app_pool",server="app-1",reason="timeout"} 0)",
            R"(fulcrum_server_check_failures_total{backend="app_pool",server="app-1",reason="status"} 0)",
            R"(fulcrum_server_check_failures_total{backend="app_pool",server="app-1",reason="body"} 0)",
            R"(fulcrum_server_check_failures_total{backend="app_pool",server="app-1",reason="protocol"} 0)",
            R"(# TYPE fulcrum_server_transitions_total counter)",
            R"(fulcrum_server_transitions_total{backend="app_pool",server="app-2",to="up"} 0)",
            R"(fulcrum_server_transitions_total{backend="app_pool",server="app-2",to="down"} 0)",
            R"(# TYPE fulcrum_sli_backend_availability_ratio gauge)",
            R"(fulcrum_sli_backend_availability_ratio{backend="app_pool",window="5m"} 1)",
            R"(fulcrum_sli_backend_availability_ratio{backend="app_pool",window="30d"} 1)",
        }) {
        EXPECT_TRUE(contains(text, line)) << line << "\nin\n" << text;
    }
    // A server without checks has no check series.
    EXPECT_FALSE(
        contains(text, R"(fulcrum_server_check_failures_total{backend="app_pool",server="app-2")"));
}

TEST(checker_metrics, availability_counts_down_server_seconds) {
    // One of two servers refuses connections: half the server-seconds are UP.
    listener l;
    config::config cfg = one_server(l.port(), tcp_check());
    cfg.backends[0].servers.push_back(cfg.backends[0].servers[0]);
    cfg.backends[0].servers[1].name = "app-2";
    cfg.backends[0].servers[1].address.port = closed_port();
    rig r(cfg);
    ASSERT_TRUE(eventually([&] { return !r.states.up(0, 1); }));
    // app-2's first check (no jitter) fails well before the first 1 s tick.
    ASSERT_TRUE(eventually([&] {
        return contains(
            r.metrics(),
            R"(fulcrum_sli_backend_availability_ratio{backend="app_pool",window="1h"} 0.5)");
    })) << r.metrics();
}

TEST(checker_metrics, restored_availability_windows_count_in_the_ratio) {
    // As after a restart: 1000 DOWN server-seconds of the current 12 h bucket come back from
    // the state file; only the 30d window holds them.
    listener l;
    rig r(one_server(l.port(), tcp_check()));
    const auto seconds = std::chrono::floor<std::chrono::seconds>(
        fulcrum::sli::wall_clock::now().time_since_epoch());
    r.control.call([&] {
        r.health.availability(0).restore(
            {fulcrum::sli::window::d30, seconds.count() / 43200, {0, 1000}});
    });
    ASSERT_TRUE(eventually([&] {
        return contains(
            r.metrics(),
            R"(fulcrum_sli_backend_availability_ratio{backend="app_pool",window="5m"} 1)");
    })) << r.metrics();
    const std::string text = r.metrics();
    const std::string key =
        R"(fulcrum_sli_backend_availability_ratio{backend="app_pool",window="30d"} )";
    const auto at = text.find(key);
    ASSERT_NE(at, std::string::npos) << text;
    EXPECT_LT(std::stod(text.substr(at + key.size())), 0.05) << text;
}

} // namespace
