#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/signal_set.hpp>

namespace fulcrum {

// What fulcrum does with each signal is in docs/operations.md ("Signals"). SIGTERM and SIGINT
// drain and stop (app/main.cpp); SIGPIPE is ignored; the signals below are logged and
// otherwise ignored, since their default action would end the process at once, with no drain
// and no save of the SLI windows.

// Adds SIGUSR1, SIGUSR2, SIGQUIT and SIGALRM to `signals`.
void add_logged_signals(boost::asio::signal_set& signals);

// Ignores SIGPIPE (a client that hangs up must not kill the process on the next write) and,
// until a signal_set catches them, the signals above and SIGHUP (the reload, app/main.cpp).
void ignore_signals();

// Logs one line for each signal of `signals` as it arrives, until the set is cancelled.
boost::asio::awaitable<void> log_signals(boost::asio::signal_set& signals);

} // namespace fulcrum
