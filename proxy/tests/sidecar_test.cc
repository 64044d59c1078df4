// Engine tests over a scripted Io: the test plays the network (accepts,
// bytes, connects, closes, timers) and checks what the sidecar does and logs.
// Full-simulation tests with real TLS live in sim/ and tests/.
#include "proxy/engine/sidecar.h"

#include <gtest/gtest.h>

#include <map>
#include <vector>

#include "proxy/http/parser.h"
#include "proxy/tests/fake_io.h"

namespace meshsim::proxy {
namespace {

using namespace meshsim::literals;
using testing::FakeIo;
using testing::Log;
using testing::bytes;


const SocketAddress kClient{Ipv4::of(10, 244, 0, 5), 40000};
const SocketAddress kMysqlVip{Ipv4::of(10, 96, 0, 20), 3306};
const SocketAddress kMysqlPod{Ipv4::of(10, 244, 1, 9), 3306};
const SocketAddress kReviewsVip{Ipv4::of(10, 96, 0, 30), 9080};
const SocketAddress kReviews1{Ipv4::of(10, 244, 1, 10), 9080};
const SocketAddress kReviews2{Ipv4::of(10, 244, 2, 11), 9080};

NetworkFilter tcp_proxy(std::string cluster) {
  TcpProxy tp;
  tp.cluster = std::move(cluster);
  tp.stat_prefix = tp.cluster;
  return {"envoy.filters.network.tcp_proxy", tp};
}

Cluster eds(std::string name, LbPolicy lb = LbPolicy::kRoundRobin) {
  Cluster c;
  c.name = std::move(name);
  c.lb_policy = lb;
  return c;
}

LbEndpoint endpoint(SocketAddress a) {
  LbEndpoint e;
  e.address = a;
  return e;
}

// A client sidecar with: a per-VIP TCP listener for mysql, an HTTP listener
// 0.0.0.0_9080 with route config "9080", and virtualOutbound with the
// PassthroughCluster (ALLOW_ANY).
std::shared_ptr<ProxyConfig> outbound_config() {
  auto cfg = std::make_shared<ProxyConfig>();
  Listener vo;
  vo.name = "virtualOutbound";
  vo.address = {Ipv4::any(), 15001};
  vo.use_original_dst = true;
  FilterChain pass;
  pass.name = "virtualOutbound-catchall-tcp";
  pass.filters.push_back(tcp_proxy(kPassthroughCluster));
  vo.filter_chains.push_back(pass);
  cfg->listeners.push_back(vo);

  Listener mysql;
  mysql.name = "10.96.0.20_3306";
  mysql.address = kMysqlVip;
  mysql.bind_to_port = false;
  FilterChain mc;
  mc.filters.push_back(tcp_proxy("outbound|3306||mysqldb.default.svc.cluster.local"));
  mysql.filter_chains.push_back(mc);
  cfg->listeners.push_back(mysql);

  Listener http;
  http.name = "0.0.0.0_9080";
  http.address = {Ipv4::any(), 9080};
  http.bind_to_port = false;
  FilterChain hc;
  HttpConnectionManager hcm;
  hcm.route_config_name = "9080";
  hcm.direction = TrafficDirection::kOutbound;
  // Istio's outbound chain (mesh/control_plane.cc outbound_http_filters): the
  // engine runs what http_filters lists, by name.
  hcm.http_filters = {{"istio.metadata_exchange"}, {"envoy.filters.http.grpc_stats"}, {"istio.alpn"},
                      {"envoy.filters.http.fault"},   {"envoy.filters.http.cors"},       {"istio.stats"},
                      {"envoy.filters.http.router"}};
  hc.filters.push_back({"envoy.filters.network.http_connection_manager", hcm});
  http.filter_chains.push_back(hc);
  cfg->listeners.push_back(http);

  auto rc = std::make_shared<RouteConfiguration>();
  rc->name = "9080";
  VirtualHost vh;
  vh.name = "reviews.default.svc.cluster.local:9080";
  vh.domains = {"reviews.default.svc.cluster.local", "reviews.default.svc.cluster.local:9080", "reviews",
                "reviews:9080", "10.96.0.30", "10.96.0.30:9080"};
  Route r;
  r.name = "default";
  RouteAction a;
  a.cluster = "outbound|9080||reviews.default.svc.cluster.local";
  RetryPolicy retry;
  retry.retry_on = "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes";
  retry.num_retries = 2;
  retry.previous_hosts_predicate = true;
  a.retry_policy = retry;
  r.action = a;
  r.decorator_operation = "reviews.default.svc.cluster.local:9080/*";
  vh.routes.push_back(r);
  rc->virtual_hosts.push_back(vh);
  cfg->routes.push_back(rc);

  Cluster passthrough;
  passthrough.name = kPassthroughCluster;
  passthrough.type = DiscoveryType::kOriginalDst;
  cfg->clusters.push_back(passthrough);
  cfg->clusters.push_back(eds("outbound|3306||mysqldb.default.svc.cluster.local"));
  cfg->clusters.push_back(eds("outbound|9080||reviews.default.svc.cluster.local"));
  cfg->endpoints.push_back({"outbound|3306||mysqldb.default.svc.cluster.local", {endpoint(kMysqlPod)}});
  cfg->endpoints.push_back(
      {"outbound|9080||reviews.default.svc.cluster.local", {endpoint(kReviews1), endpoint(kReviews2)}});
  return cfg;
}

class SidecarTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Sidecar::Options o;
    o.name = "productpage-v1.default";
    o.access_log = &log;
    o.node_id = "sidecar~10.244.0.5~productpage-v1.default~default.svc.cluster.local";
    sidecar = std::make_unique<Sidecar>(io, o);
    sidecar->apply_config(outbound_config());
  }
  DownstreamInfo outbound_to(SocketAddress dst) { return {15001, kClient, dst}; }

