// Policy resolution, one test per rule of ISTIO_BEHAVIOR.md §1 (PeerAuthentication)
// and §2 (client TLS, auto mTLS, DestinationRule choice and merge), plus
// AuthorizationPolicy selection.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "mesh/policy.h"
#include "mesh/tests/test_util.h"

namespace meshsim::mesh {
namespace {

using ::testing::HasSubstr;
using testing::build;
using testing::dump;

// Two injected namespaces ("a" client, "b" server with pod app=srv on 8080),
// one uninjected namespace "legacy" with pod app=old. Policies are appended.
std::string mesh(const std::string& extra) {
  return std::string(R"(apiVersion: v1
kind: Namespace
metadata: {name: a, labels: {istio-injection: enabled}}
---
apiVersion: v1
kind: Namespace
metadata: {name: b, labels: {istio-injection: enabled}}
---
apiVersion: v1
kind: Namespace
metadata: {name: legacy}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: a, labels: {app: client}}
spec: {containers: [{name: c, image: i}]}
---
apiVersion: v1
kind: Pod
metadata: {name: srv, namespace: b, labels: {app: srv}}
spec: {containers: [{name: c, image: i, ports: [{containerPort: 8080}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: srv, namespace: b}
spec:
  selector: {app: srv}
  ports: [{name: http, port: 80, targetPort: 8080}, {name: tcp-admin, port: 9000}]
---
apiVersion: v1
kind: Pod
metadata: {name: old, namespace: legacy, labels: {app: old}}
spec: {containers: [{name: c, image: i}]}
---
apiVersion: v1
kind: Service
metadata: {name: old, namespace: legacy}
spec:
  selector: {app: old}
  ports: [{name: http, port: 80}]
)") + extra;
}

std::string pa(const std::string& ns, const std::string& name, const std::string& mode, const std::string& selector = "",
               const std::string& extra = "", const std::string& ts = "") {
  std::string y = "---\napiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata:\n  name: " + name +
                  "\n  namespace: " + ns + "\n";
  if (!ts.empty()) y += "  creationTimestamp: \"" + ts + "\"\n";
  y += "spec:\n";
  if (!selector.empty()) y += "  selector: {matchLabels: {" + selector + "}}\n";
  if (!mode.empty()) y += "  mtls: {mode: " + mode + "}\n";
  y += extra;
  return y;
}

struct Fixture {
  explicit Fixture(const std::string& extra) : b(build(mesh(extra))) {
    EXPECT_EQ(testing::error_count(b.diags), 0u) << dump(b.diags);
  }
  const World& w() const { return b.world; }
  const WorldPod& pod(const char* ns, const char* name) const { return *b.world.find_pod(ns, name); }
  const WorldService& svc(const char* host) const { return *b.world.service_by_hostname(host); }
  MtlsDecision srv(uint32_t port = 8080) const { return effective_peer_authentication(w(), pod("b", "srv"), port); }
  ClientTlsDecision from_client(const char* host, uint32_t port, std::string_view subset = "") const {
    const WorldService& s = svc(host);
    return client_tls_decision(w(), &pod("a", "client"), s, subset, port, s.endpoints.at(port).at(0));
  }
  testing::Built b;
};

// ---- §1.1 scope and selection -------------------------------------------------------------

TEST(PeerAuthn, NothingConfiguredIsPermissive) {
  Fixture f("");
  EXPECT_EQ(f.srv().mode, MtlsMode::kPermissive);
  EXPECT_EQ(f.srv().level, PolicyLevel::kDefault);
  EXPECT_EQ(f.srv().policy, nullptr);
}

TEST(PeerAuthn, MeshPolicyInRootNamespaceAppliesEverywhere) {
  Fixture f(pa("istio-system", "mesh", "STRICT"));
  EXPECT_EQ(f.srv().mode, MtlsMode::kStrict);
  EXPECT_EQ(f.srv().level, PolicyLevel::kMesh);
  EXPECT_EQ(effective_peer_authentication(f.w(), f.pod("legacy", "old"), 80).mode, MtlsMode::kStrict);
}

TEST(PeerAuthn, NamespaceOverridesMeshAndOnlyInItsNamespace) {
  Fixture f(pa("istio-system", "mesh", "STRICT") + pa("b", "ns", "PERMISSIVE"));
  EXPECT_EQ(f.srv().mode, MtlsMode::kPermissive);
  EXPECT_EQ(f.srv().level, PolicyLevel::kNamespace);
  EXPECT_EQ(effective_peer_authentication(f.w(), f.pod("a", "client"), 1).mode, MtlsMode::kStrict);
}

TEST(PeerAuthn, SpecificityNotStrictnessDecides) {
  Fixture f(pa("b", "ns", "STRICT") + pa("b", "wl", "DISABLE", "app: srv"));
  EXPECT_EQ(f.srv().mode, MtlsMode::kDisable) << "workload DISABLE overrides namespace STRICT";
  EXPECT_EQ(f.srv().level, PolicyLevel::kWorkload);
  EXPECT_EQ(f.srv().policy->meta.name, "wl");
}

TEST(PeerAuthn, EmptyMatchLabelsIsNamespaceLevel) {
  Fixture f(pa("b", "empty-selector", "STRICT", "") +
            "---\napiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: e2, namespace: a}\n"
            "spec: {selector: {matchLabels: {}}, mtls: {mode: DISABLE}}\n");
  EXPECT_EQ(effective_peer_authentication(f.w(), f.pod("a", "client"), 1).level, PolicyLevel::kNamespace);
  EXPECT_EQ(effective_peer_authentication(f.w(), f.pod("a", "client"), 1).mode, MtlsMode::kDisable);
}

TEST(PeerAuthn, SelectorPolicyInRootNamespaceIsIgnored) {
  Fixture f(pa("istio-system", "root-selector", "STRICT", "app: srv"));
  EXPECT_EQ(f.srv().mode, MtlsMode::kPermissive);
  auto sel = select_peer_authentications(f.w(), "b", f.pod("b", "srv").labels);
  ASSERT_EQ(sel.ignored_root_selector.size(), 1u);
  EXPECT_EQ(sel.workload, nullptr);
}

TEST(PeerAuthn, OldestSameLevelPolicyWinsByCreationTimestamp) {
  Fixture f(pa("b", "zzz-old", "STRICT", "", "", "2020-01-01T00:00:00Z") +
            pa("b", "aaa-new", "DISABLE", "", "", "2024-01-01T00:00:00Z"));
  EXPECT_EQ(f.srv().mode, MtlsMode::kStrict);
  EXPECT_EQ(f.srv().policy->meta.name, "zzz-old");
  auto sel = select_peer_authentications(f.w(), "b", f.pod("b", "srv").labels);
  ASSERT_EQ(sel.shadowed.size(), 1u);
  EXPECT_EQ(sel.shadowed[0]->meta.name, "aaa-new");
}

TEST(PeerAuthn, WithoutTimestampsTiesBreakByName) {
  Fixture f(pa("b", "wl-b", "DISABLE", "app: srv") + pa("b", "wl-a", "STRICT", "app: srv"));
  EXPECT_EQ(f.srv().policy->meta.name, "wl-a");
  EXPECT_EQ(f.srv().mode, MtlsMode::kStrict);
}

TEST(PeerAuthn, TimestampedPolicyIsOlderThanOneWithout) {
  Fixture f(pa("b", "aaa", "DISABLE") + pa("b", "zzz", "STRICT", "", "", "2024-01-01T00:00:00Z"));
  EXPECT_EQ(f.srv().policy->meta.name, "zzz");
}

// ---- §1.2/§1.3 UNSET inheritance --------------------------------------------------------------

TEST(PeerAuthn, UnsetNamespaceInheritsMesh) {
  Fixture f(pa("istio-system", "mesh", "STRICT") + pa("b", "ns", "UNSET"));
  EXPECT_EQ(f.srv().mode, MtlsMode::kStrict);
  EXPECT_EQ(f.srv().level, PolicyLevel::kMesh);
}

TEST(PeerAuthn, MissingMtlsBlockIsUnsetAndInherits) {
  Fixture f(pa("b", "ns", "DISABLE") + pa("b", "wl", "", "app: srv"));
  EXPECT_EQ(f.srv().mode, MtlsMode::kDisable);
  EXPECT_EQ(f.srv().level, PolicyLevel::kNamespace);
}

TEST(PeerAuthn, UnsetEverywhereIsPermissive) {
  Fixture f(pa("istio-system", "mesh", "UNSET") + pa("b", "ns", "UNSET"));
  EXPECT_EQ(f.srv().mode, MtlsMode::kPermissive);
}

// ---- §1.4 portLevelMtls ---------------------------------------------------------------------------

TEST(PeerAuthn, PortLevelOverridesWorkloadModeForThatPortOnly) {
  Fixture f(pa("b", "wl", "STRICT", "app: srv", "  portLevelMtls:\n    8080: {mode: DISABLE}\n"));
  EXPECT_EQ(f.srv(8080).mode, MtlsMode::kDisable);
  EXPECT_EQ(f.srv(8080).level, PolicyLevel::kPort);
  EXPECT_EQ(f.srv(9000).mode, MtlsMode::kStrict);
}

TEST(PeerAuthn, PortLevelKeyIsTheWorkloadPortNotTheServicePort) {
  Fixture f(pa("b", "wl", "", "app: srv", "  portLevelMtls:\n    80: {mode: STRICT}\n"));
  EXPECT_EQ(f.srv(8080).mode, MtlsMode::kPermissive) << "service port 80 targets 8080";
  EXPECT_EQ(f.srv(80).mode, MtlsMode::kStrict);
}

TEST(PeerAuthn, UnsetPortEntryInheritsComputedMode) {
  Fixture f(pa("b", "ns", "STRICT") + pa("b", "wl", "", "app: srv", "  portLevelMtls:\n    8080: {mode: UNSET}\n"));
  EXPECT_EQ(f.srv(8080).mode, MtlsMode::kStrict);
  EXPECT_EQ(f.srv(8080).level, PolicyLevel::kNamespace);
}

TEST(PeerAuthn, PortLevelIsReadOnlyFromTheChosenWorkloadPolicy) {
  // The older workload policy wins; the newer one's port-level entry is ignored.
  Fixture f(pa("b", "a-wl", "STRICT", "app: srv") +
            pa("b", "b-wl", "STRICT", "app: srv", "  portLevelMtls:\n    8080: {mode: DISABLE}\n"));
  EXPECT_EQ(f.srv(8080).mode, MtlsMode::kStrict);
}

// ---- namespace / mesh mode for the auto-mTLS cluster layer --------------------------------------

TEST(ServiceMtlsMode, NamespaceModeFallsBackToMeshThenUnknown) {
  Fixture none("");
  EXPECT_EQ(namespace_mtls_mode(none.w(), "b"), ServiceMtlsMode::kUnknown);
  Fixture mesh_unset(pa("istio-system", "mesh", "UNSET"));
  EXPECT_EQ(namespace_mtls_mode(mesh_unset.w(), "b"), ServiceMtlsMode::kPermissive);
  Fixture mesh_strict(pa("istio-system", "mesh", "STRICT") + pa("b", "ns", "UNSET"));
  EXPECT_EQ(namespace_mtls_mode(mesh_strict.w(), "b"), ServiceMtlsMode::kStrict) << "UNSET namespace inherits mesh";
  EXPECT_EQ(namespace_mtls_mode(mesh_strict.w(), "a"), ServiceMtlsMode::kStrict);
  Fixture ns_disable(pa("b", "ns", "DISABLE") + pa("b", "wl", "STRICT", "app: srv"));
  EXPECT_EQ(namespace_mtls_mode(ns_disable.w(), "b"), ServiceMtlsMode::kDisable) << "workload policies are ignored";
}

TEST(ServiceMtlsMode, BestEffortIsUnknownForExternalAndDisableForPassthroughWithPlainEndpoints) {
  Fixture f(R"(---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ext, namespace: a}
spec: {hosts: [x.example.com], ports: [{number: 80, name: http, protocol: HTTP}], resolution: DNS}
---
apiVersion: v1
kind: Service
metadata: {name: mixed, namespace: b}
spec: {clusterIP: None, selector: {app: srv}, ports: [{name: http, port: 8080}]}
)");
  EXPECT_EQ(best_effort_infer_service_mtls_mode(f.w(), nullptr, f.svc("x.example.com"), 80), ServiceMtlsMode::kUnknown);
  EXPECT_EQ(best_effort_infer_service_mtls_mode(f.w(), nullptr, f.svc("mixed.b.svc.cluster.local"), 8080),
            ServiceMtlsMode::kPermissive)
      << "headless, every endpoint has a sidecar";
  EXPECT_EQ(best_effort_infer_service_mtls_mode(f.w(), nullptr, f.svc("old.legacy.svc.cluster.local"), 80),
            ServiceMtlsMode::kPermissive);
  TrafficPolicy passthrough;
  passthrough.load_balancer = LoadBalancerSettings{SimpleLb::kPassthrough, {}, {}, {}};
  EXPECT_EQ(best_effort_infer_service_mtls_mode(f.w(), &passthrough, f.svc("old.legacy.svc.cluster.local"), 80),
            ServiceMtlsMode::kDisable)
      << "PASSTHROUGH with an endpoint without sidecar";
}

// ---- §2.1 ClientTLSSettings ------------------------------------------------------------------------

TEST(ClientTls, TlsBlockWithoutModeIsDisable) {
  auto l = testing::load("apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: d}\n"
                         "spec: {host: x, trafficPolicy: {tls: {sni: foo}}}\n");
  ASSERT_EQ(l.rs.destination_rules.size(), 1u) << dump(l.diags);
  EXPECT_EQ(l.rs.destination_rules[0].traffic_policy->tls->mode, ClientTlsMode::kDisable);
}

// ---- §2.2 auto mTLS ------------------------------------------------------------------------------------

TEST(AutoMtls, SidecarToSidecarIsMtlsWhateverThePolicy) {
  for (const char* mode : {"", "PERMISSIVE", "STRICT", "UNSET"}) {
    Fixture f(std::string(mode).empty() ? "" : pa("b", "ns", mode));
    auto d = f.from_client("srv.b.svc.cluster.local", 80);
    EXPECT_EQ(d.mode, ClientTlsDecision::Mode::kIstioMutual) << mode << ": " << d.reason;
    EXPECT_TRUE(d.auto_mtls_cluster);
    EXPECT_FALSE(d.user_supplied);
  }
}

TEST(AutoMtls, DestinationWithoutSidecarGetsPlaintextEvenUnderMeshStrict) {
  Fixture f(pa("istio-system", "mesh", "STRICT"));
  auto d = f.from_client("old.legacy.svc.cluster.local", 80);
  EXPECT_EQ(d.mode, ClientTlsDecision::Mode::kPlaintext);
  EXPECT_THAT(d.reason, HasSubstr("no sidecar"));
}

TEST(AutoMtls, WorkloadOrPortDisableGivesPlaintextAtTheEndpointLayer) {
  Fixture f(pa("b", "wl", "STRICT", "app: srv", "  portLevelMtls:\n    8080: {mode: DISABLE}\n"));
  auto d = f.from_client("srv.b.svc.cluster.local", 80);
  EXPECT_EQ(d.mode, ClientTlsDecision::Mode::kPlaintext) << d.reason;
  EXPECT_TRUE(d.auto_mtls_cluster) << "the cluster has TLS; the endpoint metadata says plaintext";
  EXPECT_EQ(f.from_client("srv.b.svc.cluster.local", 9000).mode, ClientTlsDecision::Mode::kIstioMutual);
}

TEST(AutoMtls, NamespaceDisableWithWorkloadStrictSendsPlaintext) {
  Fixture f(pa("b", "ns", "DISABLE") + pa("b", "wl", "STRICT", "app: srv"));
  auto d = f.from_client("srv.b.svc.cluster.local", 80);
  EXPECT_EQ(d.mode, ClientTlsDecision::Mode::kPlaintext);
  EXPECT_FALSE(d.auto_mtls_cluster);
  EXPECT_EQ(d.service_mode, ServiceMtlsMode::kDisable);
  EXPECT_EQ(f.srv().mode, MtlsMode::kStrict) << "…while the server requires mTLS";
}

TEST(AutoMtls, ExcludedInboundPortIsInvisibleToClients) {
  Fixture f(R"(---
apiVersion: v1
kind: Pod
metadata:
  name: ex
  namespace: b
  labels: {app: ex}
  annotations: {traffic.sidecar.istio.io/excludeInboundPorts: "8080"}
spec: {containers: [{name: c, image: i}]}
---
apiVersion: v1
kind: Service
metadata: {name: ex, namespace: b}
spec: {selector: {app: ex}, ports: [{name: http, port: 8080}]}
)");
  auto d = f.from_client("ex.b.svc.cluster.local", 8080);
  EXPECT_EQ(d.mode, ClientTlsDecision::Mode::kIstioMutual);
  EXPECT_FALSE(captures_inbound(f.pod("b", "ex").interception, 8080)) << "…but the server's sidecar never sees it";
}

TEST(AutoMtls, OffInMeshConfigMeansPlaintextWithoutDestinationRule) {
  Fixture f(R"(---
apiVersion: install.istio.io/v1alpha1
kind: IstioOperator
metadata: {name: io, namespace: istio-system}
spec: {meshConfig: {enableAutoMtls: false}}
)");
  EXPECT_EQ(f.from_client("srv.b.svc.cluster.local", 80).mode, ClientTlsDecision::Mode::kPlaintext);
}

TEST(AutoMtls, MeshExternalServiceIsPlaintext) {
  Fixture f(R"(---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ext, namespace: a}
spec: {hosts: [x.example.com], ports: [{number: 80, name: http, protocol: HTTP}], resolution: DNS}
)");
  auto d = f.from_client("x.example.com", 80);
  EXPECT_EQ(d.mode, ClientTlsDecision::Mode::kPlaintext);
  EXPECT_THAT(d.reason, HasSubstr("MESH_EXTERNAL"));
}

TEST(AutoMtls, ClientWithoutSidecarOrBypassingItSendsPlaintext) {
  Fixture f(R"(---
apiVersion: v1
kind: Pod
metadata:
  name: bypass
  namespace: a
  annotations: {traffic.sidecar.istio.io/excludeOutboundPorts: "80"}
spec: {containers: [{name: c, image: i}]}
)");
  const WorldService& s = f.svc("srv.b.svc.cluster.local");
  const Endpoint& ep = s.endpoints.at(80).at(0);
  auto plain = client_tls_decision(f.w(), &f.pod("legacy", "old"), s, "", 80, ep);
  EXPECT_EQ(plain.mode, ClientTlsDecision::Mode::kPlaintext);
  auto bypass = client_tls_decision(f.w(), &f.pod("a", "bypass"), s, "", 80, ep);
  EXPECT_EQ(bypass.mode, ClientTlsDecision::Mode::kPlaintext);
  EXPECT_THAT(bypass.reason, HasSubstr("bypassed"));
  EXPECT_EQ(client_tls_decision(f.w(), nullptr, s, "", 80, ep).mode, ClientTlsDecision::Mode::kPlaintext);
}

std::string dr(const std::string& ns, const std::string& name, const std::string& host, const std::string& spec_rest,
               const std::string& ts = "") {
  std::string y = "---\napiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata:\n  name: " + name +
                  "\n  namespace: " + ns + "\n";
  if (!ts.empty()) y += "  creationTimestamp: \"" + ts + "\"\n";
  return y + "spec:\n  host: \"" + host + "\"\n" + spec_rest;
}

TEST(AutoMtls, DestinationRuleTlsIsUsedVerbatim) {
  Fixture disable(pa("b", "ns", "STRICT") + dr("a", "d", "srv.b.svc.cluster.local", "  trafficPolicy: {tls: {mode: DISABLE}}\n"));
  auto d = disable.from_client("srv.b.svc.cluster.local", 80);
  EXPECT_EQ(d.mode, ClientTlsDecision::Mode::kPlaintext);
  EXPECT_TRUE(d.user_supplied);
  Fixture istio(dr("a", "d", "old.legacy.svc.cluster.local", "  trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}\n"));
  EXPECT_EQ(istio.from_client("old.legacy.svc.cluster.local", 80).mode, ClientTlsDecision::Mode::kIstioMutual)
      << "ISTIO_MUTUAL is sent even to a pod without sidecar";
  Fixture simple(dr("a", "d", "srv.b.svc.cluster.local", "  trafficPolicy: {tls: {mode: SIMPLE}}\n"));
  EXPECT_EQ(simple.from_client("srv.b.svc.cluster.local", 80).mode, ClientTlsDecision::Mode::kSimpleTls);
}

TEST(AutoMtls, PortLevelEntryWithoutTlsMakesTheClusterAutoButTheEndpointFollowsTopLevelTls) {
  // portLevelSettings replace the top-level policy wholesale for the cluster (tls gone => auto mTLS),
  // while the endpoint layer keeps the top-level tls when the port entry has none.
  Fixture f(dr("a", "d", "old.legacy.svc.cluster.local",
               "  trafficPolicy:\n    tls: {mode: ISTIO_MUTUAL}\n    portLevelSettings:\n"
               "    - port: {number: 80}\n      connectionPool: {tcp: {maxConnections: 5}}\n"));
  auto d = f.from_client("old.legacy.svc.cluster.local", 80);
  EXPECT_FALSE(d.user_supplied);
  EXPECT_TRUE(d.auto_mtls_cluster);
  EXPECT_EQ(d.mode, ClientTlsDecision::Mode::kIstioMutual) << d.reason;
  EXPECT_THAT(d.reason, HasSubstr("endpoint metadata follows"));
}

// ---- §2.3 DestinationRule choice -----------------------------------------------------------------------

TEST(DestinationRuleChoiceTest, ClientNamespaceThenServiceNamespaceThenRoot) {
  const std::string host = "srv.b.svc.cluster.local";
  Fixture all(dr("a", "in-client", host, "  trafficPolicy: {tls: {mode: DISABLE}}\n") +
              dr("b", "in-service", "srv", "  trafficPolicy: {tls: {mode: SIMPLE}}\n") +
              dr("istio-system", "in-root", host, "  trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}\n"));
  EXPECT_EQ(choose_destination_rule(all.w(), "a", all.svc(host.c_str())).rule->meta.name, "in-client");
  EXPECT_EQ(choose_destination_rule(all.w(), "legacy", all.svc(host.c_str())).rule->meta.name, "in-service");
  Fixture root_only(dr("istio-system", "in-root", host, "  trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}\n"));
  EXPECT_EQ(choose_destination_rule(root_only.w(), "a", root_only.svc(host.c_str())).rule->meta.name, "in-root");
}

TEST(DestinationRuleChoiceTest, ExportToDotHidesTheRuleFromOtherNamespaces) {
  const std::string host = "srv.b.svc.cluster.local";
  Fixture f(dr("b", "private", "srv", "  exportTo: [\".\"]\n  trafficPolicy: {tls: {mode: SIMPLE}}\n"));
  EXPECT_EQ(choose_destination_rule(f.w(), "a", f.svc(host.c_str())).rule, nullptr);
  EXPECT_NE(choose_destination_rule(f.w(), "b", f.svc(host.c_str())).rule, nullptr);
}

TEST(DestinationRuleChoiceTest, MostSpecificHostWinsThenOldest) {
  const std::string host = "srv.b.svc.cluster.local";
  Fixture f(dr("a", "wild", "*.b.svc.cluster.local", "  trafficPolicy: {tls: {mode: SIMPLE}}\n") +
            dr("a", "wilder", "*.svc.cluster.local", "  trafficPolicy: {tls: {mode: SIMPLE}}\n"));
  EXPECT_EQ(choose_destination_rule(f.w(), "a", f.svc(host.c_str())).rule->meta.name, "wild");
  Fixture g(dr("a", "wild", "*.b.svc.cluster.local", "  trafficPolicy: {tls: {mode: SIMPLE}}\n") +
            dr("a", "zz-exact", host, "  trafficPolicy: {tls: {mode: SIMPLE}}\n") +
            dr("a", "aa-exact", host, "  trafficPolicy: {tls: {mode: SIMPLE}}\n"));
  EXPECT_EQ(choose_destination_rule(g.w(), "a", g.svc(host.c_str())).rule->meta.name, "aa-exact");
}

TEST(DestinationRuleChoiceTest, SameHostRulesOfANamespaceAreMergedLikeIstiod) {
  const std::string host = "srv.b.svc.cluster.local";
  Fixture f(dr("a", "older", host, "  subsets: [{name: v1, labels: {app: srv}}]\n", "2020-01-01T00:00:00Z") +
            dr("a", "newer", host,
               "  trafficPolicy: {tls: {mode: SIMPLE}}\n  subsets: [{name: v1, labels: {version: x}}, {name: v2, labels: {app: srv}}]\n",
               "2021-01-01T00:00:00Z"));
  auto choice = choose_destination_rule(f.w(), "a", f.svc(host.c_str()));
  ASSERT_NE(choice.rule, nullptr);
  EXPECT_EQ(choice.rule->meta.name, "older");
  ASSERT_EQ(choice.rule->subsets.size(), 2u);
  EXPECT_EQ(choice.rule->subsets[0].labels.at("app"), "srv") << "the first definition of v1 wins";
  EXPECT_EQ(choice.rule->subsets[1].name, "v2");
  ASSERT_TRUE(choice.rule->traffic_policy) << "the older rule has none, so the newer rule's policy is used";
  EXPECT_EQ(choice.rule->traffic_policy->tls->mode, ClientTlsMode::kSimple);
}

// ---- §2.3 merge ----------------------------------------------------------------------------------------------

TEST(TrafficPolicyMerge, PortLevelReplacesTopLevelWholesale) {
  Fixture f(dr("a", "d", "srv.b.svc.cluster.local",
               "  trafficPolicy:\n    connectionPool: {tcp: {maxConnections: 10}}\n"
               "    outlierDetection: {consecutive5xxErrors: 3}\n    portLevelSettings:\n"
               "    - port: {number: 80}\n      loadBalancer: {simple: RANDOM}\n"));
  const DestinationRule* d = &f.w().resources().destination_rules[0];
  auto p80 = merged_traffic_policy(d, "", 80);
  ASSERT_TRUE(p80);
  EXPECT_EQ(p80->load_balancer->simple, SimpleLb::kRandom);
  EXPECT_FALSE(p80->connection_pool) << "not inherited from the top level";
  EXPECT_FALSE(p80->outlier_detection);
  auto p9000 = merged_traffic_policy(d, "", 9000);
  EXPECT_EQ(*p9000->connection_pool->tcp->max_connections, 10);
  EXPECT_FALSE(p9000->load_balancer);
}

TEST(TrafficPolicyMerge, SubsetOverridesPerComponentAndSubsetPortLevelReplacesAll) {
  Fixture f(dr("a", "d", "srv.b.svc.cluster.local",
               "  trafficPolicy:\n    connectionPool: {tcp: {maxConnections: 10}}\n    tls: {mode: ISTIO_MUTUAL}\n"
               "  subsets:\n  - name: v1\n    labels: {app: srv}\n    trafficPolicy:\n"
               "      loadBalancer: {simple: LEAST_REQUEST}\n      portLevelSettings:\n"
               "      - port: {number: 9000}\n        tls: {mode: DISABLE}\n"));
  const DestinationRule* d = &f.w().resources().destination_rules[0];
  auto v1_80 = merged_traffic_policy(d, "v1", 80);
  EXPECT_EQ(v1_80->load_balancer->simple, SimpleLb::kLeastRequest);
  EXPECT_EQ(*v1_80->connection_pool->tcp->max_connections, 10) << "inherited: the subset does not set it";
  EXPECT_EQ(v1_80->tls->mode, ClientTlsMode::kIstioMutual);
  auto v1_9000 = merged_traffic_policy(d, "v1", 9000);
  EXPECT_EQ(v1_9000->tls->mode, ClientTlsMode::kDisable);
  EXPECT_FALSE(v1_9000->connection_pool) << "subset port level replaces all four components";
  EXPECT_FALSE(v1_9000->load_balancer);
}

TEST(TrafficPolicyMerge, EndpointLayerReadsOnlyTheSubsetPolicyForSubsets) {
  Fixture f(dr("a", "d", "srv.b.svc.cluster.local",
               "  trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}\n  subsets:\n  - name: v1\n    labels: {app: srv}\n"
               "  - name: v2\n    labels: {app: srv}\n    trafficPolicy:\n      tls: {mode: DISABLE}\n"
               "      portLevelSettings: [{port: {number: 80}, tls: {mode: SIMPLE}}]\n"));
  const DestinationRule* d = &f.w().resources().destination_rules[0];
  EXPECT_EQ(*endpoint_tls_mode_from_rule(d, "", 80), ClientTlsMode::kIstioMutual);
  EXPECT_FALSE(endpoint_tls_mode_from_rule(d, "v1", 80)) << "v1 has no policy of its own";
  EXPECT_EQ(*endpoint_tls_mode_from_rule(d, "v2", 80), ClientTlsMode::kSimple);
  EXPECT_EQ(*endpoint_tls_mode_from_rule(d, "v2", 9000), ClientTlsMode::kDisable);
}

// ---- authorization -------------------------------------------------------------------------------------------

TEST(Authz, RootNamespaceAndSelectorScopingWithTargetRefsSkipped) {
  Fixture f(R"(---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: mesh-wide, namespace: istio-system}
spec: {action: DENY, rules: [{to: [{operation: {ports: ["9999"]}}]}]}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: srv-only, namespace: b}
spec: {selector: {matchLabels: {app: srv}}, rules: [{}]}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: other, namespace: b}
spec: {selector: {matchLabels: {app: nope}}}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: waypoint, namespace: b}
spec: {targetRefs: [{kind: Service, group: "", name: srv}]}
)");
  auto aps = authorization_policies_for(f.w(), "b", f.pod("b", "srv").labels);
  ASSERT_EQ(aps.size(), 2u);
  EXPECT_EQ(aps[0]->meta.name, "mesh-wide");
  EXPECT_EQ(aps[1]->meta.name, "srv-only");
  EXPECT_EQ(authorization_policies_for(f.w(), "a", f.pod("a", "client").labels).size(), 1u);
}

TEST(Authz, HttpOnlyFieldsAreListed) {
  AuthzRule r;
  r.to.push_back(AuthzOperation{{}, {}, {"8080"}, {}, {"GET"}, {}, {"/x"}, {}});
  r.when.push_back(AuthzCondition{"request.headers[x-user]", {"a"}, {}});
  r.when.push_back(AuthzCondition{"source.ip", {"10.0.0.1"}, {}});
  // Istio's envoyFilterGenerator ignores forTCP: not HTTP-only.
  r.when.push_back(AuthzCondition{"experimental.envoy.filters.network.mysql_proxy[db.table]", {"[update]"}, {}});
  EXPECT_EQ(http_only_fields(r),
            (std::vector<std::string>{"to.operation.methods", "to.operation.paths", "when request.headers[x-user]"}));
}

TEST(Ingress, PathMatchFallbackRules) {
  using T = IngressPathMatch::Type;
  auto m = [](const char* path, const char* type) { return ingress_path_match(IngressPath{path, type, {}, {}}); };
  EXPECT_EQ(m("/a", "Exact").type, T::kExact);
  EXPECT_EQ(m("/a", "Prefix").type, T::kPrefix);
  for (const char* any : {"", "*", "/*", ".*"}) EXPECT_EQ(m(any, "ImplementationSpecific").type, T::kAny) << any;
  auto p = m("/api/.*", "ImplementationSpecific");
  EXPECT_EQ(p.type, T::kPrefix);
  EXPECT_EQ(p.value, "/api/");
  EXPECT_EQ(m("/static/*", "").value, "/static");
  auto e = m("/v[0-9]+/x", "ImplementationSpecific");
  EXPECT_EQ(e.type, T::kExact) << "regex characters are literal";
}

TEST(Ingress, ClassSelection) {
  Fixture f(R"(---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: istio}
spec: {controller: istio.io/ingress-controller}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: by-class, namespace: a}
spec: {ingressClassName: istio, defaultBackend: {service: {name: x, port: {number: 80}}}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: by-annotation, namespace: a, annotations: {kubernetes.io/ingress.class: istio}}
spec: {defaultBackend: {service: {name: x, port: {number: 80}}}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: unclassed, namespace: a}
spec: {defaultBackend: {service: {name: x, port: {number: 80}}}}
)");
  const auto& ings = f.w().resources().ingresses;
  ASSERT_EQ(ings.size(), 3u);
  EXPECT_TRUE(istio_processes_ingress(f.w(), ings[0]));
  EXPECT_TRUE(istio_processes_ingress(f.w(), ings[1]));
  EXPECT_FALSE(istio_processes_ingress(f.w(), ings[2])) << "ingressControllerMode STRICT by default";
}

TEST(HostMatch, WildcardsAndExact) {
  EXPECT_TRUE(host_matches("*", "a.b"));
  EXPECT_TRUE(host_matches("*.b.svc.cluster.local", "a.b.svc.cluster.local"));
  EXPECT_FALSE(host_matches("*.b.svc.cluster.local", "b.svc.cluster.local"));
  EXPECT_TRUE(host_matches("a.b", "a.b"));
  EXPECT_FALSE(host_matches("a.b", "a.c"));
}

}  // namespace
}  // namespace meshsim::mesh
