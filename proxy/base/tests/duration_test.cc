#include "proxy/base/duration.h"

#include <gtest/gtest.h>

namespace meshsim {
namespace {

using namespace meshsim::literals;

TEST(ParseDuration, AcceptsIstioStyleDurations) {
  EXPECT_EQ(parse_duration("150ms").value(), 150_ms);
  EXPECT_EQ(parse_duration("2s").value(), 2_s);
  EXPECT_EQ(parse_duration("1h").value(), 1_h);
  EXPECT_EQ(parse_duration("1h30m").value(), 90_min);
  EXPECT_EQ(parse_duration("0s").value(), Duration::zero());
  EXPECT_EQ(parse_duration("0").value(), Duration::zero());
  EXPECT_EQ(parse_duration("0.5s").value(), 500_ms);
  EXPECT_EQ(parse_duration(".25s").value(), 250_ms);
  EXPECT_EQ(parse_duration("1.5h").value(), 90_min);
  EXPECT_EQ(parse_duration("10us").value(), 10_us);
  EXPECT_EQ(parse_duration("10\xC2\xB5s").value(), 10_us);
  EXPECT_EQ(parse_duration("7ns").value(), 7_ns);
  EXPECT_EQ(parse_duration("1m0.001s").value(), 1_min + 1_ms);
  EXPECT_EQ(parse_duration("-3s").value(), -(3_s));
  EXPECT_EQ(parse_duration("+3s").value(), 3_s);
  EXPECT_EQ(parse_duration("2562047h").value(), Duration::hours(2562047));
}

TEST(ParseDuration, RejectsMalformedDurationsWithAReason) {
  struct Case {
    const char* text;
    const char* reason;
  } cases[] = {
      {"", "empty"},
      {"10", "missing unit"},
      {"10x", "unknown unit \"x\""},
      {"1d", "unknown unit \"d\""},
      {"s", "expected a number"},
      {".s", "a '.' needs digits"},
      {"1.s5", "missing unit"},
      {"1h 30m", "unknown unit \"h \""},
      {"99999999999999999999s", "out of range"},
      {"3000000h", "out of range"},
      {"--1s", "expected a number"},
  };
  for (const Case& c : cases) {
    auto r = parse_duration(c.text);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_NE(r.message().find(c.reason), std::string::npos) << c.text << " -> " << r.message();
    EXPECT_NE(r.message().find(std::string("\"") + c.text + "\""), std::string::npos) << r.message();
  }
}

TEST(FormatDuration, PrintsLikeGo) {
  EXPECT_EQ(format_duration(Duration::zero()), "0s");
  EXPECT_EQ(format_duration(150_ms), "150ms");
  EXPECT_EQ(format_duration(1500_ms), "1.5s");
  EXPECT_EQ(format_duration(90_min), "1h30m0s");
  EXPECT_EQ(format_duration(7_ns), "7ns");
  EXPECT_EQ(format_duration(1500_ns), "1.5us");
  EXPECT_EQ(format_duration(1_h + 1_ms), "1h0m0.001s");
  EXPECT_EQ(format_duration(-(2_s)), "-2s");
}

TEST(FormatDuration, RoundTripsThroughTheParser) {
  for (int64_t ns : {int64_t{1}, int64_t{999}, int64_t{1001}, int64_t{123456789}, int64_t{86'400'000'000'001},
                     int64_t{-42}, std::numeric_limits<int64_t>::max()}) {
    Duration d = Duration::nanos(ns);
    auto back = parse_duration(format_duration(d));
    ASSERT_TRUE(back.ok()) << format_duration(d);
    EXPECT_EQ(back.value(), d) << format_duration(d);
  }
}

TEST(Duration, ScaleRoundsToNearestNanosecond) {
  EXPECT_EQ(scale(24_h, 0.5), 12_h);
  EXPECT_EQ(scale(3_ns, 0.5), Duration::nanos(2));  // llround rounds half away from zero
}

// Expected values from Python's email.utils.formatdate(1767225600 + s, usegmt=True).
TEST(FormatHttpDate, ImfFixdateOfVirtualTime) {
  EXPECT_EQ(format_http_date(Duration::zero()), "Thu, 01 Jan 2026 00:00:00 GMT");
  EXPECT_EQ(format_http_date(Duration::seconds(29156709)), "Fri, 04 Dec 2026 11:05:09 GMT");
  EXPECT_EQ(format_http_date(Duration::seconds(68169601) + Duration::millis(999)), "Tue, 29 Feb 2028 00:00:01 GMT");
}

}  // namespace
}  // namespace meshsim
