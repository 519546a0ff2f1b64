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

} // namespace

meter::shard::shard(std::size_t frontends, std::size_t targets, std::size_t services)
    : frontend_counts_(zeroed(frontends * status_slots)),
      target_counts_(zeroed(targets * status_slots)),
      service_counts_(zeroed(services * status_slots)), aborted_(zeroed(services)) {}

std::uint64_t meter::shard::service_count(std::size_t service, int status) const {
    return service_counts_[service * status_slots + slot(status)].load(std::memory_order_relaxed);
}

std::uint64_t meter::shard::aborted_count(std::size_t service) const {
    return aborted_[service].load(std::memory_order_relaxed);
}

std::uint64_t meter::shard::frontend_count(std::size_t frontend, int status) const {
    return frontend_counts_[frontend * status_slots + slot(status)].load(std::memory_order_relaxed);
}

std::uint64_t meter::shard::target_count(std::size_t target, int status) const {
    return target_counts_[target * status_slots + slot(status)].load(std::memory_order_relaxed);
}

meter::meter(const config::config& cfg, std::size_t shards)
    : frontends_(cfg.frontends.size()), targets_(0) {
    const auto number = [this](const std::string& service) {
        const auto at = std::find(services_.begin(), services_.end(), service);
        if (at != services_.end()) {
            return static_cast<std::size_t>(at - services_.begin());
        }
        services_.push_back(service);
        return services_.size() - 1;
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
    for (std::size_t i = 0; i < shards; ++i) {
        shards_.push_back(std::make_unique<shard>(frontends_, targets_, services_.size()));
    }
}

std::uint64_t meter::service_total(std::size_t service, int status) const {
    std::uint64_t sum = 0;
    for (const auto& s : shards_) {
        sum += s->service_count(service, status);
    }
    return sum;
}

std::uint64_t meter::aborted_total(std::size_t service) const {
    std::uint64_t sum = 0;
    for (const auto& s : shards_) {
        sum += s->aborted_count(service);
    }
    return sum;
}

std::uint64_t meter::frontend_total(std::size_t frontend, int status) const {
    std::uint64_t sum = 0;
    for (const auto& s : shards_) {
        sum += s->frontend_count(frontend, status);
    }
    return sum;
}

std::uint64_t meter::target_total(std::size_t target, int status) const {
    std::uint64_t sum = 0;
    for (const auto& s : shards_) {
        sum += s->target_count(target, status);
    }
    return sum;
}

} // namespace fulcrum::sli
