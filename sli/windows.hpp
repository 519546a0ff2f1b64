#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

// Rolling windows over which the SLI is reported (docs/sli.md).
namespace fulcrum::sli {

using wall_clock = std::chrono::system_clock;

enum class window : std::uint8_t { m5, m30, h1, h2, h6, d1, d3, d30 };
inline constexpr std::array<window, 8> all_windows{window::m5, window::m30, window::h1,
                                                   window::h2, window::h6,  window::d1,
                                                   window::d3, window::d30};
inline constexpr std::size_t buckets_per_window = 60;

std::string_view name(window w);       // "5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d"
std::chrono::seconds length(window w); // 300 s ... 30 days

// Good and total counts over every window at once, each window kept as 60 buckets of 1/60 of
// its length, so a window's count is exact to one bucket. Time is the caller's (wall clock,
// so that counts can be persisted and reloaded across a restart); not thread-safe: owned by
// the control thread.
class window_counter {
public:
    struct counts {
        std::uint64_t good = 0;
        std::uint64_t total = 0;
    };

    void add(wall_clock::time_point now, std::uint64_t good, std::uint64_t total);
    // What was added during the window ending at `now` (buckets older than 60 widths dropped).
    counts over(window w, wall_clock::time_point now) const;

    // The buckets as kept, for persistence (sli/state_file.hpp). A bucket number is the
    // wall-clock seconds since the epoch over the bucket width (1/60 of the window), so it
    // means the same span of time after a restart, and a bucket that has left its window by
    // then is simply not counted.
    struct saved_bucket {
        window w = window::m5;
        std::int64_t number = 0; // >= 0
        counts value;
    };
    // Every bucket written so far.
    std::vector<saved_bucket> saved() const;
    // Puts a bucket back in its slot, unless the slot holds a newer one; into a bucket of the
    // same number its counts are added.
    void restore(const saved_bucket& b);

    // When counting began: the first add, or an earlier time restored from a state file;
    // nothing before either.
    std::optional<wall_clock::time_point> since() const { return since_; }
    void restore_since(wall_clock::time_point t);
    // How much of the window ending at `now` the counter has seen, up to the window's length,
    // so that a reader knows a 30-day ratio is 6 minutes old. Time while fulcrum was stopped
    // counts as seen (it served nothing then, and nothing was lost).
    std::chrono::seconds coverage(window w, wall_clock::time_point now) const;

private:
    struct bucket {
        std::int64_t number = -1; // seconds since epoch / bucket width; -1: never written
        counts value;
    };
    std::array<std::array<bucket, buckets_per_window>, all_windows.size()> buckets_{};
    std::optional<wall_clock::time_point> since_;
};

} // namespace fulcrum::sli
