// The HTTP side of the engine over a scripted Io: the filter chain built from
// http_filters by name (fault, router), Envoy's retry and timeout semantics
// (router.cc / retry_state_impl.cc, docs/istio/http-traffic-management.md §9),
// connection pooling, idle timeouts, listener drain, and the lifetime rules
// (deferred deletion) on the paths that used to read freed memory. Each test
// asserts what the client saw plus Envoy's response flags and counters.
#include <gtest/gtest.h>

#include "proxy/engine/sidecar.h"
#include "proxy/http/parser.h"
#include "proxy/tests/fake_io.h"

namespace meshsim::proxy {
// Named, not anonymous: in a unity build this file shares a translation unit with
// other tests whose file-local helpers have the same names.
namespace http_engine_test {

using namespace meshsim::literals;
using testing::bytes;
using testing::FakeIo;
using testing::Log;

const SocketAddress kClient{Ipv4::of(10, 244, 0, 5), 40000};
const SocketAddress kVip{Ipv4::of(10, 96, 0, 30), 9080};
const SocketAddress kHost1{Ipv4::of(10, 244, 1, 10), 9080};
const SocketAddress kHost2{Ipv4::of(10, 244, 2, 11), 9080};
constexpr const char* kCluster = "outbound|9080||reviews.default.svc.cluster.local";

std::vector<HttpFilter> istio_outbound_filters() {
  return {{"istio.metadata_exchange"}, {"envoy.filters.http.grpc_stats"}, {"istio.alpn"},
          {"envoy.filters.http.fault"}, {"envoy.filters.http.cors"},      {"istio.stats"},
          {"envoy.filters.http.router"}};
}

// An outbound sidecar with one HTTP listener 0.0.0.0_9080 (RDS "9080"), a
// TCP listener 0.0.0.0_7000 behind a tls_inspector whose chain proxies to a
// cluster that does not exist, and the reviews cluster (round robin, two
// hosts). `edit` adjusts the route before the config is frozen.
struct Config {
  std::shared_ptr<ProxyConfig> cfg = std::make_shared<ProxyConfig>();
  RouteConfiguration* rc = nullptr;
  HttpConnectionManager* hcm = nullptr;

