#pragma once

#include "config/config.hpp"
#include "sli/meter.hpp"
#include "sli/slo.hpp"
#include "sli/windows.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

namespace fulcrum::sli {

// The meter's per-service counts, carried into rolling windows: once a second (on the control
// thread) what each service answered since the previous tick is added.
//   availability: good = below 500, total = every response; aborted requests are in neither.
//   latency (services with slo.latency): good = complete within the threshold, total = every
//   response, whatever its status (a fast 503 is an availability failure, not a latency one).
class service_windows {
public:
    struct latency_sli {
        std::chrono::milliseconds threshold;
        objective target;
        window_counter counter;
    };

    service_windows(const meter& source, const config::slo& objectives);

    void tick(wall_clock::time_point now);
    std::size_t size() const { return services_.size(); }
    const window_counter& counter(std::size_t service) const {
        return services_[service].availability;
    }
    window_counter& counter(std::size_t service) { return services_[service].availability; }
    objective availability_objective(std::size_t service) const {
        return services_[service].availability_target;
    }
    // nullptr when the service has no latency objective.
    const latency_sli* latency(std::size_t service) const {
        const auto& l = services_[service].latency;
        return l ? &*l : nullptr;
    }
    latency_sli* latency(std::size_t service) {
        auto& l = services_[service].latency;
        return l ? &*l : nullptr;
    }

private:
    struct service {
        objective availability_target;
        window_counter availability;
        std::optional<latency_sli> latency;
        // meter totals at the previous tick
        std::uint64_t seen_good = 0;
        std::uint64_t seen_fast = 0;
        std::uint64_t seen_total = 0;
    };

    const meter& meter_;
    std::vector<service> services_;
};

} // namespace fulcrum::sli
