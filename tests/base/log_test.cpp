#include "base/log.hpp"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using testing::internal::CaptureStderr;
using testing::internal::GetCapturedStderr;

TEST(log, writes_one_line_with_the_fulcrum_prefix) {
    CaptureStderr();
    fulcrum::base::log("server app_pool/app-2 DOWN: first check failed (connect refused)");
    EXPECT_EQ(GetCapturedStderr(),
              "fulcrum: server app_pool/app-2 DOWN: first check failed (connect refused)\n");
}

TEST(log, logf_formats_as_printf_does) {
    CaptureStderr();
    fulcrum::base::logf("frontend %s listening on %s:%u", "http", "127.0.0.1", 8080u);
    fulcrum::base::logf("stopped");
    EXPECT_EQ(GetCapturedStderr(),
              "fulcrum: frontend http listening on 127.0.0.1:8080\nfulcrum: stopped\n");
}

TEST(log, a_long_message_is_written_whole) {
    const std::string long_message(100000, 'x');
    CaptureStderr();
    fulcrum::base::logf("%s", long_message.c_str());
    EXPECT_EQ(GetCapturedStderr(), "fulcrum: " + long_message + "\n");
}

TEST(log, lines_from_several_threads_never_interleave) {
    CaptureStderr();
    std::vector<std::thread> threads;
    for (char c = 'a'; c < 'e'; ++c) {
        threads.emplace_back([c] {
            const std::string line(5000, c);
            for (int i = 0; i < 100; ++i) {
                fulcrum::base::log(line);
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    std::istringstream lines(GetCapturedStderr());
    int count = 0;
    for (std::string line; std::getline(lines, line); ++count) {
        ASSERT_EQ(line, "fulcrum: " + std::string(5000, line.back()));
    }
    EXPECT_EQ(count, 400);
}

} // namespace
