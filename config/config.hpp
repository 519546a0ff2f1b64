#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// The YAML configuration as plain structs. Loading resolves `defaults` into every frontend and
// backend and every backend name into an index, so nothing downstream looks names up.
namespace fulcrum::config {

using duration = std::chrono::milliseconds;

// An IP literal and a port. `host` is "0.0.0.0" for "*:80"; IPv6 literals are stored without
// brackets. Port 0 on a bind means "let the kernel pick" (tests read the port back from the log).
struct endpoint {
    std::string host;
    std::uint16_t port = 0;

    std::string to_string() const; // "10.0.0.1:80", "[::1]:80"
    bool operator==(const endpoint&) const = default;
};

struct timeouts {
    duration connect{5000};       // TCP connect to a server
    duration client{30000};       // client inactivity while a request or response is in flight
    duration server{30000};       // server inactivity: waiting for or reading a response
    duration http_request{10000}; // whole request head must arrive within this
    duration keepalive{60000};    // idle client connection between requests
    // An upgraded connection (WebSocket) with no byte in either direction; as HAProxy's
    // `timeout tunnel` advice, long, because such connections are quiet by nature.
    duration tunnel{3600000};
};

struct limits {
    std::size_t max_head_bytes = 16 * 1024;
    std::size_t max_headers = 100;
    std::size_t max_uri_bytes = 8 * 1024;
    std::uint64_t max_body_bytes = 0; // 0: unlimited
};

// Idle keep-alive connections to servers, kept per worker and per server.
struct pool {
    // Enough for every request in flight to find its server connection again: a smaller pool
    // closes and reopens connections under load (measured in bench/: 1000 clients with 64
    // opened ~5000 server connections a second).
    std::size_t max_idle_per_server = 1024;
    // Shorter than the servers' own keep-alive timeout (nginx: 75 s, Apache: 5 s), so that a
    // pooled connection is dropped by us before the server closes it under a request.
    duration idle_timeout{4000};
};

struct status_range {
    int low = 200;
    int high = 399;
    bool operator==(const status_range&) const = default;
};

// Active health checks of a server: `defaults.health_check`, the backend's `health_check` and
// the server's `check`, applied key by key in that order.
struct health_check {
    enum class kind { tcp, http };
    bool enabled = true;        // `check: false` on a server turns checks off
    kind type = kind::tcp;      // tcp: a connect is enough, as HAProxy's `check`
    std::string path = "/";     // http
    std::string method = "GET"; // http: GET or HEAD
    std::string host;           // http: Host header; empty: the address checked (IP:port)
    std::vector<status_range> expect_status{{200, 399}}; // http
    std::string expect_body; // http: substring the body must contain; empty: none
    duration interval{2000};
    duration timeout{1000};
    unsigned rise = 2;      // consecutive passed checks that bring a DOWN server UP
    unsigned fall = 3;      // consecutive failed checks that take an UP server DOWN
    std::uint16_t port = 0; // 0: the server's own port
};

// Requests observed by the workers that take a server DOWN before its next active check.
struct passive_health {
    unsigned connect_failures = 3; // consecutive failed connects; 0: off
    unsigned server_errors = 0;    // consecutive 5xx responses; 0: off (the default)
    // Consecutive exchanges that failed after the connect: the server closed or reset before a
    // complete response, sent an invalid one, or went quiet past timeouts.server; 0: off.
    unsigned gateway_errors = 5;
};

// Where a setting was written, for the messages of checks made after loading (a certificate
// that does not parse is found by tls/, which config/ does not link).
struct origin {
    std::string file;
    int line = 0;
    int column = 0;
    std::string path; // key path, e.g. "frontends[0].tls.certificates[1]"
    bool operator==(const origin&) const = default;
};

// A certificate chain and its private key, PEM files. `key` empty: the key is in `cert`'s file
// (HAProxy's habit). Checked at load: readable, parses, key matches, key not group/world
// readable; an expired certificate is a warning (docs/tls.md).
struct certificate_files {
    std::string cert;
    std::string key;
    struct origin origin;
    bool operator==(const certificate_files&) const = default;
};

enum class tls_version { tls1_2, tls1_3 };

// HTTP Strict Transport Security, sent on responses to requests that arrived over TLS.
struct hsts {
    std::uint64_t max_age_seconds = 31536000; // one year, the HSTS preload list's minimum
    bool include_subdomains = false;
    bool preload = false;
};

// TLS termination on a frontend (docs/tls.md).
struct frontend_tls {
    std::vector<endpoint> bind;                  // addresses served over TLS
    std::vector<certificate_files> certificates; // the first is the default certificate
    // A client whose SNI names no certificate (or sends none): served the default certificate,
    // or its handshake refused (unrecognized_name alert).
    enum class unknown_sni { serve_default, refuse } on_unknown_sni = unknown_sni::serve_default;
    tls_version min_version = tls_version::tls1_2;
    // Empty: Mozilla's "intermediate" profile (tls/profile.hpp).
    std::string ciphers;      // TLS 1.2 cipher list, OpenSSL syntax
    std::string ciphersuites; // TLS 1.3 suites, OpenSSL syntax
    bool session_tickets = true;
    duration session_timeout{300000}; // lifetime of a resumable session (ticket or cache)
    std::optional<struct hsts> hsts;
    struct origin origin; // of the `tls` map
};

// TLS to a backend's servers (re-encryption), for its requests and its health checks.
struct backend_tls {
    // CA certificates (PEM) the servers' certificates must chain to; empty: the system's store.
    std::string ca;
    bool verify = true;
    // Sent as SNI and checked against the certificate; empty: no SNI, and the certificate must
    // name the server's IP address.
    std::string server_name;
    std::optional<certificate_files> client_certificate;
    tls_version min_version = tls_version::tls1_2;
    struct origin origin; // of the `tls` map, for a CA file that does not parse
};

// `redirect` on a frontend or route: requests that arrived over plain HTTP get this answer
// (HAProxy's `http-request redirect scheme https`); requests over TLS go on.
struct redirect {
    std::string scheme = "https";
    int code = 301;         // 301, 302, 303, 307 or 308
    std::uint16_t port = 0; // in the Location; 0: none, the scheme's own (443)
    bool operator==(const redirect&) const = default;
};

struct server {
    std::string name;
    endpoint address;
    unsigned weight = 1; // 1..256
    health_check check;
};

struct backend {
    std::string name;
    std::string service; // SLI service label; defaults to the backend name
    std::vector<server> servers;
    duration connect_timeout{5000};
    duration server_timeout{30000};
    duration tunnel_timeout{3600000};
    unsigned retries = 1; // further servers tried after a failed connect
    struct pool pool;
    passive_health passive;
    std::optional<backend_tls> tls; // absent: plain TCP to the servers
};

struct route {
    std::string host;        // exact match on the Host header without port; empty: any host
    std::string path_prefix; // prefix of the request target's path; empty: any path
    std::size_t backend = 0; // index into config::backends
    std::string service;     // SLI service label; defaults to the backend's service
    std::optional<struct redirect> redirect; // before the frontend's own
};

struct frontend {
    std::string name;
    std::vector<endpoint> bind;
    std::size_t default_backend = 0; // index into config::backends
    std::vector<route> routes;       // first match wins, then default_backend
    bool forwardfor = true;
    duration client_timeout{30000};
    duration http_request_timeout{10000};
    duration keepalive_timeout{60000};
    struct limits limits;
    std::size_t maxconn = 0; // client connections at once; 0: the global maxconn
    std::optional<frontend_tls> tls;
    std::optional<struct redirect> redirect;
};

struct admin {
    // Connections the admin listener keeps at once (docs/operations.md); the descriptor reserve
    // behind the default maxconn counts them too.
    static constexpr std::size_t max_connections = 32;

