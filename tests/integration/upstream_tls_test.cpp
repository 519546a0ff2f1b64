// TLS to servers (re-encryption): fulcrum against real nginx servers speaking HTTPS with
// certificates from tests/support/test_certs.

#include "harness.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace {

using namespace fulcrum::testing;
namespace fs = std::filesystem;

// One nginx on 127.0.0.1 that speaks only HTTPS, with the given certificate. Every response
// says what nginx saw of the connection: "<$https> <$connection_requests> <$ssl_server_name>",
// e.g. "on 2 localhost", but /client: "<$ssl_client_verify> <$ssl_client_s_dn>". Its access log
// has "<$https> <$http_user_agent>" per request. `directives` go into the server block.
class tls_nginx {
public:
    tls_nginx(const fs::path& cert, const fs::path& key, const std::string& directives = "") {
        const std::string d = dir_.path().string();
        // A port picked here can be taken by someone else before nginx binds it: retry then.
        for (int attempt = 0; attempt < 5 && !nginx_; ++attempt) {
            port_ = unused_port();
            write_file(dir_.path() / "nginx.conf", R"(
daemon off;
master_process off;
worker_processes 1;
pid )" + d + R"(/nginx.pid;
error_log )" + d + R"(/error.log warn;
events { worker_connections 256; }
http {
    log_format tls '$https $http_user_agent';
    access_log )" + d + R"(/access.log tls;
    client_body_temp_path )" + d + R"(/tmp;
    proxy_temp_path )" + d + R"(/tmp;
    fastcgi_temp_path )" + d + R"(/tmp;
    uwsgi_temp_path )" + d + R"(/tmp;
    scgi_temp_path )" + d + R"(/tmp;
    server {
        listen 127.0.0.1:)" + std::to_string(port_) +
                                                       R"( ssl;
        ssl_certificate )" + cert.string() +
                                                       R"(;
        ssl_certificate_key )" + key.string() +
                                                       R"(;
        )" + directives + R"(
        location / { return 200 "$https $connection_requests $ssl_server_name\n"; }
        location = /client { return 200 "$ssl_client_verify $ssl_client_s_dn\n"; }
    }
}
)");
            nginx_.emplace(std::vector<std::string>{"nginx", "-c", d + "/nginx.conf", "-p", d},
                           dir_.path() / "nginx.out");
            if (!eventually([&] { return raw_client(port_).connected() || !nginx_->running(); }) ||
                !nginx_->running()) {
                nginx_.reset();
            }
        }
        if (!nginx_) {
            throw std::runtime_error("nginx did not start: " +
                                     read_file(dir_.path() / "error.log"));
        }
    }

    std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
    std::string access_log() const { return read_file(dir_.path() / "access.log"); }

private:
    temp_dir dir_;
    std::uint16_t port_ = 0;
    std::optional<process> nginx_;
};

// A field of the server's entry in GET /admin/servers.
std::string server_field(const fulcrum_process& lb, const std::string& field) {
    const auto body = get(lb.admin_port(), "/admin/servers").body;
    const std::string key = "\"" + field + "\": \"";
    const auto at = body.find(key);
    if (at == std::string::npos) {
        return "missing";
    }
    const auto value = at + key.size();
    return body.substr(value, body.find('"', value) - value);
}

class upstream_tls : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        certs_ = new temp_dir;
        int rc = -1;
        run(std::string(FULCRUM_SOURCE_DIR) + "/tests/support/test_certs " +
                certs_->path().string(),
            &rc);
        ASSERT_EQ(rc, 0);
    }
    static void TearDownTestSuite() {
        delete certs_;
        certs_ = nullptr;
    }

    static fs::path cert(const std::string& name) { return certs_->path() / (name + ".crt"); }
    static fs::path key(const std::string& name) { return certs_->path() / (name + ".key"); }
    static std::string ca() { return cert("ca").string(); }

    // One worker, so that consecutive connections of the client share the worker's pool.
    // `tls` and `checks` are the backend's keys; checks: "" leaves the server unchecked.
    static std::string config(const tls_nginx& server, const std::string& tls,
                              const std::string& checks = "") {
        config_options options;
        options.threads = 1;
        options.backend_extra =
            "    tls: " + tls + "\n" + (checks.empty() ? "" : "    health_check: " + checks + "\n");
        std::string yaml = config_yaml({{"s1", server.address()}}, options);
        if (checks.empty()) {
            const std::string entry = "address: " + server.address() + "}";
            yaml.replace(yaml.find(entry), entry.size(),
                         "address: " + server.address() + ", check: false}");
        }
        return yaml;
    }

    static const std::string http_checks;
    static temp_dir* certs_;
};

