#include "tls/certificate.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using fulcrum::tls::covers;

TEST(certificate_names, exact_names_match_in_any_case) {
    const std::vector<std::string> names{"example.com", "www.example.com"};
    EXPECT_TRUE(covers(names, "example.com"));
    EXPECT_TRUE(covers(names, "WWW.Example.COM"));
    EXPECT_FALSE(covers(names, "api.example.com"));
    EXPECT_FALSE(covers(names, "example.co"));
    EXPECT_FALSE(covers(names, ""));
}

// RFC 6125 6.4.3: the wildcard stands for exactly one whole label.
TEST(certificate_names, a_wildcard_covers_one_label_and_not_the_bare_domain) {
    const std::vector<std::string> names{"*.b.test"};
    EXPECT_TRUE(covers(names, "x.b.test"));
    EXPECT_TRUE(covers(names, "WWW.B.TEST"));
    EXPECT_FALSE(covers(names, "b.test"));
    EXPECT_FALSE(covers(names, "a.x.b.test"));
    EXPECT_FALSE(covers(names, ".b.test"));
    EXPECT_FALSE(covers(names, "xb.test"));
}

TEST(certificate_load, a_missing_file_says_which_and_why) {
    try {
        fulcrum::tls::certificate::load({"/nonexistent/cert.pem", "/nonexistent/key.pem", {}});
        FAIL() << "loaded";
    } catch (const std::runtime_error& e) {
        EXPECT_EQ(std::string(e.what()), "/nonexistent/cert.pem: No such file or directory");
    }
}

} // namespace
