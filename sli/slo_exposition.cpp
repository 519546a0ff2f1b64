#include "sli/slo_exposition.hpp"

#include "sli/metric.hpp"

#include <string>

namespace fulcrum::sli {

namespace {

using labels = metric_labels;

prometheus::MetricFamily gauge_family(std::string name, std::string help) {
    return metric_family(std::move(name), std::move(help), prometheus::MetricType::Gauge);
}

void add(prometheus::MetricFamily& family, labels l, double value) {
    family.metric.push_back(gauge_sample(std::move(l), value));
}

// The families of one SLI, availability or latency, which differ only in their names.
struct sli_families {
    prometheus::MetricFamily bad;
    prometheus::MetricFamily ratio;
    prometheus::MetricFamily objective;
    prometheus::MetricFamily remaining;
    prometheus::MetricFamily burn;
    prometheus::MetricFamily alert;
    prometheus::MetricFamily zone;
    prometheus::MetricFamily exhaustion;

    sli_families(std::string_view prefix, std::string bad_name, std::string bad_help,
                 std::string ratio_name, std::string ratio_help) {
        const std::string slo = "fulcrum_slo_" + std::string(prefix);
        bad = gauge_family(std::move(bad_name), std::move(bad_help));
        ratio = gauge_family(std::move(ratio_name), std::move(ratio_help));
        objective = gauge_family(slo + "objective_ratio", "The objective, as a ratio.");
        remaining = gauge_family(slo + "error_budget_remaining_ratio",
                                 "Share of the 30-day error budget left; below 0 when overspent.");
        burn = gauge_family(slo + "burn_rate",
                            "Bad ratio over the budget, per window: 1 spends the budget exactly "
                            "over the objective's period.");
        alert = gauge_family(slo + "alert", "1 while a multi-window multi-burn-rate alert fires: "
                                            "both windows above its burn rate.");
        zone = gauge_family(slo + "budget_zone",
                            "1 for the current budget zone: green <= 60 % consumed, yellow <= 80 "
                            "%, orange <= 100 %, red > 100 %.");
        exhaustion = gauge_family(slo + "error_budget_exhaustion_seconds",
                                  "Time until the 30-day error budget is spent if the window's "
                                  "burn rate goes on; 0 once spent, no sample while nothing "
                                  "burns.");
    }

    void add_service(const std::string& service, const sli_report& r) {
        for (const auto& w : r.windows) {
            const labels l{{"service", service}, {"window", std::string(name(w.w))}};
            add(bad, l, static_cast<double>(w.c.total - w.c.good));
            if (w.ratio) {
                add(ratio, l, *w.ratio);
            }
            if (w.burn) {
                add(burn, l, *w.burn);
            }
        }
        add(objective, {{"service", service}}, r.target.target);
        if (r.budget_remaining) {
            add(remaining, {{"service", service}}, *r.budget_remaining);
        }
        if (r.budget_zone) {
            for (const auto z : {zone::green, zone::yellow, zone::orange, zone::red}) {
                add(this->zone, {{"service", service}, {"zone", std::string(name(z))}},
                    z == *r.budget_zone ? 1 : 0);
            }
        }
        for (std::size_t i = 0; i < exhaustion_windows.size(); ++i) {
            if (const auto seconds = r.exhaustion_seconds[i]) {
                add(exhaustion,
                    {{"service", service}, {"window", std::string(name(exhaustion_windows[i]))}},
                    *seconds);
            }
        }
        for (std::size_t i = 0; i < alert_rules.size(); ++i) {
            const auto& rule = alert_rules[i];
            add(alert,
                {{"service", service},
                 {"severity", std::string(name(rule.sev))},
                 {"long_window", std::string(name(rule.long_window))},
                 {"short_window", std::string(name(rule.short_window))}},
                r.firing[i] ? 1 : 0);
        }
    }

    void move_into(std::vector<prometheus::MetricFamily>& out) {
        // A family without samples (no service has a latency objective, no window has
        // traffic) is left out rather than announced empty.
        for (auto* f : {&bad, &ratio, &objective, &remaining, &burn, &alert, &zone, &exhaustion}) {
            if (!f->metric.empty()) {
                out.push_back(std::move(*f));
            }
        }
    }
};

} // namespace

slo_collectable::slo_collectable(const meter& source, const service_windows& windows,
                                 std::function<wall_clock::time_point()> now)
    : meter_(source), windows_(windows), now_(std::move(now)) {}

std::vector<prometheus::MetricFamily> slo_collectable::Collect() const {
    auto requests = gauge_family("fulcrum_sli_window_requests",
                                 "Responses sent in the rolling window (exact to 1/60 of it).");
    sli_families availability(
        "", "fulcrum_sli_window_errors", "5xx responses sent in the rolling window.",
        "fulcrum_sli_availability_ratio", "Non-5xx responses over all responses in the window.");
    sli_families latency("latency_", "fulcrum_sli_window_slow_requests",
                         "Responses in the rolling window slower than the latency threshold.",
                         "fulcrum_sli_latency_ratio",
                         "Responses within the latency threshold over all responses in the "
                         "window.");
    auto coverage = gauge_family("fulcrum_sli_window_coverage_seconds",
                                 "How much of the rolling window fulcrum has counted (up to its "
                                 "length): a 30d ratio over 6 minutes of history says so here.");
    auto threshold = gauge_family("fulcrum_slo_latency_threshold_seconds",
                                  "A response within this time counts as fast.");
    const auto now = now_();
    const auto& services = meter_.services();
    for (std::size_t s = 0; s < services.size(); ++s) {
        const auto available = report(windows_.counter(s), windows_.availability_objective(s), now);
        for (std::size_t i = 0; i < all_windows.size(); ++i) {
            const labels l{{"service", services[s]},
                           {"window", std::string(name(available.windows[i].w))}};
            add(requests, l, static_cast<double>(available.windows[i].c.total));
            add(coverage, l, static_cast<double>(available.coverage[i].count()));
        }
        availability.add_service(services[s], available);
        if (const auto* l = windows_.latency(s)) {
            latency.add_service(services[s], report(l->counter, l->target, now));
            add(threshold, {{"service", services[s]}},
                std::chrono::duration<double>(l->threshold).count());
        }
    }
    std::vector<prometheus::MetricFamily> out;
    out.push_back(std::move(requests));
    out.push_back(std::move(coverage));
    availability.move_into(out);
    if (!threshold.metric.empty()) {
        out.push_back(std::move(threshold));
    }
    latency.move_into(out);
    return out;
}

} // namespace fulcrum::sli
