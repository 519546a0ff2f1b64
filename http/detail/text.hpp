#pragma once

#include <string_view>

namespace fulcrum::http::detail {

// Without the optional whitespace (spaces and tabs) HTTP allows around values and list items.
inline std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
        s.remove_suffix(1);
    }
    return s;
}

} // namespace fulcrum::http::detail
