#pragma once

#include <sys/types.h>

#include <string_view>

namespace fulcrum::base {

// What a file's st_mode says it is, for messages: "a regular file", "a FIFO", "a character
// device", "a directory", ...
std::string_view file_kind(mode_t mode);

} // namespace fulcrum::base