  Config() {
    Listener http;
    http.name = "0.0.0.0_9080";
    http.address = {Ipv4::any(), 9080};
    http.bind_to_port = false;
    FilterChain hc;
    hc.name = "http";
    HttpConnectionManager h;
    h.route_config_name = "9080";
    h.direction = TrafficDirection::kOutbound;
    h.http_filters = istio_outbound_filters();
    hc.filters.push_back({"envoy.filters.network.http_connection_manager", h});
    http.filter_chains.push_back(hc);
    cfg->listeners.push_back(http);
    hcm = &std::get<HttpConnectionManager>(cfg->listeners.back().filter_chains[0].filters[0].config);

    Listener tcp;
    tcp.name = "0.0.0.0_7000";
    tcp.address = {Ipv4::any(), 7000};
    tcp.bind_to_port = false;
    tcp.listener_filters.push_back({kTlsInspectorFilter, {}});
    FilterChain tc;
    tc.name = "tcp";
    TcpProxy tp;
    tp.cluster = "outbound|7000||missing.default.svc.cluster.local";
    tc.filters.push_back({"envoy.filters.network.tcp_proxy", tp});
    tcp.filter_chains.push_back(tc);
    cfg->listeners.push_back(tcp);

    auto r = std::make_shared<RouteConfiguration>();
    r->name = "9080";
    VirtualHost vh;
    vh.name = "reviews.default.svc.cluster.local:9080";
    vh.domains = {"reviews", "reviews:9080"};
    vh.include_request_attempt_count = true;
    Route route;
    route.name = "default";
    RouteAction a;
    a.cluster = kCluster;
    route.action = a;
    vh.routes.push_back(route);
    r->virtual_hosts.push_back(vh);
    cfg->routes.push_back(r);
    rc = r.get();

    Cluster c;
    c.name = kCluster;
    c.lb_policy = LbPolicy::kRoundRobin;
    cfg->clusters.push_back(c);
    LbEndpoint e1, e2;
    e1.address = kHost1;
    e2.address = kHost2;
    cfg->endpoints.push_back({kCluster, {e1, e2}});
  }
  Route& route() { return rc->virtual_hosts[0].routes[0]; }
  RouteAction& action() { return std::get<RouteAction>(route().action); }
  Cluster& cluster() { return cfg->clusters[0]; }
};

std::string get(std::string path = "/", std::string extra = "") {
  return "GET " + path + " HTTP/1.1\r\nHost: reviews:9080\r\n" + extra + "\r\n";
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

const char* kOk = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
const char* k503 = "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 4\r\n\r\nbusy";

class HttpEngineTest : public ::testing::Test {
 protected:
  void start(Config& c) {
    Sidecar::Options o;
    o.name = "productpage-v1.default";
    o.access_log = &log;
    o.node_id = "sidecar~10.244.0.5~productpage-v1.default~default.svc.cluster.local";
    sidecar = std::make_unique<Sidecar>(io, o);
    sidecar->apply_config(c.cfg);
  }
  void connect(ConnId id, SocketAddress dst = kVip) { sidecar->on_downstream_accepted(id, {15001, kClient, dst}); }
  // The upstream connection opened by the n-th connect, connected.
  ConnId upstream(size_t n) {
    EXPECT_GT(io.connects.size(), n);
    ConnId id = io.connects.at(n).id;
    sidecar->on_upstream_connected(id);
    return id;
  }

  FakeIo io;
  Log log;
  std::unique_ptr<Sidecar> sidecar;
};

// ------------------------------------------------------------------ fault --

TEST_F(HttpEngineTest, FaultAbortAnswersLocallyWithFiAndNeverGoesUpstream) {
  Config c;
  FaultPolicy f;
  f.abort_http_status = 500;
  f.abort_per_million = 1'000'000;
  c.route().fault = f;
  start(c);
  connect(1);
  sidecar->on_data(1, bytes(get()));
  http::Response r = parse_response(io.take(1));
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body, "fault filter abort");
  EXPECT_TRUE(io.connects.empty());
  ASSERT_EQ(log.entries.size(), 1u);
  EXPECT_EQ(log.entries[0].response_flags, "FI");
  EXPECT_EQ(log.entries[0].response_code_details, "fault_filter_abort");
  EXPECT_EQ(sidecar->stats().downstream_rq_5xx, 1u);
}

TEST_F(HttpEngineTest, FaultDelayHoldsTheRequestForTheFixedDelayThenForwardsItWithDi) {
  Config c;
  FaultPolicy f;
  f.delay = 7_s;  // Bookinfo's ratings-test-delay
  f.delay_per_million = 1'000'000;
  c.route().fault = f;
  start(c);
  connect(1);
  sidecar->on_data(1, bytes(get()));
  io.advance(*sidecar, 6999_ms);
  EXPECT_TRUE(io.connects.empty()) << "forwarded before the delay ended";
  io.advance(*sidecar, 7_s);
  ConnId up = upstream(0);
  EXPECT_EQ(parse_request(io.take(up)).target, "/");
  sidecar->on_data(up, bytes(kOk));
  EXPECT_EQ(parse_response(io.take(1)).status, 200);
  EXPECT_EQ(log.entries.at(0).response_flags, "DI");
  EXPECT_EQ(log.entries.at(0).duration, 7_s);
}

TEST_F(HttpEngineTest, TheChainIsWhatHttpFiltersListsSoAnUnlistedFaultFilterInjectsNothing) {
  Config c;
  FaultPolicy f;
  f.abort_http_status = 500;
  f.abort_per_million = 1'000'000;
  c.route().fault = f;
  c.hcm->http_filters = {{"envoy.filters.http.router"}};
  start(c);
  connect(1);
  sidecar->on_data(1, bytes(get()));
  ASSERT_EQ(io.connects.size(), 1u);  // went upstream: nothing aborted it
  ConnId up = upstream(0);
  sidecar->on_data(up, bytes(kOk));
  EXPECT_EQ(parse_response(io.take(1)).status, 200);
  // Without istio.metadata_exchange nobody adds the peer id either.
}

// ---------------------------------------------------------------- retries --

TEST_F(HttpEngineTest, RetryOn5xxTriesTheOtherHostThenForwardsTheLast503WithUrx) {
  Config c;
  RetryPolicy rp;
  rp.retry_on = "5xx";
  rp.num_retries = 1;
  rp.previous_hosts_predicate = true;
  c.action().retry_policy = rp;
  start(c);
  connect(1);
  sidecar->on_data(1, bytes(get()));
  ConnId a = upstream(0);
  EXPECT_EQ(parse_request(io.take(a)).headers.get("x-envoy-attempt-count").value_or(""), "1");
  sidecar->on_data(a, bytes(k503));
  EXPECT_TRUE(io.take(1).empty()) << "the retriable 503 reached the client";
  io.advance(*sidecar, 1_s);  // back-off (< 25 ms)
  ASSERT_EQ(io.connects.size(), 2u);
  EXPECT_NE(io.connects[1].to, io.connects[0].to) << "previous_hosts: the retry goes elsewhere";
  ConnId b = upstream(1);
  EXPECT_EQ(parse_request(io.take(b)).headers.get("x-envoy-attempt-count").value_or(""), "2");
  sidecar->on_data(b, bytes(k503));
  http::Response r = parse_response(io.take(1));
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, "busy");  // the upstream's own response, not a local reply
  const AccessLogEntry& e = log.entries.at(0);
  EXPECT_EQ(e.response_flags, "URX");
  EXPECT_EQ(e.attempts, 2u);
  EXPECT_EQ(e.response_code_details, "via_upstream");
  EXPECT_EQ(sidecar->stats().upstream_rq_retry, 1u);
  EXPECT_EQ(sidecar->stats().upstream_rq_total, 2u);
}

TEST_F(HttpEngineTest, ResponsesTheRetryPolicyDoesNotCoverAreForwardedAtOnceWithoutUrx) {
  Config c;
  RetryPolicy rp;
  rp.retry_on = "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes";  // Istio's default
  rp.num_retries = 2;
  c.action().retry_policy = rp;
  start(c);
  connect(1);
  sidecar->on_data(1, bytes(get()));
  ConnId a = upstream(0);
  sidecar->on_data(a, bytes(k503));
  EXPECT_EQ(parse_response(io.take(1)).status, 503);
  EXPECT_EQ(log.entries.at(0).response_flags, "-");
  EXPECT_EQ(sidecar->stats().upstream_rq_retry, 0u);
}

// --------------------------------------------------------------- timeouts --

TEST_F(HttpEngineTest, RouteTimeoutAnswers504UtAndResetsTheUpstreamRequest) {
  Config c;
  c.action().timeout = 1_s;
  start(c);
  connect(1);
  sidecar->on_data(1, bytes(get()));
  ConnId a = upstream(0);
  EXPECT_EQ(parse_request(io.take(a)).headers.get("x-envoy-expected-rq-timeout-ms").value_or(""), "1000");
  io.advance(*sidecar, 1_s);
  http::Response r = parse_response(io.take(1));
  EXPECT_EQ(r.status, 504);
  EXPECT_EQ(r.body, "upstream request timeout");
  EXPECT_EQ(io.closed.at(a), CloseType::kReset);
  EXPECT_EQ(log.entries.at(0).response_flags, "UT");
  EXPECT_EQ(log.entries.at(0).response_code_details, "response_timeout");
}

TEST_F(HttpEngineTest, PerTryTimeoutIsNotRetriedUnderIstiosDefaultRetryOn) {
  Config c;
  RetryPolicy rp;
  rp.retry_on = "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes";
  rp.num_retries = 2;
  rp.per_try_timeout = 100_ms;
  c.action().retry_policy = rp;
  start(c);
  connect(1);
  sidecar->on_data(1, bytes(get()));
  ConnId a = upstream(0);
  EXPECT_EQ(parse_request(io.take(a)).headers.get("x-envoy-expected-rq-timeout-ms").value_or(""), "100");
  io.advance(*sidecar, 100_ms);
  EXPECT_EQ(parse_response(io.take(1)).status, 504);
  EXPECT_EQ(io.connects.size(), 1u);
  EXPECT_EQ(log.entries.at(0).response_flags, "UT");
  EXPECT_EQ(log.entries.at(0).response_code_details, "upstream_per_try_timeout");
}

TEST_F(HttpEngineTest, PerTryTimeoutIsRetriedWhenRetryOnCoversResetsAlsoOnAPooledConnection) {
  Config c;
  RetryPolicy rp;
  rp.retry_on = "5xx";
  rp.num_retries = 1;
  rp.per_try_timeout = 100_ms;
  c.action().retry_policy = rp;
  c.cluster().lb_policy = LbPolicy::kRandom;
  // One host only, so the second request reuses the pooled connection.
  c.cfg->endpoints[0].endpoints.pop_back();
  start(c);
  connect(1);
  sidecar->on_data(1, bytes(get()));
  ConnId a = upstream(0);
  io.take(a);
  sidecar->on_data(a, bytes(kOk));
  EXPECT_EQ(parse_response(io.take(1)).status, 200);
  // Second request: pooled connection, which never answers.
  sidecar->on_data(1, bytes(get("/slow")));
  ASSERT_EQ(io.connects.size(), 1u);
  EXPECT_EQ(parse_request(io.take(a)).target, "/slow");
  io.advance(*sidecar, io.now() + 100_ms);  // per-try timeout on the pooled connection
  EXPECT_EQ(io.closed.at(a), CloseType::kReset);
  io.advance(*sidecar, io.now() + 30_ms);  // back-off (< 25 ms), well inside the next try's 100 ms
  ASSERT_EQ(io.connects.size(), 2u);
  ConnId b = upstream(1);
  io.take(b);
  sidecar->on_data(b, bytes(kOk));
  EXPECT_EQ(parse_response(io.take(1)).status, 200);
  EXPECT_EQ(log.entries.at(1).attempts, 2u);
  EXPECT_EQ(sidecar->stats().upstream_rq_retry, 1u);
}

// ---------------------------------------------------------------- pooling --

TEST_F(HttpEngineTest, KeepAliveRequestsReuseTheHostsPooledConnection) {
  Config c;  // round robin over two hosts
  start(c);
  connect(1);
  ConnId ups[3];
  for (int i = 0; i < 3; ++i) {
    sidecar->on_data(1, bytes(get("/" + std::to_string(i))));
    if (io.connects.size() == static_cast<size_t>(i + 1) && i < 2) sidecar->on_upstream_connected(io.connects[i].id);
    ups[i] = i < 2 ? io.connects.at(i).id : io.connects.at(0).id;
    EXPECT_EQ(parse_request(io.take(ups[i])).target, "/" + std::to_string(i));
    sidecar->on_data(ups[i], bytes(kOk));
    EXPECT_EQ(parse_response(io.take(1)).status, 200);
  }
  // host 1, host 2, then host 1 again over its pooled connection.
  EXPECT_EQ(io.connects.size(), 2u);
  EXPECT_NE(io.connects[0].to, io.connects[1].to);
  EXPECT_EQ(sidecar->stats().upstream_cx_total, 2u);
  EXPECT_EQ(sidecar->stats().upstream_rq_total, 3u);
}

// A request with a body goes upstream with it (the router starts on the
// data pass; before the fix such a request hung until the client gave up).
TEST_F(HttpEngineTest, ARequestWithABodyReachesTheUpstreamWithItsBody) {
  Config c;
  start(c);
  connect(1);
  sidecar->on_data(1, bytes("POST /post HTTP/1.1\r\nHost: reviews:9080\r\ncontent-length: 5\r\n\r\nhello"));
  ASSERT_EQ(io.connects.size(), 1u);
  ConnId up = upstream(0);
  http::Request seen = parse_request(io.take(up));
  EXPECT_EQ(seen.method, "POST");
  EXPECT_EQ(seen.body, "hello");
  sidecar->on_data(up, bytes(kOk));
  EXPECT_EQ(parse_response(io.take(1)).status, 200);
}

TEST_F(HttpEngineTest, MaxRequestsPerConnectionOneDisablesUpstreamKeepAlive) {
  Config c;
  c.cluster().max_requests_per_connection = 1;
  c.cfg->endpoints[0].endpoints.pop_back();
  start(c);
  connect(1);
  for (int i = 0; i < 2; ++i) {
    sidecar->on_data(1, bytes(get()));
    ConnId up = upstream(static_cast<size_t>(i));
    io.take(up);
    sidecar->on_data(up, bytes(kOk));
    EXPECT_EQ(io.closed.at(up), CloseType::kFin);
  }
  EXPECT_EQ(io.connects.size(), 2u);
}

// ------------------------------------------------------ circuit breakers --
// Envoy's semantics (conn_pool_base.cc, router.cc; research doc §6): a
// request without a ready connection is pending; past max_connections it
// waits for the host's connection instead of opening one; pending or request
// overflow is 503 UO "reset reason: overflow", never retried.

TEST_F(HttpEngineTest, MaxConnectionsQueuesTheRequestAndPendingOverflowIs503Uo) {
  Config c;
  c.cluster().circuit_breakers.max_connections = 1;
  c.cluster().circuit_breakers.max_pending_requests = 1;
  c.cfg->endpoints[0].endpoints.pop_back();  // one host
  start(c);
  connect(1);
  connect(2);
  connect(3);
  sidecar->on_data(1, bytes(get("/a")));
  ConnId up = upstream(0);
  EXPECT_EQ(parse_request(io.take(up)).target, "/a");
  sidecar->on_data(2, bytes(get("/b")));  // max_connections reached: queued behind /a
  EXPECT_EQ(io.connects.size(), 1u);
  EXPECT_EQ(sidecar->stats().upstream_cx_overflow, 1u);
  sidecar->on_data(3, bytes(get("/c")));  // one request pending already: overflow
  http::Response overflow = parse_response(io.take(3));
  EXPECT_EQ(overflow.status, 503);
  EXPECT_EQ(overflow.body, "upstream connect error or disconnect/reset before headers. reset reason: overflow");
  EXPECT_EQ(overflow.headers.get("x-envoy-overloaded").value_or(""), "true");
  EXPECT_EQ(log.entries.at(0).response_flags, "UO");
  EXPECT_EQ(log.entries.at(0).response_code_details, "upstream_reset_before_response_started{overflow}");
  EXPECT_EQ(sidecar->stats().upstream_rq_pending_overflow, 1u);
  // /a's response frees the connection, which carries /b at once.
  sidecar->on_data(up, bytes(kOk));
  EXPECT_EQ(parse_response(io.take(1)).status, 200);
  EXPECT_EQ(parse_request(io.take(up)).target, "/b");
  sidecar->on_data(up, bytes(kOk));
  EXPECT_EQ(parse_response(io.take(2)).status, 200);
  EXPECT_EQ(io.connects.size(), 1u);
}

TEST_F(HttpEngineTest, MaxRequestsCountsAttachedRequestsOfTheCluster) {
  Config c;
  c.cluster().circuit_breakers.max_requests = 1;
  start(c);
  connect(1);
  connect(2);
  sidecar->on_data(1, bytes(get()));
  ConnId up = upstream(0);
  io.take(up);
  sidecar->on_data(2, bytes(get()));
  EXPECT_EQ(parse_response(io.take(2)).status, 503);
  EXPECT_EQ(log.entries.at(0).response_flags, "UO");
  sidecar->on_data(up, bytes(kOk));
  EXPECT_EQ(parse_response(io.take(1)).status, 200);
  sidecar->on_data(2, bytes(get("/again")));  // the slot is free again (round robin: host 1's pooled connection)
  EXPECT_EQ(parse_request(io.take(up)).target, "/again");
}

TEST_F(HttpEngineTest, MaxRetriesOverflowForwardsTheRetriableResponseWithUo) {
  Config c;
  RetryPolicy rp;
  rp.retry_on = "5xx";
  rp.num_retries = 3;
  c.action().retry_policy = rp;
  c.cluster().circuit_breakers.max_retries = 1;
  start(c);
  connect(1);
  connect(2);
  sidecar->on_data(1, bytes(get()));
  sidecar->on_data(2, bytes(get()));
  ConnId a = upstream(0), b = upstream(1);
  io.take(a);
  io.take(b);
  sidecar->on_data(a, bytes(k503));  // first retry takes the only slot
  EXPECT_TRUE(io.take(1).empty());
  sidecar->on_data(b, bytes(k503));  // no slot: the 503 goes to the client
  http::Response r = parse_response(io.take(2));
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, "busy");
  EXPECT_EQ(log.entries.at(0).response_flags, "UO");
  EXPECT_EQ(sidecar->stats().upstream_rq_retry_overflow, 1u);
  EXPECT_EQ(sidecar->stats().upstream_rq_retry, 1u);
}

