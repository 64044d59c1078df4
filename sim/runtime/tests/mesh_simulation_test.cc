// Full-simulation tests: manifests → world → control plane → sidecars with
// real mTLS on the virtual network → virtual apps. What the apps saw and what
// the sidecars logged is checked.
#include "sim/runtime/mesh_simulation.h"

#include <gtest/gtest.h>

#include "mesh/loader.h"
#include "mesh/mesh_config.h"
#include "proxy/access_log.h"

namespace meshsim::sim {
namespace {

constexpr const char* kMesh = R"(
apiVersion: v1
kind: Namespace
metadata: {name: default, labels: {istio-injection: enabled}}
---
apiVersion: v1
kind: Namespace
metadata: {name: legacy}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: httpbin, namespace: default}
---
apiVersion: v1
kind: Service
metadata: {name: httpbin, namespace: default}
spec:
  selector: {app: httpbin}
  ports: [{name: http, port: 8000, targetPort: 8080}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: httpbin, namespace: default}
spec:
  replicas: 1
  selector: {matchLabels: {app: httpbin}}
  template:
    metadata: {labels: {app: httpbin, version: v1}}
    spec:
      serviceAccountName: httpbin
      containers: [{name: httpbin, image: kennethreitz/httpbin, ports: [{containerPort: 8080}]}]
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: sleep, namespace: default}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: sleep, namespace: default}
spec:
  selector: {matchLabels: {app: sleep}}
  template:
    metadata: {labels: {app: sleep}}
    spec:
      serviceAccountName: sleep
      containers: [{name: sleep, image: curlimages/curl}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: sleep, namespace: legacy}
spec:
  selector: {matchLabels: {app: sleep}}
  template:
    metadata: {labels: {app: sleep}}
    spec:
      containers: [{name: sleep, image: curlimages/curl}]
)";

std::shared_ptr<const mesh::World> world(const std::string& extra = "") {
  mesh::ResourceSet rs;
  std::vector<mesh::Diagnostic> diags;
  mesh::load_text(std::string(kMesh) + extra, "test.yaml", rs, diags);
  for (const auto& d : diags) EXPECT_NE(d.severity, mesh::Severity::kError) << d.format();
  mesh::MeshConfig mc = mesh::resolve_mesh_config(rs, diags);
  return std::make_shared<const mesh::World>(mesh::build_world(std::move(rs), mc, diags));
}

struct Logs {
  std::vector<std::pair<std::string, proxy::AccessLogEntry>> entries;
  std::vector<std::string> outcomes;
};

class MeshSimTest : public ::testing::Test {
 protected:
  void start(const std::string& extra = "") {
    ms = std::make_unique<MeshSimulation>(world(extra), MeshSimulationOptions{});
    ASSERT_TRUE(ms->build().ok());
    ms->sim().subscribe([this](const Observation& o) {
      if (const auto* a = std::get_if<AccessLogObservation>(&o.payload)) {
        logs.entries.emplace_back(std::string(a->pod), *a->entry);
      }
    });
  }
  const mesh::WorldPod& pod(const char* ns, const char* app) {
    return *ms->world().pods_matching(ns, mesh::Labels{{"app", app}}).front();
  }
  ClientApp* curl(const char* ns, ClientRequestSpec spec) {
    const auto& p = pod(ns, "sleep");
    return ms->add_client(ms->host_of(p.namespace_, p.name), std::string(ns) + "/sleep", spec, {});
  }
  const proxy::AccessLogEntry* log_of(const char* ns, const char* app, proxy::TrafficDirection dir) {
    const auto& p = pod(ns, app);
    std::string k = p.namespace_ + "/" + p.name;
    for (auto& [pod_key, e] : logs.entries) {
      if (pod_key == k && e.direction == dir) return &e;
    }
    return nullptr;
  }

  std::unique_ptr<MeshSimulation> ms;
  Logs logs;
};

ClientRequestSpec get(std::string target, std::string path = "/headers") {
  ClientRequestSpec s;
  s.protocol = "http";
  s.target = std::move(target);
  s.path = std::move(path);
  return s;
}

