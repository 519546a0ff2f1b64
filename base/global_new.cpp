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

#include <new>

#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)

namespace {

using fulcrum::base::block_cache;

// The cache is constructed on a thread's first allocation and destroyed when the thread ends;
// `gone` (trivially destructible, so readable to the very end) sends later frees to free().
struct thread_cache {
    block_cache cache;
    ~thread_cache() { gone = true; }
    static thread_local bool gone;
};
thread_local bool thread_cache::gone = false;
thread_local thread_cache current;

block_cache* cache() {
    return thread_cache::gone ? nullptr : &current.cache;
}

void* allocate(std::size_t size) {
    block_cache* c = cache();
    void* p = c != nullptr ? c->allocate(size) : block_cache::allocate_uncached(size);
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
