#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

// The little JSON the admin API speaks: strings out, flat objects of strings in.
namespace fulcrum::http::json {

// `text` as a quoted JSON string, with the characters JSON requires escaped.
std::string quote(std::string_view text);

// An object whose values are all strings, e.g. {"state": "drain"}; nothing when `text` is
// not exactly that (other value types, trailing bytes, bad escapes).
std::optional<std::map<std::string, std::string>> parse_string_object(std::string_view text);

} // namespace fulcrum::http::json
