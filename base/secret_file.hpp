#pragma once

#include <string>

namespace fulcrum::base {

// The whole content of a file that holds a secret (a token, a private key). Throws
// std::runtime_error whose message continues the path (": No such file or directory",
// " is a FIFO, not a regular file", " can be read by group or others: chmod 600 it") when the
// file cannot be read, is not a regular file (a FIFO or a device is refused, never waited on),
// or has any permission for group or others: a secret that other users can read is refused
// rather than used. The content itself is never in a message.
std::string read_secret_file(const std::string& path);

} // namespace fulcrum::base
