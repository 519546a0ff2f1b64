#pragma once

#include "config/config.hpp"
#include "sli/meter.hpp"

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <string>
#include <vector>

namespace fulcrum::sli {

// Exposes the meter's shards, summed at scrape time, as Prometheus counters:
//   fulcrum_http_requests_total{service, code}
//   fulcrum_http_requests_aborted_total{service}
//   fulcrum_http_request_duration_seconds{service} (histogram)
//   fulcrum_frontend_http_responses_total{frontend, code}
//   fulcrum_backend_http_responses_total{backend, server, code}
//   fulcrum_tls_handshakes_total{frontend, version, resumed} and
//   fulcrum_tls_handshake_failures_total{frontend, reason}, for frontends with TLS, from 0
// where server is "<NOSRV>" (as HAProxy writes it) for answers fulcrum gave without a server.
// Only codes that occurred are listed.
class meter_collectable : public prometheus::Collectable {
public:
    meter_collectable(const config::config& cfg, const meter& source);

    std::vector<prometheus::MetricFamily> Collect() const override;

private:
    struct target_labels {
        std::string backend;
        std::string server;
    };

    void add_tls_families(std::vector<prometheus::MetricFamily>& out) const;

    const meter& meter_;
    std::vector<std::string> frontend_names_;
    std::vector<std::size_t> tls_frontends_;
    std::vector<target_labels> targets_;
};

} // namespace fulcrum::sli
