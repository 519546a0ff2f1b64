#pragma once

#include <boost/asio/buffer.hpp>

#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>

namespace fulcrum::proxy::detail {

// A fixed-size byte buffer read into from a socket and consumed from the front.
class byte_buffer {
public:
    explicit byte_buffer(std::size_t capacity)
        : data_(std::make_unique_for_overwrite<char[]>(capacity)), capacity_(capacity) {}

    std::string_view readable() const { return {data_.get() + begin_, end_ - begin_}; }
    bool empty() const { return begin_ == end_; }
    bool full() const { return begin_ == 0 && end_ == capacity_; }
    // Free space at the end; compacts first so that a read always has room unless full().
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
    // At most what fits; returns how much that was.
    std::size_t append(std::string_view bytes) {
        const auto space = writable();
        const std::size_t n = std::min(bytes.size(), space.size());
        std::memcpy(space.data(), bytes.data(), n);
        commit(n);
        return n;
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

} // namespace fulcrum::proxy::detail
