#include "base/exhaustion.hpp"

#include "base/log.hpp"

#include <boost/system/errc.hpp>

#include <cerrno>
#include <string>

namespace fulcrum::base {

namespace {

constexpr std::size_t kinds = exhaustion_names.size();
constexpr std::size_t places = 3;

constexpr std::array<std::string_view, kinds> what_ran_out{
    "the process's descriptor limit (RLIMIT_NOFILE)", "the system's file table (fs.file-max)",
    "memory", "socket buffers", "local ports (net.ipv4.ip_local_port_range)"};
constexpr std::array<std::string_view, places> place_names{"accept on frontend", "connect to",
                                                           "health check of"};

std::array<std::atomic<std::uint64_t>, kinds> counts{};
std::array<std::array<episode, places>, kinds> episodes{};

} // namespace

std::optional<exhaustion> own_exhaustion(const boost::system::error_code& ec) {
    // The portable condition, so that an errno reported through any category (system,
    // generic, a wrapped std::error_code) is recognised, and a number of another category
    // that happens to equal an errno is not.
    const auto condition = ec.default_error_condition();
    if (condition.category() != boost::system::generic_category()) {
        return std::nullopt;
    }
    switch (condition.value()) {
    case EMFILE:
        return exhaustion::emfile;
    case ENFILE:
        return exhaustion::enfile;
    case ENOMEM:
        return exhaustion::enomem;
    case ENOBUFS:
        return exhaustion::enobufs;
    case EADDRNOTAVAIL:
        return exhaustion::eaddrnotavail;
    default:
        return std::nullopt;
    }
}

void note_exhaustion(exhaustion what, exhausted_at where, std::string_view subject) {
    const auto k = static_cast<std::size_t>(what);
    const auto p = static_cast<std::size_t>(where);
    counts[k].fetch_add(1, std::memory_order_relaxed);
    if (!episodes[k][p].begins()) {
        return;
    }
    std::string line = std::string(place_names[p]) + " " + std::string(subject) +
                       " failed: fulcrum is out of " + std::string(what_ran_out[k]) + " (" +
                       std::string(exhaustion_names[k]) +
                       "); not held against any server. Counted in "
                       "fulcrum_resource_exhaustion_total{resource=\"" +
                       std::string(exhaustion_names[k]) + "\"}, logged again after 10s without one";
    log(line);
}

std::uint64_t exhaustion_count(exhaustion what) {
    return counts[static_cast<std::size_t>(what)].load(std::memory_order_relaxed);
}

bool episode::begins(clock::time_point now) {
    const auto t = now.time_since_epoch().count();
    const auto previous = last_.exchange(t, std::memory_order_relaxed);
    return previous == never || t - previous >= quiet_;
}

} // namespace fulcrum::base
