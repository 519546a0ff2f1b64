#pragma once

#include "config/config.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

// The edge meter: every response a frontend sends is counted once, by the worker that sent it,
// in that worker's own shard. Dimensions are fixed when the meter is built from the config, so
// recording is two array increments: no lookup, no lock, no allocation.
namespace fulcrum::sli {

// HTTP status codes 100..599 map to slots 0..499; anything else is counted as 599's slot.
inline constexpr int first_status = 100;
inline constexpr int status_slots = 500;

// Upper bounds of the edge latency histogram's buckets (Prometheus's default buckets); every
// configured latency threshold is added to them, so that a rule over the histogram's `le`
// series counts exactly what the in-process latency SLI counts.
inline constexpr std::array<std::chrono::nanoseconds, 11> default_latency_bounds{
    std::chrono::milliseconds(5),   std::chrono::milliseconds(10),  std::chrono::milliseconds(25),
    std::chrono::milliseconds(50),  std::chrono::milliseconds(100), std::chrono::milliseconds(250),
    std::chrono::milliseconds(500), std::chrono::seconds(1),        std::chrono::milliseconds(2500),
    std::chrono::seconds(5),        std::chrono::seconds(10)};

// TLS handshakes of a frontend (docs/tls.md): completed ones by protocol version and whether
// the session was resumed, failed ones by reason. They are connections, not requests: none of
// them is in the SLI.
inline constexpr std::array<std::string_view, 2> tls_version_names{"TLSv1.2", "TLSv1.3"};
enum class tls_failure {
    protocol_version, // no version both sides speak (a TLS 1.0 or 1.1 client)
    no_shared_cipher,
    unknown_sni,  // refused by `unknown_sni: refuse`
    plain_http,   // an HTTP request sent to the TLS port
    client_alert, // the client gave up, e.g. it does not trust the certificate
    timeout,
    closed, // the client closed or reset the connection during the handshake
    other,
};
inline constexpr std::array<std::string_view, 8> tls_failure_names{
    "protocol_version", "no_shared_cipher", "unknown_sni", "plain_http",
    "client_alert",     "timeout",          "closed",      "other"};

class meter {
public:
    // A target is where a response came from: a server of a backend, or the backend itself
    // when fulcrum answered without one (503 with no server, errors before a server was
    // chosen).
    class shard {
    public:
        shard(const meter& owner, std::size_t frontends, std::size_t targets, std::size_t services);

        // Called only by the shard's own worker thread; read by the scrape thread. `latency`
        // runs from the first byte of the request to the last byte of the response.
        void record(std::size_t frontend, std::size_t target, std::size_t service, int status,
                    std::chrono::nanoseconds latency) {
            bump(frontend_counts_[frontend * status_slots + slot(status)]);
            bump(target_counts_[target * status_slots + slot(status)]);
            bump(service_counts_[service * status_slots + slot(status)]);
            const auto& bounds = owner_.latency_bounds_;
            std::size_t bucket = 0;
            while (bucket < bounds.size() && latency > bounds[bucket]) {
                ++bucket;
            }
            bump(latency_counts_[service * (bounds.size() + 1) + bucket]);
            auto& sum = latency_sum_ns_[service];
            sum.store(sum.load(std::memory_order_relaxed) +
                          static_cast<std::uint64_t>(latency.count()),
                      std::memory_order_relaxed);
            // Released after the status count, so that a reader that acquires this count also
            // sees that response in the totals: fast never exceeds all. A 408 took as long as
            // the client let it (the request head never came): the histogram has its time, the
            // latency SLI does not hold it against the service, as availability holds no 4xx.
            if (latency <= owner_.latency_thresholds_[service] || status == 408) {
                auto& fast = fast_[service];
                fast.store(fast.load(std::memory_order_relaxed) + 1, std::memory_order_release);
            }
        }
        // The client went away before its response was complete: in neither the SLI's
        // numerator nor its denominator.
        void record_aborted(std::size_t service) { bump(aborted_[service]); }
        // Upgraded connections (WebSocket tunnels) of a frontend, opened and closed: their
        // difference over every shard is the gauge of open tunnels. The tunnel's 101 is
        // recorded once, when it closes.
        void record_tunnel_opened(std::size_t frontend) { bump(tunnels_opened_[frontend]); }
        void record_tunnel_closed(std::size_t frontend) { bump(tunnels_closed_[frontend]); }
        void record_tls_handshake(std::size_t frontend, bool tls13, bool resumed) {
            bump(tls_handshakes_[(frontend * 2 + tls13) * 2 + resumed]);
        }
        void record_tls_failure(std::size_t frontend, tls_failure reason) {
            bump(tls_failures_[frontend * tls_failure_names.size() +
                               static_cast<std::size_t>(reason)]);
        }

