#include "http/json.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <limits>
#include <string>

namespace {

namespace json = fulcrum::http::json;
using json::parse;
using json::parse_string_object;
using json::quote;

TEST(json, quote_escapes_what_json_requires) {
    EXPECT_EQ(quote("app-1"), "\"app-1\"");
    EXPECT_EQ(quote("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
    EXPECT_EQ(quote(std::string("x\x01y")), "\"x\\u0001y\"");
}

TEST(json, what_quote_writes_parse_reads_back) {
    const std::string text = std::string("tab\there \"quoted\" back\\slash \x01\x1f caf\xc3\xa9");
    const auto read = parse(quote(text));
    ASSERT_TRUE(read.has_value());
    ASSERT_NE(read->as_string(), nullptr);
    EXPECT_EQ(*read->as_string(), text);
}

TEST(json, a_document_of_every_kind_is_read) {
    const auto doc = parse(R"( {"reserved_ip": {"ip": "203.0.113.10", "locked": false,
        "droplet": {"id": 3164444, "size_gigabytes": 2.36, "tags": ["web", "env:prod"]},
        "project_id": null}} )");
    ASSERT_TRUE(doc.has_value());
    const auto* ip = doc->find("reserved_ip");
    ASSERT_NE(ip, nullptr);
    EXPECT_EQ(*ip->find("ip")->as_string(), "203.0.113.10");
    EXPECT_EQ(ip->find("locked")->as_bool(), false);
    EXPECT_TRUE(ip->find("project_id")->is_null());
    const auto* droplet = ip->find("droplet");
    EXPECT_EQ(droplet->find("id")->as_int(), 3164444);
    EXPECT_DOUBLE_EQ(*droplet->find("size_gigabytes")->as_double(), 2.36);
    EXPECT_FALSE(droplet->find("size_gigabytes")->as_int().has_value());
    const auto* tags = droplet->find("tags")->as_array();
    ASSERT_NE(tags, nullptr);
    ASSERT_EQ(tags->size(), 2u);
    EXPECT_EQ(*(*tags)[1].as_string(), "env:prod");
    EXPECT_EQ(ip->find("absent"), nullptr);
    EXPECT_EQ(droplet->find("id")->find("id"), nullptr); // not an object
    EXPECT_EQ(droplet->find("id")->as_string(), nullptr);
}

TEST(json, scalars_stand_alone_as_documents) {
    EXPECT_TRUE(parse("null")->is_null());
    EXPECT_EQ(parse(" true ")->as_bool(), true);
    EXPECT_EQ(parse("-0")->as_int(), 0);
    EXPECT_EQ(*parse("\"\"")->as_string(), "");
    EXPECT_EQ(parse("[]")->as_array()->size(), 0u);
    EXPECT_EQ(parse("{}")->as_object()->size(), 0u);
}

TEST(json, integers_are_exact_within_int64_and_approximate_beyond) {
    EXPECT_EQ(parse("9223372036854775807")->as_int(), std::numeric_limits<std::int64_t>::max());
    EXPECT_EQ(parse("-9223372036854775808")->as_int(), std::numeric_limits<std::int64_t>::min());
    const auto beyond = parse("9223372036854775808");
    ASSERT_TRUE(beyond.has_value());
    EXPECT_FALSE(beyond->as_int().has_value());
    EXPECT_DOUBLE_EQ(*beyond->as_double(), 9223372036854775808.0);
    // Written with an exponent or a fraction, a whole number is not an id.
    EXPECT_FALSE(parse("1e3")->as_int().has_value());
    EXPECT_DOUBLE_EQ(*parse("1E+3")->as_double(), 1000);
    EXPECT_FALSE(parse("1.0")->as_int().has_value());
    EXPECT_DOUBLE_EQ(*parse("-12.5e-1")->as_double(), -1.25);
}

TEST(json, escapes_are_decoded_to_utf8) {
    EXPECT_EQ(*parse(R"("\"\\\/\b\f\n\r\t")")->as_string(), "\"\\/\b\f\n\r\t");
    EXPECT_EQ(*parse(R"("\u0041\u00e9\u20AC")")->as_string(), "A\xc3\xa9\xe2\x82\xac");
    // U+1F600 as a surrogate pair.
    EXPECT_EQ(*parse(R"("\ud83d\ude00")")->as_string(), "\xf0\x9f\x98\x80");
    EXPECT_EQ(*parse(R"("\u0000")")->as_string(), std::string(1, '\0'));
    // Raw UTF-8 passes through as it is.
    EXPECT_EQ(*parse("\"\xf0\x9f\x98\x80\"")->as_string(), "\xf0\x9f\x98\x80");
}

TEST(json, nesting_is_limited) {
    const auto nested = [](std::size_t depth) {
        return std::string(depth, '[') + std::string(depth, ']');
    };
    EXPECT_TRUE(parse(nested(json::max_depth)).has_value());
    EXPECT_FALSE(parse(nested(json::max_depth + 1)).has_value());
    EXPECT_FALSE(parse(std::string(100000, '[')).has_value());
}

TEST(json, what_rfc_8259_does_not_allow_is_refused) {
    for (const std::string& bad : std::initializer_list<std::string>{
             "",
             " ",
             "nul",
             "True",
             "[1,]",
             "[,1]",
             "{\"a\":1,}",
             "{\"a\" 1}",
             "{a: 1}",
             "{\"a\":1 \"b\":2}",
             "[1 2]",
             "'x'",
             "01",
             "-",
             "1.",
             ".5",
             "1e",
             "+1",
             "0x10",
             "NaN",
             "Infinity",
             "1e400",
             "\"\\x\"",
             "\"\\u12\"",
             "\"\\uZZZZ\"",
             "\"\\ud83d\"",          // lone high surrogate
             "\"\\ude00\"",          // lone low surrogate
             "\"\\ud83d\\u0041\"",   // high surrogate, then not a low one
             "\"a\nb\"",             // control character
             "\"abc",                // unterminated
             "\"\xc3\"",             // truncated UTF-8
             "\"\xc0\xaf\"",         // overlong
             "\"\xed\xa0\x80\"",     // UTF-8 encoded surrogate
             "\"\xf4\x90\x80\x80\"", // beyond U+10FFFF
             "\"\xff\"",
             "\xef\xbb\xbf{}", // byte order mark
             "{} {}",
             "[1] x",
             "{\"a\":1,\"a\":2}", // trailing bytes, a name twice
             std::string("[1]\0", 4)}) {
        EXPECT_FALSE(parse(bad).has_value()) << bad;
    }
}

TEST(json, a_flat_object_of_strings_is_read) {
    const auto object = parse_string_object(R"( { "state" : "drain", "why": "deploy \"v2\"" } )");
    ASSERT_TRUE(object.has_value());
    EXPECT_EQ(object->at("state"), "drain");
    EXPECT_EQ(object->at("why"), "deploy \"v2\"");
    EXPECT_TRUE(parse_string_object("{}").has_value());
    EXPECT_EQ(parse_string_object(R"({"state": "\u0064rain"})")->at("state"), "drain");
}

TEST(json, anything_else_is_refused_as_a_string_object) {
    for (const char* bad : {"", "{", "{state: drain}", R"({"state": 1})", R"({"state": "a"} x)",
                            R"({"state": "a",})", R"(["state"])", R"({"state": "a\q"})",
                            R"({"state": {"nested": "x"}})", R"({"state": "a", "state": "b"})"}) {
        EXPECT_FALSE(parse_string_object(bad).has_value()) << bad;
    }
}

} // namespace
