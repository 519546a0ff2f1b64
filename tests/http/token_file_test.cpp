#include "http/token_file.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <stdexcept>
#include <string>

namespace {

using fulcrum::http::read_token_file;

class token_file : public ::testing::Test {
protected:
    void SetUp() override {
        char name[] = "/tmp/fulcrum-token-XXXXXX";
        ASSERT_NE(::mkdtemp(name), nullptr);
        dir_ = name;
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    std::string write(const std::string& content, mode_t mode) {
        const std::string path = (dir_ / "token").string();
        std::ofstream(path) << content;
        ::chmod(path.c_str(), mode);
        return path;
    }

    // The message of the refusal, or "" when the file was accepted.
    static std::string refusal(const std::string& path) {
        try {
            read_token_file(path, "failover.reserved_ip.token_file");
        } catch (const std::runtime_error& e) {
            return e.what();
        }
        return "";
    }

    std::filesystem::path dir_;
};

TEST_F(token_file, a_private_file_gives_its_token_without_the_line_end) {
    EXPECT_EQ(read_token_file(write("dop_v1_secret\n", 0600), "admin.token_file"), "dop_v1_secret");
    EXPECT_EQ(read_token_file(write("dop_v1_secret \r\n", 0400), "admin.token_file"),
              "dop_v1_secret");
}

TEST_F(token_file, a_file_others_can_read_is_refused_without_showing_the_token) {
    for (const mode_t mode : {0640, 0604, 0620, 0644}) {
        const std::string path = write("dop_v1_secret\n", mode);
        const std::string why = refusal(path);
        EXPECT_EQ(why, "failover.reserved_ip.token_file " + path +
                           " can be read by group or others: chmod 600 it")
            << std::oct << mode;
    }
}

TEST_F(token_file, a_missing_or_empty_file_is_refused) {
    const std::string missing = (dir_ / "absent").string();
    EXPECT_EQ(refusal(missing),
              "failover.reserved_ip.token_file " + missing + ": No such file or directory");
    const std::string empty = write(" \n", 0600);
    EXPECT_EQ(refusal(empty), "failover.reserved_ip.token_file " + empty + " is empty");
}

TEST_F(token_file, a_fifo_or_a_device_is_refused_without_waiting_for_a_writer) {
    const std::string fifo = (dir_ / "fifo").string();
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    auto why = std::async(std::launch::async, [&] { return refusal(fifo); });
    if (why.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
        // Blocked in open() or read(): a writer lets it go, so that the test can end.
        const int writer = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
        ::close(writer);
        FAIL() << "reading a FIFO blocked";
    }
    EXPECT_EQ(why.get(),
              "failover.reserved_ip.token_file " + fifo + " is a FIFO, not a regular file");
    EXPECT_EQ(
        refusal("/dev/zero"),
        "failover.reserved_ip.token_file /dev/zero is a character device, not a regular file");
}

} // namespace
