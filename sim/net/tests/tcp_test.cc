// The behavioural virtual-TCP model: handshake timing, ordered delivery,
// half-close, refused / timeout / unreachable, reset, loss, jitter,
// partitions, node faults, capture redirection, kube-proxy, determinism.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "sim/net/network.h"
#include "sim/net/tests/net_fixture.h"
#include "sim/random.h"

namespace meshsim::sim {
namespace {

using testing::bytes_of;
using testing::NetFixture;
using testing::Recorder;

std::string random_bytes(size_t n, uint64_t seed) {
  RandomStream r(seed);
  std::string s(n, '\0');
  r.fill(reinterpret_cast<unsigned char*>(s.data()), n);
  return s;
}

class TcpTest : public NetFixture {};

TEST_F(TcpTest, HandshakeTakesOneRoundTripAndAcceptOneAndAHalf) {
  echo_server(server, 8080);
  Recorder rc;
  TcpSocket s = net.connect(client, {ip(server), 8080}, {}, rc.callbacks(sim));
  ASSERT_TRUE(s);
  sim.run();
  EXPECT_TRUE(rc.connected);
  EXPECT_EQ(rc.connected_at, 200_us);  // same zone: 100 us one way
  ASSERT_EQ(accepted.size(), 1u);
  auto info = net.info(s);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->local, (SocketAddress{ip(client), 32768}));
  EXPECT_EQ(info->remote, (SocketAddress{ip(server), 8080}));
  EXPECT_EQ(info->relation, Relation::kSameZone);
  EXPECT_EQ(accepted[0].remote, info->local);
  EXPECT_EQ(accepted[0].local, (SocketAddress{ip(server), 8080}));
  EXPECT_FALSE(accepted[0].original_dst);
}

TEST_F(TcpTest, EchoedBytesComeBackInOrderExactlyOnce) {
  echo_server(server, 8080);
  const std::string payload = random_bytes(1'000'000, 1);
  Recorder rc;
  TcpSocket s;
  TcpCallbacks cb = rc.callbacks(sim);
  cb.on_connected = [&] {
    // Uneven writes, from 1 byte to 200 kB.
    size_t off = 0, step = 1;
    while (off < payload.size()) {
      size_t n = std::min(step, payload.size() - off);
      net.send(s, bytes_of(payload.substr(off, n)));
      off += n;
      step = step * 7 % 200'003 + 1;
    }
    net.shutdown_write(s);
  };
  s = net.connect(client, {ip(server), 8080}, {}, cb);
  sim.run();
  EXPECT_EQ(rc.data.size(), payload.size());
  EXPECT_TRUE(rc.data == payload);
  EXPECT_TRUE(rc.fin);
  auto c = net.counters(s);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->bytes_sent, payload.size());
  EXPECT_EQ(c->bytes_received, payload.size());
}

TEST_F(TcpTest, CountersCountPayloadSegmentsAtMss) {
  TcpSocket srv;
  net.listen(server, {Ipv4::any(), 80}, [&](TcpSocket s, const ConnectionInfo&) {
    srv = s;
    return TcpCallbacks{};
  });
  TcpSocket s;
  TcpCallbacks cb;
  cb.on_connected = [&] { net.send(s, bytes_of(std::string(3000, 'x'))); };
  s = net.connect(client, {ip(server), 80}, {}, cb);
  sim.run();
  EXPECT_EQ(net.counters(s)->segments_sent, 3u);  // 1448 + 1448 + 104
  EXPECT_EQ(net.counters(srv)->segments_received, 3u);
  EXPECT_EQ(net.counters(srv)->bytes_received, 3000u);
}

TEST_F(TcpTest, AcceptedSocketWithoutCallbacksHoldsBytesUntilSetCallbacks) {
  TcpSocket srv;
  net.listen(server, {Ipv4::any(), 80}, [&](TcpSocket s, const ConnectionInfo&) {
    srv = s;
    return TcpCallbacks{};
  });
  TcpSocket s;
  TcpCallbacks cb;
  cb.on_connected = [&] {
    net.send(s, bytes_of("hello"));
    net.shutdown_write(s);
  };
  s = net.connect(client, {ip(server), 80}, {}, cb);
  sim.run_until(10_ms);
  Recorder rs;
  ASSERT_TRUE(net.set_callbacks(srv, rs.callbacks(sim)));
  sim.run();
  EXPECT_EQ(rs.data, "hello");
  EXPECT_TRUE(rs.fin);
}

