// The derived world: names, nodes, placement, addresses, injection,
// interception, protocol selection, endpoints, lookups, mesh config.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <regex>

#include "mesh/policy.h"
#include "mesh/tests/test_util.h"

namespace meshsim::mesh {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::build;
using testing::dump;
using testing::with_code;

constexpr const char* kApp = R"(apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {istio-injection: enabled}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web, version: v1}}
    spec:
      serviceAccountName: web-sa
      containers:
      - name: web
        image: web:1
        ports: [{name: http-web, containerPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  selector: {app: web}
  ports:
  - {name: http, port: 80, targetPort: http-web}
)";

TEST(World, DeploymentPodsGetStableTemplateHashNames) {
  auto a = build(kApp);
  auto b = build(kApp);
  ASSERT_TRUE(a.diags.empty()) << dump(a.diags);
  auto pods = a.world.pods_of_workload(Kind::kDeployment, "shop", "web");
  ASSERT_EQ(pods.size(), 3u);
  std::regex name("web-[bcdfghjklmnpqrstvwxz2456789]{1,10}-[bcdfghjklmnpqrstvwxz2456789]{5}");
  for (size_t i = 0; i < pods.size(); ++i) {
    EXPECT_TRUE(std::regex_match(pods[i]->name, name)) << pods[i]->name;
    EXPECT_EQ(pods[i]->name, b.world.pods_of_workload(Kind::kDeployment, "shop", "web")[i]->name);
    EXPECT_EQ(pods[i]->labels.at("pod-template-hash"), pods[0]->labels.at("pod-template-hash"));
    EXPECT_EQ(pods[i]->service_account, "web-sa");
  }
}

TEST(World, StatefulSetOrdinalsAndDaemonSetOnePerNode) {
  auto b = build(R"(apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  replicas: 2
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: c, image: i}]}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {containers: [{name: c, image: i}]}
)");
  ASSERT_NE(b.world.find_pod("default", "db-0"), nullptr);
  ASSERT_NE(b.world.find_pod("default", "db-1"), nullptr);
  EXPECT_EQ(b.world.nodes().size(), 3u);
  auto agents = b.world.pods_of_workload(Kind::kDaemonSet, "default", "agent");
  ASSERT_EQ(agents.size(), 3u);
  std::set<int32_t> nodes;
  for (auto* p : agents) nodes.insert(p->node);
  EXPECT_EQ(nodes.size(), 3u);
}

TEST(World, DefaultNodesHaveOneLocalityAndPodsSpreadWithIpsInNodeCidr) {
  auto b = build(kApp);
  ASSERT_EQ(b.world.nodes().size(), 3u);
  EXPECT_EQ(b.world.nodes()[0].name, "node-1");
  EXPECT_EQ(b.world.nodes()[0].locality.str(), "region1/zone1");
  EXPECT_EQ(to_string(b.world.nodes()[1].pod_cidr), "10.244.1.0/24");
  std::set<int32_t> used;
  for (auto* p : b.world.pods_of_workload(Kind::kDeployment, "shop", "web")) {
    used.insert(p->node);
    EXPECT_TRUE(b.world.nodes()[static_cast<size_t>(p->node)].pod_cidr.contains(p->ip)) << to_string(p->ip);
    EXPECT_EQ(b.world.pod_by_ip(p->ip), p);
  }
  EXPECT_EQ(used.size(), 3u) << "three replicas spread over three nodes";
}

TEST(World, NodeObjectsGiveLocalityAndNodeSelectorPlacesPods) {
  auto b = build(R"(apiVersion: v1
kind: Node
metadata:
  name: n-east
  labels: {topology.kubernetes.io/region: us-east, topology.kubernetes.io/zone: us-east-1a, topology.istio.io/subzone: rack1, disk: ssd}
---
apiVersion: v1
kind: Node
metadata:
  name: n-west
  labels: {topology.kubernetes.io/region: us-west, topology.kubernetes.io/zone: us-west-1b}
---
apiVersion: v1
kind: Pod
metadata: {name: fast}
spec:
  nodeSelector: {disk: ssd}
  containers: [{name: c, image: i}]
---
apiVersion: v1
kind: Pod
metadata: {name: pinned}
spec:
  nodeName: n-west
  containers: [{name: c, image: i}]
---
apiVersion: v1
kind: Pod
metadata: {name: nowhere}
spec:
  nodeSelector: {gpu: "true"}
  containers: [{name: c, image: i}]
)");
  const WorldPod* fast = b.world.find_pod("default", "fast");
  ASSERT_NE(fast, nullptr);
  EXPECT_EQ(b.world.nodes()[static_cast<size_t>(fast->node)].locality.str(), "us-east/us-east-1a/rack1");
  EXPECT_EQ(b.world.nodes()[static_cast<size_t>(b.world.find_pod("default", "pinned")->node)].name, "n-west");
  EXPECT_FALSE(b.world.find_pod("default", "nowhere")->scheduled());
  EXPECT_EQ(with_code(b.diags, "MS0007").size(), 1u) << dump(b.diags);
}

