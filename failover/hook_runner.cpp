#include "failover/hook_runner.hpp"

#include "base/asio.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string_view>
#include <utility>

namespace fulcrum::failover {

namespace asio = boost::asio;
using base::with;
using boost::system::error_code;
using steady = std::chrono::steady_clock;

namespace {

constexpr std::string_view hook_path =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
constexpr std::size_t max_lines = 100;
constexpr std::size_t max_line_bytes = 1000;
// How long output is still read after the hook exited: a child it left behind may hold the
// pipe open for ever.
constexpr config::duration output_linger{1000};

std::string duration_text(config::duration d) {
    if (d.count() != 0 && d.count() % 1000 == 0) {
        return std::to_string(d.count() / 1000) + "s";
    }
    return std::to_string(d.count()) + "ms";
}

std::chrono::milliseconds since(steady::time_point start) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - start);
}

role role_of(hook h) {
    switch (h) {
    case hook::on_active:
        return role::active;
    case hook::on_passive:
        return role::passive;
    case hook::on_fault:
        return role::fault;
    }
    return role::fault;
}

const std::vector<std::string>& argv_of(const config::failover_hooks& hooks, hook h) {
    switch (h) {
    case hook::on_active:
        return hooks.on_active;
    case hook::on_passive:
        return hooks.on_passive;
    case hook::on_fault:
        return hooks.on_fault;
    }
    return hooks.on_fault;
}

// Ownership of one file descriptor.
class unique_fd {
public:
    explicit unique_fd(int fd = -1) : fd_(fd) {}
    unique_fd(const unique_fd&) = delete;
    unique_fd& operator=(const unique_fd&) = delete;
    ~unique_fd() { reset(); }
    int get() const { return fd_; }
    int release() { return std::exchange(fd_, -1); }
    void reset() {
        if (fd_ >= 0) {
            ::close(fd_);
            fd_ = -1;
        }
    }

private:
    int fd_;
};

// What the coroutine, its output reader and its watchdog share: any of them may be the last
// to finish.
struct running_hook {
    running_hook(const asio::any_io_executor& executor, int output_fd, pid_t child,
                 std::string log_prefix, log_sink sink)
        : output(executor, output_fd), watchdog(executor), wake(executor), pid(child),
          prefix(std::move(log_prefix)), log(std::move(sink)) {}

    // Only when the coroutine was destroyed before the hook ended (the io_context stopped):
    // no hook outlives the process that started it, and none is left a zombie.
    ~running_hook() {
        if (!reaped) {
            ::kill(-pid, SIGKILL);
            ::waitpid(pid, nullptr, 0);
        }
    }

    void take(std::string_view data) {
        while (!data.empty()) {
            const auto newline = data.find('\n');
            partial.append(data.substr(0, newline));
            if (newline == std::string_view::npos) {
                // A line longer than the limit is logged in part; the rest is not kept.
                if (partial.size() > max_line_bytes) {
                    partial.resize(max_line_bytes);
                    partial_cut = true;
                }
                return;
            }
            emit_line();
            data.remove_prefix(newline + 1);
        }
    }

    void emit_line() {
        if (!partial.empty() && partial.back() == '\r') {
            partial.pop_back();
        }
        const bool cut = partial_cut || partial.size() > max_line_bytes;
        partial.resize(std::min(partial.size(), max_line_bytes));
        for (char& c : partial) {
            // One log line per output line: no control characters that a terminal or a log
            // reader would act on.
            if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f) {
                c = '?';
            }
        }
        if (lines < max_lines) {
            log(prefix + ": " + partial + (cut ? " [cut at 1000 bytes]" : ""));
        } else if (lines == max_lines) {
            log(prefix + ": [more than 100 lines: the rest is not logged]");
        }
        ++lines;
        partial.clear();
        partial_cut = false;
    }

    asio::posix::stream_descriptor output;
    asio::steady_timer watchdog;
    asio::steady_timer wake; // cancelled when the output reader is done
    pid_t pid;
    bool reaped = false;
    bool timed_out = false;
    bool output_done = false;
    std::string prefix; // "hook on_active"
    log_sink log;
    std::string partial; // the line being read
    bool partial_cut = false;
    std::size_t lines = 0;
};

