#include "app/admin.hpp"

#include "base/asio.hpp"
#include "base/log.hpp"
#include "http/head.hpp"
#include "http/parser.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <chrono>
#include <string>

namespace fulcrum {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;
using clock = std::chrono::steady_clock;

namespace {

// Admin request bodies are a line of JSON; anything larger is refused.
constexpr std::size_t max_body = 4096;

std::string_view reason(int status) {
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    default:
        return "Service Unavailable";
    }
}

std::string serialise(const admin_reply& reply, bool head_only, bool keep_alive) {
    std::string out = "HTTP/1.1 " + std::to_string(reply.status) + " " +
                      std::string(reason(reply.status)) + "\r\n";
    out += "Content-Type: " + reply.content_type + "\r\n";
    out += "Content-Length: " + std::to_string(reply.body.size()) + "\r\n";
    out += "Cache-Control: no-cache\r\n";
    if (reply.status == 401) {
        out += "WWW-Authenticate: Bearer\r\n";
    }
    out += keep_alive ? "\r\n" : "Connection: close\r\n\r\n";
    if (!head_only) {
        out += reply.body;
    }
    return out;
}

} // namespace

// One admin connection: its socket, the deadline of the phase it is in, and the request being
// read. Shared by its coroutine and, weakly, by its deadline's handler.
class admin_server::connection : public std::enable_shared_from_this<connection> {
public:
    connection(tcp::socket socket, const config::timeouts& timeouts)
        : socket_(std::move(socket)), deadline_(socket_.get_executor()), timeouts_(timeouts),
          parser_(http::parser::mode::request, config::limits{}) {}

    asio::awaitable<void> run(const admin_api& api);
    // Waiting for the client: for a request, or for the rest of one. Such a connection may be
    // closed to make room for a new one.
    bool waiting() const { return waiting_; }
    clock::time_point waiting_since() const { return waiting_since_; }
    // At once and without an answer; what the connection was waiting for then fails.
    void close() {
        error_code ignored;
        socket_.close(ignored);
        deadline_.cancel();
    }

    std::list<std::shared_ptr<connection>>::iterator at; // in admin_server::connections_
    bool listed = true;

private:
    void arm(config::duration timeout);
    asio::awaitable<bool> fill();
    asio::awaitable<int> read_request();
    void refuse(int status);

    tcp::socket socket_;
    asio::steady_timer deadline_;
    config::timeouts timeouts_;
    bool timed_out_ = false;
    bool idle_ = false; // between requests: the keepalive timeout runs
    bool waiting_ = true;
    clock::time_point waiting_since_ = clock::now();
    http::parser parser_;
    std::array<char, 4096> buffer_;
    std::size_t begin_ = 0;
    std::size_t end_ = 0;
    std::string body_;
};

// The timeout ends whatever the connection waits for: a read or a write then fails.
void admin_server::connection::arm(config::duration timeout) {
    deadline_.expires_after(timeout);
    deadline_.async_wait([self = weak_from_this()](error_code ec) {
        const auto c = self.lock();
        // A handler already queued when the deadline moved finds it in the future.
        if (ec || !c || c->deadline_.expiry() > clock::now()) {
            return;
        }
        c->timed_out_ = true;
        error_code ignored;
        c->socket_.cancel(ignored);
    });
}

// More bytes of the request into the buffer; false when the connection is to end.
asio::awaitable<bool> admin_server::connection::fill() {
    if (timed_out_ || !socket_.is_open()) {
        co_return false;
    }
    error_code ec;
    begin_ = 0;
    end_ = co_await socket_.async_read_some(asio::buffer(buffer_), base::with(ec));
    if (ec || timed_out_) {
        co_return false;
    }
    if (idle_) {
        // The next request has begun: its head is timed from its first byte.
        idle_ = false;
        arm(timeouts_.http_request);
    }
    co_return true;
}

// The next request into parser_ and body_: 0 once it is complete, -1 when the connection is to
// close without an answer, or the status of the refusal to send.
asio::awaitable<int> admin_server::connection::read_request() {
    parser_.next_message();
    body_.clear();
    bool head_seen = false;
    http::parse_result r;
    while (r.event != http::parse_event::message_done) {
        if (r.event == http::parse_event::need_more && begin_ == end_ && !co_await fill()) {
            // A request cut short by its timeout gets a 408, as on a frontend; an idle
            // connection is closed silently.
            co_return timed_out_ && !parser_.idle() ? 408 : -1;
        }
        r = parser_.feed({buffer_.data() + begin_, end_ - begin_});
        if (r.event == http::parse_event::error) {
            co_return parser_.error_status();
        }
        if (head_seen) {
            body_.append(buffer_.data() + begin_, r.consumed);
        }
        begin_ += r.consumed;
        if (r.event == http::parse_event::head_done) {
            head_seen = true;
            // Bodies here are a line of JSON sent with Content-Length.
            if (parser_.head().chunked()) {
                co_return 400;
            }
            if (parser_.head().content_length() > max_body) {
                co_return 413;
            }
            arm(timeouts_.client);
        }
    }
    co_return 0;
}

