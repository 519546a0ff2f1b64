#pragma once

#include "app/admin_api.hpp"
#include "config/config.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <cstddef>
#include <list>
#include <memory>

namespace fulcrum {

// The admin listener's HTTP transport, on the control thread; what it answers is admin_api's.
// Bounded so that no client can hold it or the process's descriptors (docs/operations.md, "The
// admin listener"): timeouts per phase of a connection (admin.timeouts), at most
// max_connections at once, and accept failures retried after a pause.
class admin_server {
public:
    // Enough for a few Prometheus servers, the peer node and operators at once. At the limit a
    // new connection takes the place of the one that has waited longest for its client.
    static constexpr std::size_t max_connections = config::admin::max_connections;

    admin_server(boost::asio::io_context& context, const boost::asio::ip::tcp::endpoint& bind,
                 const config::timeouts& timeouts, const admin_api& api);
    ~admin_server();

    boost::asio::ip::tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }
    void start();
    void stop();

private:
    class connection;

    boost::asio::awaitable<void> accept_loop();
    void admit(boost::asio::ip::tcp::socket socket);
    bool make_room();
    boost::asio::awaitable<void> serve(std::shared_ptr<connection> c);

    boost::asio::io_context& context_;
    boost::asio::ip::tcp::acceptor acceptor_;
    config::timeouts timeouts_;
    const admin_api& api_;
    std::list<std::shared_ptr<connection>> connections_;
    bool limit_logged_ = false; // once per stretch at the limit
};

} // namespace fulcrum
