#pragma once

#include "base/asio.hpp"
#include "proxy/detail/byte_buffer.hpp"
#include "proxy/detail/ends.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/socket_base.hpp>
#include <boost/asio/write.hpp>

namespace fulcrum::proxy::detail {

// The two-way byte relay of an upgraded connection (after a 101). Each direction copies what
// one end sends to the other, starting with what its buffer already holds. An end that closes
// its sending side has the half-close passed on (a WebSocket closing handshake ends with both
// sides closed in turn); an error in either direction ends both. `idle` passes when no byte
// moved either way for `timeout`; its expiry closes the server end, which ends both.
template <typename ClientStream, typename ServerStream> class tunnel {
public:
    tunnel(client_reader<ClientStream>& reader, ClientStream& client, ServerStream& server,
           deadline& idle, config::duration timeout)
        : reader_(reader), client_(client), server_(server), idle_(idle), timeout_(timeout) {}

    boost::asio::awaitable<void> run(byte_buffer& from_client, byte_buffer& from_server) {
        using namespace boost::asio::experimental::awaitable_operators;
        idle_.arm(timeout_);
        co_await (client_to_server(from_client) && server_to_client(from_server));
        idle_.disarm();
    }

private:
    boost::asio::awaitable<void> client_to_server(byte_buffer& buffer) {
        for (;;) {
            if (!buffer.empty()) {
                error_code ec;
                co_await boost::asio::async_write(server_, boost::asio::buffer(buffer.readable()),
                                                  base::with(ec));
                if (ec) {
                    end_both();
                    co_return;
                }
                buffer.clear();
                idle_.arm(timeout_);
            }
            if (const auto ec = co_await reader_.read(buffer)) {
                end(ec, server_);
                co_return;
            }
            idle_.arm(timeout_);
        }
    }

    boost::asio::awaitable<void> server_to_client(byte_buffer& buffer) {
        for (;;) {
            error_code ec;
            if (!buffer.empty()) {
                co_await boost::asio::async_write(client_, boost::asio::buffer(buffer.readable()),
                                                  base::with(ec));
                if (ec) {
                    end_both();
                    co_return;
                }
                buffer.clear();
                idle_.arm(timeout_);
            }
            const std::size_t n =
                co_await server_.async_read_some(buffer.writable(), base::with(ec));
            if (ec) {
                end(ec, client_);
                co_return;
            }
            buffer.commit(n);
            idle_.arm(timeout_);
        }
    }

    // A source's eof is passed on to the sink as a half-close; anything else ends both.
    template <typename Stream> void end(const error_code& ec, Stream& sink) {
        if (ec != boost::asio::error::eof) {
            end_both();
            return;
        }
        error_code ignored;
        sink.lowest_layer().shutdown(boost::asio::socket_base::shutdown_send, ignored);
    }

    void end_both() {
        error_code ignored;
        server_.lowest_layer().close(ignored);
        client_.lowest_layer().cancel(ignored);
    }

    client_reader<ClientStream>& reader_;
    ClientStream& client_;
    ServerStream& server_;
    deadline& idle_;
    config::duration timeout_;
};

} // namespace fulcrum::proxy::detail