TEST(World, ClusterIpsHonouredAllocatedOrHeadless) {
  auto b = build(R"(apiVersion: v1
kind: Service
metadata: {name: fixed}
spec: {clusterIP: 10.96.5.5, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: auto}
spec: {ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: headless}
spec: {clusterIP: None, ports: [{port: 80}]}
)");
  const auto* fixed = b.world.service_by_hostname("fixed.default.svc.cluster.local");
  ASSERT_NE(fixed, nullptr);
  EXPECT_EQ(to_string(fixed->vip), "10.96.5.5");
  const auto* autos = b.world.service_by_hostname("auto.default.svc.cluster.local");
  ASSERT_NE(autos, nullptr);
  EXPECT_TRUE(autos->has_vip);
  EXPECT_TRUE((Cidr{Ipv4::of(10, 96, 0, 0), 12}.contains(autos->vip)));
  EXPECT_EQ(b.world.service_by_vip(autos->vip), autos);
  const auto* headless = b.world.service_by_hostname("headless.default.svc.cluster.local");
  EXPECT_TRUE(headless->headless);
  EXPECT_FALSE(headless->has_vip);
  EXPECT_EQ(headless->resolution, ServiceEntryResolution::kNone);
}

TEST(World, RebuildKeepsAddressesOfSurvivingObjects) {
  auto first = build(kApp);
  std::string more = std::string(kApp) + R"(---
apiVersion: v1
kind: Pod
metadata: {name: aaa-new, namespace: shop}
spec: {containers: [{name: c, image: i}]}
---
apiVersion: v1
kind: Service
metadata: {name: aaa, namespace: shop}
spec: {ports: [{port: 80}]}
)";
  auto second = build(more, &first.world);
  for (auto* p : first.world.pods_of_workload(Kind::kDeployment, "shop", "web")) {
    const WorldPod* q = second.world.find_pod("shop", p->name);
    ASSERT_NE(q, nullptr);
    EXPECT_EQ(q->ip, p->ip);
  }
  EXPECT_EQ(second.world.service_by_hostname("web.shop.svc.cluster.local")->vip,
            first.world.service_by_hostname("web.shop.svc.cluster.local")->vip);
}

TEST(World, RuntimeChangeReplacesAPolicyAndKeepsTheRest) {
  auto first = build(std::string(kApp) + R"(---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: shop}
spec: {mtls: {mode: PERMISSIVE}}
)");
  const WorldPod* pod = first.world.pods_of_workload(Kind::kDeployment, "shop", "web")[0];
  ASSERT_EQ(effective_peer_authentication(first.world, *pod, 8080).mode, MtlsMode::kPermissive);
  // At virtual time T a scenario applies a STRICT policy with the same name.
  ResourceSet rs = first.world.resources();
  ASSERT_TRUE(rs.remove(Kind::kPeerAuthentication, "shop", "default"));
  std::vector<Diagnostic> diags;
  load_text("apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: default, namespace: shop}\n"
            "spec: {mtls: {mode: STRICT}}\n",
            "change.yaml", rs, diags);
  ASSERT_TRUE(diags.empty()) << dump(diags);
  World second = build_world(std::move(rs), first.world.mesh_config(), diags, &first.world);
  const WorldPod* same = second.find_pod("shop", pod->name);
  ASSERT_NE(same, nullptr);
  EXPECT_EQ(same->ip, pod->ip);
  auto d = effective_peer_authentication(second, *same, 8080);
  EXPECT_EQ(d.mode, MtlsMode::kStrict);
  EXPECT_EQ(*d.policy->source.location.file, "change.yaml");
  EXPECT_EQ(effective_peer_authentication(first.world, *pod, 8080).mode, MtlsMode::kPermissive)
      << "the old world is untouched";
}

