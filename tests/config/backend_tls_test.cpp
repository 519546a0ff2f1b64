// backends[].tls: TLS to the servers (re-encryption).
#include "config/config.hpp"
#include "config_loading.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace fulcrum::config {
namespace {

using namespace loading;

// The files named by the configurations below: config/ checks only that a CA file is there and
// regular (what files hold is tls/'s to check), so empty ones do.
class backend_tls : public ::testing::Test {
protected:
    void SetUp() override {
        char pattern[] = "/tmp/fulcrum-backend-tls-XXXXXX";
        ASSERT_NE(::mkdtemp(pattern), nullptr);
        dir_ = pattern;
        for (const char* name : {"ca.pem", "client.pem", "client.key"}) {
            std::ofstream(dir_ / name) << "";
        }
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    std::string path(const char* name) const { return (dir_ / name).string(); }

    // `minimal` with `tls` lines under its backend; the first of them is line 9.
    static std::string with_tls(const std::string& lines) { return std::string(minimal) + lines; }

    std::filesystem::path dir_;
};

TEST_F(backend_tls, absent_means_plain_tcp) {
    const config c = load_ok(minimal);
    EXPECT_FALSE(c.backends[0].tls.has_value());
}

TEST_F(backend_tls, empty_map_verifies_against_the_system_store_with_tls_1_2) {
    const config c = load_ok(with_tls("    tls: {}\n"));
    ASSERT_TRUE(c.backends[0].tls.has_value());
    const auto& t = *c.backends[0].tls;
    EXPECT_EQ(t.ca, "");
    EXPECT_TRUE(t.verify);
    EXPECT_EQ(t.server_name, "");
    EXPECT_FALSE(t.client_certificate.has_value());
    EXPECT_EQ(t.min_version, tls_version::tls1_2);
    EXPECT_EQ(t.origin, (origin{"t.yaml", 9, 10, "backends[0].tls"}));
}

TEST_F(backend_tls, every_key_is_read) {
    const config c = load_ok(with_tls("    tls:\n"
                                      "      ca: " +
                                      path("ca.pem") +
                                      "\n"
                                      "      verify: false\n"
                                      "      server_name: app.internal\n"
                                      "      client_certificate: {cert: " +
                                      path("client.pem") + ", key: " + path("client.key") +
                                      "}\n"
                                      "      min_version: \"1.3\"\n"));
    const auto& t = *c.backends[0].tls;
    EXPECT_EQ(t.ca, path("ca.pem"));
    EXPECT_FALSE(t.verify);
    EXPECT_EQ(t.server_name, "app.internal");
    ASSERT_TRUE(t.client_certificate.has_value());
    EXPECT_EQ(t.client_certificate->cert, path("client.pem"));
    EXPECT_EQ(t.client_certificate->key, path("client.key"));
    EXPECT_EQ(t.client_certificate->origin,
              (origin{"t.yaml", 13, 27, "backends[0].tls.client_certificate"}));
    EXPECT_EQ(t.min_version, tls_version::tls1_3);
}

TEST_F(backend_tls, unquoted_version_is_read_as_written) {
    const config c = load_ok(with_tls("    tls: {min_version: 1.2}\n"));
    EXPECT_EQ(c.backends[0].tls->min_version, tls_version::tls1_2);
}

TEST_F(backend_tls, client_certificate_key_may_be_in_the_cert_file) {
    const config c =
        load_ok(with_tls("    tls: {client_certificate: {cert: " + path("client.pem") + "}}\n"));
    EXPECT_EQ(c.backends[0].tls->client_certificate->key, "");
}

TEST_F(backend_tls, unknown_key_is_located_with_a_suggestion) {
    EXPECT_EQ(errors_of(with_tls("    tls: {verfy: false}\n")),
              (strings{"t.yaml:9:11: backends[0].tls.verfy: unknown key 'verfy' (did you mean "
                       "'verify'?)"}));
}

TEST_F(backend_tls, wrong_types_are_located) {
    EXPECT_EQ(errors_of(with_tls("    tls: yes\n")),
              (strings{"t.yaml:9:10: backends[0].tls: expected a map, got a string"}));
    EXPECT_EQ(errors_of(with_tls("    tls: {verify: maybe}\n")),
              (strings{"t.yaml:9:19: backends[0].tls.verify: expected true or false, got "
                       "'maybe'"}));
    EXPECT_EQ(errors_of(with_tls("    tls: {ca: [a, b]}\n")),
              (strings{"t.yaml:9:15: backends[0].tls.ca: expected a string, got a list"}));
    EXPECT_EQ(errors_of(with_tls("    tls: {client_certificate: cert.pem}\n")),
              (strings{"t.yaml:9:31: backends[0].tls.client_certificate: expected a map, got a "
                       "string"}));
}

TEST_F(backend_tls, bad_version_is_located) {
    EXPECT_EQ(errors_of(with_tls("    tls: {min_version: \"1.1\"}\n")),
              (strings{"t.yaml:9:24: backends[0].tls.min_version: expected \"1.2\" or \"1.3\" "
                       "(TLS 1.0 and 1.1 are not offered), got '1.1'"}));
}

TEST_F(backend_tls, missing_ca_file_is_located) {
    const std::string missing = path("nowhere.pem");
    EXPECT_EQ(errors_of(with_tls("    tls: {ca: " + missing + "}\n")),
              (strings{"t.yaml:9:15: backends[0].tls.ca: cannot read '" + missing +
                       "': No such file or directory"}));
}

TEST_F(backend_tls, ca_that_is_a_directory_is_located) {
    EXPECT_EQ(errors_of(with_tls("    tls: {ca: " + dir_.string() + "}\n")),
              (strings{"t.yaml:9:15: backends[0].tls.ca: '" + dir_.string() +
                       "' is a directory, not a regular file"}));
}

// Its files are read by tls/, at --check and at start (as a frontend's certificates).
TEST_F(backend_tls, client_certificate_needs_its_cert) {
    EXPECT_EQ(errors_of(with_tls("    tls: {client_certificate: {key: " + path("client.key") +
                                 "}}\n")),
              (strings{"t.yaml:9:31: backends[0].tls.client_certificate: missing required key "
                       "'cert' (a PEM file with the certificate and its chain)"}));
}

TEST_F(backend_tls, server_name_is_a_dns_name_not_an_address) {
    EXPECT_EQ(errors_of(with_tls("    tls: {server_name: 10.0.0.1}\n")),
              (strings{"t.yaml:9:24: backends[0].tls.server_name: '10.0.0.1' is an IP address, "
                       "not a name (leave server_name out: the certificate must then name the "
                       "server's IP address)"}));
    EXPECT_EQ(errors_of(with_tls("    tls: {server_name: \"app internal\"}\n")),
              (strings{"t.yaml:9:24: backends[0].tls.server_name: invalid server name 'app "
                       "internal' (expected a DNS name, e.g. app.internal)"}));
}

} // namespace
} // namespace fulcrum::config
