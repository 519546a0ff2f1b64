#pragma once

// What every fuzz target asserts with: a broken property stops the run like a sanitizer
// finding does, and libFuzzer saves the input that broke it.
namespace fulcrum::fuzz {

inline void check(bool condition) {
    if (!condition) {
        __builtin_trap();
    }
}

} // namespace fulcrum::fuzz
