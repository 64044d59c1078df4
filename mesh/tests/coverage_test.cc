// The coverage report names exactly what the input asks of Istio that
// meshsim does not simulate. The fixture holds every Istio kind (and the
// Gateway API and EnvoyFilter kinds meshsim does not decode); the expected
// list is what the control plane and engine ignore today — when a later
// change starts simulating one of them, this test must change with it.
#include <gtest/gtest.h>

#include <set>

#include "mesh/coverage.h"
#include "mesh/analyzers.h"
#include "mesh/loader.h"
#include "mesh/mesh_config.h"
#include "mesh/world.h"

namespace meshsim::mesh {
namespace {

constexpr const char* kEveryKind = R"(
apiVersion: v1
kind: Namespace
metadata: {name: default, labels: {istio-injection: enabled}}
---
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: default}
spec:
  selector: {app: reviews}
  ports: [{name: http, port: 9080}, {name: grpc-web, port: 9090}]
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: default}
spec: {mtls: {mode: STRICT}}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-all, namespace: default}
spec: {}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ext-authz, namespace: default}
spec: {action: CUSTOM, provider: {name: opa}, rules: [{to: [{operation: {paths: [/admin]}}]}]}
---
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: jwt, namespace: default}
spec: {jwtRules: [{issuer: "https://example.com"}]}
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: mesh-default, namespace: default}
spec:
  tracing: [{randomSamplingPercentage: 100, customTags: {env: {literal: {value: prod}}, user: {header: {name: x-user}}}}]
  metrics: [{providers: [{name: prometheus}], overrides: [{match: {metric: REQUEST_COUNT}, disabled: true}]}]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  selector: {istio: ingressgateway}
  servers:
  - {port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}
  - {port: {number: 15443, name: tls, protocol: TLS}, hosts: ["*.local"], tls: {mode: AUTO_PASSTHROUGH}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews]
  gateways: [gw, mesh]
  http:
  - route: [{destination: {host: reviews}}]
    mirror: {host: reviews}
    corsPolicy: {allowOrigins: [{exact: "https://a.example"}]}
    retries: {attempts: 3, retryOn: 5xx}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: default}
spec:
  host: reviews
  trafficPolicy:
    loadBalancer: {consistentHash: {httpHeaderName: x-user}}
    outlierDetection: {consecutive5xxErrors: 5}
    connectionPool: {tcp: {maxConnections: 10}, http: {http1MaxPendingRequests: 1}}
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: default}
spec: {egress: [{hosts: ["./*"]}]}
---
apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata: {name: lua, namespace: default}
spec: {}
---
apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata: {name: wasm, namespace: default}
spec: {url: "oci://example/plugin"}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: route, namespace: default}
spec:
  parentRefs:
  - {name: gw}
  - {group: "", kind: Service, name: reviews}
  - {group: networking.istio.io, kind: ServiceEntry, name: external}
  - {group: gateway.networking.x-k8s.io, kind: XListenerSet, name: extra}
---
apiVersion: v1
kind: Secret
metadata: {name: creds, namespace: default}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: probed, namespace: default}
spec:
  selector: {matchLabels: {app: probed}}
  template:
    metadata: {labels: {app: probed}}
    spec:
      containers:
      - name: app
        image: example/app
        readinessProbe: {httpGet: {path: /ready, port: 8080}}
        livenessProbe: {exec: {command: [cat, /tmp/healthy]}}
)";

TEST(Coverage, NamesExactlyWhatIsNotSimulated) {
  ResourceSet rs;
  std::vector<Diagnostic> diags;
  load_text(kEveryKind, "every-kind.yaml", rs, diags);
  for (const auto& d : diags) EXPECT_NE(d.severity, Severity::kError) << d.format();
  std::set<std::string> got;
  for (const auto& nm : not_modelled(rs)) {
    got.insert(nm.kind + " " + nm.object + (nm.field.empty() ? "" : " " + nm.field));
    EXPECT_TRUE(nm.location.known()) << nm.line();
    EXPECT_NE(nm.line().find("every-kind.yaml:"), std::string::npos) << nm.line();
  }
  // PeerAuthentication, ALLOW/DENY/AUDIT AuthorizationPolicies, the VirtualService's routes, mirror, CORS and
  // retries, the connection pool, consistent-hash load balancing, outlier detection, the Sidecar's
  // egress hosts, the Gateway's HTTP server and the VirtualService's gateway binding are simulated,
  // so they are not listed; neither is the Secret (its TLS material is served by gateways).
  std::set<std::string> want = {
      "AuthorizationPolicy default/ext-authz",
      "RequestAuthentication default/jwt spec.jwtRules[0]",
      "Telemetry default/mesh-default spec.metrics",
      "Telemetry default/mesh-default spec.tracing[0].customTags.user",
      "Gateway default/gw spec.servers[1].tls.mode",
      "Service default/reviews spec.ports[1]",
      "EnvoyFilter default/lua",
      "WasmPlugin default/wasm",
      "HTTPRoute default/route spec.parentRefs[3]",  // a ListenerSet; Service and ServiceEntry parents (GAMMA) are simulated
      "Deployment default/probed spec.template.spec.containers[0].livenessProbe",  // exec; the httpGet readiness probe runs
  };
  EXPECT_EQ(got, want);
}

TEST(Coverage, TheLineSaysWhatAndWhere) {
  ResourceSet rs;
  std::vector<Diagnostic> diags;
  load_text(kEveryKind, "every-kind.yaml", rs, diags);
  auto list = not_modelled(rs);
  ASSERT_FALSE(list.empty());
  EXPECT_EQ(list.front().line().rfind("not modelled: AuthorizationPolicy default/ext-authz (security.istio.io) — ", 0), 0u)
      << list.front().line();
}

// analyze reports the same list as Info findings MS0009, located.
TEST(Coverage, AnalyzeReportsEachAsAnInfoFinding) {
  ResourceSet rs;
  std::vector<Diagnostic> diags;
  load_text(kEveryKind, "every-kind.yaml", rs, diags);
  MeshConfig mc = resolve_mesh_config(rs, diags);
  World w = build_world(std::move(rs), mc, diags);
  // The world's objects: with Istio's default ingress gateway, which the Gateway asks for.
  size_t expected = not_modelled(w.resources()).size();
  size_t infos = 0;
  for (const Diagnostic& d : analyze_world(w)) {
    if (d.code != "MS0009") continue;
    ++infos;
    EXPECT_EQ(d.severity, Severity::kInfo);
    EXPECT_TRUE(d.location.known()) << d.format();
  }
  EXPECT_EQ(infos, expected);
  EXPECT_GT(infos, 5u);
}

}  // namespace
}  // namespace meshsim::mesh
