// The per-thread size classes behind the fulcrum binary's operator new.

#include "base/block_cache.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

namespace {

using fulcrum::base::block_cache;

TEST(block_cache, a_freed_block_is_handed_out_again_for_a_request_of_its_class) {
    block_cache cache;
    void* first = cache.allocate(200);
    block_cache::release(&cache, first);
    EXPECT_EQ(cache.cached(), 1u);
    EXPECT_EQ(cache.allocate(190), first) << "same 224-byte class";
    EXPECT_EQ(cache.cached(), 0u);
    block_cache::release(&cache, first);
}

TEST(block_cache, blocks_of_another_class_are_not_reused) {
    block_cache cache;
    void* small = cache.allocate(40);
    block_cache::release(&cache, small);
    void* large = cache.allocate(900);
    EXPECT_NE(large, small);
    EXPECT_EQ(cache.cached(), 1u);
    block_cache::release(&cache, large);
    EXPECT_EQ(cache.cached(), 2u);
}

TEST(block_cache, memory_is_aligned_for_any_type_and_usable_to_its_full_size) {
    block_cache cache;
    std::vector<void*> blocks;
    for (std::size_t size : {1, 15, 16, 47, 48, 100, 1000, 1008, 5000}) {
        void* p = cache.allocate(size);
        ASSERT_NE(p, nullptr);
        EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % alignof(std::max_align_t), 0u) << size;
        std::memset(p, 0xab, size);
        blocks.push_back(p);
    }
    for (void* p : blocks) {
        block_cache::release(&cache, p);
    }
}

TEST(block_cache, large_blocks_and_blocks_without_a_cache_go_back_to_free) {
    block_cache cache;
    block_cache::release(&cache, cache.allocate(64 * 1024));
    EXPECT_EQ(cache.cached(), 0u);
    block_cache::release(nullptr, cache.allocate(64));
    EXPECT_EQ(cache.cached(), 0u);
    block_cache::release(&cache, block_cache::allocate_uncached(64));
    EXPECT_EQ(cache.cached(), 0u);
}

TEST(block_cache, a_class_keeps_at_most_its_cap) {
    block_cache cache;
    std::vector<void*> blocks(block_cache::max_cached + 10);
    for (auto& p : blocks) {
        p = cache.allocate(64);
    }
    for (void* p : blocks) {
        block_cache::release(&cache, p);
    }
    EXPECT_EQ(cache.cached(), block_cache::max_cached);
    cache.clear();
    EXPECT_EQ(cache.cached(), 0u);
}

TEST(block_cache, a_block_freed_on_another_thread_joins_that_threads_cache) {
    block_cache mine;
    void* p = mine.allocate(300);
    block_cache theirs;
    std::thread([&] { block_cache::release(&theirs, p); }).join();
    EXPECT_EQ(mine.cached(), 0u);
    EXPECT_EQ(theirs.cached(), 1u);
    EXPECT_EQ(theirs.allocate(300), p);
    block_cache::release(&theirs, p);
}

TEST(block_cache, trim_gives_back_what_a_burst_left_and_keeps_what_steady_load_reuses) {
    block_cache cache;
    // A burst: 100 blocks in use at once, then all freed.
    std::vector<void*> burst(100);
    for (auto& p : burst) {
        p = cache.allocate(64);
    }
    for (void* p : burst) {
        block_cache::release(&cache, p);
    }
    // Steady load since: never more than 10 in use at once.
    std::vector<void*> steady(10);
    for (int round = 0; round < 3; ++round) {
        for (auto& p : steady) {
            p = cache.allocate(64);
        }
        for (void* p : steady) {
            block_cache::release(&cache, p);
        }
    }
    EXPECT_EQ(cache.trim(), 0u) << "the first trim only starts the count";
    for (auto& p : steady) {
        p = cache.allocate(64);
    }
    for (void* p : steady) {
        block_cache::release(&cache, p);
    }
    EXPECT_EQ(cache.trim(), 90u * 96) << "the 90 blocks unused for a whole period, 96 bytes each";
    EXPECT_EQ(cache.cached(), 10u);
    EXPECT_EQ(cache.trim(), 10u * 96) << "idle for a whole period: the last 10 go too";
    EXPECT_EQ(cache.cached(), 0u);
}

TEST(block_cache, long_lived_blocks_are_reused_never_trimmed_and_sit_apart_from_others) {
    block_cache cache;
    void* a = cache.allocate_long_lived(200);
    void* b = cache.allocate_long_lived(200);
    EXPECT_EQ(static_cast<char*>(b) - static_cast<char*>(a), 224) << "carved side by side";
    std::memset(b, 0xab, 200);
    block_cache::release(&cache, a);
    EXPECT_EQ(cache.cached(), 0u) << "not on the short-lived lists";
    EXPECT_EQ(cache.trim(), 0u);
    EXPECT_EQ(cache.trim(), 0u);
    EXPECT_EQ(cache.allocate_long_lived(200), a) << "given back, then handed out again";
    void* larger = cache.allocate_long_lived(500);
    EXPECT_NE(larger, nullptr) << "another size is served like any block";
    block_cache::release(&cache, larger);
    EXPECT_EQ(cache.cached(), 1u);
    block_cache::release(&cache, a);
    block_cache::release(&cache, b);
}

} // namespace
