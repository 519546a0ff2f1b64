#pragma once

#include "config/config.hpp"
#include "sli/state_file.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <prometheus/collectable.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

namespace fulcrum {

namespace detail {
struct save_counts;
}

// Where the SLI windows are kept: global.state_dir, else systemd's $STATE_DIRECTORY (the
// unit's StateDirectory=, passed in as `state_directory_env`, may be null), else nowhere.
std::optional<std::filesystem::path> state_dir_of(const config::global& global,
                                                  const char* state_directory_env);

// Keeps the SLI windows across restarts (docs/sli.md, "Persistence"): loaded before serving,
// saved every state_interval on the control thread and once at shutdown. A failed save does
// not stop the proxy: it is logged once when a run of failures starts and once when a save
// succeeds again, and counted in the metrics. Not thread-safe: the control thread, or the
// main thread once the control io_context has stopped.
class sli_state {
public:
    // Refuses (std::runtime_error saying why) a directory that does not exist or cannot be
    // written, so that an operator who asked for persistence learns it at start.
    sli_state(const std::filesystem::path& dir, config::duration interval);
    sli_state(const sli_state&) = delete;
    sli_state& operator=(const sli_state&) = delete;

    // Register every counter here before load().
    sli::state_file& file() { return file_; }
    // Restores the counters and logs one line: loaded, no file, or set aside and why.
    void load();
    // Saves every state_interval until the io_context stops.
    boost::asio::awaitable<void> run(boost::asio::io_context& control);
    // One save now; at shutdown, `final` also logs a success.
    void save(bool final = false);

    // fulcrum_sli_state_saves_total{result="ok|failed"} and
    // fulcrum_sli_state_last_save_timestamp_seconds.
    std::shared_ptr<prometheus::Collectable> metrics() const { return metrics_; }

private:
    sli::state_file file_;
    config::duration interval_;
    std::uint64_t failing_ = 0;                   // consecutive failed saves
    std::shared_ptr<detail::save_counts> counts_; // shared with the metrics
    std::shared_ptr<prometheus::Collectable> metrics_;
};

} // namespace fulcrum
