#include "sli/slo.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <stdexcept>

namespace {

using fulcrum::sli::alert_rule;
using fulcrum::sli::counts;
using fulcrum::sli::objective;
using fulcrum::sli::severity;
using fulcrum::sli::wall_clock;
using fulcrum::sli::window;
using fulcrum::sli::window_counter;
using fulcrum::sli::zone;
using namespace std::chrono_literals;

// On a bucket boundary of every window, as in windows_test.cpp. Traffic is added at whole
// minutes before t0 and read at t0, so the current bucket of every window is empty and each
// window counts the last 59/60 of its length.
const wall_clock::time_point t0{std::chrono::seconds(1'700'006'400)};

// Good and bad per minute over the minutes [from, to) before t0 (from > to counts back).
void feed(window_counter& c, std::chrono::minutes from, std::chrono::minutes to, std::uint64_t good,
          std::uint64_t bad) {
    for (auto m = from; m > to; --m) {
        c.add(t0 - m, good, good + bad);
    }
}

const alert_rule& rule(severity sev, window long_window) {
    for (const alert_rule& r : fulcrum::sli::alert_rules) {
        if (r.sev == sev && r.long_window == long_window) {
            return r;
        }
    }
    throw std::logic_error("no such rule");
}

const alert_rule& page_1h = rule(severity::page, window::h1);
const alert_rule& page_6h = rule(severity::page, window::h6);
const alert_rule& ticket_1d = rule(severity::ticket, window::d1);
const alert_rule& ticket_3d = rule(severity::ticket, window::d3);

bool fires(const alert_rule& r, const window_counter& c) {
    return fulcrum::sli::firing(r, c, t0, objective{});
}

TEST(slo, ratios_and_burn_rate_of_a_planned_mix) {
    // 1000 responses, 10 of them 5xx (the 404s are good): 99 %, 20x the 0.05 % budget.
    const counts c{990, 1000};
    EXPECT_DOUBLE_EQ(*fulcrum::sli::good_ratio(c), 0.99);
    EXPECT_DOUBLE_EQ(*fulcrum::sli::bad_ratio(c), 0.01);
    EXPECT_DOUBLE_EQ(*fulcrum::sli::burn_rate(c, objective{}), 20.0);
    EXPECT_EQ(objective{}.budget(), 0.0005);
    EXPECT_EQ(objective{0.999}.budget(), 0.001);
    // A perfect window burns nothing.
    EXPECT_EQ(*fulcrum::sli::burn_rate(counts{500, 500}, objective{}), 0.0);
}

TEST(slo, the_same_maths_serves_a_latency_objective) {
    // 985 of 1000 faster than the threshold against a 99 % latency objective: 1.5x.
    const counts fast{985, 1000};
    EXPECT_DOUBLE_EQ(*fulcrum::sli::good_ratio(fast), 0.985);
    EXPECT_DOUBLE_EQ(*fulcrum::sli::burn_rate(fast, objective{0.99}), 1.5);
    EXPECT_DOUBLE_EQ(*fulcrum::sli::budget_remaining(fast, objective{0.99}), -0.5);
}

TEST(slo, sites_combine_by_summing_counts_not_averaging_ratios) {
    const counts site_a{593'439'326, 593'498'661};
    const counts site_b{148'458'075, 148'532'291};
    const counts both{site_a.good + site_b.good, site_a.total + site_b.total};
    EXPECT_NEAR(*fulcrum::sli::good_ratio(both), 0.99982, 0.000005);
    // The average of percentages weighs the small site as much as the big one.
    const double averaged =
        (*fulcrum::sli::good_ratio(site_a) + *fulcrum::sli::good_ratio(site_b)) / 2;
    EXPECT_NEAR(averaged, 0.99970, 0.000005);
}

TEST(slo, no_traffic_gives_no_value) {
    const counts none{};
    EXPECT_FALSE(fulcrum::sli::good_ratio(none));
    EXPECT_FALSE(fulcrum::sli::bad_ratio(none));
    EXPECT_FALSE(fulcrum::sli::burn_rate(none, objective{}));
    EXPECT_FALSE(fulcrum::sli::budget_remaining(none, objective{}));
    EXPECT_FALSE(fulcrum::sli::budget_zone(none, objective{}));
    const window_counter idle;
    for (const alert_rule& r : fulcrum::sli::alert_rules) {
        EXPECT_FALSE(fires(r, idle)) << fulcrum::sli::name(r.sev);
    }
}

TEST(slo, budget_remaining_and_zones_at_their_boundaries) {
    // 1,000,000 responses in 30 days at 99.95 % allow exactly 500 bad ones.
    const auto remaining = [](std::uint64_t bad) {
        return *fulcrum::sli::budget_remaining(counts{1'000'000 - bad, 1'000'000}, objective{});
    };
    const auto zone_of = [](std::uint64_t bad) {
        return *fulcrum::sli::budget_zone(counts{1'000'000 - bad, 1'000'000}, objective{});
    };
    EXPECT_EQ(remaining(0), 1.0);
    EXPECT_DOUBLE_EQ(remaining(300), 0.4);
    EXPECT_EQ(remaining(500), 0.0);
    EXPECT_DOUBLE_EQ(remaining(750), -0.5); // overspent by half a budget

    EXPECT_EQ(zone_of(0), zone::green);
    EXPECT_EQ(zone_of(300), zone::green); // 60 % consumed
    EXPECT_EQ(zone_of(301), zone::yellow);
    EXPECT_EQ(zone_of(400), zone::yellow); // 80 %
    EXPECT_EQ(zone_of(401), zone::orange);
    EXPECT_EQ(zone_of(500), zone::orange); // 100 %: exhausted but not overspent
    EXPECT_EQ(zone_of(501), zone::red);
    EXPECT_EQ(fulcrum::sli::name(zone::green), "green");
    EXPECT_EQ(fulcrum::sli::name(zone::red), "red");
}

TEST(slo, alert_rules_are_the_documented_table) {
    ASSERT_EQ(fulcrum::sli::alert_rules.size(), 4u);
    EXPECT_EQ(page_1h.short_window, window::m5);
    EXPECT_EQ(page_1h.burn, 14.4);
    EXPECT_EQ(page_6h.short_window, window::m30);
    EXPECT_EQ(page_6h.burn, 6.0);
    EXPECT_EQ(ticket_1d.short_window, window::h2);
    EXPECT_EQ(ticket_1d.burn, 3.0);
    EXPECT_EQ(ticket_3d.short_window, window::h6);
    EXPECT_EQ(ticket_3d.burn, 1.0);
    EXPECT_EQ(fulcrum::sli::name(severity::page), "page");
    EXPECT_EQ(fulcrum::sli::name(severity::ticket), "ticket");
}

TEST(slo, a_fast_burn_pages) {
    // Four clean days at 1000 a minute, then 2 % bad (40x) for the last 30 minutes.
    window_counter c;
    feed(c, 4 * 24h, 30min, 1000, 0);
    feed(c, 30min, 0min, 980, 20);
    // 1h: 600 bad in 59,000 is 20.3x, 5m: 40x.
    EXPECT_TRUE(fires(page_1h, c));
    // 6h: 600 in 354,000 is 3.4x, under 6x although the 30m window burns at 40x.
    EXPECT_FALSE(fires(page_6h, c));
    // 1d: 0.85x and 3d: 0.28x: not yet a ticket.
    EXPECT_FALSE(fires(ticket_1d, c));
    EXPECT_FALSE(fires(ticket_3d, c));
}

TEST(slo, a_spike_that_has_ended_does_not_page) {
    // A 10-minute spike at 8 % bad that ended 15 minutes ago.
    window_counter c;
    feed(c, 4 * 24h, 25min, 1000, 0);
    feed(c, 25min, 15min, 920, 80);
    feed(c, 15min, 0min, 1000, 0);
    // The hour burned enough to page (800 in 59,000 is 27x) ...
    EXPECT_GT(*fulcrum::sli::burn_rate(c.over(window::h1, t0), objective{}), 14.4);
    // ... but the last five minutes are clean, so the page is not raised for a past event.
    EXPECT_EQ(*fulcrum::sli::burn_rate(c.over(window::m5, t0), objective{}), 0.0);
    EXPECT_FALSE(fires(page_1h, c));
}

TEST(slo, a_slow_leak_opens_a_ticket_and_does_not_page) {
    // 0.2 % bad (4x) for four days: above both ticket rates, under both page rates.
    window_counter leak;
    feed(leak, 4 * 24h, 0min, 998, 2);
    EXPECT_FALSE(fires(page_1h, leak));
    EXPECT_FALSE(fires(page_6h, leak));
    EXPECT_TRUE(fires(ticket_1d, leak));
    EXPECT_TRUE(fires(ticket_3d, leak));

    // 0.1 % (2x) only opens the slow ticket.
    window_counter slower;
    feed(slower, 4 * 24h, 0min, 999, 1);
    EXPECT_FALSE(fires(ticket_1d, slower));
    EXPECT_TRUE(fires(ticket_3d, slower));
}

TEST(slo, a_burn_exactly_at_the_threshold_does_not_fire) {
    // 72 bad in 10,000 is exactly 14.4x in every window.
    window_counter at;
    feed(at, 2h, 0min, 10'000 - 72, 72);
    EXPECT_EQ(*fulcrum::sli::burn_rate(at.over(window::h1, t0), objective{}), 14.4);
    EXPECT_EQ(*fulcrum::sli::burn_rate(at.over(window::m5, t0), objective{}), 14.4);
    EXPECT_FALSE(fires(page_1h, at));

    window_counter above;
    feed(above, 2h, 0min, 10'000 - 73, 73);
    EXPECT_TRUE(fires(page_1h, above));
}

TEST(slo, both_windows_must_exceed) {
    // Burning at 40x for the last 5 minutes only: the 1h window (200 bad in 59,000, 6.8x)
    // has not yet seen enough to page.
    window_counter c;
    feed(c, 4 * 24h, 5min, 1000, 0);
    feed(c, 5min, 0min, 980, 20);
    EXPECT_GT(*fulcrum::sli::burn_rate(c.over(window::m5, t0), objective{}), 14.4);
    EXPECT_FALSE(fires(page_1h, c));
}

} // namespace
