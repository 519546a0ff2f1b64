#include "app/admin.hpp"
#include "app/certificates.hpp"
#include "app/failover_agent.hpp"
#include "app/health_command.hpp"
#include "app/reserved_ip_command.hpp"
#include "app/signals.hpp"
#include "app/sli_state.hpp"
#include "base/asio.hpp"
#include "base/log.hpp"
#include "config/config.hpp"
#include "health/checker.hpp"
#include "health/server_states.hpp"
#include "monitoring/rules.hpp"
#include "monitoring/slo_export.hpp"
#include "proxy/engine.hpp"
#include "proxy/runtime.hpp"
#include "sli/exposition.hpp"
#include "sli/meter.hpp"
#include "sli/service_windows.hpp"
#include "sli/slo_exposition.hpp"
#include "tls/check.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

namespace {

namespace asio = boost::asio;
using namespace fulcrum;

constexpr std::string_view usage = R"(usage: fulcrum -c FILE [--check]
       fulcrum health -c FILE [--timeout DURATION]
       fulcrum reserved-ip status|assign -c FILE
       fulcrum rules -c FILE [--job NAME] [--runbook-base URL]
       fulcrum slo export -c FILE --format openslo|sloth [--job NAME]

  -c, --config FILE   the YAML configuration (see docs/configuration.md)
      --check         validate the configuration and exit: 0 when valid, 1 with
                      file:line:col errors otherwise
  -h, --help          this text
      --version       print the version

fulcrum health asks the fulcrum running with FILE (its admin listener) whether this
node is healthy, prints one line and exits 0 healthy, 1 unhealthy or draining,
2 usage or configuration error, 3 not running or no answer within --timeout
(default 2s).

fulcrum reserved-ip asks the DigitalOcean API (failover.reserved_ip in FILE) who
holds the reserved IP (status: exit 0 this droplet, 1 another or none), or assigns
it to this droplet (assign: exit 0 once it is here); 2 usage or configuration
error, 3 the API failed, 4 the API refused the token.

fulcrum rules prints the Prometheus recording and alerting rules for FILE's
services and objectives (deploy/prometheus/README.md): --job is the scrape job
of the fulcrum instances (default fulcrum), --runbook-base where docs/runbooks.md
is published (each alert links to its section).

fulcrum slo export writes the services' SLOs from FILE to stdout, for other SLO
tools: OpenSLO v1 documents or Sloth prometheus/v1 specs (docs/sli.md), their
queries on the series of --job as the rules'; exit 1 when a service name does not
fit the format's names or stdout cannot be written, 2 usage or configuration
error.
)";

struct options {
    // empty: serve (or --check); "health", "reserved-ip", "rules", "slo"
    std::string command;
    std::string action; // reserved-ip: "status" or "assign"; slo: "export"
    std::string config_path;
    monitoring::rules_options rules; // and rules.job for slo export
    bool check = false;
    config::duration timeout{2000};
    std::optional<monitoring::slo_format> format; // slo export
};

// A bad command line: what is wrong, then how to use fulcrum.
int usage_error(const std::string& what) {
    base::log(what);
    std::fputs(usage.data(), stderr);
    return 2;
}

// The command and its action, from argv[1] on; `i` is left at the first option. Returns the
// exit code to leave with, or -1 to go on.
int parse_command(int argc, char** argv, options& out, int& i) {
    if (argc > 1 &&
        (std::string_view(argv[1]) == "health" || std::string_view(argv[1]) == "rules")) {
        out.command = argv[i++];
    } else if (argc > 1 && std::string_view(argv[1]) == "reserved-ip") {
        out.command = argv[i++];
        if (i == argc ||
            (std::string_view(argv[i]) != "status" && std::string_view(argv[i]) != "assign")) {
            return usage_error("reserved-ip needs status or assign");
        }
        out.action = argv[i++];
    } else if (argc > 1 && std::string_view(argv[1]) == "slo") {
        out.command = argv[i++];
        if (i == argc || std::string_view(argv[i]) != "export") {
            return usage_error("slo needs export");
        }
        out.action = argv[i++];
    }
    return -1;
}

