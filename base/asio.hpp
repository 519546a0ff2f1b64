#pragma once

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/error_code.hpp>

namespace fulcrum::base {

// The completion token of an awaited operation whose failure is an outcome to handle rather
// than an exception: `co_await socket.async_connect(to, base::with(ec))`.
inline auto with(boost::system::error_code& ec) {
    return boost::asio::redirect_error(boost::asio::use_awaitable, ec);
}

} // namespace fulcrum::base
