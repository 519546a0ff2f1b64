#pragma once

#include "config/config.hpp"
#include "http/parser.hpp"

#include <boost/asio/buffer.hpp>

#include <cstddef>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

namespace fulcrum::proxy::detail {

// A fixed-size byte buffer read into from a socket and consumed from the front.
class byte_buffer {
public:
    explicit byte_buffer(std::size_t capacity)
        : data_(std::make_unique_for_overwrite<char[]>(capacity)), capacity_(capacity) {}

    std::string_view readable() const { return {data_.get() + begin_, end_ - begin_}; }
    bool empty() const { return begin_ == end_; }
    // Free space at the end; compacts first so that a read always has room.
    boost::asio::mutable_buffer writable() {
        if (begin_ == end_) {
            begin_ = end_ = 0;
        } else if (begin_ > 0 && end_ == capacity_) {
            std::memmove(data_.get(), data_.get() + begin_, end_ - begin_);
            end_ -= begin_;
            begin_ = 0;
        }
        return {data_.get() + end_, capacity_ - end_};
    }
    void commit(std::size_t n) { end_ += n; }
    void append(std::string_view bytes) {
        const auto space = writable();
        std::memcpy(space.data(), bytes.data(), bytes.size());
        commit(bytes.size());
    }
    void consume(std::size_t n) {
        begin_ += n;
        if (begin_ == end_) {
            begin_ = end_ = 0;
        }
    }
    void clear() { begin_ = end_ = 0; }

private:
    std::unique_ptr<char[]> data_;
    std::size_t capacity_;
    std::size_t begin_ = 0;
    std::size_t end_ = 0;
};

// Limits on response heads from servers, which the config does not set: large enough for
// real applications' cookies, small enough that a broken server cannot grow our memory.
inline config::limits response_limits() {
    config::limits limits;
    limits.max_head_bytes = 64 * 1024;
    limits.max_headers = 200;
    return limits;
}

// What one request/response exchange needs besides the sockets. Taken from the worker's free
// list when a request starts and given back while the client connection is idle, so that an
// idle keep-alive connection costs no buffers.
struct exchange {
    static constexpr std::size_t buffer_size = 32 * 1024;

    explicit exchange(const config::limits& request_limits)
        : request(http::parser::mode::request, request_limits),
          response(http::parser::mode::response, response_limits()), from_client(buffer_size),
          from_server(buffer_size) {}

    http::parser request;
    http::parser response;
    byte_buffer from_client;
    byte_buffer from_server;
    std::string head_out;
};

} // namespace fulcrum::proxy::detail
