#pragma once

#include "config/config.hpp"
#include "http/parser.hpp"
#include "proxy/detail/byte_buffer.hpp"

#include <cstddef>
#include <string>

namespace fulcrum::proxy::detail {

// What one request/response exchange needs besides the sockets. Taken from the worker's free
// list when a request starts and given back while the client connection is idle, so that an
// idle keep-alive connection costs no buffers.
struct exchange {
    static constexpr std::size_t buffer_size = 32 * 1024;

    explicit exchange(const config::limits& request_limits)
        : request(http::parser::mode::request, request_limits),
          response(http::parser::mode::response, http::response_limits()), from_client(buffer_size),
          from_server(buffer_size) {}

    http::parser request;
    http::parser response;
    byte_buffer from_client;
    byte_buffer from_server;
    std::string head_out; // the rewritten head on its way out
};

} // namespace fulcrum::proxy::detail