TEST_F(HttpEngineTest, TcpProxyPastMaxConnectionsClosesAtOnceWithUo) {
  Config c;
  auto& tp = std::get<TcpProxy>(c.cfg->listeners[1].filter_chains[0].filters[0].config);
  tp.cluster = kCluster;
  c.cluster().circuit_breakers.max_connections = 1;
  start(c);
  connect(1, {kVip.ip, 7000});
  sidecar->on_data(1, bytes("first"));
  ASSERT_EQ(io.connects.size(), 1u);
  connect(2, {kVip.ip, 7000});
  sidecar->on_data(2, bytes("second"));
  EXPECT_EQ(io.connects.size(), 1u);
  EXPECT_TRUE(io.closed.count(2));
  EXPECT_EQ(log.entries.at(0).response_flags, "UO");
  EXPECT_EQ(sidecar->stats().upstream_cx_overflow, 1u);
}

TEST_F(HttpEngineTest, MaxRequestsPerConnectionClosesTheConnectionAfterItsLastRequest) {
  Config c;
  c.cluster().max_requests_per_connection = 2;
  c.cfg->endpoints[0].endpoints.pop_back();
  start(c);
  connect(1);
  for (int i = 0; i < 3; ++i) {
    sidecar->on_data(1, bytes(get()));
    if (io.connects.size() == static_cast<size_t>(i == 2 ? 2 : 1) && (i == 0 || i == 2)) {
      sidecar->on_upstream_connected(io.connects.back().id);
    }
    ConnId up = io.connects.back().id;
    io.take(up);
    sidecar->on_data(up, bytes(kOk));
    EXPECT_EQ(parse_response(io.take(1)).status, 200);
  }
  EXPECT_EQ(io.connects.size(), 2u);
  EXPECT_EQ(io.closed.at(io.connects[0].id), CloseType::kFin);
  EXPECT_EQ(sidecar->stats().upstream_cx_max_requests, 1u);
}

