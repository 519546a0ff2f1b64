#pragma once

#include "base/log.hpp"
#include "config/config.hpp"
#include "failover/controller.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

// Runs a failover hook: a program and its arguments, never a shell string.
namespace fulcrum::failover {

struct hook_request {
    std::string name;                     // "on_active": names the hook in log lines
    std::vector<std::string> argv;        // argv[0] is the program, by absolute path
    std::vector<std::string> environment; // "NAME=value": all that the hook sees
    config::duration timeout{30000};      // then SIGTERM to its process group...
    config::duration kill_grace{2000};    // ...and SIGKILL this much later
};

// The request for a run_hook action: the hook's argv and timeout from `settings`, and an
// environment of exactly PATH (/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin),
// FULCRUM_ROLE (the hook's role), FULCRUM_PREVIOUS_ROLE, FULCRUM_NODE and FULCRUM_RESERVED_IP
// (empty without reserved_ip).
hook_request make_hook_request(const config::failover& settings, const action& a);

struct hook_result {
    enum class status : std::uint8_t {
        exited,      // exit_code
        signalled,   // by someone else than the runner: signal
        timed_out,   // killed by the runner after the timeout
        not_started, // error
    };
    status how = status::not_started;
    int exit_code = 0;
    int signal = 0;
    std::chrono::milliseconds elapsed{}; // from start to exit
    std::string error;
    // "exited 0 in 120ms", "exited 3 in 40ms", "killed by signal 9 (Killed) after 12ms",
    // "killed after timeout 30s", "could not start: No such file or directory".
    std::string text;

    bool ok() const { return how == status::exited && exit_code == 0; }
};

// Receives whole log lines, without the "fulcrum: " and the newline that base::log adds.
using log_sink = std::function<void(const std::string& line)>;

// Starts the hook with posix_spawn in a process group of its own, in /, with stdin from
// /dev/null and no file descriptor of ours but its stdout and stderr, which both go to one
// pipe. Each line it prints is logged as "hook NAME: LINE" (at most 100 lines of at most
// 1000 bytes each); how it ended as "hook NAME " + text. Never throws for the hook's failures;
// returns once it has exited and its output is read.
//
// The exit is awaited through a pidfd (Linux 5.3), readable when the process ends, on the
// caller's executor: no SIGCHLD handler that could reap other children, no polling, and the
// io_context keeps running meanwhile. Output that processes left behind by the hook keep
// writing is read for one more second after it exited, then no longer.
boost::asio::awaitable<hook_result> run_hook(hook_request request, log_sink log = base::log);

} // namespace fulcrum::failover
