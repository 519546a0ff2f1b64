#include "app/failover_agent.hpp"

#include "base/asio.hpp"
#include "base/log.hpp"
#include "failover/hook_runner.hpp"
#include "sli/metric.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <prometheus/metric_family.h>

#include <algorithm>

namespace fulcrum {

namespace asio = boost::asio;
using failover::role;

namespace {

// The agent's lines say whose they are: "fulcrum: failover: ...".
void log_line(const std::string& line) {
    base::log("failover: " + line);
}

constexpr std::array<role, 3> roles{role::active, role::passive, role::fault};
constexpr std::array<failover::hook, 3> hooks{failover::hook::on_active, failover::hook::on_passive,
                                              failover::hook::on_fault};

std::string lower(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

} // namespace

class failover_agent::collectable : public prometheus::Collectable {
public:
    explicit collectable(const failover_agent& agent) : agent_(agent) {}

    std::vector<prometheus::MetricFamily> Collect() const override {
        using prometheus::MetricType;
        auto role_family = sli::metric_family(
            "fulcrum_failover_role", "1 for this node's failover role.", MetricType::Gauge);
        auto transitions = sli::metric_family("fulcrum_failover_transitions_total",
                                              "Role changes of this node.", MetricType::Counter);
        auto peer = sli::metric_family("fulcrum_failover_peer_up",
                                       "1 while the peer answers healthy (rise/fall applied).",
                                       MetricType::Gauge);
        auto hook_runs = sli::metric_family("fulcrum_failover_hook_runs_total",
                                            "Hooks run, by how they ended.", MetricType::Counter);
        const auto current = agent_.controller_.current_role();
        for (const auto r : roles) {
            role_family.metric.push_back(
                sli::gauge_sample({{"role", lower(role_name(r))}}, r == current ? 1 : 0));
            for (const auto to : roles) {
                if (r != to) {
                    const auto it = agent_.transitions_.find({r, to});
                    transitions.metric.push_back(sli::counter_sample(
                        {{"from", lower(role_name(r))}, {"to", lower(role_name(to))}},
                        it == agent_.transitions_.end() ? 0 : it->second));
                }
            }
        }
        peer.metric.push_back(sli::gauge_sample({}, agent_.controller_.peer_up() ? 1 : 0));
        for (const auto h : hooks) {
            for (const bool ok : {true, false}) {
                const auto it = agent_.hook_runs_.find({h, ok});
                hook_runs.metric.push_back(sli::counter_sample(
                    {{"hook", std::string(hook_name(h))}, {"result", ok ? "ok" : "failed"}},
                    it == agent_.hook_runs_.end() ? 0 : it->second));
            }
        }
        std::vector<prometheus::MetricFamily> out{std::move(role_family), std::move(transitions),
                                                  std::move(peer), std::move(hook_runs)};
        if (agent_.holder_is_self_) {
            auto holder = sli::metric_family(
                "fulcrum_reserved_ip_holder_is_self",
                "1 when the DigitalOcean API last said the reserved IP is on this droplet.",
                MetricType::Gauge);
            holder.metric.push_back(sli::gauge_sample({}, *agent_.holder_is_self_ ? 1 : 0));
            out.push_back(std::move(holder));
        }
        return out;
    }

private:
    const failover_agent& agent_;
};

failover_agent::failover_agent(asio::io_context& control, const config::failover& settings,
                               std::function<node_health()> self)
    : control_(control), settings_(settings), self_(std::move(self)), controller_(settings),
      peer_client_({.ca_file = {}, .max_body_bytes = 64 * 1024}), tick_timer_(control),
      queue_signal_(control), metrics_(std::make_shared<collectable>(*this)) {
    if (settings.reserved_ip) {
        reserved_ip_ = std::make_unique<failover::reserved_ip_client>(
            failover::settings_from(*settings.reserved_ip), log_line);
    }
}

void failover_agent::start() {
    log_line("node " + settings_.node + ", priority " + std::to_string(settings_.priority) +
             ", PASSIVE; watching peer " + settings_.peer.to_string());
    // A failover loop that ended on an exception would leave the node in its role for good,
    // silently: the exception leaves control.run() instead, and fulcrum exits with it.
    const auto rethrow = [](std::exception_ptr e) {
        if (e) {
            std::rethrow_exception(e);
        }
    };
    asio::co_spawn(control_, watch(), rethrow);
    asio::co_spawn(control_, work(), rethrow);
}

void failover_agent::stop() {
    if (running_) {
        log_line("stopping: " + failover::describe(*running_) + " is abandoned" +
                 (running_->what == failover::action::kind::run_hook
                      ? " (its process group is killed)"
                      : ""));
    }
    stopped_ = true;
    tick_timer_.cancel();
    queue_signal_.cancel();
}

std::shared_ptr<prometheus::Collectable> failover_agent::metrics() const {
    return metrics_;
}

failover_status failover_agent::status() const {
    return {settings_.node, std::string(role_name(controller_.current_role())), settings_.priority};
}

asio::awaitable<void> failover_agent::watch() {
    auto next = std::chrono::steady_clock::now();
    while (!stopped_) {
        // After a stall of the control thread the next tick is one interval away, not several
        // at once: `fall` missed answers must take `fall` intervals.
        next = std::max(next + settings_.interval,
                        std::chrono::steady_clock::now() + settings_.interval / 2);
        const auto seen = co_await observe();
        if (stopped_) {
            break;
        }
        handle(controller_.tick(std::chrono::steady_clock::now(), seen));
        tick_timer_.expires_at(next);
        boost::system::error_code ec;
        co_await tick_timer_.async_wait(base::with(ec));
    }
}

asio::awaitable<failover::observation> failover_agent::observe() {
    failover::observation seen;
    const auto self = self_();
    seen.self_healthy = self.healthy();
    if (!seen.self_healthy) {
        seen.self_problem = summary(self);
    }
    http::http_request request;
    request.url = "http://" + settings_.peer.to_string() + "/healthz";
    // An answer slower than most of an interval is as good as none.
    request.timeout = std::max(config::duration(50), settings_.interval * 4 / 5);
    const auto answer = co_await peer_client_.send(std::move(request));
    if (!answer.ok()) {
        seen.peer_problem = answer.error;
        co_return seen;
    }
    const auto peer = parse_node_health(answer.response.body);
    const auto peer_role =
        peer && peer->failover ? failover::parse_role(peer->failover->role) : std::nullopt;
    if (!peer_role) {
        seen.peer_problem = "answered " + std::to_string(answer.response.status) +
                            " without a failover health report";
        co_return seen;
    }
    seen.peer = failover::peer_answer{peer->healthy(), *peer_role, peer->failover->priority,
                                      peer->failover->node};
    co_return seen;
}

void failover_agent::handle(failover::output out) {
    if (out.transition) {
        const auto& t = *out.transition;
        ++transitions_[{t.from, t.to}];
        log_line(std::string(role_name(t.from)) + " -> " + std::string(role_name(t.to)) + ": " +
                 t.reason);
    }
    for (const auto& notice : out.notices) {
        log_line(notice);
    }
    if (!out.actions.empty()) {
        queue_.insert(queue_.end(), out.actions.begin(), out.actions.end());
        queue_signal_.cancel();
    }
}

// One action at a time, in the order the controller gave them, so that the hooks of two
// transitions never overlap and the IP is assigned before on_active runs.
asio::awaitable<void> failover_agent::work() {
    while (!stopped_) {
        if (queue_.empty()) {
            queue_signal_.expires_at(std::chrono::steady_clock::time_point::max());
            boost::system::error_code ec;
            co_await queue_signal_.async_wait(base::with(ec));
            continue;
        }
        const auto next = queue_.front();
        queue_.pop_front();
        if (!controller_.still_wanted(next)) {
            log_line("skipping " + failover::describe(next) + ": the role has changed since");
            const auto now = std::chrono::steady_clock::now();
            handle(next.what == failover::action::kind::check_reserved_ip
                       ? controller_.holder_seen(now, next, failover::holder::unknown)
                       : controller_.action_done(now, next, failover::outcome::failed, "skipped"));
            continue;
        }
        running_ = next;
        auto out = co_await run(next);
        running_.reset();
        if (!stopped_) {
            handle(std::move(out));
        }
    }
}

asio::awaitable<std::optional<std::int64_t>> failover_agent::this_droplet() {
    if (!droplet_id_) {
        const auto found = co_await reserved_ip_->this_droplet();
        if (found.ok()) {
            droplet_id_ = found.droplet_id;
        } else {
            log_line("this droplet's id: " + found.reason);
        }
    }
    co_return droplet_id_;
}

asio::awaitable<failover::output> failover_agent::run(const failover::action& a) {
    using kind = failover::action::kind;
    const auto now = [] { return std::chrono::steady_clock::now(); };
    if (a.what == kind::run_hook) {
        const auto result = co_await failover::run_hook(failover::make_hook_request(settings_, a));
        ++hook_runs_[{a.hook, result.ok()}];
        co_return controller_.action_done(
            now(), a, result.ok() ? failover::outcome::ok : failover::outcome::failed, result.text);
    }
    const auto& ip = settings_.reserved_ip->address;
    const auto self = co_await this_droplet();
    if (a.what == kind::check_reserved_ip) {
        auto where = failover::holder::unknown;
        if (self) {
            const auto held = co_await reserved_ip_->holder(ip);
            if (held.ok()) {
                where = !held.droplet_id            ? failover::holder::unassigned
                        : *held.droplet_id == *self ? failover::holder::here
                                                    : failover::holder::elsewhere;
                holder_is_self_ = where == failover::holder::here;
            } else {
                log_line("reserved IP " + ip + ": " + held.reason);
            }
        }
        co_return controller_.holder_seen(now(), a, where);
    }
    if (!self) {
        co_return controller_.action_done(now(), a, failover::outcome::failed,
                                          "this droplet's id is unknown");
    }
    const auto assigned = co_await reserved_ip_->assign(ip, *self);
    if (assigned.ok()) {
        holder_is_self_ = true;
        co_return controller_.action_done(now(), a, failover::outcome::ok,
                                          assigned.moved ? "assigned" : "already here");
    }
    log_line("reserved IP " + ip + ": " + assigned.reason);
    co_return controller_.action_done(now(), a,
                                      assigned.result == failover::api_result::outcome::unauthorized
                                          ? failover::outcome::refused
                                          : failover::outcome::failed,
                                      assigned.reason);
}

} // namespace fulcrum
