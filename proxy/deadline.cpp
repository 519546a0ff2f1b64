#include "proxy/detail/deadline.hpp"

namespace fulcrum::proxy::detail {

deadline_queues::deadline_queues(boost::asio::io_context& context) : timer_(context) {}

deadline_queues::~deadline_queues() {
    for (auto& q : queues_) {
        q.entries.clear();
    }
}

void deadline_queues::add(deadline& d, config::duration timeout) {
    d.unlink();
    d.expired_ = false;
    d.at_ = clock::now() + timeout;
    queue* found = nullptr;
    for (auto& q : queues_) {
        if (q.timeout == timeout) {
            found = &q;
            break;
        }
    }
    if (found == nullptr) {
        found = &queues_.emplace_back(queue{timeout, {}});
    }
    found->entries.push_back(d);
    if (d.at_ < scheduled_) {
        schedule(d.at_);
    }
}

void deadline_queues::schedule(clock::time_point at) {
    scheduled_ = at;
    // Replaces a later wait: its handler then runs with operation_aborted and does nothing.
    timer_.expires_at(at);
    timer_.async_wait([this, at](const boost::system::error_code& ec) {
        if (!ec && at == scheduled_) {
            on_timer();
        }
    });
}

void deadline_queues::on_timer() {
    scheduled_ = clock::time_point::max();
    const auto now = clock::now();
    auto next = clock::time_point::max();
    for (auto& q : queues_) {
        while (!q.entries.empty() && q.entries.front().at_ <= now) {
            auto& d = q.entries.front();
            d.unlink();
            d.expired_ = true;
            d.on_expiry_(d.target_);
        }
        if (!q.entries.empty()) {
            next = std::min(next, q.entries.front().at_);
        }
    }
    if (next != clock::time_point::max() && next < scheduled_) {
        schedule(next);
    }
}

} // namespace fulcrum::proxy::detail
