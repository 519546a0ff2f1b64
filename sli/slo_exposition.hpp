#pragma once

#include "sli/service_windows.hpp"
#include "sli/slo.hpp"

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <functional>

namespace fulcrum::sli {

// The direct SLI of every service, computed in process from its rolling windows:
//   fulcrum_sli_window_requests{service,window}, fulcrum_sli_window_errors{service,window}
//   fulcrum_sli_availability_ratio{service,window}
//   fulcrum_slo_objective_ratio{service}
//   fulcrum_slo_error_budget_remaining_ratio{service}   (30d window)
//   fulcrum_slo_burn_rate{service,window}
//   fulcrum_slo_alert{service,severity,long_window,short_window}
//   fulcrum_slo_budget_zone{service,zone}
// and for services with a latency objective the same under latency names:
//   fulcrum_sli_window_slow_requests{service,window}, fulcrum_sli_latency_ratio{service,window},
//   fulcrum_slo_latency_threshold_seconds{service}, fulcrum_slo_latency_objective_ratio,
//   fulcrum_slo_latency_error_budget_remaining_ratio, fulcrum_slo_latency_burn_rate,
//   fulcrum_slo_latency_alert, fulcrum_slo_latency_budget_zone.
// A window without traffic has its request and error counts (0) and no ratio, burn, budget
// or zone sample: no value rather than NaN or a fake 100 %. Collected on the control thread,
// which also ticks the windows.
class slo_collectable : public prometheus::Collectable {
public:
    slo_collectable(const meter& source, const service_windows& windows,
                    std::function<wall_clock::time_point()> now);

    std::vector<prometheus::MetricFamily> Collect() const override;

private:
    const meter& meter_;
    const service_windows& windows_;
    std::function<wall_clock::time_point()> now_;
};

} // namespace fulcrum::sli