    endpoint bind{"127.0.0.1", 9100};
    // Bearer token for the mutating admin API, read from this file (which must not be group
    // or world readable); empty: the mutating API is disabled (403).
    std::string token_file;
    // Of the admin listener's connections, shorter than a frontend's (docs/operations.md):
    // http_request bounds a request head, keepalive the wait for the next request, and client
    // the whole transfer of a request body and of a response. connect, server and tunnel do
    // not apply.
    struct timeouts timeouts = {
        .client = duration(10000), .http_request = duration(5000), .keepalive = duration(10000)};
};

struct global {
    unsigned threads = 0;           // 0: one per core ("auto")
    duration shutdown_grace{10000}; // SIGTERM: time given to in-flight requests
    // Off only to measure what counting costs (bench/): nothing is counted then.
    bool metering = true;
    // Where the SLI windows are saved across restarts (an absolute path); empty: systemd's
    // $STATE_DIRECTORY when set, else not saved (app/main.cpp decides, docs/sli.md).
    std::string state_dir;
    duration state_interval{60000}; // a kill -9 loses at most this much of the windows
    // Client connections at once, over all frontends; 0: derived from the descriptor limit
    // (proxy/connection_limit.hpp, docs/operations.md).
    std::size_t maxconn = 0;
};

// What a service promises (docs/sli.md): percentages as written, 99.95 for 99.95 %.
struct latency_objective {
    duration threshold{300}; // a response is fast when it is complete within this
    double percent = 99;     // share of responses that are fast
    bool operator==(const latency_objective&) const = default;
};

struct objectives {
    double availability_percent = 99.95;      // share of responses that are not 5xx
    std::optional<latency_objective> latency; // none: no latency SLI
    bool operator==(const objectives&) const = default;
};

// `slo` sets the objectives of every service; `slo.services.<name>` overrides them key by key.
struct slo {
    objectives defaults;
    std::map<std::string, objectives, std::less<>> services;