// Returns the exit code to leave with, or -1 to go on.
int parse_arguments(int argc, char** argv, options& out) {
    int i = 1;
    if (const int code = parse_command(argc, argv, out, i); code >= 0) {
        return code;
    }
    for (; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "-h" || arg == "--help") {
            std::fputs(usage.data(), stdout);
            return 0;
        }
        if (arg == "--version") {
            std::puts("fulcrum 0.1.0");
            return 0;
        }
        if (arg == "--check" && out.command.empty()) {
            out.check = true;
        } else if ((arg == "-c" || arg == "--config") && i + 1 < argc) {
            out.config_path = argv[++i];
        } else if (arg == "--job" && (out.command == "rules" || out.command == "slo") &&
                   i + 1 < argc) {
            out.rules.job = argv[++i];
        } else if (arg == "--runbook-base" && out.command == "rules" && i + 1 < argc) {
            out.rules.runbook_base = argv[++i];
        } else if (arg == "--timeout" && out.command == "health" && i + 1 < argc) {
            if (!config::parse_duration(argv[++i], out.timeout) || out.timeout.count() <= 0) {
                base::logf("--timeout '%s': expected a duration above 0 such as 2s", argv[i]);
                return 2;
            }
        } else if (arg == "--format" && out.command == "slo" && i + 1 < argc) {
            out.format = monitoring::parse_slo_format(argv[++i]);
            if (!out.format) {
                base::logf("--format '%s': expected openslo or sloth", argv[i]);
                return 2;
            }
        } else {
            return usage_error("unknown argument '" + std::string(arg) + "'");
        }
    }
    if (out.config_path.empty()) {
        return usage_error("no configuration given (-c FILE)");
    }
    if (out.command == "slo" && !out.format) {
        return usage_error("slo export needs --format openslo or --format sloth");
    }
    return -1;
}

// fulcrum slo export: the documents on stdout, or why a service cannot be exported.
int run_slo_export(const config::config& cfg, monitoring::slo_format format,
                   const std::string& job) {
    const auto exported = monitoring::export_slos(cfg, format, job);
    for (const auto& error : exported.errors) {
        base::log(error);
    }
    if (!exported.errors.empty()) {
        return 1;
    }
    // A full disk or a closed pipe must not pass for a complete export.
    if (std::fputs(exported.yaml.c_str(), stdout) < 0 || std::fflush(stdout) != 0) {
        base::logf("cannot write the export: %s", std::strerror(errno));
        return 1;
    }
    return 0;
}

std::size_t worker_count(const config::config& cfg) {
    if (cfg.global.threads > 0) {
        return cfg.global.threads;
    }
    return std::max(1u, std::thread::hardware_concurrency());
}

// Once a second, what each service answered goes into its rolling windows.
asio::awaitable<void> tick_sli_windows(asio::io_context& control, sli::service_windows& windows) {
    asio::steady_timer timer(control);
    for (;;) {
        timer.expires_after(std::chrono::seconds(1));
        boost::system::error_code ec;
        co_await timer.async_wait(base::with(ec));
        if (ec) {
            co_return;
        }
        windows.tick(sli::wall_clock::now());
    }
}

// Every window counter kept across a restart, under names made of the config's names.
void keep_windows(sli::state_file& file, const config::config& cfg, const sli::meter& meter,
                  sli::service_windows& services, health::checker& checker) {
    for (std::size_t s = 0; s < meter.services().size(); ++s) {
        const std::string prefix = "service/" + meter.services()[s];
        file.add(prefix + "/availability", services.counter(s));
        // The threshold is in the name: counts of "fast" under another threshold would mean
        // something else, so a changed threshold starts its windows empty.
        if (auto* latency = services.latency(s)) {
            file.add(prefix + "/latency-" + std::to_string(latency->threshold.count()) + "ms",
                     latency->counter);
        }
    }
    for (std::size_t b = 0; b < cfg.backends.size(); ++b) {
        file.add("backend/" + cfg.backends[b].name + "/availability", checker.availability(b));
    }
}

