#include "health/checker.hpp"

#include "base/asio.hpp"
#include "base/log.hpp"
#include "health/probe.hpp"
#include "health/tracker.hpp"
#include "sli/windows.hpp"
#include "tls/client_context.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <prometheus/client_metric.h>
#include <prometheus/metric_family.h>
#include <prometheus/metric_type.h>

#include <algorithm>
#include <array>
#include <exception>
#include <limits>
#include <optional>
#include <random>
#include <string_view>
#include <utility>
#include <vector>

namespace fulcrum::health {

namespace asio = boost::asio;
using base::with;
using boost::system::error_code;
using steady = std::chrono::steady_clock;
using wall = std::chrono::system_clock;

namespace {

using detail::failure;
using detail::failure_reasons;
using detail::milliseconds;
using detail::outcome;

constexpr std::array<double, 12> duration_bounds{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                 0.1,   0.25,   0.5,   1,    2.5,   5};

void rethrow(std::exception_ptr e) {
    if (e) {
        std::rethrow_exception(e);
    }
}

} // namespace

namespace detail {

// A server's checks and their record, on the control thread.
struct checked_server : probe_target {
    checked_server(asio::io_context& control, std::size_t backend_index, std::size_t server_index,
                   const config::backend& backend, const config::server& server,
                   std::shared_ptr<const tls::client_context> tls)
        : probe_target(backend, server, std::move(tls)), backend(backend_index),
          index(server_index), backend_name(backend.name), server_name(server.name),
          rise_fall(check.rise, check.fall),
          last_check(check.enabled ? "not checked yet" : "checks disabled"),
          last_change(wall::now()), timer(control) {}

    std::size_t backend;
    std::size_t index;
    std::string backend_name;
    std::string server_name;
    tracker rise_fall;
    std::string last_check;
    wall::time_point last_change;
    // A server without checks that passive observation took DOWN is held out of rotation for
    // rise x interval, then tried again.
    bool held_down = false;
    steady::time_point held_since;
    asio::steady_timer timer;
    std::shared_ptr<connection> in_flight;

    // Metrics, read by Collect() on the same thread.
    std::array<std::uint64_t, duration_bounds.size()> duration_counts{}; // not cumulative
    std::uint64_t checks = 0;
    double duration_sum = 0;
    std::array<std::uint64_t, failure_reasons.size()> failures{};
    std::uint64_t ups = 0;
    std::uint64_t downs = 0; // by checks; passive ones are counted by server_states
};

struct checker_state {
    checker_state(asio::io_context& control_context, const config::config& cfg,
                  server_states& server_states, jitter_source jitter_source)
        : control(control_context), states(server_states), jitter(std::move(jitter_source)),
          tick(control_context) {
        std::size_t count = 0;
        for (const auto& backend : cfg.backends) {
            count += backend.servers.size();
        }
        // Reserved, so that a coroutine's reference to its server stays valid.
        servers.reserve(count);
        const auto tls = tls::client_contexts(cfg);
        for (std::size_t b = 0; b < cfg.backends.size(); ++b) {
            const auto& backend = cfg.backends[b];
            backend_names.push_back(backend.name);
            first.push_back(servers.size());
            for (std::size_t s = 0; s < backend.servers.size(); ++s) {
                servers.emplace_back(control, b, s, backend, backend.servers[s], tls[b]);
            }
        }
        first.push_back(servers.size());
        availability.resize(cfg.backends.size());
    }

    void absorb_passive(checked_server& s) {
        if (!states.take_passive_down(s.backend, s.index)) {
            return;
        }
        s.rise_fall.force_down();
        // A check may have brought it UP between the worker's observation and now.
        states.set_up(s.backend, s.index, false);
        s.last_change = wall::now();
        if (!s.check.enabled) {
            s.held_down = true;
            s.held_since = steady::now();
        }
    }

