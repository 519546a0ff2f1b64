#include "sli/slo.hpp"

#include <cmath>

namespace fulcrum::sli {

namespace {

// Shares of the budget consumed at which the policy moves to the next zone.
constexpr double green_limit = 0.6;
constexpr double yellow_limit = 0.8;
constexpr double orange_limit = 1.0;

// Bad events over the events the budget allows, one division by a product that is a whole
// number for round counts, so that 72 bad in 10000 at 0.0005 is exactly 14.4 (dividing the
// ratio by the budget would round twice and could land an ulp either side of a threshold).
double consumed(counts c, objective o) {
    const auto bad = static_cast<double>(c.total - c.good);
    return bad / (o.budget() * static_cast<double>(c.total));
}

} // namespace

objective objective::from_percent(double percent) {
    // Both operands are whole numbers held exactly, so the one division rounds once, to the
    // double nearest the decimal, for percentages written with up to 13 decimals.
    constexpr double scale = 1e13;
    return {std::round(percent * scale) / (100 * scale)};
}

double objective::budget() const {
    // The target is a decimal from config; its double is within 1.1e-16 of it, and so is 1 -
    // target of the decimal budget. Rounding to 15 decimals takes back that representation
    // error for any target written with up to 15 decimals.
    constexpr double scale = 1e15;
    return std::round((1.0 - target) * scale) / scale;
}

std::optional<double> good_ratio(counts c) {
    if (c.total == 0) {
        return std::nullopt;
    }
    return static_cast<double>(c.good) / static_cast<double>(c.total);
}

std::optional<double> bad_ratio(counts c) {
    if (c.total == 0) {
        return std::nullopt;
    }
    return static_cast<double>(c.total - c.good) / static_cast<double>(c.total);
}

std::optional<double> burn_rate(counts c, objective o) {
    if (c.total == 0) {
        return std::nullopt;
    }
    return consumed(c, o);
}

// Over the 30-day window, which is the SLO period, the burn rate is the share of the budget
// consumed.
std::optional<double> budget_remaining(counts over_30d, objective o) {
    if (over_30d.total == 0) {
        return std::nullopt;
    }
    return 1.0 - consumed(over_30d, o);
}

std::optional<zone> budget_zone(counts over_30d, objective o) {
    if (over_30d.total == 0) {
        return std::nullopt;
    }
    // Compared as consumed rather than 1 - remaining, which would round once more.
    const double spent = consumed(over_30d, o);
    if (spent <= green_limit) {
        return zone::green;
    }
    if (spent <= yellow_limit) {
        return zone::yellow;
    }
    if (spent <= orange_limit) {
        return zone::orange;
    }
    return zone::red;
}

std::string_view name(zone z) {
    switch (z) {
    case zone::green:
        return "green";
    case zone::yellow:
        return "yellow";
    case zone::orange:
        return "orange";
    case zone::red:
        return "red";
    }
    return "?";
}

std::string_view name(severity s) {
    switch (s) {
    case severity::page:
        return "page";
    case severity::ticket:
        return "ticket";
    }
    return "?";
}

bool firing(const alert_rule& rule, const window_counter& counter, wall_clock::time_point now,
            objective o) {
    // nullopt (no traffic) compares as not above the threshold.
    const auto exceeds = [&](window w) {
        const auto burn = burn_rate(counter.over(w, now), o);
        return burn && *burn > rule.burn;
    };
    return exceeds(rule.long_window) && exceeds(rule.short_window);
}

std::optional<double> exhaustion_seconds(std::optional<double> remaining,
                                         std::optional<double> burn) {
    if (!remaining || !burn || *burn <= 0) {
        return std::nullopt;
    }
    if (*remaining <= 0) {
        return 0.0;
    }
    return *remaining * static_cast<double>(length(window::d30).count()) / *burn;
}

sli_report report(const window_counter& counter, objective o, wall_clock::time_point now) {
    sli_report out{};
    out.target = o;
    for (std::size_t i = 0; i < all_windows.size(); ++i) {
        const auto c = counter.over(all_windows[i], now);
        out.windows[i] = {all_windows[i], c, good_ratio(c), burn_rate(c, o)};
        out.coverage[i] = counter.coverage(all_windows[i], now);
    }
    const auto month = counter.over(window::d30, now);
    out.budget_remaining = budget_remaining(month, o);
    out.budget_zone = budget_zone(month, o);
    for (std::size_t i = 0; i < alert_rules.size(); ++i) {
        out.firing[i] = firing(alert_rules[i], counter, now, o);
    }
    for (std::size_t i = 0; i < exhaustion_windows.size(); ++i) {
        const auto w = static_cast<std::size_t>(exhaustion_windows[i]);
        out.exhaustion_seconds[i] = exhaustion_seconds(out.budget_remaining, out.windows[w].burn);
    }
    return out;
}

} // namespace fulcrum::sli
