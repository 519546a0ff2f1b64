#include "health/server_states.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace {

using fulcrum::health::admin_state;
using fulcrum::health::server_states;

fulcrum::config::config pools(unsigned connect_failures, unsigned server_errors,
                              unsigned gateway_errors = 5) {
    fulcrum::config::config cfg;
    cfg.backends.resize(2);
    cfg.backends[0].name = "app_pool";
    cfg.backends[0].servers.resize(2);
    cfg.backends[0].passive = {connect_failures, server_errors, gateway_errors};
    cfg.backends[1].name = "api_pool";
    cfg.backends[1].servers.resize(1);
    return cfg;
}

TEST(server_states, every_server_starts_up_ready_and_available) {
    server_states states(pools(3, 0));
    for (std::size_t s = 0; s < 2; ++s) {
        EXPECT_TRUE(states.up(0, s));
        EXPECT_EQ(states.admin(0, s), admin_state::ready);
        EXPECT_TRUE(states.available(0, s));
    }
    EXPECT_TRUE(states.available(1, 0));
    EXPECT_FALSE(states.take_passive_down(0, 0));
    EXPECT_EQ(states.passive_downs(0, 0), 0u);
}

TEST(server_states, servers_are_independent) {
    server_states states(pools(3, 0));
    states.set_up(0, 1, false);
    states.set_admin(1, 0, admin_state::maint);
    EXPECT_TRUE(states.available(0, 0));
    EXPECT_FALSE(states.available(0, 1));
    EXPECT_FALSE(states.available(1, 0));
    EXPECT_TRUE(states.up(1, 0));
}

TEST(server_states, consecutive_connect_failures_mark_the_server_down_once) {
    server_states states(pools(3, 0));
    EXPECT_FALSE(states.observe_connect(0, 0, false));
    EXPECT_FALSE(states.observe_connect(0, 0, false));
    EXPECT_TRUE(states.up(0, 0));
    EXPECT_TRUE(states.observe_connect(0, 0, false));
    EXPECT_FALSE(states.up(0, 0));
    EXPECT_FALSE(states.available(0, 0));
    EXPECT_EQ(states.passive_downs(0, 0), 1u);
    // Already DOWN: not marked again, however many failures follow.
    for (int i = 0; i < 10; ++i) {
        EXPECT_FALSE(states.observe_connect(0, 0, false));
    }
    EXPECT_EQ(states.passive_downs(0, 0), 1u);
    // The checker learns of it once.
    EXPECT_TRUE(states.take_passive_down(0, 0));
    EXPECT_FALSE(states.take_passive_down(0, 0));
    // The other server is untouched.
    EXPECT_TRUE(states.up(0, 1));
}

TEST(server_states, a_successful_connect_resets_the_count) {
    server_states states(pools(3, 0));
    EXPECT_FALSE(states.observe_connect(0, 0, false));
    EXPECT_FALSE(states.observe_connect(0, 0, false));
    EXPECT_FALSE(states.observe_connect(0, 0, true));
    EXPECT_FALSE(states.observe_connect(0, 0, false));
    EXPECT_FALSE(states.observe_connect(0, 0, false));
    EXPECT_TRUE(states.up(0, 0));
    EXPECT_TRUE(states.observe_connect(0, 0, false));
}

TEST(server_states, a_server_brought_back_needs_a_full_run_of_failures_again) {
    server_states states(pools(2, 0));
    EXPECT_FALSE(states.observe_connect(0, 0, false));
    EXPECT_TRUE(states.observe_connect(0, 0, false));
    states.set_up(0, 0, true); // the checks brought it back
    EXPECT_FALSE(states.observe_connect(0, 0, false));
    EXPECT_TRUE(states.observe_connect(0, 0, false));
    EXPECT_EQ(states.passive_downs(0, 0), 2u);
}

TEST(server_states, zero_turns_passive_connect_observation_off) {
    server_states states(pools(0, 0));
    for (int i = 0; i < 100; ++i) {
        EXPECT_FALSE(states.observe_connect(0, 0, false));
    }
    EXPECT_TRUE(states.up(0, 0));
}

TEST(server_states, server_errors_are_off_by_default) {
    fulcrum::config::config cfg = pools(3, 0);
    cfg.backends[0].passive = {};
    ASSERT_EQ(cfg.backends[0].passive.server_errors, 0u);
    server_states states(cfg);
    for (int i = 0; i < 100; ++i) {
        EXPECT_FALSE(states.observe_response(0, 0, 503));
    }
    EXPECT_TRUE(states.up(0, 0));
}

TEST(server_states, consecutive_5xx_mark_the_server_down_and_other_statuses_reset) {
    server_states states(pools(3, 2));
    EXPECT_FALSE(states.observe_response(0, 0, 500));
    EXPECT_FALSE(states.observe_response(0, 0, 404)); // a 4xx is the client's problem
    EXPECT_FALSE(states.observe_response(0, 0, 502));
    EXPECT_FALSE(states.observe_response(0, 0, 200));
    EXPECT_FALSE(states.observe_response(0, 0, 599));
    EXPECT_TRUE(states.up(0, 0));
    EXPECT_TRUE(states.observe_response(0, 0, 503));
    EXPECT_FALSE(states.up(0, 0));
    EXPECT_TRUE(states.take_passive_down(0, 0));
    EXPECT_EQ(states.passive_downs(0, 0), 1u);
}

