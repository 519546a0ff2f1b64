#pragma once

#include "config/config.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/intrusive/list.hpp>

#include <chrono>
#include <deque>

namespace fulcrum::proxy::detail {

class deadline_queues;

// One connection end's deadline. When it passes, `on_expiry(target)` runs on the worker's
// thread (it cancels or closes that end's socket) and expired() holds until it is armed again.
class deadline : public boost::intrusive::list_base_hook<
                     boost::intrusive::link_mode<boost::intrusive::auto_unlink>> {
public:
    using action = void (*)(void* target);

    deadline(deadline_queues& queues, action on_expiry, void* target)
        : queues_(queues), on_expiry_(on_expiry), target_(target) {}

    void arm(config::duration timeout);
    void disarm() { unlink(); }
    bool expired() const { return expired_; }

private:
    friend class deadline_queues;

    deadline_queues& queues_;
    std::chrono::steady_clock::time_point at_;
    action on_expiry_;
    void* target_;
    bool expired_ = false;
};

// A worker's deadlines and its one timer. A deadline is always armed as now + one of the
// config's timeouts, so the deadlines that share a timeout expire in the order they were armed:
// each timeout has a FIFO queue, arming is an append and disarming an unlink, and the timer
// only ever waits for the earliest queue head. No timer per connection, no heap, no
// allocation once every timeout has its queue.
class deadline_queues {
public:
    using clock = std::chrono::steady_clock;

    explicit deadline_queues(boost::asio::io_context& context);
    ~deadline_queues();
    deadline_queues(const deadline_queues&) = delete;
    deadline_queues& operator=(const deadline_queues&) = delete;

private:
    friend class deadline;
    using list = boost::intrusive::list<deadline, boost::intrusive::constant_time_size<false>>;
    struct queue {
        config::duration timeout;
        list entries;
    };

    void add(deadline& d, config::duration timeout);
    void on_timer();
    void schedule(clock::time_point at);

    // Few: one per distinct timeout in the config. A deque, so that queues never move.
    std::deque<queue> queues_;
    boost::asio::steady_timer timer_;
    clock::time_point scheduled_ = clock::time_point::max();
};

inline void deadline::arm(config::duration timeout) {
    queues_.add(*this, timeout);
}

} // namespace fulcrum::proxy::detail