TEST_F(MeshSimTest, MeshClientReachesMeshServerOverRealMutualTls) {
  start();
  ClientApp* c = curl("default", get("httpbin:8000"));
  ms->run_until(Duration::seconds(5));
  ASSERT_EQ(c->completed(), 1u);
  EXPECT_EQ(c->last().outcome, AppOutcomeObservation::Outcome::kOk) << c->last().error;
  EXPECT_EQ(c->last().http_status, 200);
  const std::string& body = c->last().response.body;
  // The server app saw the client's identity in XFCC, and the sidecar's source address.
  EXPECT_NE(body.find("RequestHeader=x-forwarded-client-cert:By=spiffe://cluster.local/ns/default/sa/httpbin;Hash="),
            std::string::npos)
      << body;
  EXPECT_NE(body.find(";URI=spiffe://cluster.local/ns/default/sa/sleep"), std::string::npos) << body;
  EXPECT_NE(body.find("IP=127.0.0.6\n"), std::string::npos) << body;
  const proxy::AccessLogEntry* out = log_of("default", "sleep", proxy::TrafficDirection::kOutbound);
  ASSERT_NE(out, nullptr);
  EXPECT_EQ(out->listener, "0.0.0.0_8000");
  EXPECT_EQ(out->cluster, "outbound|8000||httpbin.default.svc.cluster.local");
  EXPECT_TRUE(out->upstream_tls.handshake_complete);
  EXPECT_EQ(out->upstream_tls.peer_principal(), "spiffe://cluster.local/ns/default/sa/httpbin");
  const proxy::AccessLogEntry* in = log_of("default", "httpbin", proxy::TrafficDirection::kInbound);
  ASSERT_NE(in, nullptr);
  EXPECT_EQ(in->listener, "virtualInbound");
  EXPECT_EQ(in->filter_chain, "0.0.0.0_8080");
  EXPECT_EQ(in->cluster, "inbound|8080||");
  EXPECT_EQ(in->downstream_tls.peer_principal(), "spiffe://cluster.local/ns/default/sa/sleep");
  EXPECT_EQ(in->downstream_tls.alpn, "http/1.1");
}

TEST_F(MeshSimTest, LegacyClientWorksUnderPermissiveAndFailsUnderStrict) {
  start();
  ClientApp* ok = curl("legacy", get("httpbin.default:8000"));
  ms->run_until(Duration::seconds(5));
  EXPECT_EQ(ok->last().http_status, 200) << ok->last().error;
  const proxy::AccessLogEntry* in = log_of("default", "httpbin", proxy::TrafficDirection::kInbound);
  ASSERT_NE(in, nullptr);
  EXPECT_FALSE(in->downstream_tls.tls);

  ms->apply_world(world(R"(---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: istio-system}
spec: {mtls: {mode: STRICT}}
)"));
  ms->run_until(Duration::seconds(6));
  ClientApp* bad = curl("legacy", get("httpbin.default:8000"));
  ClientApp* mesh = curl("default", get("httpbin:8000"));
  ms->run_until(Duration::seconds(20));
  EXPECT_EQ(bad->last().outcome, AppOutcomeObservation::Outcome::kReset);
  EXPECT_EQ(bad->last().error, "curl: (56) Recv failure: Connection reset by peer");
  EXPECT_EQ(mesh->last().http_status, 200) << mesh->last().error;
}

constexpr const char* kFront = R"(
---
apiVersion: v1
kind: Service
metadata: {name: front, namespace: default}
spec:
  selector: {app: front}
  ports: [{name: http, port: 8080}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: front, namespace: default}
spec:
  selector: {matchLabels: {app: front}}
  template:
    metadata: {labels: {app: front}}
    spec:
      containers: [{name: front, image: example/front, ports: [{containerPort: 8080}]}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: reviews-v2, namespace: default}
spec:
  selector: {matchLabels: {app: reviews, version: v2}}
  template:
    metadata: {labels: {app: reviews, version: v2}}
    spec:
      containers: [{name: reviews, image: docker.io/istio/examples-bookinfo-reviews-v2:1.20.2, ports: [{containerPort: 9080}]}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: reviews-v3, namespace: default}
spec:
  selector: {matchLabels: {app: reviews, version: v3}}
  template:
    metadata:
      labels: {app: reviews, version: v3}
      annotations: {meshsim.io/app: http-echo}
    spec:
      containers: [{name: reviews, image: docker.io/istio/examples-bookinfo-reviews-v3:1.20.2, ports: [{containerPort: 9080}]}]
)";