TEST(server_states, gateway_errors_take_the_server_down_at_the_default_threshold_of_5) {
    fulcrum::config::config cfg = pools(3, 0);
    cfg.backends[0].passive = {};
    ASSERT_EQ(cfg.backends[0].passive.gateway_errors, 5u);
    server_states states(cfg);
    for (int i = 0; i < 4; ++i) {
        EXPECT_FALSE(states.observe_gateway_error(0, 0));
    }
    EXPECT_TRUE(states.up(0, 0));
    EXPECT_TRUE(states.observe_gateway_error(0, 0));
    EXPECT_FALSE(states.up(0, 0));
    EXPECT_TRUE(states.take_passive_down(0, 0));
    EXPECT_EQ(states.passive_downs(0, 0), 1u);
    EXPECT_TRUE(states.up(0, 1));
}

TEST(server_states, any_complete_response_resets_the_gateway_errors_but_a_connect_does_not) {
    server_states states(pools(3, 0, 3));
    // A server that accepts and then fails connects fine every time: that is no success.
    for (int round = 0; round < 2; ++round) {
        EXPECT_FALSE(states.observe_connect(0, 0, true));
        EXPECT_FALSE(states.observe_gateway_error(0, 0));
    }
    // Its own 500 is a valid response: the server is there (5xx are server_errors' business).
    EXPECT_FALSE(states.observe_response(0, 0, 500));
    EXPECT_FALSE(states.observe_gateway_error(0, 0));
    EXPECT_FALSE(states.observe_gateway_error(0, 0));
    EXPECT_FALSE(states.observe_response(0, 0, 200));
    EXPECT_FALSE(states.observe_gateway_error(0, 0));
    EXPECT_FALSE(states.observe_gateway_error(0, 0));
    EXPECT_FALSE(states.observe_response(0, 0, 101));
    EXPECT_FALSE(states.observe_gateway_error(0, 0));
    EXPECT_FALSE(states.observe_gateway_error(0, 0));
    EXPECT_TRUE(states.up(0, 0));
    EXPECT_FALSE(states.observe_connect(0, 0, true));
    EXPECT_TRUE(states.observe_gateway_error(0, 0));
    EXPECT_FALSE(states.up(0, 0));
}

TEST(server_states, gateway_errors_and_5xx_are_counted_apart) {
    server_states states(pools(3, 2, 2));
    EXPECT_FALSE(states.observe_gateway_error(0, 0));
    EXPECT_FALSE(states.observe_response(0, 0, 503)); // one 5xx; resets the gateway errors
    EXPECT_FALSE(states.observe_gateway_error(0, 0));
    EXPECT_TRUE(states.up(0, 0));
    EXPECT_TRUE(states.observe_response(0, 0, 503)); // the second 5xx in a row
    EXPECT_FALSE(states.up(0, 0));
}

TEST(server_states, zero_turns_gateway_error_observation_off) {
    server_states states(pools(3, 0, 0));
    for (int i = 0; i < 100; ++i) {
        EXPECT_FALSE(states.observe_gateway_error(0, 0));
    }
    EXPECT_TRUE(states.up(0, 0));
}

TEST(server_states, concurrent_failures_from_two_workers_mark_down_exactly_once) {
    server_states states(pools(3, 0));
    std::atomic<int> marked{0};
    std::atomic<bool> go{false};
    auto worker = [&] {
        while (!go.load()) {
        }
        for (int i = 0; i < 10000; ++i) {
            if (states.observe_connect(0, 0, false)) {
                ++marked;
            }
        }
    };
    std::thread a(worker);
    std::thread b(worker);
    go = true;
    a.join();
    b.join();
    EXPECT_EQ(marked.load(), 1);
    EXPECT_FALSE(states.up(0, 0));
    EXPECT_EQ(states.passive_downs(0, 0), 1u);
}

TEST(server_states, admin_state_changes_while_down_keep_the_server_unavailable) {
    server_states states(pools(3, 0));
    states.set_up(0, 0, false);
    for (admin_state a : {admin_state::maint, admin_state::drain, admin_state::ready}) {
        states.set_admin(0, 0, a);
        EXPECT_EQ(states.admin(0, 0), a);
        EXPECT_FALSE(states.available(0, 0)) << to_string(a);
        EXPECT_FALSE(states.up(0, 0));
    }
    // READY while DOWN: it takes traffic only once it is UP again.
    states.set_up(0, 0, true);
    EXPECT_TRUE(states.available(0, 0));
}

TEST(server_states, drain_and_maint_take_an_up_server_out_of_rotation) {
    server_states states(pools(3, 0));
    states.set_admin(0, 0, admin_state::drain);
    EXPECT_TRUE(states.up(0, 0));
    EXPECT_FALSE(states.available(0, 0));
    states.set_admin(0, 0, admin_state::maint);
    EXPECT_FALSE(states.available(0, 0));
    states.set_admin(0, 0, admin_state::ready);
    EXPECT_TRUE(states.available(0, 0));
}

TEST(server_states, admin_state_names) {
    using fulcrum::health::parse_admin_state;
    for (admin_state a : {admin_state::ready, admin_state::drain, admin_state::maint}) {
        EXPECT_EQ(parse_admin_state(to_string(a)), a);
    }
    EXPECT_EQ(to_string(admin_state::drain), "drain");
    EXPECT_EQ(parse_admin_state("READY"), std::nullopt);
    EXPECT_EQ(parse_admin_state("up"), std::nullopt);
    EXPECT_EQ(parse_admin_state(""), std::nullopt);
}

} // namespace
