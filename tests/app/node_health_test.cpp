#include "app/node_health.hpp"

#include <gtest/gtest.h>

namespace {

using fulcrum::assess_health;
using fulcrum::node_health;
using fulcrum::parse_node_health;
using fulcrum::health::admin_state;
using fulcrum::health::server_states;

// "web" sends to app_pool, and /api/ to api_pool; "internal" only to api_pool. Backend 2 is
// routed to by nobody.
const fulcrum::config::config& two_frontends() {
    static const auto loaded = fulcrum::config::load_string(R"(
frontends:
  - name: web
    bind: "*:80"
    default_backend: app_pool
    routes:
      - {path_prefix: /api/, backend: api_pool}
  - name: internal
    bind: 127.0.0.1:8080
    default_backend: api_pool
backends:
  - name: app_pool
    servers:
      - {name: app-1, address: 10.0.0.1:80}
      - {name: app-2, address: 10.0.0.2:80}
  - name: api_pool
    servers:
      - {name: api-1, address: 10.0.0.3:80}
  - name: spare
    servers:
      - {name: spare-1, address: 10.0.0.4:80}
)",
                                                            "t.yaml");
    EXPECT_TRUE(loaded.ok());
    return loaded.value;
}

TEST(node_health, every_frontend_counts_the_servers_of_every_backend_it_routes_to) {
    server_states states(two_frontends());
    const auto health = assess_health(two_frontends(), states, false);
    ASSERT_EQ(health.frontends.size(), 2u);
    EXPECT_EQ(health.frontends[0].name, "web");
    EXPECT_EQ(health.frontends[0].servers_up, 3u);
    EXPECT_TRUE(health.frontends[0].listening);
    EXPECT_EQ(health.frontends[1].name, "internal");
    EXPECT_EQ(health.frontends[1].servers_up, 1u);
    EXPECT_TRUE(health.healthy());
    EXPECT_EQ(health.status(), "ok");
}

TEST(node_health, a_frontend_with_no_server_up_and_ready_makes_the_node_unhealthy) {
    server_states states(two_frontends());
    states.set_admin(1, 0, admin_state::drain);
    auto health = assess_health(two_frontends(), states, false);
    EXPECT_EQ(health.frontends[0].servers_up, 2u) << "web still has app_pool";
    EXPECT_EQ(health.frontends[1].servers_up, 0u);
    EXPECT_FALSE(health.healthy());
    EXPECT_EQ(health.status(), "unhealthy");
    EXPECT_EQ(summary(health), "unhealthy: frontend internal has no server up");

    states.set_admin(1, 0, admin_state::maint);
    EXPECT_FALSE(assess_health(two_frontends(), states, false).healthy());
    states.set_admin(1, 0, admin_state::ready);
    states.set_up(1, 0, false);
    EXPECT_FALSE(assess_health(two_frontends(), states, false).healthy());
    states.set_up(0, 0, false);
    states.set_up(0, 1, false);
    EXPECT_EQ(summary(assess_health(two_frontends(), states, false)),
              "unhealthy: frontend web has no server up, frontend internal has no server up");
}

TEST(node_health, a_backend_no_frontend_routes_to_does_not_count) {
    server_states states(two_frontends());
    states.set_up(2, 0, false);
    EXPECT_TRUE(assess_health(two_frontends(), states, false).healthy());
}

TEST(node_health, a_draining_node_is_not_healthy_whatever_its_servers) {
    server_states states(two_frontends());
    const auto health = assess_health(two_frontends(), states, true);
    EXPECT_FALSE(health.healthy());
    EXPECT_EQ(health.status(), "draining");
    EXPECT_FALSE(health.frontends[0].listening);
    EXPECT_EQ(summary(health), "draining: not accepting connections");
}

TEST(node_health, the_json_says_status_healthy_and_each_frontend_and_reads_back) {
    server_states states(two_frontends());
    states.set_up(0, 1, false);
    const auto health = assess_health(two_frontends(), states, false);
    const auto text = to_json(health);
    EXPECT_EQ(text, "{\"status\": \"ok\", \"healthy\": true, \"frontends\": ["
                    "{\"name\": \"web\", \"listening\": true, \"servers_up\": 2}, "
                    "{\"name\": \"internal\", \"listening\": true, \"servers_up\": 1}]}\n");
    const auto back = parse_node_health(text);
    ASSERT_TRUE(back.has_value());
    EXPECT_TRUE(back->healthy());
    EXPECT_EQ(summary(*back), "healthy: 2 frontends: web has 2 servers up, internal has 1 "
                              "server up");

    const auto draining = parse_node_health(to_json(assess_health(two_frontends(), states, true)));
    ASSERT_TRUE(draining.has_value());
    EXPECT_EQ(draining->status(), "draining");
}

TEST(node_health, a_failover_node_adds_its_name_role_and_priority_and_they_read_back) {
    server_states states(two_frontends());
    auto health = assess_health(two_frontends(), states, false);
    health.failover = fulcrum::failover_status{"lb-1", "ACTIVE", 150};
    const auto text = to_json(health);
    EXPECT_NE(text.find(R"(, "node": "lb-1", "role": "ACTIVE", "priority": 150})"),
              std::string::npos)
        << text;
    const auto back = parse_node_health(text);
    ASSERT_TRUE(back.has_value());
    ASSERT_TRUE(back->failover.has_value());
    EXPECT_EQ(back->failover->node, "lb-1");
    EXPECT_EQ(back->failover->role, "ACTIVE");
    EXPECT_EQ(back->failover->priority, 150u);
    EXPECT_FALSE(parse_node_health(to_json(assess_health(two_frontends(), states, false)))
                     ->failover.has_value());
}

TEST(node_health, members_it_does_not_know_are_ignored_and_a_wrong_shape_is_refused) {
    const auto with_more = parse_node_health(
        R"({"node": "lb-1", "role": "active", "priority": 150, "status": "ok", "healthy": true,
            "frontends": [{"name": "http", "listening": true, "servers_up": 1}]})");
    ASSERT_TRUE(with_more.has_value());
    EXPECT_EQ(summary(*with_more), "healthy: frontend http has 1 server up");
    for (const char* bad :
         {"ok", "{}", R"({"status": "ok"})", R"({"status": "ok", "frontends": [{"name": "x"}]})",
          R"({"status": 1, "frontends": []})",
          R"({"status": "ok", "frontends": [{"name": "x", "listening": true,
              "servers_up": "2"}]})"}) {
        EXPECT_FALSE(parse_node_health(bad).has_value()) << bad;
    }
}

} // namespace
