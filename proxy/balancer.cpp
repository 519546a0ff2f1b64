#include "proxy/balancer.hpp"

#include <numeric>

namespace fulcrum::proxy {

balancer::balancer(std::span<const unsigned> weights) {
    const long total = std::accumulate(weights.begin(), weights.end(), 0L);
    std::vector<long> current(weights.size(), 0);
    sequence_.reserve(static_cast<std::size_t>(total));
    for (long step = 0; step < total; ++step) {
        std::size_t best = 0;
        for (std::size_t i = 0; i < weights.size(); ++i) {
            current[i] += weights[i];
            if (current[i] > current[best]) {
                best = i;
            }
        }
        current[best] -= total;
        sequence_.push_back(static_cast<std::uint32_t>(best));
    }
}

} // namespace fulcrum::proxy
