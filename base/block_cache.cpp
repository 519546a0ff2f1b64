#include "base/block_cache.hpp"

#include <cstdlib>

namespace fulcrum::base {

namespace {

// The class number in the header; `uncached` for a block malloc'd at its own size.
constexpr std::uint32_t uncached = 0xffffffff;

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
        --counts_[c];
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
    }
}

} // namespace fulcrum::base
