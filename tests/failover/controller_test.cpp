#include "failover/controller.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

namespace fulcrum::failover {
namespace {

using namespace std::chrono_literals;

const time_point start = time_point{} + 24h;

config::failover settings(std::string node, unsigned priority) {
    config::failover f;
    f.node = std::move(node);
    f.priority = priority;
    f.hooks.on_active = {"/usr/local/bin/notify", "active"};
    f.hooks.on_passive = {"/usr/local/bin/notify", "passive"};
    f.hooks.on_fault = {"/usr/local/bin/notify", "fault"};
    f.reserved_ip = config::reserved_ip{};
    f.reserved_ip->address = "203.0.113.10";
    return f;
}

observation healthy_with(std::optional<peer_answer> peer) {
    observation o;
    o.self_healthy = true;
    o.peer = std::move(peer);
    if (!peer) {
        o.peer_problem = "timed out after 1000ms";
    }
    return o;
}

observation no_answer() {
    return healthy_with(std::nullopt);
}

peer_answer peer(role r, unsigned priority, std::string node = "lb-1") {
    return peer_answer{true, r, priority, std::move(node)};
}

// One node, driven one interval (1 s) at a time.
struct node_under_test {
    explicit node_under_test(const config::failover& f) : c(f) {}

    controller c;
    time_point now = start;
    std::vector<transition> transitions;

