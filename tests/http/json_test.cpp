#include "http/json.hpp"

#include <gtest/gtest.h>

namespace {

using fulcrum::http::json::parse_string_object;
using fulcrum::http::json::quote;

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

} // namespace
