#include "proxy/detail/session.hpp"

#include "proxy/detail/delivery.hpp"
#include "proxy/detail/tunnel.hpp"
#include "proxy/detail/worker.hpp"

#include "base/asio.hpp"
#include "base/exhaustion.hpp"
#include "base/log.hpp"
#include "health/checker.hpp"

namespace fulcrum::proxy::detail {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

constexpr std::string_view continue_100 = "HTTP/1.1 100 Continue\r\n\r\n";

std::string client_address_of(const tcp::endpoint& peer) {
    auto address = peer.address();
    if (address.is_v6() && address.to_v6().is_v4_mapped()) {
        address = asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
    }
    return address.to_string();
}

// The gateway error an exchange that failed on the server's side counts as.
health::transition_cause failure_of(const error_code& ec) {
    return ec == asio::error::timed_out ? health::transition_cause::passive_timed_out
                                        : health::transition_cause::passive_closed;
}

} // namespace

template <typename Stream>
session<Stream>::session(worker& owner, Stream client, const tcp::endpoint& peer,
                         std::size_t frontend)
    : worker_(owner), frontend_(owner.rt().cfg.frontends[frontend]), frontend_index_(frontend),
      client_(std::move(client)), client_address_(client_address_of(peer)),
      reader_(client_, &session::on_client_closed, this),
      client_deadline_(owner.deadlines(), &session::on_client_deadline, this),
      server_deadline_(owner.deadlines(), &session::on_server_deadline, this) {
    error_code ignored;
    client_.lowest_layer().set_option(tcp::no_delay(true), ignored);
}

template <typename Stream> void session<Stream>::drain() {
    if (idle_) {
        error_code ignored;
        client_.lowest_layer().cancel(ignored);
    }
}

template <typename Stream> void session<Stream>::end_tunnel() {
    if (in_tunnel_) {
        on_server_deadline(this);
    }
}

template <typename Stream> void session<Stream>::abandon() {
    // The coroutine waiting on the reader holds the session: it must outlive this call.
    const auto self = this->shared_from_this();
    reader_.abandon();
}

template <typename Stream> void session<Stream>::on_client_deadline(void* self) {
    error_code ignored;
    static_cast<session*>(self)->client_.lowest_layer().cancel(ignored);
}

// Closes the server connection, which ends whatever waits on it; the coroutine then sees why
// (the deadline passed, or the client left) and drops the connection itself. A tunnel also
// waits on the client (reading it, or writing to one that stopped reading): those end too.
template <typename Stream> void session<Stream>::on_server_deadline(void* self) {
    auto& s = *static_cast<session*>(self);
    error_code ignored;
    if (s.upstream_) {
        s.upstream_->stream.close();
    }
    if (s.in_tunnel_) {
        s.client_.lowest_layer().cancel(ignored);
    }
}

// The rule for a client that closes while its response is being prepared or sent. An RST is
// a client that left. A FIN only says the client will send nothing more: a client whose
// request asked to keep the connection open, with no further request of it waiting here, has
// no reason to stop sending but leaving, so it left; the server's work is abandoned at once.
// A client that announced the end of the connection (HTTP/1.0, Connection: close) or still has
// requests waiting may have half-closed, as some tools do, and is served; whether it was still
// there is told by what its TCP does with the response (delivery.hpp).
template <typename Stream>
void session<Stream>::on_client_closed(void* self, const error_code& ec) {
    auto& s = *static_cast<session*>(self);
    const bool requests_waiting = s.current_ != nullptr && !s.current_->from_client.empty();
    // Over TLS a FIN without close_notify is a truncated stream: a FIN all the same.
    const bool fin = ec == asio::error::eof || ec == asio::ssl::error::stream_truncated;
    if (fin && (!s.request_keep_alive_ || requests_waiting)) {
        s.half_closed_ = true;
        return;
    }
    s.client_left_ = true;
    on_server_deadline(self);
}

// `certificates` is held in this frame for the connection's life, not read (session.hpp).
template <typename Stream>
asio::awaitable<void>
session<Stream>::run([[maybe_unused]] std::shared_ptr<const tls::server_contexts> certificates) {
    std::unique_ptr<exchange> x;
    try {
        if constexpr (is_tls<Stream>) {
            secured_ = co_await handshake();
        }
        if (secured_ || !is_tls<Stream>) {
            co_await serve_requests(x);
        }
    } catch (const std::exception& e) {
        failed(e);
        x.reset();
    }
    close_upstream();
    if constexpr (is_tls<Stream>) {
        co_await close_notify();
    }
    if (linger_ && x) {
        co_await linger(x->from_client);
    }
    error_code ignored;
    client_.lowest_layer().close(ignored);
    co_await reader_.settle();
    if (x) {
        worker_.release_exchange(frontend_index_, std::move(x));
    }
    client_deadline_.disarm();
    server_deadline_.disarm();
    worker_.session_closed(*this, frontend_index_);
}

