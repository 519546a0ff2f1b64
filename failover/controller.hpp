#pragma once

#include "config/config.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// The role state machine of one node of an active-passive pair. It does no I/O and reads no
// clock: the caller asks the peer, judges its own health, runs the actions and passes the time
// in, so that tests drive it tick by tick.
//
// Roles. A node starts PASSIVE (no hook runs for the initial role). ACTIVE is the node the
// reserved IP belongs on; FAULT is a node that cannot serve (unhealthy) or whose action was
// refused for good.
//
// Inputs, once per `interval`: whether this node is healthy (its frontends listen and each has
// a server UP) and the peer's /healthz answer, or none. An answer is good when the peer says it
// is healthy and not in FAULT; `rise` good answers in a row make the peer up, `fall` bad ones
// (missed, unhealthy or FAULT) make it down. Until either happens the peer is unknown.
//
// Rules, evaluated each tick on a healthy node:
//  - Ranking: the higher priority wins; equal priorities are broken by node name, the one that
//    sorts first (byte order) winning. Both nodes compute the same winner.
//  - PASSIVE takes over (-> ACTIVE) when the peer is down, or when the peer is up, not ACTIVE,
//    and this node wins. With an unknown peer it waits.
//  - Preemption: a PASSIVE node that wins over an up, ACTIVE peer takes over only with
//    `preempt`, once it has been healthy and seen the peer so for `preempt_delay`.
//  - Split brain: an ACTIVE node that sees an up, ACTIVE peer that wins becomes PASSIVE at once
//    (also during hold-down: two ACTIVE nodes is the worse state, and the rule cannot flap since
//    both sides agree on the winner). The winner stays ACTIVE. Preemption ends this way too: the
//    preempting node becomes ACTIVE, the other yields.
//  - Unhealthy -> FAULT at once, from any role. A healthy FAULT node leaves after hold-down: to
//    ACTIVE if a PASSIVE node would take over at that moment (preemption aside), else PASSIVE.
//  - Hold-down: after a transition, none for `hold_down` except into FAULT and the split-brain
//    yield. A peer that comes and goes moves the IP at most once per hold-down.
//
// Actions (what the caller runs, in the order given, one after another):
//  - On becoming ACTIVE: assign the reserved IP (with reserved_ip), then the on_active hook.
//    On PASSIVE and FAULT: their hooks. Nothing releases the IP: the next ACTIVE node takes it.
//  - A failed assignment or on_active hook leaves the node ACTIVE and is retried after 1 s,
//    2 s, 4 s ... at most 30 s apart, as long as the node stays ACTIVE: this node is healthy and
//    the right one for the role, and handing the role over for an API or hook failure would only
//    make the peer fail the same way (and the IP move twice). An outcome::refused (the API
//    refused the token: retrying cannot help) puts the node in FAULT until it is restarted, so
//    that the peer takes over. on_passive and on_fault failures are logged, not retried.
//  - While ACTIVE with reserved_ip, every `recheck` after the last assignment or check: check
//    who holds the IP. Not here, and the peer not an up ACTIVE node -> assign it again (a healed
//    partition must not leave the IP on the wrong node). If the peer is up and ACTIVE, the
//    split-brain ranking decides: the winner assigns, the loser yields at the next tick.
namespace fulcrum::failover {

using time_point = std::chrono::steady_clock::time_point;

enum class role : std::uint8_t { active, passive, fault };
// "ACTIVE", "PASSIVE", "FAULT": in logs, /healthz and hook environments.
std::string_view role_name(role r);
// The inverse of role_name, exactly; nullopt for anything else.
std::optional<role> parse_role(std::string_view name);

enum class hook : std::uint8_t { on_active, on_passive, on_fault };
std::string_view hook_name(hook h); // "on_active", ...

// The peer's /healthz answer.
struct peer_answer {
    bool healthy = false;
    enum role role = role::passive;
    unsigned priority = 0;
    std::string node;
};

// What the caller saw in one interval.
struct observation {
    bool self_healthy = false;
    std::string self_problem;        // why not, in words, when !self_healthy
    std::optional<peer_answer> peer; // nullopt: no usable answer
    std::string peer_problem;        // why not, when !peer: "timed out after 1000ms", ...
};

// Who holds the reserved IP, as the API said.
enum class holder : std::uint8_t { here, elsewhere, unassigned, unknown };

struct action {
    enum class kind : std::uint8_t { run_hook, assign_reserved_ip, check_reserved_ip };
    kind what = kind::run_hook;
    enum hook hook = hook::on_active; // run_hook
    // The role this node had before the transition the action is for (FULCRUM_PREVIOUS_ROLE);
    // the new role is the hook's.
    role previous = role::passive;
    unsigned attempt = 1; // > 1: a retry after a failure
    std::uint64_t id = 0; // hand the action back as it is to action_done / holder_seen
    bool operator==(const action&) const = default;
};
// "on_active hook", "reserved IP assignment (attempt 2)", "reserved IP check".
std::string describe(const action& a);

enum class outcome : std::uint8_t {
    ok,
    failed,  // worth retrying: a hook's exit status or timeout, an API or network error
    refused, // retrying cannot help (the API answered 401 or 403)
};

struct transition {
    role from = role::passive;
    role to = role::passive;
    std::string reason; // in words, for the log line
};

struct output {
    std::optional<struct transition> transition;
    std::vector<action> actions;      // run in this order, after those of earlier calls
    std::vector<std::string> notices; // log lines without the "fulcrum: " prefix
};

class controller {
public:
    explicit controller(const config::failover& settings);

