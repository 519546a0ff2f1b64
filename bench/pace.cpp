// bench/pace.cpp: a constant-arrival-rate (open-loop) HTTP/1.1 load generator for bench/run.
//
//   g++ -std=c++20 -O2 -pthread -Wall -Wextra -Werror -o pace bench/pace.cpp
//   pace --port 18110 --rate 20000 --duration 10 [--warmup 2] [--connections 50]
//        [--threads 1] [--path /] [--host 127.0.0.1] [--drain 2]
//   pace --self-test
//
// Request i is due at start + i / rate, whatever happened to the requests before it (wrk's
// closed loop instead waits for a response before sending the next request, so a slow
// response delays the requests behind it and they are never measured as late: coordinated
// omission). A due request goes out at once on an idle keep-alive connection; when every
// connection is busy it waits in a queue, in order, and that wait is part of its latency.
// Latency is measured from the time the request was due, not from when it was sent, as wrk2
// does. Each connection carries one request at a time (no pipelining), Host is host:port.
//
// Requests due in the first --warmup seconds are sent but not measured; then --duration
// seconds are measured; requests due after that are not sent, and those still open after a
// further --drain seconds are counted as unfinished. Output: one JSON object on stdout with
// the requested rate, the latency percentiles (nearest rank over every measured request: p50,
// p90, p99, p99.9, max, mean, in ms), the achieved rate (measured responses over the measured
// seconds, or over the time to the last of them when that is longer), the generator's own
// lateness in sending (send lag: sent minus due, which includes the queue
// wait), the deepest queue, errors, non-2xx responses, unfinished requests and the
// generator's own CPU seconds. Exit status 0 when it ran (even with errors), 2 on bad
// arguments, 1 when it could not connect.
//
// Responses must carry Content-Length (any other framing counts as an error and the
// connection is reopened). Threads (--threads) split the connections and the schedule: thread
// k sends the requests i with i mod threads == k. It waits with epoll_pwait2 (nanosecond
// timeouts), one wake-up per due request at most; the send lag and its CPU seconds in the
// output say when the generator itself fell behind.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <deque>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using ns_t = std::int64_t;

ns_t now_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ns_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

// --- the schedule and the percentiles (what --self-test checks)

// When request i is due: start + i / rate, computed from i each time so that no rounding
// accumulates over a long run.
ns_t due_time(ns_t start, std::int64_t i, double rate) {
    return start + static_cast<ns_t>(std::llround(static_cast<double>(i) * 1e9 / rate));
}

// Requests due in [start, start + seconds): ceil(seconds * rate).
std::int64_t requests_in(double seconds, double rate) {
    return static_cast<std::int64_t>(std::ceil(seconds * rate - 1e-9));
}

// Nearest rank: the smallest value with at least p % of the values at or below it.
ns_t percentile(const std::vector<ns_t>& sorted, double p) {
    if (sorted.empty()) {
        return 0;
    }
    // (the small margin keeps 99.9 % of 1000 at rank 999 despite binary fractions)
    auto rank =
        static_cast<std::size_t>(std::ceil(p * static_cast<double>(sorted.size()) / 100.0 - 1e-9));
    rank = std::clamp<std::size_t>(rank, 1, sorted.size());
    return sorted[rank - 1];
}

// --- options

struct options {
    std::string host = "127.0.0.1";
    int port = 0;
    std::string path = "/";
    double rate = 0;
    double duration = 10;
    double warmup = 0;
    double drain = 2;
    int connections = 50;
    int threads = 1;
};

[[noreturn]] void usage(const char* why) {
    std::fprintf(stderr,
                 "pace: %s\nusage: pace --port P --rate R [--duration S] [--warmup S] "
                 "[--connections N] [--threads T] [--path /] [--host 127.0.0.1] [--drain S]\n"
                 "       pace --self-test\n",
                 why);
    std::exit(2);
}

double number(const char* name, const char* text) {
    char* end = nullptr;
    errno = 0;
    const double v = std::strtod(text, &end);
    if (errno != 0 || end == text || *end != '\0' || !std::isfinite(v)) {
        usage((std::string(name) + ": not a number: " + text).c_str());
    }
    return v;
}

