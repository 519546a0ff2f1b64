#include "proxy/connection_limit.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <string>

namespace {

namespace config = fulcrum::config;
using fulcrum::proxy::connection_limit;
using fulcrum::proxy::plan_descriptors;

// One frontend on one address, two checked servers.
config::config two_servers() {
    const auto loaded = config::load_string(R"(
frontends:
  - {name: http, bind: "127.0.0.1:0", default_backend: app}
backends:
  - name: app
    servers:
      - {name: a, address: "127.0.0.1:8001"}
      - {name: b, address: "127.0.0.1:8002"}
)",
                                            "test.yaml");
    EXPECT_TRUE(loaded.ok());
    return loaded.value;
}

TEST(plan_descriptors, derives_maxconn_from_the_limit_with_two_descriptors_a_connection) {
    const auto plan = plan_descriptors(two_servers(), 2, 256);
    // Reserve: 16 + 32 admin connections + 8, two workers at 3 + 2 x 1 address, two checked
    // servers.
    EXPECT_EQ(plan.reserve, 68u);
    // (256 - 68) x 19 / 40: nineteen twentieths of the budget for connections, two
    // descriptors each.
    EXPECT_EQ(plan.maxconn, 89u);
    EXPECT_TRUE(plan.derived);
    // The rest for idle pooled server connections, split over the workers.
    EXPECT_EQ(plan.pool_idle_per_worker, (188u - 178u) / 2);
    ASSERT_EQ(plan.frontend_maxconn.size(), 1u);
    EXPECT_EQ(plan.frontend_maxconn[0], 89u);
    EXPECT_TRUE(plan.warnings.empty());
    // Everything adds up to the limit at most.
    EXPECT_LE(plan.reserve + 2 * plan.maxconn + 2 * plan.pool_idle_per_worker, 256u);
}

TEST(plan_descriptors, refuses_a_limit_that_leaves_no_connection) {
    EXPECT_THROW(plan_descriptors(two_servers(), 2, 70), std::runtime_error);
    EXPECT_EQ(plan_descriptors(two_servers(), 2, 71).maxconn, 1u);
}

TEST(plan_descriptors, an_explicit_maxconn_wins_and_is_warned_about_when_the_limit_is_short) {
    auto cfg = two_servers();
    cfg.global.maxconn = 50;
    auto plan = plan_descriptors(cfg, 2, 256);
    EXPECT_EQ(plan.maxconn, 50u);
    EXPECT_FALSE(plan.derived);
    EXPECT_TRUE(plan.warnings.empty());
    EXPECT_EQ(plan.pool_idle_per_worker, (188u - 100u) / 2);

    cfg.global.maxconn = 300;
    plan = plan_descriptors(cfg, 2, 256);
    EXPECT_EQ(plan.maxconn, 300u);
    EXPECT_EQ(plan.pool_idle_per_worker, 0u);
    ASSERT_EQ(plan.warnings.size(), 1u);
    EXPECT_NE(plan.warnings[0].find("global.maxconn 300 needs 668 descriptors, the limit is 256"),
              std::string::npos)
        << plan.warnings[0];
}

TEST(plan_descriptors, a_frontend_maxconn_is_capped_by_the_global_one) {
    auto cfg = two_servers();
    cfg.frontends[0].maxconn = 10;
    EXPECT_EQ(plan_descriptors(cfg, 2, 256).frontend_maxconn[0], 10u);
    cfg.frontends[0].maxconn = 1000;
    const auto plan = plan_descriptors(cfg, 2, 256);
    EXPECT_EQ(plan.frontend_maxconn[0], 89u);
    ASSERT_EQ(plan.warnings.size(), 1u);
    EXPECT_NE(plan.warnings[0].find("frontend http: maxconn 1000 is above the global 89"),
              std::string::npos);
}

TEST(connection_limit, holds_the_process_limit_and_each_frontend_limit) {
    connection_limit limit(3, {2, 3});
    EXPECT_TRUE(limit.try_take(0));
    EXPECT_TRUE(limit.try_take(0));
    EXPECT_FALSE(limit.try_take(0)); // the frontend's 2
    EXPECT_TRUE(limit.try_take(1));
    EXPECT_FALSE(limit.try_take(1)); // the process's 3
    EXPECT_EQ(limit.open(), 3u);
    EXPECT_EQ(limit.open(0), 2u);
    EXPECT_EQ(limit.open(1), 1u);
    limit.release(0);
    EXPECT_TRUE(limit.try_take(1));
    EXPECT_EQ(limit.open(), 3u);
    EXPECT_EQ(limit.open(1), 2u);
}

TEST(connection_limit, wakes_waiting_acceptors_when_a_slot_frees_and_only_then) {
    connection_limit limit(1, {1});
    std::atomic<int> wakes{0};
    limit.add_waker([&] { ++wakes; });
    limit.add_waker([&] { ++wakes; });
    ASSERT_TRUE(limit.try_take(0));
    limit.release(0);
    EXPECT_EQ(wakes, 0); // nobody waits

    ASSERT_TRUE(limit.try_take(0));
    limit.wait_begin();
    EXPECT_FALSE(limit.try_take(0));
    limit.release(0);
    EXPECT_EQ(wakes, 2); // every worker is told
    EXPECT_TRUE(limit.try_take(0));
    limit.wait_end();
}

TEST(connection_limit, counts_every_pause_and_says_when_an_episode_begins) {
    connection_limit limit(1, {1, 1});
    EXPECT_TRUE(limit.paused(0));
    EXPECT_FALSE(limit.paused(0));
    EXPECT_TRUE(limit.paused(1)); // per frontend
    EXPECT_EQ(limit.pauses(0), 2u);
    EXPECT_EQ(limit.pauses(1), 1u);
}

} // namespace
