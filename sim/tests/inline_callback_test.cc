#include "sim/inline_callback.h"

#include <gtest/gtest.h>

#include <memory>

namespace meshsim::sim {
namespace {

TEST(InlineCallback, InvokesInlineAndHeapCallables) {
  int n = 0;
  InlineCallback small([&n] { n += 1; });
  auto big = std::make_shared<int>(5);
  char pad[64] = {};
  InlineCallback large([&n, big, pad] { n += *big + pad[0]; });
  small();
  large();
  EXPECT_EQ(n, 6);
}

TEST(InlineCallback, MoveTransfersOwnershipAndDestroysOnce) {
  auto token = std::make_shared<int>(1);
  {
    InlineCallback a([token] {});
    EXPECT_EQ(token.use_count(), 2);
    InlineCallback b(std::move(a));
    EXPECT_FALSE(static_cast<bool>(a));
    EXPECT_TRUE(static_cast<bool>(b));
    EXPECT_EQ(token.use_count(), 2);
    InlineCallback c;
    c = std::move(b);
    EXPECT_EQ(token.use_count(), 2);
  }
  EXPECT_EQ(token.use_count(), 1);
}

TEST(InlineCallback, ResetReleasesCaptures) {
  auto token = std::make_shared<int>(1);
  InlineCallback a([token] {});
  a.reset();
  EXPECT_EQ(token.use_count(), 1);
}

}  // namespace
}  // namespace meshsim::sim