    const objectives& of(std::string_view service) const;
};

// failover.hooks: commands run when this node's role changes, each an argv list (never a shell
// string); empty: no hook. docs/failover.md gives the environment they see.
struct failover_hooks {
    std::vector<std::string> on_active;
    std::vector<std::string> on_passive;
    std::vector<std::string> on_fault;
    duration timeout{30000}; // then SIGTERM to the hook's process group, and SIGKILL
};

// failover.reserved_ip: the built-in action that assigns a DigitalOcean reserved IP to this
// droplet on becoming ACTIVE.
struct reserved_ip {
    std::string address;    // IPv4 literal, normalised
    std::string token_file; // the API token; must not be group or world readable
    // Without a trailing slash, so that paths append: api_base + "/v2/reserved_ips/...".
    std::string api_base = "https://api.digitalocean.com";
    std::string metadata_base = "http://169.254.169.254";
    duration recheck{10000}; // how often an ACTIVE node asks who holds the IP
};

// The built-in failover controller of an active-passive pair. Defaults follow keepalived's
// where it has one (priority 100, preempt_delay 0); docs/configuration.md gives the reasons.
struct failover {
    // false: keepalived or Pacemaker runs the pair, and the section only gives `fulcrum
    // reserved-ip` its reserved_ip settings.
    bool controller = true;
    std::string node;        // this node's name, unique in the pair; breaks priority ties
    unsigned priority = 100; // 1..255; the higher one is ACTIVE when both are healthy
    bool preempt = false;    // may a recovered higher-priority node take the role back?
    duration preempt_delay{0};
    endpoint peer;           // the peer's admin listener, where its /healthz is asked
    duration interval{1000}; // one peer question and one decision per interval
    unsigned fall = 3;       // consecutive missed or unhealthy answers: the peer is down
    unsigned rise = 2;       // consecutive healthy answers: the peer is up again
    // After a transition, none for this long but into FAULT or a yield to a winning peer.
    duration hold_down{5000};
    failover_hooks hooks;
    std::optional<struct reserved_ip> reserved_ip;
};

struct config {
    struct global global;
    struct admin admin;
    std::vector<frontend> frontends;
    std::vector<backend> backends;
    struct slo slo;
    std::optional<struct failover> failover; // absent: no failover controller
};

// One problem found in a file, located at the YAML node that is wrong.
struct diagnostic {
    std::string file;
    int line = 0;        // 1-based; 0: the file as a whole (unreadable, empty)
    int column = 0;      // 1-based; 0 with line 0
    std::string path;    // key path, e.g. "frontends[0].bind[1]"
    std::string message; // e.g. "unknown key 'bnd' (did you mean 'bind'?)"

    // "file:line:col: path: message"; the path is left out when empty, the position when line
    // is 0 ("file: cannot read: No such file or directory").
    std::string to_string() const;
};

struct load_result {
    config value;                   // meaningful only when errors is empty
    std::vector<diagnostic> errors; // every error in the file, in document order
    bool ok() const { return errors.empty(); }
};

// Every SLI service of `c`, each once, in the order the meter numbers them: the backends'
// services, then the routes' own.
std::vector<std::string> service_names(const config& c);

// Reads and validates a configuration. Never throws for bad input: every problem is reported
// as a diagnostic. `file_name` is used in diagnostics for load_string.
load_result load_file(const std::string& path);
load_result load_string(std::string_view text, const std::string& file_name);

// "10s", "500ms", "2m", "1h", "1d", up to 2147483647ms (config/values.hpp); a bare number is
// not accepted (ambiguous unit).
bool parse_duration(std::string_view text, duration& out);
// "1.2.3.4:80", "[::1]:80", "*:80"; `allow_wildcard` for binds only, which also accept port 0
// (a server needs a real port). False, with `out` untouched, for anything else.
bool parse_endpoint(std::string_view text, bool allow_wildcard, endpoint& out);

} // namespace fulcrum::config
