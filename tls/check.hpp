#pragma once

#include "config/config.hpp"

#include <chrono>
#include <vector>

namespace fulcrum::tls {

struct check_result {
    std::vector<config::diagnostic> errors;   // the start would fail on each
    std::vector<config::diagnostic> warnings; // served anyway: an expired certificate
};

// What a start would find wrong with the configuration's TLS settings, located at the setting:
// a certificate or key that cannot be read or parsed, a key readable by group or others, a key
// that does not match, a cipher list OpenSSL does not take; a backend's CA file or client
// certificate that cannot be loaded. A certificate outside its validity at `now` is a warning
// with the date: nginx and HAProxy serve it too, and refusing to start would take the
// plain-HTTP frontends down with it.
check_result check(const config::config& cfg, std::chrono::system_clock::time_point now);

} // namespace fulcrum::tls
