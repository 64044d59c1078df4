// Every analyzer fires on the configuration it describes and stays quiet on
// the fixed one; output formats are well-formed.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "mesh/analysis_output.h"
#include "mesh/tests/test_util.h"

namespace meshsim::mesh {
namespace {

using ::testing::HasSubstr;
using testing::build;
using testing::dump;
using testing::with_code;

std::vector<Diagnostic> analyze(const std::string& yaml) {
  auto b = build(yaml);
  auto out = analyze_world(b.world);
  for (auto& d : b.diags) out.push_back(d);
  return out;
}

constexpr const char* kNs = R"(apiVersion: v1
kind: Namespace
metadata: {name: app, labels: {istio-injection: enabled}}
---
apiVersion: v1
kind: Namespace
metadata: {name: legacy, labels: {istio-injection: disabled}}
---
apiVersion: v1
kind: Pod
metadata: {name: plain-client, namespace: legacy, labels: {app: plain}}
spec: {containers: [{name: c, image: curl}]}
---
apiVersion: v1
kind: Pod
metadata: {name: mesh-client, namespace: app, labels: {app: client}}
spec: {containers: [{name: c, image: curl}]}
)";

std::string with(const std::string& extra) { return std::string(kNs) + extra; }

constexpr const char* kMysql = R"(
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: mysql, namespace: app}
spec:
  selector: {matchLabels: {app: mysql}}
  template:
    metadata: {labels: {app: mysql}}
    spec: {containers: [{name: mysql, image: mysql:8, ports: [{containerPort: 3306}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: mysql, namespace: app}
spec: {selector: {app: mysql}, ports: [{name: tcp-mysql, port: 3306}]}
)";

TEST(Analyzers, EveryCodeIsDocumented) {
  const char* src = std::getenv("MESHSIM_SOURCE_DIR");
  if (!src) src = MESHSIM_TEST_SOURCE_DIR;
  std::ifstream in(std::string(src) + "/docs/analyzers.md");
  ASSERT_TRUE(in) << "docs/analyzers.md";
  std::stringstream ss;
  ss << in.rdbuf();
  for (const auto& c : analyzer_codes()) {
    EXPECT_THAT(ss.str(), HasSubstr(std::string("## ") + c.code)) << c.code;
    if (c.istio_code[0]) {
      EXPECT_THAT(ss.str(), HasSubstr(c.istio_code)) << c.code;
    }
  }
}

TEST(Analyzers, MissingHostSubsetGatewayAndNameDotNamespaceHint) {
  auto d = analyze(with(R"(---
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: app}
spec: {selector: {app: reviews}, ports: [{name: http, port: 9080}]}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs, namespace: app}
spec:
  hosts: [reviews]
  gateways: [missing-gw, mesh]
  http:
  - route:
    - destination: {host: reviews, subset: v9}
    - destination: {host: reviews.app}
)"));
  auto f = with_code(d, "MS0101");
  ASSERT_EQ(f.size(), 3u) << dump(d);
  EXPECT_THAT(dump(f), HasSubstr("gateway \"missing-gw\""));
  EXPECT_THAT(dump(f), HasSubstr("subset \"v9\""));
  EXPECT_THAT(dump(f), HasSubstr("write \"reviews.app.svc.cluster.local\""));
}

// Istio's injection analyzer: every unlabelled Namespace object (pods or not),
// except system, root and ambient namespaces; pods in a namespace without a
// Namespace object are meshsim's own MS0124.
TEST(Analyzers, NamespaceWithoutInjectionLabel) {
  auto d = analyze("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: i}]}\n");
  EXPECT_TRUE(with_code(d, "MS0102").empty()) << dump(d);
  auto f = with_code(d, "MS0124");
  ASSERT_EQ(f.size(), 1u) << dump(d);
  EXPECT_THAT(f[0].message, HasSubstr("kubectl label namespace default istio-injection=enabled"));
  EXPECT_TRUE(with_code(analyze(kNs), "MS0102").empty()) << "labelled (enabled or disabled) namespaces are fine";
  d = analyze(
      "apiVersion: v1\nkind: Namespace\nmetadata: {name: bar}\n---\n"
      "apiVersion: v1\nkind: Namespace\nmetadata: {name: amb, labels: {istio.io/dataplane-mode: ambient}}\n---\n"
      "apiVersion: v1\nkind: Namespace\nmetadata: {name: kube-public}\n---\n"
      "apiVersion: v1\nkind: Namespace\nmetadata: {name: rev, labels: {istio.io/rev: canary}}\n");
  f = with_code(d, "MS0102");
  ASSERT_EQ(f.size(), 1u) << dump(d);
  EXPECT_EQ(f[0].resource, "Namespace bar");
}

// Istio's service.PortNameAnalyzer: control-plane Services are skipped and
// ExternalName services report IST0150, also for a port named "tcp".
TEST(Analyzers, PortNamesFollowIstiosPortNameAnalyzer) {
  auto d = analyze(with(R"(---
apiVersion: v1
kind: Service
metadata: {name: istiod, namespace: app, labels: {istio: pilot}}
spec: {selector: {app: istiod}, ports: [{name: grpc-xds, port: 15010}, {name: web, port: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: ext, namespace: app}
spec: {type: ExternalName, externalName: example.com, ports: [{name: tcp, port: 80}, {name: http, port: 81}, {name: foo, port: 82}]}
)"));
  EXPECT_TRUE(with_code(d, "MS0104").empty()) << dump(d);
  auto f = with_code(d, "MS0125");
  ASSERT_EQ(f.size(), 2u) << dump(d);
  EXPECT_EQ(f[0].path, "spec.ports[0]");
  EXPECT_EQ(f[1].path, "spec.ports[2]");
  const AnalyzerCode* c = find_analyzer_code("MS0125");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(std::string(c->istio_code), "IST0150");
}

TEST(Analyzers, SelectorMatchingNothing) {
  auto d = analyze(with(R"(---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ap, namespace: app}
spec: {selector: {matchLabels: {app: ghost}}}
)"));
  ASSERT_EQ(with_code(d, "MS0103").size(), 1u) << dump(d);
}

TEST(Analyzers, PortNamingConvention) {
  auto d = analyze(with(R"(---
apiVersion: v1
kind: Service
metadata: {name: s, namespace: app}
spec: {selector: {app: client}, ports: [{name: web, port: 8080}, {name: http, port: 80}]}
)"));
  auto f = with_code(d, "MS0104");
  ASSERT_EQ(f.size(), 1u) << dump(d);
  EXPECT_EQ(f[0].path, "spec.ports[0]");
  EXPECT_EQ(f[0].severity, Severity::kInfo);
}

TEST(Analyzers, ServerFirstPermissiveWithPlaintextClient) {
  auto d = analyze(with(kMysql));
  auto f = with_code(d, "MS0105");
  ASSERT_EQ(f.size(), 1u) << dump(d);
  EXPECT_THAT(f[0].message, HasSubstr("ERROR 2013"));
  EXPECT_THAT(f[0].message, HasSubstr("plain-client"));
  // Fixed: the port is STRICT.
  auto fixed = analyze(with(std::string(kMysql) + R"(---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: mysql, namespace: app}
spec: {selector: {matchLabels: {app: mysql}}, mtls: {mode: STRICT}}
)"));
  EXPECT_TRUE(with_code(fixed, "MS0105").empty()) << dump(fixed);
}

TEST(Analyzers, ExcludedInboundPortStillReceivesMtls) {
  std::string yaml = with(R"(---
apiVersion: v1
kind: Pod
metadata:
  name: srv
  namespace: app
  labels: {app: srv}
  annotations: {traffic.sidecar.istio.io/excludeInboundPorts: "8080"}
spec: {containers: [{name: c, image: i}]}
---
apiVersion: v1
kind: Service
metadata: {name: srv, namespace: app}
spec: {selector: {app: srv}, ports: [{name: http, port: 8080}]}
)");
  auto d = analyze(yaml);
  auto f = with_code(d, "MS0106");
  ASSERT_EQ(f.size(), 1u) << dump(d);
  EXPECT_THAT(f[0].message, HasSubstr("tls.mode DISABLE"));
  size_t at = yaml.find("annotations: {traffic");
  EXPECT_EQ(f[0].location.line, 1u + static_cast<uint32_t>(std::count(yaml.begin(), yaml.begin() + static_cast<long>(at), '\n')))
      << "points at the annotation";
}

TEST(Analyzers, DisableTowardStrictAndIstioMutualTowardNoSidecar) {
  auto d = analyze(with(R"(---
apiVersion: v1
kind: Pod
metadata: {name: srv, namespace: app, labels: {app: srv}}
spec: {containers: [{name: c, image: i}]}
---
apiVersion: v1
kind: Service
metadata: {name: srv, namespace: app}
spec: {selector: {app: srv}, ports: [{name: http, port: 80}]}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: strict, namespace: app}
spec: {mtls: {mode: STRICT}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: srv, namespace: app}
spec: {host: srv, trafficPolicy: {tls: {mode: DISABLE}}}
---
apiVersion: v1
kind: Service
metadata: {name: plain, namespace: legacy}
spec: {selector: {app: plain}, ports: [{name: http, port: 80}]}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: plain, namespace: legacy}
spec: {host: plain, trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}}
)"));
  EXPECT_EQ(with_code(d, "MS0107").size(), 1u) << dump(d);
  EXPECT_EQ(with_code(d, "MS0108").size(), 1u) << dump(d);
}

TEST(Analyzers, NamespaceDisableWithWorkloadStrict) {
  auto d = analyze(with(R"(---
apiVersion: v1
kind: Pod
metadata: {name: srv, namespace: app, labels: {app: srv}}
spec: {containers: [{name: c, image: i}]}
---
apiVersion: v1
kind: Service
metadata: {name: srv, namespace: app}
spec: {selector: {app: srv}, ports: [{name: http, port: 80}]}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: ns, namespace: app}
spec: {mtls: {mode: DISABLE}}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: wl, namespace: app}
spec: {selector: {matchLabels: {app: srv}}, mtls: {mode: STRICT}}
)"));
  auto f = with_code(d, "MS0109");
  ASSERT_EQ(f.size(), 1u) << dump(d);
  EXPECT_THAT(f[0].message, HasSubstr("ISTIO_MUTUAL"));
}

TEST(Analyzers, StrictWithProbesAndRewriteOff) {
  auto d = analyze(with(R"(---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: ns, namespace: app}
spec: {mtls: {mode: STRICT}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: app}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata:
      labels: {app: web}
      annotations: {sidecar.istio.io/rewriteAppHTTPProbers: "false"}
    spec:
      containers:
      - name: web
        image: web
        readinessProbe: {httpGet: {path: /healthz, port: 8080}}
)"));
  auto f = with_code(d, "MS0110");
  ASSERT_EQ(f.size(), 1u) << dump(d);
  EXPECT_EQ(f[0].path, "spec.template.spec.containers[0].readinessProbe");
}

TEST(Analyzers, RootSelectorIgnoredAndShadowedPolicies) {
  auto d = analyze(with(R"(---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: root-sel, namespace: istio-system}
spec: {selector: {matchLabels: {app: client}}, mtls: {mode: STRICT}}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: a-first, namespace: app}
spec: {mtls: {mode: STRICT}}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: b-second, namespace: app}
spec: {mtls: {mode: DISABLE}}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: w1, namespace: app}
spec: {selector: {matchLabels: {app: client}}, mtls: {mode: STRICT}}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: w2, namespace: app}
spec: {selector: {matchLabels: {app: client}}, mtls: {mode: DISABLE}}
)"));
  ASSERT_EQ(with_code(d, "MS0111").size(), 1u) << dump(d);
  auto shadowed = with_code(d, "MS0112");
  ASSERT_EQ(shadowed.size(), 2u) << dump(d);
  EXPECT_EQ(shadowed[0].resource, "PeerAuthentication app/b-second");
  EXPECT_EQ(shadowed[1].resource, "PeerAuthentication app/w2");
}

// The line of the first occurrence of `needle` in `yaml` (1-based).
uint32_t line_of(const std::string& yaml, const std::string& needle) {
  size_t at = yaml.find(needle);
  EXPECT_NE(at, std::string::npos) << needle;
  return 1u + static_cast<uint32_t>(std::count(yaml.begin(), yaml.begin() + static_cast<long>(at), '\n'));
}

TEST(Analyzers, AuthorizationHttpFieldsOnTcpPorts) {
  std::string yaml = with(std::string(kMysql) + R"(---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-get, namespace: app}
spec:
  selector: {matchLabels: {app: mysql}}
  action: DENY
  rules: [{to: [{operation: {methods: [GET], ports: ["3306"]}}]}]
)");
  auto d = analyze(yaml);
  auto f = with_code(d, "MS0113");
  ASSERT_EQ(f.size(), 1u) << dump(d);
  EXPECT_EQ(f[0].severity, Severity::kWarning);
  EXPECT_EQ(f[0].path, "spec.rules[0]");
  EXPECT_EQ(f[0].location.line, line_of(yaml, "  rules: [{to: [{operation: {methods: [GET]"));
  EXPECT_THAT(f[0].message, HasSubstr("rule 0 of DENY policy app/deny-get uses HTTP-only fields (to.operation.methods) and "
                                      "Deployment app/mysql serves TCP on port 3306"));
  EXPECT_THAT(f[0].message, HasSubstr("denies every TCP connection to port 3306 (closed at its first byte)"));
}

// Istio's builder skips an ALLOW rule with HTTP-only fields on TCP chains:
// reported for the TCP ports the rule would have covered, not for a rule
// restricted to HTTP ports, and not for workloads without TCP ports. When
// every ALLOW rule is skipped, the TCP ports deny everything (MS0135).
TEST(Analyzers, AllowRuleWithHttpFieldsNeverAllowsTcp) {
  std::string yaml = with(R"(---
apiVersion: apps/v1
kind: Deployment
metadata: {name: db, namespace: app}
spec:
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: db, image: db, ports: [{containerPort: 3306}, {containerPort: 8080}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: db, namespace: app}
spec: {selector: {app: db}, ports: [{name: tcp-mysql, port: 3306}, {name: http-admin, port: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: app}
spec: {selector: {app: client}, ports: [{name: http, port: 80}]}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-get, namespace: app}
spec:
  action: ALLOW
  rules:
  - to: [{operation: {methods: [GET]}}]
  - to: [{operation: {paths: ["/admin*"], ports: ["8080"]}}]
)");
  auto d = analyze(yaml);
  auto f = with_code(d, "MS0113");
  ASSERT_EQ(f.size(), 1u) << dump(d);  // only rule 0, only for db (mesh-client serves HTTP only)
  EXPECT_EQ(f[0].path, "spec.rules[0]");
  EXPECT_EQ(f[0].location.line, line_of(yaml, "  - to: [{operation: {methods: [GET]}}]"));
  EXPECT_THAT(f[0].message, HasSubstr("rule 0 of ALLOW policy app/allow-get uses HTTP-only fields (to.operation.methods) "
                                      "and Deployment app/db serves TCP on port 3306"));
  EXPECT_THAT(f[0].message, HasSubstr("\"skipped rule ns[app]-policy[allow-get]-rule[0] on TCP filter chain: "
                                      "\":method\" is HTTP only\""));
  EXPECT_THAT(f[0].message, HasSubstr("never allows a connection to port 3306"));
  auto n = with_code(d, "MS0135");
  ASSERT_EQ(n.size(), 1u) << dump(d);
  EXPECT_EQ(n[0].severity, Severity::kInfo);
  EXPECT_THAT(n[0].message, HasSubstr("every ALLOW rule (ALLOW policies: app/allow-get) uses HTTP-only fields and is skipped "
                                      "on TCP filter chains, so this denies every connection to the TCP ports of "
                                      "Deployment app/db (port 3306)"));
}

// DENY keeps the rule's other conditions on TCP; AUDIT only logs; a rule
// restricted to an HTTP port does not touch the TCP port.
TEST(Analyzers, DenyAndAuditRulesWidenOnTcp) {
  auto d = analyze(with(std::string(kMysql) + R"(---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-admin, namespace: app}
spec:
  selector: {matchLabels: {app: mysql}}
  action: DENY
  rules:
  - from: [{source: {namespaces: [legacy]}}]
    to: [{operation: {paths: [/admin]}}]
  - to: [{operation: {methods: [DELETE], ports: ["8080"]}}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: audit-get, namespace: app}
spec:
  selector: {matchLabels: {app: mysql}}
  action: AUDIT
  rules: [{when: [{key: "request.headers[x-user]", values: [admin]}]}]
)"));
  auto f = with_code(d, "MS0113");
  ASSERT_EQ(f.size(), 2u) << dump(d);
  EXPECT_EQ(f[0].resource, "AuthorizationPolicy app/deny-admin");
  EXPECT_EQ(f[0].path, "spec.rules[0]");
  EXPECT_THAT(f[0].message, HasSubstr("denies every TCP connection to port 3306 that matches its remaining conditions "
                                      "(from[0].source.namespaces)"));
  EXPECT_EQ(f[1].resource, "AuthorizationPolicy app/audit-get");
  EXPECT_THAT(f[1].message, HasSubstr("(when request.headers[x-user])"));
  EXPECT_THAT(f[1].message, HasSubstr("audits (logs) every TCP connection to port 3306."));
}

TEST(Analyzers, HttpOnlyFieldsOnHttpPortsAreFine) {
  auto d = analyze(with(R"(---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: app}
spec: {selector: {app: client}, ports: [{name: http, port: 80}]}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-post, namespace: app}
spec: {action: DENY, rules: [{to: [{operation: {methods: [POST]}}]}]}
)"));
  EXPECT_TRUE(with_code(d, "MS0113").empty()) << dump(d);
  EXPECT_TRUE(with_code(d, "MS0135").empty()) << dump(d);
}

constexpr const char* kWeb = R"(
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: app}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: web, ports: [{containerPort: 8080}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: app}
spec: {selector: {app: web}, ports: [{name: http, port: 80, targetPort: 8080}]}
)";

// A rule naming the namespace of a client without a sidecar, on a PERMISSIVE
// port: the client connects in plaintext, has no identity, and is denied.
TEST(Analyzers, IdentityRequiredWhilePlaintextClientsReachThePort) {
  std::string yaml = with(std::string(kWeb) + R"(---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: from-legacy, namespace: app}
spec:
  selector: {matchLabels: {app: web}}
  rules: [{from: [{source: {namespaces: [legacy]}}]}]
)");
  auto d = analyze(yaml);
  auto f = with_code(d, "MS0134");
  ASSERT_EQ(f.size(), 1u) << dump(d);
  EXPECT_EQ(f[0].severity, Severity::kWarning);
  EXPECT_EQ(f[0].path, "spec.rules[0]");
  EXPECT_EQ(f[0].location.line, line_of(yaml, "  rules: [{from: [{source: {namespaces: [legacy]"));
  EXPECT_THAT(f[0].message, HasSubstr("rule 0 of ALLOW policy app/from-legacy requires a peer identity "
                                      "(from[0].source.namespaces), but on Deployment app/web port 8080 accepts plaintext "
                                      "(PERMISSIVE: "));
  EXPECT_THAT(f[0].message, HasSubstr("pod legacy/plain-client has no sidecar, although the rule names its namespace"));
  EXPECT_THAT(f[0].message, HasSubstr("no ALLOW rule of Deployment app/web admits a plaintext peer, so plaintext clients "
                                      "such as legacy/plain-client are denied"));
  EXPECT_TRUE(with_code(d, "MS0135").empty()) << dump(d);
}

// Principals of sidecar clients only: the plaintext pod was not meant to be
// allowed (Info); another rule matching by IP may still allow it; STRICT or
// a mesh without plaintext pods is quiet.
TEST(Analyzers, IdentityRequiredLevelsAndQuietCases) {
  const char* policy = R"(---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: from-client, namespace: app}
spec:
  selector: {matchLabels: {app: web}}
  rules:
  - from: [{source: {principals: [cluster.local/ns/app/sa/default]}}]
)";
  auto d = analyze(with(std::string(kWeb) + policy));
  auto f = with_code(d, "MS0134");
  ASSERT_EQ(f.size(), 1u) << dump(d);
  EXPECT_EQ(f[0].severity, Severity::kInfo);
  EXPECT_THAT(f[0].message, HasSubstr("(from[0].source.principals)"));
  EXPECT_THAT(f[0].message, HasSubstr("plaintext clients such as legacy/plain-client are denied"));

  d = analyze(with(std::string(kWeb) + policy + "  - from: [{source: {ipBlocks: [10.0.0.0/8]}}]\n"));
  f = with_code(d, "MS0134");
  ASSERT_EQ(f.size(), 1u) << dump(d);
  EXPECT_THAT(f[0].message, HasSubstr("are denied unless another ALLOW rule matches them"));

  d = analyze(with(std::string(kWeb) + policy + R"(---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: strict, namespace: app}
spec: {mtls: {mode: STRICT}}
)"));
  EXPECT_TRUE(with_code(d, "MS0134").empty()) << dump(d);

  // Only sidecar pods in the mesh: nobody is plaintext on a PERMISSIVE port.
  d = analyze(std::string(R"(apiVersion: v1
kind: Namespace
metadata: {name: app, labels: {istio-injection: enabled}}
)") + kWeb + policy);
  EXPECT_TRUE(with_code(d, "MS0134").empty()) << dump(d);
}

// On a DISABLE port no client has an identity, with or without a sidecar.
TEST(Analyzers, IdentityRequiredOnDisablePort) {
  auto d = analyze(std::string(R"(apiVersion: v1
kind: Namespace
metadata: {name: app, labels: {istio-injection: enabled}}
)") + kWeb + R"(---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: web-plaintext, namespace: app}
spec: {selector: {matchLabels: {app: web}}, mtls: {mode: DISABLE}}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: sa-only, namespace: app}
spec:
  selector: {matchLabels: {app: web}}
  rules: [{from: [{source: {serviceAccounts: [client]}}]}]
)");
  auto f = with_code(d, "MS0134");
  ASSERT_EQ(f.size(), 1u) << dump(d);
  EXPECT_EQ(f[0].severity, Severity::kWarning);
  EXPECT_THAT(f[0].message, HasSubstr("port 8080 terminates no mTLS (DISABLE: "));
  EXPECT_THAT(f[0].message, HasSubstr("every client is denied there"));
}

// spec: {} is Istio's allow-nothing policy: every request to the namespace's
// workloads is denied, unless another ALLOW policy allows it; a dry-run one
// enforces nothing.
TEST(Analyzers, AllowNothingPolicyDeniesEverything) {
  std::string yaml = with(std::string(kWeb) + R"(---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-nothing, namespace: app}
spec: {}
)");
  auto d = analyze(yaml);
  auto f = with_code(d, "MS0135");
  ASSERT_EQ(f.size(), 1u) << dump(d);
  EXPECT_EQ(f[0].severity, Severity::kInfo);
  EXPECT_EQ(f[0].path, "spec");
  EXPECT_EQ(f[0].location.line, line_of(yaml, "spec: {}"));
  EXPECT_THAT(f[0].message, HasSubstr("no ALLOW rule can match (ALLOW policies: app/allow-nothing; allow-nothing has no "
                                      "rules: an allow-nothing policy), so this denies every request and connection to "
                                      "Pod app/mesh-client, Deployment app/web"));
  EXPECT_TRUE(with_code(d, "MS0134").empty()) << dump(d);

  d = analyze(yaml + R"(---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-web, namespace: app}
spec: {selector: {matchLabels: {app: web}}, rules: [{to: [{operation: {paths: ["/public/*"]}}]}]}
)");
  f = with_code(d, "MS0135");
  ASSERT_EQ(f.size(), 1u) << dump(d);
  EXPECT_THAT(f[0].message, HasSubstr("every request and connection to Pod app/mesh-client ("));
  EXPECT_THAT(f[0].message, ::testing::Not(HasSubstr("app/web"))) << "web is allowed /public/* by allow-web";

  d = analyze(with(std::string(kWeb) + R"(---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-nothing, namespace: app, annotations: {istio.io/dry-run: "true"}}
spec: {}
)"));
  EXPECT_TRUE(with_code(d, "MS0135").empty()) << dump(d);
}

TEST(Analyzers, IngressRegexPathsIgnoredAnnotationsAndClass) {
  auto d = analyze(with(R"(---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: app}
spec: {selector: {app: client}, ports: [{name: http, port: 80}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: ing
  namespace: app
  annotations: {kubernetes.io/ingress.class: istio, nginx.ingress.kubernetes.io/rewrite-target: /}
spec:
  rules:
  - http:
      paths:
      - {path: "/api/v[0-9]+/.*", pathType: ImplementationSpecific, backend: {service: {name: web, port: {number: 80}}}}
      - {path: "/static/.*", pathType: ImplementationSpecific, backend: {service: {name: web, port: {number: 80}}}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: nginx, namespace: app}
spec:
  ingressClassName: nginx
  rules: [{http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}}]
)"));
  auto f = with_code(d, "MS0114");
  ASSERT_EQ(f.size(), 2u) << dump(d);
  EXPECT_THAT(dump(f), HasSubstr("/api/v[0-9]+/.*"));
  EXPECT_THAT(dump(f), HasSubstr("nginx.ingress.kubernetes.io/rewrite-target"));
  EXPECT_EQ(with_code(d, "MS0118").size(), 1u);
}

TEST(Analyzers, FaultWithoutPercentageAndUnreachableRules) {
  auto d = analyze(with(R"(---
apiVersion: v1
kind: Service
metadata: {name: r, namespace: app}
spec: {selector: {app: client}, ports: [{name: http, port: 80}]}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs, namespace: app}
spec:
  hosts: [r]
  http:
  - match: [{uri: {prefix: /a}}]
    fault: {abort: {httpStatus: 500}}
    route: [{destination: {host: r}}]
  - match: [{uri: {prefix: /a}}]
    route: [{destination: {host: r}}]
  - route: [{destination: {host: r}}]
  - match: [{uri: {prefix: /b}}]
    route: [{destination: {host: r}}]
)"));
  auto fault = with_code(d, "MS0115");
  ASSERT_EQ(fault.size(), 1u) << dump(d);
  EXPECT_EQ(fault[0].path, "spec.http[0].fault.abort");
  // Istio: rule #1's only match duplicates rule #0's → IST0131 for the match
  // and IST0130 for the rule; #3 comes after the rule without match #2.
  auto unreachable = with_code(d, "MS0116");
  ASSERT_EQ(unreachable.size(), 2u) << dump(d);
  EXPECT_EQ(unreachable[0].path, "spec.http[1]");
  EXPECT_EQ(unreachable[0].message, "VirtualService rule #1 not used (all matches used by prior rules).");
  EXPECT_EQ(unreachable[1].path, "spec.http[3]");
  EXPECT_EQ(unreachable[1].message, "VirtualService rule #3 not used (route without matches defined before).");
  auto ineffective = with_code(d, "MS0126");
  ASSERT_EQ(ineffective.size(), 1u) << dump(d);
  EXPECT_EQ(ineffective[0].path, "spec.http[1].match[0]");
  EXPECT_EQ(ineffective[0].message,
            "VirtualService rule #1 match #0 is not used (duplicate/overlapping match in rule #0).");
}

// Istio's overlapping-match check: a URI prefix covered by an earlier prefix
// with the same method (none = exact GET) is ineffective; another method is not.
TEST(Analyzers, OverlappingPrefixMatchesAreIneffective) {
  auto d = analyze(with(R"(---
apiVersion: v1
kind: Service
metadata: {name: r, namespace: app}
spec: {selector: {app: client}, ports: [{name: http, port: 80}]}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs, namespace: app}
spec:
  hosts: [r]
  http:
  - name: api
    match: [{uri: {prefix: /api}}]
    route: [{destination: {host: r}}]
  - name: v1
    match: [{name: get-v1, uri: {prefix: /api/v1}}, {uri: {prefix: /api/v2}, method: {exact: POST}}]
    route: [{destination: {host: r}}]
)"));
  auto f = with_code(d, "MS0126");
  ASSERT_EQ(f.size(), 1u) << dump(d);
  EXPECT_EQ(f[0].path, "spec.http[1].match[0]");
  EXPECT_EQ(f[0].message, "VirtualService rule \"v1\" match \"get-v1\" of prefix /api/v1 is not used "
                          "(duplicate/overlapping match in rule #0 of prefix /api on \"api\").");
  EXPECT_TRUE(with_code(d, "MS0116").empty()) << dump(d);
}

// Istio's "only the last rule can have no matches", with rule names.
TEST(Analyzers, SecondRuleWithoutMatchIsUnreachableLikeIstioSays) {
  auto d = analyze(with(R"(---
apiVersion: v1
kind: Service
metadata: {name: r, namespace: app}
spec: {selector: {app: client}, ports: [{name: http, port: 80}, {name: tcp, port: 90}]}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs, namespace: app}
spec:
  hosts: [r]
  http:
  - name: first
    route: [{destination: {host: r, port: {number: 80}}}]
  - name: second
    route: [{destination: {host: r, port: {number: 80}}}]
  tcp:
  - match: [{port: 90}]
    route: [{destination: {host: r, port: {number: 90}}}]
  - match: [{port: 90}]
    route: [{destination: {host: r, port: {number: 90}}}]
)"));
  auto u = with_code(d, "MS0116");
  ASSERT_EQ(u.size(), 2u) << dump(d);
  EXPECT_EQ(u[0].message, "VirtualService rule \"second\" not used (only the last rule can have no matches).");
  EXPECT_EQ(u[1].path, "spec.tcp[1]");
  EXPECT_EQ(with_code(d, "MS0126").size(), 1u) << dump(d);
}

TEST(Analyzers, GatewayRouteToMultiPortServiceNeedsPortAndConflictingHosts) {
  auto d = analyze(with(R"(---
apiVersion: v1
kind: Service
metadata: {name: m, namespace: app}
spec: {selector: {app: client}, ports: [{name: http, port: 80}, {name: http-admin, port: 81}]}
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: app}
spec: {selector: {app: client}, servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: edge, namespace: app}
spec: {hosts: [m.example.com], gateways: [gw], http: [{route: [{destination: {host: m}}]}]}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: one, namespace: app}
spec: {hosts: [m], http: [{route: [{destination: {host: m, port: {number: 80}}}]}]}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: two, namespace: app}
spec: {hosts: [m], http: [{route: [{destination: {host: m, port: {number: 80}}}]}]}
)"));
  EXPECT_EQ(with_code(d, "MS0117").size(), 1u) << dump(d);
  // Istio reports every VirtualService of the conflict, naming the scoped host.
  auto conflict = with_code(d, "MS0121");
  ASSERT_EQ(conflict.size(), 2u) << dump(d);
  EXPECT_EQ(conflict[0].resource, "VirtualService app/one");
  EXPECT_EQ(conflict[1].resource, "VirtualService app/two");
  EXPECT_THAT(conflict[0].message, HasSubstr("The VirtualServices app/one,app/two associated with mesh gateway define the same "
                                            "host */m.app.svc.cluster.local"));
}

// Istio reports a missing port selector on every route (IST0112); at a
// gateway it is an Error, for mesh-only routes meshsim says Warning.
TEST(Analyzers, PortSelectorRequiredForMeshRoutesIsAWarning) {
  auto d = analyze(with(R"(---
apiVersion: v1
kind: Service
metadata: {name: m, namespace: app}
spec: {selector: {app: client}, ports: [{name: http, port: 80}, {name: http-admin, port: 81}]}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: mesh-only, namespace: app}
spec: {hosts: [m], http: [{route: [{destination: {host: m}}]}]}
)"));
  auto f = with_code(d, "MS0117");
  ASSERT_EQ(f.size(), 1u) << dump(d);
  EXPECT_EQ(f[0].severity, Severity::kWarning);
  EXPECT_THAT(f[0].message, HasSubstr("exposes ports 80, 81"));
}

// A destination host is found only where it is exported (Istio's
// GetDestinationHost): a ServiceEntry exported to "." is invisible to a
// VirtualService in another namespace; a Service's exportTo annotation too.
TEST(Analyzers, DestinationHostsRespectExportTo) {
  auto d = analyze(with(R"(---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ext, namespace: legacy}
spec: {hosts: [ext.example.com], exportTo: ["."], ports: [{number: 80, name: http, protocol: HTTP}], resolution: DNS}
---
apiVersion: v1
kind: Service
metadata: {name: hidden, namespace: legacy, annotations: {networking.istio.io/exportTo: "."}}
spec: {selector: {app: x}, ports: [{name: http, port: 80}]}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs, namespace: app}
spec:
  hosts: [v.example.com]
  http:
  - route: [{destination: {host: ext.example.com}}]
  - match: [{uri: {prefix: /h}}]
    route: [{destination: {host: hidden.legacy.svc.cluster.local}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: local, namespace: legacy}
spec: {hosts: [w.example.com], http: [{route: [{destination: {host: ext.example.com}}]}]}
)"));
  auto f = with_code(d, "MS0101");
  size_t not_exported = 0;
  for (const auto& x : f) {
    if (x.message.find("is not exported") != std::string::npos) {
      ++not_exported;
      EXPECT_EQ(x.resource, "VirtualService app/vs");
    }
  }
  EXPECT_EQ(not_exported, 2u) << dump(d);
}

// Istio's AuthorizationPoliciesAnalyzer: a namespace-wide policy where no pod
// has a sidecar matches nothing; source namespaces must match a Namespace.
TEST(Analyzers, AuthorizationPolicyNamespacesAndEmptyNamespaces) {
  std::string yaml = with(R"(---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: wide, namespace: legacy}
spec: {rules: [{from: [{source: {namespaces: ["app", "bogus-*", "*-gus", "*", "LEGACY", "leg*", "*acy"], notNamespaces: ["leg*", "Leg*", "ghost"]}}]}]}
)");
  auto d = analyze(yaml);
  auto f = with_code(d, "MS0101");
  ASSERT_EQ(f.size(), 4u) << dump(d);
  EXPECT_EQ(f[0].path, "spec.rules[0].from[0].source.namespaces[1]");
  EXPECT_EQ(f[0].message, "Referenced namespace not found: \"bogus-*\" (no Namespace in the input matches it), so this "
                          "condition never matches a request's source.");
  EXPECT_EQ(f[0].location.line, line_of(yaml, "spec: {rules:"));
  EXPECT_EQ(f[0].location.column, static_cast<uint32_t>(yaml.substr(yaml.find("spec: {rules:")).find("\"bogus-*\"") + 1));
  EXPECT_EQ(f[1].path, "spec.rules[0].from[0].source.namespaces[2]");
  // Wildcards are case-sensitive, exact names are not (Go's strings.EqualFold).
  EXPECT_EQ(f[2].path, "spec.rules[0].from[0].source.notNamespaces[1]");
  EXPECT_EQ(f[3].path, "spec.rules[0].from[0].source.notNamespaces[2]");
  EXPECT_EQ(f[3].message, "Referenced namespace not found: \"ghost\" (no Namespace in the input has this name), so this "
                          "exclusion never excludes a request's source.");
  const AnalyzerCode* c = find_analyzer_code("MS0101");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(std::string(c->istio_code), "IST0101");
  auto w = with_code(d, "MS0103");
  ASSERT_EQ(w.size(), 1u) << dump(d);  // legacy has no pod with a sidecar
  EXPECT_EQ(w[0].resource, "AuthorizationPolicy legacy/wide");
}

// Istio's analyzer counts pods in ambient mode (the CNI's redirection
// annotation) as workloads of a policy.
TEST(Analyzers, AuthorizationPolicyMatchesAmbientPods) {
  auto d = analyze(with(R"(---
apiVersion: v1
kind: Pod
metadata: {name: amb, namespace: legacy, labels: {app: amb}, annotations: {ambient.istio.io/redirection: enabled}}
spec: {containers: [{name: c, image: i}]}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: amb, namespace: legacy}
spec: {selector: {matchLabels: {app: amb}}, rules: [{}]}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: plain, namespace: legacy}
spec: {selector: {matchLabels: {app: plain}}, rules: [{}]}
)"));
  auto w = with_code(d, "MS0103");
  ASSERT_EQ(w.size(), 1u) << dump(d);
  EXPECT_EQ(w[0].resource, "AuthorizationPolicy legacy/plain");
}

// A DestinationRule for a host nobody serves: meshsim's own warning (Istio has
// no analyzer for it, so it is not IST0101); a reference to an autogenerated
// Gateway API gateway is not a missing gateway.
TEST(Analyzers, DestinationRuleHostNotFoundIsNotIst0101) {
  auto d = analyze(with(R"(---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: ghost, namespace: app}
spec: {host: ghost}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: internal, namespace: app}
spec: {hosts: [x.example.com], gateways: [app/gw-istio-autogenerated-k8s-gateway-http], http: [{route: [{destination: {host: mysql}}]}]}
)"));
  auto f = with_code(d, "MS0128");
  ASSERT_EQ(f.size(), 1u) << dump(d);
  EXPECT_EQ(f[0].resource, "DestinationRule app/ghost");
  for (const auto& x : with_code(d, "MS0101")) EXPECT_EQ(x.message.find("gateway \""), std::string::npos) << x.message;
}

// Istio's injection analyzer on Pod objects and namespace labels.
TEST(Analyzers, PodMissingProxyAndMultipleInjectionLabels) {
  auto d = analyze(with(R"(---
apiVersion: v1
kind: Namespace
metadata: {name: both, labels: {istio-injection: enabled, istio.io/rev: canary}}
---
apiVersion: v1
kind: Pod
metadata: {name: old, namespace: app}
spec: {containers: [{name: c, image: i}]}
---
apiVersion: v1
kind: Pod
metadata: {name: optout, namespace: app, annotations: {sidecar.istio.io/inject: "false"}}
spec: {containers: [{name: c, image: i}]}
---
apiVersion: v1
kind: Pod
metadata: {name: done, namespace: app}
spec: {containers: [{name: c, image: i}, {name: istio-proxy, image: proxyv2}]}
)"));
  auto m = with_code(d, "MS0129");
  ASSERT_EQ(m.size(), 1u) << dump(d);
  EXPECT_EQ(m[0].resource, "Namespace both");
  auto p = with_code(d, "MS0130");
  std::vector<std::string> pods;
  for (const auto& x : p) pods.push_back(x.resource);
  EXPECT_NE(std::find(pods.begin(), pods.end(), "Pod app/old"), pods.end()) << dump(d);
  EXPECT_EQ(std::find(pods.begin(), pods.end(), "Pod app/optout"), pods.end()) << dump(d);
  EXPECT_EQ(std::find(pods.begin(), pods.end(), "Pod app/done"), pods.end()) << dump(d);
}

// enableNamespacesByDefault in the injector ConfigMap: an unlabelled namespace
// is injected (IST0148 instead of IST0102), and its pods get sidecars.
TEST(Analyzers, EnableNamespacesByDefaultInjectsUnlabelledNamespaces) {
  auto d = analyze(R"(apiVersion: v1
kind: ConfigMap
metadata: {name: istio-sidecar-injector, namespace: istio-system}
data:
  values: '{"sidecarInjectorWebhook": {"enableNamespacesByDefault": true}}'
---
apiVersion: v1
kind: Namespace
metadata: {name: plain}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: plain}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx}]}
)");
  EXPECT_TRUE(with_code(d, "MS0102").empty()) << dump(d);
  auto f = with_code(d, "MS0131");
  ASSERT_EQ(f.size(), 1u) << dump(d);
  EXPECT_EQ(f[0].resource, "Namespace plain");
  std::vector<Diagnostic> diags;
  ResourceSet rs;
  load_text(R"(apiVersion: v1
kind: ConfigMap
metadata: {name: istio-sidecar-injector, namespace: istio-system}
data:
  values: '{"sidecarInjectorWebhook": {"enableNamespacesByDefault": true}}'
)", "cm.yaml", rs, diags);
  EXPECT_TRUE(enable_namespaces_by_default(rs));
  InjectionDecision dec = decide_injection("plain", {}, {}, {}, false, true);
  EXPECT_TRUE(dec.injected) << dec.reason;
  EXPECT_FALSE(decide_injection("plain", {{"istio-injection", "disabled"}}, {}, {}, false, true).injected);
  EXPECT_FALSE(decide_injection("kube-system", {}, {}, {}, false, true).injected);
}