// Polls until no connection is open, `until` passes, or `stop_now` is set.
asio::awaitable<void> wait_for_connections(asio::steady_timer& poll, const proxy::engine& engine,
                                           std::chrono::steady_clock::time_point until,
                                           const bool& stop_now) {
    while (!stop_now && engine.open_connections() > 0 && std::chrono::steady_clock::now() < until) {
        poll.expires_after(std::chrono::milliseconds(20));
        co_await poll.async_wait(asio::use_awaitable);
    }
}

const char* stop_signal_name(int signal) {
    return signal == SIGTERM ? "SIGTERM" : "SIGINT";
}

// SIGHUP: the certificates are read again from their files; new handshakes get them,
// established connections keep theirs. Until the configuration can be reloaded (issue 14),
// nothing else is.
asio::awaitable<void> reload_on_signal(asio::signal_set& signals, certificates& tls,
                                       proxy::engine& engine) {
    for (;;) {
        boost::system::error_code ec;
        co_await signals.async_wait(base::with(ec));
        if (ec) {
            co_return;
        }
        const auto errors = tls.reload();
        for (const auto& e : errors) {
            base::log("SIGHUP: certificates not reloaded, the previous ones stay: " +
                      e.to_string());
        }
        if (errors.empty() && tls.count() == 0) {
            base::log("SIGHUP: no frontend has TLS certificates to reload; the configuration is "
                      "not reloaded (restart fulcrum to apply a changed configuration)");
        } else if (errors.empty()) {
            engine.replace_certificates(tls.current());
            base::logf("SIGHUP: %zu TLS certificates reloaded from their files (the rest of the "
                       "configuration is not reloaded: restart fulcrum to apply it)",
                       tls.count());
        }
    }
}

// A new session ticket key for the frontend every session_timeout (tls/ticket_keys.hpp).
asio::awaitable<void> rotate_ticket_keys(const certificates& tls, std::size_t frontend,
                                         config::duration period) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    for (;;) {
        timer.expires_after(period);
        boost::system::error_code ec;
        co_await timer.async_wait(base::with(ec));
        if (ec) {
            co_return;
        }
        tls.current()[frontend]->rotate_ticket_keys();
    }
}

// SIGTERM or SIGINT: stop accepting, give in-flight requests the grace period, then stop. A
// second one during the drain cuts it short: the operator has decided not to wait. The SLI
// windows are saved either way, once the control thread has stopped (serve()).
asio::awaitable<void> shut_down_on_signal(asio::io_context& control, asio::signal_set& signals,
                                          proxy::engine& engine, admin_api& api,
                                          admin_server& admin, health::checker& checker,
                                          failover_agent* failover, config::duration grace) {
    const int signal = co_await signals.async_wait(asio::use_awaitable);
    base::logf("%s: draining, %zu connections open, grace %lld ms (%s again stops at once)",
               stop_signal_name(signal), engine.open_connections(),
               static_cast<long long>(grace.count()), stop_signal_name(signal));
    api.set_draining();
    engine.drain();
    // Shared with the handler, which may still be queued when this coroutine has ended.
    auto stop_now = std::make_shared<bool>(false);
    signals.async_wait([stop_now, &engine](boost::system::error_code ec, int again) {
        if (!ec) {
            base::logf("%s during the drain: stopping now, closing %zu connections",
                       stop_signal_name(again), engine.open_connections());
            *stop_now = true;
        }
    });
    asio::steady_timer poll(control);
    co_await wait_for_connections(poll, engine, std::chrono::steady_clock::now() + grace,
                                  *stop_now);
    const auto cut = engine.open_connections();
    if (cut > 0 && !*stop_now) {
        base::logf("grace period over, closing %zu connections", cut);
        // Upgraded connections are ended rather than cut, so that each is metered; a moment
        // for them to close.
        engine.end_tunnels();
        co_await wait_for_connections(
            poll, engine, std::chrono::steady_clock::now() + std::chrono::seconds(1), *stop_now);
    }
    admin.stop();
    checker.stop();
    if (failover) {
        failover->stop();
    }
    control.stop();
}