TEST_F(TcpTest, DataWrittenBeforeTheHandshakeGoesOutAfterIt) {
  Recorder rs;
  net.listen(server, {Ipv4::any(), 80}, [&](TcpSocket, const ConnectionInfo&) { return rs.callbacks(sim); });
  Recorder rc;
  TcpSocket s = net.connect(client, {ip(server), 80}, {}, rc.callbacks(sim));
  EXPECT_TRUE(net.send(s, bytes_of("early")));
  EXPECT_TRUE(net.shutdown_write(s));
  sim.run();
  EXPECT_EQ(rs.data, "early");
  EXPECT_TRUE(rs.fin);
  EXPECT_GT(rs.last_data_at, 300_us);  // after the handshake
}

TEST_F(TcpTest, HalfCloseKeepsTheOtherDirectionOpen) {
  TcpSocket srv;
  Recorder rs;
  net.listen(server, {Ipv4::any(), 80}, [&](TcpSocket s, const ConnectionInfo&) {
    srv = s;
    TcpCallbacks cb = rs.callbacks(sim);
    cb.on_peer_fin = [&, s] {
      rs.fin = true;
      net.send(s, bytes_of("reply after your FIN"));
      net.close(s);
    };
    return cb;
  });
  Recorder rc;
  TcpSocket s;
  TcpCallbacks cb = rc.callbacks(sim);
  cb.on_connected = [&] {
    net.send(s, bytes_of("request"));
    net.shutdown_write(s);
    EXPECT_FALSE(net.send(s, bytes_of("too late")));
  };
  s = net.connect(client, {ip(server), 80}, {}, cb);
  sim.run();
  EXPECT_EQ(rs.data, "request");
  EXPECT_TRUE(rs.fin);
  EXPECT_EQ(rc.data, "reply after your FIN");
  EXPECT_TRUE(rc.fin);
  EXPECT_LE(rc.last_data_at, rc.fin_at);  // the FIN rides right behind the data
  EXPECT_TRUE(net.is_open(s));  // the client has not closed yet
  EXPECT_TRUE(net.close(s));
  EXPECT_FALSE(net.is_open(s));
  EXPECT_FALSE(net.send(s, bytes_of("x")));
  sim.run();
  EXPECT_EQ(net.open_connections(), 0u);
}

TEST_F(TcpTest, NoListenerMeansRefusedAfterOneRoundTrip) {
  Recorder rc;
  net.connect(client, {ip(server), 9999}, {}, rc.callbacks(sim));
  sim.run();
  ASSERT_TRUE(rc.failed);
  EXPECT_EQ(*rc.failed, ConnectError::kRefused);
  EXPECT_EQ(rc.failed_at, 200_us);
  EXPECT_FALSE(rc.connected);
  EXPECT_EQ(net.open_connections(), 0u);
}

TEST_F(TcpTest, ListenerBoundToLoopbackIsNotReachableFromOtherPods) {
  net.listen(server, {Ipv4::loopback(), 15000}, [](TcpSocket, const ConnectionInfo&) { return TcpCallbacks{}; });
  Recorder remote, local;
  net.connect(client, {ip(server), 15000}, {}, remote.callbacks(sim));
  net.connect(server, {Ipv4::loopback(), 15000}, {}, local.callbacks(sim));
  sim.run();
  EXPECT_EQ(remote.failed, ConnectError::kRefused);
  EXPECT_TRUE(local.connected);
}

TEST_F(TcpTest, ListenerCanCloseItselfFromItsAcceptHandler) {
  ListenerId id;
  int accepts = 0;
  id = net.listen(server, {Ipv4::any(), 80}, [&](TcpSocket, const ConnectionInfo&) {
    ++accepts;
    EXPECT_TRUE(net.close_listener(id));
    return TcpCallbacks{};
  });
  Recorder first, second;
  net.connect(client, {ip(server), 80}, {}, first.callbacks(sim));
  sim.run();
  net.connect(client, {ip(server), 80}, {}, second.callbacks(sim));
  sim.run();
  EXPECT_EQ(accepts, 1);
  EXPECT_TRUE(first.connected);
  EXPECT_EQ(second.failed, ConnectError::kRefused);
  EXPECT_FALSE(net.close_listener(id));
  // The port is free again.
  EXPECT_TRUE(net.listen(server, {Ipv4::any(), 80}, [](TcpSocket, const ConnectionInfo&) { return TcpCallbacks{}; }));
}

