#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <exception>
#include <optional>
#include <utility>

namespace fulcrum::testing {

// Runs `operation` on an io_context of its own until it is done, and returns its result (or
// rethrows what it threw): how a test calls one coroutine of the code under test.
template <typename T> T run_awaitable(boost::asio::awaitable<T> operation) {
    boost::asio::io_context io;
    std::optional<T> result;
    std::exception_ptr failure;
    boost::asio::co_spawn(io, std::move(operation), [&](std::exception_ptr e, T r) {
        failure = e;
        result = std::move(r);
    });
    io.run();
    if (failure) {
        std::rethrow_exception(failure);
    }
    return std::move(result).value();
}

} // namespace fulcrum::testing
