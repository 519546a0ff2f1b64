#pragma once

#include "sli/slo.hpp"

#include <array>
#include <charconv>
#include <chrono>
#include <string>
#include <string_view>

// What the rules (`fulcrum rules`) and the SLO exports (`fulcrum slo export`) must name alike,
// so that both select the same series and call the same alert the same.
namespace fulcrum::monitoring {

// How prometheus-cpp writes a histogram bucket's bound in `le` (max_digits10 - 1 significant
// digits), which a selector must match character for character: "0.3" for 300ms, "1" for 1s.
inline std::string le_label(std::chrono::milliseconds threshold) {
    char out[32];
    const auto end =
        std::to_chars(out, out + sizeof out, std::chrono::duration<double>(threshold).count(),
                      std::chars_format::general, 16)
            .ptr;
    return std::string(out, end);
}

// `text` as the inside of a PromQL string: the job's name, which is any text.
inline std::string promql_quoted(std::string_view text) {
    std::string out;
    for (const char c : text) {
        if (c == '"' || c == '\\') {
            out += '\\';
        }
        out += c;
    }
    return out;
}

// The four burn-rate alerts of sli::alert_rules, in that order: FulcrumErrorBudgetBurnFast, ...
inline constexpr std::array<std::string_view, sli::alert_rules.size()> burn_alert_speeds{
    "Fast", "Medium", "Slow", "Leak"};

} // namespace fulcrum::monitoring
