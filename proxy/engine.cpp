#include "proxy/engine.hpp"

#include "proxy/detail/worker.hpp"

#include <stdexcept>

namespace fulcrum::proxy {

engine::engine(std::shared_ptr<const runtime> rt, sli::meter& meter, health::server_states& states,
               std::size_t threads) {
    for (std::size_t i = 0; i < threads; ++i) {
        workers_.push_back(std::make_unique<worker>(rt, meter, states, i));
    }
}

engine::~engine() {
    stop();
}

void engine::listen() {
    const auto& frontends = workers_.front()->rt().cfg.frontends;
    for (std::size_t f = 0; f < frontends.size(); ++f) {
        for (const auto& address : frontends[f].bind) {
            // The first worker resolves a port 0 bind; the others share the port it got.
            auto bound = to_tcp(address);
            try {
                for (auto& w : workers_) {
                    bound = w->bind(f, bound);
                }
            } catch (const boost::system::system_error& e) {
                throw std::runtime_error("frontend " + frontends[f].name + ": cannot listen on " +
                                         address.to_string() + ": " + e.code().message());
            }
            listeners_.push_back({frontends[f].name, bound});
        }
    }
}

void engine::start() {
    for (auto& w : workers_) {
        w->start();
    }
}

void engine::drain() {
    for (auto& w : workers_) {
        w->drain();
    }
}

void engine::end_tunnels() {
    for (auto& w : workers_) {
        w->end_tunnels();
    }
}

std::size_t engine::open_connections() const {
    std::size_t n = 0;
    for (const auto& w : workers_) {
        n += w->open_connections();
    }
    return n;
}

void engine::stop() {
    for (auto& w : workers_) {
        w->stop();
    }
}

} // namespace fulcrum::proxy