    output tick(const observation& o) {
        now += 1s;
        output out = c.tick(now, o);
        if (out.transition) {
            transitions.push_back(*out.transition);
        }
        return out;
    }
    // Ticks until the role changes or `limit` ticks pass; returns the ticks taken.
    int ticks_until_change(const observation& o, int limit) {
        for (int n = 1; n <= limit; ++n) {
            if (tick(o).transition) {
                return n;
            }
        }
        return -1;
    }
    // Through a peer outage into ACTIVE, with its assignment and hook done.
    void become_active() {
        for (int n = 0; n < 10 && c.current_role() != role::active; ++n) {
            output out = tick(no_answer());
            for (const action& a : out.actions) {
                if (a.what == action::kind::check_reserved_ip) {
                    c.holder_seen(now, a, holder::here);
                } else {
                    c.action_done(now, a, outcome::ok, "done");
                }
            }
        }
        ASSERT_EQ(c.current_role(), role::active);
    }
};

std::vector<action::kind> kinds(const output& out) {
    std::vector<action::kind> result;
    for (const action& a : out.actions) {
        result.push_back(a.what);
    }
    return result;
}

bool contains(const std::string& text, std::string_view part) {
    return text.find(part) != std::string::npos;
}

// ---- peer loss

TEST(failover_controller, peer_loss_takes_over_after_exactly_fall_intervals) {
    for (unsigned fall : {1u, 3u, 5u}) {
        config::failover f = settings("lb-2", 100);
        f.fall = fall;
        node_under_test n(f);
        n.tick(healthy_with(peer(role::active, 150)));
        n.tick(healthy_with(peer(role::active, 150)));
        ASSERT_TRUE(n.c.peer_up());

        for (unsigned missed = 1; missed < fall; ++missed) {
            EXPECT_FALSE(n.tick(no_answer()).transition) << "fall " << fall << ", " << missed;
            EXPECT_EQ(n.c.current_role(), role::passive);
        }
        output out = n.tick(no_answer());
        ASSERT_TRUE(out.transition) << "fall " << fall;
        EXPECT_EQ(out.transition->from, role::passive);
        EXPECT_EQ(out.transition->to, role::active);
        EXPECT_EQ(out.transition->reason,
                  "peer lb-1 is down (" + std::to_string(fall) +
                      " answers in a row missed or unhealthy, last: timed out after 1000ms)");
        EXPECT_EQ(n.c.current_role(), role::active);
        EXPECT_FALSE(n.c.peer_up());
        // The IP first, then the hook; both say where the node came from.
        ASSERT_EQ(kinds(out),
                  (std::vector{action::kind::assign_reserved_ip, action::kind::run_hook}));
        EXPECT_EQ(out.actions[1].hook, hook::on_active);
        EXPECT_EQ(out.actions[0].previous, role::passive);
        EXPECT_EQ(out.actions[1].previous, role::passive);
        EXPECT_EQ(out.actions[0].attempt, 1u);
    }
}

TEST(failover_controller, unhealthy_or_fault_answers_count_as_missed) {
    node_under_test n(settings("lb-2", 100));
    n.tick(healthy_with(peer(role::active, 150)));
    n.tick(healthy_with(peer(role::active, 150)));
    peer_answer sick = peer(role::active, 150);
    sick.healthy = false;
    n.tick(healthy_with(sick));
    n.tick(healthy_with(peer(role::fault, 150)));
    output out = n.tick(no_answer());
    ASSERT_TRUE(out.transition);
    EXPECT_EQ(out.transition->to, role::active);
    EXPECT_EQ(n.ticks_until_change(no_answer(), 100), -1);
}

TEST(failover_controller, a_node_that_starts_alone_takes_over_after_fall_intervals) {
    node_under_test n(settings("lb-2", 100));
    EXPECT_EQ(n.c.current_role(), role::passive);
    EXPECT_EQ(n.ticks_until_change(no_answer(), 10), 3);
    EXPECT_EQ(n.c.current_role(), role::active);
}

TEST(failover_controller, a_peer_answering_with_this_nodes_name_is_not_a_peer) {
    node_under_test n(settings("lb-2", 100));
    output first = n.tick(healthy_with(peer(role::active, 100, "lb-2")));
    ASSERT_EQ(first.notices.size(), 1u);
    EXPECT_TRUE(contains(first.notices[0], "own name 'lb-2'")) << first.notices[0];
    EXPECT_TRUE(n.tick(healthy_with(peer(role::active, 100, "lb-2"))).notices.empty());
    output out = n.tick(healthy_with(peer(role::active, 100, "lb-2")));
    ASSERT_TRUE(out.transition);
    EXPECT_EQ(out.transition->to, role::active);
}

// ---- flapping

TEST(failover_controller, a_peer_alternating_good_and_bad_answers_changes_nothing) {
    node_under_test n(settings("lb-2", 100));
    n.tick(healthy_with(peer(role::active, 150)));
    n.tick(healthy_with(peer(role::active, 150)));
    for (int i = 0; i < 100; ++i) {
        output out = n.tick(i % 2 == 0 ? no_answer() : healthy_with(peer(role::active, 150)));
        EXPECT_FALSE(out.transition) << i;
        EXPECT_TRUE(out.notices.empty()) << i;
    }
    EXPECT_TRUE(n.c.peer_up());
    EXPECT_EQ(n.c.current_role(), role::passive);
}

// The peer is lost for `fall` answers, then back as ACTIVE for `rise`, over and over: each loss
// would make this node take over, each return make it yield.
std::vector<time_point> takeovers_with_flapping_peer(config::duration hold_down) {
    config::failover f = settings("lb-2", 100);
    f.hold_down = hold_down;
    node_under_test n(f);
    n.tick(healthy_with(peer(role::active, 150)));
    n.tick(healthy_with(peer(role::active, 150)));
    std::vector<time_point> takeovers;
    for (int cycle = 0; cycle < 12; ++cycle) {
        for (int i = 0; i < 3; ++i) {
            if (auto out = n.tick(no_answer());
                out.transition && out.transition->to == role::active) {
                takeovers.push_back(n.now);
            }
        }
        for (int i = 0; i < 2; ++i) {
            n.tick(healthy_with(peer(role::active, 150)));
        }
    }
    return takeovers;
}

TEST(failover_controller, a_flapping_peer_moves_the_ip_at_most_once_per_hold_down) {
    const auto without = takeovers_with_flapping_peer(0s);
    EXPECT_EQ(without.size(), 12u); // every cycle
    for (config::duration hold_down : {5s, 10s, 20s}) {
        const auto with = takeovers_with_flapping_peer(hold_down);
        ASSERT_FALSE(with.empty());
        EXPECT_LT(with.size(), without.size()) << hold_down.count();
        // A takeover is followed within the cycle by a yield; the next takeover waits for the
        // hold-down after that yield, so takeovers are further apart than the hold-down.
        for (std::size_t i = 1; i < with.size(); ++i) {
            EXPECT_GT(with[i] - with[i - 1], hold_down) << hold_down.count();
        }
    }
}

TEST(failover_controller, hold_down_delays_a_takeover_after_a_yield) {
    node_under_test n(settings("lb-2", 100));
    n.become_active();
    // The peer is back, ACTIVE, and wins: yield at once.
    n.tick(healthy_with(peer(role::active, 150)));
    output yield = n.tick(healthy_with(peer(role::active, 150)));
    ASSERT_TRUE(yield.transition);
    EXPECT_EQ(yield.transition->to, role::passive);
    const time_point yielded = n.now;
    // Lost again right away: down after 3 answers, but no takeover until 5 s after the yield.
    EXPECT_EQ(n.ticks_until_change(no_answer(), 10), 5);
    EXPECT_EQ(n.now - yielded, 5s);
    EXPECT_EQ(n.c.current_role(), role::active);
}

// ---- unhealthy self

TEST(failover_controller, unhealthy_self_goes_fault_at_once_and_back_after_hold_down) {
    node_under_test n(settings("lb-2", 100));
    n.become_active();
    observation sick = no_answer();
    sick.self_healthy = false;
    sick.self_problem = "frontend http has no server UP";
    // Within the hold-down of becoming ACTIVE: FAULT is never held down.
    output out = n.tick(sick);
    ASSERT_TRUE(out.transition);
    EXPECT_EQ(out.transition->from, role::active);
    EXPECT_EQ(out.transition->to, role::fault);
    EXPECT_EQ(out.transition->reason, "this node is unhealthy: frontend http has no server UP");
    ASSERT_EQ(out.actions.size(), 1u);
    EXPECT_EQ(out.actions[0].hook, hook::on_fault);
    EXPECT_EQ(out.actions[0].previous, role::active);
    const time_point faulted = n.now;

    // Healthy again with the peer ACTIVE: PASSIVE once the hold-down has passed.
    n.tick(healthy_with(peer(role::active, 150)));
    out = n.tick(healthy_with(peer(role::active, 150)));
    EXPECT_FALSE(out.transition);
    EXPECT_EQ(n.ticks_until_change(healthy_with(peer(role::active, 150)), 10), 3);
    EXPECT_EQ(n.now - faulted, 5s);
    EXPECT_EQ(n.transitions.back().to, role::passive);
    EXPECT_EQ(n.transitions.back().reason, "this node is healthy again");

    // Unhealthy in PASSIVE too, then healthy with the peer down: straight to ACTIVE.
    EXPECT_EQ(n.ticks_until_change(sick, 1), 1);
    EXPECT_EQ(n.c.current_role(), role::fault);
    EXPECT_EQ(n.ticks_until_change(no_answer(), 10), 5);
    EXPECT_EQ(n.transitions.back().from, role::fault);
    EXPECT_EQ(n.transitions.back().to, role::active);
}

// ---- preemption

TEST(failover_controller, without_preempt_a_recovered_higher_priority_node_stays_passive) {
    node_under_test n(settings("lb-1", 150)); // preempt is off by default
    EXPECT_EQ(n.ticks_until_change(healthy_with(peer(role::active, 100, "lb-2")), 600), -1);
    EXPECT_EQ(n.c.current_role(), role::passive);
    EXPECT_TRUE(n.c.peer_up());
}

TEST(failover_controller, with_preempt_it_takes_the_role_back_after_the_delay) {
    config::failover f = settings("lb-1", 150);
    f.preempt = true;
    f.preempt_delay = 30s;
    node_under_test n(f);
    const auto lower_active = healthy_with(peer(role::active, 100, "lb-2"));
    n.tick(lower_active);
    n.tick(lower_active); // the peer is up from here: the delay starts
    const time_point seen = n.now;
    EXPECT_EQ(n.ticks_until_change(lower_active, 100), 30);
    EXPECT_EQ(n.now - seen, 30s);
    EXPECT_EQ(n.transitions.back().to, role::active);
    EXPECT_EQ(n.transitions.back().reason,
              "preempting peer lb-2 (priority 150 over 100) after 30s healthy with the peer up");
}

TEST(failover_controller, preempt_never_lets_the_lower_node_take_over) {
    config::failover f = settings("lb-2", 100);
    f.preempt = true;
    node_under_test n(f);
    EXPECT_EQ(n.ticks_until_change(healthy_with(peer(role::active, 150)), 100), -1);
}

// ---- two controllers talking to each other

struct pair_under_test {
    pair_under_test(const config::failover& a, const config::failover& b)
        : nodes{controller(a), controller(b)}, settings{a, b} {}

