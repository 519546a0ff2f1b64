#include "proxy/balancer.hpp"

#include <gtest/gtest.h>

#include <array>
#include <thread>
#include <vector>

namespace {

using fulcrum::proxy::balancer;

const auto every_server = [](std::size_t) { return true; };

TEST(balancer, equal_weights_alternate) {
    const std::array<unsigned, 2> weights{1, 1};
    balancer b(weights);
    std::vector<std::size_t> picks;
    for (int i = 0; i < 6; ++i) {
        picks.push_back(*b.next(every_server));
    }
    EXPECT_EQ(picks, (std::vector<std::size_t>{0, 1, 0, 1, 0, 1}));
}

TEST(balancer, weights_are_honoured_and_interleaved) {
    const std::array<unsigned, 3> weights{5, 1, 1};
    balancer b(weights);
    const auto seq = b.sequence();
    EXPECT_EQ(std::vector<std::uint32_t>(seq.begin(), seq.end()),
              (std::vector<std::uint32_t>{0, 0, 1, 0, 2, 0, 0}));
}

TEST(balancer, weight_two_gets_twice_the_requests) {
    const std::array<unsigned, 2> weights{1, 2};
    balancer b(weights);
    std::array<int, 2> counts{};
    for (int i = 0; i < 3000; ++i) {
        ++counts[*b.next(every_server)];
    }
    EXPECT_EQ(counts[0], 1000);
    EXPECT_EQ(counts[1], 2000);
}

TEST(balancer, rotation_stays_exact_across_threads) {
    const std::array<unsigned, 2> weights{1, 1};
    balancer b(weights);
    std::array<std::atomic<int>, 2> counts{};
    auto pick = [&] {
        for (int i = 0; i < 50000; ++i) {
            counts[*b.next(every_server)].fetch_add(1);
        }
    };
    std::thread t1(pick);
    std::thread t2(pick);
    t1.join();
    t2.join();
    EXPECT_EQ(counts[0].load(), 50000);
    EXPECT_EQ(counts[1].load(), 50000);
}

TEST(balancer, unavailable_servers_are_skipped_in_rotation_order) {
    const std::array<unsigned, 3> weights{1, 1, 1};
    balancer b(weights);
    const auto all_but_1 = [](std::size_t s) { return s != 1; };
    std::vector<std::size_t> picks;
    for (int i = 0; i < 4; ++i) {
        picks.push_back(*b.next(all_but_1));
    }
    EXPECT_EQ(picks, (std::vector<std::size_t>{0, 2, 2, 0}));
}

TEST(balancer, nothing_when_no_server_is_available) {
    const std::array<unsigned, 2> weights{1, 1};
    balancer b(weights);
    EXPECT_FALSE(b.next([](std::size_t) { return false; }).has_value());
}

TEST(balancer, single_server_always_chosen) {
    const std::array<unsigned, 1> weights{3};
    balancer b(weights);
    for (int i = 0; i < 5; ++i) {
        EXPECT_EQ(*b.next(every_server), 0u);
    }
}

} // namespace
