#include "app/json.hpp"

#include <gtest/gtest.h>

namespace {

using fulcrum::json::parse;
using fulcrum::json::parse_string_object;
using fulcrum::json::quote;
using fulcrum::json::value;

TEST(json, quote_escapes_what_json_requires) {
    EXPECT_EQ(quote("app-1"), "\"app-1\"");
    EXPECT_EQ(quote("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
    EXPECT_EQ(quote(std::string("x\x01y")), "\"x\\u0001y\"");
}

TEST(json, a_flat_object_of_strings_is_read) {
    const auto object = parse_string_object(R"( { "state" : "drain", "why": "deploy \"v2\"" } )");
    ASSERT_TRUE(object.has_value());
    EXPECT_EQ(object->at("state"), "drain");
    EXPECT_EQ(object->at("why"), "deploy \"v2\"");
    EXPECT_TRUE(parse_string_object("{}").has_value());
}

TEST(json, anything_else_is_refused) {
    for (const char* bad : {"", "{", "{state: drain}", R"({"state": 1})", R"({"state": "a"} x)",
                            R"({"state": "a",})", R"(["state"])", R"({"state": "a\q"})"}) {
        EXPECT_FALSE(parse_string_object(bad).has_value()) << bad;
    }
}

TEST(json, a_document_is_read_with_every_value_type) {
    const auto doc = parse(R"( {"status": "ok", "healthy": true, "none": null, "off": false,
        "frontends": [{"name": "http", "servers_up": 2}, {"name": "api", "servers_up": 0}],
        "ratio": -1.5e2, "text": "tab\tA\u00e9\ud83d\ude00"} )");
    ASSERT_TRUE(doc.has_value());
    EXPECT_EQ(*doc->find("status")->get<std::string>(), "ok");
    EXPECT_TRUE(*doc->find("healthy")->get<bool>());
    EXPECT_FALSE(*doc->find("off")->get<bool>());
    EXPECT_NE(doc->find("none")->get<std::nullptr_t>(), nullptr);
    EXPECT_EQ(*doc->find("ratio")->get<double>(), -150.0);
    EXPECT_EQ(*doc->find("text")->get<std::string>(), "tab\tA\xc3\xa9\xf0\x9f\x98\x80");
    const auto& frontends = *doc->find("frontends")->get<value::array>();
    ASSERT_EQ(frontends.size(), 2u);
    EXPECT_EQ(*frontends[1].find("name")->get<std::string>(), "api");
    EXPECT_EQ(*frontends[0].find("servers_up")->get<double>(), 2.0);
    EXPECT_EQ(doc->find("missing"), nullptr);
    EXPECT_EQ(frontends[0].find("name")->find("x"), nullptr) << "a string has no members";
}

TEST(json, what_rfc_8259_does_not_allow_is_refused) {
    for (const char* bad :
         {"",       " ",           "{",           "[1,]",      "[1 2]",    "01",
          "1.",     ".5",          "-",           "+1",        "1e",       "tru",
          "nul",    "\"\\ud83d\"", "\"\\ude00\"", "\"\\u12\"", "\"a\tb\"", "{\"a\" 1}",
          "{1: 2}", "[] []",       "'a'"}) {
        EXPECT_FALSE(parse(bad).has_value()) << bad;
    }
    for (const char* good : {"0", "-0.5", "1E+3", "[]", "{}", "\"\"", " [ [ ] ] ", "null"}) {
        EXPECT_TRUE(parse(good).has_value()) << good;
    }
}

TEST(json, nesting_deeper_than_64_levels_is_refused_rather_than_recursed_into) {
    EXPECT_TRUE(parse(std::string(64, '[') + std::string(64, ']')).has_value());
    EXPECT_FALSE(parse(std::string(100000, '[') + std::string(100000, ']')).has_value());
}

} // namespace