    controller nodes[2];
    config::failover settings[2];
    bool link_up = true;
    bool healthy[2] = {true, true};
    time_point now = start;
    int double_active_ticks = 0;

    // Both ask each other at the same moment, then decide.
    void tick() {
        now += 1s;
        observation seen[2];
        for (int i = 0; i < 2; ++i) {
            const int other = 1 - i;
            seen[i].self_healthy = healthy[i];
            seen[i].self_problem = "no server UP";
            if (link_up) {
                seen[i].peer = peer_answer{healthy[other], nodes[other].current_role(),
                                           settings[other].priority, settings[other].node};
            } else {
                seen[i].peer_problem = "connect timed out";
            }
        }
        for (int i = 0; i < 2; ++i) {
            output out = nodes[i].tick(now, seen[i]);
            for (const action& a : out.actions) {
                if (a.what != action::kind::check_reserved_ip) {
                    nodes[i].action_done(now, a, outcome::ok, "done");
                }
            }
        }
        if (role_of(0) == role::active && role_of(1) == role::active) {
            ++double_active_ticks;
        }
    }
    void run(int ticks) {
        for (int i = 0; i < ticks; ++i) {
            tick();
        }
    }
    role role_of(int i) const { return nodes[i].current_role(); }
};

TEST(failover_pair, two_healthy_nodes_starting_together_elect_the_higher_priority) {
    pair_under_test p(settings("lb-1", 100), settings("lb-2", 150));
    p.run(60);
    EXPECT_EQ(p.role_of(0), role::passive);
    EXPECT_EQ(p.role_of(1), role::active);
    EXPECT_EQ(p.double_active_ticks, 0);
}

TEST(failover_pair, equal_priorities_are_broken_by_node_name) {
    pair_under_test p(settings("lb-b", 100), settings("lb-a", 100));
    p.run(60);
    EXPECT_EQ(p.role_of(0), role::passive);
    EXPECT_EQ(p.role_of(1), role::active);
}

TEST(failover_pair, a_healed_partition_leaves_one_active_node) {
    pair_under_test p(settings("lb-1", 150), settings("lb-2", 100));
    p.run(10);
    ASSERT_EQ(p.role_of(0), role::active);
    p.link_up = false;
    p.run(20);
    // Each thinks the other is gone: both ACTIVE.
    ASSERT_EQ(p.role_of(0), role::active);
    ASSERT_EQ(p.role_of(1), role::active);
    p.link_up = true;
    p.double_active_ticks = 0;
    p.run(30);
    EXPECT_EQ(p.role_of(0), role::active);
    EXPECT_EQ(p.role_of(1), role::passive);
    // Until each has seen `rise` good answers, no longer.
    EXPECT_EQ(p.double_active_ticks, 1);
}

TEST(failover_pair, the_passive_node_takes_over_when_the_active_one_fails) {
    pair_under_test p(settings("lb-1", 150), settings("lb-2", 100));
    p.run(10);
    ASSERT_EQ(p.role_of(0), role::active);
    p.healthy[0] = false;
    p.tick();
    EXPECT_EQ(p.role_of(0), role::fault);
    p.run(3);
    EXPECT_EQ(p.role_of(1), role::active);
    // lb-1 recovers; without preempt lb-2 keeps the role.
    p.healthy[0] = true;
    p.run(120);
    EXPECT_EQ(p.role_of(0), role::passive);
    EXPECT_EQ(p.role_of(1), role::active);
    EXPECT_EQ(p.double_active_ticks, 0);
}

TEST(failover_pair, preemption_hands_the_role_back_with_one_short_overlap) {
    config::failover a = settings("lb-1", 150);
    a.preempt = true;
    a.preempt_delay = 10s;
    pair_under_test p(a, settings("lb-2", 100));
    p.run(10);
    p.healthy[0] = false;
    p.run(10);
    ASSERT_EQ(p.role_of(1), role::active);
    p.healthy[0] = true;
    p.run(60);
    EXPECT_EQ(p.role_of(0), role::active);
    EXPECT_EQ(p.role_of(1), role::passive);
    // lb-1 turns ACTIVE, and lb-2 yields once it has seen that.
    EXPECT_EQ(p.double_active_ticks, 1);
}

// ---- the reserved IP while ACTIVE

TEST(failover_controller, an_active_node_checks_the_holder_every_recheck) {
    config::failover f = settings("lb-2", 100);
    f.reserved_ip->recheck = 10s;
    node_under_test n(f);
    n.become_active();
    const time_point assigned = n.now;
    action check;
    for (int i = 0; i < 20 && check.what != action::kind::check_reserved_ip; ++i) {
        output out = n.tick(no_answer());
        for (const action& a : out.actions) {
            check = a;
        }
    }
    ASSERT_EQ(check.what, action::kind::check_reserved_ip);
    EXPECT_EQ(n.now - assigned, 10s);
    // Held here: nothing to do but check again later.
    EXPECT_TRUE(n.c.holder_seen(n.now, check, holder::here).actions.empty());
    const time_point checked = n.now;
    for (int i = 0; i < 20; ++i) {
        output out = n.tick(no_answer());
        if (!out.actions.empty()) {
            EXPECT_EQ(out.actions[0].what, action::kind::check_reserved_ip);
            break;
        }
    }
    EXPECT_EQ(n.now - checked, 10s);
}

// An ACTIVE node whose first check is due now; returns the check.
action active_with_check_due(node_under_test& n, const observation& peer_seen) {
    n.become_active();
    for (int i = 0; i < 30; ++i) {
        for (const action& a : n.tick(peer_seen).actions) {
            if (a.what == action::kind::check_reserved_ip) {
                return a;
            }
        }
    }
    ADD_FAILURE() << "no check";
    return {};
}

TEST(failover_controller, reasserts_when_the_ip_is_elsewhere_and_the_peer_is_not_active) {
    // The peer is gone.
    node_under_test gone(settings("lb-2", 100));
    action check = active_with_check_due(gone, no_answer());
    output out = gone.c.holder_seen(gone.now, check, holder::elsewhere);
    ASSERT_EQ(kinds(out), std::vector{action::kind::assign_reserved_ip});
    ASSERT_EQ(out.notices.size(), 1u);
    EXPECT_EQ(out.notices[0], "assigning the reserved IP again: the reserved IP is not on this "
                              "node, and the peer is not a healthy ACTIVE node");

    // The peer is back but PASSIVE (it lost the IP to nobody, or an API call moved it).
    node_under_test passive_peer(settings("lb-2", 100));
    check = active_with_check_due(passive_peer, healthy_with(peer(role::passive, 150)));
    ASSERT_EQ(passive_peer.c.current_role(), role::active);
    out = passive_peer.c.holder_seen(passive_peer.now, check, holder::elsewhere);
    EXPECT_EQ(kinds(out), std::vector{action::kind::assign_reserved_ip});

    // Unknown (the API did not answer): no blind assignment.
    node_under_test unknown(settings("lb-2", 100));
    check = active_with_check_due(unknown, no_answer());
    EXPECT_TRUE(unknown.c.holder_seen(unknown.now, check, holder::unknown).actions.empty());
}

TEST(failover_controller, in_a_partition_only_the_node_that_outranks_its_peer_reasserts) {
    // lb-2 saw lb-1 (150) ACTIVE, then lost sight of it and took over: lb-1 may be alive behind
    // the partition and take the IP back; lb-2 leaves it there instead of moving it back.
    node_under_test n(settings("lb-2", 100));
    for (int i = 0; i < 3; ++i) {
        n.tick(healthy_with(peer(role::active, 150)));
    }
    const action check = active_with_check_due(n, no_answer());
    ASSERT_EQ(n.c.current_role(), role::active);
    const output out = n.c.holder_seen(n.now, check, holder::elsewhere);
    EXPECT_TRUE(out.actions.empty());
    ASSERT_EQ(out.notices.size(), 1u);
    EXPECT_TRUE(contains(out.notices[0], "outranks this node (priority 150 over 100)"))
        << out.notices[0];

    // An IP on no droplet is taken back whatever the peer: nobody else is serving it.
    node_under_test lone(settings("lb-2", 100));
    for (int i = 0; i < 3; ++i) {
        lone.tick(healthy_with(peer(role::active, 150)));
    }
    const action lone_check = active_with_check_due(lone, no_answer());
    EXPECT_EQ(kinds(lone.c.holder_seen(lone.now, lone_check, holder::unassigned)),
              std::vector{action::kind::assign_reserved_ip});
}

TEST(failover_controller, a_peer_that_answers_fault_gets_no_deference_for_the_ip) {
    node_under_test n(settings("lb-2", 100));
    for (int i = 0; i < 3; ++i) {
        n.tick(healthy_with(peer(role::active, 150)));
    }
    const action check = active_with_check_due(n, healthy_with(peer(role::fault, 150)));
    ASSERT_EQ(n.c.current_role(), role::active);
    EXPECT_EQ(kinds(n.c.holder_seen(n.now, check, holder::elsewhere)),
              std::vector{action::kind::assign_reserved_ip});
}

TEST(failover_controller, actions_of_a_role_left_since_are_no_longer_wanted) {
    node_under_test n(settings("lb-2", 100));
    output became;
    for (int i = 0; i < 10 && n.c.current_role() != role::active; ++i) {
        became = n.tick(no_answer());
    }
    ASSERT_EQ(n.c.current_role(), role::active);
    ASSERT_EQ(kinds(became),
              (std::vector{action::kind::assign_reserved_ip, action::kind::run_hook}));
    for (const action& a : became.actions) {
        EXPECT_TRUE(n.c.still_wanted(a)) << describe(a);
    }
    n.c.tick(n.now, observation{false, "no server up", std::nullopt, "no answer"});
    ASSERT_EQ(n.c.current_role(), role::fault);
    for (const action& a : became.actions) {
        EXPECT_FALSE(n.c.still_wanted(a)) << describe(a);
    }
}

TEST(failover_controller, with_an_active_peer_only_the_winner_reasserts) {
    // This node wins: it takes the IP back.
    config::failover f = settings("lb-1", 150);
    node_under_test winner(f);
    winner.become_active();
    action check;
    for (int i = 0; i < 30 && check.what != action::kind::check_reserved_ip; ++i) {
        for (const action& a : winner.tick(healthy_with(peer(role::active, 100, "lb-2"))).actions) {
            check = a;
        }
    }
    ASSERT_EQ(check.what, action::kind::check_reserved_ip);
    ASSERT_EQ(winner.c.current_role(), role::active);
    output out = winner.c.holder_seen(winner.now, check, holder::elsewhere);
    ASSERT_EQ(kinds(out), std::vector{action::kind::assign_reserved_ip});
    EXPECT_TRUE(contains(out.notices.at(0), "this node wins (priority 150 over 100)"))
        << out.notices[0];

    // This node loses: its check was out when it saw the peer win and yielded; the answer
    // that the IP is elsewhere changes nothing.
    node_under_test loser(settings("lb-2", 100));
    const action loser_check = active_with_check_due(loser, no_answer());
    loser.tick(healthy_with(peer(role::active, 150)));
    ASSERT_EQ(loser.tick(healthy_with(peer(role::active, 150))).transition->to, role::passive);
    EXPECT_TRUE(loser.c.holder_seen(loser.now, loser_check, holder::elsewhere).actions.empty());
}

TEST(failover_controller, the_losing_active_node_leaves_the_ip_to_the_winner) {
    node_under_test n(settings("lb-2", 100));
    n.become_active();
    for (int i = 0; i < 8; ++i) {
        n.tick(no_answer());
    }
    // The check is due on the tick that also sees the peer up and ACTIVE: the node yields
    // before the check goes out.
    n.tick(healthy_with(peer(role::active, 150)));
    output out = n.tick(healthy_with(peer(role::active, 150)));
    ASSERT_TRUE(out.transition);
    EXPECT_EQ(out.transition->to, role::passive);
    EXPECT_EQ(out.transition->reason, "peer lb-1 is ACTIVE too and wins (priority 150 over 100)");
    EXPECT_EQ(kinds(out), std::vector{action::kind::run_hook});
}

// ---- failed actions

TEST(failover_controller, a_failed_on_active_hook_is_retried_with_backoff_while_active) {
    config::failover f = settings("lb-2", 100);
    f.reserved_ip.reset();
    node_under_test n(f);
    n.tick(no_answer());
    n.tick(no_answer());
    output out = n.tick(no_answer());
    ASSERT_EQ(out.actions.size(), 1u);
    action hook_run = out.actions[0];
    std::vector<config::duration> delays;
    for (unsigned attempt = 1; attempt <= 8; ++attempt) {
        ASSERT_EQ(hook_run.attempt, attempt);
        const time_point failed_at = n.now;
        output done = n.c.action_done(n.now, hook_run, outcome::failed, "exited 1");
        ASSERT_EQ(done.notices.size(), 1u);
        EXPECT_TRUE(
            contains(done.notices[0], describe(hook_run) + " failed (exited 1); retrying in"))
            << done.notices[0];
        std::optional<action> retry;
        for (int i = 0; i < 60 && !retry; ++i) {
            output next = n.tick(no_answer());
            if (!next.actions.empty()) {
                retry = next.actions[0];
            }
        }
        ASSERT_TRUE(retry);
        EXPECT_EQ(retry->what, action::kind::run_hook);
        EXPECT_EQ(retry->hook, hook::on_active);
        EXPECT_EQ(retry->previous, role::passive);
        delays.push_back(std::chrono::duration_cast<config::duration>(n.now - failed_at));
        hook_run = *retry;
    }
    EXPECT_EQ(delays, (std::vector<config::duration>{1s, 2s, 4s, 8s, 16s, 30s, 30s, 30s}));
    EXPECT_EQ(n.c.current_role(), role::active);
    // Success ends the retries.
    n.c.action_done(n.now, hook_run, outcome::ok, "exited 0");
    for (int i = 0; i < 100; ++i) {
        EXPECT_TRUE(n.tick(no_answer()).actions.empty());
    }
}

TEST(failover_controller, no_retry_once_the_node_is_no_longer_active) {
    node_under_test n(settings("lb-2", 100));
    n.tick(no_answer());
    n.tick(no_answer());
    output out = n.tick(no_answer());
    ASSERT_EQ(out.actions.size(), 2u);
    observation sick = no_answer();
    sick.self_healthy = false;
    n.tick(sick);
    EXPECT_TRUE(n.c.action_done(n.now, out.actions[0], outcome::failed, "500").notices.empty());
    EXPECT_TRUE(
        n.c.action_done(n.now, out.actions[1], outcome::failed, "exited 1").notices.empty());
    for (int i = 0; i < 60; ++i) {
        for (const action& a : n.tick(sick).actions) {
            ADD_FAILURE() << describe(a);
        }
    }
}

TEST(failover_controller, a_superseded_action_result_is_ignored) {
    node_under_test n(settings("lb-2", 100));
    n.tick(no_answer());
    n.tick(no_answer());
    const action first = n.tick(no_answer()).actions.at(0);
    ASSERT_EQ(first.what, action::kind::assign_reserved_ip);
    // FAULT and back to ACTIVE before the first assignment ended: a second one is issued.
    observation sick = no_answer();
    sick.self_healthy = false;
    n.tick(sick);
    std::optional<action> second;
    for (int i = 0; i < 10 && !second; ++i) {
        for (const action& a : n.tick(no_answer()).actions) {
            if (a.what == action::kind::assign_reserved_ip) {
                second = a;
            }
        }
    }
    ASSERT_TRUE(second);
    EXPECT_NE(second->id, first.id);
    EXPECT_TRUE(n.c.action_done(n.now, first, outcome::failed, "422").notices.empty());
    EXPECT_EQ(n.c.action_done(n.now, *second, outcome::failed, "422").notices.size(), 1u);
}

TEST(failover_controller, a_failed_assignment_is_retried_until_the_ip_is_here) {
    node_under_test n(settings("lb-2", 100));
    n.tick(no_answer());
    n.tick(no_answer());
    output out = n.tick(no_answer());
    const action assign = out.actions.at(0);
    n.c.action_done(n.now, out.actions.at(1), outcome::ok, "exited 0");
    n.c.action_done(n.now, assign, outcome::failed, "polling the action timed out");
    output retry = n.tick(no_answer());
    ASSERT_EQ(kinds(retry), std::vector{action::kind::assign_reserved_ip});
    EXPECT_EQ(retry.actions[0].attempt, 2u);
    EXPECT_EQ(describe(retry.actions[0]), "reserved IP assignment (attempt 2)");
    n.c.action_done(n.now, retry.actions[0], outcome::ok, "assigned");
    EXPECT_EQ(n.c.current_role(), role::active);
}

TEST(failover_controller, a_refused_assignment_is_fault_until_restart) {
    node_under_test n(settings("lb-2", 100));
    n.tick(no_answer());
    n.tick(no_answer());
    output out = n.tick(no_answer());
    output refused =
        n.c.action_done(n.now, out.actions.at(0), outcome::refused, "401 Unauthorized");
    ASSERT_TRUE(refused.transition);
    EXPECT_EQ(refused.transition->from, role::active);
    EXPECT_EQ(refused.transition->to, role::fault);
    EXPECT_EQ(refused.transition->reason,
              "reserved IP assignment was refused (401 Unauthorized); retrying cannot help, so "
              "this node stays in FAULT until it is restarted");
    ASSERT_EQ(refused.actions.size(), 1u);
    EXPECT_EQ(refused.actions[0].hook, hook::on_fault);
    EXPECT_EQ(n.ticks_until_change(no_answer(), 300), -1);
    EXPECT_EQ(n.c.current_role(), role::fault);
}

TEST(failover_roles, names_round_trip) {
    for (role r : {role::active, role::passive, role::fault}) {
        EXPECT_EQ(parse_role(role_name(r)), r);
    }
    EXPECT_EQ(role_name(role::active), "ACTIVE");
    EXPECT_EQ(parse_role("active"), std::nullopt);
    EXPECT_EQ(parse_role(""), std::nullopt);
    EXPECT_EQ(hook_name(hook::on_passive), "on_passive");
}

} // namespace
} // namespace fulcrum::failover
