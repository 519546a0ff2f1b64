#pragma once

#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/error_code.hpp>

#include <cstddef>
#include <new>

namespace fulcrum::base {

// Memory for Asio's operation states from operator new, which the fulcrum binary serves from
// per-thread size classes (base/global_new.cpp). A distinct type on purpose: Asio takes
// std::allocator<void> to mean "no allocator" and uses its own per-thread cache, whose
// first-fit reuse kept missing between a worker's differently sized reads and writes
// (bench/run --scenarios allocs).
template <typename T> struct operation_allocator {
    using value_type = T;

    operation_allocator() = default;
    template <typename U> operation_allocator(const operation_allocator<U>&) noexcept {}

    T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T))); }
    void deallocate(T* p, std::size_t) noexcept { ::operator delete(p); }

    template <typename U> bool operator==(const operation_allocator<U>&) const noexcept {
        return true;
    }
};

// The completion token of an awaited operation whose failure is an outcome to handle rather
// than an exception: `co_await socket.async_connect(to, base::with(ec))`.
inline auto with(boost::system::error_code& ec) {
    return boost::asio::bind_allocator(operation_allocator<void>(),
                                       boost::asio::redirect_error(boost::asio::use_awaitable, ec));
}

} // namespace fulcrum::base