TEST_F(TcpTest, UnknownAddressIsUnreachableAtOnce) {
  Recorder rc;
  net.connect(client, {Ipv4::of(192, 0, 2, 1), 80}, {}, rc.callbacks(sim));
  sim.run();
  EXPECT_EQ(rc.failed, ConnectError::kUnreachable);
  EXPECT_EQ(rc.failed_at, Time::zero());
}

TEST_F(TcpTest, SynIntoAPartitionTimesOutAtTheConnectTimeout) {
  echo_server(server, 80);
  net.partition({{}, {client}}, {{net.topology().find_node("node-b")}, {}});
  EXPECT_TRUE(net.path_blocked(client, server));
  EXPECT_TRUE(net.path_blocked(server, client));
  EXPECT_FALSE(net.path_blocked(client, neighbour));
  Recorder rc;
  ConnectOptions o;
  o.connect_timeout = 10_s;
  net.connect(client, {ip(server), 80}, o, rc.callbacks(sim));
  sim.run();
  EXPECT_EQ(rc.failed, ConnectError::kTimeout);
  EXPECT_EQ(rc.failed_at, 10_s);
}

TEST_F(TcpTest, KernelGivesUpOnSynsAfter127Seconds) {
  net.partition({{}, {client}}, {{}, {server}});
  Recorder rc;
  net.connect(client, {ip(server), 80}, {}, rc.callbacks(sim));
  sim.run();
  EXPECT_EQ(rc.failed, ConnectError::kTimeout);
  EXPECT_EQ(rc.failed_at, 127_s);
}

TEST_F(TcpTest, SynRetransmissionGetsThroughAfterTheHeal) {
  echo_server(server, 80);
  uint32_t p = net.partition({{}, {client}}, {{}, {server}});
  sim.schedule_at(2500_ms, sim.actor("test"), sim.kind("heal"), [&] { net.heal(p); });
  Recorder rc;
  net.connect(client, {ip(server), 80}, {}, rc.callbacks(sim));
  sim.run();
  EXPECT_TRUE(rc.connected);
  // SYNs at 0, 1 s, 3 s: the third gets through.
  EXPECT_EQ(rc.connected_at, 3_s + 200_us);
}

TEST_F(TcpTest, ResetReachesThePeerAfterOneWayLatency) {
  TcpSocket srv;
  net.listen(server, {Ipv4::any(), 80}, [&](TcpSocket s, const ConnectionInfo&) {
    srv = s;
    return TcpCallbacks{};
  });
  Recorder rc;
  TcpSocket s = net.connect(client, {ip(server), 80}, {}, rc.callbacks(sim));
  sim.run_until(1_ms);
  ASSERT_TRUE(srv);
  EXPECT_TRUE(net.reset(srv));
  EXPECT_FALSE(net.is_open(srv));
  sim.run();
  EXPECT_EQ(rc.reset, ResetReason::kPeerReset);
  EXPECT_EQ(rc.reset_at, 1_ms + 100_us);
  EXPECT_FALSE(net.is_open(s));
  EXPECT_EQ(net.open_connections(), 0u);
}

TEST_F(TcpTest, DataToAClosedSocketIsAnsweredWithReset) {
  net.listen(server, {Ipv4::any(), 80}, [&](TcpSocket s, const ConnectionInfo&) {
    net.close(s);  // closes at once
    return TcpCallbacks{};
  });
  Recorder rc;
  TcpSocket s;
  TcpCallbacks cb = rc.callbacks(sim);
  cb.on_peer_fin = [&] {
    rc.fin = true;
    net.send(s, bytes_of("anyone there?"));
  };
  s = net.connect(client, {ip(server), 80}, {}, cb);
  sim.run();
  EXPECT_TRUE(rc.fin);
  EXPECT_EQ(rc.reset, ResetReason::kPeerReset);
}

TEST_F(TcpTest, CloseWithUnreadBytesSendsResetInsteadOfFin) {
  TcpSocket srv;
  net.listen(server, {Ipv4::any(), 80}, [&](TcpSocket s, const ConnectionInfo&) {
    srv = s;
    return TcpCallbacks{};  // never reads
  });
  Recorder rc;
  TcpSocket s;
  TcpCallbacks cb = rc.callbacks(sim);
  cb.on_connected = [&] { net.send(s, bytes_of("unread")); };
  s = net.connect(client, {ip(server), 80}, {}, cb);
  sim.run_until(5_ms);
  net.close(srv);
  sim.run();
  EXPECT_EQ(rc.reset, ResetReason::kPeerReset);
  EXPECT_FALSE(rc.fin);
}