TEST(World, EndpointsResolveNamedTargetPortsAndCarrySidecarLabel) {
  auto b = build(kApp);
  const auto* svc = b.world.service_by_host("web", "shop");
  ASSERT_NE(svc, nullptr);
  EXPECT_EQ(svc, b.world.service_by_host("web.shop", "other"));
  EXPECT_EQ(svc, b.world.service_by_host("web.shop.svc.cluster.local", "other"));
  EXPECT_EQ(b.world.service_by_host("web", "other"), nullptr);
  ASSERT_EQ(svc->endpoints.at(80).size(), 3u);
  for (const auto& e : svc->endpoints.at(80)) {
    EXPECT_EQ(e.port, 8080u);
    EXPECT_TRUE(e.sidecar);
    EXPECT_EQ(e.labels.at("security.istio.io/tlsMode"), "istio");
  }
  EXPECT_THAT(svc->service_accounts, ElementsAre("shop/web-sa"));
  EXPECT_EQ(b.world.services_of_pod(svc->endpoints.at(80)[0].pod).size(), 1u);
}

TEST(World, ConfigHostsExpandOnlyShortNames) {
  auto b = build(kApp);
  EXPECT_EQ(b.world.config_host_to_fqdn("web", "shop"), "web.shop.svc.cluster.local");
  EXPECT_EQ(b.world.config_host_to_fqdn("web.shop", "shop"), "web.shop") << "Istio does not expand name.namespace";
  EXPECT_EQ(b.world.config_host_to_fqdn("*", "shop"), "*");
  EXPECT_EQ(b.world.config_host_to_fqdn("10.0.0.1", "shop"), "10.0.0.1");
}

struct InjectionCase {
  const char* name;
  Labels ns_labels, pod_labels, annotations;
  bool host_network;
  std::string ns;
  bool injected;
};

TEST(Injection, DecisionTable) {
  const InjectionCase cases[] = {
      {"namespace enabled", {{"istio-injection", "enabled"}}, {}, {}, false, "a", true},
      {"namespace disabled", {{"istio-injection", "disabled"}}, {{"sidecar.istio.io/inject", "true"}}, {}, false, "a", false},
      {"namespace revision", {{"istio.io/rev", "canary"}}, {}, {}, false, "a", true},
      {"unlabelled namespace", {}, {}, {}, false, "a", false},
      {"pod label true in unlabelled ns", {}, {{"sidecar.istio.io/inject", "true"}}, {}, false, "a", true},
      {"pod annotation true in unlabelled ns (webhook not called)", {}, {}, {{"sidecar.istio.io/inject", "true"}}, false, "a", false},
      {"pod label false in enabled ns", {{"istio-injection", "enabled"}}, {{"sidecar.istio.io/inject", "false"}}, {}, false, "a", false},
      {"pod annotation false in enabled ns", {{"istio-injection", "enabled"}}, {}, {{"sidecar.istio.io/inject", "false"}}, false, "a", false},
      {"label wins over annotation", {{"istio-injection", "enabled"}}, {{"sidecar.istio.io/inject", "true"}}, {{"sidecar.istio.io/inject", "false"}}, false, "a", true},
      {"unrecognised value is not injected", {{"istio-injection", "enabled"}}, {}, {{"sidecar.istio.io/inject", "maybe"}}, false, "a", false},
      {"hostNetwork", {{"istio-injection", "enabled"}}, {}, {}, true, "a", false},
      {"kube-system", {{"istio-injection", "enabled"}}, {}, {}, false, "kube-system", false},
      {"pod revision label", {}, {{"istio.io/rev", "stable"}}, {}, false, "a", true},
  };
  for (const auto& c : cases) {
    auto d = decide_injection(c.ns, c.ns_labels, c.pod_labels, c.annotations, c.host_network);
    EXPECT_EQ(d.injected, c.injected) << c.name << ": " << d.reason;
    EXPECT_FALSE(d.reason.empty()) << c.name;
  }
}