    void record(checked_server& s, const outcome& result) {
        absorb_passive(s);
        if (result.reason == failure::own) {
            // Says nothing about the server: no pass, no failure, no duration.
            s.last_check = result.text;
            return;
        }
        const double seconds = std::chrono::duration<double>(result.elapsed).count();
        ++s.checks;
        s.duration_sum += seconds;
        const auto bound =
            std::lower_bound(duration_bounds.begin(), duration_bounds.end(), seconds);
        if (bound != duration_bounds.end()) {
            ++s.duration_counts[static_cast<std::size_t>(bound - duration_bounds.begin())];
        }
        if (!result.ok()) {
            ++s.failures[static_cast<std::size_t>(result.reason) - 1];
        }
        s.last_check = result.text;

        const bool first_result = !s.rise_fall.confirmed();
        const auto change = s.rise_fall.record(result.ok());
        if (change == tracker::change::none) {
            return;
        }
        const bool up = change == tracker::change::went_up;
        std::string line = "server " + s.label + (up ? " UP: " : " DOWN: ");
        if (first_result) {
            line += "first check failed (" + result.text + ")";
        } else {
            const unsigned n = s.rise_fall.streak();
            line += std::to_string(n) + " consecutive check" + (n == 1 ? "" : "s") +
                    (up ? " passed" : " failed") + " (last: " + result.text + ")";
        }
        // Logged before the workers see the change, so that whoever sees the server DOWN (a
        // person at /admin/servers, a test) finds its reason in the log already.
        base::log(line);
        states.set_up(s.backend, s.index, up);
        s.last_change = wall::now();
        ++(up ? s.ups : s.downs);
    }

    void on_tick() {
        const auto now = steady::now();
        for (auto& s : servers) {
            absorb_passive(s);
            const auto hold = s.check.interval * s.check.rise;
            if (s.held_down && now - s.held_since >= hold) {
                s.held_down = false;
                states.set_up(s.backend, s.index, true);
                s.last_change = wall::now();
                ++s.ups;
                base::log("server " + s.label + " UP: back in rotation after " +
                          milliseconds(hold) + " (passive DOWN; checks disabled)");
            }
        }
        const auto wall_now = wall::now();
        for (std::size_t b = 0; b < availability.size(); ++b) {
            std::uint64_t up = 0;
            for (std::size_t i = first[b]; i < first[b + 1]; ++i) {
                up += states.up(b, servers[i].index) ? 1 : 0;
            }
            availability[b].add(wall_now, up, first[b + 1] - first[b]);
        }
    }

    void stop() {
        stopped = true;
        tick.cancel();
        for (auto& s : servers) {
            s.timer.cancel();
            if (s.in_flight) {
                s.in_flight->abort();
            }
        }
    }

    const checked_server& server(std::size_t backend, std::size_t index) const {
        return servers[first[backend] + index];
    }

    asio::io_context& control;
    server_states& states;
    jitter_source jitter;
    std::vector<std::string> backend_names;
    std::vector<std::size_t> first; // per backend, its first server in `servers`; then the end
    std::vector<checked_server> servers;
    std::vector<sli::window_counter> availability; // per backend
    asio::steady_timer tick;
    bool started = false;
    bool stopped = false;
};

} // namespace detail

namespace {

using detail::checked_server;
using detail::checker_state;

asio::awaitable<void> run_checks(std::shared_ptr<checker_state> self, checked_server& s) {
    auto next = steady::now() + self->jitter(s.check.interval);
    for (;;) {
        error_code ec;
        s.timer.expires_at(next);
        co_await s.timer.async_wait(with(ec));
        if (self->stopped) {
            co_return;
        }
        const outcome result = co_await detail::probe(s, s.in_flight);
        if (self->stopped) {
            co_return;
        }
        self->record(s, result);
        // Fixed cadence from the first check; after a stall of the control thread, no burst of
        // checks to catch up.
        next = std::max(next + s.check.interval, steady::now());
    }
}

asio::awaitable<void> run_tick(std::shared_ptr<checker_state> self) {
    auto next = steady::now();
    for (;;) {
        error_code ec;
        next += std::chrono::seconds(1);
        self->tick.expires_at(next);
        co_await self->tick.async_wait(with(ec));
        if (self->stopped) {
            co_return;
        }
        // Late ticks (a stalled control thread) still each add one second of every server, so
        // that no server-second is lost.
        self->on_tick();
    }
}

prometheus::ClientMetric metric(std::vector<prometheus::ClientMetric::Label> labels) {
    prometheus::ClientMetric m;
    m.label = std::move(labels);
    return m;
}

class checker_metrics : public prometheus::Collectable {
public:
    explicit checker_metrics(std::shared_ptr<const checker_state> state)
        : state_(std::move(state)) {}