TEST_F(TcpTest, NodeRestartResetsPeersThatSendAgain) {
  echo_server(server, 80);
  Recorder rc;
  TcpSocket s = net.connect(client, {ip(server), 80}, {}, rc.callbacks(sim));
  sim.run_until(1_ms);
  ASSERT_TRUE(rc.connected);
  const NodeId b = net.topology().find_node("node-b");
  net.set_node_up(b, false);
  EXPECT_FALSE(net.host_up(server));
  EXPECT_TRUE(net.send(s, bytes_of("into the void")));
  sim.schedule_at(2_s, sim.actor("test"), sim.kind("up"), [&] { net.set_node_up(b, true); });
  sim.run();
  EXPECT_EQ(rc.reset, ResetReason::kPeerReset);
  EXPECT_GT(rc.reset_at, 2_s);
  EXPECT_TRUE(rc.data.empty());
  // After the restart nothing listens any more.
  Recorder again;
  net.connect(client, {ip(server), 80}, {}, again.callbacks(sim));
  sim.run();
  EXPECT_EQ(again.failed, ConnectError::kRefused);
}

TEST_F(TcpTest, IdlePeerOfADeadNodeNoticesNothing) {
  echo_server(server, 80);
  Recorder rc;
  TcpSocket s = net.connect(client, {ip(server), 80}, {}, rc.callbacks(sim));
  sim.run_until(1_ms);
  net.set_node_up(net.topology().find_node("node-b"), false);
  sim.run();
  EXPECT_FALSE(rc.reset);
  EXPECT_TRUE(net.is_open(s));
}

TEST_F(TcpTest, NodeDownForeverAbortsTheSenderAfterRetries) {
  echo_server(server, 80);
  Recorder rc;
  TcpSocket s = net.connect(client, {ip(server), 80}, {}, rc.callbacks(sim));
  sim.run_until(1_ms);
  net.set_node_up(net.topology().find_node("node-b"), false);
  net.send(s, bytes_of("x"));
  sim.run();
  EXPECT_EQ(rc.reset, ResetReason::kTimeout);
  // 15 retransmissions with backoff from RTT + 200 ms, capped at 120 s.
  EXPECT_GT(rc.reset_at, 600_s);
  EXPECT_LT(rc.reset_at, 1200_s);
  EXPECT_EQ(net.counters(s), std::nullopt);
}

TEST_F(TcpTest, DataCrossesAPartitionAfterItHeals) {
  Recorder rs;
  net.listen(server, {Ipv4::any(), 80}, [&](TcpSocket, const ConnectionInfo&) { return rs.callbacks(sim); });
  Recorder rc;
  TcpSocket s = net.connect(client, {ip(server), 80}, {}, rc.callbacks(sim));
  sim.run_until(1_ms);
  uint32_t p = net.partition({{}, {client}}, {{}, {server}});
  net.send(s, bytes_of("held up"));
  sim.schedule_at(1_s, sim.actor("test"), sim.kind("heal"), [&] { net.heal(p); });
  sim.run();
  EXPECT_EQ(rs.data, "held up");
  // Retransmissions at 1 ms + RTO (200.2 ms), then +400.4 ms, then +800.8 ms.
  EXPECT_GT(rs.last_data_at, 1_s);
  EXPECT_LT(rs.last_data_at, 1500_ms);
  EXPECT_GT(net.counters(s)->retransmitted_segments, 0u);
}

TEST_F(TcpTest, LossCostsTimeButNeverBytes) {
  LinkProfile lossy = net.links().profile(Relation::kSameZone);
  lossy.loss = 0.05;
  net.links().set_profile(Relation::kSameZone, lossy);
  echo_server(server, 80);
  const std::string payload = random_bytes(300'000, 2);
  Recorder rc;
  TcpSocket s;
  TcpCallbacks cb = rc.callbacks(sim);
  cb.on_connected = [&] {
    for (size_t off = 0; off < payload.size(); off += 10'000) net.send(s, bytes_of(payload.substr(off, 10'000)));
    net.shutdown_write(s);
  };
  s = net.connect(client, {ip(server), 80}, {}, cb);
  sim.run();
  EXPECT_TRUE(rc.data == payload);
  EXPECT_TRUE(rc.fin);
  EXPECT_GT(net.counters(s)->retransmitted_segments, 0u);
}

