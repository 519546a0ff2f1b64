#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace fulcrum::proxy {

// Weighted round-robin over a backend's servers, shared by every worker.
//
// The weights are expanded once into nginx's "smooth" sequence (weights 5,1,1 give
// a a b a c a a rather than a a a a a b c), so that the per-request work is one relaxed
// fetch_add on a shared cursor. That one shared counter is deliberate: it keeps the rotation
// strict across worker threads (a curl loop alternates between two servers even though each
// connection lands on a different worker), which per-worker counters would not.
class balancer {
public:
    explicit balancer(std::span<const unsigned> weights);

    // The next server in the rotation for which `available(server)` holds, skipping the
    // others in rotation order; nothing when no server is available.
    template <typename Available> std::optional<std::size_t> next(const Available& available) {
        const auto turn = cursor_.fetch_add(1, std::memory_order_relaxed);
        for (std::size_t k = 0; k < sequence_.size(); ++k) {
            const std::size_t server = sequence_[(turn + k) % sequence_.size()];
            if (available(server)) {
                return server;
            }
        }
        return std::nullopt;
    }

    std::span<const std::uint32_t> sequence() const { return sequence_; }

private:
    std::vector<std::uint32_t> sequence_;
    std::atomic<std::uint64_t> cursor_{0};
};

} // namespace fulcrum::proxy
