// TLS termination with real clients: curl, openssl s_client and Python's ssl module against the
// fulcrum binary, with certificates from tests/support/test_certs (docs/tls.md).
#include "harness.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <string>

namespace {

using namespace fulcrum::testing;
namespace fs = std::filesystem;

// One set of test certificates for the whole suite: localhost (ECDSA and RSA), a.test, b.test
// with *.b.test, an expired one, and a rogue CA's.
class tls_test : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        certs_ = new temp_dir;
        int rc = -1;
        run(std::string(FULCRUM_SOURCE_DIR) + "/tests/support/test_certs " +
                certs_->path().string() + " >/dev/null",
            &rc);
        ASSERT_EQ(rc, 0);
    }
    static void TearDownTestSuite() {
        delete certs_;
        certs_ = nullptr;
    }

    static std::string cert(const std::string& name) {
        return (certs_->path() / (name + ".crt")).string();
    }
    static std::string key(const std::string& name) {
        return (certs_->path() / (name + ".key")).string();
    }
    // Puts the test certificate `name` and its key in place of the files fulcrum serves.
    static void install(const std::string& name, const fs::path& to_cert, const fs::path& to_key) {
        fs::copy_file(cert(name), to_cert, fs::copy_options::overwrite_existing);
        fs::copy_file(key(name), to_key, fs::copy_options::overwrite_existing);
    }
    static std::string entry(const std::string& name) {
        return "        - {cert: " + cert(name) + ", key: " + key(name) + "}\n";
    }

    // The frontend "http" with a plain bind and a TLS bind serving `entries`.
    static std::string yaml(const std::string& address, const std::string& entries,
                            const std::string& tls_extra = "",
                            const std::string& frontend_extra = "") {
        config_options options;
        options.frontend_extra = "    tls:\n"
                                 "      bind: 127.0.0.1:0\n"
                                 "      certificates:\n" +
                                 entries + tls_extra + frontend_extra;
        return config_yaml({{"app-1", address}}, options);
    }

    // `openssl s_client` with `options` sending one HTTP/1.0 request, read to the close (so
    // that a TLS 1.3 session ticket, sent after the handshake, has arrived); stdout and stderr
    // together.
    static std::string s_client(std::uint16_t port, const std::string& options, int* rc = nullptr) {
        return run("printf 'GET / HTTP/1.0\\r\\n\\r\\n' | openssl s_client -ign_eof -connect "
                   "127.0.0.1:" +
                       std::to_string(port) + " " + options + " 2>&1",
                   rc);
    }

    // curl over HTTPS to `name` at fulcrum's TLS port, verifying against the test CA.
    static std::string curl(std::uint16_t port, const std::string& name, const std::string& path,
                            const std::string& options = "", int* rc = nullptr) {
        const auto p = std::to_string(port);
        return run("curl -sS --max-time 5 --cacert " + cert("ca") + " --resolve " + name + ":" + p +
                       ":127.0.0.1 " + options + " https://" + name + ":" + p + path + " 2>&1",
                   rc);
    }

    static temp_dir* certs_;
};

temp_dir* tls_test::certs_ = nullptr;

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

// A response can reach the client a moment before it is counted: the count is awaited.
bool counted(const fulcrum_process& lb, const std::string& code, double expected) {
    const auto name = R"(fulcrum_http_requests_total{service="app_pool",code=")" + code + "\"}";
    return eventually([&] { return sample(scrape_metrics(lb.admin_port()), name) == expected; });
}

std::string tls_label(const std::string& labels) {
    return "{frontend=\"http\"," + labels + "}";
}

