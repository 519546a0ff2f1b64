#pragma once

#include <string>
#include <string_view>

namespace fulcrum::http {

// The bearer token kept in the file at `path`, without trailing whitespace. Throws
// std::runtime_error naming `setting` (e.g. "admin.token_file") and saying why when the file
// cannot be read, is not a regular file (a FIFO or a device is refused, never waited on), is
// empty, or can be read by group or others: a token that other users can read is refused at
// start-up rather than used. The token itself is never in the message.
std::string read_token_file(const std::string& path, std::string_view setting);

} // namespace fulcrum::http
