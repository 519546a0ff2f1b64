#include "app/signals.hpp"

#include "base/asio.hpp"
#include "base/log.hpp"

#include <csignal>
#include <string_view>

namespace fulcrum {

namespace {

struct logged_signal {
    int number;
    // The operator who sent it learns why nothing happened, and what to do instead.
    std::string_view line;
};

// SIGHUP reloads the certificates (app/main.cpp). The meaning nginx gives SIGUSR1 (reopen the
// logs) is kept for when fulcrum has an access log; SIGUSR2 (nginx: upgrade the binary) and SIGQUIT
// (nginx: graceful stop) are ignored rather than given a second way to stop, so that a stray
// Ctrl-\ or a script written for another server cannot take the load balancer down.
constexpr logged_signal logged[] = {
    {SIGUSR1, "SIGUSR1: there is no access log to reopen; ignored"},
    {SIGUSR2, "SIGUSR2: ignored (fulcrum has no binary upgrade: restart it to run a new binary)"},
    {SIGQUIT, "SIGQUIT: ignored (SIGTERM drains and stops fulcrum)"},
    {SIGALRM, "SIGALRM: ignored"},
};

} // namespace

void add_logged_signals(boost::asio::signal_set& signals) {
    for (const auto& s : logged) {
        signals.add(s.number);
    }
}

void ignore_signals() {
    std::signal(SIGPIPE, SIG_IGN);
    std::signal(SIGHUP, SIG_IGN);
    for (const auto& s : logged) {
        std::signal(s.number, SIG_IGN);
    }
}

boost::asio::awaitable<void> log_signals(boost::asio::signal_set& signals) {
    for (;;) {
        boost::system::error_code ec;
        const int number = co_await signals.async_wait(base::with(ec));
        if (ec) {
            co_return;
        }
        for (const auto& s : logged) {
            if (s.number == number) {
                base::log(s.line);
            }
        }
    }
}

} // namespace fulcrum