TEST_F(tls_test, https_reaches_the_backend_with_x_forwarded_proto_https) {
    nginx_backend app("app-1");
    fulcrum_process lb(yaml(app.address(), entry("server")));
    int rc = -1;
    const auto body = curl(lb.tls_port(), "localhost", "/xff", "", &rc);
    EXPECT_EQ(rc, 0) << body;
    EXPECT_EQ(body, "127.0.0.1|https|localhost:" + std::to_string(lb.tls_port()) + "||\n");
    // The plain bind of the same frontend still says http.
    EXPECT_TRUE(contains(get(lb.port(), "/xff").body, "|http|")) << get(lb.port(), "/xff").body;
    // Counted in the SLI like any other response, by service.
    const auto metrics = scrape_metrics(lb.admin_port());
    EXPECT_TRUE(counted(lb, "200", 2));
    EXPECT_EQ(sample(metrics, "fulcrum_tls_handshakes_total" +
                                  tls_label(R"(version="TLSv1.3",resumed="false")")),
              1);
}

TEST_F(tls_test, sni_chooses_the_certificate_and_a_client_without_sni_gets_the_default) {
    nginx_backend app("app-1");
    fulcrum_process lb(yaml(app.address(), entry("server") + entry("a") + entry("b")));
    const auto port = lb.tls_port();
    EXPECT_TRUE(contains(s_client(port, "-servername a.test"), "subject=CN = a"));
    EXPECT_TRUE(contains(s_client(port, "-servername www.b.test"), "subject=CN = b"));
    EXPECT_TRUE(contains(s_client(port, "-servername b.test"), "subject=CN = b"));
    // No SNI, or a name no certificate has: the first certificate.
    EXPECT_TRUE(contains(s_client(port, "-noservername"), "subject=CN = server"));
    EXPECT_TRUE(contains(s_client(port, "-servername unknown.test"), "subject=CN = server"));
    // A client that checks the name gets through to the app under both names.
    EXPECT_EQ(curl(port, "a.test", "/"), "app-1\n");
    EXPECT_EQ(curl(port, "x.b.test", "/"), "app-1\n");
}

TEST_F(tls_test, unknown_sni_refuse_refuses_the_handshake_and_counts_it) {
    nginx_backend app("app-1");
    fulcrum_process lb(yaml(app.address(), entry("a"), "      unknown_sni: refuse\n"));
    int rc = 0;
    const auto refused = s_client(lb.tls_port(), "-servername unknown.test", &rc);
    EXPECT_NE(rc, 0);
    EXPECT_TRUE(contains(refused, "unrecognized name")) << refused;
    s_client(lb.tls_port(), "-noservername", &rc);
    EXPECT_NE(rc, 0);
    EXPECT_EQ(curl(lb.tls_port(), "a.test", "/"), "app-1\n");
    const auto metrics = scrape_metrics(lb.admin_port());
    EXPECT_EQ(sample(metrics,
                     "fulcrum_tls_handshake_failures_total" + tls_label(R"(reason="unknown_sni")")),
              2);
    // Not requests: nothing of them is in the SLI.
    EXPECT_TRUE(counted(lb, "200", 1));
}

TEST_F(tls_test, rsa_and_ecdsa_certificates_side_by_side_the_client_chooses) {
    nginx_backend app("app-1");
    fulcrum_process lb(yaml(app.address(), entry("server") + entry("server_rsa")));
    const auto rsa = s_client(lb.tls_port(), "-tls1_2 -sigalgs RSA-PSS+SHA256:RSA+SHA256");
    EXPECT_TRUE(contains(rsa, "subject=CN = server_rsa")) << rsa;
    const auto ecdsa = s_client(lb.tls_port(), "-tls1_3 -sigalgs ECDSA+SHA256");
    EXPECT_TRUE(contains(ecdsa, "subject=CN = server\n")) << ecdsa;
    EXPECT_TRUE(contains(ecdsa, "Peer signature type: ECDSA")) << ecdsa;
}

