// What fulcrum's memory does after a flood of connections: it goes back to the kernel.

#include "harness.hpp"

#include <gtest/gtest.h>

#include <sys/resource.h>

#include <memory>
#include <vector>

namespace {

using namespace fulcrum::testing;
using namespace std::chrono_literals;

// Held open at once: under the descriptor limit of both the test and fulcrum on a machine
// whose hard limit is 20,000 (each connection costs fulcrum a client and a server descriptor at
// most while its request is in flight).
constexpr int held_at_once = 9000;
constexpr int flood_connections = 20000;

// Raises this process's descriptor limit to its hard limit; fulcrum, started later, inherits it.
void raise_descriptor_limit() {
    rlimit limit{};
    ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &limit), 0);
    limit.rlim_cur = limit.rlim_max;
    ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &limit), 0);
    if (limit.rlim_max < static_cast<rlim_t>(held_at_once) + 500) {
        GTEST_SKIP() << "the descriptor hard limit " << limit.rlim_max << " is below "
                     << held_at_once + 500;
    }
}

// Opens `n` keep-alive connections, sends a request on each, reads every response, and keeps
// them open; returns how many got a 200.
int open_and_request(std::uint16_t port, int n, std::vector<std::unique_ptr<raw_client>>& out) {
    for (int i = 0; i < n; ++i) {
        out.push_back(std::make_unique<raw_client>(port));
        out.back()->send("GET / HTTP/1.1\r\nHost: flood\r\n\r\n");
    }
    int ok = 0;
    for (auto& client : out) {
        ok += parse_response(client->receive_response()).status == 200 ? 1 : 0;
    }
    return ok;
}

TEST(flood, twenty_thousand_connections_later_rss_is_back_near_its_idle_baseline_memory) {
    raise_descriptor_limit();
    if (::testing::Test::IsSkipped()) {
        return;
    }
    nginx_backend app("app-1");
    fulcrum_process lb(config_yaml({{"app-1", app.address()}}));
    for (int i = 0; i < 10; ++i) {
        ASSERT_EQ(get(lb.port(), "/").status, 200);
    }
    const auto baseline = rss_kib(lb.pid());

    std::uint64_t held_rss = 0;
    for (int opened = 0; opened < flood_connections; opened += held_at_once) {
        std::vector<std::unique_ptr<raw_client>> wave;
        const int n = std::min(held_at_once, flood_connections - opened);
        ASSERT_EQ(open_and_request(lb.port(), n, wave), n);
        held_rss = std::max(held_rss, rss_kib(lb.pid()));
    }
    RecordProperty("rss_baseline_kib", std::to_string(baseline));
    RecordProperty("rss_held_kib", std::to_string(held_rss));
    ASSERT_GT(held_rss, baseline + 10 * 1024)
        << "the flood did not cost fulcrum memory: nothing to give back was tested";

    std::uint64_t after = 0;
    const bool returned = eventually(
        [&] {
            after = rss_kib(lb.pid());
            return after <= 2 * baseline;
        },
        20s);
    RecordProperty("rss_after_kib", std::to_string(after));
    EXPECT_TRUE(returned) << "RSS " << baseline << " KiB idle, " << held_rss << " KiB with "
                          << held_at_once << " connections held, still " << after
                          << " KiB 20 s after they closed";
    EXPECT_EQ(get(lb.port(), "/").status, 200) << "still serving";
}

} // namespace