  FakeIo io;
  Log log;
  std::unique_ptr<Sidecar> sidecar;
};

TEST_F(SidecarTest, TcpProxyToTheVipListenerConnectsToTheEndpointAndRelaysBothWays) {
  sidecar->on_downstream_accepted(1, outbound_to(kMysqlVip));
  ASSERT_EQ(io.connects.size(), 1u);  // server-first: upstream opened without waiting for bytes
  EXPECT_EQ(io.connects[0].to, kMysqlPod);
  EXPECT_EQ(io.connects[0].timeout, 10_s);
  ConnId up = io.connects[0].id;
  sidecar->on_upstream_connected(up);
  sidecar->on_data(up, bytes("greeting"));
  EXPECT_EQ(io.take(1), "greeting");
  sidecar->on_data(1, bytes("login"));
  EXPECT_EQ(io.take(up), "login");
  sidecar->on_peer_closed(1, CloseType::kFin);
  EXPECT_EQ(io.fins, std::vector<ConnId>{up});
  sidecar->on_peer_closed(up, CloseType::kFin);
  EXPECT_EQ(io.closed.at(1), CloseType::kFin);
  ASSERT_EQ(log.entries.size(), 1u);
  const AccessLogEntry& e = log.entries[0];
  EXPECT_EQ(e.listener, "10.96.0.20_3306");
  EXPECT_EQ(e.cluster, "outbound|3306||mysqldb.default.svc.cluster.local");
  EXPECT_EQ(e.upstream_host, "10.244.1.9:3306");
  EXPECT_EQ(e.response_flags, "-");
  EXPECT_EQ(e.bytes_received, 5u);
  EXPECT_EQ(e.bytes_sent, 8u);
  EXPECT_EQ(sidecar->open_connections(), 0u);
}

TEST_F(SidecarTest, UnknownDestinationsFallThroughToThePassthroughCluster) {
  SocketAddress external{Ipv4::of(93, 184, 216, 34), 443};
  sidecar->on_downstream_accepted(1, outbound_to(external));
  ASSERT_EQ(io.connects.size(), 1u);
  EXPECT_EQ(io.connects[0].to, external);
  sidecar->on_upstream_connect_failed(io.connects[0].id, ConnectFailure::kRefused);
  ASSERT_EQ(log.entries.size(), 1u);
  EXPECT_EQ(log.entries[0].listener, "virtualOutbound");
  EXPECT_EQ(log.entries[0].cluster, kPassthroughCluster);
  EXPECT_EQ(log.entries[0].response_flags, "UF");
  EXPECT_EQ(io.closed.at(1), CloseType::kFin);
  EXPECT_EQ(sidecar->stats().upstream_cx_connect_fail, 1u);
}

