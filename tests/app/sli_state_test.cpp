#include "app/sli_state.hpp"

#include <gtest/gtest.h>

namespace {

using fulcrum::state_dir_of;

TEST(state_dir_of, the_config_wins_then_systemds_state_directory_then_none) {
    fulcrum::config::global global;
    EXPECT_EQ(state_dir_of(global, nullptr), std::nullopt);
    EXPECT_EQ(state_dir_of(global, ""), std::nullopt);
    EXPECT_EQ(state_dir_of(global, "/var/lib/fulcrum"), "/var/lib/fulcrum");
    // `StateDirectory=fulcrum other` gives both, colon-separated; fulcrum's comes first.
    EXPECT_EQ(state_dir_of(global, "/var/lib/fulcrum:/var/lib/other"), "/var/lib/fulcrum");
    global.state_dir = "/srv/fulcrum";
    EXPECT_EQ(state_dir_of(global, "/var/lib/fulcrum"), "/srv/fulcrum");
}

} // namespace
