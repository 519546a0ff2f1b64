#pragma once

#include "base/asio.hpp"
#include "config/config.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

#include <linux/sockios.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>

namespace fulcrum::proxy::detail {

// Whether a response written to a client that had closed its sending side reached it. TCP
// cannot tell a half-close (shutdown of the write side, the client still reading) from a close
// until data arrives: a closed socket answers it with a reset, a half-closed one acknowledges
// it. So after the last write, wait until the client's TCP has acknowledged every byte (true)
// or reset the connection (false), for at most `within`. Polled, on a path only half-closing
// clients take.
template <typename Stream>
boost::asio::awaitable<bool> acknowledged(Stream& client, config::duration within) {
    const int fd = client.lowest_layer().native_handle();
    boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor);
    const auto give_up = std::chrono::steady_clock::now() + within;
    auto pause = std::chrono::milliseconds(1);
    for (;;) {
        tcp_info info{};
        socklen_t length = sizeof info;
        int unacknowledged = 0;
        if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &length) != 0 ||
            info.tcpi_state == TCP_CLOSE || ::ioctl(fd, SIOCOUTQ, &unacknowledged) != 0) {
            co_return false;
        }
        if (unacknowledged == 0) {
            co_return true;
        }
        if (std::chrono::steady_clock::now() >= give_up) {
            co_return false;
        }
        timer.expires_after(pause);
        boost::system::error_code ec;
        co_await timer.async_wait(base::with(ec));
        pause = std::min(pause * 2, std::chrono::milliseconds(100));
    }
}

} // namespace fulcrum::proxy::detail
