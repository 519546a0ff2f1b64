#pragma once

#include "proxy/detail/deadline.hpp"
#include "proxy/detail/phases.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>
#include <gtest/gtest.h>

#include <sys/ioctl.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <exception>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <variant>

// The phases' results by name in test failures (found by argument-dependent lookup).
namespace fulcrum::proxy::detail {

inline void PrintTo(request_head_result r, std::ostream* os) {
    constexpr const char* names[] = {"ready", "closed", "refused"};
    *os << names[static_cast<int>(r)];
}
inline void PrintTo(response_head_result r, std::ostream* os) {
    constexpr const char* names[] = {"ready", "untouched", "broken", "malformed", "timed_out"};
    *os << names[static_cast<int>(r)];
}
inline void PrintTo(pump_result::fault f, std::ostream* os) {
    constexpr const char* names[] = {"none", "source", "sink", "message"};
    *os << names[static_cast<int>(f)];
}

} // namespace fulcrum::proxy::detail

// What the tests of the proxy's phases share: one io_context, connected TCP socket pairs on
// 127.0.0.1, the worker's deadline queues, and ways to run a phase to its end with a bound, so
// that a broken phase fails its test instead of hanging the suite.
namespace fulcrum::testing {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;
using namespace std::chrono_literals;

// A connected pair: `near` is the end the code under test uses, `peer` the end the test plays
// (a client or a server), driven with plain system calls on its handle between steps.
struct socket_pair {
    tcp::socket near;
    tcp::socket peer;
};

// A coroutine spawned on the fixture's context: its value once it is done.
template <typename T> struct task_state {
    bool done = false;
    std::optional<T> value;
    std::exception_ptr failure;
};
template <typename T> using task = std::shared_ptr<task_state<T>>;

// Deadline actions, as the session gives them: end the wait on a socket.
inline void cancel_socket(void* socket) {
    error_code ignored;
    static_cast<tcp::socket*>(socket)->cancel(ignored);
}
inline void close_socket(void* socket) {
    error_code ignored;
    static_cast<tcp::socket*>(socket)->close(ignored);
}

// Plain system calls on the peer's handle; the peer never runs asynchronous operations.
inline void send(tcp::socket& peer, std::string_view bytes) {
    while (!bytes.empty()) {
        const auto n = ::send(peer.native_handle(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
        ASSERT_GT(n, 0) << "send: " << std::strerror(errno);
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
}
// FIN: the peer sends nothing more, but may still read.
inline void half_close(tcp::socket& peer) {
    ASSERT_EQ(::shutdown(peer.native_handle(), SHUT_WR), 0);
}
// RST: the peer is gone at once.
inline void reset(tcp::socket& peer) {
    const ::linger abortive{1, 0};
    ::setsockopt(peer.native_handle(), SOL_SOCKET, SO_LINGER, &abortive, sizeof abortive);
    error_code ignored;
    peer.close(ignored);
}
// Bytes received on `socket` that nobody has read yet.
inline std::size_t unread(tcp::socket& socket) {
    int n = 0;
    if (::ioctl(socket.native_handle(), FIONREAD, &n) != 0) {
        return 0;
    }
    return static_cast<std::size_t>(n);
}

class phase_fixture : public ::testing::Test {
protected:
    // Long enough never to cut short a phase that works, short enough to fail one that hangs.
    static constexpr std::chrono::steady_clock::duration limit = 10s;

    socket_pair connect_pair() {
        tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
        tcp::socket near(io);
        near.connect(acceptor.local_endpoint());
        tcp::socket peer = acceptor.accept();
        return {std::move(near), std::move(peer)};
    }

    template <typename T> task<T> spawn(asio::awaitable<T> operation) {
        auto state = std::make_shared<task_state<T>>();
        asio::co_spawn(io, std::move(operation), [state](std::exception_ptr e, T value) {
            state->done = true;
            state->failure = e;
            state->value = std::move(value);
        });
        return state;
    }
    task<std::monostate> spawn(asio::awaitable<void> operation) {
        auto state = std::make_shared<task_state<std::monostate>>();
        asio::co_spawn(io, std::move(operation), [state](std::exception_ptr e) {
            state->done = true;
            state->failure = e;
            state->value.emplace();
        });
        return state;
    }

    // Runs the context until `done()` holds; false if it did not within `bound`.
    template <typename Condition>
    bool run_until(const Condition& done, std::chrono::steady_clock::duration bound = limit) {
        const auto give_up = std::chrono::steady_clock::now() + bound;
        for (;;) {
            if (done()) {
                return true;
            }
            const auto now = std::chrono::steady_clock::now();
            if (now >= give_up) {
                return false;
            }
            io.restart();
            // In slices, so that a condition on the kernel's state is checked again.
            io.run_one_for(std::min<std::chrono::steady_clock::duration>(give_up - now, 5ms));
            if (io.stopped()) {
                std::this_thread::sleep_for(1ms); // out of work: poll the condition
            }
        }
    }

    // The value of `t`, once it is done; nothing, and a failed test, if it is not done within
    // `bound`.
    template <typename T>
    std::optional<T> finish(const task<T>& t, std::chrono::steady_clock::duration bound = limit) {
        if (!run_until([&] { return t->done; }, bound)) {
            ADD_FAILURE() << "the phase did not return within "
                          << std::chrono::duration_cast<std::chrono::milliseconds>(bound).count()
                          << " ms";
            return std::nullopt;
        }
        if (t->failure) {
            std::rethrow_exception(t->failure);
        }
        return t->value;
    }

    template <typename T>
    std::optional<T> run(asio::awaitable<T> operation,
                         std::chrono::steady_clock::duration bound = limit) {
        return finish(spawn(std::move(operation)), bound);
    }

    // The peer sends `piece`; the context runs until the near end has taken it in (or the
    // task is done), so that the next piece arrives in a read of its own.
    template <typename Task>
    void deliver(socket_pair& pair, std::string_view piece, const Task& t) {
        send(pair.peer, piece);
        EXPECT_TRUE(run_until([&] { return unread(pair.near) == 0 || t->done; }))
            << "the near end did not read";
    }
    template <typename Task>
    void deliver_bytewise(socket_pair& pair, std::string_view bytes, const Task& t) {
        for (std::size_t i = 0; i < bytes.size() && !t->done; ++i) {
            deliver(pair, bytes.substr(i, 1), t);
        }
    }

    // Runs the context until the peer has received `n` bytes or its connection ended.
    std::string receive(tcp::socket& peer, std::size_t n) {
        std::string got;
        bool ended = false;
        run_until([&] {
            char chunk[4096];
            const auto r = ::recv(peer.native_handle(), chunk,
                                  std::min(sizeof chunk, n - got.size()), MSG_DONTWAIT);
            if (r > 0) {
                got.append(chunk, static_cast<std::size_t>(r));
            } else if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
                ended = true;
            }
            return got.size() >= n || ended;
        });
        return got;
    }

    // Runs the context until the near end closed (FIN) or reset the connection: everything
    // the peer received until then, or nothing if the connection did not end within `bound`.
    std::optional<std::string> receive_to_end(tcp::socket& peer,
                                              std::chrono::steady_clock::duration bound = limit) {
        std::string got;
        const bool ended = run_until(
            [&] {
                char chunk[4096];
                const auto r = ::recv(peer.native_handle(), chunk, sizeof chunk, MSG_DONTWAIT);
                if (r > 0) {
                    got.append(chunk, static_cast<std::size_t>(r));
                    return false;
                }
                return r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
            },
            bound);
        if (!ended) {
            return std::nullopt;
        }
        return got;
    }

    asio::io_context io;
    proxy::detail::deadline_queues deadlines{io};
};

} // namespace fulcrum::testing
