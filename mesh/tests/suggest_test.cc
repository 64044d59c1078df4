#include "mesh/suggest.h"

#include <gtest/gtest.h>

namespace meshsim::mesh {
namespace {

TEST(Suggest, EditDistanceCountsInsertDeleteSubstituteAndSwap) {
  EXPECT_EQ(edit_distance("duration", "duration"), 0u);
  EXPECT_EQ(edit_distance("duraton", "duration"), 1u);     // deletion
  EXPECT_EQ(edit_distance("form", "from"), 1u);            // adjacent swap
  EXPECT_EQ(edit_distance("keepalive", "keepAlive"), 0u);  // case-insensitive
  EXPECT_EQ(edit_distance("abc", ""), 3u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
}

TEST(Suggest, PicksTheClosePlausibleCandidate) {
  EXPECT_EQ(closest_match("duraton", std::vector<std::string_view>{"name", "seed", "duration"}), "duration");
  EXPECT_EQ(closest_match("keepalive", std::vector<std::string_view>{"keepAlive", "timeout"}), "keepAlive");
  EXPECT_EQ(closest_match("prob", std::vector<std::string_view>{"probe", "proxy-config", "run"}), "probe");
  EXPECT_EQ(closest_match("PeerAuthenticaton", std::vector<std::string_view>{"Pod", "PeerAuthentication"}),
            "PeerAuthentication");
}

TEST(Suggest, SaysNothingForFarOrExactNames) {
  EXPECT_EQ(closest_match("zzz", std::vector<std::string_view>{"name", "seed"}), "");
  EXPECT_EQ(closest_match("seed", std::vector<std::string_view>{"seed", "seeds"}), "");
  EXPECT_EQ(did_you_mean("xyzzy", std::vector<std::string>{"apps", "mesh"}), "");
  EXPECT_EQ(did_you_mean("aps", std::vector<std::string>{"apps", "mesh"}), " (did you mean \"apps\"?)");
}

}  // namespace
}  // namespace meshsim::mesh
