#include "proxy/base/ip.h"

#include <gtest/gtest.h>

namespace meshsim {
namespace {

TEST(Ipv4, ParsesAndFormatsDottedQuads) {
  EXPECT_EQ(parse_ipv4("10.244.1.7").value(), Ipv4::of(10, 244, 1, 7));
  EXPECT_EQ(to_string(Ipv4::of(192, 168, 0, 255)), "192.168.0.255");
  EXPECT_EQ(to_string(SocketAddress{Ipv4::of(10, 0, 0, 1), 9080}), "10.0.0.1:9080");
  for (const char* bad : {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.x", "01.2.3.4", "1..2.3", " 1.2.3.4"}) {
    EXPECT_FALSE(parse_ipv4(bad).ok()) << bad;
  }
}

TEST(Cidr, ContainsAndRejectsHostBits) {
  Cidr c = parse_cidr("10.96.0.0/12").value();
  EXPECT_TRUE(c.contains(Ipv4::of(10, 96, 0, 1)));
  EXPECT_TRUE(c.contains(Ipv4::of(10, 111, 255, 255)));
  EXPECT_FALSE(c.contains(Ipv4::of(10, 112, 0, 0)));
  EXPECT_TRUE(parse_cidr("0.0.0.0/0").value().contains(Ipv4::of(8, 8, 8, 8)));
  EXPECT_EQ(parse_cidr("10.1.2.3").value().prefix_len, 32);
  auto bad = parse_cidr("10.0.0.1/8");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("did you mean 10.0.0.0/8"), std::string::npos) << bad.message();
  EXPECT_FALSE(parse_cidr("10.0.0.0/33").ok());
  EXPECT_FALSE(parse_cidr("10.0.0.0/").ok());
}

}  // namespace
}  // namespace meshsim

#include "proxy/base/ascii.h"

TEST(Ascii, IequalsFoldsOnlyLetters) {
  EXPECT_TRUE(meshsim::ascii_iequals("X-B3-TraceId", "x-b3-traceid"));
  EXPECT_FALSE(meshsim::ascii_iequals("x-b3", "x-b4"));
  EXPECT_FALSE(meshsim::ascii_iequals("@", "`"));   // 0x40 / 0x60 differ in the case bit but are not letters
  EXPECT_FALSE(meshsim::ascii_iequals("[", "{"));
  EXPECT_FALSE(meshsim::ascii_iequals("ab", "abc"));
  EXPECT_TRUE(meshsim::ascii_iequals("", ""));
}
