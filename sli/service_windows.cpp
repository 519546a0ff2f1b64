#include "sli/service_windows.hpp"

namespace fulcrum::sli {

service_windows::service_windows(const meter& source)
    : meter_(source), counters_(source.services().size()), seen_(source.services().size()) {}

void service_windows::tick(wall_clock::time_point now) {
    for (std::size_t s = 0; s < counters_.size(); ++s) {
        window_counter::counts totals;
        for (int status = first_status; status < first_status + status_slots; ++status) {
            const auto n = meter_.service_total(s, status);
            totals.total += n;
            totals.good += status < 500 ? n : 0;
        }
        counters_[s].add(now, totals.good - seen_[s].good, totals.total - seen_[s].total);
        seen_[s] = totals;
    }
}

} // namespace fulcrum::sli
