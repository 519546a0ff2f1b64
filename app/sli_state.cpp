#include "app/sli_state.hpp"

#include "base/asio.hpp"
#include "base/log.hpp"
#include "sli/metric.hpp"

#include <boost/asio/steady_timer.hpp>
#include <prometheus/client_metric.h>
#include <prometheus/metric_family.h>
#include <prometheus/metric_type.h>

#include <chrono>
#include <cstdint>
#include <stdexcept>

namespace fulcrum {

namespace detail {

struct save_counts {
    std::uint64_t saved = 0;
    std::uint64_t failed = 0;
    std::int64_t last_saved = 0; // wall-clock seconds of the last good save; 0: none yet
};

} // namespace detail

namespace {

namespace asio = boost::asio;

class save_metrics : public prometheus::Collectable {
public:
    explicit save_metrics(std::shared_ptr<const detail::save_counts> counts)
        : counts_(std::move(counts)) {}

    std::vector<prometheus::MetricFamily> Collect() const override {
        prometheus::MetricFamily saves{"fulcrum_sli_state_saves_total",
                                       "Saves of the SLI windows to state_dir, by result.",
                                       prometheus::MetricType::Counter,
                                       {}};
        for (const auto& [result, value] :
             {std::pair{"ok", counts_->saved}, std::pair{"failed", counts_->failed}}) {
            saves.metric.push_back(
                sli::counter_sample({{"result", result}}, static_cast<double>(value)));
        }
        prometheus::MetricFamily last{
            "fulcrum_sli_state_last_save_timestamp_seconds",
            "When the SLI windows were last saved to state_dir (Unix time); 0 before the first.",
            prometheus::MetricType::Gauge,
            {}};
        last.metric.push_back(sli::gauge_sample({}, static_cast<double>(counts_->last_saved)));
        return {std::move(saves), std::move(last)};
    }

private:
    std::shared_ptr<const detail::save_counts> counts_;
};

std::filesystem::path checked(const std::filesystem::path& dir) {
    if (auto problem = sli::check_state_dir(dir)) {
        throw std::runtime_error(*problem);
    }
    return dir;
}

} // namespace

std::optional<std::filesystem::path> state_dir_of(const config::global& global,
                                                  const char* state_directory_env) {
    if (!global.state_dir.empty()) {
        return std::filesystem::path(global.state_dir);
    }
    if (state_directory_env != nullptr && *state_directory_env != '\0') {
        // With several StateDirectory= entries systemd lists them all, separated by colons.
        const std::string_view all = state_directory_env;
        return std::filesystem::path(all.substr(0, all.find(':')));
    }
    return std::nullopt;
}

sli_state::sli_state(const std::filesystem::path& dir, config::duration interval)
    : file_(checked(dir)), interval_(interval), counts_(std::make_shared<detail::save_counts>()),
      metrics_(std::make_shared<save_metrics>(counts_)) {}

void sli_state::load() {
    base::log(file_.load(sli::wall_clock::now()).message);
}

asio::awaitable<void> sli_state::run(asio::io_context& control) {
    asio::steady_timer timer(control);
    for (;;) {
        timer.expires_after(interval_);
        boost::system::error_code ec;
        co_await timer.async_wait(base::with(ec));
        if (ec) {
            co_return;
        }
        save();
    }
}

void sli_state::save(bool final) {
    const auto now = sli::wall_clock::now();
    if (const auto problem = file_.save(now)) {
        ++counts_->failed;
        // Once per run of failures: a full disk would otherwise repeat the line every interval.
        if (failing_++ == 0 || final) {
            base::log("cannot save the SLI windows: " + *problem +
                      " (they are kept in memory; fulcrum goes on serving and retries every " +
                      std::to_string(std::chrono::ceil<std::chrono::seconds>(interval_).count()) +
                      "s)");
        }
        return;
    }
    ++counts_->saved;
    counts_->last_saved = std::chrono::floor<std::chrono::seconds>(now.time_since_epoch()).count();
    if (failing_ > 0) {
        base::log("SLI windows saved to " + file_.path().string() + " again, after " +
                  std::to_string(failing_) + " failed save" + (failing_ == 1 ? "" : "s"));
        failing_ = 0;
    } else if (final) {
        base::log("SLI windows saved to " + file_.path().string());
    }
}

} // namespace fulcrum
