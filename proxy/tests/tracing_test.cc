// The tracing room against the rules of Envoy's UUID request-id extension,
// mutateTracingRequestHeader, the Zipkin B3 extractor/injector and the W3C
// traceparent codec (docs/istio/telemetry.md §1, §3, §5).
#include <gtest/gtest.h>

#include "proxy/http/message.h"
#include "proxy/tests/fake_io.h"
#include "proxy/tracing/tracer.h"

namespace meshsim::proxy::tracing {
namespace {

using testing::FakeIo;

TEST(RequestId, NewIdsAreVersion4WithTheVariantBits) {
  char buf[kUuidLength];
  std::string_view id = format_uuid(0xffffffffffffffffULL, 0xffffffffffffffffULL, buf);
  ASSERT_EQ(id.size(), 36u);
  EXPECT_EQ(id[8], '-');
  EXPECT_EQ(id[14], '4');  // the version nibble carries the trace reason
  EXPECT_EQ(id[19], 'b');  // 10xx: 8, 9, a or b
  EXPECT_EQ(std::string(format_uuid(0, 0, buf)), "00000000-0000-4000-8000-000000000000");
}

TEST(RequestId, TheReasonIsCharacterFourteenOfA36CharacterId) {
  EXPECT_EQ(trace_reason("4b1a0c2e-7f3d-9c11-8a2b-1c2d3e4f5a6b"), Reason::kSampling);
  EXPECT_EQ(trace_reason("4b1a0c2e-7f3d-ac11-8a2b-1c2d3e4f5a6b"), Reason::kServiceForced);
  EXPECT_EQ(trace_reason("4b1a0c2e-7f3d-bc11-8a2b-1c2d3e4f5a6b"), Reason::kClientForced);
  EXPECT_EQ(trace_reason("4b1a0c2e-7f3d-4c11-8a2b-1c2d3e4f5a6b"), Reason::kNotTraceable);
  EXPECT_EQ(trace_reason("4b1a0c2e-7f3d-9c11-8a2b-1c2d3e4f5a6"), Reason::kNotTraceable);  // 35 characters
  char buf[kUuidLength];
  auto marked = with_trace_reason("4b1a0c2e-7f3d-4c11-8a2b-1c2d3e4f5a6b", Reason::kSampling, buf);
  ASSERT_TRUE(marked);
  EXPECT_EQ(*marked, "4b1a0c2e-7f3d-9c11-8a2b-1c2d3e4f5a6b");
  EXPECT_FALSE(with_trace_reason("abc", Reason::kSampling, buf));
}

TEST(RequestId, TheIntegerIsTheFirstEightHexDigits) {
  EXPECT_EQ(request_id_integer("0000ffff-7f3d-4c11-8a2b-1c2d3e4f5a6b"), 0xffffu);
  EXPECT_EQ(request_id_integer("abc"), 0xabcu);           // short ids still parse
  EXPECT_FALSE(request_id_integer("xyz12345-"));          // not hex
  EXPECT_FALSE(request_id_integer(""));
  EXPECT_EQ(request_id_integer("12345678zz"), 0x12345678u);  // only the first eight are read
}

TracingConfig zipkin(uint32_t per_10000) {
  TracingConfig c;
  c.provider = TracingConfig::Provider::kZipkin;
  c.random_sampling = per_10000;
  return c;
}

TEST(Decision, SampledIffTheIdModTenThousandIsBelowTheNumerator) {
  FakeIo io;
  TracingConfig c = zipkin(100);  // 1%
  // 0x00000063 = 99 → sampled; 0x00000064 = 100 → not.
  http::Headers h;
  h.set("x-request-id", "00000063-0000-4000-8000-000000000000");
  EXPECT_EQ(decide(h, c, io), Reason::kSampling);
  EXPECT_EQ(*h.get("x-request-id"), "00000063-0000-9000-8000-000000000000");
  h.set("x-request-id", "00000064-0000-4000-8000-000000000000");
  EXPECT_EQ(decide(h, c, io), Reason::kNotTraceable);
  EXPECT_EQ(*h.get("x-request-id"), "00000064-0000-4000-8000-000000000000");
  // 0x2773 = 10099 wraps to 99.
  h.set("x-request-id", "00002773-0000-4000-8000-000000000000");
  EXPECT_EQ(decide(h, c, io), Reason::kSampling);
}

TEST(Decision, AnIncomingDecisionIsHonouredWithoutANewDraw) {
  FakeIo io;
  TracingConfig c = zipkin(0);
  http::Headers h;
  h.set("x-request-id", "00000064-0000-9000-8000-000000000000");
  EXPECT_EQ(decide(h, c, io), Reason::kSampling);
  TracingConfig all = zipkin(10000);
  all.overall_sampling = 0;  // overall_sampling vetoes and writes 4 back
  EXPECT_EQ(decide(h, all, io), Reason::kNotTraceable);
  EXPECT_EQ(h.get("x-request-id")->at(14), '4');
}

TEST(Decision, ClientTraceIdForcesAndNoIdIsNotTraceable) {
  FakeIo io;
  TracingConfig c = zipkin(0);
  http::Headers h;
  EXPECT_EQ(decide(h, c, io), Reason::kNotTraceable);
  h.set("x-request-id", "00000064-0000-4000-8000-000000000000");
  h.set("x-client-trace-id", "abc");
  EXPECT_EQ(decide(h, c, io), Reason::kClientForced);
  EXPECT_EQ(h.get("x-request-id")->at(14), 'b');
}

TEST(B3, SampledFlagComesFromB3SingleByLengthElseXB3Sampled) {
  http::Headers h;
  EXPECT_FALSE(b3_sampled(h));
  h.set("x-b3-sampled", "0");
  EXPECT_EQ(b3_sampled(h), false);
  h.set("x-b3-sampled", "true");
  EXPECT_EQ(b3_sampled(h), true);
  h.set("x-b3-sampled", "True");  // only 1 and true count
  EXPECT_EQ(b3_sampled(h), false);
  h.set("b3", "80f198ee56343ba8-e457b5a2e4d86bd1-0");  // 35: flag at [34] wins over x-b3-sampled
  EXPECT_EQ(b3_sampled(h), false);
  h.set("b3", "d");
  EXPECT_EQ(b3_sampled(h), true);
  h.set("b3", "80f198ee56343ba8-e457b5a2e4d86bd1");  // 33: no flag → the local decision
  EXPECT_FALSE(b3_sampled(h));
}

TEST(B3, ContextFromMultiAndSingleHeaders) {
  SpanContext c;
  http::Headers h;
  EXPECT_EQ(b3_context(h, true, &c), Extracted::kNone);
  h.set("x-b3-traceid", "463ac35c9f6413ad48485a3953bb6124");
  EXPECT_EQ(b3_context(h, true, &c), Extracted::kNone);  // span id missing
  h.set("x-b3-spanid", "a2fb4a1d1a96d312");
  ASSERT_EQ(b3_context(h, true, &c), Extracted::kContext);
  EXPECT_EQ(c.trace_id_high, 0x463ac35c9f6413adULL);
  EXPECT_EQ(c.trace_id, 0x48485a3953bb6124ULL);
  EXPECT_EQ(c.span_id, 0xa2fb4a1d1a96d312ULL);
  EXPECT_FALSE(c.has_parent);
  h.set("x-b3-parentspanid", "not-hex");
  EXPECT_EQ(b3_context(h, true, &c), Extracted::kInvalid);

  http::Headers s;
  s.set("b3", "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90");
  ASSERT_EQ(b3_context(s, false, &c), Extracted::kContext);
  EXPECT_EQ(c.trace_id_high, 0x80f198ee56343ba8ULL);
  EXPECT_EQ(c.parent_id, 0x05e3ac9a4f6e3b90ULL);
  EXPECT_TRUE(c.has_parent);
  EXPECT_FALSE(c.sampled);  // the flag is the caller's (extractSampled)
  s.set("b3", "80f198ee56343ba8-e457b5a2e4d86bd1-x");
  EXPECT_EQ(b3_context(s, false, &c), Extracted::kInvalid);
  s.set("b3", "1");
  EXPECT_EQ(b3_context(s, false, &c), Extracted::kNone);
  s.set("b3", "x");
  EXPECT_EQ(b3_context(s, false, &c), Extracted::kInvalid);
}

TEST(Span, RootSpanIdIsTheLowTraceIdAndChildrenKeepTheTrace) {
  FakeIo io;
  TracingConfig c = zipkin(10000);
  http::Headers h;
  ActiveSpan root;
  start_span(root, c, h, Reason::kSampling, true, "reviews:9080", Duration::millis(5), io);
  ASSERT_TRUE(root.live());
  EXPECT_TRUE(root.client);
  EXPECT_EQ(root.name, "egress reviews:9080");
  EXPECT_EQ(root.context.trace_id, root.context.span_id);
  EXPECT_NE(root.context.trace_id_high, 0u);
  EXPECT_FALSE(root.context.has_parent);
  EXPECT_TRUE(root.context.sampled);

  http::Headers up;
  inject(root, c, up);
  EXPECT_EQ(up.get("x-b3-traceid")->size(), 32u);
  EXPECT_EQ(*up.get("x-b3-sampled"), "1");
  EXPECT_FALSE(up.has("x-b3-parentspanid"));
  EXPECT_FALSE(up.has("b3"));

  ActiveSpan server;
  start_span(server, c, up, Reason::kNotTraceable, false, "", Duration::millis(6), io);
  ASSERT_TRUE(server.live());
  EXPECT_FALSE(server.client);
  EXPECT_EQ(server.name, "ingress");
  EXPECT_EQ(server.context.trace_id, root.context.trace_id);
  EXPECT_EQ(server.context.trace_id_high, root.context.trace_id_high);
  EXPECT_EQ(server.context.parent_id, root.context.span_id);
  EXPECT_NE(server.context.span_id, root.context.span_id);
  EXPECT_TRUE(server.context.sampled);  // x-b3-sampled: 1 wins over the local decision
}

TEST(Span, XB3SampledZeroSuppressesAndAMalformedContextIsANullSpan) {
  FakeIo io;
  TracingConfig c = zipkin(10000);
  http::Headers h;
  h.set("x-b3-sampled", "0");
  ActiveSpan s;
  start_span(s, c, h, Reason::kSampling, true, "a", Duration::zero(), io);
  ASSERT_TRUE(s.live());
  EXPECT_FALSE(s.context.sampled);
  http::Headers up;
  inject(s, c, up);
  EXPECT_EQ(*up.get("x-b3-sampled"), "0");  // always written

  h.set("x-b3-traceid", "zz");
  h.set("x-b3-spanid", "a2fb4a1d1a96d312");
  start_span(s, c, h, Reason::kSampling, true, "a", Duration::zero(), io);
  EXPECT_EQ(s.state, ActiveSpan::State::kNull);
  http::Headers none;
  inject(s, c, none);
  EXPECT_TRUE(none.empty());

  TracingConfig no_tracer;  // a tracing block without a tracer
  start_span(s, no_tracer, http::Headers{}, Reason::kSampling, true, "a", Duration::zero(), io);
  EXPECT_EQ(s.state, ActiveSpan::State::kNull);
}

TEST(W3c, TraceparentRoundTripsAndRejectsZeroIds) {
  FakeIo io;
  TracingConfig c;
  c.provider = TracingConfig::Provider::kOpenTelemetry;
  http::Headers h;
  h.set("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
  h.set("tracestate", "congo=t61rcWkgMzE");
  ActiveSpan s;
  start_span(s, c, h, Reason::kNotTraceable, false, "", Duration::zero(), io);
  ASSERT_TRUE(s.live());
  EXPECT_EQ(s.context.trace_id_high, 0x0af7651916cd43ddULL);
  EXPECT_EQ(s.context.parent_id, 0xb7ad6b7169203331ULL);
  EXPECT_TRUE(s.context.sampled);
  http::Headers up;
  inject(s, c, up);
  std::string tp(*up.get("traceparent"));
  EXPECT_EQ(tp.substr(0, 36), "00-0af7651916cd43dd8448eb211c80319c-");
  EXPECT_EQ(tp.substr(52), "-01");
  EXPECT_EQ(*up.get("tracestate"), "congo=t61rcWkgMzE");
  EXPECT_FALSE(up.has("x-b3-traceid"));
  h.set("traceparent", "00-00000000000000000000000000000000-b7ad6b7169203331-01");
  start_span(s, c, h, Reason::kNotTraceable, false, "", Duration::zero(), io);
  EXPECT_EQ(s.state, ActiveSpan::State::kNull);
}

TEST(Tags, FinalizeDownstreamSpanTagsSortedWithoutEmptyValues) {
  TracingConfig c = zipkin(100);
  c.custom_tags = {{"istio.canonical_service", "reviews"}};
  c.max_path_tag_length = 8;
  SpanFacts f;
  f.node_id = "sidecar~10.0.0.1~a.default~default.svc.cluster.local";
  f.request_id = "id";
  f.scheme = "http";
  f.authority = "reviews:9080";
  f.path = "/reviews/0?x=1";
  f.method = "GET";
  f.protocol = "HTTP/1.1";
  f.peer_address = "10.0.0.1";
  f.upstream_cluster = "outbound|9080||reviews.default.svc.cluster.local";
  f.status = 503;
  f.response_flags = "UF";
  std::vector<Tag> t;
  span_tags(f, c, t);
  ASSERT_TRUE(std::is_sorted(t.begin(), t.end()));
  auto get = [&](std::string_view k) -> std::string {
    for (auto& [a, b] : t)
      if (a == k) return b;
    return "<none>";
  };
  EXPECT_EQ(get("http.url"), "http://reviews:9080/reviews");  // path cut to max_path_tag_length
  EXPECT_EQ(get("error"), "true");
  EXPECT_EQ(get("zone"), "<none>");  // empty values are dropped
  EXPECT_EQ(get("user_agent"), "-");
  EXPECT_EQ(get("component"), "proxy");
  EXPECT_EQ(get("istio.canonical_service"), "reviews");
  EXPECT_EQ(get("http.status_code"), "503");
}

}  // namespace
}  // namespace meshsim::proxy::tracing