asio::awaitable<void> read_output(std::shared_ptr<running_hook> h) {
    std::array<char, 4096> buffer;
    for (;;) {
        error_code ec;
        const std::size_t n = co_await h->output.async_read_some(asio::buffer(buffer), with(ec));
        h->take(std::string_view(buffer.data(), n));
        if (ec) {
            break;
        }
    }
    if (!h->partial.empty()) {
        h->emit_line();
    }
    h->output_done = true;
    h->wake.cancel();
}

// SIGTERM to the whole group at the timeout (a hook script's children too), SIGKILL after the
// grace period. Only while the child is not reaped: until then its pid, and so its group id,
// cannot be reused.
void arm_watchdog(const std::shared_ptr<running_hook>& h, config::duration timeout,
                  config::duration grace) {
    h->watchdog.expires_after(timeout);
    h->watchdog.async_wait([h, grace](error_code ec) {
        if (ec || h->reaped) {
            return;
        }
        h->timed_out = true;
        ::kill(-h->pid, SIGTERM);
        h->watchdog.expires_after(grace);
        h->watchdog.async_wait([h](error_code ec) {
            if (!ec && !h->reaped) {
                ::kill(-h->pid, SIGKILL);
            }
        });
    });
}

struct spawn_setup {
    spawn_setup() {
        posix_spawn_file_actions_init(&actions);
        posix_spawnattr_init(&attributes);
    }
    ~spawn_setup() {
        posix_spawn_file_actions_destroy(&actions);
        posix_spawnattr_destroy(&attributes);
    }
    spawn_setup(const spawn_setup&) = delete;
    spawn_setup& operator=(const spawn_setup&) = delete;

    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attributes;
};

// posix_spawn's error, or 0 with `pid` set.
int spawn(const hook_request& request, int output_fd, pid_t& pid) {
    spawn_setup setup;
    posix_spawn_file_actions_addopen(&setup.actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&setup.actions, output_fd, STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&setup.actions, output_fd, STDERR_FILENO);
    // Asio does not open sockets close-on-exec: without this a hook, and anything it leaves
    // running, would hold our listening sockets.
    posix_spawn_file_actions_addclosefrom_np(&setup.actions, STDERR_FILENO + 1);
    posix_spawn_file_actions_addchdir_np(&setup.actions, "/");

    // Its own process group, so that the timeout reaches what a script started; default
    // signal dispositions and an empty mask, whatever this process ignores or blocks (a
    // hook that ignored SIGPIPE or SIGTERM because we do would misbehave).
    sigset_t none;
    sigset_t all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setflags(&setup.attributes, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                                    POSIX_SPAWN_SETSIGDEF);
    posix_spawnattr_setpgroup(&setup.attributes, 0);
    posix_spawnattr_setsigmask(&setup.attributes, &none);
    posix_spawnattr_setsigdefault(&setup.attributes, &all);

    std::vector<char*> argv;
    for (const std::string& arg : request.argv) {
        argv.push_back(const_cast<char*>(arg.c_str()));
    }
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (const std::string& variable : request.environment) {
        envp.push_back(const_cast<char*>(variable.c_str()));
    }
    envp.push_back(nullptr);
    return posix_spawn(&pid, argv[0], &setup.actions, &setup.attributes, argv.data(), envp.data());
}

hook_result not_started(std::string error) {
    hook_result result;
    result.how = hook_result::status::not_started;
    result.error = std::move(error);
    result.text = "could not start: " + result.error;
    return result;
}

} // namespace

