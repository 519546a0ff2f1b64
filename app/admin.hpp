#pragma once

#include "app/admin_api.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace fulcrum {

// The admin listener's HTTP transport, on the control thread; what it answers is admin_api's.
class admin_server {
public:
    admin_server(boost::asio::io_context& context, const boost::asio::ip::tcp::endpoint& bind,
                 const admin_api& api);

    boost::asio::ip::tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }
    void start();
    void stop();

private:
    boost::asio::awaitable<void> accept_loop();
    boost::asio::awaitable<void> serve(boost::asio::ip::tcp::socket socket);

    boost::asio::io_context& context_;
    boost::asio::ip::tcp::acceptor acceptor_;
    const admin_api& api_;
};

} // namespace fulcrum
