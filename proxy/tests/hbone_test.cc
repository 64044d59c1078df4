// HBONE codec (proxy/http/hbone.h): a client and a server HboneConnection
// wired back to back. The CONNECT reaches the server with its authority and
// headers, 200 opens the tunnel, bytes flow both ways in DATA frames,
// END_STREAM half-closes each direction, an error status ends the stream,
// and several tunnels share one connection.
#include "proxy/http/hbone.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace meshsim::proxy::http {
// Named, not anonymous: in a unity build this file shares a translation unit with
// other tests whose file-local helpers have the same names.
namespace hbone_test {

using K = HboneConnection::Event::Kind;

struct Pair {
  HboneConnection client{HboneConnection::Role::kClient};
  HboneConnection server{HboneConnection::Role::kServer};
  std::vector<HboneConnection::Event> to_server, to_client;

  void pump(std::string c2s, std::string s2c = {}) {
    for (int i = 0; i < 10 && (!c2s.empty() || !s2c.empty()); ++i) {
      std::string next_s2c, next_c2s;
      if (!c2s.empty()) {
        EXPECT_TRUE(server.feed(c2s)) << server.error();
        server.drain_output(next_s2c);
      }
      s2c += next_s2c;
      if (!s2c.empty()) {
        EXPECT_TRUE(client.feed(s2c)) << client.error();
        client.drain_output(next_c2s);
      }
      c2s = next_c2s;
      s2c.clear();
    }
    HboneConnection::Event e;
    while (server.next_event(e)) to_server.push_back(e);
    while (client.next_event(e)) to_client.push_back(e);
  }
};

TEST(Hbone, ConnectTunnelCarriesBytesBothWaysAndHalfCloses) {
  Pair p;
  std::string out;
  uint32_t id = p.client.open("10.244.1.5:8080", {{"forwarded", "for=\"10.244.0.3:40001\""}}, out);
  ASSERT_EQ(id, 1u);
  EXPECT_EQ(out.substr(0, 24), "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
  p.pump(out);
  ASSERT_EQ(p.to_server.size(), 1u);
  EXPECT_EQ(p.to_server[0].kind, K::kConnect);
  EXPECT_EQ(p.to_server[0].method, "CONNECT");
  EXPECT_EQ(p.to_server[0].authority, "10.244.1.5:8080");
  ASSERT_EQ(p.to_server[0].headers.size(), 1u);
  EXPECT_EQ(p.to_server[0].headers[0].first, "forwarded");
  p.to_server.clear();

  std::string s;
  p.server.respond(id, 200, s);
  p.pump({}, s);
  ASSERT_EQ(p.to_client.size(), 1u);
  EXPECT_EQ(p.to_client[0].kind, K::kResponse);
  EXPECT_EQ(p.to_client[0].status, 200);
  p.to_client.clear();

  out.clear();
  p.client.write(id, "GET / HTTP/1.1\r\n\r\n", out);
  p.client.close_stream(id, out);
  p.pump(out);
  ASSERT_EQ(p.to_server.size(), 2u);
  EXPECT_EQ(p.to_server[0].kind, K::kData);
  EXPECT_EQ(p.to_server[0].data, "GET / HTTP/1.1\r\n\r\n");
  EXPECT_EQ(p.to_server[1].kind, K::kEnd);

  s.clear();
  p.server.write(id, "HTTP/1.1 200 OK\r\n\r\n", s);
  p.server.close_stream(id, s);
  p.pump({}, s);
  ASSERT_EQ(p.to_client.size(), 2u);
  EXPECT_EQ(p.to_client[0].data, "HTTP/1.1 200 OK\r\n\r\n");
  EXPECT_EQ(p.to_client[1].kind, K::kEnd);
  EXPECT_EQ(p.client.active_streams(), 0u);
}

TEST(Hbone, ErrorStatusEndsTheStreamAndStreamsShareAConnection) {
  Pair p;
  std::string out;
  uint32_t a = p.client.open("10.0.0.1:80", {}, out);
  uint32_t b = p.client.open("10.0.0.1:81", {}, out);
  EXPECT_EQ(a, 1u);
  EXPECT_EQ(b, 3u);
  p.pump(out);
  ASSERT_EQ(p.to_server.size(), 2u);
  EXPECT_EQ(p.to_server[1].authority, "10.0.0.1:81");
  std::string s;
  p.server.respond(a, 401, s);
  p.server.respond(b, 200, s);
  p.pump({}, s);
  ASSERT_GE(p.to_client.size(), 3u);
  EXPECT_EQ(p.to_client[0].status, 401);
  EXPECT_EQ(p.to_client[1].kind, K::kEnd);
  EXPECT_EQ(p.to_client[2].status, 200);
  // The refused stream is half-closed until the client cancels it.
  EXPECT_TRUE(p.client.stream_open(a));
  out.clear();
  p.client.reset_stream(a, 0x8, out);
  p.pump(out);
  EXPECT_FALSE(p.client.stream_open(a));
  EXPECT_EQ(p.client.active_streams(), 1u);
  EXPECT_EQ(p.server.active_streams(), 1u);
  // A big write is split into frames and reassembled in order.
  std::string big(300000, 'x');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
  out.clear();
  p.client.write(b, big, out);
  p.to_server.clear();
  p.pump(out);
  std::string got;
  for (const auto& e : p.to_server)
    if (e.kind == K::kData) got += e.data;
  EXPECT_EQ(got, big);
}

}  // namespace hbone_test
}  // namespace meshsim::proxy::http