// ---------------------------------------------------------- idle timeouts --

TEST_F(HttpEngineTest, DownstreamIdleTimeoutClosesAConnectionWithoutActiveRequests) {
  Config c;
  c.hcm->idle_timeout = 5_s;
  start(c);
  connect(1);
  sidecar->on_data(1, bytes(get()));
  io.advance(*sidecar, 6_s);  // a request is active: the timer re-arms, nothing closes
  EXPECT_EQ(io.closed.count(1), 0u);
  ConnId up = upstream(0);
  io.take(up);
  sidecar->on_data(up, bytes(kOk));  // idle from 6 s
  io.advance(*sidecar, 10999_ms);
  EXPECT_EQ(io.closed.count(1), 0u);
  io.advance(*sidecar, 11_s);
  EXPECT_EQ(io.closed.at(1), CloseType::kFin);
  EXPECT_EQ(sidecar->stats().downstream_cx_idle_timeout, 1u);
}

TEST_F(HttpEngineTest, UpstreamIdleTimeoutClosesAPooledConnection) {
  Config c;
  c.cluster().idle_timeout = 2_s;
  start(c);
  connect(1);
  sidecar->on_data(1, bytes(get()));
  ConnId up = upstream(0);
  io.take(up);
  sidecar->on_data(up, bytes(kOk));
  io.advance(*sidecar, 1999_ms);
  EXPECT_EQ(io.closed.count(up), 0u);
  io.advance(*sidecar, 2_s);
  EXPECT_EQ(io.closed.at(up), CloseType::kFin);
}

