#include "sli/windows.hpp"

#include <gtest/gtest.h>

namespace {

using fulcrum::sli::window;
using fulcrum::sli::window_counter;
using namespace std::chrono_literals;

// A fixed instant on a bucket boundary of every window (a multiple of 43200 s, the widest
// bucket), so that tests can reason about bucket edges.
const fulcrum::sli::wall_clock::time_point t0{std::chrono::seconds(1'700'006'400)};

TEST(windows, names_and_lengths) {
    EXPECT_EQ(fulcrum::sli::name(window::m5), "5m");
    EXPECT_EQ(fulcrum::sli::name(window::d30), "30d");
    EXPECT_EQ(fulcrum::sli::length(window::m5), 300s);
    EXPECT_EQ(fulcrum::sli::length(window::h6), 6h);
    EXPECT_EQ(fulcrum::sli::length(window::d3), 72h);
    EXPECT_EQ(fulcrum::sli::length(window::d30), 720h);
    for (window w : fulcrum::sli::all_windows) {
        EXPECT_EQ(fulcrum::sli::length(w).count() % 60, 0) << fulcrum::sli::name(w);
    }
}

TEST(windows, counts_everything_added_within_the_window_in_every_window) {
    window_counter c;
    c.add(t0, 9, 10);
    c.add(t0 + 1s, 1, 1);
    c.add(t0 + 299s, 0, 5);
    for (window w : fulcrum::sli::all_windows) {
        const auto counts = c.over(w, t0 + 299s);
        EXPECT_EQ(counts.good, 10u) << fulcrum::sli::name(w);
        EXPECT_EQ(counts.total, 16u) << fulcrum::sli::name(w);
    }
}

TEST(windows, a_window_with_no_traffic_has_total_zero) {
    window_counter c;
    for (window w : fulcrum::sli::all_windows) {
        EXPECT_EQ(c.over(w, t0).total, 0u);
        EXPECT_EQ(c.over(w, t0).good, 0u);
    }
    c.add(t0, 1, 1);
    // Before anything was added (a clock that went back) there is nothing either.
    EXPECT_EQ(c.over(window::m5, t0 - 10min).total, 0u);
}

TEST(windows, old_buckets_expire_after_the_window_length) {
    window_counter c;
    c.add(t0, 1, 1);       // bucket [t0, t0+5s) of the 5m window
    c.add(t0 + 10s, 2, 2); // bucket [t0+10s, t0+15s)
    // 60 buckets of 5 s: the bucket of t0 is the oldest one counted until t0 + 300 s.
    EXPECT_EQ(c.over(window::m5, t0 + 299s).total, 3u);
    EXPECT_EQ(c.over(window::m5, t0 + 300s).total, 2u);
    EXPECT_EQ(c.over(window::m5, t0 + 310s).total, 0u);
    // The 30m window still has both.
    EXPECT_EQ(c.over(window::m30, t0 + 310s).total, 3u);
    EXPECT_EQ(c.over(window::m30, t0 + 30min).total, 0u);
    // The 30d window, with 12 h buckets, keeps them for 30 days.
    EXPECT_EQ(c.over(window::d30, t0 + 720h - 1s).total, 3u);
    EXPECT_EQ(c.over(window::d30, t0 + 720h).total, 0u);
}

TEST(windows, a_slot_reused_after_a_gap_starts_from_zero) {
    window_counter c;
    c.add(t0, 5, 5);
    // 300 s later the same slot of the 5m window comes round again: the old count must not
    // be added to the new one.
    c.add(t0 + 300s, 1, 2);
    const auto counts = c.over(window::m5, t0 + 300s);
    EXPECT_EQ(counts.good, 1u);
    EXPECT_EQ(counts.total, 2u);
    // The 1h window has both.
    EXPECT_EQ(c.over(window::h1, t0 + 300s).total, 7u);
}

TEST(windows, gaps_without_traffic_are_not_counted_and_do_not_disturb_later_buckets) {
    window_counter c;
    c.add(t0, 1, 1);
    c.add(t0 + 2h, 1, 3); // nothing for two hours
    EXPECT_EQ(c.over(window::m5, t0 + 2h).total, 3u);
    EXPECT_EQ(c.over(window::h1, t0 + 2h).total, 3u);
    // Exactly 2 h later t0's bucket has left the 2h window; the 6h window still has it.
    EXPECT_EQ(c.over(window::h2, t0 + 2h).total, 3u);
    EXPECT_EQ(c.over(window::h6, t0 + 2h).total, 4u);
    EXPECT_EQ(c.over(window::h6, t0 + 2h).good, 2u);
}

TEST(windows, one_sample_a_second_gives_an_exact_ratio) {
    // As the health checker feeds it: every second, UP servers out of all servers.
    window_counter c;
    for (int i = 0; i < 300; ++i) {
        c.add(t0 + std::chrono::seconds(i), i < 30 ? 1 : 2, 2); // one of two down for 30 s
    }
    const auto counts = c.over(window::m5, t0 + 299s);
    EXPECT_EQ(counts.total, 600u);
    EXPECT_EQ(counts.good, 570u);
}

TEST(windows, saved_buckets_restored_into_a_new_counter_give_the_same_counts) {
    window_counter c;
    c.add(t0, 1, 1);
    c.add(t0 + 7min, 2, 3);
    c.add(t0 + 26h, 4, 4);
    window_counter copy;
    for (const auto& b : c.saved()) {
        copy.restore(b);
    }
    for (const auto at : {t0 + 26h, t0 + 27h, t0 + 72h, t0 + 720h}) {
        for (window w : fulcrum::sli::all_windows) {
            EXPECT_EQ(copy.over(w, at).total, c.over(w, at).total) << fulcrum::sli::name(w);
            EXPECT_EQ(copy.over(w, at).good, c.over(w, at).good) << fulcrum::sli::name(w);
        }
    }
    EXPECT_EQ(copy.over(window::d30, t0 + 26h).total, 8u);
    EXPECT_TRUE(window_counter().saved().empty());
}

TEST(windows, restore_adds_to_the_same_bucket_and_never_replaces_a_newer_one) {
    window_counter c;
    c.add(t0 + 300s, 1, 1); // the slot of t0's 5m bucket, one window later
    const std::int64_t t0_bucket = 1'700'006'400 / 5;
    c.restore({window::m5, t0_bucket, {5, 5}});
    EXPECT_EQ(c.over(window::m5, t0 + 300s).total, 1u);
    c.restore({window::m5, t0_bucket + 60, {2, 3}});
    EXPECT_EQ(c.over(window::m5, t0 + 300s).total, 4u);
    EXPECT_EQ(c.over(window::m5, t0 + 300s).good, 3u);
}

TEST(windows, coverage_is_the_time_counted_up_to_the_window_length) {
    window_counter c;
    EXPECT_EQ(c.coverage(window::m5, t0), 0s) << "nothing counted yet";
    c.add(t0, 0, 0);
    EXPECT_EQ(c.coverage(window::m5, t0 + 6min), 300s);
    EXPECT_EQ(c.coverage(window::d30, t0 + 6min), 360s);
    // A state file says counting began earlier; a later time changes nothing.
    c.restore_since(t0 - 2h);
    c.restore_since(t0 + 1h);
    EXPECT_EQ(c.since(), t0 - 2h);
    EXPECT_EQ(c.coverage(window::h1, t0), 3600s);
    EXPECT_EQ(c.coverage(window::d1, t0), 7200s);
}

} // namespace