const std::string upstream_tls::http_checks =
    "{type: http, path: /, interval: 200ms, timeout: 200ms, rise: 1, fall: 1}";
temp_dir* upstream_tls::certs_ = nullptr;

TEST_F(upstream_tls, requests_reach_the_server_over_tls_on_one_reused_connection) {
    tls_nginx server(cert("server"), key("server"));
    // No server_name: the certificate must name the server's address, 127.0.0.1.
    fulcrum_process lb(config(server, "{ca: " + ca() + "}"));
    const auto first = get(lb.port(), "/");
    const auto second = get(lb.port(), "/");
    EXPECT_EQ(first.status, 200);
    EXPECT_EQ(second.status, 200);
    // Two client connections, one server connection: the second request found it pooled.
    EXPECT_EQ(first.body, "on 1 \n");
    EXPECT_EQ(second.body, "on 2 \n");
}

TEST_F(upstream_tls, server_name_is_sent_as_sni_and_checked) {
    tls_nginx server(cert("server"), key("server"));
    fulcrum_process lb(config(server, "{ca: " + ca() + ", server_name: localhost}"));
    const auto r = get(lb.port(), "/");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "on 1 localhost\n");
}

TEST_F(upstream_tls, http_checks_speak_https_and_take_the_server_up) {
    tls_nginx server(cert("server"), key("server"));
    fulcrum_process lb(config(server, "{ca: " + ca() + "}", http_checks));
    ASSERT_TRUE(eventually([&] { return server_field(lb, "last_check").starts_with("passed"); }))
        << server_field(lb, "last_check") << "\n"
        << lb.log();
    EXPECT_EQ(server_field(lb, "state"), "up");
    EXPECT_NE(server.access_log().find("on fulcrum-health-check"), std::string::npos)
        << server.access_log();
}

TEST_F(upstream_tls, tcp_checks_complete_a_handshake) {
    tls_nginx server(cert("rogue"), key("rogue"));
    // A TCP check over TLS verifies the certificate as requests do: a bare connect would pass.
    fulcrum_process lb(
        config(server, "{ca: " + ca() + "}", "{interval: 200ms, timeout: 200ms, fall: 1}"));
    ASSERT_TRUE(eventually([&] { return server_field(lb, "state") == "down"; })) << lb.log();
    EXPECT_NE(lb.log().find("server app_pool/s1 DOWN: first check failed (TLS handshake failed "
                            "after "),
              std::string::npos)
        << lb.log();
}

TEST_F(upstream_tls, a_certificate_from_another_ca_is_refused_and_the_reason_logged) {
    tls_nginx server(cert("rogue"), key("rogue"));
    fulcrum_process lb(config(server, "{ca: " + ca() + "}"));
    EXPECT_EQ(get(lb.port(), "/").status, 503);
    EXPECT_NE(lb.log().find("server app_pool/s1: connect failed: TLS handshake: certificate "
                            "verify failed: unable to get local issuer certificate"),
              std::string::npos)
        << lb.log();
    // A refused handshake is a failed connect: three in a row take the server DOWN.
    get(lb.port(), "/");
    get(lb.port(), "/");
    EXPECT_TRUE(eventually([&] { return server_field(lb, "state") == "down"; })) << lb.log();
    EXPECT_NE(lb.log().find("server app_pool/s1 DOWN: 3 consecutive connect failures (passive)"),
              std::string::npos)
        << lb.log();
}

TEST_F(upstream_tls, checks_take_a_server_with_a_certificate_from_another_ca_down) {
    tls_nginx server(cert("rogue"), key("rogue"));
    fulcrum_process lb(config(server, "{ca: " + ca() + "}", http_checks));
    ASSERT_TRUE(eventually([&] { return server_field(lb, "state") == "down"; })) << lb.log();
    EXPECT_NE(lb.log().find("(certificate verify failed: unable to get local issuer "
                            "certificate)"),
              std::string::npos)
        << lb.log();
    EXPECT_EQ(get(lb.port(), "/").status, 503);
    // nginx saw no request: the handshake failed before any.
    EXPECT_EQ(server.access_log(), "");
}

TEST_F(upstream_tls, a_certificate_for_another_name_is_refused) {
    tls_nginx server(cert("wrong_host"), key("wrong_host"));
    fulcrum_process lb(config(server, "{ca: " + ca() + ", server_name: localhost}"));
    EXPECT_EQ(get(lb.port(), "/").status, 503);
    EXPECT_NE(lb.log().find("connect failed: TLS handshake: certificate verify failed: hostname "
                            "mismatch"),
              std::string::npos)
        << lb.log();
}