// Leaves in `x` the exchange of the last request, if it is kept for a lingering close.
template <typename Stream>
asio::awaitable<void> session<Stream>::serve_requests(std::unique_ptr<exchange>& x) {
    bool first = true;
    for (;;) {
        if (!x) {
            // A new connection has its first request on the way; a kept-alive one may wait
            // long for its next.
            client_deadline_.arm(first ? frontend_.http_request_timeout
                                       : frontend_.keepalive_timeout);
            idle_ = true;
            const bool input = co_await reader_.await_input();
            idle_ = false;
            client_deadline_.disarm();
            if (!input || worker_.draining()) {
                co_return;
            }
        }
        busy_ = true;
        if (!x) {
            x = worker_.acquire_exchange(frontend_index_);
        }
        first = false;
        current_ = x.get();
        const auto done = co_await serve(*x);
        current_ = nullptr;
        busy_ = false;
        if (done == outcome::close || worker_.draining()) {
            co_return;
        }
        if (x->from_client.empty()) {
            worker_.release_exchange(frontend_index_, std::move(x));
        }
    }
}

// Memory ran out (std::bad_alloc: a head that needed more room, a coroutine frame), or another
// failure of fulcrum's own. The connection is closed without an answer, since writing one
// needs memory too, and everything the session holds is let go by run() as on any close. A
// request that was being served is metered as the 500 it is, so that the SLI sees it.
template <typename Stream> void session<Stream>::failed(const std::exception& e) {
    linger_ = false;
    if (busy_) {
        const auto& meter = worker_.meter();
        if (current_ == nullptr) {
            // It failed before serve() began: its start and service are not known yet.
            service_ = meter.service_of_backend(frontend_.default_backend);
            request_start_ = clock::now();
        }
        record(meter.target_of_backend(frontend_.default_backend), 500);
    }
    // The exchange is about to go: nothing may look at it any more (on_client_closed).
    current_ = nullptr;
    busy_ = false;
    try {
        base::log("frontend " + frontend_.name + ": closing a connection from " + client_address_ +
                  ": " + e.what());
    } catch (const std::bad_alloc&) {
        // Not even the log line fits: the close itself is what matters.
    }
}

template <typename Stream>
asio::awaitable<typename session<Stream>::outcome> session<Stream>::serve(exchange& x) {
    const auto& meter = worker_.meter();
    const auto unrouted = meter.target_of_backend(frontend_.default_backend);
    service_ = meter.service_of_backend(frontend_.default_backend);
    if (worker_.metering()) {
        request_start_ = clock::now();
    }
    int status = 0;
    const auto head =
        co_await read_request_head(reader_, client_deadline_, frontend_.http_request_timeout,
                                   x.request, x.from_client, status);
    if (head == request_head_result::closed) {
        co_return outcome::close;
    }
    if (head == request_head_result::refused) {
        co_return co_await answer(status, unrouted);
    }
    const auto& request = x.request.head();
    const auto match = route_request(frontend_, request.host(), request.path());
    service_ = match.route == no_route ? meter.service_of_backend(match.backend)
                                       : meter.service_of_route(frontend_index_, match.route);
    if constexpr (!is_tls<Stream>) {
        const auto& route_redirect =
            match.route == no_route ? frontend_.redirect : frontend_.routes[match.route].redirect;
        if (const auto& to = route_redirect ? route_redirect : frontend_.redirect) {
            co_return co_await redirect(x, *to, match.backend);
        }
    }
    co_return co_await exchange_with(x, match.backend);
}