TEST_F(SidecarTest, RegistryOnlySendsUnknownDestinationsToTheBlackHole) {
  auto cfg = outbound_config();
  std::get<TcpProxy>(cfg->listeners[0].filter_chains[0].filters[0].config).cluster = kBlackHoleCluster;
  Cluster bh;
  bh.name = kBlackHoleCluster;
  bh.type = DiscoveryType::kStatic;
  cfg->clusters.push_back(bh);
  sidecar->apply_config(cfg);
  sidecar->on_downstream_accepted(1, outbound_to({Ipv4::of(1, 1, 1, 1), 80}));
  EXPECT_TRUE(io.connects.empty());
  EXPECT_EQ(io.closed.count(1), 1u);
  EXPECT_EQ(log.entries.at(0).cluster, kBlackHoleCluster);
}

std::string get(std::string host, std::string path = "/", std::string extra = "") {
  return "GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\n" + extra + "\r\n";
}

http::Response parse_response(const std::string& wire) {
  http::ResponseParser p;
  p.feed(wire);
  EXPECT_EQ(p.next(), http::ParseStatus::kComplete) << wire;
  return p.take();
}

http::Request parse_request(const std::string& wire) {
  http::RequestParser p;
  p.feed(wire);
  EXPECT_EQ(p.next(), http::ParseStatus::kComplete) << wire;
  return p.take();
}

TEST_F(SidecarTest, HttpRequestIsRoutedByHostWithIstioHeadersAndKeepAlive) {
  sidecar->on_downstream_accepted(1, outbound_to(kReviewsVip));
  EXPECT_TRUE(io.connects.empty());  // HTTP waits for a request
  sidecar->on_data(1, bytes(get("reviews:9080", "/reviews/0")));
  ASSERT_EQ(io.connects.size(), 1u);
  ConnId up = io.connects[0].id;
  SocketAddress first_host = io.connects[0].to;
  EXPECT_TRUE(first_host == kReviews1 || first_host == kReviews2);
  sidecar->on_upstream_connected(up);
  http::Request fwd = parse_request(io.take(up));
  EXPECT_EQ(fwd.target, "/reviews/0");
  EXPECT_EQ(fwd.host(), "reviews:9080");
  EXPECT_EQ(fwd.headers.get("x-forwarded-proto").value_or(""), "http");
  EXPECT_EQ(fwd.headers.get("x-request-id").value_or("").size(), 36u);
  EXPECT_EQ(fwd.headers.get("x-envoy-peer-metadata-id").value_or(""),
            "sidecar~10.244.0.5~productpage-v1.default~default.svc.cluster.local");
  sidecar->on_data(up, bytes("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"));
  http::Response resp = parse_response(io.take(1));
  EXPECT_EQ(resp.status, 200);
  EXPECT_EQ(resp.body, "ok");
  EXPECT_TRUE(resp.headers.has("x-envoy-upstream-service-time"));
  EXPECT_EQ(resp.headers.get("server").value_or(""), "envoy");
  ASSERT_EQ(log.entries.size(), 1u);
  EXPECT_EQ(log.entries[0].route_config, "9080");
  EXPECT_EQ(log.entries[0].virtual_host, "reviews.default.svc.cluster.local:9080");
  EXPECT_EQ(log.entries[0].response_code, 200);
  EXPECT_EQ(log.entries[0].response_code_details, "via_upstream");
  // Round robin sends the second request to the other host, over a new
  // connection (pool reuse for the same host: http_engine_test.cc).
  sidecar->on_data(1, bytes(get("reviews:9080", "/reviews/1")));
  ASSERT_EQ(io.connects.size(), 2u);
  EXPECT_NE(io.connects[1].to, first_host);
  sidecar->on_upstream_connected(io.connects[1].id);
  EXPECT_EQ(parse_request(io.take(io.connects[1].id)).target, "/reviews/1");
}

