#include "sli/meter.hpp"

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

meter::shard::shard(std::size_t frontends, std::size_t targets)
    : frontend_counts_(zeroed(frontends * status_slots)),
      target_counts_(zeroed(targets * status_slots)) {}

std::uint64_t meter::shard::frontend_count(std::size_t frontend, int status) const {
    return frontend_counts_[frontend * status_slots + slot(status)].load(std::memory_order_relaxed);
}

std::uint64_t meter::shard::target_count(std::size_t target, int status) const {
    return target_counts_[target * status_slots + slot(status)].load(std::memory_order_relaxed);
}

meter::meter(const config::config& cfg, std::size_t shards)
    : frontends_(cfg.frontends.size()), targets_(0) {
    for (const auto& backend : cfg.backends) {
        first_target_.push_back(targets_);
        targets_ += 1 + backend.servers.size();
    }
    for (std::size_t i = 0; i < shards; ++i) {
        shards_.push_back(std::make_unique<shard>(frontends_, targets_));
    }
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
