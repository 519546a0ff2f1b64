// fulcrum in front of real nginx backends: balancing, rewriting, keep-alive, streaming.

#include "harness.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <regex>
#include <set>

namespace {

using namespace fulcrum::testing;

std::string curl(std::uint16_t port, const std::string& path, const std::string& options = "") {
    return run("curl -sS --max-time 20 " + options + " http://127.0.0.1:" + std::to_string(port) +
               path);
}

class two_backends : public ::testing::Test {
protected:
    nginx_backend app1{"app-1", 100 * 1024 * 1024};
    nginx_backend app2{"app-2", 100 * 1024 * 1024};
    std::vector<server_entry> servers() const {
        return {{"app-1", app1.address()}, {"app-2", app2.address()}};
    }
};

TEST_F(two_backends, a_curl_loop_alternates_between_the_servers) {
    fulcrum_process lb(config_yaml(servers()));
    std::vector<std::string> answers;
    for (int i = 0; i < 6; ++i) {
        answers.push_back(curl(lb.port(), "/"));
    }
    EXPECT_EQ(answers, (std::vector<std::string>{"app-1\n", "app-2\n", "app-1\n", "app-2\n",
                                                 "app-1\n", "app-2\n"}));
}

TEST_F(two_backends, a_thousand_new_connections_split_evenly_across_worker_threads) {
    fulcrum_process lb(config_yaml(servers()));
    std::map<std::string, int> counts;
    for (int i = 0; i < 1000; ++i) {
        ++counts[get(lb.port(), "/").body];
    }
    EXPECT_EQ(counts["app-1\n"] + counts["app-2\n"], 1000);
    EXPECT_NEAR(counts["app-1\n"], 500, 5);
    EXPECT_NEAR(counts["app-2\n"], 500, 5);
}

TEST_F(two_backends, a_burst_of_simultaneous_connections_is_served_completely) {
    fulcrum_process lb(config_yaml(servers()));
    // Connected before any is accepted, so that the workers find them queued together.
    std::vector<std::unique_ptr<raw_client>> clients;
    for (int i = 0; i < 300; ++i) {
        clients.push_back(std::make_unique<raw_client>(lb.port()));
    }
    for (auto& c : clients) {
        c->send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    }
    int served = 0;
    for (auto& c : clients) {
        served += parse_response(c->receive_response()).status == 200 ? 1 : 0;
    }
    EXPECT_EQ(served, 300);
}

TEST_F(two_backends, the_backend_sees_forwarded_for_and_proto_and_no_hop_by_hop_headers) {
    fulcrum_process lb(config_yaml(servers()));
    const auto r = get(lb.port(), "/xff",
                       "X-Forwarded-For: 203.0.113.7\r\nX-Forwarded-Proto: https\r\n"
                       "Upgrade: websocket\r\n");
    ASSERT_EQ(r.status, 200) << r.head;
    // X-Forwarded-For appended, X-Forwarded-Proto set by us, Host preserved, the client's
    // Connection and Upgrade not passed on.
    EXPECT_EQ(r.body, "203.0.113.7, 127.0.0.1|http|localhost||\n");
}

TEST_F(two_backends, client_keep_alive_reuses_few_server_connections) {
    fulcrum_process lb(config_yaml(servers()));
    raw_client client(lb.port());
    for (int i = 0; i < 200; ++i) {
        client.send("GET /uri/" + std::to_string(i) + " HTTP/1.1\r\nHost: x\r\n\r\n");
        const auto r = parse_response(client.receive_response());
        ASSERT_EQ(r.status, 200) << "request " << i;
        EXPECT_NE(r.body.find(" /uri/" + std::to_string(i) + "\n"), std::string::npos) << r.body;
    }
    // nginx logs a request just after answering it.
    ASSERT_TRUE(
        eventually([&] { return app1.access_log().size() + app2.access_log().size() == 200; }));
    std::set<std::string> connections;
    std::size_t requests = 0;
    for (const auto* backend : {&app1, &app2}) {
        for (const auto& line : backend->access_log()) {
            connections.insert(backend->name() + line.substr(0, line.find(' ')));
            ++requests;
        }
    }
    EXPECT_EQ(requests, 200u);
    EXPECT_LE(connections.size(), 4u) << "server connections are pooled and reused";
}

TEST_F(two_backends, pipelined_requests_are_answered_in_order) {
    fulcrum_process lb(config_yaml(servers()));
    raw_client client(lb.port());
    client.send("GET /uri/a HTTP/1.1\r\nHost: x\r\n\r\n"
                "GET /uri/b HTTP/1.1\r\nHost: x\r\n\r\n"
                "GET /uri/c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    const auto a = parse_response(client.receive_response());
    const auto b = parse_response(client.receive_response());
    const auto c = parse_response(client.receive_response());
    EXPECT_NE(a.body.find("/uri/a"), std::string::npos) << a.body;
    EXPECT_NE(b.body.find("/uri/b"), std::string::npos) << b.body;
    EXPECT_NE(c.body.find("/uri/c"), std::string::npos) << c.body;
    EXPECT_TRUE(client.closed_by_peer());
}

TEST_F(two_backends, http10_clients_are_served_and_closed_unless_they_ask_for_keep_alive) {
    fulcrum_process lb(config_yaml(servers()));
    {
        raw_client client(lb.port());
        client.send("GET / HTTP/1.0\r\n\r\n");
        const auto r = parse_response(client.receive_all());
        EXPECT_EQ(r.status, 200);
        EXPECT_TRUE(r.body == "app-1\n" || r.body == "app-2\n") << r.body;
    }
    raw_client client(lb.port());
    client.send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    const auto first = parse_response(client.receive_response());
    EXPECT_EQ(first.status, 200);
    EXPECT_NE(first.head.find("Connection: keep-alive"), std::string::npos) << first.head;
    client.send("GET / HTTP/1.0\r\n\r\n");
    EXPECT_EQ(parse_response(client.receive_all()).status, 200);
}

TEST_F(two_backends, head_and_204_responses_have_no_body_and_keep_the_connection) {
    fulcrum_process lb(config_yaml(servers()));
    raw_client client(lb.port());
    client.send("HEAD /big HTTP/1.1\r\nHost: x\r\n\r\n");
    const auto head = client.receive_until(
        [](const std::string& r) { return r.find("\r\n\r\n") != std::string::npos; });
    EXPECT_NE(head.find("Content-Length: 104857600"), std::string::npos) << head;
    EXPECT_TRUE(head.ends_with("\r\n\r\n")) << "no body after a HEAD response";
    client.send("GET /empty HTTP/1.1\r\nHost: x\r\n\r\n");
    const auto empty = parse_response(client.receive_response());
    EXPECT_EQ(empty.status, 204);
    EXPECT_EQ(empty.body, "");
    client.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_EQ(parse_response(client.receive_response()).status, 200);
}

TEST_F(two_backends, expect_100_continue_gets_an_interim_answer_before_the_body_is_sent) {
    fulcrum_process lb(config_yaml(servers()));
    raw_client client(lb.port());
    client.send("PUT /upload/e.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                "Expect: 100-continue\r\n\r\n");
    const auto interim = client.receive_until(
        [](const std::string& r) { return r.find("\r\n\r\n") != std::string::npos; });
    EXPECT_EQ(interim, "HTTP/1.1 100 Continue\r\n\r\n");
    client.send("hello");
    const auto final_response = parse_response(client.receive_response());
    EXPECT_EQ(final_response.status, 201) << final_response.head;
    const bool stored = read_file(app1.upload_dir() / "e.txt") == "hello" ||
                        read_file(app2.upload_dir() / "e.txt") == "hello";
    EXPECT_TRUE(stored);
}

TEST_F(two_backends, a_100_mib_upload_and_download_stream_without_growing_memory) {
    fulcrum_process lb(config_yaml(servers()));
    temp_dir dir;
    run("head -c 104857600 /dev/urandom > " + (dir.path() / "up.bin").string());
    ASSERT_EQ(curl(lb.port(), "/", "-o /dev/null"), "");
    const auto before = rss_kib(lb.pid());

    const auto uploaded =
        curl(lb.port(), "/upload/up.bin",
             "-o /dev/null -w '%{http_code}' -T " + (dir.path() / "up.bin").string());
    EXPECT_EQ(uploaded, "201");
    const auto sent = run("sha256sum < " + (dir.path() / "up.bin").string());
    const auto on_1 = app1.upload_dir() / "up.bin";
    const auto on_2 = app2.upload_dir() / "up.bin";
    const auto stored = std::filesystem::exists(on_1) ? on_1 : on_2;
    EXPECT_EQ(run("sha256sum < " + stored.string()), sent) << "the body arrived intact";

    const auto downloaded = curl(lb.port(), "/big", "-o /dev/null -w '%{size_download}'");
    EXPECT_EQ(downloaded, "104857600");

    const auto peak = peak_rss_kib(lb.pid());
    RecordProperty("rss_before_kib", std::to_string(before));
    RecordProperty("rss_peak_kib", std::to_string(peak));
    EXPECT_LT(peak, before + 8 * 1024) << "200 MiB moved through fulcrum: RSS " << before
                                       << " KiB before, peak " << peak << " KiB";
}

TEST_F(two_backends, requests_of_a_stopped_backend_go_to_the_other_server) {
    fulcrum_process lb(config_yaml(servers()));
    app2.stop();
    for (int i = 0; i < 20; ++i) {
        const auto r = get(lb.port(), "/");
        EXPECT_EQ(r.status, 200);
        EXPECT_EQ(r.body, "app-1\n");
    }
    EXPECT_NE(lb.log().find("server app_pool/app-2: connect failed: Connection refused"),
              std::string::npos)
        << lb.log();
}

TEST(reuse, a_request_meeting_a_pooled_connection_the_server_closed_is_retried_once) {
    nginx_backend app("app-1", 1024, "keepalive_timeout 200ms;");
    config_options one_worker; // so that both requests meet the same pool
    one_worker.threads = 1;
    fulcrum_process lb(config_yaml({{"app-1", app.address()}}, one_worker));
    EXPECT_EQ(get(lb.port(), "/uri/first").status, 200);
    // The server closes the idle pooled connection; fulcrum's end of it is then in CLOSE-WAIT.
    const auto close_wait =
        "ss -Htn state close-wait '( dport = :" + std::to_string(app.port()) + " )' | wc -l";
    ASSERT_TRUE(eventually([&] { return run(close_wait) != "0\n"; }));

    const auto r = get(lb.port(), "/uri/second");
    EXPECT_EQ(r.status, 200) << r.head;
    EXPECT_EQ(r.body, "app-1 /uri/second\n");
    const auto second_requests = [&] {
        const auto log = app.access_log();
        return std::count_if(log.begin(), log.end(),
                             [](const std::string& l) { return l.find("/uri/second") != l.npos; });
    };
    // nginx logs a request just after answering it.
    ASSERT_TRUE(eventually([&] { return second_requests() > 0; }));
    EXPECT_EQ(second_requests(), 1);
}

TEST_F(two_backends, routes_send_matching_hosts_and_paths_to_their_backend) {
    const std::string yaml = "global: {threads: 2}\n"
                             "admin: {bind: 127.0.0.1:0}\n"
                             "frontends:\n"
                             "  - name: http\n"
                             "    bind: 127.0.0.1:0\n"
                             "    default_backend: web\n"
                             "    routes:\n"
                             "      - {host: api.example.com, path_prefix: /uri/, backend: api}\n"
                             "backends:\n"
                             "  - name: web\n"
                             "    servers: [{name: app-1, address: " +
                             app1.address() +
                             "}]\n"
                             "  - name: api\n"
                             "    servers: [{name: app-2, address: " +
                             app2.address() + "}]\n";
    fulcrum_process lb(yaml);
    EXPECT_EQ(curl(lb.port(), "/uri/x", "-H 'Host: api.example.com'"), "app-2 /uri/x\n");
    EXPECT_EQ(curl(lb.port(), "/uri/x", "-H 'Host: API.example.com:8080'"), "app-2 /uri/x\n");
    EXPECT_EQ(curl(lb.port(), "/other", "-H 'Host: api.example.com'"), "app-1\n");
    EXPECT_EQ(curl(lb.port(), "/uri/x", "-H 'Host: www.example.com'"), "app-1 /uri/x\n");
}

} // namespace