// Istio's IngressGatewayPortAnalyzer: a server port the gateway's Service
// does not expose (IST0104).
TEST(Analyzers, GatewayPortNotOnWorkload) {
  auto d = analyze(with(R"(---
apiVersion: v1
kind: Pod
metadata: {name: gw, namespace: app, labels: {istio: ingressgateway}}
spec: {containers: [{name: istio-proxy, image: proxyv2}]}
---
apiVersion: v1
kind: Service
metadata: {name: gw, namespace: app}
spec: {selector: {istio: ingressgateway}, ports: [{name: http2, port: 80}]}
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: app}
spec:
  selector: {istio: ingressgateway}
  servers:
  - {port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}
  - {port: {number: 8080, name: http-alt, protocol: HTTP}, hosts: ["*"]}
)"));
  auto f = with_code(d, "MS0132");
  ASSERT_EQ(f.size(), 1u) << dump(d);
  EXPECT_EQ(f[0].path, "spec.servers[1].port");
  EXPECT_THAT(f[0].message, HasSubstr("port 8080"));
}

// Istio's SecretAnalyzer: credentialName must name a Secret in the gateway
// pods' namespace (IST0101).
TEST(Analyzers, GatewayCredentialNameNeedsASecretInTheGatewayNamespace) {
  auto d = analyze(with(R"(---
apiVersion: v1
kind: Pod
metadata: {name: gw, namespace: legacy, labels: {istio: ingressgateway}}
spec: {containers: [{name: istio-proxy, image: proxyv2}]}
---
apiVersion: v1
kind: Service
metadata: {name: gw, namespace: legacy}
spec: {selector: {istio: ingressgateway}, ports: [{name: https, port: 443}]}
---
apiVersion: v1
kind: Secret
metadata: {name: good-cert, namespace: legacy}
---
apiVersion: v1
kind: Secret
metadata: {name: wrong-ns-cert, namespace: app}
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: app}
spec:
  selector: {istio: ingressgateway}
  servers:
  - {port: {number: 443, name: https, protocol: HTTPS}, hosts: ["a.example.com"], tls: {mode: SIMPLE, credentialName: good-cert}}
  - {port: {number: 443, name: https-b, protocol: HTTPS}, hosts: ["b.example.com"], tls: {mode: SIMPLE, credentialName: wrong-ns-cert}}
)"));
  auto f = with_code(d, "MS0133");
  ASSERT_EQ(f.size(), 1u) << dump(d);
  EXPECT_EQ(f[0].path, "spec.servers[1].tls.credentialName");
  EXPECT_THAT(f[0].message, HasSubstr("wrong-ns-cert"));
}

