// The fulcrum binary's operator new and delete: small blocks come from the calling thread's
// base::block_cache, so that a worker in steady state calls malloc for none of its requests
// (bench/run --scenarios allocs counts). Asio's own frame recycling is turned off
// (BOOST_ASIO_DISABLE_AWAITABLE_FRAME_RECYCLING, top CMakeLists.txt) so that coroutine frames
// come here: its cache takes the first cached block that fits, and with the many frame sizes
// of an exchange a worker kept missing it (4 to 16 mallocs per request measured).
//
// Linked into the binary only (an object library), never into tests that count allocations
// with their own operator new. Sanitizer builds keep the default, so that they see every
// block.

#include "base/block_cache.hpp"

#include <boost/asio/io_context.hpp> // Asio includes its reactor through it

#include <new>

#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)

namespace {

using fulcrum::base::block_cache;

// The cache is constructed on a thread's first allocation and destroyed when the thread ends;
// `gone` (trivially destructible, so readable to the very end) sends later frees to free().
struct thread_cache {
    block_cache cache;
    thread_cache() { block_cache::set_of_this_thread(&cache); }
    ~thread_cache() {
        block_cache::set_of_this_thread(nullptr);
        gone = true;
    }
    static thread_local bool gone;
};
thread_local bool thread_cache::gone = false;
thread_local thread_cache current;

block_cache* cache() {
    return thread_cache::gone ? nullptr : &current.cache;
}

#if defined(BOOST_ASIO_HAS_EPOLL)
// Asio's reactor pools one of these per socket ever open at once and never frees them; among
// the short-lived blocks they would keep the heap's pages from going back to the kernel after
// a flood of connections (see block_cache::allocate_long_lived). Another type of the very same
// size takes the same path: harmless, its blocks are reused all the same.
constexpr std::size_t long_lived_size =
    sizeof(boost::asio::detail::epoll_reactor::descriptor_state);
#else
constexpr std::size_t long_lived_size = 0;
#endif

void* allocate(std::size_t size) {
    block_cache* c = cache();
    void* p = c == nullptr              ? block_cache::allocate_uncached(size)
              : size == long_lived_size ? c->allocate_long_lived(size)
                                        : c->allocate(size);
    if (p == nullptr) {
        throw std::bad_alloc();
    }
    return p;
}

} // namespace

void* operator new(std::size_t size) {
    return allocate(size);
}

void* operator new[](std::size_t size) {
    return allocate(size);
}

void operator delete(void* pointer) noexcept {
    block_cache::release(cache(), pointer);
}

void operator delete[](void* pointer) noexcept {
    block_cache::release(cache(), pointer);
}

void operator delete(void* pointer, std::size_t) noexcept {
    block_cache::release(cache(), pointer);
}

void operator delete[](void* pointer, std::size_t) noexcept {
    block_cache::release(cache(), pointer);
}

#endif
