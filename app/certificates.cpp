#include "app/certificates.hpp"

#include "sli/metric.hpp"

#include <chrono>

namespace fulcrum {

namespace {

class certificate_metrics : public prometheus::Collectable {
public:
    certificate_metrics(const config::config& cfg, const certificates& source,
                        const std::uint64_t& reloads, const std::uint64_t& failed)
        : cfg_(cfg), source_(source), reloads_(reloads), failed_(failed) {}

    std::vector<prometheus::MetricFamily> Collect() const override {
        using prometheus::MetricType;
        auto expiry = sli::metric_family(
            "fulcrum_tls_certificate_expiry_timestamp_seconds",
            "When each certificate a frontend serves expires (notAfter), in Unix seconds.",
            MetricType::Gauge);
        auto reloads = sli::metric_family(
            "fulcrum_tls_certificate_reloads_total",
            "Loads of the certificates on SIGHUP; a failure keeps the previous ones.",
            MetricType::Counter);
        const auto& current = source_.current();
        for (std::size_t f = 0; f < current.size(); ++f) {
            if (!current[f]) {
                continue;
            }
            for (const auto& c : current[f]->certificates()) {
                const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(
                    c.not_after.time_since_epoch());
                expiry.metric.push_back(sli::gauge_sample({{"frontend", cfg_.frontends[f].name},
                                                           {"name", c.name},
                                                           {"key_type", tls::name_of(c.key)}},
                                                          static_cast<double>(seconds.count())));
            }
        }
        reloads.metric.push_back(
            sli::counter_sample({{"result", "success"}}, static_cast<double>(reloads_)));
        reloads.metric.push_back(
            sli::counter_sample({{"result", "failure"}}, static_cast<double>(failed_)));
        return {std::move(expiry), std::move(reloads)};
    }

private:
    const config::config& cfg_;
    const certificates& source_;
    const std::uint64_t& reloads_;
    const std::uint64_t& failed_;
};

} // namespace

certificates::certificates(const config::config& cfg) : cfg_(cfg), current_(load()) {}

certificates::set certificates::load() const {
    set loaded;
    for (const auto& frontend : cfg_.frontends) {
        loaded.push_back(frontend.tls ? std::make_shared<const tls::server_contexts>(*frontend.tls)
                                      : nullptr);
    }
    return loaded;
}

std::vector<config::diagnostic> certificates::reload() {
    try {
        current_ = load();
        ++reloads_;
        return {};
    } catch (const tls::setting_error& e) {
        ++failed_reloads_;
        return {e.diagnostic()};
    }
}

std::size_t certificates::count() const {
    std::size_t n = 0;
    for (const auto& contexts : current_) {
        n += contexts ? contexts->certificates().size() : 0;
    }
    return n;
}

std::shared_ptr<prometheus::Collectable> certificates::metrics() const {
    return std::make_shared<certificate_metrics>(cfg_, *this, reloads_, failed_reloads_);
}

} // namespace fulcrum
