// The answers fulcrum gives itself, and malformed requests that must never reach a backend.

#include "harness.hpp"
#include "responder.hpp"

#include <gtest/gtest.h>

namespace {

using namespace fulcrum::testing;

class errors : public ::testing::Test {
protected:
    nginx_backend app{"app-1"};

    response exchange(fulcrum_process& lb, const std::string& request) {
        raw_client client(lb.port());
        client.send(request);
        return parse_response(client.receive_all());
    }
};

TEST_F(errors, smuggling_attempts_get_400_and_never_reach_the_backend) {
    fulcrum_process lb(config_yaml({{"app-1", app.address()}}));
    const std::vector<std::string> attempts = {
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
        "0\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nX-Long: a\r\n folded\r\n\r\n",
        "GET / HTTP/1.1\nHost: x\n\n",
        "GET / HTTP/1.1\r\nHost: x\rX: y\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nX-Bad: a\x01b\r\n\r\n",
        "GET / HTTP/1.1\r\nHost : x\r\n\r\n",
        "NOT A REQUEST\r\n\r\n",
    };
    for (const auto& attempt : attempts) {
        const auto r = exchange(lb, attempt);
        EXPECT_EQ(r.status, 400) << attempt;
        EXPECT_NE(r.head.find("Connection: close"), std::string::npos) << r.head;
    }
    EXPECT_TRUE(app.access_log().empty()) << "no malformed request reached the backend";
}

TEST_F(errors, limits_give_413_414_and_431) {
    config_options options;
    options.limits =
        "{max_body_bytes: 1k, max_uri_bytes: 100, max_head_bytes: 2k, max_headers: 10}";
    fulcrum_process lb(config_yaml({{"app-1", app.address()}}, options));
    EXPECT_EQ(
        exchange(lb, "POST /upload/x HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n\r\n").status,
        413);
    EXPECT_EQ(exchange(lb, "GET /" + std::string(200, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n").status,
              414);
    EXPECT_EQ(
        exchange(lb, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(3000, 'b') + "\r\n\r\n")
            .status,
        431);
    std::string many = "GET / HTTP/1.1\r\nHost: x\r\n";
    for (int i = 0; i < 12; ++i) {
        many += "X-" + std::to_string(i) + ": v\r\n";
    }
    EXPECT_EQ(exchange(lb, many + "\r\n").status, 431);
    EXPECT_TRUE(app.access_log().empty());
}

TEST_F(errors, a_refused_upload_still_receives_its_413) {
    config_options options;
    options.limits = "{max_body_bytes: 1k}";
    fulcrum_process lb(config_yaml({{"app-1", app.address()}}, options));
    temp_dir dir;
    run("head -c 33554432 /dev/zero > " + (dir.path() / "big").string());
    // curl goes on sending the body after the refusal (no Expect: 100-continue). Were fulcrum
    // to close with those bytes unread, the connection would be reset under curl's upload and
    // curl would report a send failure instead of the 413.
    int code = -1;
    const auto status = run(
        "curl -sS -o /dev/null -w '%{http_code}' -H 'Expect:' -T " + (dir.path() / "big").string() +
            " http://127.0.0.1:" + std::to_string(lb.port()) + "/upload/big 2>&1",
        &code);
    EXPECT_EQ(status, "413");
    EXPECT_EQ(code, 0);
    EXPECT_TRUE(app.access_log().empty());
}

TEST_F(errors, a_client_that_stalls_mid_head_gets_408) {
    config_options options;
    options.timeouts = "{connect: 1s, client: 5s, server: 5s, http_request: 300ms, keepalive: 5s}";
    fulcrum_process lb(config_yaml({{"app-1", app.address()}}, options));
    raw_client client(lb.port());
    client.send("GET / HTTP/1.1\r\nHost: x\r\n");
    const auto r = parse_response(client.receive_all());
    EXPECT_EQ(r.status, 408);
    EXPECT_TRUE(app.access_log().empty());
}

TEST_F(errors, an_idle_keep_alive_connection_is_closed_without_an_answer) {
    config_options options;
    options.timeouts = "{connect: 1s, client: 5s, server: 5s, http_request: 5s, keepalive: 200ms}";
    fulcrum_process lb(config_yaml({{"app-1", app.address()}}, options));
    raw_client client(lb.port());
    client.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_EQ(parse_response(client.receive_response()).status, 200);
    EXPECT_EQ(client.receive_all(), "") << "closed silently after the keep-alive timeout";
}

TEST_F(errors, a_broken_server_response_gives_502) {
    responder broken;
    broken.reply("HTTP/1.1 200 OK\r\nContent-Length: nope\r\n\r\n");
    fulcrum_process lb(config_yaml({{"broken", "127.0.0.1:" + std::to_string(broken.port())}}));
    const auto r = get(lb.port(), "/");
    EXPECT_EQ(r.status, 502);
    EXPECT_NE(lb.log().find("server app_pool/broken: bad response"), std::string::npos) << lb.log();
}

TEST_F(errors, a_server_that_closes_without_answering_gives_502) {
    responder silent;
    silent.reply("");
    fulcrum_process lb(config_yaml({{"silent", "127.0.0.1:" + std::to_string(silent.port())}}));
    EXPECT_EQ(get(lb.port(), "/").status, 502);
}

TEST_F(errors, no_reachable_server_gives_503) {
    const auto nobody = "127.0.0.1:" + std::to_string(unused_port());
    fulcrum_process lb(config_yaml({{"gone", nobody}}));
    const auto r = get(lb.port(), "/");
    EXPECT_EQ(r.status, 503);
    EXPECT_NE(r.body.find("503"), std::string::npos) << r.body;
}

TEST_F(errors, a_slow_server_gives_504) {
    config_options options;
    options.timeouts = "{connect: 1s, client: 5s, server: 300ms, http_request: 5s, keepalive: 5s}";
    fulcrum_process lb(config_yaml({{"app-1", app.address()}}, options));
    EXPECT_EQ(get(lb.port(), "/sleep").status, 504);
}

TEST_F(errors, a_refused_connect_is_retried_on_the_next_server) {
    const auto nobody = "127.0.0.1:" + std::to_string(unused_port());
    fulcrum_process lb(config_yaml({{"gone", nobody}, {"app-1", app.address()}}));
    for (int i = 0; i < 10; ++i) {
        const auto r = get(lb.port(), "/");
        EXPECT_EQ(r.status, 200);
        EXPECT_EQ(r.body, "app-1\n");
    }
}

} // namespace
