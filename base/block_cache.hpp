#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace fulcrum::base {

// Free lists of small blocks in size classes, one set per thread (base/global_new.cpp puts
// them behind operator new in the fulcrum binary): a worker reuses the memory its requests
// free (coroutine frames above all) without calling malloc, the way HAProxy's per-thread pool
// caches do. Blocks above the largest class, and blocks past a class's cap, go to malloc/free.
//
// Every block carries a header naming its class, so release() works from any thread and into
// any cache: a block freed by another thread simply joins that thread's lists.
class block_cache {
public:
    static constexpr std::size_t header = alignof(std::max_align_t); // keeps user data aligned
    // Fine classes: an idle connection is a handful of small blocks (its session, coroutine
    // frames, a pending read), and rounding each up to a coarse class would be much of its cost.
    static constexpr std::size_t granule = 32;
    static constexpr std::size_t classes = 48; // blocks up to 1.5 KiB with their header
    static constexpr std::size_t max_cached = 4096; // per class

    block_cache() = default;
    ~block_cache() { clear(); }
    block_cache(const block_cache&) = delete;
    block_cache& operator=(const block_cache&) = delete;

    // Memory for `size` bytes, aligned for any type; nullptr when malloc fails.
    void* allocate(std::size_t size);
    // Gives back a block from allocate() of any cache; `cache` may be null (the thread's own
    // is gone), and then the block goes to free().
    static void release(block_cache* cache, void* pointer);
    // Blocks on the free lists now, over every class.
    std::size_t cached() const;
    // Returns every cached block to free().
    void clear();
    // allocate() with malloc alone, for a thread whose cache is gone.
    static void* allocate_uncached(std::size_t size);

private:
    struct free_block {
        free_block* next;
    };
    std::array<free_block*, classes> heads_{};
    std::array<std::uint32_t, classes> counts_{};
};

} // namespace fulcrum::base