TEST_F(SidecarTest, OutboundSanitizesXfccCountsAttemptsAndOverwritesServer) {
  auto cfg = outbound_config();
  const_cast<RouteConfiguration&>(*cfg->routes[0]).virtual_hosts[0].include_request_attempt_count = true;
  const_cast<RouteConfiguration&>(*cfg->routes[0]).ignore_port_in_host_matching = true;
  sidecar->apply_config(cfg);
  sidecar->on_downstream_accepted(1, outbound_to(kReviewsVip));
  // Host with a port that is not among the domains still matches: the port is ignored.
  sidecar->on_data(1, bytes(get("reviews:12345", "/", "X-Forwarded-Client-Cert: By=forged\r\n")));
  ConnId up = io.connects.at(0).id;
  sidecar->on_upstream_connected(up);
  http::Request fwd = parse_request(io.take(up));
  EXPECT_FALSE(fwd.headers.has("x-forwarded-client-cert"));
  EXPECT_EQ(fwd.headers.get("x-envoy-attempt-count").value_or(""), "1");
  sidecar->on_data(up, bytes("HTTP/1.1 200 OK\r\nserver: istio-envoy\r\ncontent-length: 0\r\n\r\n"));
  EXPECT_EQ(parse_response(io.take(1)).headers.get("server").value_or(""), "envoy");
}

TEST_F(SidecarTest, Http10IsRefusedWith426UnlessAccepted) {
  sidecar->on_downstream_accepted(1, outbound_to(kReviewsVip));
  sidecar->on_data(1, bytes("GET / HTTP/1.0\r\nHost: reviews\r\n\r\n"));
  EXPECT_EQ(parse_response(io.take(1)).status, 426);
  EXPECT_TRUE(io.connects.empty());
  EXPECT_EQ(io.closed.count(1), 1u);
}

TEST_F(SidecarTest, TcpProxyConnectFailureResetsAClientThatAlreadySentBytes) {
  sidecar->on_downstream_accepted(1, outbound_to(kMysqlVip));
  sidecar->on_data(1, bytes("client speaks first"));
  sidecar->on_upstream_connect_failed(io.connects.at(0).id, ConnectFailure::kRefused);
  EXPECT_EQ(io.closed.at(1), CloseType::kReset);
  // A client that waited (server-first) sees an orderly close instead.
  sidecar->on_downstream_accepted(2, outbound_to(kMysqlVip));
  sidecar->on_upstream_connect_failed(io.connects.at(1).id, ConnectFailure::kTimeout);
  EXPECT_EQ(io.closed.at(2), CloseType::kFin);
}

TEST_F(SidecarTest, UnknownHostGets404WithNoRouteFlag) {
  sidecar->on_downstream_accepted(1, outbound_to(kReviewsVip));
  sidecar->on_data(1, bytes(get("ratings:9080")));
  http::Response resp = parse_response(io.take(1));
  EXPECT_EQ(resp.status, 404);
  EXPECT_TRUE(io.connects.empty());
  EXPECT_EQ(log.entries.at(0).response_flags, "NR");
  EXPECT_EQ(log.entries.at(0).response_code_details, "route_not_found");
}

TEST_F(SidecarTest, RefusedConnectionsAreRetriedOnOtherHostsThen503WithUfUrx) {
  sidecar->on_downstream_accepted(1, outbound_to(kReviewsVip));
  sidecar->on_data(1, bytes(get("reviews")));
  ASSERT_EQ(io.connects.size(), 1u);
  sidecar->on_upstream_connect_failed(io.connects[0].id, ConnectFailure::kRefused);
  io.advance(*sidecar, io.now() + 1_s);  // back-off timer
  ASSERT_EQ(io.connects.size(), 2u);
  EXPECT_NE(io.connects[1].to, io.connects[0].to);  // previous_hosts predicate
  sidecar->on_upstream_connect_failed(io.connects[1].id, ConnectFailure::kRefused);
  io.advance(*sidecar, io.now() + 1_s);
  ASSERT_EQ(io.connects.size(), 3u);
  sidecar->on_upstream_connect_failed(io.connects[2].id, ConnectFailure::kRefused);
  http::Response resp = parse_response(io.take(1));
  EXPECT_EQ(resp.status, 503);
  EXPECT_EQ(resp.body,
            "upstream connect error or disconnect/reset before headers. retried and the latest reset reason: "
            "remote connection failure, transport failure reason: delayed connect error: Connection refused");
  ASSERT_EQ(log.entries.size(), 1u);
  EXPECT_EQ(log.entries[0].response_flags, "UF,URX");
  EXPECT_EQ(log.entries[0].attempts, 3u);
  EXPECT_EQ(sidecar->stats().upstream_rq_retry, 2u);
}