// exportTo scopes the conflict: VirtualServices exported only to their own
// (different) namespaces do not conflict; "." and the namespace name are one scope.
TEST(Analyzers, ConflictingMeshHostsRespectExportTo) {
  auto d = analyze(with(R"(---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: a, namespace: app}
spec: {hosts: [m.example.com], exportTo: ["."], http: [{route: [{destination: {host: m.example.com}}]}]}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: b, namespace: legacy}
spec: {hosts: [m.example.com], exportTo: ["."], http: [{route: [{destination: {host: m.example.com}}]}]}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: c, namespace: app}
spec: {hosts: [m.example.com], exportTo: [app], http: [{route: [{destination: {host: m.example.com}}]}]}
)"));
  auto conflict = with_code(d, "MS0121");
  ASSERT_EQ(conflict.size(), 2u) << dump(d);
  EXPECT_EQ(conflict[0].resource, "VirtualService app/a");
  EXPECT_EQ(conflict[1].resource, "VirtualService app/c");
}

TEST(Analyzers, ServiceWithoutEndpointsSubsetWithoutEndpointsSidecarsAndProxyUid) {
  auto d = analyze(with(R"(---
apiVersion: v1
kind: Service
metadata: {name: ghost, namespace: app}
spec: {selector: {app: ghost}, ports: [{name: http, port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: c, namespace: app}
spec: {selector: {app: client}, ports: [{name: http, port: 80}]}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: c, namespace: app}
spec: {host: c, subsets: [{name: v1, labels: {version: v1}}]}
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: s1, namespace: app}
spec: {egress: [{hosts: ["./*"]}]}
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: s2, namespace: app}
spec: {egress: [{hosts: ["istio-system/*"]}]}
---
apiVersion: v1
kind: Pod
metadata: {name: uid, namespace: app}
spec: {containers: [{name: c, image: i, securityContext: {runAsUser: 1337}}]}
)"));
  EXPECT_EQ(with_code(d, "MS0119").size(), 1u) << dump(d);
  EXPECT_EQ(with_code(d, "MS0120").size(), 1u) << dump(d);
  EXPECT_EQ(with_code(d, "MS0122").size(), 2u) << dump(d);
  EXPECT_EQ(with_code(d, "MS0123").size(), 1u) << dump(d);
}