TEST_F(tls_test, tls_10_and_11_are_refused_12_and_13_offered_with_alpn_http11) {
    nginx_backend app("app-1");
    fulcrum_process lb(yaml(app.address(), entry("server")));
    const auto port = lb.tls_port();
    // The client is let to offer the old versions (OpenSSL 3 refuses them itself by default).
    for (const std::string old : {"-tls1", "-tls1_1"}) {
        int rc = 0;
        const auto said = s_client(port, old + " -cipher DEFAULT@SECLEVEL=0", &rc);
        EXPECT_NE(rc, 0) << old;
        EXPECT_TRUE(contains(said, "alert protocol version")) << old << ": " << said;
    }
    EXPECT_TRUE(contains(s_client(port, "-tls1_2"), "New, TLSv1.2,"));
    const auto tls13 = s_client(port, "-tls1_3 -alpn h2,http/1.1");
    EXPECT_TRUE(contains(tls13, "New, TLSv1.3,")) << tls13;
    EXPECT_TRUE(contains(tls13, "\r\n\r\napp-1\n")) << tls13;
    EXPECT_TRUE(contains(tls13, "ALPN protocol: http/1.1")) << tls13;
    // Plain HTTP sent to the TLS port is a failed handshake too, told in words.
    const auto plain = get(port, "/");
    EXPECT_EQ(plain.status, 400);
    EXPECT_EQ(plain.body, "This port speaks HTTPS: use an https:// URL\n");
    const auto metrics = scrape_metrics(lb.admin_port());
    EXPECT_EQ(sample(metrics, "fulcrum_tls_handshake_failures_total" +
                                  tls_label(R"(reason="protocol_version")")),
              2);
    EXPECT_EQ(sample(metrics,
                     "fulcrum_tls_handshake_failures_total" + tls_label(R"(reason="plain_http")")),
              1);
}

TEST_F(tls_test, min_version_13_refuses_a_tls_12_client) {
    nginx_backend app("app-1");
    fulcrum_process lb(yaml(app.address(), entry("server"), "      min_version: \"1.3\"\n"));
    int rc = 0;
    s_client(lb.tls_port(), "-tls1_2", &rc);
    EXPECT_NE(rc, 0);
    EXPECT_TRUE(contains(s_client(lb.tls_port(), "-tls1_3"), "New, TLSv1.3,"));
}

TEST_F(tls_test, sessions_resume_with_tls13_tickets_and_tls12_and_are_counted) {
    nginx_backend app("app-1");
    fulcrum_process lb(yaml(app.address(), entry("server")));
    temp_dir dir;
    for (const std::string version : {"-tls1_3", "-tls1_2"}) {
        const auto session = (dir.path() / ("session" + version)).string();
        const auto first = s_client(lb.tls_port(), version + " -sess_out " + session);
        EXPECT_TRUE(contains(first, "New, TLSv1.")) << first;
        const auto again = s_client(lb.tls_port(), version + " -sess_in " + session);
        EXPECT_TRUE(contains(again, "Reused, TLSv1.")) << version << ": " << again;
    }
    const auto metrics = scrape_metrics(lb.admin_port());
    for (const std::string version : {"TLSv1.2", "TLSv1.3"}) {
        EXPECT_EQ(sample(metrics, "fulcrum_tls_handshakes_total" +
                                      tls_label("version=\"" + version + "\",resumed=\"true\"")),
                  1)
            << version;
    }
}

TEST_F(tls_test, python_ssl_client_gets_two_responses_on_one_connection) {
    nginx_backend app("app-1");
    fulcrum_process lb(yaml(app.address(), entry("server")));
    const std::string script =
        "import http.client, ssl, sys\n"
        "context = ssl.create_default_context(cafile=sys.argv[2])\n"
        "c = http.client.HTTPSConnection('localhost', int(sys.argv[1]), context=context)\n"
        "for path in ('/', '/uri/second'):\n"
        "    c.request('GET', path)\n"
        "    r = c.getresponse()\n"
        "    print(r.status, r.read().decode().strip(), c.sock.version())\n";
    temp_dir dir;
    write_file(dir.path() / "client.py", script);
    const auto out = run("/usr/bin/python3 " + (dir.path() / "client.py").string() + " " +
                         std::to_string(lb.tls_port()) + " " + cert("ca") + " 2>&1");
    EXPECT_EQ(out, "200 app-1 TLSv1.3\n200 app-1 /uri/second TLSv1.3\n");
    const auto metrics = scrape_metrics(lb.admin_port());
    EXPECT_EQ(sample(metrics, "fulcrum_tls_handshakes_total" +
                                  tls_label(R"(version="TLSv1.3",resumed="false")")),
              1);
}

