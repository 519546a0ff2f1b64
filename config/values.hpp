#pragma once

#include "config/config.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

// The text of configured numbers, sizes, durations and strings, and the ranges they must fall
// in. docs/configuration.md ("Ranges") gives every key's range and the reasons.
namespace fulcrum::config {

// 2^31 - 1 ms, about 24.8 days: the longest timer HAProxy accepts. Every duration a
// deadline is computed from stays far from the clocks' limits, and no real timeout is longer.
inline constexpr duration largest_duration{2'147'483'647};
// A request head: 64 times the default, beyond any real cookie jar; nginx's largest head is
// 4 x 8 KiB by default. The head is stored as it arrives, so the bound is memory per request.
inline constexpr std::uint64_t largest_head_bytes = 1024 * 1024;
// Ten times HAProxy's tune.http.maxhdr (101) and Apache's LimitRequestFields (100) defaults.
inline constexpr std::uint64_t largest_headers = 1000;
// 1 TiB; 0 means no limit at all.
inline constexpr std::uint64_t largest_body_bytes = 1ull << 40;
// No more connections to one server address can come from one local address: one per port.
inline constexpr std::uint64_t largest_idle_per_server = 65535;
// A configuration file larger than this is refused before it is parsed.
inline constexpr std::size_t largest_file_bytes = 1024 * 1024;

// Decimal digits only (no sign, space or base prefix), so "0x10", "+5" or "5 " are refused
// rather than half read. False on overflow too.
bool parse_digits(std::string_view text, std::uint64_t& out);
bool all_digits(std::string_view text);
// An integer the user meant, even if out of range: "-1" gets a range message, "abc" does not.
bool looks_integer(std::string_view text);

enum class value_status { ok, bare_number, invalid, too_large };

// "10s", "500ms", "2m", "1h", "1d", up to largest_duration.
value_status parse_duration_checked(std::string_view text, duration& out);
// "16384", "16k", "1m", "1g" (binary multiples), up to 2^64 - 1.
value_status parse_size(std::string_view text, std::uint64_t& out);

// In the largest unit that states it exactly: "1s", "1500ms", "2m".
std::string format_duration(duration d);
// In the largest of k, m, g that states it exactly: "16k", "1m", "100".
std::string format_size(std::uint64_t bytes);

// The position of the first control character (C0 or DEL; tab, CR and LF allowed with
// `allow_line_breaks`), or npos.
std::size_t find_control(std::string_view text, bool allow_line_breaks);
// The text with each control character written as \xNN, so that a message can quote it.
std::string printable(std::string_view text);

} // namespace fulcrum::config
