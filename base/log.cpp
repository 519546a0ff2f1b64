#include "base/log.hpp"

#include <cstdarg>
#include <cstdio>
#include <string>

namespace fulcrum::base {

namespace {

constexpr std::string_view prefix = "fulcrum: ";

} // namespace

void log(std::string_view message) {
    std::string line;
    line.reserve(prefix.size() + message.size() + 1);
    line.append(prefix).append(message).push_back('\n');
    // stdio locks the stream for the whole call, so one fwrite is one uninterrupted line even
    // when the kernel takes it in several writes.
    std::fwrite(line.data(), 1, line.size(), stderr);
}

void logf(const char* format, ...) {
    std::va_list args;
    va_start(args, format);
    std::va_list again;
    va_copy(again, args);
    const int length = std::vsnprintf(nullptr, 0, format, args);
    va_end(args);
    std::string message(length > 0 ? static_cast<std::size_t>(length) : 0, '\0');
    if (length > 0) {
        // vsnprintf writes the terminating NUL too: std::string keeps room for it.
        std::vsnprintf(message.data(), message.size() + 1, format, again);
    }
    va_end(again);
    log(message);
}

} // namespace fulcrum::base