TEST_F(TcpTest, JitterNeverReordersBytesOfAStream) {
  LinkProfile p = net.links().profile(Relation::kOtherZone);
  p.jitter = 5_ms;
  net.links().set_profile(Relation::kOtherZone, p);
  echo_server(other_zone, 80);
  std::string expect;
  Recorder rc;
  TcpSocket s;
  TcpCallbacks cb = rc.callbacks(sim);
  int n = 0;
  std::function<void()> tick = [&] {
    std::string m = "<" + std::to_string(n++) + ">";
    expect += m;
    net.send(s, bytes_of(m));
    if (n < 500) sim.schedule_after(Duration::micros(37), sim.actor("test"), sim.kind("tick"), tick);
    else net.shutdown_write(s);
  };
  cb.on_connected = tick;
  s = net.connect(client, {ip(other_zone), 80}, {}, cb);
  sim.run();
  EXPECT_EQ(rc.data, expect);
}

TEST_F(TcpTest, BandwidthSetsTheTransferTime) {
  // other region: 30 ms one way, 1 Gbit/s; 5 MB fits in the receive window.
  Recorder rs;
  net.listen(far, {Ipv4::any(), 80}, [&](TcpSocket, const ConnectionInfo&) { return rs.callbacks(sim); });
  TcpSocket s;
  TcpCallbacks cb;
  cb.on_connected = [&] { net.send(s, bytes_of(std::string(5'000'000, 'b'))); };
  s = net.connect(client, {ip(far), 80}, {}, cb);
  sim.run();
  ASSERT_EQ(rs.data.size(), 5'000'000u);
  // 3453 full segments of 1514 bytes + one of 122 bytes at 1 Gbit/s = 41.82 ms on the
  // wire, after 60 ms of handshake, plus 30 ms of latency.
  EXPECT_NEAR(rs.last_data_at.to_millis(), 60 + 41.82 + 30, 0.05);
}

TEST_F(TcpTest, ReceiveWindowLimitsThroughputOnLongFatLinks) {
  LinkProfile p = net.links().profile(Relation::kOtherRegion);
  p.latency = 50_ms;
  p.bandwidth_bps = 10'000'000'000ULL;
  net.links().set_profile(Relation::kOtherRegion, p);
  Recorder rs;
  net.listen(far, {Ipv4::any(), 80}, [&](TcpSocket, const ConnectionInfo&) { return rs.callbacks(sim); });
  TcpSocket s;
  TcpCallbacks cb;
  const size_t total = 60'000'000;
  cb.on_connected = [&] { net.send(s, bytes_of(std::string(total, 'w'))); };
  s = net.connect(client, {ip(far), 80}, {}, cb);
  sim.run();
  ASSERT_EQ(rs.data.size(), total);
  // Unlimited, 60 MB would take 48 ms at 10 Gbit/s. With a 6 MiB window and a
  // 100 ms round trip, about 9.5 windows, one per round trip.
  const double transfer_ms = rs.last_data_at.to_millis() - 100;
  const double windows = static_cast<double>(total) / (6291456 - 4 * 1448);
  EXPECT_GT(transfer_ms, (windows - 1) * 100);
  EXPECT_LT(transfer_ms, (windows + 1) * 105);
}

TEST_F(TcpTest, LoopbackUsesTheLoopbackProfile) {
  echo_server(client, 8080);
  Recorder rc;
  TcpSocket s = net.connect(client, {ip(client), 8080}, {}, rc.callbacks(sim));
  sim.run();
  EXPECT_EQ(rc.connected_at, 20_us);
  EXPECT_EQ(net.info(s)->relation, Relation::kLoopback);
}

