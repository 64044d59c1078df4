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

const std::string kMesh = R"(
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
---
apiVersion: v1
kind: Service
metadata: {name: ghost, namespace: foo}
spec:
  selector: {app: ghost}
  ports:
  - {name: grpc, port: 9090}
)";

struct Sim {
  explicit Sim(const std::string& extra = "") {
    MeshSimulationOptions o;
    o.kubelet_probes = false;
    ms = std::make_unique<MeshSimulation>(world_from(kMesh + extra), o);
    Status st = ms->build();
    EXPECT_TRUE(st.ok()) << st.message();
    ms->sim().subscribe([this](const Observation& obs) {
      if (const auto* a = std::get_if<AccessLogObservation>(&obs.payload)) {
        if (a->entry->http) logs.push_back(*a->entry);
      }
    });
  }
  ProbeResult probe(const std::string& to, const std::string& protocol = "http", const std::string& method = "Check",
                    const std::string& service = "grpc.health.v1.Health", const std::string& message = "") {
    ProbeRequest r;
    r.from = "foo/sleep";
    r.to = to;
    r.protocol = protocol;
    r.grpc_service = service;
    r.grpc_method = method;
    r.grpc_message = message;
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

// ------------------------------------------------------------------ gRPC --

// A gRPC client (h2c to its sidecar, prior knowledge) calls the health
// service of the echo app: HealthCheckResponse{status: SERVING} is field 1
// varint 1, framed with the 5-byte length prefix; grpc-status 0 in trailers.
TEST(Grpc, HealthCheckThroughTwoSidecarsIsServingWithStatusInTrailers) {
  Sim s;
  ProbeResult r = s.probe("echo.foo:9090", "grpc");
  EXPECT_EQ(r.outcome, "ok") << r.client_error;
  EXPECT_EQ(r.http_status, 200);
  EXPECT_EQ(r.grpc_status, 0);
  EXPECT_EQ(r.grpc_status_name, "OK");
  EXPECT_EQ(r.response_body, std::string("\0\0\0\0\x02\x08\x01", 7));
  bool trailer = false;
  for (const auto& [k, v] : r.response_headers) trailer |= k == "grpc-status" && v == "0";
  EXPECT_TRUE(trailer);
  // Downstream HTTP/2 on both sidecars (h2c from the app, h2 over mTLS).
  EXPECT_EQ(s.stats("sleep").downstream_cx_http2, 1u);
  EXPECT_EQ(s.stats("echo").downstream_cx_http2, 1u);
  for (const auto& e : s.logs) EXPECT_EQ(e.protocol, "HTTP/2");
}

TEST(Grpc, EchoCallCarriesTheRequestMessageToTheApp) {
  Sim s;
  ProbeResult r = s.probe("echo.foo:9090", "grpc", "Echo", "proto.EchoTestService", "hello grpc");
  EXPECT_EQ(r.grpc_status, 0) << r.client_error;
  EXPECT_NE(r.response_body.find("Echo=hello grpc"), std::string::npos);
  EXPECT_NE(r.response_body.find("Proto=HTTP/2.0"), std::string::npos);
  EXPECT_NE(r.response_body.find("RequestHeader=content-type:application/grpc"), std::string::npos);
}

TEST(Grpc, UnknownMethodIsUnimplementedFromTheServer) {
  Sim s;
  ProbeResult r = s.probe("echo.foo:9090", "grpc", "Watch");
  EXPECT_EQ(r.outcome, "http_error");
  EXPECT_EQ(r.grpc_status, 12);
  EXPECT_EQ(r.grpc_message, "unknown method Watch for service grpc.health.v1.Health");
  EXPECT_EQ(r.client_error, "rpc error: code = Unimplemented desc = unknown method Watch for service grpc.health.v1.Health");
}

// Envoy answers a gRPC request locally with a trailers-only response: HTTP
// 200, grpc-status from httpToGrpcStatus (503 → UNAVAILABLE 14), the body
// text as grpc-message; the response flag stays what it was (UH).
TEST(Grpc, NoHealthyUpstreamIsUnavailableWithEnvoysText) {
  Sim s;
  ProbeResult r = s.probe("ghost.foo:9090", "grpc");
  EXPECT_EQ(r.http_status, 200);
  EXPECT_EQ(r.grpc_status, 14);
  EXPECT_EQ(r.grpc_status_name, "UNAVAILABLE");
  EXPECT_EQ(r.grpc_message, "no healthy upstream");
  EXPECT_EQ(r.client_error, "rpc error: code = Unavailable desc = no healthy upstream");
  ASSERT_TRUE(r.client_sidecar);
  EXPECT_EQ(r.client_sidecar->response_flags, "UH");
  EXPECT_EQ(r.client_sidecar->response_code, 200);
  bool ct = false;
  for (const auto& [k, v] : r.response_headers) ct |= k == "content-type" && v == "application/grpc";
  EXPECT_TRUE(ct);
}

TEST(Grpc, RbacDenialIsPermissionDenied) {
  Sim s(R"(
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-all, namespace: foo}
spec:
  selector: {matchLabels: {app: echo}}
  action: DENY
  rules: [{}]
)");
  ProbeResult r = s.probe("echo.foo:9090", "grpc");
  EXPECT_EQ(r.outcome, "denied");
  EXPECT_EQ(r.grpc_status, 7);
  EXPECT_EQ(r.grpc_message, "RBAC: access denied");
  // The server sidecar's RBAC filter denied it (http.<stat_prefix>.rbac.denied).
  uint64_t denied = 0;
  for (const auto& [name, n] : s.stats("echo").named) {
    if (name.size() > 12 && name.compare(name.size() - 12, 12, ".rbac.denied") == 0 && name.rfind("http.", 0) == 0) denied += n;
  }
  EXPECT_EQ(denied, 1u);
  ASSERT_TRUE(r.server_sidecar);
  EXPECT_EQ(r.server_sidecar->response_code, 200);  // the gRPC local reply's :status
}

}  // namespace
}  // namespace meshsim::sim
