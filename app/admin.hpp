#pragma once

// Asio 1.74's awaitable.hpp uses std::exchange without including <utility>.
#include <utility>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <prometheus/collectable.h>

#include <functional>
#include <memory>
#include <vector>

namespace fulcrum {

// The admin listener, on the control thread: GET /healthz (200 while serving, 503 while
// draining) and GET /metrics (Prometheus text format).
class admin_server {
public:
    admin_server(boost::asio::io_context& context, const boost::asio::ip::tcp::endpoint& bind,
                 std::vector<std::shared_ptr<prometheus::Collectable>> collectables);

    boost::asio::ip::tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }
    void start();
    void set_draining() { draining_ = true; }
    void stop();

private:
    boost::asio::awaitable<void> accept_loop();
    boost::asio::awaitable<void> serve(boost::asio::ip::tcp::socket socket);

    boost::asio::io_context& context_;
    boost::asio::ip::tcp::acceptor acceptor_;
    std::vector<std::shared_ptr<prometheus::Collectable>> collectables_;
    bool draining_ = false;
};

} // namespace fulcrum
