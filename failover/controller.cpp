#include "failover/controller.hpp"

#include <algorithm>
#include <array>

namespace fulcrum::failover {

namespace {

constexpr std::array<std::string_view, 3> role_names{"ACTIVE", "PASSIVE", "FAULT"};
constexpr std::array<std::string_view, 3> hook_names{"on_active", "on_passive", "on_fault"};

constexpr config::duration first_retry{1000};
constexpr config::duration longest_retry{30000};

// After attempt n failed: 1 s, 2 s, 4 s ... at most 30 s.
config::duration retry_delay(unsigned failed_attempt) {
    config::duration delay = first_retry;
    for (unsigned n = 1; n < failed_attempt && delay < longest_retry; ++n) {
        delay *= 2;
    }
    return std::min(delay, longest_retry);
}

std::string seconds(config::duration d) {
    if (d.count() % 1000 == 0) {
        return std::to_string(d.count() / 1000) + "s";
    }
    return std::to_string(d.count()) + "ms";
}

} // namespace

std::string_view role_name(role r) {
    return role_names[static_cast<std::size_t>(r)];
}

std::optional<role> parse_role(std::string_view name) {
    for (std::size_t i = 0; i < role_names.size(); ++i) {
        if (role_names[i] == name) {
            return static_cast<role>(i);
        }
    }
    return std::nullopt;
}

std::string_view hook_name(hook h) {
    return hook_names[static_cast<std::size_t>(h)];
}

std::string describe(const action& a) {
    std::string text;
    switch (a.what) {
    case action::kind::run_hook:
        text = std::string(hook_name(a.hook)) + " hook";
        break;
    case action::kind::assign_reserved_ip:
        text = "reserved IP assignment";
        break;
    case action::kind::check_reserved_ip:
        text = "reserved IP check";
        break;
    }
    if (a.attempt > 1) {
        text += " (attempt " + std::to_string(a.attempt) + ")";
    }
    return text;
}

controller::controller(const config::failover& settings)
    : node_(settings.node), priority_(settings.priority), preempt_(settings.preempt),
      preempt_delay_(settings.preempt_delay), fall_(settings.fall), rise_(settings.rise),
      hold_down_(settings.hold_down), reserved_ip_(settings.reserved_ip.has_value()),
      recheck_(settings.reserved_ip ? settings.reserved_ip->recheck : config::duration{}),
      on_passive_(!settings.hooks.on_passive.empty()), on_fault_(!settings.hooks.on_fault.empty()) {
    assign_.configured = reserved_ip_;
    on_active_.configured = !settings.hooks.on_active.empty();
}

output controller::tick(time_point now, const observation& seen) {
    output out;
    observe_peer(seen, out);
    if (latched_) {
        return out;
    }
    if (!seen.self_healthy) {
        preempt_since_.reset();
        if (role_ != role::fault) {
            change(now, role::fault, "this node is unhealthy: " + seen.self_problem, out);
        }
        return out;
    }
    decide(now, out);
    if (role_ == role::active) {
        issue_due(now, out);
    }
    return out;
}

void controller::observe_peer(const observation& seen, output& out) {
    const bool echo = seen.peer && seen.peer->node == node_;
    if (echo && !echo_noticed_) {
        echo_noticed_ = true;
        out.notices.push_back("the peer answers with this node's own name '" + node_ +
                              "': failover.peer must be the other node, and its node name must "
                              "differ; its answers count as missed");
    }
    if (seen.peer && seen.peer->healthy && seen.peer->role != role::fault && !echo) {
        ++good_streak_;
        bad_streak_ = 0;
        peer_silent_ = false;
        peer_ = *seen.peer;
        if (peer_state_ != peer_state::up && good_streak_ >= rise_) {
            peer_state_ = peer_state::up;
            out.notices.push_back(peer_label() + " is up: " + std::to_string(good_streak_) +
                                  " healthy answers in a row (" +
                                  std::string(role_name(peer_.role)) + ", priority " +
                                  std::to_string(peer_.priority) + ")");
        }
        return;
    }
    ++bad_streak_;
    good_streak_ = 0;
    peer_silent_ = !seen.peer;
    if (!seen.peer) {
        last_problem_ = seen.peer_problem.empty() ? "no answer" : seen.peer_problem;
    } else if (echo) {
        last_problem_ = "it answers with this node's name";
    } else if (seen.peer->role == role::fault) {
        last_problem_ = "it is in FAULT";
    } else {
        last_problem_ = "it reports itself unhealthy";
    }
    if (peer_state_ != peer_state::down && bad_streak_ >= fall_) {
        peer_state_ = peer_state::down;
        out.notices.push_back(peer_label() + " is down: " + std::to_string(bad_streak_) +
                              " answers in a row missed or unhealthy (last: " + last_problem_ +
                              ")");
    }
}

void controller::decide(time_point now, output& out) {
    const bool peer_active = peer_state_ == peer_state::up && peer_.role == role::active;
    if (role_ == role::active) {
        if (peer_active && peer_wins()) {
            change(now, role::passive, peer_label() + " is ACTIVE too and wins (" + ranking() + ")",
                   out);
        } else if (peer_active && !both_active_noticed_) {
            both_active_noticed_ = true;
            out.notices.push_back(peer_label() + " is ACTIVE too; this node wins (" + ranking() +
                                  ") and stays ACTIVE");
        } else if (!peer_active) {
            both_active_noticed_ = false;
        }
        return;
    }
    const bool from_fault = role_ == role::fault;
    std::optional<std::string> reason = takeover_reason(now, !from_fault);
    if (!reason && !from_fault) {
        return;
    }
    if (last_transition_ && now - *last_transition_ < hold_down_) {
        return;
    }
    if (reason) {
        change(now, role::active, std::move(*reason), out);
    } else {
        change(now, role::passive, "this node is healthy again", out);
    }
}

std::optional<std::string> controller::takeover_reason(time_point now, bool may_preempt) {
    if (peer_state_ == peer_state::down) {
        preempt_since_.reset();
        return peer_label() + " is down (" + std::to_string(bad_streak_) +
               " answers in a row missed or unhealthy, last: " + last_problem_ + ")";
    }
    if (peer_state_ == peer_state::unknown) {
        preempt_since_.reset();
        return std::nullopt;
    }
    if (peer_.role == role::active) {
        if (!preempt_ || peer_wins() || !may_preempt) {
            preempt_since_.reset();
            return std::nullopt;
        }
        if (!preempt_since_) {
            preempt_since_ = now;
        }
        if (now - *preempt_since_ < preempt_delay_) {
            return std::nullopt;
        }
        return "preempting " + peer_label() + " (" + ranking() + ") after " +
               seconds(std::chrono::duration_cast<config::duration>(now - *preempt_since_)) +
               " healthy with the peer up";
    }
    preempt_since_.reset();
    if (peer_wins()) {
        return std::nullopt;
    }
    return peer_label() + " is " + std::string(role_name(peer_.role)) + " and this node wins (" +
           ranking() + ")";
}

void controller::change(time_point now, role to, std::string reason, output& out) {
    out.transition = transition{role_, to, std::move(reason)};
    entered_from_ = role_;
    role_ = to;
    last_transition_ = now;
    preempt_since_.reset();
    both_active_noticed_ = false;
    assign_.retry_at.reset();
    on_active_.retry_at.reset();
    next_check_.reset();
    switch (to) {
    case role::active:
        if (assign_.configured) {
            issue(assign_, action{.what = action::kind::assign_reserved_ip}, 1, out);
        }
        if (on_active_.configured) {
            issue(on_active_, action{.what = action::kind::run_hook, .hook = hook::on_active}, 1,
                  out);
        }
        break;
    case role::passive:
    case role::fault:
        if (to == role::passive ? on_passive_ : on_fault_) {
            out.actions.push_back(
                action{.what = action::kind::run_hook,
                       .hook = to == role::passive ? hook::on_passive : hook::on_fault,
                       .previous = entered_from_,
                       .id = ++next_id_});
        }
        break;
    }
}

// A duty still running from an earlier ACTIVE period is superseded: its id no longer matches,
// so its result is ignored when it comes.
void controller::issue(duty& d, action a, unsigned attempt, output& out) {
    a.previous = entered_from_;
    a.attempt = attempt;
    a.id = ++next_id_;
    d.in_flight = true;
    d.attempt = attempt;
    d.id = a.id;
    d.retry_at.reset();
    out.actions.push_back(a);
}

void controller::issue_due(time_point now, output& out) {
    if (!assign_.in_flight && assign_.retry_at && now >= *assign_.retry_at) {
        issue(assign_, action{.what = action::kind::assign_reserved_ip}, assign_.attempt + 1, out);
    }
    if (!on_active_.in_flight && on_active_.retry_at && now >= *on_active_.retry_at) {
        issue(on_active_, action{.what = action::kind::run_hook, .hook = hook::on_active},
              on_active_.attempt + 1, out);
    }
    if (next_check_ && now >= *next_check_ && !check_in_flight_ && !assign_.in_flight &&
        !assign_.retry_at) {
        next_check_.reset();
        check_in_flight_ = true;
        check_id_ = ++next_id_;
        out.actions.push_back(action{
            .what = action::kind::check_reserved_ip, .previous = entered_from_, .id = check_id_});
    }
}

output controller::action_done(time_point now, const action& done, outcome result,
                               std::string_view detail) {
    output out;
    duty* d = nullptr;
    if (done.what == action::kind::assign_reserved_ip) {
        d = &assign_;
    } else if (done.what == action::kind::run_hook && done.hook == hook::on_active) {
        d = &on_active_;
    }
    if (d == nullptr || done.id != d->id || !d->in_flight) {
        return out;
    }
    d->in_flight = false;
    if (result == outcome::ok) {
        if (d == &assign_ && role_ == role::active) {
            next_check_ = now + recheck_;
        }
        return out;
    }
    if (result == outcome::refused) {
        latched_ = true;
        if (role_ != role::fault) {
            change(now, role::fault,
                   describe(done) + " was refused (" + std::string(detail) +
                       "); retrying cannot help, so this node stays in FAULT until it is "
                       "restarted",
                   out);
        }
        return out;
    }
    if (role_ != role::active) {
        return out;
    }
    const config::duration delay = retry_delay(d->attempt);
    d->retry_at = now + delay;
    out.notices.push_back(describe(done) + " failed (" + std::string(detail) + "); retrying in " +
                          seconds(delay) + " while ACTIVE");
    return out;
}

bool controller::still_wanted(const action& a) const {
    switch (a.what) {
    case action::kind::assign_reserved_ip:
        return role_ == role::active && assign_.in_flight && a.id == assign_.id;
    case action::kind::check_reserved_ip:
        return role_ == role::active && check_in_flight_ && a.id == check_id_;
    case action::kind::run_hook:
        switch (a.hook) {
        case hook::on_active:
            return role_ == role::active && on_active_.in_flight && a.id == on_active_.id;
        case hook::on_passive:
            return role_ == role::passive;
        case hook::on_fault:
            return role_ == role::fault;
        }
    }
    return false;
}

output controller::holder_seen(time_point now, const action& check, holder where) {
    output out;
    if (!check_in_flight_ || check.id != check_id_) {
        return out;
    }
    check_in_flight_ = false;
    if (role_ != role::active) {
        return out;
    }
    next_check_ = now + recheck_;
    if (where == holder::here) {
        assign_.retry_at.reset();
        return out;
    }
    if (where == holder::unknown || assign_.in_flight) {
        return out;
    }
    // The peer does not answer, but it outranks this node and was last seen well: it may be
    // alive behind a partition and holding the IP after re-asserting it. Taking it back would
    // move the IP at every recheck of either node, so the winner keeps it. A dead peer does
    // not move the IP back after this node's takeover, which assigned it here; an IP on no
    // droplet, or a peer that answers FAULT or unhealthy, is no such case.
    if (where == holder::elsewhere && peer_silent_ && !peer_.node.empty() && peer_wins()) {
        if (!left_to_peer_noticed_) {
            out.notices.push_back("the reserved IP is not on this node; " + peer_label() +
                                  " does not answer but outranks this node (" + ranking() +
                                  "): leaving the IP where it is");
            left_to_peer_noticed_ = true;
        }
        return out;
    }
    left_to_peer_noticed_ = false;
    std::string reason = "the reserved IP is not on this node, and ";
    if (peer_state_ == peer_state::up && peer_.role == role::active) {
        // Never the loser here: an ACTIVE node that loses to an ACTIVE peer yielded at the
        // tick that saw it, and nothing about the peer changes between ticks.
        reason += peer_label() + " is ACTIVE too but this node wins (" + ranking() + ")";
    } else {
        reason += peer_label() + " is not a healthy ACTIVE node";
    }
    out.notices.push_back("assigning the reserved IP again: " + reason);
    issue(assign_, action{.what = action::kind::assign_reserved_ip}, 1, out);
    return out;
}

bool controller::peer_wins() const {
    if (peer_.priority != priority_) {
        return peer_.priority > priority_;
    }
    return peer_.node < node_;
}

// From the winner's side: "priority 150 over 100", "priority 100 both, lb-1 before lb-2".
std::string controller::ranking() const {
    const bool peer_first = peer_wins();
    const unsigned high = peer_first ? peer_.priority : priority_;
    const unsigned low = peer_first ? priority_ : peer_.priority;
    if (high != low) {
        return "priority " + std::to_string(high) + " over " + std::to_string(low);
    }
    const std::string& first = peer_first ? peer_.node : node_;
    const std::string& second = peer_first ? node_ : peer_.node;
    return "priority " + std::to_string(high) + " both, " + first + " before " + second;
}

std::string controller::peer_label() const {
    return peer_.node.empty() ? "the peer" : "peer " + peer_.node;
}

} // namespace fulcrum::failover