TEST(Output, SarifIsVersion210WithRulesAndRegions) {
  std::vector<Diagnostic> d = {
      Diagnostic{Severity::kError, "MS0002", Location{intern_file("r.yaml"), 14, 7}, "DestinationRule default/reviews",
                 "spec.trafficPolicy.tls.mode", "unknown value"},
      Diagnostic{Severity::kInfo, "MS0104", Location{intern_file("s.yaml"), 3, 1}, "Service default/s", "", "x"}};
  auto j = nlohmann::json::parse(format_sarif(d, "0.1.0"));
  EXPECT_EQ(j["version"], "2.1.0");
  const auto& run = j["runs"][0];
  EXPECT_EQ(run["tool"]["driver"]["name"], "meshsim");
  EXPECT_EQ(run["tool"]["driver"]["rules"].size(), 2u);
  EXPECT_EQ(run["tool"]["driver"]["rules"][0]["properties"]["istioCode"], "IST0106");
  EXPECT_EQ(run["results"][0]["level"], "error");
  EXPECT_EQ(run["results"][1]["level"], "note");
  EXPECT_EQ(run["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"], 14);
  EXPECT_EQ(run["results"][0]["locations"][0]["physicalLocation"]["region"]["startColumn"], 7);
  EXPECT_EQ(run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], "r.yaml");
  auto js = nlohmann::json::parse(format_json(d));
  EXPECT_EQ(js["summary"]["errors"], 1);
  EXPECT_EQ(js["findings"][0]["istioCode"], "IST0106");
  EXPECT_THAT(format_log(d, 2), HasSubstr("Error [MS0002] r.yaml:14:7: DestinationRule default/reviews: spec.trafficPolicy.tls.mode: unknown value"));
}

}  // namespace
}  // namespace meshsim::mesh