TEST(Injection, InjectedPodsGetTlsModeLabelAndInterception) {
  auto b = build(std::string(kApp) + R"(---
apiVersion: v1
kind: Pod
metadata:
  name: special
  namespace: shop
  annotations:
    traffic.sidecar.istio.io/excludeInboundPorts: "9000, 9001"
    traffic.sidecar.istio.io/excludeOutboundIPRanges: 10.1.0.0/16
    traffic.sidecar.istio.io/includeOutboundPorts: "5432"
    status.sidecar.istio.io/port: "15999"
    proxy.istio.io/config: |
      proxyMetadata:
        SECRET_TTL: 48h
    sidecar.istio.io/rewriteAppHTTPProbers: "false"
    meshsim.io/app: mysql
spec: {containers: [{name: c, image: i}]}
)");
  ASSERT_TRUE(b.diags.empty()) << dump(b.diags);
  const WorldPod* p = b.world.find_pod("shop", "special");
  ASSERT_NE(p, nullptr);
  EXPECT_TRUE(p->injected);
  EXPECT_EQ(p->labels.at("security.istio.io/tlsMode"), "istio");
  EXPECT_THAT(p->interception.exclude_inbound_ports, ElementsAre(9000, 9001, 15021, 15090, 15999));
  EXPECT_EQ(p->interception.status_port, 15999);
  EXPECT_FALSE(captures_inbound(p->interception, 9000));
  EXPECT_TRUE(captures_inbound(p->interception, 8080));
  const Ipv4 self = p->ip;
  EXPECT_FALSE(captures_outbound(p->interception, self, Ipv4::of(10, 1, 2, 3), 80));
  // istio-iptables appends the excluded-range RETURNs before the included-port
  // REDIRECTs (run.go: "Apply outbound IPv4 exclusions. Must be applied before
  // inclusions."), so an excluded range wins over an included port.
  EXPECT_FALSE(captures_outbound(p->interception, self, Ipv4::of(10, 1, 2, 3), 5432));
  EXPECT_TRUE(captures_outbound(p->interception, self, Ipv4::of(10, 2, 2, 3), 5432));
  EXPECT_TRUE(captures_outbound(p->interception, self, Ipv4::of(10, 2, 2, 3), 80));
  // 15008 (HBONE) is RETURNed first in ISTIO_INBOUND, before the "*" redirect.
  EXPECT_FALSE(captures_inbound(p->interception, 15008));
  EXPECT_FALSE(p->rewrite_app_http_probers);
  EXPECT_EQ(p->app_model, "mysql");
  EXPECT_EQ(workload_cert_ttl(b.world.mesh_config(), p->proxy_metadata), Duration::hours(48));
}

TEST(Injection, BadInterceptionAnnotationsAreLocatedErrors) {
  auto b = build(R"(apiVersion: v1
kind: Namespace
metadata: {name: a, labels: {istio-injection: enabled}}
---
apiVersion: v1
kind: Pod
metadata:
  name: p
  namespace: a
  annotations:
    traffic.sidecar.istio.io/excludeInboundPorts: "80,70000"
    traffic.sidecar.istio.io/excludeOutboundIPRanges: "10.0.0.1/8"
spec: {containers: [{name: c, image: i}]}
)");
  auto errs = with_code(b.diags, "MS0002");
  ASSERT_EQ(errs.size(), 2u) << dump(b.diags);
  EXPECT_THAT(dump(errs), HasSubstr("\"70000\" is not a port in [1, 65535]"));
  EXPECT_EQ(errs[0].location.line, 11u) << "points at the annotation key";
  EXPECT_EQ(errs[0].location.column, 5u);
}

TEST(Protocol, SelectionOrder) {
  auto p = [](uint32_t port, const char* name, const char* proto = "TCP", std::optional<std::string> app = std::nullopt) {
    return resolve_port_protocol(port, name, proto, app).protocol;
  };
  EXPECT_EQ(p(80, "http"), Protocol::kHttp);
  EXPECT_EQ(p(80, "http-web"), Protocol::kHttp);
  EXPECT_EQ(p(80, "HTTP2-x"), Protocol::kHttp2);
  EXPECT_EQ(p(80, "grpc-web-x"), Protocol::kGrpcWeb);
  EXPECT_EQ(p(80, "tcp", "TCP", "http"), Protocol::kHttp) << "appProtocol wins over the name";
  EXPECT_EQ(p(80, "http", "TCP", "custom"), Protocol::kUnsupported) << "appProtocol replaces the name";
  EXPECT_EQ(p(80, "x", "TCP", "kubernetes.io/h2c"), Protocol::kHttp2);
  EXPECT_EQ(p(3306, "db"), Protocol::kTcp) << "well-known server-first port";
  EXPECT_EQ(p(27017, ""), Protocol::kTcp);
  EXPECT_EQ(p(3306, "http"), Protocol::kHttp) << "an explicit name beats the well-known port";
  EXPECT_EQ(p(3307, "db"), Protocol::kUnsupported);
  EXPECT_EQ(p(53, "dns", "UDP"), Protocol::kUdp);
  EXPECT_EQ(p(3306, "mysql"), Protocol::kMysql);
  EXPECT_TRUE(is_server_first(3306, Protocol::kTcp));
  EXPECT_TRUE(is_server_first(9999, Protocol::kMongo));
  EXPECT_FALSE(is_server_first(80, Protocol::kHttp));
}