    // Once per interval.
    output tick(time_point now, const observation& seen);
    // A run_hook or assign_reserved_ip action has ended. `detail` says how, for the log.
    output action_done(time_point now, const action& done, outcome result, std::string_view detail);
    // A check_reserved_ip action has ended: unknown when the API could not say.
    output holder_seen(time_point now, const action& check, holder where);

    // Whether an action handed out earlier still fits: its role is still the current one and
    // nothing newer replaced it. The caller skips one that does not (and reports it done as
    // failed, or as holder::unknown) rather than, say, running on_active on a node that has
    // gone to FAULT meanwhile.
    bool still_wanted(const action& a) const;
    role current_role() const { return role_; }
    bool peer_up() const { return peer_state_ == peer_state::up; }

private:
    enum class peer_state : std::uint8_t { unknown, up, down };

    // Something the ACTIVE node must get done, retried until it is.
    struct duty {
        bool configured = false;
        bool in_flight = false;
        unsigned attempt = 0;
        std::uint64_t id = 0;
        std::optional<time_point> retry_at;
    };

    void observe_peer(const observation& seen, output& out);
    void decide(time_point now, output& out);
    std::optional<std::string> takeover_reason(time_point now, bool may_preempt);
    void change(time_point now, role to, std::string reason, output& out);
    void issue(duty& d, action a, unsigned attempt, output& out);
    void issue_due(time_point now, output& out);
    bool peer_wins() const;
    std::string ranking() const;
    std::string peer_label() const;

    std::string node_;
    unsigned priority_;
    bool preempt_;
    config::duration preempt_delay_;
    unsigned fall_;
    unsigned rise_;
    config::duration hold_down_;
    bool reserved_ip_;
    config::duration recheck_;
    bool on_passive_;
    bool on_fault_;

    role role_ = role::passive;
    role entered_from_ = role::passive; // the role before the current one, for hook retries
    bool latched_ = false;              // FAULT for good after a refused action
    std::optional<time_point> last_transition_;
    std::optional<time_point> preempt_since_;

    peer_state peer_state_ = peer_state::unknown;
    unsigned good_streak_ = 0;
    unsigned bad_streak_ = 0;
    peer_answer peer_;         // the last good answer
    std::string last_problem_; // what was wrong with the last bad answer
    bool peer_silent_ = false; // the last answer was missing (not FAULT, not unhealthy)
    bool left_to_peer_noticed_ = false;
    bool both_active_noticed_ = false;
    bool echo_noticed_ = false;

    duty assign_;
    duty on_active_;
    bool check_in_flight_ = false;
    std::uint64_t check_id_ = 0;
    std::optional<time_point> next_check_;
    std::uint64_t next_id_ = 0;
};

} // namespace fulcrum::failover