// The exchange, top to bottom: send the request, read the response head, once more on a new
// connection when that is safe, then relay the response (or the tunnel it opens).
template <typename Stream>
asio::awaitable<typename session<Stream>::outcome>
session<Stream>::exchange_with(exchange& x, std::size_t backend) {
    const auto& request = x.request.head();
    request_keep_alive_ = request.keep_alive();
    http::write_request_head(request,
                             {.forwardfor = frontend_.forwardfor,
                              .client_address = client_address_,
                              .proto = is_tls<Stream> ? "https" : "http"},
                             x.head_out);
    for (int attempt = 0;; ++attempt) {
        if (!co_await connect(backend, attempt == 0)) {
            co_return co_await answer(503, worker_.meter().target_of_backend(backend));
        }
        const std::size_t server = upstream_->server;
        const bool may_replay = replayable(upstream_->reused, attempt == 0, request.has_body());
        const auto sent = co_await send_request(x, backend);
        if (!sent.ok()) {
            close_upstream();
            if (sent.where == pump_result::fault::sink && may_replay) {
                continue;
            }
            co_return co_await request_failed(sent, x, backend, server);
        }
        // The request is in; until its response is out, a client that leaves is noticed.
        reader_.watch();
        x.from_server.clear();
        auto from = server_side(backend);
        const auto got = co_await read_response_head(from, x.response, x.from_server, request);
        if (got == response_head_result::ready) {
            break;
        }
        close_upstream();
        if (client_left_) {
            co_return client_gone();
        }
        if (got == response_head_result::untouched && may_replay) {
            continue;
        }
        co_return co_await response_failed(got, x, backend, server);
    }
    if (x.response.head().upgrade()) {
        co_return co_await relay_tunnel(x, backend);
    }
    co_return co_await relay_response(x, backend);
}

template <typename Stream>
asio::awaitable<bool> session<Stream>::connect(std::size_t backend, bool allow_pooled) {
    const auto& rt = worker_.rt();
    const auto& config = rt.cfg.backends[backend];
    auto& states = worker_.states();
    const auto available = [&](std::size_t s) { return states.available(backend, s); };
    // With no server UP and READY the answer is 503 at once, without a connect attempt.
    const auto first = rt.balancers[backend]->next(available);
    if (!first) {
        co_return false;
    }
    const std::size_t servers = config.servers.size();
    std::size_t attempts = 0;
    for (std::size_t k = 0; k < servers && attempts <= config.retries; ++k) {
        const std::size_t server = (*first + k) % servers;
        if (k > 0 && !available(server)) {
            continue;
        }
        ++attempts;
        if (allow_pooled) {
            if (auto pooled = worker_.pool().acquire(backend, server)) {
                upstream_.emplace(upstream{std::move(*pooled), server, true});
                co_return true;
            }
        }
        bool in_handshake = false;
        server_deadline_.arm(config.connect_timeout);
        const auto ec = co_await open(backend, server, in_handshake);
        server_deadline_.disarm();
        if (!ec) {
            states.observe_connect(backend, server, true);
            co_return true;
        }
        connect_failed(backend, server, ec, in_handshake);
    }
    co_return false;
}

template <typename Stream>
asio::awaitable<error_code> session<Stream>::open(std::size_t backend, std::size_t server,
                                                  bool& in_handshake) {
    const auto& rt = worker_.rt();
    const auto& address = rt.server_addresses[backend][server];
    const auto* tls = rt.upstream_tls[backend].get();
    tcp::socket socket(client_.get_executor());
    if (tls == nullptr) {
        upstream_.emplace(upstream{upstream_stream(std::move(socket)), server, false});
    } else {
        auto connection = tls->new_connection(address.address());
        if (!connection) {
            co_return asio::error::no_memory;
        }
        auto stream =
            std::make_unique<upstream_stream::tls_stream>(std::move(socket), connection.get());
        connection.release(); // the stream's now
        upstream_.emplace(upstream{upstream_stream(std::move(stream)), server, false});
    }
    auto& lowest = upstream_->stream.lowest_layer();
    error_code ec;
    co_await lowest.async_connect(address, base::with(ec));
    if (ec) {
        co_return ec;
    }
    lowest.set_option(tcp::no_delay(true), ec);
    if (tls != nullptr) {
        in_handshake = true;
        co_await upstream_->stream.tls()->async_handshake(asio::ssl::stream_base::client,
                                                          base::with(ec));
    }
    co_return ec;
}

