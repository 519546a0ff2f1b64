#include "sli/windows.hpp"

#include <algorithm>

namespace fulcrum::sli {

namespace {

std::size_t index_of(window w) {
    return static_cast<std::size_t>(w);
}

// Every window length is a whole multiple of 60 s, so a bucket is a whole number of seconds
// and a bucket number means the same span of time across a restart.
std::int64_t bucket_width(window w) {
    return length(w).count() / static_cast<std::int64_t>(buckets_per_window);
}

// Wall-clock times are after the epoch, so the numbers are never negative.
std::int64_t bucket_number(window w, wall_clock::time_point t) {
    const auto seconds = std::chrono::floor<std::chrono::seconds>(t.time_since_epoch()).count();
    return seconds / bucket_width(w);
}

std::size_t slot_of(std::int64_t number) {
    return static_cast<std::size_t>(number) % buckets_per_window;
}

} // namespace

std::string_view name(window w) {
    switch (w) {
    case window::m5:
        return "5m";
    case window::m30:
        return "30m";
    case window::h1:
        return "1h";
    case window::h2:
        return "2h";
    case window::h6:
        return "6h";
    case window::d1:
        return "1d";
    case window::d3:
        return "3d";
    case window::d30:
        return "30d";
    }
    return "?";
}

std::chrono::seconds length(window w) {
    using std::chrono::hours;
    using std::chrono::minutes;
    switch (w) {
    case window::m5:
        return minutes(5);
    case window::m30:
        return minutes(30);
    case window::h1:
        return hours(1);
    case window::h2:
        return hours(2);
    case window::h6:
        return hours(6);
    case window::d1:
        return hours(24);
    case window::d3:
        return hours(72);
    case window::d30:
        return hours(720);
    }
    return {};
}

void window_counter::add(wall_clock::time_point now, std::uint64_t good, std::uint64_t total) {
    if (!since_) {
        since_ = now;
    }
    for (window w : all_windows) {
        const auto number = bucket_number(w, now);
        bucket& b = buckets_[index_of(w)][slot_of(number)];
        if (b.number != number) {
            // The slot still holds the bucket 60 widths ago (or older): it has left the window.
            b = bucket{number, {}};
        }
        b.value.good += good;
        b.value.total += total;
    }
}

window_counter::counts window_counter::over(window w, wall_clock::time_point now) const {
    const auto current = bucket_number(w, now);
    const auto oldest = current - static_cast<std::int64_t>(buckets_per_window);
    counts sum;
    for (const bucket& b : buckets_[index_of(w)]) {
        if (b.number > oldest && b.number <= current) {
            sum.good += b.value.good;
            sum.total += b.value.total;
        }
    }
    return sum;
}

std::vector<window_counter::saved_bucket> window_counter::saved() const {
    std::vector<saved_bucket> out;
    for (window w : all_windows) {
        for (const bucket& b : buckets_[index_of(w)]) {
            if (b.number >= 0) {
                out.push_back({w, b.number, b.value});
            }
        }
    }
    return out;
}

void window_counter::restore(const saved_bucket& saved) {
    bucket& b = buckets_[index_of(saved.w)][slot_of(saved.number)];
    if (b.number > saved.number) {
        return;
    }
    if (b.number < saved.number) {
        b = bucket{saved.number, {}};
    }
    b.value.good += saved.value.good;
    b.value.total += saved.value.total;
}

void window_counter::restore_since(wall_clock::time_point t) {
    if (!since_ || t < *since_) {
        since_ = t;
    }
}

std::chrono::seconds window_counter::coverage(window w, wall_clock::time_point now) const {
    if (!since_ || now <= *since_) {
        return std::chrono::seconds(0);
    }
    return std::min(length(w), std::chrono::floor<std::chrono::seconds>(now - *since_));
}

} // namespace fulcrum::sli
