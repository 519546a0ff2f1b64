// fulcrum's own answers of a session<Stream>: an error status, a redirect to HTTPS, and the
// lingering close after them (docs/architecture.md, "Own answers"). Instantiated here for both
// client streams; the rest of the session is in session.cpp.
#include "proxy/detail/session.hpp"

#include "proxy/detail/worker.hpp"

#include "base/asio.hpp"

namespace fulcrum::proxy::detail {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

// How long, and how much, a refused request is read and discarded before the close.
constexpr auto linger_time = std::chrono::seconds(2);
constexpr std::size_t linger_bytes = 1024 * 1024;

} // namespace

template <typename Stream>
asio::awaitable<typename session<Stream>::outcome> session<Stream>::answer(int status,
                                                                           std::size_t target) {
    close_upstream();
    // The end in a variable: GCC 12 miscompiles a coroutine called on a temporary in a
    // condition.
    auto client = client_side();
    const auto failed = co_await client.write(asio::buffer(http::error_response(status, true)));
    if (failed) {
        worker_.record_aborted(service_);
    } else {
        record(target, status);
        linger_ = true;
    }
    co_return outcome::close;
}

// The request's body, if any, is not read: the connection closes after the answer.
template <typename Stream>
asio::awaitable<typename session<Stream>::outcome>
session<Stream>::redirect(exchange& x, const config::redirect& to, std::size_t backend) {
    const auto& request = x.request.head();
    if (request.host().empty()) {
        // No Host (HTTP/1.0): there is no URL to send the client to.
        co_return co_await answer(400, worker_.meter().target_of_backend(backend));
    }
    const bool keep = request.keep_alive() && !request.has_body() && !worker_.draining();
    http::write_redirect(to.code, to.scheme, request.host(), to.port, request.target(),
                         request.is_http10(), keep, x.head_out);
    auto client = client_side();
    const auto failed = co_await client.write(asio::buffer(x.head_out));
    if (failed) {
        co_return client_gone();
    }
    record(worker_.meter().target_of_backend(backend), to.code);
    linger_ = !keep;
    co_return keep ? outcome::keep_alive : outcome::close;
}

// The client may still be sending the request we refused. Closing with unread bytes would
// reset the connection and could destroy our answer before the client read it, so stop
// sending, then read and discard for a moment, as nginx's lingering close does.
template <typename Stream> asio::awaitable<void> session<Stream>::linger(byte_buffer& scratch) {
    error_code ignored;
    client_.lowest_layer().shutdown(tcp::socket::shutdown_send, ignored);
    client_deadline_.arm(linger_time);
    std::size_t discarded = 0;
    while (discarded < linger_bytes) {
        error_code ec;
        if constexpr (is_tls<Stream>) {
            // After the close_notify: the bytes are discarded unread, as TCP brought them.
            scratch.commit(
                co_await client_.next_layer().async_read_some(scratch.writable(), base::with(ec)));
        } else {
            ec = co_await reader_.read(scratch);
        }
        if (ec) {
            break;
        }
        discarded += scratch.readable().size();
        scratch.clear();
    }
    client_deadline_.disarm();
}

template asio::awaitable<session<tcp::socket>::outcome> session<tcp::socket>::answer(int,
                                                                                     std::size_t);
template asio::awaitable<session<tls_stream>::outcome> session<tls_stream>::answer(int,
                                                                                   std::size_t);
template asio::awaitable<session<tcp::socket>::outcome>
session<tcp::socket>::redirect(exchange&, const config::redirect&, std::size_t);
template asio::awaitable<void> session<tcp::socket>::linger(byte_buffer&);
template asio::awaitable<void> session<tls_stream>::linger(byte_buffer&);

} // namespace fulcrum::proxy::detail
