// HTTP/2 through the full simulation: a client app speaking HTTP/1.1 to a
// `grpc`/`http2` port goes upstream as HTTP/2 over mTLS (istio.alpn offers
// istio-h2, istio, h2; the server's TLS context picks h2), the inbound
// sidecar's HCM chooses its HTTP/2 codec from the ALPN and speaks h2c to the
// application (the inbound cluster has http2_protocol_options too), and many
// concurrent client connections share one multiplexed upstream connection
// (Envoy's HTTP/2 pool). Sources: Istio pilot/pkg/xds/filters/filters.go
// (Alpn, mtlsHTTP2ALPN), pilot/pkg/networking/core/cluster_builder.go
// (setH2Options for HTTP2/GRPC ports), Envoy conn_manager_utility.cc
// (determineNextProtocol), source/common/http/http2/conn_pool.cc.
#include <gtest/gtest.h>

#include "proxy/access_log.h"
#include "sim/runtime/mesh_simulation.h"
#include "sim/runtime/probe.h"
#include "sim/runtime/tests/sim_test_util.h"

namespace meshsim::sim {
namespace {

using testing::world_from;

constexpr const char* kMesh = R"(
apiVersion: v1
kind: Namespace
metadata: {name: istio-system}
---
apiVersion: v1
kind: Namespace
metadata: {name: foo, labels: {istio-injection: enabled}}
---
apiVersion: v1
kind: Namespace
metadata: {name: legacy}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: sleep, namespace: foo}
---
apiVersion: v1
kind: Pod
metadata: {name: sleep, namespace: foo, labels: {app: sleep}}
spec:
  serviceAccountName: sleep
  containers: [{name: sleep, image: curlimages/curl}]
---
apiVersion: v1
kind: Pod
metadata: {name: sleep, namespace: legacy, labels: {app: sleep}}
spec:
  containers: [{name: sleep, image: curlimages/curl}]
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: echo, namespace: foo}
---
apiVersion: v1
kind: Pod
metadata: {name: echo, namespace: foo, labels: {app: echo}}
spec:
  serviceAccountName: echo
  containers: [{name: app, image: istio/app, ports: [{containerPort: 8080}, {containerPort: 8081}, {containerPort: 9090}]}]
---
apiVersion: v1
kind: Service
metadata: {name: echo, namespace: foo}
spec:
  selector: {app: echo}
  ports:
  - {name: http, port: 80, targetPort: 8080}
  - {name: http2, port: 81, targetPort: 8081}
  - {name: grpc, port: 9090, targetPort: 9090}
)";

struct Sim {
  Sim() {
    MeshSimulationOptions o;
    o.kubelet_probes = false;
    ms = std::make_unique<MeshSimulation>(world_from(kMesh), o);
    Status st = ms->build();
    EXPECT_TRUE(st.ok()) << st.message();
    ms->sim().subscribe([this](const Observation& obs) {
      if (const auto* a = std::get_if<AccessLogObservation>(&obs.payload)) {
        if (a->entry->http) logs.push_back(*a->entry);
      }
    });
  }
  ProbeResult probe(const std::string& to) {
    ProbeRequest r;
    r.from = "foo/sleep";
    r.to = to;
    r.protocol = "http";
    auto res = probe_on(*ms, r);
    EXPECT_TRUE(res.ok()) << res.message();
    return res.ok() ? *res : ProbeResult{};
  }
  const proxy::SidecarStats& stats(const char* pod) { return ms->sidecar("foo", pod)->stats(); }
  std::unique_ptr<MeshSimulation> ms;
  std::vector<proxy::AccessLogEntry> logs;
};

