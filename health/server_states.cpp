#include "health/server_states.hpp"

namespace fulcrum::health {

namespace {

constexpr auto relaxed = std::memory_order_relaxed;

// Every worker calls this for every connect or response: a store only when there is a count
// to clear, so that the common case reads a cache line shared by all workers and never
// writes it.
void reset(std::atomic<std::uint32_t>& count) {
    if (count.load(relaxed) != 0) {
        count.store(0, relaxed);
    }
}

} // namespace

std::string_view to_string(admin_state s) {
    switch (s) {
    case admin_state::ready:
        return "ready";
    case admin_state::drain:
        return "drain";
    case admin_state::maint:
        return "maint";
    }
    return "ready";
}

std::optional<admin_state> parse_admin_state(std::string_view text) {
    for (admin_state s : {admin_state::ready, admin_state::drain, admin_state::maint}) {
        if (text == to_string(s)) {
            return s;
        }
    }
    return std::nullopt;
}

server_states::server_states(const config::config& cfg) {
    std::size_t total = 0;
    for (const auto& backend : cfg.backends) {
        first_.push_back(total);
        passive_.push_back(backend.passive);
        total += backend.servers.size();
    }
    // Every server starts UP: see docs/health-checks.md, "Start-up".
    slots_ = std::make_unique<slot[]>(total);
}

bool server_states::up(std::size_t backend, std::size_t server) const {
    return slots_[index(backend, server)].up.load(relaxed);
}

admin_state server_states::admin(std::size_t backend, std::size_t server) const {
    return static_cast<admin_state>(slots_[index(backend, server)].admin.load(relaxed));
}

bool server_states::available(std::size_t backend, std::size_t server) const {
    const slot& s = slots_[index(backend, server)];
    return s.up.load(relaxed) &&
           s.admin.load(relaxed) == static_cast<std::uint8_t>(admin_state::ready);
}

void server_states::set_up(std::size_t backend, std::size_t server, bool up) {
    slots_[index(backend, server)].up.store(up, relaxed);
}

void server_states::set_admin(std::size_t backend, std::size_t server, admin_state state) {
    slots_[index(backend, server)].admin.store(static_cast<std::uint8_t>(state), relaxed);
}

bool server_states::observe_connect(std::size_t backend, std::size_t server, bool ok) {
    const unsigned threshold = passive_[backend].connect_failures;
    if (threshold == 0) {
        return false;
    }
    slot& s = slots_[index(backend, server)];
    if (ok) {
        reset(s.connect_failures);
        return false;
    }
    return count_failure(s, s.connect_failures, threshold);
}

bool server_states::observe_response(std::size_t backend, std::size_t server, int status) {
    const auto& passive = passive_[backend];
    slot& s = slots_[index(backend, server)];
    if (passive.gateway_errors != 0) {
        reset(s.gateway_errors);
    }
    if (passive.server_errors == 0) {
        return false;
    }
    if (status < 500) {
        reset(s.server_errors);
        return false;
    }
    return count_failure(s, s.server_errors, passive.server_errors);
}

bool server_states::observe_gateway_error(std::size_t backend, std::size_t server) {
    const unsigned threshold = passive_[backend].gateway_errors;
    if (threshold == 0) {
        return false;
    }
    slot& s = slots_[index(backend, server)];
    return count_failure(s, s.gateway_errors, threshold);
}

bool server_states::count_failure(slot& s, std::atomic<std::uint32_t>& count, unsigned threshold) {
    if (count.fetch_add(1, relaxed) + 1 < threshold) {
        return false;
    }
    // The count starts again, so that a server that comes back needs a full run of failures
    // to be taken out again.
    count.store(0, relaxed);
    // Only the observation that turns UP into DOWN reports it: several workers may cross the
    // threshold at once, and a server the checks already took DOWN is not news.
    if (!s.up.exchange(false, relaxed)) {
        return false;
    }
    s.passive_down.store(true, relaxed);
    s.passive_downs.fetch_add(1, relaxed);
    return true;
}

bool server_states::take_passive_down(std::size_t backend, std::size_t server) {
    auto& flag = slots_[index(backend, server)].passive_down;
    return flag.load(relaxed) && flag.exchange(false, relaxed);
}

std::uint64_t server_states::passive_downs(std::size_t backend, std::size_t server) const {
    return slots_[index(backend, server)].passive_downs.load(relaxed);
}

} // namespace fulcrum::health