    std::vector<prometheus::MetricFamily> Collect() const override {
        using prometheus::MetricType;
        prometheus::MetricFamily up{"fulcrum_server_up",
                                    "1 when the server is UP (checks and passive observation), "
                                    "0 when DOWN.",
                                    MetricType::Gauge,
                                    {}};
        prometheus::MetricFamily admin{"fulcrum_server_admin_state",
                                       "1 for the server's current admin state (ready, drain, "
                                       "maint), 0 for the others.",
                                       MetricType::Gauge,
                                       {}};
        prometheus::MetricFamily durations{"fulcrum_server_check_duration_seconds",
                                           "Time an active health check took, failed or not.",
                                           MetricType::Histogram,
                                           {}};
        prometheus::MetricFamily failures{"fulcrum_server_check_failures_total",
                                          "Failed active health checks, by reason.",
                                          MetricType::Counter,
                                          {}};
        prometheus::MetricFamily transitions{
            "fulcrum_server_transitions_total",
            "Times the server went UP or DOWN, by active checks or passive observation.",
            MetricType::Counter,
            {}};
        prometheus::MetricFamily availability{
            "fulcrum_sli_backend_availability_ratio",
            "Data-plane SLI: UP server-seconds over server-seconds of the backend, per window; "
            "no sample for a window without data.",
            MetricType::Gauge,
            {}};

        const auto& states = state_->states;
        for (const auto& s : state_->servers) {
            const auto& b = s.backend_name;
            const auto& n = s.server_name;
            auto is_up = metric({{"backend", b}, {"server", n}});
            is_up.gauge.value = states.up(s.backend, s.index) ? 1 : 0;
            up.metric.push_back(std::move(is_up));

            const auto current = states.admin(s.backend, s.index);
            for (admin_state a : {admin_state::ready, admin_state::drain, admin_state::maint}) {
                auto state =
                    metric({{"backend", b}, {"server", n}, {"state", std::string(to_string(a))}});
                state.gauge.value = a == current ? 1 : 0;
                admin.metric.push_back(std::move(state));
            }

            if (s.check.enabled) {
                auto h = metric({{"backend", b}, {"server", n}});
                std::uint64_t cumulative = 0;
                for (std::size_t i = 0; i < duration_bounds.size(); ++i) {
                    cumulative += s.duration_counts[i];
                    h.histogram.bucket.push_back({cumulative, duration_bounds[i]});
                }
                h.histogram.bucket.push_back({s.checks, std::numeric_limits<double>::infinity()});
                h.histogram.sample_count = s.checks;
                h.histogram.sample_sum = s.duration_sum;
                durations.metric.push_back(std::move(h));

                for (std::size_t i = 0; i < failure_reasons.size(); ++i) {
                    auto count = metric({{"backend", b},
                                         {"server", n},
                                         {"reason", std::string(failure_reasons[i])}});
                    count.counter.value = static_cast<double>(s.failures[i]);
                    failures.metric.push_back(std::move(count));
                }
            }

            auto to_up = metric({{"backend", b}, {"server", n}, {"to", "up"}});
            to_up.counter.value = static_cast<double>(s.ups);
            transitions.metric.push_back(std::move(to_up));
            auto to_down = metric({{"backend", b}, {"server", n}, {"to", "down"}});
            to_down.counter.value =
                static_cast<double>(s.downs + states.passive_downs(s.backend, s.index));
            transitions.metric.push_back(std::move(to_down));
        }

        const auto now = wall::now();
        for (std::size_t b = 0; b < state_->availability.size(); ++b) {
            for (sli::window w : sli::all_windows) {
                const auto counts = state_->availability[b].over(w, now);
                if (counts.total == 0) {
                    continue;
                }
                auto ratio = metric(
                    {{"backend", state_->backend_names[b]}, {"window", std::string(sli::name(w))}});
                ratio.gauge.value =
                    static_cast<double>(counts.good) / static_cast<double>(counts.total);
                availability.metric.push_back(std::move(ratio));
            }
        }
        return {std::move(up),       std::move(admin),       std::move(durations),
                std::move(failures), std::move(transitions), std::move(availability)};
    }

private:
    std::shared_ptr<const checker_state> state_;
};

} // namespace

jitter_source uniform_jitter(std::uint64_t seed) {
    auto engine = std::make_shared<std::mt19937_64>(seed);
    return [engine](config::duration interval) {
        std::uniform_int_distribution<config::duration::rep> pick(
            0, std::max<config::duration::rep>(interval.count() - 1, 0));
        return config::duration(pick(*engine));
    };
}

checker::checker(asio::io_context& control, const config::config& cfg, server_states& states)
    : checker(control, cfg, states, uniform_jitter(std::random_device{}())) {}

checker::checker(asio::io_context& control, const config::config& cfg, server_states& states,
                 jitter_source jitter)
    : state_(std::make_shared<checker_state>(control, cfg, states, std::move(jitter))),
      metrics_(std::make_shared<checker_metrics>(state_)) {}

checker::~checker() {
    stop();
}

void checker::start() {
    if (state_->started) {
        return;
    }
    state_->started = true;
    for (auto& s : state_->servers) {
        if (s.check.enabled) {
            asio::co_spawn(state_->control, run_checks(state_, s), rethrow);
        }
    }
    asio::co_spawn(state_->control, run_tick(state_), rethrow);
}

void checker::stop() {
    state_->stop();
}

checker::report checker::server_report(std::size_t backend, std::size_t server) const {
    const auto& s = state_->server(backend, server);
    return {s.check.enabled, state_->states.up(backend, server), s.last_check, s.last_change};
}

sli::window_counter& checker::availability(std::size_t backend) {
    return state_->availability[backend];
}

std::shared_ptr<prometheus::Collectable> checker::metrics() const {
    return metrics_;
}

namespace {

// How the log line names a run of failures of this cause, and the last one of a mixed run.
std::pair<std::string_view, std::string_view> describe(transition_cause cause) {
    switch (cause) {
    case transition_cause::passive_connect:
        return {"connect failure", ""};
    case transition_cause::passive_5xx:
        return {"5xx response", ""};
    case transition_cause::passive_closed:
        return {"gateway error", ", the last a connection closed early"};
    case transition_cause::passive_invalid:
        return {"gateway error", ", the last an invalid response"};
    case transition_cause::passive_timed_out:
        return {"gateway error", ", the last a response timeout"};
    }
    return {"failure", ""};
}

} // namespace

void log_passive_down(const config::config& cfg, std::size_t backend, std::size_t server,
                      transition_cause cause, unsigned count) {
    const auto& b = cfg.backends[backend];
    const auto [what, last] = describe(cause);
    base::log("server " + b.name + "/" + b.servers[server].name +
              " DOWN: " + std::to_string(count) + " consecutive " + std::string(what) +
              (count == 1 ? "" : "s") + std::string(last) + " (passive)");
}

} // namespace fulcrum::health
