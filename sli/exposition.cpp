#include "sli/exposition.hpp"

#include "sli/metric.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <limits>
#include <string>

namespace fulcrum::sli {

namespace {

prometheus::ClientMetric counter(metric_labels labels, std::uint64_t value) {
    return counter_sample(std::move(labels), static_cast<double>(value));
}

// The codes a service's fulcrum_http_requests_total has from start, at 0: success and every code
// fulcrum answers itself. rate() cannot see the first increments of a series that appears with
// them, so a rule over these codes counts their first errors; a code first seen later still
// appears at its first count (the fleet rules do not depend on it: they divide
// fulcrum_http_requests_errors_total by the histogram's _count, both from 0).
constexpr std::array<int, 10> codes_from_start{200, 400, 408, 413, 414, 431, 500, 502, 503, 504};

bool exported_from_start(int status) {
    return std::find(codes_from_start.begin(), codes_from_start.end(), status) !=
           codes_from_start.end();
}

} // namespace

meter_collectable::meter_collectable(const config::config& cfg, const meter& source)
    : meter_(source) {
    for (const auto& frontend : cfg.frontends) {
        if (frontend.tls) {
            tls_frontends_.push_back(frontend_names_.size());
        }
        frontend_names_.push_back(frontend.name);
    }
    for (const auto& backend : cfg.backends) {
        targets_.push_back({backend.name, "<NOSRV>"});
        for (const auto& server : backend.servers) {
            targets_.push_back({backend.name, server.name});
        }
    }
}

std::vector<prometheus::MetricFamily> meter_collectable::Collect() const {
    prometheus::MetricFamily frontends{"fulcrum_frontend_http_responses_total",
                                       "Responses sent to clients, by frontend and status code.",
                                       prometheus::MetricType::Counter,
                                       {}};
    prometheus::MetricFamily backends{
        "fulcrum_backend_http_responses_total",
        "Responses sent to clients, by backend, server (<NOSRV>: answered by fulcrum without a "
        "server) and status code.",
        prometheus::MetricType::Counter,
        {}};
    prometheus::MetricFamily requests{
        "fulcrum_http_requests_total",
        "Responses sent to clients, by service and status code as sent, from a server or from "
        "fulcrum itself: the SLI's denominator, 5xx its failures.",
        prometheus::MetricType::Counter,
        {}};
    prometheus::MetricFamily errors{
        "fulcrum_http_requests_errors_total",
        "5xx responses sent to clients, by service, from start at 0: the SLI's failures.",
        prometheus::MetricType::Counter,
        {}};
    prometheus::MetricFamily aborted{
        "fulcrum_http_requests_aborted_total",
        "Requests whose client went away before the response was complete; not in the SLI.",
        prometheus::MetricType::Counter,
        {}};
    prometheus::MetricFamily latency{
        "fulcrum_http_request_duration_seconds",
        "Edge latency by service: from the first byte of the request to the last byte of the "
        "response, for every response counted in fulcrum_http_requests_total.",
        prometheus::MetricType::Histogram,
        {}};
    prometheus::MetricFamily tunnels{
        "fulcrum_tunnels_open",
        "Upgraded connections (WebSocket and other protocol switches) open now, by frontend.",
        prometheus::MetricType::Gauge,
        {}};
    for (std::size_t f = 0; f < frontend_names_.size(); ++f) {
        tunnels.metric.push_back(gauge_sample({{"frontend", frontend_names_[f]}},
                                              static_cast<double>(meter_.tunnels_open(f))));
    }
    const auto& services = meter_.services();
    const auto& bounds = meter_.latency_bounds();
    for (std::size_t s = 0; s < services.size(); ++s) {
        aborted.metric.push_back(counter({{"service", services[s]}}, meter_.aborted_total(s)));
        std::uint64_t server_errors = 0;
        for (int status = 500; status < 600; ++status) {
            server_errors += meter_.service_total(s, status);
        }
        errors.metric.push_back(counter({{"service", services[s]}}, server_errors));
        prometheus::ClientMetric histogram;
        histogram.label = {{"service", services[s]}};
        std::uint64_t cumulative = 0;
        for (std::size_t b = 0; b <= bounds.size(); ++b) {
            cumulative += meter_.latency_total(s, b);
            histogram.histogram.bucket.push_back(
                {cumulative, b < bounds.size() ? std::chrono::duration<double>(bounds[b]).count()
                                               : std::numeric_limits<double>::infinity()});
        }
        histogram.histogram.sample_count = cumulative;
        histogram.histogram.sample_sum = static_cast<double>(meter_.latency_sum_ns_total(s)) / 1e9;
        latency.metric.push_back(std::move(histogram));
    }
    for (int status = first_status; status < first_status + status_slots; ++status) {
        const std::string code = std::to_string(status);
        for (std::size_t s = 0; s < services.size(); ++s) {
            if (const auto n = meter_.service_total(s, status);
                n > 0 || exported_from_start(status)) {
                requests.metric.push_back(counter({{"service", services[s]}, {"code", code}}, n));
            }
        }
        for (std::size_t f = 0; f < frontend_names_.size(); ++f) {
            if (const auto n = meter_.frontend_total(f, status); n > 0) {
                frontends.metric.push_back(
                    counter({{"frontend", frontend_names_[f]}, {"code", code}}, n));
            }
        }
        for (std::size_t t = 0; t < targets_.size(); ++t) {
            if (const auto n = meter_.target_total(t, status); n > 0) {
                backends.metric.push_back(counter({{"backend", targets_[t].backend},
                                                   {"server", targets_[t].server},
                                                   {"code", code}},
                                                  n));
            }
        }
    }
    std::vector<prometheus::MetricFamily> families{
        std::move(requests),  std::move(errors),   std::move(aborted), std::move(latency),
        std::move(frontends), std::move(backends), std::move(tunnels)};
    add_tls_families(families);
    return families;
}

void meter_collectable::add_tls_families(std::vector<prometheus::MetricFamily>& out) const {
    if (tls_frontends_.empty()) {
        return;
    }
    prometheus::MetricFamily handshakes{
        "fulcrum_tls_handshakes_total",
        "TLS handshakes completed, by frontend, protocol version and whether the session was "
        "resumed.",
        prometheus::MetricType::Counter,
        {}};
    prometheus::MetricFamily failures{
        "fulcrum_tls_handshake_failures_total",
        "TLS handshakes that failed, by frontend and reason; connections, not requests: not in "
        "the SLI.",
        prometheus::MetricType::Counter,
        {}};
    for (const std::size_t f : tls_frontends_) {
        for (const bool tls13 : {false, true}) {
            for (const bool resumed : {false, true}) {
                handshakes.metric.push_back(
                    counter({{"frontend", frontend_names_[f]},
                             {"version", std::string(tls_version_names[tls13])},
                             {"resumed", resumed ? "true" : "false"}},
                            meter_.tls_handshakes_total(f, tls13, resumed)));
            }
        }
        for (std::size_t r = 0; r < tls_failure_names.size(); ++r) {
            failures.metric.push_back(counter(
                {{"frontend", frontend_names_[f]}, {"reason", std::string(tls_failure_names[r])}},
                meter_.tls_failures_total(f, static_cast<tls_failure>(r))));
        }
    }
    out.push_back(std::move(handshakes));
    out.push_back(std::move(failures));
}

} // namespace fulcrum::sli