TEST_F(TcpTest, EphemeralPortsAreAllocatedInOrderAndExplicitClashesFail) {
  echo_server(server, 80);
  Recorder a, b, c;
  TcpSocket sa = net.connect(client, {ip(server), 80}, {}, a.callbacks(sim));
  TcpSocket sb = net.connect(client, {ip(server), 80}, {}, b.callbacks(sim));
  EXPECT_EQ(net.info(sa)->local.port, 32768);
  EXPECT_EQ(net.info(sb)->local.port, 32769);
  ConnectOptions o;
  o.source_port = 32768;
  net.connect(client, {ip(server), 80}, o, c.callbacks(sim));
  sim.run();
  EXPECT_EQ(c.failed, ConnectError::kAddressInUse);
  EXPECT_TRUE(a.connected);
  // The failed attempt did not release the port of the connection that owns it.
  Recorder d;
  net.connect(client, {ip(server), 80}, o, d.callbacks(sim));
  sim.run();
  EXPECT_EQ(d.failed, ConnectError::kAddressInUse);
  // Another destination may reuse the port.
  echo_server(neighbour, 80);
  Recorder e;
  net.connect(client, {ip(neighbour), 80}, o, e.callbacks(sim));
  sim.run();
  EXPECT_TRUE(e.connected);
}

TEST_F(TcpTest, StaleHandlesNeverReachALaterConnection) {
  echo_server(server, 80);
  Recorder a;
  TcpSocket sa = net.connect(client, {ip(server), 80}, {}, a.callbacks(sim));
  sim.run();
  ASSERT_TRUE(net.reset(sa));  // released; the slot is free once the RST is through
  sim.run();
  EXPECT_EQ(net.open_connections(), 0u);
  Recorder b;
  TcpSocket sb = net.connect(client, {ip(server), 80}, {}, b.callbacks(sim));
  sim.run();
  ASSERT_TRUE(b.connected);
  EXPECT_NE(sa, sb);
  EXPECT_FALSE(net.send(sa, bytes_of("stale")));
  EXPECT_FALSE(net.is_open(sa));
  EXPECT_FALSE(net.close(sa));
  EXPECT_TRUE(net.is_open(sb));
}

TEST_F(TcpTest, ClusterIpIsTranslatedByKubeProxy) {
  const SocketAddress vip{Ipv4::of(10, 96, 0, 10), 80};
  ASSERT_TRUE(net.add_service_vip(vip, {{ip(server), 8080}}).ok());
  echo_server(server, 8080);
  Recorder rc;
  TcpSocket s = net.connect(client, vip, {}, rc.callbacks(sim));
  sim.run();
  EXPECT_TRUE(rc.connected);
  EXPECT_EQ(net.info(s)->remote, vip);  // the client still talks to the ClusterIP
  ASSERT_EQ(accepted.size(), 1u);
  EXPECT_EQ(accepted[0].local, (SocketAddress{ip(server), 8080}));
}

TEST_F(TcpTest, ClusterIpWithoutEndpointsRefusesAndUnknownPortBlackholes) {
  ASSERT_TRUE(net.add_service_vip({Ipv4::of(10, 96, 0, 11), 80}, {}).ok());
  Recorder none, other_port;
  net.connect(client, {Ipv4::of(10, 96, 0, 11), 80}, {}, none.callbacks(sim));
  ConnectOptions o;
  o.connect_timeout = 2_s;
  net.connect(client, {Ipv4::of(10, 96, 0, 11), 81}, o, other_port.callbacks(sim));
  sim.run();
  EXPECT_EQ(none.failed, ConnectError::kRefused);
  EXPECT_EQ(other_port.failed, ConnectError::kTimeout);
}

// ---- capture rules in the network --------------------------------------------------------

class SidecarTest : public NetFixture {
 protected:
  void SetUp() override {
    NetFixture::SetUp();
    app = add("app", Ipv4::of(10, 244, 0, 20), "node-a", true);
    web = add("web", Ipv4::of(10, 244, 1, 30), "node-b", true);
  }
  // A sidecar listener that records what it accepted.
  void sidecar_listener(HostId h, uint16_t port) {
    net.listen(h, {Ipv4::any(), port}, [this](TcpSocket s, const ConnectionInfo& info) {
      accepted.push_back(info);
      sockets.push_back(s);
      return TcpCallbacks{};
    });
  }
  HostId app = kNoHost, web = kNoHost;
  std::vector<TcpSocket> sockets;
};