TEST_F(SidecarTest, MalformedRequestGets400AndTheConnectionCloses) {
  sidecar->on_downstream_accepted(1, outbound_to(kReviewsVip));
  sidecar->on_data(1, bytes("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 garbage\r\n\r\n"));
  http::Response resp = parse_response(io.take(1));
  EXPECT_EQ(resp.status, 400);
  EXPECT_EQ(io.closed.count(1), 1u);
  EXPECT_EQ(log.entries.at(0).response_flags, "DPE");
}

// ---- inbound: listener filters and the server-first hang ------------------

std::shared_ptr<ProxyConfig> inbound_config(Duration detection_timeout) {
  auto cfg = std::make_shared<ProxyConfig>();
  Listener vi;
  vi.name = "virtualInbound";
  vi.address = {Ipv4::any(), 15006};
  vi.use_original_dst = true;
  vi.listener_filters.push_back({kOriginalDstFilter, {}});
  ListenerFilter tls{kTlsInspectorFilter, {}};
  vi.listener_filters.push_back(tls);
  ListenerFilter http{kHttpInspectorFilter, {}};
  http.disabled.never_disabled = false;
  http.disabled.ports = {3306};  // no HTTP chains on 3306
  vi.listener_filters.push_back(http);
  vi.listener_filters_timeout = detection_timeout;
  FilterChain mtls;
  mtls.name = "0.0.0.0_3306";
  mtls.match.destination_port = 3306;
  mtls.match.transport_protocol = "tls";
  mtls.filters.push_back(tcp_proxy("inbound|3306||"));
  FilterChain raw = mtls;
  raw.match.transport_protocol = "raw_buffer";
  vi.filter_chains = {mtls, raw};
  cfg->listeners.push_back(vi);
  Cluster in = eds("inbound|3306||");
  in.type = DiscoveryType::kOriginalDst;
  cfg->clusters.push_back(in);
  return cfg;
}

TEST_F(SidecarTest, PermissiveServerFirstPortHangsInTheTlsInspectorWithoutATimeout) {
  sidecar->apply_config(inbound_config(Duration::zero()));
  sidecar->on_downstream_accepted(1, {15006, kClient, kMysqlPod});
  io.advance(*sidecar, 1_h);
  EXPECT_TRUE(io.connects.empty());  // mysqld is never dialled, so it never greets
  EXPECT_EQ(io.live_timers(), 0u);
  EXPECT_EQ(sidecar->open_connections(), 1u);
}

TEST_F(SidecarTest, ProtocolDetectionTimeoutLetsTheServerFirstConnectionThroughLate) {
  sidecar->apply_config(inbound_config(5_s));
  sidecar->on_downstream_accepted(1, {15006, kClient, kMysqlPod});
  io.advance(*sidecar, 4_s);
  EXPECT_TRUE(io.connects.empty());
  io.advance(*sidecar, 5_s);
  ASSERT_EQ(io.connects.size(), 1u);
  EXPECT_EQ(io.connects[0].to, kMysqlPod);
  EXPECT_EQ(sidecar->stats().listener_filter_timeouts, 1u);
}

TEST_F(SidecarTest, PlaintextClientFirstBytesPickTheRawChainImmediately) {
  sidecar->apply_config(inbound_config(Duration::zero()));
  sidecar->on_downstream_accepted(1, {15006, kClient, kMysqlPod});
  sidecar->on_data(1, bytes(std::string_view("\x05\x00\x00\x00hello", 9)));  // not a ClientHello (no TLS factory: treated as not TLS)
  ASSERT_EQ(io.connects.size(), 1u);
  sidecar->on_upstream_connected(io.connects[0].id);
  EXPECT_EQ(io.take(io.connects[0].id), std::string("\x05\x00\x00\x00hello", 9));
}

