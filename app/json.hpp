#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

// The little JSON the admin API and `fulcrum health` speak.
namespace fulcrum::json {

// `text` as a quoted JSON string, with the characters JSON requires escaped.
std::string quote(std::string_view text);

// A parsed JSON document. Objects keep their members in document order (a later duplicate key
// is found second); numbers are doubles, as JSON's are.
struct value {
    using array = std::vector<value>;
    using object = std::vector<std::pair<std::string, value>>;

    std::variant<std::nullptr_t, bool, double, std::string, array, object> data;

    // The first member named `key` of an object; nullptr when absent or not an object.
    const value* find(std::string_view key) const;
    template <typename T> const T* get() const { return std::get_if<T>(&data); }
};

// Exactly one JSON value (RFC 8259) with nothing but whitespace around it; nothing when `text`
// is anything else, or nests deeper than 64 levels.
std::optional<value> parse(std::string_view text);

// An object whose values are all strings, e.g. {"state": "drain"}; nothing when `text` is
// not exactly that (other value types, trailing bytes, bad escapes).
std::optional<std::map<std::string, std::string>> parse_string_object(std::string_view text);

} // namespace fulcrum::json