// ------------------------------------------------------------------ drain --

TEST_F(HttpEngineTest, APushThatChangesTheChainClosesIdleHttpConnectionsAtOnceAndBusyOnesAfterTheResponse) {
  Config c;
  start(c);
  connect(1);
  connect(2);
  sidecar->on_data(2, bytes(get()));  // connection 2 is busy
  ConnId up = upstream(0);
  io.take(up);
  Config changed;
  changed.hcm->route_config_name = "9080-v2";  // a different chain
  sidecar->apply_config(changed.cfg);
  EXPECT_EQ(io.closed.at(1), CloseType::kFin) << "idle connection of the changed chain not drained";
  EXPECT_EQ(io.closed.count(2), 0u);
  sidecar->on_data(up, bytes(kOk));
  http::Response r = parse_response(io.take(2));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers.get("connection").value_or(""), "close");
  EXPECT_EQ(io.closed.at(2), CloseType::kFin);
}

TEST_F(HttpEngineTest, UnchangedChainsKeepTheirConnectionsAcrossAPush) {
  Config c;
  start(c);
  connect(1);
  Config same;
  sidecar->apply_config(same.cfg);
  EXPECT_EQ(io.closed.count(1), 0u);
  sidecar->on_data(1, bytes(get()));
  EXPECT_EQ(io.connects.size(), 1u);
}

