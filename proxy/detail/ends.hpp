#pragma once

#include "base/asio.hpp"
#include "config/config.hpp"
#include "proxy/detail/byte_buffer.hpp"
#include "proxy/detail/deadline.hpp"

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <cstddef>
#include <string_view>

// The I/O of the phases: each end of an exchange with the deadline that guards it. A timeout
// surfaces as asio::error::timed_out, whatever the deadline did to the socket to end the wait.
namespace fulcrum::proxy::detail {

using boost::system::error_code;

// Reads the client. While fulcrum waits for a server or relays its response, and between
// requests, a read into a small inbox stays in flight (watch()): the client leaving is noticed
// at once, without a readiness wait per request, and an idle connection holds no exchange
// buffer. When the exchange needs the client's bytes, read() hands over the inbox or reads
// straight into the exchange's buffer. One read at a time, always.
template <typename Stream> class client_reader {
public:
    // Called when the background read ends in a close or an error while nobody awaits it.
    using closed_action = void (*)(void* owner, const error_code& ec);

    client_reader(Stream& stream, closed_action on_closed, void* owner)
        : stream_(stream), on_closed_(on_closed), owner_(owner) {}

    // Starts the background read, unless one is in flight, the inbox holds bytes or the
    // client is gone.
    void watch() {
        if (pending_ || inbox_begin_ != inbox_end_ || closed_) {
            return;
        }
        pending_ = true;
        stream_.async_read_some(
            boost::asio::buffer(inbox_),
            boost::asio::bind_allocator(
                base::operation_allocator<void>(),
                [this](const error_code& ec, std::size_t n) { on_read(ec, n); }));
    }

    // The client's next bytes appended to `into`: the inbox's, else those of the read in
    // flight, else a read straight into `into`. The error once the client is gone (eof,
    // reset, or operation_aborted after a cancel).
    boost::asio::awaitable<error_code> read(byte_buffer& into) {
        if (pending_) {
            co_await wait();
        }
        if (take_inbox(into)) {
            co_return error_code{};
        }
        if (closed_) {
            co_return closed_;
        }
        error_code ec;
        const std::size_t n = co_await stream_.async_read_some(into.writable(), base::with(ec));
        if (ec) {
            closed_ = ec;
        } else {
            into.commit(n);
        }
        co_return ec;
    }

    // Awaits input between requests, holding no exchange: true once the inbox has bytes.
    boost::asio::awaitable<bool> await_input() {
        watch();
        if (pending_) {
            co_await wait();
        }
        co_return inbox_begin_ != inbox_end_;
    }

    // Lets a read in flight finish (after a cancel or close), so that nothing refers to the
    // reader any more.
    boost::asio::awaitable<void> settle() {
        if (pending_) {
            co_await wait();
        }
    }

    // Drops the coroutine waiting for the read in flight, without resuming it: for a worker
    // that stops without running its connections to their end.
    void abandon() { auto dropped = std::move(waiter_); }

    bool pending() const { return pending_; }
    bool has_input() const { return inbox_begin_ != inbox_end_; }
    // Why the client is gone; empty while it is there.
    const error_code& closed() const { return closed_; }

private:
    void on_read(const error_code& ec, std::size_t n) {
        pending_ = false;
        if (ec) {
            closed_ = ec;
        } else {
            inbox_begin_ = 0;
            inbox_end_ = n;
        }
        if (waiter_) {
            auto resume = std::move(waiter_);
            std::move(resume)();
        } else if (ec && ec != boost::asio::error::operation_aborted) {
            on_closed_(owner_, ec);
        }
    }

    auto wait() {
        return boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&, void()>(
            [this](auto handler) {
                // Not an assignment: Boost 1.81's move assignment of any_completion_handler
                // copies from an lvalue and recurses without end.
                boost::asio::any_completion_handler<void()>(std::move(handler)).swap(waiter_);
            },
            boost::asio::use_awaitable);
    }

    bool take_inbox(byte_buffer& into) {
        if (inbox_begin_ == inbox_end_) {
            return false;
        }
        inbox_begin_ +=
            into.append(std::string_view(inbox_.data() + inbox_begin_, inbox_end_ - inbox_begin_));
        return true;
    }

    Stream& stream_;
    closed_action on_closed_;
    void* owner_;
    boost::asio::any_completion_handler<void()> waiter_;
    error_code closed_;
    bool pending_ = false;
    std::uint16_t inbox_begin_ = 0;
    std::uint16_t inbox_end_ = 0;
    // Holds a typical request head (curl's, wrk's); a larger one is read on into the exchange.
    std::array<char, 512> inbox_;
};

// The client as the phases see it: its reader, its stream for writing, and its deadline.
template <typename Stream> struct client_end {
    client_reader<Stream>& reader;
    Stream& stream;
    deadline& timer;
    config::duration timeout;

    boost::asio::awaitable<error_code> read_some(byte_buffer& into) {
        timer.arm(timeout);
        auto ec = co_await reader.read(into);
        timer.disarm();
        co_return timer.expired() ? boost::asio::error::timed_out : ec;
    }

    template <typename Buffers> boost::asio::awaitable<error_code> write(const Buffers& buffers) {
        timer.arm(timeout);
        error_code ec;
        co_await boost::asio::async_write(stream, buffers, base::with(ec));
        timer.disarm();
        co_return timer.expired() ? boost::asio::error::timed_out : ec;
    }
};

// A server connection as the phases see it.
template <typename Stream> struct server_end {
    Stream& stream;
    deadline& timer;
    config::duration timeout;

    boost::asio::awaitable<error_code> read_some(byte_buffer& into) {
        timer.arm(timeout);
        error_code ec;
        const std::size_t n = co_await stream.async_read_some(into.writable(), base::with(ec));
        timer.disarm();
        if (timer.expired()) {
            co_return boost::asio::error::timed_out;
        }
        if (!ec) {
            into.commit(n);
        }
        co_return ec;
    }

    template <typename Buffers> boost::asio::awaitable<error_code> write(const Buffers& buffers) {
        timer.arm(timeout);
        error_code ec;
        co_await boost::asio::async_write(stream, buffers, base::with(ec));
        timer.disarm();
        co_return timer.expired() ? boost::asio::error::timed_out : ec;
    }
};

} // namespace fulcrum::proxy::detail