        std::uint64_t frontend_count(std::size_t frontend, int status) const;
        std::uint64_t target_count(std::size_t target, int status) const;
        std::uint64_t service_count(std::size_t service, int status) const;
        std::uint64_t aborted_count(std::size_t service) const;
        std::uint64_t tunnels_opened(std::size_t frontend) const;
        std::uint64_t tunnels_closed(std::size_t frontend) const;
        std::uint64_t tls_handshakes(std::size_t frontend, bool tls13, bool resumed) const;
        std::uint64_t tls_failures(std::size_t frontend, tls_failure reason) const;
        // Responses in the latency bucket `bucket` (not cumulative; the last one is +Inf).
        std::uint64_t latency_count(std::size_t service, std::size_t bucket) const;
        std::uint64_t latency_sum_ns(std::size_t service) const;
        std::uint64_t fast_count(std::size_t service) const;

    private:
        static std::size_t slot(int status) {
            const int s = status - first_status;
            return (s >= 0 && s < status_slots) ? static_cast<std::size_t>(s) : status_slots - 1;
        }
        // A single writer per shard: a relaxed load and store, no locked read-modify-write.
        static void bump(std::atomic<std::uint64_t>& counter) {
            counter.store(counter.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
        }

        const meter& owner_;
        std::unique_ptr<std::atomic<std::uint64_t>[]> frontend_counts_;
        std::unique_ptr<std::atomic<std::uint64_t>[]> target_counts_;
        std::unique_ptr<std::atomic<std::uint64_t>[]> service_counts_;
        std::unique_ptr<std::atomic<std::uint64_t>[]> aborted_;
        std::unique_ptr<std::atomic<std::uint64_t>[]> tunnels_opened_;
        std::unique_ptr<std::atomic<std::uint64_t>[]> tunnels_closed_;
        std::unique_ptr<std::atomic<std::uint64_t>[]> tls_handshakes_; // [frontend][1.3][resumed]
        std::unique_ptr<std::atomic<std::uint64_t>[]> tls_failures_;   // [frontend][reason]
        std::unique_ptr<std::atomic<std::uint64_t>[]> latency_counts_;
        std::unique_ptr<std::atomic<std::uint64_t>[]> latency_sum_ns_;
        std::unique_ptr<std::atomic<std::uint64_t>[]> fast_;
    };

    meter(const config::config& cfg, std::size_t shards);

    shard& shard_at(std::size_t index) { return *shards_[index]; }

    std::size_t target_of_server(std::size_t backend, std::size_t server) const {
        return first_target_[backend] + 1 + server;
    }
    std::size_t target_of_backend(std::size_t backend) const { return first_target_[backend]; }

    // Services are numbered once, from the config: a route's own service, else its backend's.
    std::size_t service_of_backend(std::size_t backend) const { return backend_service_[backend]; }
    std::size_t service_of_route(std::size_t frontend, std::size_t route) const {
        return route_service_[frontend][route];
    }
    const std::vector<std::string>& services() const { return services_; }
    std::uint64_t service_total(std::size_t service, int status) const;
    std::uint64_t aborted_total(std::size_t service) const;
    // Upgraded connections of the frontend open now, over every shard.
    std::uint64_t tunnels_open(std::size_t frontend) const;
    std::uint64_t tls_handshakes_total(std::size_t frontend, bool tls13, bool resumed) const;
    std::uint64_t tls_failures_total(std::size_t frontend, tls_failure reason) const;
    // Histogram of the edge latency per service: bucket upper bounds, counts per bucket
    // (not cumulative, the last for +Inf) and the sum, summed over every shard.
    const std::vector<std::chrono::nanoseconds>& latency_bounds() const { return latency_bounds_; }
    std::uint64_t latency_total(std::size_t service, std::size_t bucket) const;
    std::uint64_t latency_sum_ns_total(std::size_t service) const;
    // Responses complete within the service's latency threshold (config slo.latency); every
    // response when it has none. Read with acquire: read it before the status totals.
    std::uint64_t fast_total(std::size_t service) const;

    // Sums of every shard, for exposition.
    std::uint64_t frontend_total(std::size_t frontend, int status) const;
    std::uint64_t target_total(std::size_t target, int status) const;

    std::size_t frontend_count() const { return frontends_; }
    std::size_t target_count() const { return targets_; }

private:
    std::size_t frontends_;
    std::size_t targets_;
    std::vector<std::size_t> first_target_; // per backend: its own slot, then its servers
    std::vector<std::string> services_;
    std::vector<std::size_t> backend_service_;
    std::vector<std::vector<std::size_t>> route_service_; // per frontend, per route
    std::vector<std::chrono::nanoseconds> latency_bounds_;
    std::vector<std::chrono::nanoseconds> latency_thresholds_; // per service; max(): none
    std::vector<std::unique_ptr<shard>> shards_;
};

} // namespace fulcrum::sli
