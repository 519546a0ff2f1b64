#pragma once

#include <chrono>
#include <ctime>
#include <string>

namespace fulcrum::base {

// `when` in UTC, written with strftime's `format` ("%Y-%m-%dT%H:%M:%SZ" for RFC 3339), for
// messages and JSON. (sli/ writes its own: it uses no part of base.)
inline std::string utc_text(std::chrono::system_clock::time_point when, const char* format) {
    const std::time_t seconds = std::chrono::system_clock::to_time_t(when);
    std::tm parts{};
    gmtime_r(&seconds, &parts);
    char text[64];
    return std::string(text, std::strftime(text, sizeof text, format, &parts));
}

} // namespace fulcrum::base
