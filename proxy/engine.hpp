#pragma once

#include "health/server_states.hpp"
#include "proxy/connection_limit.hpp"
#include "proxy/runtime.hpp"
#include "sli/meter.hpp"
#include "tls/server_contexts.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <prometheus/collectable.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace fulcrum::proxy {

class worker;

// The data plane: W workers, each with its own io_context and thread, its own acceptor per
// frontend bind (SO_REUSEPORT, so the kernel spreads connections), its own upstream pool and
// its own meter shard. What workers share on the request path, and why, is in
// docs/architecture.md ("What workers share").
class engine {
public:
    struct listener {
        std::string frontend;
        boost::asio::ip::tcp::endpoint address; // the bound address (a port 0 bind resolved)
        bool tls;
    };
    // Per frontend, its TLS contexts; null for a frontend without `tls`.
    using certificates = std::vector<std::shared_ptr<const tls::server_contexts>>;

    // `plan`: the connection limits and the pools' share of the descriptors.
    engine(std::shared_ptr<const runtime> rt, sli::meter& meter, health::server_states& states,
           std::size_t threads, const descriptor_plan& plan, const certificates& tls);
    ~engine();
    engine(const engine&) = delete;
    engine& operator=(const engine&) = delete;

    // Binds every frontend address on every worker. Throws std::runtime_error naming the
    // address and the reason when a bind fails.
    void listen();
    const std::vector<listener>& listeners() const { return listeners_; }

    void start();
    // Stops accepting; idle client connections are closed, busy ones are closed after their
    // current response.
    void drain();
    // Ends every upgraded connection (the shutdown grace is over); each is metered as it ends.
    void end_tunnels();
    // New TLS handshakes use these; connections already established keep theirs. From any
    // thread.
    void replace_certificates(const certificates& tls);
    // Client connections still open, over all workers.
    std::size_t open_connections() const { return limit_.open(); }
    void stop();

    // fulcrum_maxconn, fulcrum_frontend_maxconn, fulcrum_frontend_connections,
    // fulcrum_accept_pauses_total and fulcrum_resource_exhaustion_total (base/exhaustion.hpp,
    // process-wide). Lives as long as the engine.
    std::shared_ptr<prometheus::Collectable> metrics() const;

private:
    connection_limit limit_;
    std::vector<std::unique_ptr<worker>> workers_;
    std::vector<listener> listeners_;
};

} // namespace fulcrum::proxy
