#include "base/exhaustion.hpp"

#include <boost/asio/error.hpp>
#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>

namespace {

namespace base = fulcrum::base;
namespace asio = boost::asio;
using boost::system::error_code;
using testing::internal::CaptureStderr;
using testing::internal::GetCapturedStderr;
using namespace std::chrono_literals;

error_code system_error(int value) {
    return {value, boost::system::system_category()};
}

TEST(own_exhaustion, names_each_shortage_of_fulcrum_itself) {
    EXPECT_EQ(base::own_exhaustion(system_error(EMFILE)), base::exhaustion::emfile);
    EXPECT_EQ(base::own_exhaustion(system_error(ENFILE)), base::exhaustion::enfile);
    EXPECT_EQ(base::own_exhaustion(system_error(ENOMEM)), base::exhaustion::enomem);
    EXPECT_EQ(base::own_exhaustion(system_error(ENOBUFS)), base::exhaustion::enobufs);
    EXPECT_EQ(base::own_exhaustion(system_error(EADDRNOTAVAIL)), base::exhaustion::eaddrnotavail);
}

TEST(own_exhaustion, recognises_them_in_the_system_and_the_generic_category) {
    EXPECT_TRUE(base::is_own_exhaustion(asio::error::no_descriptors));
    EXPECT_TRUE(base::is_own_exhaustion(asio::error::no_memory));
    EXPECT_TRUE(base::is_own_exhaustion(asio::error::no_buffer_space));
    EXPECT_TRUE(base::is_own_exhaustion(
        boost::system::errc::make_error_code(boost::system::errc::too_many_files_open)));
}

TEST(own_exhaustion, a_server_failing_is_not_ours) {
    for (const error_code& ec :
         {error_code(asio::error::connection_refused), error_code(asio::error::connection_reset),
          error_code(asio::error::timed_out), error_code(asio::error::host_unreachable),
          error_code(asio::error::network_unreachable), error_code(asio::error::eof),
          error_code(asio::error::operation_aborted), system_error(EPIPE), error_code()}) {
        EXPECT_FALSE(base::is_own_exhaustion(ec)) << ec.message();
    }
}

TEST(own_exhaustion, an_errno_value_of_another_category_is_not_an_errno) {
    // asio::error::eof is 2 in the misc category; ENOENT is 2 too, and so may be anything.
    const error_code not_errno(EMFILE, asio::error::get_misc_category());
    EXPECT_FALSE(base::is_own_exhaustion(not_errno));
}

TEST(note_exhaustion, counts_every_one_and_logs_the_first_of_an_episode) {
    const auto before = base::exhaustion_count(base::exhaustion::enobufs);
    CaptureStderr();
    for (int i = 0; i < 5; ++i) {
        base::note_exhaustion(base::exhaustion::enobufs, base::exhausted_at::connect,
                              "app_pool/app-1");
    }
    const std::string log = GetCapturedStderr();
    EXPECT_EQ(base::exhaustion_count(base::exhaustion::enobufs), before + 5);
    EXPECT_EQ(log,
              "fulcrum: connect to app_pool/app-1 failed: fulcrum is out of socket buffers "
              "(enobufs); not held against any server. Counted in "
              "fulcrum_resource_exhaustion_total{resource=\"enobufs\"}, logged again after 10s "
              "without one\n");
}

TEST(episode, begins_after_a_quiet_spell_only) {
    base::episode e(10s);
    const auto t0 = base::episode::clock::time_point() + 1h;
    EXPECT_TRUE(e.begins(t0));
    EXPECT_FALSE(e.begins(t0 + 1s));
    EXPECT_FALSE(e.begins(t0 + 10s)); // 9 s after the previous one: still the same episode
    EXPECT_TRUE(e.begins(t0 + 21s));
}

} // namespace
