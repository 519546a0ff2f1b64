#include "health/tracker.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace {

using fulcrum::health::tracker;
using change = tracker::change;

// Feeds results ('+' passed, '-' failed) and returns the changes, one per result.
std::vector<change> feed(tracker& t, std::string_view results) {
    std::vector<change> out;
    for (char c : results) {
        out.push_back(t.record(c == '+'));
    }
    return out;
}

constexpr change none = change::none;
constexpr change up = change::went_up;
constexpr change down = change::went_down;

TEST(tracker, starts_up_and_unconfirmed) {
    tracker t(2, 3);
    EXPECT_TRUE(t.up());
    EXPECT_FALSE(t.confirmed());
}

TEST(tracker, a_passed_first_check_confirms_up_without_a_change) {
    tracker t(2, 3);
    EXPECT_EQ(t.record(true), none);
    EXPECT_TRUE(t.up());
    EXPECT_TRUE(t.confirmed());
}

TEST(tracker, a_failed_first_check_takes_the_server_down_at_once) {
    // Not after `fall` checks: a server that refuses connections at start-up gets no traffic.
    tracker t(2, 3);
    EXPECT_EQ(t.record(false), down);
    EXPECT_FALSE(t.up());
    // From then on the usual rule: `rise` passes bring it up.
    EXPECT_EQ(feed(t, "+-++"), (std::vector{none, none, none, up}));
}

TEST(tracker, fall_consecutive_failures_take_it_down_and_rise_passes_bring_it_back) {
    tracker t(2, 3);
    EXPECT_EQ(feed(t, "+---"), (std::vector{none, none, none, down}));
    EXPECT_EQ(t.streak(), 3u);
    EXPECT_EQ(feed(t, "---"), (std::vector{none, none, none}));
    EXPECT_EQ(feed(t, "++"), (std::vector{none, up}));
    EXPECT_EQ(t.streak(), 2u);
    EXPECT_TRUE(t.up());
    EXPECT_EQ(feed(t, "+++--+---"),
              (std::vector{none, none, none, none, none, none, none, none, down}));
}

TEST(tracker, a_pass_resets_the_failure_count_and_a_failure_the_pass_count) {
    tracker t(3, 2);
    EXPECT_EQ(feed(t, "+-+-+-+"), (std::vector{none, none, none, none, none, none, none}));
    EXPECT_EQ(feed(t, "--"), (std::vector{none, down}));
    EXPECT_EQ(feed(t, "++-++-+++"),
              (std::vector{none, none, none, none, none, none, none, none, up}));
}

TEST(tracker, flapping_never_takes_it_down_with_fall_3) {
    tracker t(2, 3);
    for (int i = 0; i < 100; ++i) {
        EXPECT_EQ(t.record(i % 2 == 0), none);
        EXPECT_EQ(t.record(i % 2 != 0), none);
    }
    EXPECT_TRUE(t.up());
    // Nor does "fail, fail, pass" repeated.
    for (int i = 0; i < 50; ++i) {
        EXPECT_EQ(feed(t, "--+"), (std::vector{none, none, none}));
    }
    EXPECT_TRUE(t.up());
}

TEST(tracker, flapping_never_brings_a_down_server_back_with_rise_2) {
    tracker t(2, 3);
    ASSERT_EQ(t.record(false), down);
    for (int i = 0; i < 100; ++i) {
        EXPECT_EQ(t.record(true), none);
        EXPECT_EQ(t.record(false), none);
    }
    EXPECT_FALSE(t.up());
}

TEST(tracker, rise_and_fall_of_one_change_on_every_result) {
    tracker t(1, 1);
    EXPECT_EQ(feed(t, "+-+-"), (std::vector{none, down, up, down}));
}

TEST(tracker, force_down_then_rise_passes_bring_it_back) {
    tracker t(2, 3);
    EXPECT_EQ(feed(t, "+++"), (std::vector{none, none, none}));
    t.force_down();
    EXPECT_FALSE(t.up());
    // The passes before the passive DOWN do not count.
    EXPECT_EQ(feed(t, "+"), (std::vector{none}));
    EXPECT_FALSE(t.up());
    EXPECT_EQ(feed(t, "+"), (std::vector{up}));
    EXPECT_TRUE(t.up());
}

TEST(tracker, force_down_before_the_first_check_makes_the_first_result_ordinary) {
    tracker t(2, 3);
    t.force_down();
    EXPECT_TRUE(t.confirmed());
    // Already down: a failure is no change, and one pass is not enough.
    EXPECT_EQ(feed(t, "-+"), (std::vector{none, none}));
    EXPECT_EQ(feed(t, "+"), (std::vector{up}));
}

} // namespace
