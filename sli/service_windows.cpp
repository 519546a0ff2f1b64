#include "sli/service_windows.hpp"

#include <algorithm>

namespace fulcrum::sli {

service_windows::service_windows(const meter& source, const config::slo& objectives)
    : meter_(source) {
    for (const auto& name : source.services()) {
        const auto& o = objectives.of(name);
        auto& s = services_.emplace_back();
        s.availability_target = objective::from_percent(o.availability_percent);
        if (o.latency) {
            s.latency =
                latency_sli{o.latency->threshold, objective::from_percent(o.latency->percent), {}};
        }
    }
}

void service_windows::tick(wall_clock::time_point now) {
    for (std::size_t i = 0; i < services_.size(); ++i) {
        auto& s = services_[i];
        // Read before the status totals: every response it counts is in them (see meter).
        const auto fast = meter_.fast_total(i);
        std::uint64_t good = 0;
        std::uint64_t total = 0;
        for (int status = first_status; status < first_status + status_slots; ++status) {
            const auto n = meter_.service_total(i, status);
            total += n;
            good += status < 500 ? n : 0;
        }
        s.availability.add(now, good - s.seen_good, total - s.seen_total);
        // A fast response recorded between the two reads is in this tick's total but only in
        // the next tick's fast count: the excess waits for the tick whose total holds it, so
        // that no bucket has more fast responses than responses.
        const auto fast_now = std::min(fast - s.seen_fast, total - s.seen_total);
        if (s.latency) {
            s.latency->counter.add(now, fast_now, total - s.seen_total);
        }
        s.seen_good = good;
        s.seen_fast += fast_now;
        s.seen_total = total;
    }
}

} // namespace fulcrum::sli