TEST_F(tls_test, plain_requests_are_redirected_to_https_and_tls_requests_are_served) {
    nginx_backend app("app-1");
    fulcrum_process lb(
        yaml(app.address(), entry("server"), "",
             "    redirect: {scheme: https, code: 301}\n"
             "    routes:\n"
             "      - {path_prefix: /api, backend: app_pool, redirect: {scheme: https, code: 308, "
             "port: 8443}}\n"));
    const auto ask = [&](const std::string& target, const std::string& host) {
        raw_client client(lb.port());
        client.send("GET " + target + " HTTP/1.1\r\nHost: " + host +
                    "\r\nConnection: close\r\n\r\n");
        return parse_response(client.receive_all());
    };
    const auto plain = ask("/a/b?c=1", "www.example.com:8080");
    EXPECT_EQ(plain.status, 301);
    EXPECT_TRUE(contains(plain.head, "\r\nLocation: https://www.example.com/a/b?c=1\r\n"))
        << plain.head;
    const auto api = ask("/api/v1", "www.example.com");
    EXPECT_EQ(api.status, 308);
    EXPECT_TRUE(contains(api.head, "\r\nLocation: https://www.example.com:8443/api/v1\r\n"))
        << api.head;
    // Two redirects on one kept-alive connection, as a browser would.
    raw_client client(lb.port());
    for (int i = 0; i < 2; ++i) {
        client.send("GET /x HTTP/1.1\r\nHost: example.com\r\n\r\n");
        EXPECT_EQ(parse_response(client.receive_response()).status, 301);
    }
    EXPECT_EQ(curl(lb.tls_port(), "localhost", "/"), "app-1\n");
    const auto metrics = scrape_metrics(lb.admin_port());
    EXPECT_TRUE(counted(lb, "301", 3));
    EXPECT_TRUE(counted(lb, "308", 1));
    EXPECT_TRUE(counted(lb, "200", 1));
}

TEST_F(tls_test, a_websocket_over_tls_is_tunnelled_and_counted_once) {
    helper_server server(support_script("ws_echo_server.py"));
    fulcrum_process lb(yaml(server.address(), entry("server")));
    program client(support_script("ws_client.py",
                                  {"--ca", cert("ca"),
                                   "wss://localhost:" + std::to_string(lb.tls_port()) + "/chat",
                                   "recv", "echo-binary:1048576", "close"}));
    EXPECT_EQ(client.proc().wait(30s), 0) << client.output();
    EXPECT_EQ(client.output(), "open\n"
                               "recv text hello\n"
                               "echo binary 1048576 ok\n"
                               "closed, code 1000\n");
    EXPECT_TRUE(counted(lb, "101", 1)) << lb.log();
}

TEST_F(tls_test, hsts_is_sent_on_responses_over_tls_only) {
    nginx_backend app("app-1");
    fulcrum_process lb(yaml(app.address(), entry("server"),
                            "      hsts: {max_age: 63072000, include_subdomains: true}\n"));
    const auto head = curl(lb.tls_port(), "localhost", "/", "-o /dev/null -D -");
    EXPECT_TRUE(
        contains(head, "Strict-Transport-Security: max-age=63072000; includeSubDomains\r\n"))
        << head;
    EXPECT_FALSE(contains(get(lb.port(), "/").head, "Strict-Transport-Security"));
}