// A failed connect or handshake counts towards a passive DOWN, and is logged with its reason
// ("certificate verify failed: unable to get local issuer certificate"), unless it was
// fulcrum's own shortage, which says nothing about the server.
template <typename Stream>
void session<Stream>::connect_failed(std::size_t backend, std::size_t server, const error_code& ec,
                                     bool in_handshake) {
    const auto& rt = worker_.rt();
    const auto& config = rt.cfg.backends[backend];
    const std::string label = config.name + "/" + config.servers[server].name;
    const bool timed_out = server_deadline_.expired();
    if (const auto own = base::own_exhaustion(ec); own && !timed_out) {
        base::note_exhaustion(*own, base::exhausted_at::connect, label);
        close_upstream();
        return;
    }
    std::string why;
    if (timed_out) {
        why = in_handshake ? "timed out in the TLS handshake" : "timed out";
    } else {
        why = in_handshake
                  ? "TLS handshake: " +
                        tls::handshake_failure(upstream_->stream.tls()->native_handle(), ec)
                  : ec.message();
    }
    base::log("server " + label + ": connect failed: " + why);
    if (worker_.states().observe_connect(backend, server, false)) {
        health::log_passive_down(rt.cfg, backend, server, health::transition_cause::passive_connect,
                                 config.passive.connect_failures);
    }
    close_upstream();
}

// The rewritten head, then the body as the client sends it. A client that expects
// 100-continue is told to go on once the head is on its way to the server.
template <typename Stream>
asio::awaitable<pump_result> session<Stream>::send_request(exchange& x, std::size_t backend) {
    auto server = server_side(backend);
    auto client = client_side();
    const auto& request = x.request.head();
    std::string_view head = x.head_out;
    if (request.has_body() && request.expect_continue() && x.from_client.empty() &&
        !reader_.has_input()) {
        if (auto ec = co_await server.write(asio::buffer(head))) {
            co_return pump_result{pump_result::fault::sink, ec};
        }
        if (auto ec = co_await client.write(asio::buffer(continue_100))) {
            co_return pump_result{pump_result::fault::source, ec};
        }
        head = {};
    }
    co_return co_await pump_body(client, server, x.request, x.from_client, head);
}

// Only a failure on the server's side (it stopped reading the request, closed or timed out) is
// a gateway error: a malformed body or a client that left or went quiet is the client's.
template <typename Stream>
asio::awaitable<typename session<Stream>::outcome>
session<Stream>::request_failed(const pump_result& sent, exchange& x, std::size_t backend,
                                std::size_t server) {
    const auto unserved = worker_.meter().target_of_backend(backend);
    switch (sent.where) {
    case pump_result::fault::message:
        co_return co_await answer(x.request.error_status(), unserved);
    case pump_result::fault::source:
        if (sent.ec == asio::error::timed_out) {
            co_return co_await answer(408, unserved);
        }
        co_return client_gone();
    default:
        if (!base::is_own_exhaustion(sent.ec)) {
            observe_gateway_error(backend, server, failure_of(sent.ec));
        }
        co_return co_await answer(sent.ec == asio::error::timed_out ? 504 : 502, unserved);
    }
}

template <typename Stream>
asio::awaitable<typename session<Stream>::outcome>
session<Stream>::response_failed(response_head_result got, exchange& x, std::size_t backend,
                                 std::size_t server) {
    const bool timed_out = got == response_head_result::timed_out;
    auto why = timed_out ? health::transition_cause::passive_timed_out
                         : health::transition_cause::passive_closed;
    if (got == response_head_result::malformed) {
        const auto& config = worker_.rt().cfg.backends[backend];
        const auto reason = x.response.error_reason();
        base::log("server " + config.name + "/" + config.servers[server].name +
                  ": bad response: " + std::string(reason));
        why = health::transition_cause::passive_invalid;
    }
    observe_gateway_error(backend, server, why);
    const int status = timed_out ? 504 : 502;
    co_return co_await answer(status, worker_.meter().target_of_backend(backend));
}