TEST_F(SidecarTest, AppOutboundLandsOnLocalSidecarWithOriginalDestination) {
  sidecar_listener(app, 15001);
  echo_server(server, 8080);
  Recorder rc;
  TcpSocket s = net.connect(app, {ip(server), 8080}, {}, rc.callbacks(sim));
  sim.run();
  EXPECT_TRUE(rc.connected);
  EXPECT_EQ(rc.connected_at, 20_us);  // loopback hop, not the wire
  ASSERT_EQ(accepted.size(), 1u);
  const ConnectionInfo& a = accepted[0];
  EXPECT_EQ(a.host, app);
  EXPECT_EQ(a.local, (SocketAddress{Ipv4::loopback(), 15001}));
  EXPECT_EQ(a.remote, (SocketAddress{ip(app), 32768}));
  ASSERT_TRUE(a.original_dst);
  EXPECT_EQ(*a.original_dst, (SocketAddress{ip(server), 8080}));
  EXPECT_EQ(a.outbound_capture.action, CaptureAction::kRedirectOutbound);
  // The app itself believes it talks to the server.
  EXPECT_EQ(net.info(s)->remote, (SocketAddress{ip(server), 8080}));
}

TEST_F(SidecarTest, NoSidecarListeningMeansRefused) {
  echo_server(server, 8080);
  Recorder rc;
  net.connect(app, {ip(server), 8080}, {}, rc.callbacks(sim));
  sim.run();
  EXPECT_EQ(rc.failed, ConnectError::kRefused);
}

TEST_F(SidecarTest, InboundToInjectedPodLandsOnVirtualInbound) {
  sidecar_listener(web, 15006);
  Recorder rc;
  net.connect(client, {ip(web), 9080}, {}, rc.callbacks(sim));
  sim.run();
  EXPECT_TRUE(rc.connected);
  ASSERT_EQ(accepted.size(), 1u);
  EXPECT_EQ(accepted[0].local, (SocketAddress{ip(web), 15006}));
  EXPECT_EQ(accepted[0].original_dst, (SocketAddress{ip(web), 9080}));
  EXPECT_EQ(accepted[0].inbound_capture.action, CaptureAction::kRedirectInbound);
}

TEST_F(SidecarTest, SidecarUpstreamIsCapturedOnlyAtTheDestination) {
  sidecar_listener(app, 15001);
  sidecar_listener(web, 15006);
  Recorder rc;
  ConnectOptions o;
  o.uid = 1337;
  net.connect(app, {ip(web), 9080}, o, rc.callbacks(sim));
  sim.run();
  ASSERT_EQ(accepted.size(), 1u);
  EXPECT_EQ(accepted[0].host, web);
  EXPECT_EQ(accepted[0].outbound_capture.reason, CaptureReason::kProxyUid);
  EXPECT_EQ(accepted[0].original_dst, (SocketAddress{ip(web), 9080}));
}

TEST_F(SidecarTest, SidecarToAppFrom127_0_0_6IsNotCaptured) {
  sidecar_listener(web, 15006);
  echo_server(web, 9080);
  Recorder rc;
  ConnectOptions o;
  o.uid = 1337;
  o.source_ip = kInboundPassthroughSource;
  net.connect(web, {ip(web), 9080}, o, rc.callbacks(sim));
  sim.run();
  EXPECT_TRUE(rc.connected);
  ASSERT_EQ(accepted.size(), 1u);  // the echo server, not 15006
  EXPECT_EQ(accepted[0].local, (SocketAddress{ip(web), 9080}));
  EXPECT_EQ(accepted[0].remote.ip, kInboundPassthroughSource);
  EXPECT_FALSE(accepted[0].original_dst);
}

TEST_F(SidecarTest, SidecarToOwnPodIpGoesThroughInbound) {
  sidecar_listener(web, 15006);
  ConnectOptions o;
  o.uid = 1337;
  Recorder rc;
  net.connect(web, {ip(web), 9080}, o, rc.callbacks(sim));
  sim.run();
  ASSERT_EQ(accepted.size(), 1u);
  EXPECT_EQ(accepted[0].local, (SocketAddress{Ipv4::loopback(), 15006}));
  EXPECT_EQ(accepted[0].original_dst, (SocketAddress{ip(web), 9080}));
}

TEST_F(SidecarTest, HealthAndStatsPortsReachTheSidecarDirectly) {
  sidecar_listener(web, 15006);
  sidecar_listener(web, 15021);
  sidecar_listener(web, 15090);
  sidecar_listener(web, 15020);
  for (uint16_t p : {15021, 15090, 15020}) {
    Recorder rc;
    net.connect(client, {ip(web), p}, {}, rc.callbacks(sim));
    sim.run();
  }
  ASSERT_EQ(accepted.size(), 3u);
  EXPECT_EQ(accepted[0].local.port, 15021);
  EXPECT_EQ(accepted[1].local.port, 15090);
  EXPECT_EQ(accepted[2].local.port, 15020);
  for (auto& a : accepted) EXPECT_FALSE(a.original_dst);
}

