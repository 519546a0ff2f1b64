#pragma once

#include <charconv>
#include <chrono>
#include <string>

namespace fulcrum::monitoring {

// How prometheus-cpp writes a histogram bucket's bound in `le` (max_digits10 - 1 significant
// digits), which a selector must match character for character: "0.3" for 300ms, "1" for 1s.
// Shared by the rules and the SLO exports, so that both select the bucket fulcrum exposes.
inline std::string le_label(std::chrono::milliseconds threshold) {
    char out[32];
    const auto end =
        std::to_chars(out, out + sizeof out, std::chrono::duration<double>(threshold).count(),
                      std::chars_format::general, 16)
            .ptr;
    return std::string(out, end);
}

} // namespace fulcrum::monitoring
