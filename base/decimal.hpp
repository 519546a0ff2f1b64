#pragma once

#include <charconv>
#include <string>

namespace fulcrum::base {

// The shortest decimal that reads back as the same double: "0.999" where printf's %.17g
// writes 0.99899999999999999, "1" for 1.0. For JSON, YAML and PromQL that people read and
// programs parse.
inline std::string decimal(double value) {
    char out[32];
    const auto end = std::to_chars(out, out + sizeof out, value).ptr;
    return std::string(out, end);
}

} // namespace fulcrum::base