TEST_F(upstream_tls, a_certificate_without_the_address_is_refused_without_server_name) {
    tls_nginx server(cert("wrong_host"), key("wrong_host"));
    fulcrum_process lb(config(server, "{ca: " + ca() + "}"));
    EXPECT_EQ(get(lb.port(), "/").status, 503);
    EXPECT_NE(lb.log().find("connect failed: TLS handshake: certificate verify failed: IP "
                            "address mismatch"),
              std::string::npos)
        << lb.log();
}

TEST_F(upstream_tls, verify_false_accepts_a_certificate_from_another_ca) {
    tls_nginx server(cert("rogue"), key("rogue"));
    fulcrum_process lb(config(server, "{ca: " + ca() + ", verify: false}", http_checks));
    const auto r = get(lb.port(), "/");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "on 1 \n");
    EXPECT_TRUE(eventually([&] { return server_field(lb, "last_check").starts_with("passed"); }))
        << lb.log();
}

TEST_F(upstream_tls, a_client_certificate_is_presented) {
    // test_certs' certificates are for servers only (extendedKeyUsage serverAuth): one for a
    // client, from the same CA.
    temp_dir dir;
    const std::string client = (dir.path() / "client").string();
    int rc = -1;
    run("openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=fulcrum "
        "-keyout " +
            client + ".key -out " + client +
            ".csr 2>&1 && printf "
            "'extendedKeyUsage=clientAuth\\n' >" +
            client + ".ext && openssl x509 -req -days 1 -in " + client + ".csr -CA " + ca() +
            " -CAkey " + key("ca").string() + " -CAcreateserial -CAserial " + client +
            ".srl -extfile " + client + ".ext -out " + client + ".crt 2>&1",
        &rc);
    ASSERT_EQ(rc, 0);
    tls_nginx server(cert("server"), key("server"),
                     "ssl_verify_client optional; ssl_client_certificate " + ca() + ";");
    fulcrum_process lb(config(server, "{ca: " + ca() + ", client_certificate: {cert: " + client +
                                          ".crt, key: " + client + ".key}}"));
    EXPECT_EQ(get(lb.port(), "/client").body, "SUCCESS CN=fulcrum\n");
    fulcrum_process without(config(server, "{ca: " + ca() + "}"));
    EXPECT_EQ(get(without.port(), "/client").body, "NONE \n");
}

TEST_F(upstream_tls, a_websocket_tunnel_runs_over_tls_to_the_server) {
    // nginx ends TLS in front of the WebSocket echo server: the tunnel's server side is TLS.
    helper_server echo(support_script("ws_echo_server.py"));
    tls_nginx server(cert("server"), key("server"),
                     "location /chat { proxy_pass http://" + echo.address() +
                         "; proxy_http_version 1.1; proxy_set_header Upgrade $http_upgrade; "
                         "proxy_set_header Connection upgrade; }");
    fulcrum_process lb(config(server, "{ca: " + ca() + "}"));
    program client(
        support_script("ws_client.py", {"ws://127.0.0.1:" + std::to_string(lb.port()) + "/chat",
                                        "recv", "echo-text:ping", "echo-binary:1048576", "close"}));
    EXPECT_EQ(client.proc().wait(30s), 0) << client.output();
    EXPECT_EQ(client.output(), "open\n"
                               "recv text hello\n"
                               "echo text ping ok\n"
                               "echo binary 1048576 ok\n"
                               "closed, code 1000\n");
    EXPECT_TRUE(echo.printed("server: closed, code 1000")) << echo.output();
}

TEST_F(upstream_tls, check_reports_a_ca_file_that_is_not_a_certificate) {
    temp_dir dir;
    const auto not_a_ca = dir.path() / "ca.pem";
    write_file(not_a_ca, "not a certificate\n");
    const auto config_file = dir.path() / "fulcrum.yaml";
    config_options options;
    options.backend_extra = "    tls: {ca: " + not_a_ca.string() + "}\n";
    write_file(config_file, config_yaml({{"s1", "127.0.0.1:1"}}, options));
    int rc = 0;
    const auto said =
        run(std::string(FULCRUM_BINARY) + " -c " + config_file.string() + " --check 2>&1", &rc);
    EXPECT_EQ(rc, 1);
    EXPECT_NE(said.find(config_file.string() + ":11:10: backends[0].tls: CA file " +
                        not_a_ca.string() + " cannot be loaded: "),
              std::string::npos)
        << said;
}

} // namespace