TEST_F(tls_test, check_reports_a_wrong_key_and_an_expired_certificate_at_their_settings) {
    nginx_backend app("app-1");
    temp_dir dir;
    const auto file = (dir.path() / "f.yaml").string();
    const auto text =
        yaml(app.address(), "        - {cert: " + cert("server") + ", key: " + key("a") + "}\n");
    write_file(file, text);
    // Where the certificate's entry is: its line, column 11.
    const auto at =
        file + ":" +
        std::to_string(std::count(text.begin(), text.begin() + text.find("- {cert:"), '\n') + 1) +
        ":11: ";
    int rc = 0;
    auto said = run(std::string(FULCRUM_BINARY) + " -c " + file + " --check 2>&1", &rc);
    EXPECT_EQ(rc, 1);
    EXPECT_TRUE(contains(said, at + "frontends[0].tls.certificates[0]: private key " + key("a") +
                                   " does not match the certificate in " + cert("server")))
        << said;
    write_file(file, yaml(app.address(), entry("expired")));
    said = run(std::string(FULCRUM_BINARY) + " -c " + file + " --check 2>&1", &rc);
    EXPECT_EQ(rc, 0) << said;
    EXPECT_TRUE(contains(said, at + "frontends[0].tls.certificates[0]: warning: the "
                                    "certificate for localhost expired on 2020-02-01 00:00:00 "
                                    "UTC"))
        << said;
    write_file(dir.path() / "garbage.pem", "-----BEGIN CERTIFICATE-----\nnot base64\n");
    write_file(file,
               yaml(app.address(), "        - {cert: " + (dir.path() / "garbage.pem").string() +
                                       ", key: " + key("server") + "}\n"));
    said = run(std::string(FULCRUM_BINARY) + " -c " + file + " --check 2>&1", &rc);
    EXPECT_EQ(rc, 1);
    EXPECT_TRUE(contains(said, "frontends[0].tls.certificates[0]: certificate " +
                                   (dir.path() / "garbage.pem").string() + " does not parse"))
        << said;
}

TEST_F(tls_test, a_group_readable_key_is_refused_at_start_and_by_check) {
    nginx_backend app("app-1");
    temp_dir dir;
    const auto readable = dir.path() / "readable.key";
    fs::copy_file(key("server"), readable);
    ::chmod(readable.c_str(), 0640);
    const auto file = (dir.path() / "f.yaml").string();
    write_file(file, yaml(app.address(), "        - {cert: " + cert("server") +
                                             ", key: " + readable.string() + "}\n"));
    int rc = 0;
    const auto said = run(std::string(FULCRUM_BINARY) + " -c " + file + " 2>&1", &rc);
    EXPECT_EQ(rc, 1);
    EXPECT_TRUE(contains(said, "private key " + readable.string() +
                                   " can be read by group or others: chmod 600 it"))
        << said;
    // The key's bytes are never shown.
    EXPECT_FALSE(contains(said, "PRIVATE KEY")) << said;
    run(std::string(FULCRUM_BINARY) + " -c " + file + " --check 2>&1", &rc);
    EXPECT_EQ(rc, 1);
}

