#pragma once

#include <charconv>
#include <string>

namespace fulcrum::base {

// The shortest text that reads back as the same double: 0.001, 14.4, 0.9995 (for JSON, rules
// and exports, where 0.0010000000000000000208 would be noise).
inline std::string shortest_text(double value) {
    char out[32];
    const auto end = std::to_chars(out, out + sizeof out, value).ptr;
    return std::string(out, end);
}

} // namespace fulcrum::base
