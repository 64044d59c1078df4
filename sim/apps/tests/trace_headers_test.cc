// Header propagation of the virtual apps: productpage's OpenTelemetry B3
// (otel-py B3MultiFormat extract + inject) and the list policies of details
// and reviews (docs/istio/telemetry.md §9).
#include "sim/apps/trace_headers.h"

#include <gtest/gtest.h>

namespace meshsim::sim::apps {
namespace {

proxy::http::Headers headers(std::initializer_list<std::pair<const char*, const char*>> fields) {
  proxy::http::Headers h;
  for (const auto& [k, v] : fields) h.add(k, v);
  return h;
}

std::string names(const std::vector<std::string>& v) {
  std::string o;
  for (const auto& n : v) o += (o.empty() ? "" : ",") + n;
  return o;
}

constexpr const char* k16 = "463ac35c9f6413ad";
constexpr const char* k32 = "463ac35c9f6413ad48485a3953bb6124";
constexpr const char* kSpan = "a2fb4a1d1a96d312";

TEST(ProductpageB3, SixteenHexTraceIdIsZeroPaddedTo32) {
  auto b = productpage_b3(headers({{"x-b3-traceid", k16}, {"x-b3-spanid", kSpan}, {"x-b3-sampled", "1"}}));
  ASSERT_TRUE(b);
  EXPECT_EQ(b->trace_id, std::string("0000000000000000") + k16);
  EXPECT_EQ(b->span_id, kSpan);
  EXPECT_EQ(b->sampled, "1");
}

TEST(ProductpageB3, ThirtyTwoHexTraceIdIsKeptAndLowerCased) {
  auto b = productpage_b3(headers({{"X-B3-TraceId", "463AC35C9F6413AD48485A3953BB6124"}, {"X-B3-SpanId", "A2FB4A1D1A96D312"}}));
  ASSERT_TRUE(b);
  EXPECT_EQ(b->trace_id, k32);
  EXPECT_EQ(b->span_id, kSpan);
  EXPECT_EQ(b->sampled, "0");  // no x-b3-sampled: otel-py's default "0"
}

TEST(ProductpageB3, InvalidIdsInjectNothing) {
  EXPECT_FALSE(productpage_b3(headers({})));
  EXPECT_FALSE(productpage_b3(headers({{"x-b3-traceid", k16}})));                        // no span id
  EXPECT_FALSE(productpage_b3(headers({{"x-b3-spanid", kSpan}})));                       // no trace id
  EXPECT_FALSE(productpage_b3(headers({{"x-b3-traceid", "463ac35c9f6413a"}, {"x-b3-spanid", kSpan}})));  // 15
  EXPECT_FALSE(productpage_b3(headers({{"x-b3-traceid", "463ac35c9f6413ad4"}, {"x-b3-spanid", kSpan}})));  // 17
  EXPECT_FALSE(productpage_b3(headers({{"x-b3-traceid", "463ac35c9f6413ag"}, {"x-b3-spanid", kSpan}})));  // not hex
  EXPECT_FALSE(productpage_b3(headers({{"x-b3-traceid", k32}, {"x-b3-spanid", k32}})));  // span id must be 16
}

TEST(ProductpageB3, SampledRuleOfTheOtelPropagator) {
  auto sampled = [](const char* s, const char* flags = nullptr) {
    auto h = headers({{"x-b3-traceid", k16}, {"x-b3-spanid", kSpan}, {"x-b3-sampled", s}});
    if (flags) h.add("x-b3-flags", flags);
    return productpage_b3(h)->sampled;
  };
  EXPECT_EQ(sampled("1"), "1");
  EXPECT_EQ(sampled("true"), "1");
  EXPECT_EQ(sampled("True"), "1");
  EXPECT_EQ(sampled("d"), "1");
  EXPECT_EQ(sampled("0"), "0");
  EXPECT_EQ(sampled("TRUE"), "0");
  EXPECT_EQ(sampled("yes"), "0");
  EXPECT_EQ(sampled("0", "1"), "1");  // x-b3-flags: 1 (debug) samples
}

TEST(ProductpageB3, SingleHeaderIsParsedByItsNumberOfFields) {
  std::string tid = k32, sid = kSpan;
  // 2 fields: trace-span, sampled "deferred" → recorded as 1.
  auto b = productpage_b3(headers({{"b3", (tid + "-" + sid).c_str()}}));
  ASSERT_TRUE(b);
  EXPECT_EQ(b->trace_id, k32);
  EXPECT_EQ(b->sampled, "1");
  // 3 fields: trace-span-sampled.
  b = productpage_b3(headers({{"b3", (tid + "-" + sid + "-0").c_str()}}));
  ASSERT_TRUE(b);
  EXPECT_EQ(b->sampled, "0");
  // 4 fields: trace-span-sampled-parent; a 16-hex trace id is padded.
  b = productpage_b3(headers({{"b3", (std::string(k16) + "-" + sid + "-d-0020000000000001").c_str()}}));
  ASSERT_TRUE(b);
  EXPECT_EQ(b->trace_id, std::string("0000000000000000") + k16);
  EXPECT_EQ(b->sampled, "1");
  // 1 field: sampling state only, no ids → nothing.
  EXPECT_FALSE(productpage_b3(headers({{"b3", "1"}})));
  // 5 fields: none of otel-py's cases → no ids → nothing.
  EXPECT_FALSE(productpage_b3(headers({{"b3", (tid + "-" + sid + "-1-" + sid + "-x").c_str()}})));
}

TEST(ProductpageB3, SingleHeaderWinsOverMultiHeaders) {
  std::string single = std::string(k32) + "-" + kSpan + "-0";
  auto b = productpage_b3(headers({{"x-b3-traceid", "1111111111111111"}, {"x-b3-spanid", "2222222222222222"},
                                   {"x-b3-sampled", "1"}, {"b3", single.c_str()}}));
  ASSERT_TRUE(b);
  EXPECT_EQ(b->trace_id, k32);
  EXPECT_EQ(b->span_id, kSpan);
  EXPECT_EQ(b->sampled, "0");
  // An invalid single header does not fall back to the multi headers.
  EXPECT_FALSE(productpage_b3(headers({{"x-b3-traceid", k16}, {"x-b3-spanid", kSpan}, {"b3", "garbage-x"}})));
  // An empty one does.
  EXPECT_TRUE(productpage_b3(headers({{"x-b3-traceid", k16}, {"x-b3-spanid", kSpan}, {"b3", ""}})));
}

TEST(Propagation, ProductpageRewritesB3AndCopiesItsListVerbatim) {
  auto in = headers({{"Host", "productpage:9080"},
                     {"x-request-id", "rid-1"},
                     {"x-b3-traceid", k16},
                     {"x-b3-spanid", kSpan},
                     {"x-b3-parentspanid", "0020000000000001"},
                     {"x-b3-sampled", "1"},
                     {"x-b3-flags", "0"},
                     {"b3", "0"},  // 1 field: takes precedence and has no ids → no B3 injected at all
                     {"traceparent", "00-463ac35c9f6413ad48485a3953bb6124-a2fb4a1d1a96d312-01"},
                     {"User-Agent", "curl/8.5.0"},
                     {"end-user", "jason"},
                     {"x-custom", "c"}});
  PropagatedHeaders p = propagate_headers(HeaderPropagation::productpage(), in);
  EXPECT_EQ(names(p.forwarded), "x-request-id,traceparent,user-agent");
  EXPECT_EQ(names(p.carried),
            "x-request-id,x-b3-traceid,x-b3-spanid,x-b3-parentspanid,x-b3-sampled,x-b3-flags,b3,traceparent,"
            "user-agent,end-user");
  EXPECT_EQ(names(p.dropped), "x-b3-traceid,x-b3-spanid,x-b3-parentspanid,x-b3-sampled,x-b3-flags,b3,end-user");

  in.remove("b3");
  p = propagate_headers(HeaderPropagation::productpage(), in);
  ASSERT_GE(p.headers.size(), 3u);
  EXPECT_EQ(p.headers[0], (std::pair<std::string, std::string>{"x-b3-traceid", std::string("0000000000000000") + k16}));
  EXPECT_EQ(p.headers[1], (std::pair<std::string, std::string>{"x-b3-spanid", kSpan}));
  EXPECT_EQ(p.headers[2], (std::pair<std::string, std::string>{"x-b3-sampled", "1"}));
  EXPECT_EQ(names(p.forwarded), "x-b3-traceid,x-b3-spanid,x-b3-sampled,x-request-id,traceparent,user-agent");
  EXPECT_EQ(names(p.dropped), "x-b3-parentspanid,x-b3-flags,end-user");
}

TEST(Propagation, AllIsTheTwentyNamesOfDetailsAndReviews) {
  EXPECT_EQ(bookinfo_forwarded_headers().size(), 20u);
  EXPECT_EQ(productpage_verbatim_headers().size(), 14u);
  auto in = headers({{"X-Request-Id", "r"}, {"x-b3-traceid", k16}, {"x-b3-parentspanid", "p"}, {"b3", "1"},
                     {"Cookie", "a=b"}, {"x-custom", "c"}});
  PropagatedHeaders p = propagate_headers(HeaderPropagation::all(), in);
  EXPECT_EQ(names(p.forwarded), "x-request-id,x-b3-traceid,x-b3-parentspanid,cookie");
  EXPECT_EQ(p.headers[0], (std::pair<std::string, std::string>{"x-request-id", "r"}));
  EXPECT_EQ(names(p.carried), "x-request-id,x-b3-traceid,x-b3-parentspanid,b3,cookie");
  EXPECT_EQ(names(p.dropped), "b3");  // no Bookinfo service forwards the single header
}

TEST(Propagation, NoneDropsEverythingItWasGiven) {
  auto in = headers({{"x-request-id", "r"}, {"traceparent", "t"}, {"user-agent", "curl"}, {"x-custom", "c"}});
  PropagatedHeaders p = propagate_headers(HeaderPropagation::none(), in);
  EXPECT_TRUE(p.headers.empty());
  EXPECT_TRUE(p.forwarded.empty());
  EXPECT_EQ(names(p.carried), "x-request-id,traceparent,user-agent");
  EXPECT_EQ(names(p.dropped), "x-request-id,traceparent,user-agent");
}

TEST(Propagation, AListForwardsExactlyItsNamesCaseInsensitively) {
  auto policy = HeaderPropagation::list({"X-Request-ID", "x-user", "x-request-id", "traceparent"});
  EXPECT_EQ(policy.text, "[x-request-id, x-user, traceparent]");
  auto in = headers({{"x-request-id", "r"}, {"X-User", "jason"}, {"x-b3-traceid", k16}, {"x-other", "o"}});
  PropagatedHeaders p = propagate_headers(policy, in);
  EXPECT_EQ(names(p.forwarded), "x-request-id,x-user");  // traceparent was not there
  EXPECT_EQ(p.headers[1], (std::pair<std::string, std::string>{"x-user", "jason"}));
  EXPECT_EQ(names(p.carried), "x-request-id,x-user,x-b3-traceid");
  EXPECT_EQ(names(p.dropped), "x-b3-traceid");
}

}  // namespace
}  // namespace meshsim::sim::apps