TEST_F(tls_test, sighup_reloads_the_certificate_and_an_established_connection_goes_on) {
    nginx_backend app("app-1");
    temp_dir dir;
    const auto live_cert = dir.path() / "live.crt";
    const auto live_key = dir.path() / "live.key";
    install("a", live_cert, live_key);
    fulcrum_process lb(yaml(app.address(), "        - {cert: " + live_cert.string() +
                                               ", key: " + live_key.string() + "}\n"));
    // A client that keeps its connection across the reload, stepping on a file's appearance.
    const std::string script =
        "import http.client, os, ssl, sys, time\n"
        "context = ssl.create_default_context(cafile=sys.argv[2])\n"
        "context.check_hostname = False\n"
        "c = http.client.HTTPSConnection('127.0.0.1', int(sys.argv[1]), context=context)\n"
        "c.request('GET', '/'); r = c.getresponse(); r.read(); print('first', r.status, "
        "flush=True)\n"
        "deadline = time.time() + 20\n"
        "while not os.path.exists(sys.argv[3]) and time.time() < deadline: time.sleep(0.02)\n"
        "c.request('GET', '/'); r = c.getresponse(); r.read(); print('second', r.status, "
        "flush=True)\n";
    write_file(dir.path() / "client.py", script);
    const auto go = (dir.path() / "go").string();
    program client({"/usr/bin/python3", (dir.path() / "client.py").string(),
                    std::to_string(lb.tls_port()), cert("ca"), go});
    ASSERT_TRUE(client.printed("first 200")) << client.output();

    install("b", live_cert, live_key);
    lb.proc().signal(SIGHUP);
    ASSERT_TRUE(eventually([&] { return contains(lb.log(), "1 TLS certificates reloaded"); }))
        << lb.log();
    EXPECT_TRUE(contains(s_client(lb.tls_port(), "-noservername"), "subject=CN = b"));
    write_file(go, "");
    EXPECT_TRUE(client.printed("second 200")) << client.output();

    // A broken file keeps the certificate that works.
    write_file(live_key, "not a key");
    ::chmod(live_key.c_str(), 0600);
    lb.proc().signal(SIGHUP);
    ASSERT_TRUE(eventually([&] { return contains(lb.log(), "certificates not reloaded"); }))
        << lb.log();
    EXPECT_TRUE(contains(s_client(lb.tls_port(), "-noservername"), "subject=CN = b"));
    const auto metrics = scrape_metrics(lb.admin_port());
    EXPECT_EQ(sample(metrics, R"(fulcrum_tls_certificate_reloads_total{result="success"})"), 1);
    EXPECT_EQ(sample(metrics, R"(fulcrum_tls_certificate_reloads_total{result="failure"})"), 1);
}

TEST_F(tls_test, certificate_reloads_under_https_load_fail_no_request) {
    nginx_backend app("app-1");
    temp_dir dir;
    const auto live_cert = dir.path() / "live.crt";
    const auto live_key = dir.path() / "live.key";
    install("a", live_cert, live_key);
    fulcrum_process lb(yaml(app.address(), "        - {cert: " + live_cert.string() +
                                               ", key: " + live_key.string() + "}\n"));
    // Every request on a new connection, so that handshakes go on while the files change.
    program load({"wrk", "-t1", "-c8", "-d4s", "-H", "Connection: close",
                  "https://127.0.0.1:" + std::to_string(lb.tls_port()) + "/"});
    // wrk resumes its sessions: full and resumed handshakes alike.
    const auto handshakes = [&] {
        double n = 0;
        for (const auto& [name, value] : scrape_metrics(lb.admin_port())) {
            n += name.starts_with("fulcrum_tls_handshakes_total") ? value : 0;
        }
        return n;
    };
    ASSERT_TRUE(eventually([&] { return handshakes() > 50; })) << load.output();
    for (const std::string next : {"b", "a", "b"}) {
        const auto reloaded = handshakes();
        install(next, live_cert, live_key);
        lb.proc().signal(SIGHUP);
        ASSERT_TRUE(eventually([&] { return handshakes() > reloaded + 50; })) << lb.log();
        EXPECT_TRUE(contains(s_client(lb.tls_port(), "-noservername"), "subject=CN = " + next));
    }
    ASSERT_TRUE(eventually([&] { return !load.proc().running(); }, 10s));
    const auto out = load.output();
    EXPECT_TRUE(contains(out, "requests in")) << out;
    EXPECT_FALSE(contains(out, "Socket errors")) << out;
    EXPECT_FALSE(contains(out, "Non-2xx")) << out;
    const auto metrics = scrape_metrics(lb.admin_port());
    EXPECT_EQ(sample(metrics, R"(fulcrum_tls_certificate_reloads_total{result="success"})"), 3);
    // wrk's own connections still in a handshake when it stops end as `closed`, at most one
    // per connection; no handshake failed for any other reason.
    for (const auto& [name, value] : metrics) {
        if (name.starts_with("fulcrum_tls_handshake_failures_total") && value != 0 &&
            !(contains(name, "reason=\"closed\"") && value <= 8)) {
            ADD_FAILURE() << name << " " << value;
        }
    }
}

} // namespace
