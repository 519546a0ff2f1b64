#pragma once

#include "config/config.hpp"
#include "tls/server_contexts.hpp"

#include <prometheus/collectable.h>

#include <cstdint>
#include <memory>
#include <vector>

namespace fulcrum {

// The frontends' TLS certificates while fulcrum runs (docs/tls.md): loaded at start, loaded
// again from their files on SIGHUP, and exposed as
//   fulcrum_tls_certificate_expiry_timestamp_seconds{frontend, name, key_type}
//   fulcrum_tls_certificate_reloads_total{result}
// On the control thread only.
class certificates {
public:
    // Per frontend, its contexts; null for a frontend without `tls`.
    using set = std::vector<std::shared_ptr<const tls::server_contexts>>;

    // Throws tls::setting_error for the first certificate that cannot be served.
    explicit certificates(const config::config& cfg);

    const set& current() const { return current_; }
    // Loads every certificate again. Returns the errors, located at their settings, and keeps
    // the current set when there is any; the new set is current() otherwise.
    std::vector<config::diagnostic> reload();
    std::size_t count() const;

    std::shared_ptr<prometheus::Collectable> metrics() const;

private:
    set load() const;

    const config::config& cfg_;
    set current_;
    std::uint64_t reloads_ = 0;
    std::uint64_t failed_reloads_ = 0;
};

} // namespace fulcrum