hook_request make_hook_request(const config::failover& settings, const action& a) {
    hook_request request;
    request.name = std::string(hook_name(a.hook));
    request.argv = argv_of(settings.hooks, a.hook);
    request.timeout = settings.hooks.timeout;
    request.environment = {
        "PATH=" + std::string(hook_path),
        "FULCRUM_ROLE=" + std::string(role_name(role_of(a.hook))),
        "FULCRUM_PREVIOUS_ROLE=" + std::string(role_name(a.previous)),
        "FULCRUM_NODE=" + settings.node,
        "FULCRUM_RESERVED_IP=" + (settings.reserved_ip ? settings.reserved_ip->address : ""),
    };
    return request;
}

asio::awaitable<hook_result> run_hook(hook_request request, log_sink log) {
    const std::string prefix = "hook " + request.name;
    const auto finish = [&](hook_result result) {
        log(prefix + " " + result.text);
        return result;
    };
    if (request.argv.empty()) {
        co_return finish(not_started("no program given"));
    }

    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        co_return finish(not_started(std::string("pipe: ") + std::strerror(errno)));
    }
    unique_fd read_end(fds[0]);
    unique_fd write_end(fds[1]);
    const auto started = steady::now();
    pid_t pid = 0;
    const int spawn_error = spawn(request, write_end.get(), pid);
    // Ours closed, the hook's copies are the only writers: the pipe ends when they do.
    write_end.reset();
    if (spawn_error != 0) {
        co_return finish(not_started(std::strerror(spawn_error)));
    }

    const auto executor = co_await asio::this_coro::executor;
    auto h = std::make_shared<running_hook>(executor, read_end.release(), pid, prefix, log);
    const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    if (pidfd < 0) {
        const int error = errno;
        // Dropping `h` kills and reaps the child.
        h.reset();
        co_return finish(
            not_started(std::string("cannot wait for it: pidfd_open: ") + std::strerror(error)));
    }
    asio::posix::stream_descriptor exit_watch(executor, pidfd);
    asio::co_spawn(executor, read_output(h), asio::detached);
    arm_watchdog(h, request.timeout, request.kill_grace);

    error_code ec;
    co_await exit_watch.async_wait(asio::posix::descriptor_base::wait_read, with(ec));
    int status = 0;
    const pid_t waited = ::waitpid(pid, &status, WNOHANG);
    hook_result result;
    result.elapsed = since(started);
    std::string lost;
    if (waited != pid) {
        // Woken without an exit: the wait itself failed, and the hook is given up on.
        lost = ec ? ec.message() : "no exit status";
        ::kill(-pid, SIGKILL);
        ::waitpid(pid, &status, 0);
    }
    h->reaped = true;
    h->watchdog.cancel();

    if (!h->output_done) {
        h->wake.expires_after(output_linger);
        co_await h->wake.async_wait(with(ec));
        if (!h->output_done) {
            error_code ignored;
            h->output.close(ignored);
            h->wake.expires_at(asio::steady_timer::time_point::max());
            co_await h->wake.async_wait(with(ec));
        }
    }

    if (!lost.empty()) {
        result.how = hook_result::status::signalled;
        result.signal = SIGKILL;
        result.text = "killed: waiting for its exit failed (" + lost + ")";
    } else if (h->timed_out) {
        result.how = hook_result::status::timed_out;
        result.text = "killed after timeout " + duration_text(request.timeout);
    } else if (WIFEXITED(status)) {
        result.how = hook_result::status::exited;
        result.exit_code = WEXITSTATUS(status);
        result.text = "exited " + std::to_string(result.exit_code) + " in " +
                      std::to_string(result.elapsed.count()) + "ms";
    } else {
        result.how = hook_result::status::signalled;
        result.signal = WTERMSIG(status);
        result.text = "killed by signal " + std::to_string(result.signal) + " (" +
                      ::strsignal(result.signal) + ") after " +
                      std::to_string(result.elapsed.count()) + "ms";
    }
    co_return finish(std::move(result));
}

} // namespace fulcrum::failover
