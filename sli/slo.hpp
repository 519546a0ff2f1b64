#pragma once

#include "sli/windows.hpp"

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

// SLO maths over (good, total) counts (docs/sli.md). Pure functions
// with no I/O, so that the exposition and GET /sli only format what is computed here. Nothing
// here says "error" or "request": availability passes (non-5xx, responses) counts and the
// latency SLI passes (faster than the threshold, responses) counts, each with its own objective.
namespace fulcrum::sli {

using counts = window_counter::counts;

// The share of good events the service promises, in (0, 1): 0.9995 for 99.95 %. A target of 0
// or 1 leaves no budget to divide by; config validation rejects it before it gets here.
struct objective {
    double target = 0.9995;

    // 99.9 -> 0.999 exactly as that decimal's double (99.9 / 100 is 0.9990000000000001).
    static objective from_percent(double percent);

    // The share of events allowed to be bad, 1 - target, as the double nearest the decimal the
    // operator wrote (0.0005, not 0.00049999999999994493), so that a budget consumed exactly to
    // a zone boundary or a burn rate exactly at an alert threshold compares as equal to it.
    double budget() const;
};

// good / total, the SLI itself; nullopt when total == 0: a window without traffic has no
// availability, and reporting 100 % (or NaN) would hide that nothing was measured.
std::optional<double> good_ratio(counts c);
// (total - good) / total; nullopt when total == 0.
std::optional<double> bad_ratio(counts c);
// How fast the budget is being spent: bad_ratio / budget. 1 spends exactly the budget over the
// SLO period (30 days); 14.4 spends 2 % of it in one hour. nullopt when total == 0.
std::optional<double> burn_rate(counts c, objective o);

// Share of the 30-day budget left, 1 - bad / (budget * total), from the counts over
// window::d30. Negative once overspent (-0.5: half a budget more than allowed went bad), so
// that the gauge shows by how much rather than stopping at 0. nullopt when total == 0.
std::optional<double> budget_remaining(counts over_30d, objective o);

// Error-budget policy zones by share of the budget consumed (1 - remaining): green <= 60 %,
// yellow <= 80 %, orange <= 100 %, red > 100 %. A boundary belongs to the calmer zone.
enum class zone : std::uint8_t { green, yellow, orange, red };
std::optional<zone> budget_zone(counts over_30d, objective o); // nullopt when total == 0
std::string_view name(zone z);                                 // "green", ..., "red"

enum class severity : std::uint8_t { page, ticket };
std::string_view name(severity s); // "page", "ticket"

// Multi-window multi-burn-rate alerting: the long window shows that enough budget has gone to
// matter, the short one that it is still going, so an alert stops soon after the cause ends.
struct alert_rule {
    severity sev;
    window long_window;
    window short_window;
    double burn;
};
inline constexpr std::array<alert_rule, 4> alert_rules{{
    {severity::page, window::h1, window::m5, 14.4},
    {severity::page, window::h6, window::m30, 6.0},
    {severity::ticket, window::d1, window::h2, 3.0},
    {severity::ticket, window::d3, window::h6, 1.0},
}};

// True when both windows ending at `now` have traffic and both burn rates are strictly above
// the rule's: a service burning at exactly 1x spends exactly its budget and meets the SLO, so
// it must not open a ticket; the same strictness holds for every rule.
bool firing(const alert_rule& rule, const window_counter& counter, wall_clock::time_point now,
            objective o);

// How long until the 30-day budget is spent if the burn rate of a recent window goes on:
// remaining * 30 days / burn, 0 once the budget is spent; nullopt when nothing burns (a burn
// rate of 0 or no traffic), since "never" has no number.
inline constexpr std::array<window, 2> exhaustion_windows{window::h1, window::h6};
std::optional<double> exhaustion_seconds(std::optional<double> remaining,
                                         std::optional<double> burn);

// Everything the direct SLI says about one SLI of a service (its availability or its latency)
// at `now`: computed here once, formatted by the Prometheus exposition and by GET /sli.
struct sli_report {
    struct over_window {
        window w;
        counts c;
        std::optional<double> ratio; // good_ratio
        std::optional<double> burn;  // burn_rate
    };
    objective target;
    std::array<over_window, all_windows.size()> windows;
    std::optional<double> budget_remaining; // over window::d30
    std::optional<zone> budget_zone;        // over window::d30
    std::array<bool, alert_rules.size()> firing;
    // At the burn rate of each of exhaustion_windows.
    std::array<std::optional<double>, exhaustion_windows.size()> exhaustion_seconds;
    // How much history each window holds (window_counter::coverage), in all_windows' order.
    std::array<std::chrono::seconds, all_windows.size()> coverage;
};
sli_report report(const window_counter& counter, objective o, wall_clock::time_point now);

} // namespace fulcrum::sli