// A short error answer, sent only if the socket takes it at once: waiting for a client that
// does not read would hold the connection for nothing.
void admin_server::connection::refuse(int status) {
    const auto reply = http::error_response(status, true);
    error_code ignored;
    socket_.non_blocking(true, ignored);
    socket_.send(asio::buffer(reply), 0, ignored);
}

asio::awaitable<void> admin_server::connection::run(const admin_api& api) {
    // The first request's head is timed from the accept.
    arm(timeouts_.http_request);
    for (;;) {
        if (const int refusal = co_await read_request(); refusal != 0) {
            if (refusal > 0) {
                refuse(refusal);
            }
            co_return;
        }
        const auto& head = parser_.head();
        const auto reply =
            api.handle(head.method(), head.path(), head.find("Authorization"), body_);
        const bool keep_alive = head.keep_alive();
        const auto out = serialise(reply, head.is_head_method(), keep_alive);
        waiting_ = false;
        arm(timeouts_.client);
        error_code ec;
        co_await asio::async_write(socket_, asio::buffer(out), base::with(ec));
        if (ec || timed_out_ || !keep_alive) {
            co_return;
        }
        waiting_ = true;
        waiting_since_ = clock::now();
        // A pipelined request already read is timed as one that has begun.
        idle_ = begin_ == end_;
        arm(idle_ ? timeouts_.keepalive : timeouts_.http_request);
    }
}

admin_server::admin_server(asio::io_context& context, const tcp::endpoint& bind,
                           const config::timeouts& timeouts, const admin_api& api)
    : context_(context), acceptor_(context, bind), timeouts_(timeouts), api_(api) {}

admin_server::~admin_server() = default;

void admin_server::start() {
    asio::co_spawn(context_, accept_loop(), asio::detached);
}

void admin_server::stop() {
    error_code ignored;
    acceptor_.close(ignored);
}

asio::awaitable<void> admin_server::accept_loop() {
    asio::steady_timer backoff(context_);
    std::uint64_t failures = 0;
    for (;;) {
        error_code ec;
        auto socket = co_await acceptor_.async_accept(base::with(ec));
        if (!acceptor_.is_open() || ec == asio::error::operation_aborted) {
            co_return;
        }
        if (ec) {
            // Out of descriptors or memory: accepting again at once would spin. Said once per
            // run of failures, which the pause keeps to ten a second.
            if (failures++ == 0) {
                base::log("admin: accept failed: " + ec.message() + " (retrying every 100 ms)");
            }
            backoff.expires_after(std::chrono::milliseconds(100));
            co_await backoff.async_wait(base::with(ec));
            continue;
        }
        if (failures > 0) {
            base::logf("admin: accepting again, after %llu failed accepts",
                       static_cast<unsigned long long>(failures));
            failures = 0;
        }
        admit(std::move(socket));
    }
}

void admin_server::admit(tcp::socket socket) {
    if (connections_.size() < max_connections) {
        limit_logged_ = false;
    } else {
        const bool room = make_room();
        if (!limit_logged_) {
            limit_logged_ = true;
            base::logf("admin: %zu connections open, the limit: %s", max_connections,
                       room ? "each new one takes the place of the one idle longest"
                            : "all are being answered, so new ones are closed");
        }
        if (!room) {
            return; // the socket closes here
        }
    }
    auto c = std::make_shared<connection>(std::move(socket), timeouts_);
    c->at = connections_.insert(connections_.end(), c);
    asio::co_spawn(context_, serve(std::move(c)), asio::detached);
}

// Closes the connection that has waited longest for its client; false when every connection
// is being answered.
bool admin_server::make_room() {
    auto victim = connections_.end();
    for (auto it = connections_.begin(); it != connections_.end(); ++it) {
        if ((*it)->waiting() &&
            (victim == connections_.end() || (*it)->waiting_since() < (*victim)->waiting_since())) {
            victim = it;
        }
    }
    if (victim == connections_.end()) {
        return false;
    }
    (*victim)->close();
    (*victim)->listed = false;
    connections_.erase(victim);
    return true;
}

asio::awaitable<void> admin_server::serve(std::shared_ptr<connection> c) {
    co_await c->run(api_);
    if (c->listed) {
        connections_.erase(c->at);
    }
}

} // namespace fulcrum
