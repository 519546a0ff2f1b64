#include "proxy/detail/worker.hpp"

#include "proxy/detail/session.hpp"

#include "base/asio.hpp"
#include "base/block_cache.hpp"
#include "base/exhaustion.hpp"
#include "base/log.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/consign.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>

#include <malloc.h>
#include <sys/socket.h>

namespace fulcrum::proxy {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

namespace {

using reuse_port = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

using plain_session = detail::session<tcp::socket>;
using tls_session = detail::session<detail::tls_stream>;

// Memory unused for this long is given back (docs/architecture.md, "Memory").
constexpr unsigned memory_period_ticks = 3;
constexpr std::size_t exchange_bytes = 2 * detail::exchange::buffer_size;
constexpr std::size_t trim_threshold_bytes = 256 * 1024;

} // namespace

worker::worker(std::shared_ptr<const runtime> rt, sli::meter& meter, health::server_states& states,
               connection_limit& limit, std::size_t pool_idle, std::size_t index,
               std::vector<std::shared_ptr<const tls::server_contexts>> tls)
    : runtime_(std::move(rt)), tls_(std::move(tls)), meter_(meter), shard_(meter.shard_at(index)),
      states_(states), limit_(limit), pool_(runtime_->cfg, pool_idle),
      free_exchanges_(runtime_->cfg.frontends.size()), metering_(runtime_->cfg.global.metering) {}

worker::~worker() {
    stop();
}

tcp::endpoint worker::bind(std::size_t frontend, const tcp::endpoint& address, bool tls) {
    auto a = std::make_unique<acceptor>(
        acceptor{frontend, tls, tcp::acceptor(context_), asio::steady_timer(context_)});
    a->socket.open(address.protocol());
    a->socket.set_option(tcp::acceptor::reuse_address(true));
    a->socket.set_option(reuse_port(true));
    if (address.address().is_v6()) {
        a->socket.set_option(asio::ip::v6_only(true));
    }
    a->socket.bind(address);
    a->socket.listen(asio::socket_base::max_listen_connections);
    a->socket.non_blocking(true);
    const auto bound = a->socket.local_endpoint();
    acceptors_.push_back(std::move(a));
    return bound;
}

void worker::start() {
    for (auto& a : acceptors_) {
        asio::co_spawn(context_, accept_loop(*a), asio::detached);
    }
    asio::co_spawn(context_, housekeeping(), asio::detached);
    thread_ = std::thread([this] { context_.run(); });
}

asio::awaitable<void> worker::accept_loop(acceptor& a) {
    // accept() reports the client's address: no getpeername() per connection.
    tcp::endpoint peer;
    for (;;) {
        error_code ec;
        tcp::socket socket = co_await a.socket.async_accept(peer, base::with(ec));
        if (!a.socket.is_open() || ec == asio::error::operation_aborted) {
            co_return;
        }
        if (ec) {
            co_await accept_failed(a, ec);
            continue;
        }
        // A wake-up often finds a burst of connections queued: take them all before waiting
        // again (the listening socket is non-blocking). Each needs a slot first; without one,
        // the connection in hand waits with the acceptor, the others in the backlog.
        for (int burst = 1;; ++burst) {
            if (!limit_.try_take(a.frontend) && !co_await wait_for_slot(a)) {
                co_return;
            }
            spawn_session(a, std::move(socket), peer);
            if (burst == 64) {
                break;
            }
            socket = a.socket.accept(peer, ec);
            if (ec) {
                break;
            }
        }
    }
}

asio::awaitable<bool> worker::wait_for_slot(acceptor& a) {
    if (limit_.paused(a.frontend)) {
        const auto& name = runtime_->cfg.frontends[a.frontend].name;
        base::logf("frontend %s: at its connection limit (%zu open, maxconn %zu, process %zu of "
                   "%zu): accepting paused, new connections wait in the listen backlog until one "
                   "closes; counted in fulcrum_accept_pauses_total, logged again after 10s "
                   "without a pause",
                   name.c_str(), limit_.open(a.frontend), limit_.maxconn(a.frontend), limit_.open(),
                   limit_.maxconn());
    }
    limit_.wait_begin();
    bool slot = false;
    while (!draining_ && a.socket.is_open()) {
        if (limit_.try_take(a.frontend)) {
            slot = true;
            break;
        }
        // Woken by wake_acceptors() (a cancel), or by the drain.
        a.resume.expires_at(asio::steady_timer::time_point::max());
        error_code ignored;
        co_await a.resume.async_wait(base::with(ignored));
    }
    limit_.wait_end();
    co_return slot;
}

// Out of descriptors or memory, which the connection limit should prevent unless maxconn was
// set above what the descriptor limit allows: give closing connections a moment.
asio::awaitable<void> worker::accept_failed(acceptor& a, const error_code& ec) {
    const auto& name = runtime_->cfg.frontends[a.frontend].name;
    if (const auto own = base::own_exhaustion(ec)) {
        base::note_exhaustion(*own, base::exhausted_at::accept, name);
    } else {
        base::log("accept on frontend " + name + " failed: " + ec.message());
    }
    a.resume.expires_after(std::chrono::milliseconds(100));
    error_code ignored;
    co_await a.resume.async_wait(base::with(ignored));
}

void worker::wake_acceptors() {
    asio::post(context_, [this] {
        for (auto& a : acceptors_) {
            a->resume.cancel();
        }
    });
}

void worker::spawn_session(const acceptor& a, tcp::socket socket, const tcp::endpoint& peer) {
    // The session lives as long as its coroutine: the completion handler holds it.
    const auto start = [&](auto s, std::shared_ptr<const tls::server_contexts> contexts) {
        sessions_.push_back(*s);
        auto& session = *s;
        asio::co_spawn(context_, session.run(std::move(contexts)),
                       asio::consign(asio::detached, std::move(s)));
    };
    if (!a.tls) {
        start(std::make_shared<plain_session>(*this, std::move(socket), peer, a.frontend), nullptr);
        return;
    }
    const auto& contexts = tls_[a.frontend];
    start(std::make_shared<tls_session>(
              *this, detail::tls_stream(std::move(socket), contexts->initial()), peer, a.frontend),
          contexts);
}

void worker::replace_certificates(std::vector<std::shared_ptr<const tls::server_contexts>> tls) {
    asio::post(context_, [this, tls = std::move(tls)]() mutable { tls_ = std::move(tls); });
}

asio::awaitable<void> worker::housekeeping() {
    for (unsigned tick = 1;; ++tick) {
        housekeeping_timer_.expires_after(std::chrono::seconds(1));
        error_code ec;
        co_await housekeeping_timer_.async_wait(base::with(ec));
        if (ec) {
            co_return;
        }
        pool_.expire(upstream_pool::clock::now());
        if (tick % memory_period_ticks == 0) {
            release_surplus_memory();
        }
    }
}

// After a flood the shelves and the block cache hold what it freed: give back what went unused
// for a whole period, then let malloc return its free pages to the kernel (glibc keeps them
// otherwise; malloc_trim walks every arena, so only when there was something to give).
void worker::release_surplus_memory() {
    std::size_t freed = 0;
    for (auto& shelf : free_exchanges_) {
        shelf.free.erase(shelf.free.begin(),
                         shelf.free.begin() + static_cast<std::ptrdiff_t>(shelf.low_water));
        freed += shelf.low_water * exchange_bytes;
        shelf.low_water = shelf.free.size();
    }
    if (auto* cache = base::block_cache::of_this_thread()) {
        freed += cache->trim();
    }
    if (freed >= trim_threshold_bytes) {
        ::malloc_trim(0);
    }
}

std::unique_ptr<detail::exchange> worker::acquire_exchange(std::size_t frontend) {
    auto& shelf = free_exchanges_[frontend];
    if (shelf.free.empty()) {
        return std::make_unique<detail::exchange>(runtime_->cfg.frontends[frontend].limits);
    }
    auto x = std::move(shelf.free.back());
    shelf.free.pop_back();
    shelf.low_water = std::min(shelf.low_water, shelf.free.size());
    return x;
}

void worker::release_exchange(std::size_t frontend, std::unique_ptr<detail::exchange> x) {
    x->from_client.clear();
    x->from_server.clear();
    free_exchanges_[frontend].free.push_back(std::move(x));
}

void worker::session_closed(detail::session_base& s, std::size_t frontend) {
    s.unlink();
    limit_.release(frontend);
}

void worker::drain() {
    asio::post(context_, [this] { begin_drain(); });
}

void worker::begin_drain() {
    draining_ = true;
    for (auto& a : acceptors_) {
        error_code ignored;
        a->socket.close(ignored);
        a->resume.cancel();
    }
    for (auto& s : sessions_) {
        s.drain();
    }
    housekeeping_timer_.cancel();
    pool_.clear();
}

void worker::end_tunnels() {
    asio::post(context_, [this] {
        for (auto& s : sessions_) {
            s.end_tunnel();
        }
    });
}

void worker::stop() {
    context_.stop();
    if (thread_.joinable()) {
        thread_.join();
    }
    while (!sessions_.empty()) {
        auto& s = sessions_.front();
        s.unlink();
        s.abandon();
    }
}

} // namespace fulcrum::proxy
