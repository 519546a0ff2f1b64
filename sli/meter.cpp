#include "sli/meter.hpp"

#include <algorithm>

namespace fulcrum::sli {

namespace {

std::unique_ptr<std::atomic<std::uint64_t>[]> zeroed(std::size_t n) {
    auto counters = std::make_unique<std::atomic<std::uint64_t>[]>(n);
    for (std::size_t i = 0; i < n; ++i) {
        counters[i].store(0, std::memory_order_relaxed);
    }
    return counters;
}

template <typename F>
std::uint64_t sum_over(const std::vector<std::unique_ptr<meter::shard>>& shards, F&& count) {
    std::uint64_t sum = 0;
    for (const auto& s : shards) {
        sum += count(*s);
    }
    return sum;
}

} // namespace

meter::shard::shard(const meter& owner, std::size_t frontends, std::size_t targets,
                    std::size_t services)
    : owner_(owner), frontend_counts_(zeroed(frontends * status_slots)),
      target_counts_(zeroed(targets * status_slots)),
      service_counts_(zeroed(services * status_slots)), aborted_(zeroed(services)),
      tunnels_opened_(zeroed(frontends)), tunnels_closed_(zeroed(frontends)),
      tls_handshakes_(zeroed(frontends * 4)),
      tls_failures_(zeroed(frontends * tls_failure_names.size())),
      latency_counts_(zeroed(services * (owner.latency_bounds_.size() + 1))),
      latency_sum_ns_(zeroed(services)), fast_(zeroed(services)) {}

std::uint64_t meter::shard::latency_count(std::size_t service, std::size_t bucket) const {
    return latency_counts_[service * (owner_.latency_bounds_.size() + 1) + bucket].load(
        std::memory_order_relaxed);
}

std::uint64_t meter::shard::latency_sum_ns(std::size_t service) const {
    return latency_sum_ns_[service].load(std::memory_order_relaxed);
}

std::uint64_t meter::shard::fast_count(std::size_t service) const {
    return fast_[service].load(std::memory_order_acquire);
}

std::uint64_t meter::shard::service_count(std::size_t service, int status) const {
    return service_counts_[service * status_slots + slot(status)].load(std::memory_order_relaxed);
}

std::uint64_t meter::shard::aborted_count(std::size_t service) const {
    return aborted_[service].load(std::memory_order_relaxed);
}

std::uint64_t meter::shard::tunnels_opened(std::size_t frontend) const {
    return tunnels_opened_[frontend].load(std::memory_order_relaxed);
}

std::uint64_t meter::shard::tunnels_closed(std::size_t frontend) const {
    return tunnels_closed_[frontend].load(std::memory_order_relaxed);
}

std::uint64_t meter::shard::tls_handshakes(std::size_t frontend, bool tls13, bool resumed) const {
    return tls_handshakes_[(frontend * 2 + tls13) * 2 + resumed].load(std::memory_order_relaxed);
}

std::uint64_t meter::shard::tls_failures(std::size_t frontend, tls_failure reason) const {
    return tls_failures_[frontend * tls_failure_names.size() + static_cast<std::size_t>(reason)]
        .load(std::memory_order_relaxed);
}

std::uint64_t meter::shard::frontend_count(std::size_t frontend, int status) const {
    return frontend_counts_[frontend * status_slots + slot(status)].load(std::memory_order_relaxed);
}

std::uint64_t meter::shard::target_count(std::size_t target, int status) const {
    return target_counts_[target * status_slots + slot(status)].load(std::memory_order_relaxed);
}

meter::meter(const config::config& cfg, std::size_t shards)
    : frontends_(cfg.frontends.size()), targets_(0) {
    services_ = config::service_names(cfg);
    const auto number = [this](const std::string& service) {
        return static_cast<std::size_t>(std::find(services_.begin(), services_.end(), service) -
                                        services_.begin());
    };
    for (const auto& backend : cfg.backends) {
        first_target_.push_back(targets_);
        targets_ += 1 + backend.servers.size();
        backend_service_.push_back(number(backend.service));
    }
    for (const auto& frontend : cfg.frontends) {
        auto& routes = route_service_.emplace_back();
        for (const auto& route : frontend.routes) {
            routes.push_back(number(route.service));
        }
    }
    latency_bounds_.assign(default_latency_bounds.begin(), default_latency_bounds.end());
    for (const auto& service : services_) {
        const auto& latency = cfg.slo.of(service).latency;
        latency_thresholds_.push_back(latency ? std::chrono::nanoseconds(latency->threshold)
                                              : std::chrono::nanoseconds::max());
        if (latency) {
            latency_bounds_.push_back(latency->threshold);
        }
    }
    std::sort(latency_bounds_.begin(), latency_bounds_.end());
    latency_bounds_.erase(std::unique(latency_bounds_.begin(), latency_bounds_.end()),
                          latency_bounds_.end());
    for (std::size_t i = 0; i < shards; ++i) {
        shards_.push_back(std::make_unique<shard>(*this, frontends_, targets_, services_.size()));
    }
}

std::uint64_t meter::latency_total(std::size_t service, std::size_t bucket) const {
    return sum_over(shards_, [&](const shard& s) { return s.latency_count(service, bucket); });
}

std::uint64_t meter::latency_sum_ns_total(std::size_t service) const {
    return sum_over(shards_, [&](const shard& s) { return s.latency_sum_ns(service); });
}

std::uint64_t meter::fast_total(std::size_t service) const {
    return sum_over(shards_, [&](const shard& s) { return s.fast_count(service); });
}

std::uint64_t meter::service_total(std::size_t service, int status) const {
    return sum_over(shards_, [&](const shard& s) { return s.service_count(service, status); });
}

std::uint64_t meter::aborted_total(std::size_t service) const {
    return sum_over(shards_, [&](const shard& s) { return s.aborted_count(service); });
}

std::uint64_t meter::tunnels_open(std::size_t frontend) const {
    // Closes are read first: a tunnel that closes between the two reads is then counted as
    // open rather than the gauge going below zero.
    const auto closed =
        sum_over(shards_, [&](const shard& s) { return s.tunnels_closed(frontend); });
    const auto opened =
        sum_over(shards_, [&](const shard& s) { return s.tunnels_opened(frontend); });
    return opened >= closed ? opened - closed : 0;
}

std::uint64_t meter::tls_handshakes_total(std::size_t frontend, bool tls13, bool resumed) const {
    return sum_over(shards_,
                    [&](const shard& s) { return s.tls_handshakes(frontend, tls13, resumed); });
}

std::uint64_t meter::tls_failures_total(std::size_t frontend, tls_failure reason) const {
    return sum_over(shards_, [&](const shard& s) { return s.tls_failures(frontend, reason); });
}

std::uint64_t meter::frontend_total(std::size_t frontend, int status) const {
    return sum_over(shards_, [&](const shard& s) { return s.frontend_count(frontend, status); });
}

std::uint64_t meter::target_total(std::size_t target, int status) const {
    return sum_over(shards_, [&](const shard& s) { return s.target_count(target, status); });
}

} // namespace fulcrum::sli
