#pragma once

#include <boost/system/error_code.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

// fulcrum's own exhaustion: the errors that say this process (or this host) ran out of
// something, not that the peer failed. docs/operations.md, "Limits and exhaustion".
namespace fulcrum::base {

// In the order of `exhaustion_names`, the `resource` label of
// fulcrum_resource_exhaustion_total.
enum class exhaustion : std::uint8_t { emfile, enfile, enomem, enobufs, eaddrnotavail };
constexpr std::array<std::string_view, 5> exhaustion_names{"emfile", "enfile", "enomem", "enobufs",
                                                           "eaddrnotavail"};

// EMFILE, ENFILE, ENOMEM, ENOBUFS or EADDRNOTAVAIL, however reported (Asio's system category,
// the generic category, a std::error_code); nothing for any other error. A connect or check
// that fails with one of these says nothing about the server, so it must never count towards
// taking it DOWN.
std::optional<exhaustion> own_exhaustion(const boost::system::error_code& ec);
inline bool is_own_exhaustion(const boost::system::error_code& ec) {
    return own_exhaustion(ec).has_value();
}

// What ran out of descriptors etc., for the log line.
enum class exhausted_at : std::uint8_t { accept, connect, check };

// Counts one exhaustion (fulcrum_resource_exhaustion_total) and logs it once per episode of
// its kind and place, naming `subject` (a server, a frontend). From any thread.
void note_exhaustion(exhaustion what, exhausted_at where, std::string_view subject);
std::uint64_t exhaustion_count(exhaustion what);

// Says whether an event begins a new episode: none happened in the `quiet` before it. Used so
// that a condition that lasts (a flood at the limit) is logged once, not once per event.
// Lock-free; from any thread.
class episode {
public:
    using clock = std::chrono::steady_clock;
    static constexpr clock::duration default_quiet = std::chrono::seconds(10);

    episode() = default;
    explicit episode(clock::duration quiet) : quiet_(quiet.count()) {}
    bool begins(clock::time_point now = clock::now());

private:
    static constexpr clock::rep never = INT64_MIN;
    clock::rep quiet_ = default_quiet.count();
    std::atomic<clock::rep> last_{never};
};

} // namespace fulcrum::base