TEST(World, ServiceEntryEndpointsAndWorkloadEntries) {
  auto b = build(R"(apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ext}
spec:
  hosts: [api.example.com]
  ports: [{number: 443, name: https, protocol: TLS}]
  resolution: DNS
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: vm}
spec:
  hosts: [vm.internal]
  location: MESH_INTERNAL
  ports: [{number: 3306, name: tcp-mysql, protocol: TCP, targetPort: 13306}]
  resolution: STATIC
  workloadSelector: {labels: {app: vm-db}}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: vm1}
spec:
  address: 192.168.1.10
  labels: {app: vm-db, security.istio.io/tlsMode: istio}
  locality: r1/z1
)");
  ASSERT_TRUE(b.diags.empty()) << dump(b.diags);
  const auto* ext = b.world.service_by_hostname("api.example.com");
  ASSERT_NE(ext, nullptr);
  EXPECT_TRUE(ext->mesh_external);
  EXPECT_TRUE(ext->vip_auto_allocated);
  ASSERT_EQ(ext->endpoints.at(443).size(), 1u);
  EXPECT_EQ(ext->endpoints.at(443)[0].address, "api.example.com");
  const auto* vm = b.world.service_by_hostname("vm.internal");
  ASSERT_NE(vm, nullptr);
  ASSERT_EQ(vm->endpoints.at(3306).size(), 1u);
  const auto& e = vm->endpoints.at(3306)[0];
  EXPECT_EQ(e.address, "192.168.1.10");
  EXPECT_EQ(e.port, 13306u);
  EXPECT_TRUE(e.sidecar);
  EXPECT_EQ(e.locality.str(), "r1/z1");
}

TEST(MeshConfigTest, DefaultsThenIstioOperatorThenFile) {
  auto b = build(R"(apiVersion: install.istio.io/v1alpha1
kind: IstioOperator
metadata: {name: io, namespace: istio-system}
spec:
  meshConfig:
    trustDomain: example.org
    defaultConfig:
      proxyMetadata: {SECRET_TTL: 12h}
)");
  ASSERT_TRUE(b.diags.empty()) << dump(b.diags);
  const MeshConfig& mc = b.world.mesh_config();
  EXPECT_EQ(mc.root_namespace, "istio-system");
  EXPECT_EQ(mc.trust_domain, "example.org");
  EXPECT_TRUE(mc.enable_auto_mtls);
  EXPECT_EQ(mc.protocol_detection_timeout, Duration::zero());
  EXPECT_EQ(mc.connect_timeout, Duration::seconds(10));
  EXPECT_EQ(mc.outbound_traffic_policy, MeshConfig::OutboundTrafficPolicy::kAllowAny);
  EXPECT_EQ(mc.ingress_class, "istio");
  EXPECT_EQ(mc.pilot_trace_sampling, 1.0);
  EXPECT_EQ(mc.default_tracing_sampling, 0.0);
  EXPECT_TRUE(mc.locality_lb_setting.enabled.value_or(false));
  EXPECT_EQ(workload_cert_ttl(mc, {}), Duration::hours(12));

  std::string path = ::testing::TempDir() + "/mesh.yaml";
  std::ofstream(path) << "rootNamespace: mesh-root\nenableAutoMtls: false\nprotocolDetectionTimeout: 5s\n"
                         "outboundTrafficPolicy: {mode: REGISTRY_ONLY}\nbogus: 1\n";
  MeshConfig m2 = mc;
  std::vector<Diagnostic> diags;
  apply_mesh_config_file(path, m2, diags);
  EXPECT_EQ(m2.root_namespace, "mesh-root");
  EXPECT_FALSE(m2.enable_auto_mtls);
  EXPECT_EQ(m2.protocol_detection_timeout, Duration::seconds(5));
  EXPECT_EQ(m2.outbound_traffic_policy, MeshConfig::OutboundTrafficPolicy::kRegistryOnly);
  EXPECT_EQ(m2.trust_domain, "example.org") << "file overlays, keeps what it does not set";
  ASSERT_EQ(with_code(diags, "MS0003").size(), 1u) << dump(diags);
}

}  // namespace
}  // namespace meshsim::mesh
