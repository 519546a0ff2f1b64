#pragma once

#include "sli/meter.hpp"
#include "sli/windows.hpp"

#include <cstdint>
#include <vector>

namespace fulcrum::sli {

// The meter's per-service counts, carried into rolling windows: once a second (on the control
// thread) what each service answered since the previous tick is added, good = below 500, total =
// every response. Aborted requests are in neither.
class service_windows {
public:
    explicit service_windows(const meter& source);

    void tick(wall_clock::time_point now);
    const window_counter& counter(std::size_t service) const { return counters_[service]; }
    window_counter& counter(std::size_t service) { return counters_[service]; }
    std::size_t size() const { return counters_.size(); }

private:
    const meter& meter_;
    std::vector<window_counter> counters_;
    std::vector<window_counter::counts> seen_; // meter totals at the previous tick
};

} // namespace fulcrum::sli
