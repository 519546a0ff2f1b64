#include "config/values.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <limits>
#include <utility>

namespace fulcrum::config {

bool parse_digits(std::string_view text, std::uint64_t& out) {
    // from_chars into an unsigned type takes no sign, space or base prefix.
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return !text.empty() && ec == std::errc{} && end == text.data() + text.size();
}

bool all_digits(std::string_view text) {
    return !text.empty() &&
           std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool looks_integer(std::string_view text) {
    return all_digits(text.starts_with('-') ? text.substr(1) : text);
}

value_status parse_duration_checked(std::string_view text, duration& out) {
    static constexpr std::pair<std::string_view, std::uint64_t> units[] = {
        {"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}, {"d", 86'400'000}};
    const auto digits = std::min(text.find_first_not_of("0123456789"), text.size());
    if (digits == 0) {
        return value_status::invalid;
    }
    if (digits == text.size()) {
        return value_status::bare_number;
    }
    const auto unit = std::find_if(std::begin(units), std::end(units),
                                   [&](const auto& u) { return u.first == text.substr(digits); });
    if (unit == std::end(units)) {
        return value_status::invalid;
    }
    std::uint64_t value = 0;
    const auto largest = static_cast<std::uint64_t>(largest_duration.count());
    if (!parse_digits(text.substr(0, digits), value) || value > largest / unit->second) {
        return value_status::too_large;
    }
    out = duration{static_cast<duration::rep>(value * unit->second)};
    return value_status::ok;
}

value_status parse_size(std::string_view text, std::uint64_t& out) {
    std::uint64_t factor = 1;
    switch (text.empty() ? '\0' : text.back()) {
    case 'k':
    case 'K':
        factor = 1ull << 10;
        break;
    case 'm':
    case 'M':
        factor = 1ull << 20;
        break;
    case 'g':
    case 'G':
        factor = 1ull << 30;
        break;
    default:
        break;
    }
    const std::string_view digits = factor == 1 ? text : text.substr(0, text.size() - 1);
    if (!all_digits(digits)) {
        return value_status::invalid;
    }
    std::uint64_t value = 0;
    if (!parse_digits(digits, value) ||
        value > std::numeric_limits<std::uint64_t>::max() / factor) {
        return value_status::too_large;
    }
    out = value * factor;
    return value_status::ok;
}

std::string format_duration(duration d) {
    static constexpr std::pair<std::int64_t, std::string_view> units[] = {
        {86'400'000, "d"}, {3'600'000, "h"}, {60'000, "m"}, {1000, "s"}};
    const auto ms = d.count();
    for (const auto& [factor, unit] : units) {
        if (ms != 0 && ms % factor == 0) {
            return std::to_string(ms / factor) + std::string(unit);
        }
    }
    return std::to_string(ms) + "ms";
}

std::string format_size(std::uint64_t bytes) {
    static constexpr std::pair<std::uint64_t, char> units[] = {
        {1ull << 30, 'g'}, {1ull << 20, 'm'}, {1ull << 10, 'k'}};
    for (const auto& [factor, unit] : units) {
        if (bytes != 0 && bytes % factor == 0) {
            return std::to_string(bytes / factor) + unit;
        }
    }
    return std::to_string(bytes);
}

std::size_t find_control(std::string_view text, bool allow_line_breaks) {
    const auto control = [&](char c) {
        const auto byte = static_cast<unsigned char>(c);
        if (allow_line_breaks && (c == '\t' || c == '\r' || c == '\n')) {
            return false;
        }
        return byte < 0x20 || byte == 0x7f;
    };
    const auto it = std::find_if(text.begin(), text.end(), control);
    return it == text.end() ? std::string_view::npos : static_cast<std::size_t>(it - text.begin());
}

std::string printable(std::string_view text) {
    std::string out;
    for (std::size_t at = 0;;) {
        const auto control = find_control(text.substr(at), false);
        out.append(text.substr(at, control));
        if (control == std::string_view::npos) {
            return out;
        }
        char code[8];
        std::snprintf(code, sizeof code, "\\x%02x", static_cast<unsigned char>(text[at + control]));
        out += code;
        at += control + 1;
    }
}

} // namespace fulcrum::config
