#pragma once

#include <string_view>

// fulcrum's log: one line per event on stderr, which systemd's journal keeps.
namespace fulcrum::base {

// Writes "fulcrum: " + message + "\n" in one write, so that lines from the control thread
// and the workers never interleave.
void log(std::string_view message);

// The same with the message formatted as by printf.
void logf(const char* format, ...) __attribute__((format(printf, 1, 2)));

} // namespace fulcrum::base