// The connection limits taken from the descriptor limit, in one line (and any warning).
void log_plan(const proxy::descriptor_plan& plan) {
    base::logf("descriptor limit %llu: maxconn %zu (%s), %zu reserved, %zu idle server "
               "connections per worker",
               static_cast<unsigned long long>(plan.limit), plan.maxconn,
               plan.derived ? "derived" : "global.maxconn", plan.reserve,
               plan.pool_idle_per_worker);
    for (const auto& warning : plan.warnings) {
        base::log("warning: " + warning);
    }
}

int serve(const config::config& cfg) {
    const std::size_t threads = worker_count(cfg);
    auto rt = std::make_shared<const proxy::runtime>(cfg);
    sli::meter meter(rt->cfg, threads);
    health::server_states states(rt->cfg);
    const auto plan = proxy::plan_descriptors(rt->cfg, threads, proxy::raise_descriptor_limit());
    std::optional<certificates> tls_certificates;
    try {
        tls_certificates.emplace(rt->cfg);
    } catch (const tls::setting_error& e) {
        base::log(e.diagnostic().to_string());
        return 1;
    }
    proxy::engine engine(rt, meter, states, threads, plan, tls_certificates->current());
    asio::io_context control(1);
    // Caught from here on: SIGTERM during the start drains as soon as serving begins.
    asio::signal_set stop_signals(control, SIGTERM, SIGINT);
    asio::signal_set logged_signals(control);
    add_logged_signals(logged_signals);
    asio::signal_set reload_signals(control, SIGHUP);
    health::checker checker(control, rt->cfg, states);
    sli::service_windows sli_windows(meter, rt->cfg.slo);
    std::unique_ptr<sli_state> state;
    std::unique_ptr<admin_api> api;
    std::unique_ptr<admin_server> admin;
    std::unique_ptr<failover_agent> failover;
    try {
        const std::string token =
            cfg.admin.token_file.empty() ? std::string() : read_admin_token(cfg.admin.token_file);
        std::vector<std::shared_ptr<prometheus::Collectable>> collectables{
            std::make_shared<sli::meter_collectable>(rt->cfg, meter),
            std::make_shared<sli::slo_collectable>(meter, sli_windows,
                                                   [] { return sli::wall_clock::now(); }),
            checker.metrics(), engine.metrics(), tls_certificates->metrics()};
        // Loaded before anything is counted or ticked.
        if (const auto dir = state_dir_of(cfg.global, std::getenv("STATE_DIRECTORY"))) {
            state = std::make_unique<sli_state>(*dir, cfg.global.state_interval);
            keep_windows(state->file(), rt->cfg, meter, sli_windows, checker);
            state->load();
            collectables.push_back(state->metrics());
        } else {
            base::log("no state_dir: the SLI windows are not kept across a restart");
        }
        if (rt->cfg.failover && rt->cfg.failover->controller) {
            failover = std::make_unique<failover_agent>(control, *rt->cfg.failover, [&] {
                return assess_health(rt->cfg, states, api->draining());
            });
            collectables.push_back(failover->metrics());
        }
        api = std::make_unique<admin_api>(rt->cfg, states, checker, meter, sli_windows, token,
                                          std::move(collectables));
        if (failover) {
            api->report_failover([&] { return failover->status(); });
        }
        engine.listen();
        try {
            admin = std::make_unique<admin_server>(control, proxy::to_tcp(cfg.admin.bind),
                                                   cfg.admin.timeouts, *api);
        } catch (const boost::system::system_error& e) {
            throw std::runtime_error("admin: cannot listen on " + cfg.admin.bind.to_string() +
                                     ": " + e.code().message());
        }
    } catch (const std::exception& e) {
        base::log(e.what());
        return 1;
    }
    for (const auto& l : engine.listeners()) {
        base::logf("frontend %s listening on %s:%u%s", l.frontend.c_str(),
                   l.address.address().to_string().c_str(), l.address.port(),
                   l.tls ? " with TLS" : "");
    }
    const auto admin_address = admin->local_endpoint();
    base::logf("admin listening on %s:%u", admin_address.address().to_string().c_str(),
               admin_address.port());
    base::logf("serving with %zu worker threads", threads);
    log_plan(plan);

    engine.start();
    checker.start();
    asio::co_spawn(control, tick_sli_windows(control, sli_windows), asio::detached);
    if (state) {
        asio::co_spawn(control, state->run(control), asio::detached);
    }
    admin->start();
    if (failover) {
        failover->start();
    }
    asio::co_spawn(control, log_signals(logged_signals), asio::detached);
    asio::co_spawn(control, reload_on_signal(reload_signals, *tls_certificates, engine),
                   asio::detached);
    for (std::size_t f = 0; f < cfg.frontends.size(); ++f) {
        if (const auto& tls = cfg.frontends[f].tls; tls && tls->session_tickets) {
            asio::co_spawn(control, rotate_ticket_keys(*tls_certificates, f, tls->session_timeout),
                           asio::detached);
        }
    }
    asio::co_spawn(control,
                   shut_down_on_signal(control, stop_signals, engine, *api, *admin, checker,
                                       failover.get(), cfg.global.shutdown_grace),
                   asio::detached);
    control.run();
    engine.stop();
    // Every worker has finished: the last requests are in the meter. One more tick carries
    // them into the windows before the final save.
    if (state) {
        sli_windows.tick(sli::wall_clock::now());
        state->save(true);
    }
    base::log("stopped");
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    options opts;
    if (const int code = parse_arguments(argc, argv, opts); code >= 0) {
        return code;
    }
    const auto loaded = config::load_file(opts.config_path);
    for (const auto& error : loaded.errors) {
        std::fprintf(stderr, "%s\n", error.to_string().c_str());
    }
    if (!loaded.ok()) {
        base::logf("%s: %zu error%s", opts.config_path.c_str(), loaded.errors.size(),
                   loaded.errors.size() == 1 ? "" : "s");
        return opts.command.empty() ? 1 : 2;
    }
    if (opts.command == "reserved-ip") {
        return run_reserved_ip_command(opts.action, loaded.value);
    }
    if (opts.command == "rules") {
        opts.rules.source = opts.config_path;
        std::fputs(monitoring::prometheus_rules(loaded.value, opts.rules).c_str(), stdout);
        return 0;
    }
    if (opts.command == "slo") {
        return run_slo_export(loaded.value, *opts.format, opts.rules.job);
    }
    if (opts.command == "health") {
        const auto verdict = check_node_health(loaded.value, opts.timeout);
        std::printf("%s\n", verdict.line.c_str());
        return verdict.code;
    }
    // What a start would refuse, and what it would serve though it is wrong.
    const auto tls_findings = tls::check(loaded.value, std::chrono::system_clock::now());
    for (const auto& warning : tls_findings.warnings) {
        auto located = warning;
        located.message = "warning: " + located.message;
        std::fprintf(stderr, "%s\n", located.to_string().c_str());
    }
    for (const auto& error : tls_findings.errors) {
        std::fprintf(stderr, "%s\n", error.to_string().c_str());
    }
    if (!tls_findings.errors.empty()) {
        base::logf("%s: %zu error%s", opts.config_path.c_str(), tls_findings.errors.size(),
                   tls_findings.errors.size() == 1 ? "" : "s");
        return 1;
    }
    if (opts.check) {
        std::printf("%s: configuration is valid\n", opts.config_path.c_str());
        return 0;
    }
    ignore_signals();
    try {
        return serve(loaded.value);
    } catch (const std::exception& e) {
        base::log(e.what());
        return 1;
    }
}
