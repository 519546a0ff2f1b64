#pragma once

#include "config/config.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

// The edge meter: every response a frontend sends is counted once, by the worker that sent it,
// in that worker's own shard. Dimensions are fixed when the meter is built from the config, so
// recording is two array increments: no lookup, no lock, no allocation.
namespace fulcrum::sli {

// HTTP status codes 100..599 map to slots 0..499; anything else is counted as 599's slot.
inline constexpr int first_status = 100;
inline constexpr int status_slots = 500;

class meter {
public:
    // A target is where a response came from: a server of a backend, or the backend itself
    // when fulcrum answered without one (503 with no server, errors before a server was
    // chosen).
    class shard {
    public:
        shard(std::size_t frontends, std::size_t targets);

        // Called only by the shard's own worker thread; read by the scrape thread.
        void record(std::size_t frontend, std::size_t target, int status) {
            bump(frontend_counts_[frontend * status_slots + slot(status)]);
            bump(target_counts_[target * status_slots + slot(status)]);
        }

        std::uint64_t frontend_count(std::size_t frontend, int status) const;
        std::uint64_t target_count(std::size_t target, int status) const;

    private:
        static std::size_t slot(int status) {
            const int s = status - first_status;
            return (s >= 0 && s < status_slots) ? static_cast<std::size_t>(s) : status_slots - 1;
        }
        // A single writer per shard: a relaxed load and store, no locked read-modify-write.
        static void bump(std::atomic<std::uint64_t>& counter) {
            counter.store(counter.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
        }

        std::unique_ptr<std::atomic<std::uint64_t>[]> frontend_counts_;
        std::unique_ptr<std::atomic<std::uint64_t>[]> target_counts_;
    };

    meter(const config::config& cfg, std::size_t shards);

    shard& shard_at(std::size_t index) { return *shards_[index]; }
    std::size_t shard_count() const { return shards_.size(); }

    std::size_t target_of_server(std::size_t backend, std::size_t server) const {
        return first_target_[backend] + 1 + server;
    }
    std::size_t target_of_backend(std::size_t backend) const { return first_target_[backend]; }

    // Sums of every shard, for exposition.
    std::uint64_t frontend_total(std::size_t frontend, int status) const;
    std::uint64_t target_total(std::size_t target, int status) const;

    std::size_t frontend_count() const { return frontends_; }
    std::size_t target_count() const { return targets_; }

private:
    std::size_t frontends_;
    std::size_t targets_;
    std::vector<std::size_t> first_target_; // per backend: its own slot, then its servers
    std::vector<std::unique_ptr<shard>> shards_;
};

} // namespace fulcrum::sli