TEST_F(SidecarTest, NoMatchingChainClosesTheConnectionAndCounts) {
  auto cfg = inbound_config(Duration::zero());
  cfg->listeners[0].filter_chains.pop_back();  // STRICT: only the tls chain
  sidecar->apply_config(cfg);
  sidecar->on_downstream_accepted(1, {15006, kClient, kMysqlPod});
  sidecar->on_data(1, bytes("plaintext"));
  EXPECT_TRUE(io.connects.empty());
  EXPECT_EQ(io.closed.count(1), 1u);
  EXPECT_EQ(sidecar->stats().no_filter_chain_match, 1u);
  EXPECT_EQ(log.entries.at(0).response_flags, "NR");
  EXPECT_EQ(log.entries.at(0).connection_termination_details, "filter_chain_not_found");
}

TEST_F(SidecarTest, OpenConnectionsKeepTheirSnapshotAcrossAPush) {
  sidecar->on_downstream_accepted(1, outbound_to(kMysqlVip));
  ConnId up = io.connects.at(0).id;
  // Push a config without the mysql listener: the open connection keeps working.
  auto cfg = outbound_config();
  cfg->listeners.erase(cfg->listeners.begin() + 1);
  sidecar->apply_config(cfg);
  sidecar->on_upstream_connected(up);
  sidecar->on_data(1, bytes("still here"));
  EXPECT_EQ(io.take(up), "still here");
  // A new connection to the same VIP now falls through to the passthrough.
  sidecar->on_downstream_accepted(2, outbound_to(kMysqlVip));
  EXPECT_EQ(io.connects.back().to, kMysqlVip);
}

}  // namespace
}  // namespace meshsim::proxy

namespace meshsim::proxy {
namespace {

// istio.stats before tcp_proxy (docs/istio/telemetry.md §6.2): nothing at
// connect; on the 5 s report timer, once the upstream peer is known (here
// plaintext: the cluster's metadata exchange marks peer_not_found on the
// first write), opened +1 and the byte deltas; more deltas at 10 s; the rest
// and closed +1 at close.
TEST_F(SidecarTest, TcpStatsReportOnTheTimerOnceThePeerIsKnownAndAtClose) {
  auto cfg = outbound_config();
  for (Listener& l : cfg->listeners) {
    if (l.name != "10.96.0.20_3306") continue;
    l.direction = TrafficDirection::kOutbound;
    auto& f = l.filter_chains[0].filters;
    f.insert(f.begin(), {"istio.stats", NetworkIstioStats{std::make_shared<IstioStatsConfig>()}});
  }
  for (Cluster& c : cfg->clusters) c.metadata_exchange = true;
  sidecar->apply_config(cfg);
  auto series = [&]() -> const IstioMetrics::TcpSeries* {
    const IstioMetrics* m = sidecar->metrics();
    return m && !m->tcp_series().empty() ? m->tcp_series().front().get() : nullptr;
  };
  sidecar->on_downstream_accepted(1, outbound_to(kMysqlVip));
  ConnId up = io.connects.at(0).id;
  sidecar->on_upstream_connected(up);
  sidecar->on_data(up, bytes("greeting"));  // 8 bytes to the client
  sidecar->on_data(1, bytes("login"));      // 5 bytes from the client
  EXPECT_EQ(series(), nullptr);             // no report at connect time
  io.advance(*sidecar, 5_s);
  ASSERT_NE(series(), nullptr);
  EXPECT_EQ(series()->opened, 1u);
  EXPECT_EQ(series()->received_bytes, 5u);
  EXPECT_EQ(series()->sent_bytes, 8u);
  EXPECT_EQ(series()->closed, 0u);
  EXPECT_NE(series()->labels.find("reporter=\"source\""), std::string::npos);
  EXPECT_NE(series()->labels.find("request_protocol=\"tcp\""), std::string::npos);
  sidecar->on_data(1, bytes("query"));
  io.advance(*sidecar, 10_s);
  EXPECT_EQ(series()->received_bytes, 10u);
  sidecar->on_data(up, bytes("rows"));
  io.advance(*sidecar, 12_s);
  sidecar->on_peer_closed(1, CloseType::kFin);
  sidecar->on_peer_closed(up, CloseType::kFin);
  EXPECT_EQ(series()->opened, 1u);
  EXPECT_EQ(series()->closed, 1u);
  EXPECT_EQ(series()->sent_bytes, 12u);
  EXPECT_EQ(sidecar->metrics()->tcp_series().size(), 1u);
}

}  // namespace
}  // namespace meshsim::proxy