// ------------------------------------------------------ deferred deletion --

// The tls_inspector held the client's bytes while the chain was selected;
// tcp_proxy then closed the connection at once (no such cluster). The old
// engine destroyed the connection there and went on to read its peeked
// bytes (a read after free ASan reports); the connection must stay valid
// until the entry point returns and be destroyed then.
TEST_F(HttpEngineTest, TcpProxyClosingDuringChainSelectionLeavesPeekedBytesSafe) {
  Config c;
  start(c);
  connect(1, {kVip.ip, 7000});
  sidecar->on_data(1, bytes("plaintext the inspector peeked"));
  EXPECT_TRUE(io.closed.count(1));
  ASSERT_EQ(log.entries.size(), 1u);
  EXPECT_EQ(log.entries[0].response_flags, "NC");
  EXPECT_EQ(sidecar->open_connections(), 0u);
  EXPECT_EQ(sidecar->stats().deferred_deleted, 1u);
  EXPECT_EQ(sidecar->stats().downstream_cx_active, 0u);
}

// A 426 reply closes the connection in the middle of the pipelining loop;
// the old engine then read the freed HTTP session. Only the first request is
// answered and nothing goes upstream.
TEST_F(HttpEngineTest, PipelinedRequestsAfterA426CloseAreNotProcessed) {
  Config c;
  start(c);
  connect(1);
  sidecar->on_data(1, bytes("GET / HTTP/1.0\r\nHost: reviews\r\n\r\n" + get("/second")));
  std::string wire = io.take(1);
  EXPECT_EQ(parse_response(wire).status, 426);
  EXPECT_EQ(wire.find("HTTP/1.1 200"), std::string::npos);
  EXPECT_TRUE(io.connects.empty());
  EXPECT_EQ(io.closed.at(1), CloseType::kFin);
  EXPECT_EQ(log.entries.size(), 1u);
  EXPECT_EQ(sidecar->stats().deferred_deleted, 1u);
}

TEST_F(HttpEngineTest, PipelinedRequestsAreAnsweredInOrderOneAtATime) {
  Config c;
  c.cfg->endpoints[0].endpoints.pop_back();
  start(c);
  connect(1);
  sidecar->on_data(1, bytes(get("/a") + get("/b")));
  ConnId up = upstream(0);
  EXPECT_EQ(parse_request(io.take(up)).target, "/a");  // /b waits for /a's response
  sidecar->on_data(up, bytes(kOk));
  EXPECT_EQ(parse_request(io.take(up)).target, "/b");
  sidecar->on_data(up, bytes(kOk));
  std::string wire = io.take(1);
  size_t first = wire.find("HTTP/1.1 200");
  ASSERT_NE(first, std::string::npos);
  EXPECT_NE(wire.find("HTTP/1.1 200", first + 1), std::string::npos) << wire;
  EXPECT_EQ(log.entries.size(), 2u);
  EXPECT_EQ(sidecar->stats().downstream_rq_2xx, 2u);
}

}  // namespace http_engine_test
}  // namespace meshsim::proxy
