#pragma once

// The TLS settings fulcrum offers when the configuration does not say: Mozilla's "intermediate"
// server-side profile (https://ssl-config.mozilla.org/, guidelines 5.7), for "general-purpose
// servers with a variety of clients". Its DHE suites are left out: they need Diffie-Hellman
// parameters of their own, and every client that has them has ECDHE too. docs/tls.md lists them.
namespace fulcrum::tls::profile {

// TLS 1.2, in Mozilla's order (the client's preference wins, as the profile says).
inline constexpr const char* ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                                       "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                                       "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
// TLS 1.3: all three of its suites.
inline constexpr const char* ciphersuites =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
// Key exchange groups, in Mozilla's order.
inline constexpr const char* groups = "X25519:P-256:P-384";

} // namespace fulcrum::tls::profile
