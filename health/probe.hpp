#pragma once

#include "config/config.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace fulcrum::tls {
class client_context;
}

// One active check of one server, on the wire: TCP connect, the TLS handshake for a backend
// with `tls`, and for HTTP checks the request and its response. The checker (checker.cpp)
// schedules probes and keeps their record.
namespace fulcrum::health::detail {

// What a failed check is counted as, in fulcrum_server_check_failures_total{reason}; `own`
// (fulcrum ran out of descriptors or memory) is no check at all and counted elsewhere. A
// refused TLS handshake is a failed connect, as it is on the data plane.
enum class failure : std::uint8_t { none, connect, timeout, status, body, protocol, own };
constexpr std::array<std::string_view, 5> failure_reasons{"connect", "timeout", "status", "body",
                                                          "protocol"};

struct outcome {
    failure reason = failure::none;
    std::string text; // for the log and the admin API
    std::chrono::steady_clock::duration elapsed{};
    bool ok() const { return reason == failure::none; }
};

// What a probe needs of its server, fixed at start.
struct probe_target {
    probe_target(const config::backend& backend, const config::server& server,
                 std::shared_ptr<const tls::client_context> tls_context);

    bool expected(int status) const;

    std::string label; // "app_pool/app-1"
    config::health_check check;
    boost::asio::ip::tcp::endpoint target;
    std::string request;                            // http checks
    std::shared_ptr<const tls::client_context> tls; // null: plain TCP
};

// The connection of one probe, shared with its watchdog (whose handler may run after the probe
// has finished) and with the checker's stop(). abort() closes it: whatever the probe waits for
// fails.
struct connection {
    explicit connection(const boost::asio::any_io_executor& executor) : socket(executor) {}
    void abort();

    boost::asio::ip::tcp::socket socket;
    std::optional<boost::asio::ssl::stream<boost::asio::ip::tcp::socket&>> tls;
    bool timed_out = false;
};

// One check within check.timeout; `in_flight` holds its connection while it runs.
boost::asio::awaitable<outcome> probe(const probe_target& s,
                                      std::shared_ptr<connection>& in_flight);

std::string milliseconds(std::chrono::steady_clock::duration d);

} // namespace fulcrum::health::detail
