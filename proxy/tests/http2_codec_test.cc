// The HTTP/2 codecs on nghttp2, client against server in memory: requests
// and responses across the pseudo-headers, multiplexed streams answered out
// of order, trailers, flow control with a small window, RST_STREAM both
// ways, GOAWAY, PING, and protocol errors.
#include "proxy/http/http2_codec.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace meshsim::proxy::http {
namespace {

struct Pair {
  Http2ClientCodec client;
  Http2ServerCodec server;
  std::string c2s, s2c;

  explicit Pair(const Http2Settings& cs = {}, const Http2Settings& ss = {}) : client(cs), server(ss) {}

  // Moves bytes both ways until neither side has anything to say.
  void pump() {
    for (int i = 0; i < 64; ++i) {
      client.drain_output(c2s);
      if (!c2s.empty()) {
        std::string b;
        b.swap(c2s);
        server.feed(b);
      }
      server.drain_output(s2c);
      if (!s2c.empty()) {
        std::string b;
        b.swap(s2c);
        ASSERT_TRUE(client.feed(b)) << client.error();
      }
      std::string probe_c, probe_s;
      client.drain_output(probe_c);
      server.drain_output(probe_s);
      if (probe_c.empty() && probe_s.empty()) return;
      c2s += probe_c;
      s2c += probe_s;
    }
  }
};

Request get(std::string_view path, std::string_view host = "reviews.default.svc.cluster.local:9080") {
  Request r;
  r.method = "GET";
  r.target = std::string(path);
  r.headers.add("host", host);
  r.headers.add("user-agent", "curl/8.5.0");
  r.headers.add("Connection", "keep-alive");  // connection-specific: dropped on HTTP/2
  return r;
}

TEST(Http2Codec, RequestCrossesAsPseudoHeadersAndComesBackWithStatusAndBody) {
  Pair p;
  StreamId id = p.client.submit(get("/ratings/1?x=y"), false, p.c2s);
  ASSERT_EQ(id, 1u);
  EXPECT_EQ(p.c2s.substr(0, kH2ClientPreface.size()), kH2ClientPreface);  // nghttp2 wrote the preface
  p.pump();
  ASSERT_EQ(p.server.next(), ParseStatus::kComplete);
  Request got;
  EXPECT_EQ(p.server.take_into(got), 1u);
  EXPECT_EQ(got.version, 20);
  EXPECT_EQ(got.method, "GET");
  EXPECT_EQ(got.target, "/ratings/1?x=y");
  EXPECT_EQ(got.host(), "reviews.default.svc.cluster.local:9080");
  EXPECT_EQ(got.headers.get("user-agent").value_or(""), "curl/8.5.0");
  EXPECT_FALSE(got.headers.has("connection"));
  EXPECT_GT(p.server.request_wire_bytes(), 9u);
  EXPECT_EQ(p.server.next(), ParseStatus::kNeedMore);

  Response r;
  r.status = 201;
  r.headers.add("Content-Type", "text/plain");  // lower-cased on the wire
  r.body = "hello";
  p.server.encode(1, r, p.s2c);
  p.pump();
  Http2ClientCodec::Event e;
  ASSERT_TRUE(p.client.next_event(e));
  EXPECT_EQ(e.kind, Http2ClientCodec::Event::Kind::kResponse);
  EXPECT_EQ(e.stream, 1u);
  Response back;
  p.client.take_response(1, back);
  EXPECT_EQ(back.status, 201);
  EXPECT_EQ(back.version, 20);
  EXPECT_EQ(back.headers.get("content-type").value_or(""), "text/plain");
  EXPECT_EQ(back.body, "hello");
  EXPECT_FALSE(p.client.next_event(e));
  EXPECT_EQ(p.client.active_streams(), 0u);
}

TEST(Http2Codec, StreamsAreMultiplexedAndAnsweredOutOfOrder) {
  Pair p;
  std::vector<StreamId> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(p.client.submit(get("/s/" + std::to_string(i)), false, p.c2s));
  EXPECT_EQ(ids, (std::vector<StreamId>{1, 3, 5, 7, 9}));
  p.pump();
  std::vector<std::pair<StreamId, std::string>> reqs;
  while (p.server.next() == ParseStatus::kComplete) {
    Request r;
    StreamId id = p.server.take_into(r);
    reqs.emplace_back(id, r.target);
  }
  ASSERT_EQ(reqs.size(), 5u);
  EXPECT_EQ(reqs[2].second, "/s/2");
  // Answer in reverse.
  for (size_t i = reqs.size(); i-- > 0;) {
    Response r;
    r.body = reqs[i].second;
    p.server.encode(reqs[i].first, r, p.s2c);
  }
  p.pump();
  std::vector<StreamId> order;
  Http2ClientCodec::Event e;
  while (p.client.next_event(e)) {
    ASSERT_EQ(e.kind, Http2ClientCodec::Event::Kind::kResponse);
    Response r;
    p.client.take_response(e.stream, r);
    EXPECT_EQ(r.body, "/s/" + std::to_string((e.stream - 1) / 2));
    order.push_back(e.stream);
  }
  EXPECT_EQ(order, (std::vector<StreamId>{9, 7, 5, 3, 1}));
}

TEST(Http2Codec, TrailersFollowTheBody) {
  Pair p;
  Request rq = get("/grpc.health.v1.Health/Check");
  rq.method = "POST";
  rq.headers.add("content-type", "application/grpc");
  rq.headers.add("te", "trailers");
  rq.body = std::string("\0\0\0\0\0", 5);
  p.client.submit(rq, true, p.c2s);
  p.pump();
  Request got;
  ASSERT_EQ(p.server.next(), ParseStatus::kComplete);
  StreamId id = p.server.take_into(got);
  EXPECT_EQ(got.body.size(), 5u);
  EXPECT_EQ(got.headers.get("te").value_or(""), "trailers");  // "te: trailers" is allowed
  Response r;
  r.headers.add("content-type", "application/grpc");
  r.body = std::string("\0\0\0\0\x02\x08\x01", 7);
  r.trailers.add("grpc-status", "0");
  r.trailers.add("grpc-message", "");
  p.server.encode(id, r, p.s2c);
  p.pump();
  Http2ClientCodec::Event e;
  ASSERT_TRUE(p.client.next_event(e));
  Response back;
  p.client.take_response(e.stream, back);
  EXPECT_EQ(back.body, r.body);
  EXPECT_EQ(back.trailers.get("grpc-status").value_or("?"), "0");
  EXPECT_FALSE(back.headers.has("grpc-status"));
}

TEST(Http2Codec, TrailersOnlyResponseCarriesGrpcStatusInHeaders) {
  Pair p;
  StreamId id = p.client.submit(get("/x"), false, p.c2s);
  p.pump();
  Request got;
  p.server.take_into(got);
  Response r;
  r.headers.add("content-type", "application/grpc");
  r.headers.add("grpc-status", "14");
  p.server.encode(id, r, p.s2c);
  p.pump();
  Http2ClientCodec::Event e;
  ASSERT_TRUE(p.client.next_event(e));
  Response back;
  p.client.take_response(e.stream, back);
  EXPECT_EQ(back.headers.get("grpc-status").value_or(""), "14");
  EXPECT_TRUE(back.body.empty());
}

TEST(Http2Codec, LargeBodiesWaitForWindowUpdatesWithASmallWindow) {
  Http2Settings small;
  small.initial_stream_window_size = 16384;
  small.initial_connection_window_size = 65535;
  Pair p(small, {});
  p.client.submit(get("/big"), false, p.c2s);
  p.pump();
  Request got;
  StreamId id = p.server.take_into(got);
  Response r;
  r.body.assign(200000, 'x');
  p.server.encode(id, r, p.s2c);
  // The first flight is limited by the client's 16 KiB stream window.
  EXPECT_LT(p.s2c.size(), 20000u);
  p.pump();
  Http2ClientCodec::Event e;
  ASSERT_TRUE(p.client.next_event(e));
  Response back;
  p.client.take_response(e.stream, back);
  EXPECT_EQ(back.body.size(), 200000u);
}

TEST(Http2Codec, ClientResetReachesTheServerAsAResetStream) {
  Pair p;
  StreamId a = p.client.submit(get("/a"), false, p.c2s);
  StreamId b = p.client.submit(get("/b"), false, p.c2s);
  p.pump();
  Request r1, r2;
  p.server.take_into(r1);
  p.server.take_into(r2);
  p.client.reset_stream(a, kH2Cancel, p.c2s);
  p.pump();
  StreamId reset = 0;
  uint32_t code = 99;
  ASSERT_TRUE(p.server.take_reset(reset, code));
  EXPECT_EQ(reset, a);
  EXPECT_EQ(code, kH2Cancel);
  EXPECT_FALSE(p.server.take_reset(reset, code));
  // The other stream is unaffected; an answer to the reset one is dropped.
  Response ra, rb;
  ra.body = "late";
  rb.body = "b";
  p.server.encode(a, ra, p.s2c);
  p.server.encode(b, rb, p.s2c);
  p.pump();
  Http2ClientCodec::Event e;
  ASSERT_TRUE(p.client.next_event(e));
  EXPECT_EQ(e.stream, b);
  EXPECT_FALSE(p.client.next_event(e));
}

TEST(Http2Codec, ServerResetIsAResetEventWithItsCode) {
  Pair p;
  StreamId id = p.client.submit(get("/a"), false, p.c2s);
  p.pump();
  Request r;
  p.server.take_into(r);
  p.server.reset_stream(id, kH2RefusedStream, p.s2c);
  p.pump();
  Http2ClientCodec::Event e;
  ASSERT_TRUE(p.client.next_event(e));
  EXPECT_EQ(e.kind, Http2ClientCodec::Event::Kind::kReset);
  EXPECT_EQ(e.error_code, kH2RefusedStream);
  EXPECT_STREQ(h2_error_name(e.error_code), "REFUSED_STREAM");
}

TEST(Http2Codec, GoawayRefusesNewStreamsButLetsProcessedOnesFinish) {
  Pair p;
  StreamId id = p.client.submit(get("/a"), false, p.c2s);
  p.pump();
  Request r;
  p.server.take_into(r);
  p.server.shutdown(p.s2c);
  p.pump();
  EXPECT_TRUE(p.client.goaway_received());
  EXPECT_EQ(p.client.goaway_last_stream(), id);
  EXPECT_EQ(p.client.submit(get("/b"), false, p.c2s), 0u);
  Response resp;
  p.server.encode(id, resp, p.s2c);
  p.pump();
  Http2ClientCodec::Event e;
  ASSERT_TRUE(p.client.next_event(e));
  EXPECT_EQ(e.kind, Http2ClientCodec::Event::Kind::kResponse);
}

TEST(Http2Codec, PingIsAcknowledgedByTheCodec) {
  Pair p;
  p.client.submit(get("/a"), false, p.c2s);
  p.pump();
  // A PING frame (type 6, stream 0, 8 opaque bytes) as a peer would send it.
  std::string ping("\x00\x00\x08\x06\x00\x00\x00\x00\x00" "ABCDEFGH", 17);
  p.server.feed(ping);
  std::string out;
  p.server.drain_output(out);
  // The ACK: the same payload with flag 0x1.
  std::string ack("\x00\x00\x08\x06\x01\x00\x00\x00\x00" "ABCDEFGH", 17);
  EXPECT_NE(out.find(ack), std::string::npos);
}

TEST(Http2Codec, BadPrefaceIsAProtocolErrorWithGoaway) {
  Http2ServerCodec server;
  EXPECT_EQ(server.feed_next("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), ParseStatus::kError);
  EXPECT_FALSE(server.error().empty());
  std::string out;
  server.drain_output(out);
  EXPECT_TRUE(server.wants_close());
}

TEST(Http2Codec, ClientSeesServerSettings) {
  Http2Settings ss;
  ss.max_concurrent_streams = 7;
  Pair p({}, ss);
  p.client.submit(get("/a"), false, p.c2s);
  p.pump();
  EXPECT_EQ(p.client.peer_max_concurrent_streams(), 7u);
}

}  // namespace
}  // namespace meshsim::proxy::http
