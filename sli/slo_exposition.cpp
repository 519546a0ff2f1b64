#include "sli/slo_exposition.hpp"

#include <string>

namespace fulcrum::sli {

namespace {

using labels = std::vector<prometheus::ClientMetric::Label>;

prometheus::MetricFamily gauge_family(std::string name, std::string help) {
    return {std::move(name), std::move(help), prometheus::MetricType::Gauge, {}};
}

void add(prometheus::MetricFamily& family, labels l, double value) {
    prometheus::ClientMetric metric;
    metric.label = std::move(l);
    metric.gauge.value = value;
    family.metric.push_back(std::move(metric));
}

} // namespace

slo_collectable::slo_collectable(const meter& source, const service_windows& windows,
                                 objective target, std::function<wall_clock::time_point()> now)
    : meter_(source), windows_(windows), objective_(target), now_(std::move(now)) {}

std::vector<prometheus::MetricFamily> slo_collectable::Collect() const {
    auto requests = gauge_family("fulcrum_sli_window_requests",
                                 "Responses sent in the rolling window (exact to 1/60 of it).");
    auto errors =
        gauge_family("fulcrum_sli_window_errors", "5xx responses sent in the rolling window.");
    auto availability = gauge_family("fulcrum_sli_availability_ratio",
                                     "Non-5xx responses over all responses in the window.");
    auto objective = gauge_family("fulcrum_slo_objective_ratio", "The availability objective.");
    auto remaining = gauge_family("fulcrum_slo_error_budget_remaining_ratio",
                                  "Share of the 30-day error budget left; below 0 when overspent.");
    auto burn = gauge_family("fulcrum_slo_burn_rate",
                             "Error ratio over the budget, per window: 1 spends the budget "
                             "exactly over the objective's period.");
    auto alert = gauge_family(
        "fulcrum_slo_alert",
        "1 while a multi-window multi-burn-rate alert fires: both windows above its burn rate.");
    auto zone_family = gauge_family("fulcrum_slo_budget_zone",
                                    "1 for the current budget zone: green <= 60 % consumed, "
                                    "yellow <= 80 %, orange <= 100 %, red > 100 %.");
    const auto now = now_();
    const auto& services = meter_.services();
    for (std::size_t s = 0; s < services.size(); ++s) {
        const auto& service = services[s];
        const auto& counter = windows_.counter(s);
        for (const auto w : all_windows) {
            const auto c = counter.over(w, now);
            const labels l{{"service", service}, {"window", std::string(name(w))}};
            add(requests, l, static_cast<double>(c.total));
            add(errors, l, static_cast<double>(c.total - c.good));
            if (const auto ratio = good_ratio(c)) {
                add(availability, l, *ratio);
            }
            if (const auto rate = burn_rate(c, objective_)) {
                add(burn, l, *rate);
            }
        }
        add(objective, {{"service", service}}, objective_.target);
        const auto month = counter.over(window::d30, now);
        if (const auto left = budget_remaining(month, objective_)) {
            add(remaining, {{"service", service}}, *left);
        }
        if (const auto current = budget_zone(month, objective_)) {
            for (const auto z : {zone::green, zone::yellow, zone::orange, zone::red}) {
                add(zone_family, {{"service", service}, {"zone", std::string(name(z))}},
                    z == *current ? 1 : 0);
            }
        }
        for (const auto& rule : alert_rules) {
            add(alert,
                {{"service", service},
                 {"severity", std::string(name(rule.sev))},
                 {"long_window", std::string(name(rule.long_window))},
                 {"short_window", std::string(name(rule.short_window))}},
                firing(rule, counter, now, objective_) ? 1 : 0);
        }
    }
    return {std::move(requests),  std::move(errors),     std::move(availability),
            std::move(objective), std::move(remaining),  std::move(burn),
            std::move(alert),     std::move(zone_family)};
}

} // namespace fulcrum::sli
