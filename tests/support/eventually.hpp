#pragma once

#include <chrono>
#include <thread>

namespace fulcrum::testing {

// Polls `done` every few milliseconds until it holds or `timeout` passes: how tests wait for
// something that happens on its own schedule, instead of sleeping a fixed time.
template <typename Condition>
bool eventually(const Condition& done,
                std::chrono::steady_clock::duration timeout = std::chrono::seconds(10)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
        if (std::chrono::steady_clock::now() >= deadline) {
            return false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
}

} // namespace fulcrum::testing
