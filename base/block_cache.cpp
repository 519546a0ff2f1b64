#include "base/block_cache.hpp"

#include <atomic>
#include <cstdlib>

namespace fulcrum::base {

namespace {

// The class number in the header; `uncached` for a block malloc'd at its own size.
constexpr std::uint32_t uncached = 0xffffffff;

// A block carved from a long-lived chunk: never given to free().
constexpr std::uint32_t long_lived = 0xfffffffe;
constexpr std::size_t chunk_bytes = 64 * 1024;

thread_local block_cache* this_threads_cache = nullptr;

// Every chunk ever carved, so that they stay reachable (a leak checker sees them in use, which
// they may be until the process ends: a block can outlive the thread that carved it).
struct chunk {
    chunk* next;
};
std::atomic<chunk*> all_chunks{nullptr};

std::uint32_t& class_of(void* block) {
    return *static_cast<std::uint32_t*>(block);
}

void* user(void* block) {
    return static_cast<char*>(block) + block_cache::header;
}

void* block_of(void* pointer) {
    return static_cast<char*>(pointer) - block_cache::header;
}

} // namespace

void* block_cache::allocate_uncached(std::size_t size) {
    void* block = std::malloc(size + header);
    if (block == nullptr) {
        return nullptr;
    }
    class_of(block) = uncached;
    return user(block);
}

void* block_cache::allocate(std::size_t size) {
    const std::size_t c = (size + header + granule - 1) / granule - 1;
    if (c >= classes) {
        return allocate_uncached(size);
    }
    free_block* block = heads_[c];
    if (block != nullptr) {
        heads_[c] = block->next;
        if (--counts_[c] < low_water_[c]) {
            low_water_[c] = counts_[c];
        }
    } else {
        block = static_cast<free_block*>(std::malloc((c + 1) * granule));
        if (block == nullptr) {
            return nullptr;
        }
    }
    class_of(block) = static_cast<std::uint32_t>(c);
    return user(block);
}

void block_cache::release(block_cache* cache, void* pointer) {
    if (pointer == nullptr) {
        return;
    }
    void* block = block_of(pointer);
    const std::uint32_t c = class_of(block);
    if (c == long_lived) {
        if (cache != nullptr) {
            auto* freed = static_cast<free_block*>(block);
            freed->next = cache->long_lived_;
            cache->long_lived_ = freed;
        }
        return;
    }
    if (cache == nullptr || c == uncached || cache->counts_[c] >= max_cached) {
        std::free(block);
        return;
    }
    auto* freed = static_cast<free_block*>(block);
    freed->next = cache->heads_[c];
    cache->heads_[c] = freed;
    ++cache->counts_[c];
}

std::size_t block_cache::cached() const {
    std::size_t n = 0;
    for (const auto count : counts_) {
        n += count;
    }
    return n;
}

void block_cache::clear() {
    for (std::size_t c = 0; c < classes; ++c) {
        while (free_block* block = heads_[c]) {
            heads_[c] = block->next;
            std::free(block);
        }
        counts_[c] = 0;
        low_water_[c] = 0;
    }
}

void* block_cache::allocate_long_lived(std::size_t size) {
    if (long_lived_size_ == 0) {
        long_lived_size_ = (size + header + granule - 1) / granule * granule;
    }
    if (size + header > long_lived_size_) {
        return allocate(size);
    }
    free_block* block = long_lived_;
    if (block != nullptr) {
        long_lived_ = block->next;
    } else {
        if (chunk_end_ - chunk_next_ < static_cast<std::ptrdiff_t>(long_lived_size_)) {
            auto* fresh = static_cast<char*>(std::malloc(chunk_bytes));
            if (fresh == nullptr) {
                return nullptr;
            }
            auto* c = reinterpret_cast<chunk*>(fresh);
            c->next = all_chunks.load(std::memory_order_relaxed);
            while (!all_chunks.compare_exchange_weak(c->next, c, std::memory_order_release,
                                                     std::memory_order_relaxed)) {
            }
            chunk_next_ = fresh + header;
            chunk_end_ = fresh + chunk_bytes;
        }
        block = reinterpret_cast<free_block*>(chunk_next_);
        chunk_next_ += long_lived_size_;
    }
    class_of(block) = long_lived;
    return user(block);
}

std::size_t block_cache::trim() {
    std::size_t freed = 0;
    for (std::size_t c = 0; c < classes; ++c) {
        for (std::uint32_t n = low_water_[c]; n > 0; --n) {
            free_block* block = heads_[c];
            heads_[c] = block->next;
            std::free(block);
            --counts_[c];
            freed += (c + 1) * granule;
        }
        low_water_[c] = counts_[c];
    }
    return freed;
}

block_cache* block_cache::of_this_thread() {
    return this_threads_cache;
}

void block_cache::set_of_this_thread(block_cache* cache) {
    this_threads_cache = cache;
}

} // namespace fulcrum::base
