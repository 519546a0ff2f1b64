#pragma once
// A test program's operator new and delete: they count heap allocations, so that a test can
// check that warmed-up code allocates nothing and how much it takes, and fail those past a
// size while a test asks, as when memory runs out. Include it in exactly one source file of a
// test program: it defines the program's replacements.

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <new>

namespace fulcrum::testing::counting_new {
inline std::atomic<std::size_t> allocations{0};
inline std::atomic<std::size_t> allocated_bytes{0};
inline std::atomic<std::size_t> fail_over_bytes{0}; // 0: none fails
} // namespace fulcrum::testing::counting_new

void* operator new(std::size_t size) {
    using namespace fulcrum::testing::counting_new;
    allocations.fetch_add(1, std::memory_order_relaxed);
    allocated_bytes.fetch_add(size, std::memory_order_relaxed);
    const auto limit = fail_over_bytes.load(std::memory_order_relaxed);
    if (limit != 0 && size > limit) {
        throw std::bad_alloc();
    }
    if (void* p = std::malloc(size == 0 ? 1 : size)) {
        return p;
    }
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
    std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
    std::free(p);
}
