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
//
// After a burst the lists hold what the burst freed; trim() gives back, class by class, the
// blocks that stayed unused since the last trim (the lowest the list got in between), so a
// worker returns to its steady-state footprint without releasing what steady load reuses.
class block_cache {
public:
    static constexpr std::size_t header = alignof(std::max_align_t); // keeps user data aligned
    // Fine classes: an idle connection is a handful of small blocks (its session, coroutine
    // frames, a pending read), and rounding each up to a coarse class would be much of its cost.
    static constexpr std::size_t granule = 32;
    static constexpr std::size_t classes = 48;      // blocks up to 1.5 KiB with their header
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
    // Frees the blocks no allocation needed since the last trim(); returns their bytes.
    std::size_t trim();
    // Memory for an object that lives about as long as the process: Asio's per-socket reactor
    // state, which Asio keeps for reuse and never frees. Carved from chunks of their own, so that
    // such blocks do not pin the pages of short-lived ones after a burst (malloc can only give
    // back whole free pages). Given back with release() like any block, and reused, but never
    // returned to malloc; every request must be for the same size (the first one's).
    void* allocate_long_lived(std::size_t size);
    // The calling thread's cache, when the binary's operator new (base/global_new.cpp) gave it
    // one; nullptr otherwise (tests, sanitizer builds, a thread that has not allocated yet).
    static block_cache* of_this_thread();
    static void set_of_this_thread(block_cache* cache);
    // allocate() with malloc alone, for a thread whose cache is gone.
    static void* allocate_uncached(std::size_t size);

private:
    struct free_block {
        free_block* next;
    };
    std::array<free_block*, classes> heads_{};
    std::array<std::uint32_t, classes> counts_{};
    std::array<std::uint32_t, classes> low_water_{}; // lowest counts_ since the last trim()
    free_block* long_lived_{};                       // given back, for allocate_long_lived()
    std::size_t long_lived_size_ = 0;                // with its header, rounded to a granule
    char* chunk_next_ = nullptr;                     // what is left of the current chunk
    char* chunk_end_ = nullptr;
};

} // namespace fulcrum::base