// The app's call times out after its own timeout (the backend holds the
// answer longer), the timed-out connection is not reused, the next call is
// still made, and the app answers 200 naming both results.
TEST(MeshSimCalls, ACallTimesOutAndTheAppStillAnswers) {
  auto w = world(kFront);
  const mesh::WorldPod& front = *w->pods_matching("default", mesh::Labels{{"app", "front"}}).front();
  MeshSimulationOptions mo;
  ServerAppOptions so;
  AppCall slow;
  slow.host = "httpbin";
  slow.port = 8000;
  slow.path = "/slow?delay=2s";
  slow.timeout = Duration::millis(500);
  AppCall fast = slow;
  fast.path = "/fast";
  so.calls = std::vector<AppCall>{slow, fast};
  so.propagate = apps::HeaderPropagation::list({"x-user"});
  mo.server_overrides["default/" + front.name + ":8080"] = so;
  MeshSimulation ms(w, mo);
  ASSERT_TRUE(ms.build().ok());
  struct Call {
    AppOutcomeObservation::Outcome outcome;
    int status;
    int64_t latency_ns;
    uint64_t connection;
    std::string forwarded, dropped, workload;
  };
  std::vector<Call> calls;
  ms.sim().subscribe([&](const Observation& o) {
    if (const auto* c = std::get_if<AppCallObservation>(&o.payload)) {
      Call k{c->outcome, c->http_status, c->latency_ns, c->connection, "", "", std::string(c->workload)};
      for (auto n : c->forwarded) k.forwarded += std::string(n) + ";";
      for (auto n : c->dropped) k.dropped += std::string(n) + ";";
      calls.push_back(k);
    }
  });
  const mesh::WorldPod& sleep = *w->pods_matching("default", mesh::Labels{{"app", "sleep"}}).front();
  ClientRequestSpec spec = get("front:8080", "/page");
  spec.headers = {{"x-user", "jason"}, {"traceparent", "00-463ac35c9f6413ad48485a3953bb6124-a2fb4a1d1a96d312-01"}};
  ClientApp* c = ms.add_client(ms.host_of("default", sleep.name), "default/sleep", spec, {});
  ms.run_until(Duration::seconds(5));
  ASSERT_EQ(c->completed(), 1u);
  EXPECT_EQ(c->last().http_status, 200) << c->last().error;
  EXPECT_NE(c->last().response.body.find("Call=GET httpbin:8000/slow?delay=2s timeout\n"), std::string::npos)
      << c->last().response.body;
  EXPECT_NE(c->last().response.body.find("Call=GET httpbin:8000/fast 200\n"), std::string::npos)
      << c->last().response.body;
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].outcome, AppOutcomeObservation::Outcome::kTimeout);
  EXPECT_EQ(calls[0].latency_ns, Duration::millis(500).ns());
  EXPECT_EQ(calls[1].outcome, AppOutcomeObservation::Outcome::kOk);
  EXPECT_NE(calls[0].connection, calls[1].connection);  // the timed-out connection was reset, not reused
  EXPECT_EQ(calls[0].workload, "front");
  EXPECT_EQ(calls[0].forwarded, "x-user;");
  EXPECT_EQ(calls[0].dropped, "user-agent;traceparent;x-request-id;");  // arrival order
}

// Bookinfo's images bring their calls; the meshsim.io/app annotation
// replaces the inference (no calls).
TEST(MeshSimCalls, BookinfoImagesAreInferredAndTheAnnotationOverridesThem) {
  MeshSimulation ms(world(kFront), MeshSimulationOptions{});
  ASSERT_TRUE(ms.build().ok());
  const AppInference* v2 = nullptr;
  const AppInference* v3 = nullptr;
  for (const auto& [id, inf] : ms.inferred_apps()) {
    if (id.find("/reviews-v2-") != std::string::npos) v2 = &inf;
    if (id.find("/reviews-v3-") != std::string::npos) v3 = &inf;
  }
  ASSERT_TRUE(v2 && v3);
  ASSERT_EQ(v2->calls.size(), 1u);
  EXPECT_EQ(v2->calls[0].target(), "ratings:9080");
  EXPECT_EQ(v2->calls[0].path, "/ratings/0");
  EXPECT_EQ(v2->calls[0].timeout, Duration::seconds(10));
  EXPECT_EQ(v2->propagate.text, "all");
  EXPECT_NE(v2->reason.find("Bookinfo reviews v2"), std::string::npos) << v2->reason;
  EXPECT_TRUE(v3->calls.empty());
  EXPECT_EQ(v3->kind, ServerAppKind::kHttpEcho);
  EXPECT_EQ(v3->reason, "annotation meshsim.io/app=http-echo");
  AppInference pp;
  ASSERT_TRUE(bookinfo_app("registry.istio.io/release/examples-bookinfo-productpage-v1:1.20.3", pp));
  ASSERT_EQ(pp.calls.size(), 2u);
  EXPECT_EQ(pp.calls[1].target(), "reviews:9080");
  EXPECT_EQ(pp.calls[1].attempts, 2);
  EXPECT_EQ(pp.propagate.kind, apps::HeaderPropagation::Kind::kProductpage);
  AppInference v3img;
  ASSERT_TRUE(bookinfo_app("docker.io/istio/examples-bookinfo-reviews-v3:1.20.2", v3img));
  EXPECT_EQ(v3img.calls[0].timeout, Duration::millis(2500));
  EXPECT_FALSE(bookinfo_app("docker.io/istio/examples-bookinfo-mysqldb:1.20.2", pp));
}

}  // namespace
}  // namespace meshsim::sim