// The response head rewritten, then the body in its own framing, while the client is watched.
template <typename Stream>
asio::awaitable<typename session<Stream>::outcome>
session<Stream>::relay_response(exchange& x, std::size_t backend) {
    const auto& reply = x.response.head();
    const std::size_t server = upstream_->server;
    const auto target = worker_.meter().target_of_server(backend, server);
    const bool keep_client = request_keep_alive_ && !reply.close_delimited() && !worker_.draining();
    // HSTS on responses over TLS, unless the server sent its own.
    std::string_view added;
    if constexpr (is_tls<Stream>) {
        added = worker_.rt().hsts_headers[frontend_index_];
        if (!added.empty() && !reply.find("strict-transport-security").empty()) {
            added = {};
        }
    }
    http::write_response_head(reply, x.request.head().is_http10(), keep_client, x.head_out, added);
    auto from = server_side(backend);
    auto to = client_side();
    const auto relayed = co_await pump_body(from, to, x.response, x.from_server, x.head_out);
    if (client_left_ || relayed.where == pump_result::fault::sink) {
        co_return client_gone();
    }
    // A response cut short (the server closed, reset or went quiet, or sent a broken body)
    // reaches the client only as a closed connection. Its status line said otherwise, but the
    // client got no response: metered as the 502 or 504 fulcrum would have answered before
    // the head, so the SLI sees the failure.
    if (!relayed.ok()) {
        close_upstream();
        if (!base::is_own_exhaustion(relayed.ec)) {
            observe_gateway_error(backend, server,
                                  relayed.where == pump_result::fault::message
                                      ? health::transition_cause::passive_invalid
                                      : failure_of(relayed.ec));
        }
        record(target, relayed.ec == asio::error::timed_out ? 504 : 502);
        co_return outcome::close;
    }
    observe_response(backend, server, reply.status());
    if (half_closed_ && !co_await acknowledged(client_, frontend_.client_timeout)) {
        co_return client_gone();
    }
    // A server being drained or taken out of rotation keeps no idle connection of ours.
    if (reply.keep_alive() && x.from_server.empty() && !worker_.draining() &&
        worker_.states().available(backend, server)) {
        worker_.pool().release(backend, server, std::move(upstream_->stream));
        upstream_.reset();
    } else {
        close_upstream();
    }
    record(target, reply.status());
    co_return keep_client ? outcome::keep_alive : outcome::close;
}

// After a 101: the connection is a byte tunnel until either side closes it or it idles past
// timeouts.tunnel. Metered once, as the 101, when it ends; its latency is the time to the 101.
template <typename Stream>
asio::awaitable<typename session<Stream>::outcome>
session<Stream>::relay_tunnel(exchange& x, std::size_t backend) {
    const auto& config = worker_.rt().cfg.backends[backend];
    observe_response(backend, upstream_->server, 101);
    const auto target = worker_.meter().target_of_server(backend, upstream_->server);
    http::write_response_head(x.response.head(), false, true, x.head_out);
    auto client = client_side();
    const auto failed = co_await client.write(asio::buffer(x.head_out));
    if (failed) {
        co_return client_gone();
    }
    const auto latency = clock::now() - request_start_;
    worker_.tunnel_opened(frontend_index_);
    in_tunnel_ = true;
    tunnel<Stream, upstream_stream> relay(reader_, client_, upstream_->stream, server_deadline_,
                                          config.tunnel_timeout);
    co_await relay.run(x.from_client, x.from_server);
    in_tunnel_ = false;
    worker_.tunnel_closed(frontend_index_);
    close_upstream();
    worker_.record(frontend_index_, target, service_, 101, latency);
    co_return outcome::close;
}

template <typename Stream> client_end<Stream> session<Stream>::client_side() {
    return {reader_, client_, client_deadline_, frontend_.client_timeout};
}

template <typename Stream>
server_end<upstream_stream> session<Stream>::server_side(std::size_t backend) {
    return {upstream_->stream, server_deadline_, worker_.rt().cfg.backends[backend].server_timeout};
}

template <typename Stream> typename session<Stream>::outcome session<Stream>::client_gone() {
    close_upstream();
    worker_.record_aborted(service_);
    return outcome::close;
}

template <typename Stream>
void session<Stream>::observe_response(std::size_t backend, std::size_t server, int status) {
    if (worker_.states().observe_response(backend, server, status)) {
        const auto& cfg = worker_.rt().cfg;
        health::log_passive_down(cfg, backend, server, health::transition_cause::passive_5xx,
                                 cfg.backends[backend].passive.server_errors);
    }
}

template <typename Stream>
void session<Stream>::observe_gateway_error(std::size_t backend, std::size_t server,
                                            health::transition_cause why) {
    if (worker_.states().observe_gateway_error(backend, server)) {
        const auto& cfg = worker_.rt().cfg;
        health::log_passive_down(cfg, backend, server, why,
                                 cfg.backends[backend].passive.gateway_errors);
    }
}

template <typename Stream> void session<Stream>::record(std::size_t target, int status) {
    worker_.record(frontend_index_, target, service_, status, request_start_);
}

template <typename Stream> void session<Stream>::close_upstream() {
    if (upstream_) {
        upstream_->stream.close();
        upstream_.reset();
    }
}

template class session<tcp::socket>;
template class session<tls_stream>;

} // namespace fulcrum::proxy::detail