// --- one thread's connections and schedule

enum class conn_state { connecting, idle, busy, closed };

struct connection {
    int fd = -1;
    conn_state state = conn_state::closed;
    ns_t due = 0;                // of the request in flight
    std::string head;            // the response head read so far
    std::int64_t body_left = -1; // body bytes still to read; -1 while in the head
    int status = 0;
    bool close_after = false;
    std::size_t unsent = 0; // request bytes not yet written
};

struct result {
    std::vector<ns_t> latency;
    std::vector<ns_t> lag;
    std::int64_t due_measured = 0; // requests due in the measured window
    std::int64_t errors = 0;
    std::int64_t connect_errors = 0;
    std::int64_t non2xx = 0;
    std::int64_t unfinished = 0;
    std::size_t max_queue = 0;
    ns_t last_done = 0; // when the last measured response completed
    std::string first_error;
};

class worker {
public:
    worker(const options& o, const sockaddr_in& addr, int index, int connections, ns_t start)
        : o_(o), addr_(addr), index_(index), start_(start),
          measure_from_(start + static_cast<ns_t>(o.warmup * 1e9)),
          stop_at_(measure_from_ + static_cast<ns_t>(o.duration * 1e9)), conns_(connections) {
        request_ = "GET " + o.path + " HTTP/1.1\r\nHost: " + o.host + ":" + std::to_string(o.port) +
                   "\r\nUser-Agent: fulcrum-bench-pace\r\n\r\n";
        const auto expected = static_cast<std::size_t>(
            static_cast<double>(requests_in(o.duration, o.rate)) / o.threads + 16);
        res_.latency.reserve(expected);
        res_.lag.reserve(expected);
    }

    // Opens every connection and waits until all are up (or fails).
    bool connect_all() {
        ep_ = epoll_create1(EPOLL_CLOEXEC);
        if (ep_ < 0) {
            error("epoll: " + std::string(std::strerror(errno)));
            return false;
        }
        for (std::size_t c = 0; c < conns_.size(); ++c) {
            open(c);
        }
        const ns_t deadline = now_ns() + 5'000'000'000;
        while (now_ns() < deadline) {
            std::size_t up = 0;
            for (const auto& c : conns_) {
                up += c.state == conn_state::idle ? 1 : 0;
                if (c.state == conn_state::closed) {
                    return false;
                }
            }
            if (up == conns_.size()) {
                return true;
            }
            poll_until(now_ns() + 100'000'000);
        }
        error("connections not established within 5 s");
        return false;
    }

    void run() {
        std::int64_t next = index_; // the next request index this thread sends
        const std::int64_t step = o_.threads;
        const std::int64_t total = requests_in(o_.warmup + o_.duration, o_.rate);
        const ns_t give_up = stop_at_ + static_cast<ns_t>(o_.drain * 1e9);
        for (;;) {
            const ns_t now = now_ns();
            while (next < total && due_time(start_, next, o_.rate) <= now) {
                const ns_t due = due_time(start_, next, o_.rate);
                queue_.push_back(due);
                if (due >= measure_from_) {
                    ++res_.due_measured;
                }
                next += step;
            }
            res_.max_queue = std::max(res_.max_queue, queue_.size());
            dispatch();
            const bool scheduling = next < total;
            if (!scheduling && queue_.empty() && busy_ == 0) {
                break;
            }
            if (now >= give_up) {
                break;
            }
            // Sleep until the next request is due or a connection has something.
            poll_until(scheduling ? due_time(start_, next, o_.rate) : give_up);
        }
        // What was due in the window and never answered.
        for (const auto& c : conns_) {
            if (c.state == conn_state::busy && c.due >= measure_from_) {
                ++res_.unfinished;
            }
        }
        for (const ns_t due : queue_) {
            if (due >= measure_from_) {
                ++res_.unfinished;
            }
        }
        for (auto& c : conns_) {
            if (c.fd >= 0) {
                ::close(c.fd);
            }
        }
        ::close(ep_);
    }