TEST_F(SidecarTest, LocalhostTrafficIsNotCaptured) {
  sidecar_listener(app, 15001);
  echo_server(app, 5000);
  Recorder rc;
  net.connect(app, {Ipv4::loopback(), 5000}, {}, rc.callbacks(sim));
  sim.run();
  ASSERT_EQ(accepted.size(), 1u);
  EXPECT_EQ(accepted[0].local, (SocketAddress{Ipv4::loopback(), 5000}));
  EXPECT_EQ(accepted[0].remote.ip, Ipv4::loopback());
}

// ---- determinism ---------------------------------------------------------------------------

struct RunTrace {
  uint64_t fingerprint = 0;
  std::vector<std::string> events;  // connection and data observations
};

RunTrace run_scenario(uint64_t seed, bool wire) {
  Simulator sim(seed);
  Network net(sim);
  LinkProfile p = net.links().profile(Relation::kSameZone);
  p.jitter = 300_us;
  p.loss = 0.02;
  net.links().set_profile(Relation::kSameZone, p);
  EXPECT_TRUE(net.add_node({"a", "r", "z", ""}).ok());
  EXPECT_TRUE(net.add_node({"b", "r", "z", ""}).ok());
  HostSpec h;
  h.ns = "d";
  h.name = "c";
  h.ip = Ipv4::of(10, 0, 0, 1);
  h.node = "a";
  HostId c = *net.add_host(h);
  h.name = "s";
  h.ip = Ipv4::of(10, 0, 1, 1);
  h.node = "b";
  HostId sv = *net.add_host(h);
  if (wire) net.enable_wire_records();
  RunTrace t;
  sim.subscribe([&](const Observation& o) {
    if (auto* e = std::get_if<TcpConnectionObservation>(&o.payload)) {
      t.events.push_back(std::to_string(o.time.ns()) + " " + to_string(e->event) + " " + std::to_string(e->connection));
    } else if (auto* d = std::get_if<TcpDataObservation>(&o.payload)) {
      t.events.push_back(std::to_string(o.time.ns()) + " data " + std::to_string(d->connection) + " " +
                         std::to_string(d->stream_offset) + "+" + std::to_string(d->bytes.size()));
    }
  });
  net.listen(sv, {Ipv4::any(), 80}, [&](TcpSocket s, const ConnectionInfo&) {
    TcpCallbacks cb;
    cb.on_data = [&, s](std::span<const uint8_t> b) { net.send(s, b); };
    cb.on_peer_fin = [&, s] { net.close(s); };
    return cb;
  });
  std::vector<TcpSocket> socks(20);
  for (int i = 0; i < 20; ++i) {
    TcpCallbacks cb;
    cb.on_connected = [&, i] {
      net.send(socks[i], std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(std::string(5000 * (i + 1), 'a' + i).data()), 5000 * (i + 1)));
      net.shutdown_write(socks[i]);
    };
    cb.on_peer_fin = [&, i] { net.close(socks[i]); };
    socks[i] = net.connect(c, {Ipv4::of(10, 0, 1, 1), 80}, {}, cb);
  }
  sim.run();
  t.fingerprint = sim.fingerprint();
  return t;
}

TEST(TcpDeterminism, SameSeedSameEventsOtherSeedOtherEvents) {
  RunTrace a = run_scenario(11, false);
  RunTrace b = run_scenario(11, false);
  RunTrace c = run_scenario(12, false);
  EXPECT_EQ(a.fingerprint, b.fingerprint);
  EXPECT_EQ(a.events, b.events);
  EXPECT_NE(a.fingerprint, c.fingerprint);
  EXPECT_NE(a.events, c.events);
}

TEST(TcpDeterminism, WireRecordsDoNotChangeWhatHappens) {
  RunTrace plain = run_scenario(5, false);
  RunTrace captured = run_scenario(5, true);
  EXPECT_EQ(plain.events, captured.events);
  EXPECT_GT(plain.events.size(), 100u);
  // Wire records are a view (Simulator::view_kind): capturing never changes the fingerprint.
  EXPECT_EQ(plain.fingerprint, captured.fingerprint);
}

}  // namespace
}  // namespace meshsim::sim
