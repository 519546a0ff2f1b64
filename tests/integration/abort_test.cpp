// Clients that go away before their response is complete, told apart from clients that only
// half-close: what the counters on GET /metrics say, and what becomes of the server's side.
//
// The rule: a FIN from a client whose request asked to keep the connection open, with no
// further request of it waiting, is an abort (fulcrum drops the server connection at once); a
// FIN from a client that announced the end (HTTP/1.0, "Connection: close") or has pipelined
// requests waiting is a half-close, and the response is served and counted once the client's
// TCP has acknowledged it. An RST is always an abort. An aborted request is in no status
// counter.

#include "harness.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <optional>
#include <sstream>

namespace {

using namespace fulcrum::testing;

const std::string aborted = "fulcrum_http_requests_aborted_total{service=\"app_pool\"}";
const std::string ok_200 = "fulcrum_http_requests_total{service=\"app_pool\",code=\"200\"}";

// Responses of app_pool counted under any status.
double responses_counted(const std::map<std::string, double>& metrics) {
    double total = 0;
    for (const auto& [name, value] : metrics) {
        if (name.starts_with("fulcrum_http_requests_total{service=\"app_pool\",")) {
            total += value;
        }
    }
    return total;
}

// The counters of requests, for failure messages.
std::string counters(const fulcrum_process& lb) {
    std::ostringstream lines;
    for (const auto& [name, value] : scrape_metrics(lb.admin_port())) {
        if (name.starts_with("fulcrum_http_requests_total") ||
            name.starts_with("fulcrum_http_requests_aborted_total")) {
            lines << name << " " << value << "\n";
        }
    }
    return lines.str();
}

// Waits until the sample `name` is `value`.
bool counter_reaches(const fulcrum_process& lb, const std::string& name, double value) {
    return eventually([&] { return sample(scrape_metrics(lb.admin_port()), name) == value; });
}

// The nginx connection ($connection) that carried the request for `uri`, once nginx has logged
// it. nginx logs a request when it has finished answering it, whatever became of the
// connection: echo_sleep does not notice a closed connection, so even an abandoned /slow or
// /sleep is logged when its sleep ends.
std::optional<std::string> nginx_connection_of(const nginx_backend& app, const std::string& uri) {
    for (const auto& line : app.access_log()) {
        std::istringstream fields(line);
        std::string connection;
        std::string request_uri;
        fields >> connection >> request_uri;
        if (request_uri == uri) {
            return connection;
        }
    }
    return std::nullopt;
}

config_options one_worker() {
    // One worker, one pool of server connections: a connection kept after the abort would be
    // the one the next request reuses.
    config_options options;
    options.threads = 1;
    return options;
}

TEST(aborted, a_keep_alive_client_that_hangs_up_while_the_server_works_is_aborted_and_dropped) {
    nginx_backend app("app-1");
    fulcrum_process lb(config_yaml({{"app-1", app.address()}}, one_worker()));
    raw_client client(lb.port());
    client.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_TRUE(eventually([&] { return app.requests_in_progress() == 1; }));
    client.close();

    // nginx finishes the 350 ms all the same. The server connection of the aborted request
    // was closed, not put back in the pool: the next request reaches nginx on another one.
    ASSERT_TRUE(eventually([&] { return nginx_connection_of(app, "/slow").has_value(); }));
    EXPECT_EQ(get(lb.port(), "/uri/after").body, "app-1 /uri/after\n");
    ASSERT_TRUE(eventually([&] { return nginx_connection_of(app, "/uri/after").has_value(); }));
    EXPECT_NE(nginx_connection_of(app, "/uri/after"), nginx_connection_of(app, "/slow"))
        << "the abandoned server connection was reused";

    EXPECT_TRUE(counter_reaches(lb, aborted, 1)) << counters(lb);
    const auto metrics = scrape_metrics(lb.admin_port());
    EXPECT_EQ(sample(metrics, aborted), 1);
    EXPECT_EQ(sample(metrics, ok_200), 1) << "only /uri/after: the response nobody received "
                                             "was not counted";
    EXPECT_EQ(responses_counted(metrics), 1);
}

TEST(aborted, curl_giving_up_after_50_ms_twenty_times_counts_twenty_aborted_requests) {
    nginx_backend app("app-1");
    fulcrum_process lb(config_yaml({{"app-1", app.address()}}));
    const std::string url = "http://127.0.0.1:" + std::to_string(lb.port()) + "/slow";
    for (int i = 0; i < 20; ++i) {
        int code = -1;
        run("curl -sS --max-time 0.05 -o /dev/null " + url + " 2>/dev/null", &code);
        EXPECT_EQ(code, 28) << "curl gave up with its timeout status";
    }
    ASSERT_TRUE(eventually([&] {
        const auto log = app.access_log();
        return std::count_if(log.begin(), log.end(), [](const std::string& l) {
                   return l.find(" /slow ") != std::string::npos;
               }) == 20;
    })) << "every curl sent its request before giving up";

    EXPECT_TRUE(counter_reaches(lb, aborted, 20)) << counters(lb);
    const auto metrics = scrape_metrics(lb.admin_port());
    EXPECT_EQ(sample(metrics, aborted), 20);
    EXPECT_EQ(sample(metrics, ok_200), 0);
    EXPECT_EQ(responses_counted(metrics), 0);
}

TEST(aborted, a_client_that_resets_while_the_server_works_is_counted_aborted_at_once) {
    nginx_backend app("app-1");
    fulcrum_process lb(config_yaml({{"app-1", app.address()}}, one_worker()));
    raw_client client(lb.port());
    client.send("GET /sleep HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_TRUE(eventually([&] { return app.requests_in_progress() == 1; }));
    client.reset();

    EXPECT_TRUE(counter_reaches(lb, aborted, 1)) << counters(lb);
    // nginx's 2 s sleep goes on regardless: the count came from the reset, not from a failed
    // attempt to deliver the response later.
    EXPECT_EQ(app.requests_in_progress(), 1) << "counted only when the response came";

    ASSERT_TRUE(eventually([&] { return nginx_connection_of(app, "/sleep").has_value(); }));
    EXPECT_EQ(get(lb.port(), "/uri/after").body, "app-1 /uri/after\n");
    ASSERT_TRUE(eventually([&] { return nginx_connection_of(app, "/uri/after").has_value(); }));
    EXPECT_NE(nginx_connection_of(app, "/uri/after"), nginx_connection_of(app, "/sleep"))
        << "the abandoned server connection was reused";
    EXPECT_TRUE(counter_reaches(lb, ok_200, 1)) << counters(lb);
    const auto metrics = scrape_metrics(lb.admin_port());
    EXPECT_EQ(sample(metrics, aborted), 1);
    EXPECT_EQ(sample(metrics, ok_200), 1) << "only /uri/after";
    EXPECT_EQ(responses_counted(metrics), 1);
}

// The FIN variant is lifecycle_test's
// admin.a_client_that_hangs_up_mid_response_is_counted_as_aborted_not_as_a_response.
TEST(aborted, a_client_that_resets_mid_response_is_counted_as_aborted_not_as_a_response) {
    nginx_backend app("app-1", 64 * 1024 * 1024);
    fulcrum_process lb(config_yaml({{"app-1", app.address()}}));
    raw_client client(lb.port());
    client.send("GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
    const auto start = client.receive_until([](const std::string& r) { return r.size() > 65536; });
    ASSERT_TRUE(start.starts_with("HTTP/1.1 200")) << start.substr(0, 200);
    client.reset();

    EXPECT_TRUE(counter_reaches(lb, aborted, 1)) << counters(lb);
    const auto metrics = scrape_metrics(lb.admin_port());
    EXPECT_EQ(sample(metrics, aborted), 1);
    EXPECT_EQ(responses_counted(metrics), 0);
}

// Half-closes right after a request that announced the end of the connection: the whole
// response still arrives, counted as delivered.
void expect_half_closed_request_served(const std::string& request) {
    nginx_backend app("app-1");
    fulcrum_process lb(config_yaml({{"app-1", app.address()}}));
    raw_client client(lb.port());
    client.send(request);
    client.shut_write();
    const auto r = parse_response(client.receive_all());
    EXPECT_EQ(r.status, 200) << r.head;
    EXPECT_NE(r.body.find("app-1 slow\n"), std::string::npos) << r.body;

    EXPECT_TRUE(counter_reaches(lb, ok_200, 1)) << counters(lb);
    const auto metrics = scrape_metrics(lb.admin_port());
    EXPECT_EQ(sample(metrics, ok_200), 1);
    EXPECT_EQ(sample(metrics, aborted), 0);
}

TEST(aborted, an_http10_client_that_half_closes_after_its_request_gets_the_whole_response) {
    expect_half_closed_request_served("GET /slow HTTP/1.0\r\n\r\n");
}

TEST(aborted, a_connection_close_client_that_half_closes_after_its_request_gets_the_response) {
    expect_half_closed_request_served("GET /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
}

TEST(aborted, pipelined_requests_in_one_write_are_answered_in_order_not_taken_for_a_close) {
    nginx_backend app("app-1");
    fulcrum_process lb(config_yaml({{"app-1", app.address()}}));
    raw_client client(lb.port());
    client.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"
                "GET /uri/b HTTP/1.1\r\nHost: x\r\n\r\n");
    const auto first = parse_response(client.receive_response());
    const auto second = parse_response(client.receive_response());
    EXPECT_EQ(first.status, 200) << first.head;
    EXPECT_NE(first.body.find("app-1 slow\n"), std::string::npos) << first.body;
    EXPECT_EQ(second.status, 200) << second.head;
    EXPECT_EQ(second.body, "app-1 /uri/b\n");

    EXPECT_TRUE(counter_reaches(lb, ok_200, 2)) << counters(lb);
    const auto metrics = scrape_metrics(lb.admin_port());
    EXPECT_EQ(sample(metrics, ok_200), 2);
    EXPECT_EQ(sample(metrics, aborted), 0);
}

TEST(aborted, a_request_sent_while_the_previous_one_is_being_served_waits_for_its_turn) {
    nginx_backend app("app-1");
    fulcrum_process lb(config_yaml({{"app-1", app.address()}}));
    raw_client client(lb.port());
    client.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_TRUE(eventually([&] { return app.requests_in_progress() == 1; }));
    client.send("GET /uri/b HTTP/1.1\r\nHost: x\r\n\r\n");
    const auto first = parse_response(client.receive_response());
    const auto second = parse_response(client.receive_response());
    EXPECT_NE(first.body.find("app-1 slow\n"), std::string::npos) << first.body;
    EXPECT_EQ(second.body, "app-1 /uri/b\n");

    EXPECT_TRUE(counter_reaches(lb, ok_200, 2)) << counters(lb);
    const auto metrics = scrape_metrics(lb.admin_port());
    EXPECT_EQ(sample(metrics, ok_200), 2);
    EXPECT_EQ(sample(metrics, aborted), 0);
}

TEST(aborted, pipelined_requests_followed_by_a_half_close_are_all_answered) {
    nginx_backend app("app-1");
    fulcrum_process lb(config_yaml({{"app-1", app.address()}}));
    raw_client client(lb.port());
    client.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"
                "GET /uri/b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    client.shut_write();
    const auto first = parse_response(client.receive_response());
    const auto second = parse_response(client.receive_response());
    EXPECT_NE(first.body.find("app-1 slow\n"), std::string::npos) << first.body;
    EXPECT_EQ(second.body, "app-1 /uri/b\n");
    EXPECT_TRUE(client.closed_by_peer());

    EXPECT_TRUE(counter_reaches(lb, ok_200, 2)) << counters(lb);
    const auto metrics = scrape_metrics(lb.admin_port());
    EXPECT_EQ(sample(metrics, ok_200), 2);
    EXPECT_EQ(sample(metrics, aborted), 0);
}

TEST(aborted, a_half_closed_client_that_goes_away_before_the_response_is_aborted) {
    nginx_backend app("app-1");
    fulcrum_process lb(config_yaml({{"app-1", app.address()}}));
    raw_client client(lb.port());
    client.send("GET /slow HTTP/1.0\r\n\r\n");
    client.shut_write();
    ASSERT_TRUE(eventually([&] { return app.requests_in_progress() == 1; }));
    // Gone altogether: the client's kernel answers the response with an RST.
    client.close();

    EXPECT_TRUE(counter_reaches(lb, aborted, 1)) << counters(lb);
    ASSERT_TRUE(eventually([&] { return nginx_connection_of(app, "/slow").has_value(); }));
    const auto metrics = scrape_metrics(lb.admin_port());
    EXPECT_EQ(sample(metrics, aborted), 1);
    EXPECT_EQ(sample(metrics, ok_200), 0) << "a response the client never acknowledged";
    EXPECT_EQ(responses_counted(metrics), 0);
}

} // namespace