TEST(Http2, Http11RequestToAGrpcPortGoesUpstreamAsHttp2OverMtlsAndReachesTheAppAsH2c) {
  Sim s;
  ProbeResult r = s.probe("echo.foo:9090");
  EXPECT_EQ(r.outcome, "ok");
  EXPECT_EQ(r.http_status, 200);
  // The application saw HTTP/2 (the inbound sidecar's h2c upstream).
  EXPECT_NE(r.response_body.find("Proto=HTTP/2.0"), std::string::npos) << r.response_body;
  EXPECT_NE(r.response_body.find("RequestHeader=x-forwarded-client-cert:"), std::string::npos);
  // istio.alpn's HTTP/2 list offered; the server's ["h2","http/1.1"] chose h2.
  EXPECT_TRUE(r.wire.mtls);
  EXPECT_EQ(r.wire.alpn, (std::vector<std::string>{"istio-h2", "istio", "h2"}));
  EXPECT_EQ(r.wire.negotiated_alpn, "h2");
  EXPECT_EQ(s.stats("sleep").upstream_cx_http2_total, 1u);
  EXPECT_EQ(s.stats("echo").downstream_cx_http2, 1u);
  EXPECT_EQ(s.stats("echo").downstream_rq_http2_total, 1u);
  EXPECT_EQ(s.stats("echo").upstream_cx_http2_total, 1u);  // inbound|9090|| speaks h2c to the app
  // Access logs: the client sidecar's downstream is HTTP/1.1, the server's HTTP/2.
  bool outbound = false, inbound = false;
  for (const auto& e : s.logs) {
    if (e.direction == proxy::TrafficDirection::kOutbound) {
      outbound = true;
      EXPECT_EQ(e.protocol, "HTTP/1.1");
      EXPECT_EQ(e.cluster, "outbound|9090||echo.foo.svc.cluster.local");
      EXPECT_EQ(e.response_code, 200);
    } else {
      inbound = true;
      EXPECT_EQ(e.protocol, "HTTP/2");
      EXPECT_EQ(e.cluster, "inbound|9090||");
      EXPECT_EQ(e.response_code, 200);
      EXPECT_EQ(e.response_flags, "-");
    }
  }
  EXPECT_TRUE(outbound);
  EXPECT_TRUE(inbound);
}

TEST(Http2, AnHttpPortStaysHttp11EndToEnd) {
  Sim s;
  ProbeResult r = s.probe("echo.foo:80");
  EXPECT_EQ(r.http_status, 200);
  EXPECT_NE(r.response_body.find("Proto=HTTP/1.1"), std::string::npos) << r.response_body;
  EXPECT_EQ(r.wire.alpn, (std::vector<std::string>{"istio-http/1.1", "istio", "http/1.1"}));
  EXPECT_EQ(r.wire.negotiated_alpn, "http/1.1");
  EXPECT_EQ(s.stats("sleep").upstream_cx_http2_total, 0u);
  EXPECT_EQ(s.stats("echo").downstream_cx_http2, 0u);
}

// Envoy's HTTP/2 pool: the streams of every downstream connection share the
// host's one upstream connection (max_concurrent_streams 2^31-1 by default),
// where HTTP/1.1 opens one connection per concurrent request.
TEST(Http2, SixteenConcurrentClientsShareOneMultiplexedUpstreamConnection) {
  for (const char* port : {"81", "80"}) {
    Sim s;
    ClientRequestSpec spec;
    spec.protocol = "http";
    spec.target = std::string("echo.foo:") + port;
    spec.keep_alive = true;
    ClientSchedule sched;
    sched.count = 64;
    sched.concurrency = 16;
    sched.start = Duration::seconds(1);
    ClientApp* c = s.ms->add_client(s.ms->host_of("foo", "sleep"), "foo/sleep", spec, sched);
    s.ms->run_until(Duration::seconds(5));
    ASSERT_EQ(c->completed(), 64u) << port;
    EXPECT_EQ(c->succeeded(), 64u) << port;
    bool h2 = std::string(port) == "81";
    if (h2) {
      EXPECT_EQ(s.stats("sleep").upstream_cx_total, 1u);
      EXPECT_EQ(s.stats("sleep").upstream_cx_http2_total, 1u);
      EXPECT_EQ(s.stats("echo").downstream_cx_http2, 1u);
      EXPECT_EQ(s.stats("echo").downstream_rq_http2_total, 64u);
      EXPECT_EQ(s.stats("echo").upstream_cx_total, 1u);  // and one h2c connection to the app
    } else {
      EXPECT_EQ(s.stats("sleep").upstream_cx_total, 16u);
      EXPECT_EQ(s.stats("echo").downstream_cx_http2, 0u);
    }
    EXPECT_EQ(s.stats("sleep").downstream_rq_total, 64u);
  }
}

}  // namespace
}  // namespace meshsim::sim
