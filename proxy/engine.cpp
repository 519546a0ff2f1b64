#include "proxy/engine.hpp"

#include "proxy/detail/worker.hpp"

#include "base/exhaustion.hpp"
#include "sli/metric.hpp"

#include <stdexcept>

namespace fulcrum::proxy {

namespace {

class limit_metrics : public prometheus::Collectable {
public:
    limit_metrics(const config::config& cfg, const connection_limit& limit)
        : cfg_(cfg), limit_(limit) {}

    std::vector<prometheus::MetricFamily> Collect() const override {
        using prometheus::MetricType;
        auto global = sli::metric_family(
            "fulcrum_maxconn", "Client connections the process accepts at once (global.maxconn).",
            MetricType::Gauge);
        auto maxconn = sli::metric_family(
            "fulcrum_frontend_maxconn",
            "Client connections the frontend accepts at once; at it, accepting pauses.",
            MetricType::Gauge);
        auto open = sli::metric_family("fulcrum_frontend_connections",
                                       "Client connections open now.", MetricType::Gauge);
        auto pauses = sli::metric_family(
            "fulcrum_accept_pauses_total",
            "Times an acceptor stopped accepting at the connection limit (connections waited in "
            "the listen backlog).",
            MetricType::Counter);
        auto exhaustion = sli::metric_family(
            "fulcrum_resource_exhaustion_total",
            "Accepts, connects and health checks that failed because fulcrum itself ran out of "
            "descriptors, memory, buffers or local ports; never held against a server.",
            MetricType::Counter);
        global.metric.push_back(sli::gauge_sample({}, static_cast<double>(limit_.maxconn())));
        for (std::size_t f = 0; f < cfg_.frontends.size(); ++f) {
            const sli::metric_labels label{{"frontend", cfg_.frontends[f].name}};
            maxconn.metric.push_back(
                sli::gauge_sample(label, static_cast<double>(limit_.maxconn(f))));
            open.metric.push_back(sli::gauge_sample(label, static_cast<double>(limit_.open(f))));
            pauses.metric.push_back(
                sli::counter_sample(label, static_cast<double>(limit_.pauses(f))));
        }
        for (std::size_t r = 0; r < base::exhaustion_names.size(); ++r) {
            exhaustion.metric.push_back(sli::counter_sample(
                {{"resource", std::string(base::exhaustion_names[r])}},
                static_cast<double>(base::exhaustion_count(static_cast<base::exhaustion>(r)))));
        }
        return {std::move(global), std::move(maxconn), std::move(open), std::move(pauses),
                std::move(exhaustion)};
    }

private:
    const config::config& cfg_;
    const connection_limit& limit_;
};

} // namespace

engine::engine(std::shared_ptr<const runtime> rt, sli::meter& meter, health::server_states& states,
               std::size_t threads, const descriptor_plan& plan, const certificates& tls)
    : limit_(plan.maxconn, plan.frontend_maxconn) {
    for (std::size_t i = 0; i < threads; ++i) {
        workers_.push_back(
            std::make_unique<worker>(rt, meter, states, limit_, plan.pool_idle_per_worker, i, tls));
        limit_.add_waker([w = workers_.back().get()] { w->wake_acceptors(); });
    }
}

engine::~engine() {
    stop();
}

void engine::listen() {
    const auto& frontends = workers_.front()->rt().cfg.frontends;
    const auto listen_on = [&](std::size_t f, const config::endpoint& address, bool tls) {
        // The first worker resolves a port 0 bind; the others share the port it got.
        auto bound = to_tcp(address);
        try {
            for (auto& w : workers_) {
                bound = w->bind(f, bound, tls);
            }
        } catch (const boost::system::system_error& e) {
            throw std::runtime_error("frontend " + frontends[f].name + ": cannot listen on " +
                                     address.to_string() + ": " + e.code().message());
        }
        listeners_.push_back({frontends[f].name, bound, tls});
    };
    for (std::size_t f = 0; f < frontends.size(); ++f) {
        for (const auto& address : frontends[f].bind) {
            listen_on(f, address, false);
        }
        if (frontends[f].tls) {
            for (const auto& address : frontends[f].tls->bind) {
                listen_on(f, address, true);
            }
        }
    }
}

void engine::replace_certificates(const certificates& tls) {
    for (auto& w : workers_) {
        w->replace_certificates(tls);
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

std::shared_ptr<prometheus::Collectable> engine::metrics() const {
    return std::make_shared<limit_metrics>(workers_.front()->rt().cfg, limit_);
}

void engine::stop() {
    for (auto& w : workers_) {
        w->stop();
    }
}

} // namespace fulcrum::proxy
