#include "phase_fixture.hpp"

#include "proxy/detail/deadline.hpp"

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <deque>
#include <vector>

namespace {

using fulcrum::proxy::detail::deadline;
using fulcrum::testing::phase_fixture;
using clock_type = std::chrono::steady_clock;
using std::chrono::milliseconds;

// A deadline that notes when its action ran, in a log shared with the others.
struct noted_deadline {
    noted_deadline(fulcrum::proxy::detail::deadline_queues& queues, int id_, std::vector<int>& log_)
        : id(id_), log(log_), timer(queues, &noted_deadline::expire, this) {}

    static void expire(void* self) {
        auto& d = *static_cast<noted_deadline*>(self);
        d.log.push_back(d.id);
        d.fired_at = clock_type::now();
        ++d.runs;
    }

    void arm(milliseconds timeout) {
        due = clock_type::now() + timeout;
        timer.arm(timeout);
    }

    int id;
    std::vector<int>& log;
    deadline timer;
    clock_type::time_point due;
    clock_type::time_point fired_at;
    int runs = 0;
};

class deadline_queues : public phase_fixture {
protected:
    // Runs the worker's context until no deadline is left: its timer then waits for nothing.
    void run_out() {
        io.restart();
        io.run_for(limit);
        EXPECT_TRUE(io.stopped()) << "the timer still waits with no deadline armed";
    }
    std::vector<int> log;
};

TEST_F(deadline_queues, deadlines_sharing_a_timeout_expire_in_the_order_they_were_armed) {
    noted_deadline a(deadlines, 1, log), b(deadlines, 2, log), c(deadlines, 3, log);
    a.arm(milliseconds(30));
    b.arm(milliseconds(30));
    c.arm(milliseconds(30));
    run_out();
    EXPECT_EQ(log, (std::vector<int>{1, 2, 3}));
    for (const auto* d : {&a, &b, &c}) {
        EXPECT_EQ(d->runs, 1) << "deadline " << d->id;
        EXPECT_GE(d->fired_at, d->due) << "deadline " << d->id;
    }
}

TEST_F(deadline_queues, deadlines_with_different_timeouts_expire_in_time_order_each_once) {
    // The longest first: the timer waits for it until a shorter one is armed.
    noted_deadline slow(deadlines, 90, log), quick(deadlines, 30, log), middle(deadlines, 60, log);
    slow.arm(milliseconds(90));
    quick.arm(milliseconds(30));
    middle.arm(milliseconds(60));
    run_out();
    EXPECT_EQ(log, (std::vector<int>{30, 60, 90}));
    for (const auto* d : {&slow, &quick, &middle}) {
        EXPECT_EQ(d->runs, 1) << "deadline " << d->id;
        EXPECT_GE(d->fired_at, d->due) << "deadline " << d->id;
    }
}

TEST_F(deadline_queues, a_disarmed_deadline_never_expires) {
    noted_deadline kept(deadlines, 1, log), dropped(deadlines, 2, log);
    dropped.arm(milliseconds(20));
    kept.arm(milliseconds(40));
    dropped.timer.disarm();
    run_out();
    EXPECT_EQ(log, (std::vector<int>{1}));
    EXPECT_FALSE(dropped.timer.expired());
    EXPECT_TRUE(kept.timer.expired());
}

TEST_F(deadline_queues, a_deadline_disarmed_as_the_only_one_leaves_nothing_to_expire) {
    noted_deadline d(deadlines, 1, log);
    d.arm(milliseconds(20));
    d.timer.disarm();
    run_out();
    EXPECT_TRUE(log.empty());
    EXPECT_FALSE(d.timer.expired());
}

TEST_F(deadline_queues, re_arming_with_the_same_timeout_moves_a_deadline_behind_the_others) {
    noted_deadline first(deadlines, 1, log), second(deadlines, 2, log);
    first.arm(milliseconds(40));
    second.arm(milliseconds(40));
    first.arm(milliseconds(40));
    run_out();
    EXPECT_EQ(log, (std::vector<int>{2, 1}));
    EXPECT_EQ(first.runs, 1);
    EXPECT_GE(first.fired_at, first.due);
}

TEST_F(deadline_queues, re_arming_with_a_longer_timeout_moves_a_deadline_later) {
    noted_deadline d(deadlines, 1, log);
    d.arm(milliseconds(20));
    d.arm(milliseconds(150));
    run_out();
    EXPECT_EQ(d.runs, 1);
    EXPECT_GE(d.fired_at, d.due) << "expired at the deadline it was first armed with";
}

TEST_F(deadline_queues, re_arming_before_expiry_postpones_it_each_time) {
    noted_deadline d(deadlines, 1, log), pacer(deadlines, 2, log);
    // The pacer wakes the worker halfway; the deadline, re-armed then, expires a full timeout
    // after that.
    d.arm(milliseconds(80));
    pacer.arm(milliseconds(40));
    ASSERT_TRUE(run_until([&] { return pacer.runs == 1; }));
    d.arm(milliseconds(80));
    run_out();
    EXPECT_EQ(log, (std::vector<int>{2, 1}));
    EXPECT_EQ(d.runs, 1);
    EXPECT_GE(d.fired_at, d.due);
}

TEST_F(deadline_queues, expired_holds_from_the_expiry_until_the_deadline_is_armed_again) {
    noted_deadline d(deadlines, 1, log);
    EXPECT_FALSE(d.timer.expired()) << "never armed";
    d.arm(milliseconds(20));
    EXPECT_FALSE(d.timer.expired()) << "armed";
    run_out();
    EXPECT_TRUE(d.timer.expired()) << "expired";
    d.timer.disarm();
    EXPECT_TRUE(d.timer.expired()) << "disarmed after expiring";
    d.arm(milliseconds(20));
    EXPECT_FALSE(d.timer.expired()) << "armed again";
    run_out();
    EXPECT_TRUE(d.timer.expired()) << "expired again";
    EXPECT_EQ(d.runs, 2);
}

TEST_F(deadline_queues, an_action_may_arm_its_own_deadline_again) {
    struct repeating {
        static void expire(void* self) {
            auto& r = *static_cast<repeating*>(self);
            if (++r.runs < 3) {
                r.timer.arm(milliseconds(10));
            }
        }
        explicit repeating(fulcrum::proxy::detail::deadline_queues& q)
            : timer(q, &repeating::expire, this) {}
        deadline timer;
        int runs = 0;
    } r(deadlines);
    r.timer.arm(milliseconds(10));
    run_out();
    EXPECT_EQ(r.runs, 3);
}

TEST_F(deadline_queues, a_thousand_deadlines_on_one_timer_expire_once_each_in_due_order) {
    constexpr std::size_t count = 1000;
    const std::array<milliseconds, 3> timeouts{milliseconds(60), milliseconds(20),
                                               milliseconds(40)};
    std::deque<noted_deadline> all;
    for (std::size_t i = 0; i < count; ++i) {
        all.emplace_back(deadlines, static_cast<int>(i), log).arm(timeouts[i % timeouts.size()]);
    }
    run_out();
    ASSERT_EQ(log.size(), count);
    for (const auto& d : all) {
        EXPECT_EQ(d.runs, 1) << "deadline " << d.id;
        EXPECT_GE(d.fired_at, d.due) << "deadline " << d.id;
    }
    // Those that share a timeout in the order they were armed.
    for (std::size_t k = 1; k < log.size(); ++k) {
        const auto& before = all[static_cast<std::size_t>(log[k - 1])];
        const auto& after = all[static_cast<std::size_t>(log[k])];
        if (log[k - 1] % 3 == log[k] % 3) {
            EXPECT_LT(log[k - 1], log[k]);
        }
        EXPECT_LE(before.fired_at, after.fired_at);
    }
}

} // namespace