    result& res() { return res_; }
    ns_t measure_from() const { return measure_from_; }

private:
    void error(const std::string& what) {
        ++res_.errors;
        if (res_.first_error.empty()) {
            res_.first_error = what;
        }
    }

    void open(std::size_t c) {
        auto& k = conns_[c];
        k = connection{};
        k.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (k.fd < 0) {
            ++res_.connect_errors;
            error("socket: " + std::string(std::strerror(errno)));
            return;
        }
        const int one = 1;
        setsockopt(k.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (::connect(k.fd, reinterpret_cast<const sockaddr*>(&addr_), sizeof addr_) != 0 &&
            errno != EINPROGRESS) {
            ++res_.connect_errors;
            error("connect: " + std::string(std::strerror(errno)));
            ::close(k.fd);
            k.fd = -1;
            return;
        }
        k.state = conn_state::connecting;
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLOUT;
        ev.data.u64 = c;
        epoll_ctl(ep_, EPOLL_CTL_ADD, k.fd, &ev);
    }

    // A connection that failed or was closed: its request (if any) is an error, and it is
    // opened again.
    void reopen(std::size_t c, const std::string& why) {
        auto& k = conns_[c];
        if (k.state == conn_state::busy) {
            --busy_;
            error(why);
        }
        if (k.state == conn_state::idle) {
            idle_.erase(std::remove(idle_.begin(), idle_.end(), c), idle_.end());
        }
        if (k.fd >= 0) {
            ::close(k.fd);
        }
        k.fd = -1;
        k.state = conn_state::closed;
        open(c);
    }

    void dispatch() {
        while (!queue_.empty() && !idle_.empty()) {
            const std::size_t c = idle_.back();
            idle_.pop_back();
            auto& k = conns_[c];
            k.state = conn_state::busy;
            ++busy_;
            k.due = queue_.front();
            queue_.pop_front();
            k.head.clear();
            k.body_left = -1;
            k.unsent = request_.size();
            const ns_t sent = now_ns();
            if (k.due >= measure_from_) {
                res_.lag.push_back(sent - k.due);
            }
            write_some(c);
        }
    }

    void write_some(std::size_t c) {
        auto& k = conns_[c];
        while (k.unsent > 0) {
            const ssize_t n = ::send(k.fd, request_.data() + (request_.size() - k.unsent), k.unsent,
                                     MSG_NOSIGNAL);
            if (n > 0) {
                k.unsent -= static_cast<std::size_t>(n);
            } else if (n < 0 && errno == EAGAIN) {
                epoll_event ev{};
                ev.events = EPOLLIN | EPOLLOUT;
                ev.data.u64 = c;
                epoll_ctl(ep_, EPOLL_CTL_MOD, k.fd, &ev);
                return;
            } else {
                reopen(c, "write: " + std::string(std::strerror(errno)));
                return;
            }
        }
    }

    // Waits for the connections until `wake` (CLOCK_MONOTONIC), with epoll_pwait2's
    // nanosecond timeout: one system call per wake-up, and no request goes out late by
    // epoll_wait's millisecond rounding. Before Linux 5.11, epoll_wait and whole milliseconds.
    void poll_until(ns_t wake) {
        epoll_event events[256];
        const ns_t left = std::max<ns_t>(0, wake - now_ns());
        int n = -1;
        if (!no_pwait2_) {
            const timespec ts{left / 1'000'000'000, left % 1'000'000'000};
            n = epoll_pwait2(ep_, events, 256, &ts, nullptr);
            if (n < 0 && errno == ENOSYS) {
                no_pwait2_ = true;
            }
        }
        if (no_pwait2_) {
            n = epoll_wait(ep_, events, 256, static_cast<int>((left + 999'999) / 1'000'000));
        }
        for (int e = 0; e < n; ++e) {
            const std::size_t c = events[e].data.u64;
            auto& k = conns_[c];
            if (k.state == conn_state::connecting) {
                int err = 0;
                socklen_t len = sizeof err;
                getsockopt(k.fd, SOL_SOCKET, SO_ERROR, &err, &len);
                if (err != 0 || (events[e].events & (EPOLLERR | EPOLLHUP))) {
                    ++res_.connect_errors;
                    error("connect: " + std::string(std::strerror(err ? err : ECONNRESET)));
                    ::close(k.fd);
                    k.fd = -1;
                    k.state = conn_state::closed;
                    continue; // not reopened at once: a refused port would spin
                }
                k.state = conn_state::idle;
                idle_.push_back(c);
                epoll_event ev{};
                ev.events = EPOLLIN;
                ev.data.u64 = c;
                epoll_ctl(ep_, EPOLL_CTL_MOD, k.fd, &ev);
                continue;
            }
            if ((events[e].events & EPOLLOUT) && k.state == conn_state::busy && k.unsent > 0) {
                write_some(c);
                if (k.unsent == 0 && k.state == conn_state::busy) {
                    epoll_event ev{};
                    ev.events = EPOLLIN;
                    ev.data.u64 = c;
                    epoll_ctl(ep_, EPOLL_CTL_MOD, k.fd, &ev);
                }
            }
            if (events[e].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
                read_some(c);
            }
        }
    }

    void read_some(std::size_t c) {
        auto& k = conns_[c];
        for (;;) {
            const ssize_t n = ::recv(k.fd, buf_, sizeof buf_, 0);
            if (n < 0 && errno == EAGAIN) {
                return;
            }
            if (n <= 0) {
                reopen(c, n == 0 ? "the server closed a connection"
                                 : "read: " + std::string(std::strerror(errno)));
                return;
            }
            if (k.state != conn_state::busy) {
                reopen(c, "bytes from the server with no request in flight");
                return;
            }
            std::string_view data(buf_, static_cast<std::size_t>(n));
            while (!data.empty()) {
                if (k.body_left < 0) {
                    const std::size_t old = k.head.size();
                    k.head.append(data);
                    const auto end = k.head.find("\r\n\r\n");
                    if (end == std::string::npos) {
                        if (k.head.size() > 65536) {
                            reopen(c, "a response head over 64 KiB");
                            return;
                        }
                        data = {};
                        break;
                    }
                    const std::size_t used = end + 4 - old;
                    data.remove_prefix(used);
                    if (!parse_head(k, end)) {
                        reopen(c, "a response without Content-Length, or unreadable: " +
                                      k.head.substr(0, std::min<std::size_t>(end, 80)));
                        return;
                    }
                }
                const auto take =
                    std::min<std::int64_t>(k.body_left, static_cast<std::int64_t>(data.size()));
                k.body_left -= take;
                data.remove_prefix(static_cast<std::size_t>(take));
                if (k.body_left == 0) {
                    if (!data.empty()) {
                        reopen(c, "bytes after a response");
                        return;
                    }
                    complete(c); // may send the next request on it, or reopen it
                    return;
                }
            }
        }
    }

    static bool parse_head(connection& k, std::size_t end) {
        const std::string_view head(k.head.data(), end);
        if (head.size() < 12 || head.substr(0, 5) != "HTTP/") {
            return false;
        }
        k.status = std::atoi(std::string(head.substr(9, 3)).c_str());
        k.close_after = head.substr(0, 8) == "HTTP/1.0";
        std::size_t pos = head.find("\r\n");
        k.body_left = -1;
        while (pos != std::string_view::npos && pos < head.size()) {
            const std::size_t next = head.find("\r\n", pos + 2);
            const std::string_view line = head.substr(
                pos + 2, (next == std::string_view::npos ? head.size() : next) - pos - 2);
            const auto colon = line.find(':');
            if (colon != std::string_view::npos) {
                std::string name(line.substr(0, colon));
                std::transform(name.begin(), name.end(), name.begin(), [](unsigned char ch) {
                    return static_cast<char>(std::tolower(ch));
                });
                std::string_view value = line.substr(colon + 1);
                while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
                    value.remove_prefix(1);
                }
                if (name == "content-length") {
                    k.body_left = std::atoll(std::string(value).c_str());
                } else if (name == "connection") {
                    std::string v(value);
                    std::transform(v.begin(), v.end(), v.begin(), [](unsigned char ch) {
                        return static_cast<char>(std::tolower(ch));
                    });
                    if (v.find("close") != std::string::npos) {
                        k.close_after = true;
                    } else if (v.find("keep-alive") != std::string::npos) {
                        k.close_after = false;
                    }
                }
            }
            pos = next;
        }
        return k.status >= 100 && k.body_left >= 0;
    }

    void complete(std::size_t c) {
        auto& k = conns_[c];
        const ns_t done = now_ns();
        --busy_;
        if (k.due >= measure_from_) {
            if (k.status < 200 || k.status > 299) {
                ++res_.non2xx;
            }
            res_.latency.push_back(done - k.due);
            res_.last_done = std::max(res_.last_done, done);
        }
        k.state = conn_state::idle;
        k.head.clear();
        k.body_left = -1;
        if (k.close_after) {
            reopen(c, "");
            return;
        }
        idle_.push_back(c);
        dispatch();
    }

    const options& o_;
    sockaddr_in addr_;
    int index_;
    ns_t start_, measure_from_, stop_at_;
    std::vector<connection> conns_;
    std::vector<std::size_t> idle_;
    std::deque<ns_t> queue_;
    std::size_t busy_ = 0;
    std::string request_;
    int ep_ = -1;
    bool no_pwait2_ = false;
    result res_;
    char buf_[65536];
};

// --- self test of the schedule and the percentiles

int self_test() {
    int failures = 0;
    auto check = [&](bool ok, const char* what) {
        if (!ok) {
            std::fprintf(stderr, "pace --self-test: FAILED: %s\n", what);
            ++failures;
        }
    };
    std::vector<ns_t> v;
    for (ns_t i = 1; i <= 1000; ++i) {
        v.push_back(i);
    }
    check(percentile(v, 50) == 500, "p50 of 1..1000 is 500");
    check(percentile(v, 90) == 900, "p90 of 1..1000 is 900");
    check(percentile(v, 99) == 990, "p99 of 1..1000 is 990");
    check(percentile(v, 99.9) == 999, "p99.9 of 1..1000 is 999");
    check(percentile(v, 100) == 1000, "p100 of 1..1000 is the max");
    check(percentile(v, 0) == 1, "p0 is the min");
    check(percentile({}, 99) == 0, "no values: 0");
    check(percentile({7}, 99.9) == 7, "one value");
    const std::vector<ns_t> ten{1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    check(percentile(ten, 99.9) == 10, "p99.9 of ten values is the max");
    check(percentile(ten, 50) == 5, "p50 of 1..10 is 5");

    check(due_time(1000, 0, 4) == 1000, "request 0 is due at the start");
    check(due_time(0, 1, 4) == 250'000'000, "4/s: request 1 after 250 ms");
    check(due_time(0, 3, 3) == 1'000'000'000, "3/s: request 3 after 1 s");
    check(due_time(0, 1'000'000'000, 20'000) == 50'000'000'000'000,
          "no drift: request 10^9 at 20,000/s is due after exactly 50,000 s");
    check(due_time(0, 7, 2.5) == 2'800'000'000, "fractional rate");
    check(requests_in(10, 20'000) == 200'000, "10 s at 20,000/s: 200,000 requests");
    check(requests_in(1, 2.5) == 3, "1 s at 2.5/s: requests 0, 1, 2 (due 0, 0.4, 0.8 s)");
    check(requests_in(0, 1000) == 0, "0 s: none");
    // every request due inside [0, 1 s) and none after, whatever the rate
    for (const double rate : {1.0, 3.0, 7.5, 999.0, 12'345.6}) {
        const auto n = requests_in(1, rate);
        check(due_time(0, n - 1, rate) < 1'000'000'000, "the last request is due inside");
        check(due_time(0, n, rate) >= 1'000'000'000, "the next one is due outside");
    }
    // threads split the indexes: each index once
    for (const int threads : {1, 2, 3, 8}) {
        const std::int64_t total = 1000;
        std::vector<int> seen(total, 0);
        for (int k = 0; k < threads; ++k) {
            for (std::int64_t i = k; i < total; i += threads) {
                ++seen[static_cast<std::size_t>(i)];
            }
        }
        check(std::all_of(seen.begin(), seen.end(), [](int s) { return s == 1; }),
              "threads cover every request index exactly once");
    }
    std::printf("pace --self-test: %s\n", failures ? "FAILED" : "ok");
    return failures ? 1 : 0;
}

std::string ms(ns_t v) {
    char b[64];
    std::snprintf(b, sizeof b, "%.3f", static_cast<double>(v) / 1e6);
    return b;
}

std::string json_string(const std::string& s) {
    std::string out = "\"";
    for (const char ch : s) {
        if (ch == '"' || ch == '\\') {
            out += '\\';
            out += ch;
        } else if (static_cast<unsigned char>(ch) < 0x20) {
            out += ' ';
        } else {
            out += ch;
        }
    }
    return out + "\"";
}

} // namespace

int main(int argc, char** argv) {
    options o;
    for (int a = 1; a < argc; ++a) {
        const std::string arg = argv[a];
        if (arg == "--self-test") {
            return self_test();
        }
        if (arg == "--help" || arg == "-h") {
            std::printf("usage: pace --port P --rate R [--duration S] [--warmup S] "
                        "[--connections N] [--threads T] [--path /] [--host 127.0.0.1] "
                        "[--drain S]\n       pace --self-test\n"
                        "Open-loop HTTP/1.1 load at a constant rate; latency from when each "
                        "request was due; one JSON object on stdout. See bench/README.md.\n");
            return 0;
        }
        if (a + 1 >= argc) {
            usage(("missing value after " + arg).c_str());
        }
        const char* v = argv[++a];
        if (arg == "--host") {
            o.host = v;
        } else if (arg == "--port") {
            o.port = static_cast<int>(number("--port", v));
        } else if (arg == "--path") {
            o.path = v;
        } else if (arg == "--rate") {
            o.rate = number("--rate", v);
        } else if (arg == "--duration") {
            o.duration = number("--duration", v);
        } else if (arg == "--warmup") {
            o.warmup = number("--warmup", v);
        } else if (arg == "--drain") {
            o.drain = number("--drain", v);
        } else if (arg == "--connections") {
            o.connections = static_cast<int>(number("--connections", v));
        } else if (arg == "--threads") {
            o.threads = static_cast<int>(number("--threads", v));
        } else {
            usage(("unknown option " + arg).c_str());
        }
    }
    if (o.port <= 0 || o.port > 65535) {
        usage("--port is required (1-65535)");
    }
    if (o.rate <= 0 || o.duration <= 0 || o.warmup < 0 || o.drain < 0) {
        usage("--rate and --duration must be positive, --warmup and --drain not negative");
    }
    if (o.threads < 1 || o.connections < o.threads) {
        usage("--threads must be at least 1 and --connections at least --threads");
    }
    if (o.path.empty() || o.path[0] != '/') {
        usage("--path must start with /");
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(o.port));
    if (inet_pton(AF_INET, o.host.c_str(), &addr.sin_addr) != 1) {
        usage("--host must be an IPv4 address");
    }
    std::signal(SIGPIPE, SIG_IGN);
    // Timers as exact as the kernel allows (the default slack is 50 us).
    prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);

    // Everyone starts on the same clock, shortly after the connections are up.
    std::vector<worker*> workers;
    std::vector<char> up(static_cast<std::size_t>(o.threads), 0);
    const ns_t start = now_ns() + 500'000'000 + static_cast<ns_t>(o.connections) * 200'000;
    for (int k = 0; k < o.threads; ++k) {
        const int conns = o.connections / o.threads + (k < o.connections % o.threads ? 1 : 0);
        workers.push_back(new worker(o, addr, k, conns, start));
    }
    std::vector<std::thread> threads;
    for (int k = 0; k < o.threads; ++k) {
        threads.emplace_back([&, k] {
            auto* w = workers[static_cast<std::size_t>(k)];
            up[static_cast<std::size_t>(k)] = w->connect_all() ? 1 : 0;
            if (!up[static_cast<std::size_t>(k)]) {
                return;
            }
            // wait for the common start (connecting may take a while with many connections)
            while (now_ns() < start) {
                const ns_t left = start - now_ns();
                timespec ts{left / 1'000'000'000, left % 1'000'000'000};
                nanosleep(&ts, nullptr);
            }
            w->run();
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    result all;
    bool ok = true;
    for (std::size_t k = 0; k < workers.size(); ++k) {
        auto& r = workers[k]->res();
        ok = ok && up[k] != 0;
        all.latency.insert(all.latency.end(), r.latency.begin(), r.latency.end());
        all.lag.insert(all.lag.end(), r.lag.begin(), r.lag.end());
        all.due_measured += r.due_measured;
        all.errors += r.errors;
        all.connect_errors += r.connect_errors;
        all.non2xx += r.non2xx;
        all.unfinished += r.unfinished;
        all.max_queue = std::max(all.max_queue, r.max_queue);
        all.last_done = std::max(all.last_done, r.last_done);
        if (all.first_error.empty()) {
            all.first_error = r.first_error;
        }
    }
    if (!ok) {
        std::fprintf(stderr, "pace: could not connect to %s:%d: %s\n", o.host.c_str(), o.port,
                     all.first_error.c_str());
        return 1;
    }
    std::sort(all.latency.begin(), all.latency.end());
    std::sort(all.lag.begin(), all.lag.end());
    double sum = 0;
    for (const ns_t l : all.latency) {
        sum += static_cast<double>(l);
    }
    const auto n = all.latency.size();
    rusage self{};
    getrusage(RUSAGE_SELF, &self);
    const double cpu = static_cast<double>(self.ru_utime.tv_sec + self.ru_stime.tv_sec) +
                       static_cast<double>(self.ru_utime.tv_usec + self.ru_stime.tv_usec) / 1e6;
    // Over the measured seconds, or longer when the last responses came after them: a
    // system that falls behind shows a lower rate (and its latencies grow).
    const double took =
        std::max(o.duration, static_cast<double>(all.last_done - workers[0]->measure_from()) / 1e9);
    std::printf(
        "{\"requested_rate\": %.1f, \"achieved_rate\": %.1f, \"duration_s\": %.3f, "
        "\"warmup_s\": %.3f, \"connections\": %d, \"threads\": %d, \"due\": %lld, "
        "\"completed\": %zu, \"unfinished\": %lld, \"errors\": %lld, \"connect_errors\": %lld, "
        "\"non2xx\": %lld, \"max_queue\": %zu, \"p50_ms\": %s, \"p90_ms\": %s, \"p99_ms\": %s, "
        "\"p999_ms\": %s, \"max_ms\": %s, \"mean_ms\": %.3f, \"lag_p50_ms\": %s, "
        "\"lag_p99_ms\": %s, \"lag_max_ms\": %s, \"cpu_s\": %.3f, \"first_error\": %s}\n",
        o.rate, static_cast<double>(n) / took, o.duration, o.warmup, o.connections, o.threads,
        static_cast<long long>(all.due_measured), n, static_cast<long long>(all.unfinished),
        static_cast<long long>(all.errors), static_cast<long long>(all.connect_errors),
        static_cast<long long>(all.non2xx), all.max_queue, ms(percentile(all.latency, 50)).c_str(),
        ms(percentile(all.latency, 90)).c_str(), ms(percentile(all.latency, 99)).c_str(),
        ms(percentile(all.latency, 99.9)).c_str(), ms(percentile(all.latency, 100)).c_str(),
        n ? sum / static_cast<double>(n) / 1e6 : 0.0, ms(percentile(all.lag, 50)).c_str(),
        ms(percentile(all.lag, 99)).c_str(), ms(percentile(all.lag, 100)).c_str(), cpu,
        json_string(all.first_error).c_str());
    for (auto* w : workers) {
        delete w;
    }
    return 0;
}
