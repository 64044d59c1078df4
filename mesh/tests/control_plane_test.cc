// Structure of the generated sidecar config, checked against the tables of
// docs/istio/sidecar-xds.md (istiod's listener_inbound.go, filterchain_options.go,
// cluster_tls.go and Istio's own simulation tests).
#include "mesh/control_plane.h"

#include <gtest/gtest.h>

#include "mesh/loader.h"

namespace meshsim::mesh {
namespace {

constexpr const char* kBase = R"(
apiVersion: v1
kind: Namespace
metadata: {name: default, labels: {istio-injection: enabled}}
---
apiVersion: v1
kind: Pod
metadata: {name: foo, namespace: default, labels: {app: foo}}
spec:
  containers: [{name: app, image: echo, ports: [{containerPort: 70}, {containerPort: 80}, {containerPort: 81}]}]
---
apiVersion: v1
kind: Service
metadata: {name: foo, namespace: default}
spec:
  selector: {app: foo}
  ports:
  - {name: tcp, port: 70}
  - {name: http, port: 80}
  - {name: auto, port: 81}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: default, labels: {app: client}}
spec:
  containers: [{name: app, image: curl}]
)";

struct Built {
  World world;
  std::shared_ptr<proxy::ProxyConfig> server;
  std::shared_ptr<proxy::ProxyConfig> client;
};

Built build(const std::string& extra) {
  ResourceSet rs;
  std::vector<Diagnostic> diags;
  load_text(std::string(kBase) + extra, "test.yaml", rs, diags);
  for (const auto& d : diags) EXPECT_NE(d.severity, Severity::kError) << d.format();
  MeshConfig mc = resolve_mesh_config(rs, diags);
  Built b{build_world(std::move(rs), mc, diags), nullptr, nullptr};
  b.server = build_sidecar_config(b.world, *b.world.find_pod("default", "foo"));
  b.client = build_sidecar_config(b.world, *b.world.find_pod("default", "client"));
  return b;
}

std::string mesh_pa(const char* mode) {
  return std::string("---\napiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: default, "
                     "namespace: istio-system}\nspec: {mtls: {mode: ") +
         mode + "}}\n";
}

std::vector<const proxy::FilterChain*> chains_for_port(const proxy::ProxyConfig& cfg, uint16_t port) {
  std::vector<const proxy::FilterChain*> out;
  const proxy::Listener* l = cfg.find_listener("virtualInbound");
  EXPECT_NE(l, nullptr);
  if (!l) return out;
  for (const auto& fc : l->filter_chains) {
    if (fc.match.destination_port == port) out.push_back(&fc);
  }
  return out;
}

std::string summary(const proxy::FilterChain& fc) {
  std::string s = fc.match.transport_protocol + "/";
  for (size_t i = 0; i < fc.match.application_protocols.size(); ++i) s += (i ? "," : "") + fc.match.application_protocols[i];
  s += fc.tls ? "/mtls" : "/-";
  s += std::holds_alternative<proxy::TcpProxy>(fc.filters.back().config) ? "/tcp" : "/http";
  return s;
}

TEST(ControlPlaneInbound, PermissiveChainsFollowTheOptionsTable) {
  Built b = build("");
  std::vector<std::string> tcp, http, autop;
  for (auto* fc : chains_for_port(*b.server, 70)) tcp.push_back(summary(*fc));
  for (auto* fc : chains_for_port(*b.server, 80)) http.push_back(summary(*fc));
  for (auto* fc : chains_for_port(*b.server, 81)) autop.push_back(summary(*fc));
  // filterchain_options.go inboundPermissiveTCPFilterChainMatchWithMxcOptionsAndPlainTLS:
  // mTLS, plaintext, then plain TLS.
  EXPECT_EQ(tcp, (std::vector<std::string>{
                     "tls/istio,istio-peer-exchange,istio-http/1.0,istio-http/1.1,istio-h2/mtls/tcp", "raw_buffer//-/tcp",
                     "tls//-/tcp"}));
  EXPECT_EQ(http, (std::vector<std::string>{
                      "tls/istio,istio-peer-exchange,istio-http/1.0,istio-http/1.1,istio-h2/mtls/http",
                      "raw_buffer//-/http"}));
  EXPECT_EQ(autop, (std::vector<std::string>{"tls/istio-http/1.0,istio-http/1.1,istio-h2/mtls/http",
                                             "raw_buffer/http/1.1,h2c/-/http",
                                             "tls/istio-peer-exchange,istio/mtls/tcp", "raw_buffer//-/tcp",
                                             "tls//-/tcp"}));
  for (auto* fc : chains_for_port(*b.server, 80)) EXPECT_EQ(fc->name, "0.0.0.0_80");
}

TEST(ControlPlaneInbound, StrictAndDisableChains) {
  Built s = build(mesh_pa("STRICT"));
  ASSERT_EQ(chains_for_port(*s.server, 70).size(), 1u);
  EXPECT_EQ(summary(*chains_for_port(*s.server, 70)[0]), "tls//mtls/tcp");
  EXPECT_EQ(summary(*chains_for_port(*s.server, 80)[0]), "tls//mtls/http");
  Built d = build(mesh_pa("DISABLE"));
  EXPECT_EQ(summary(*chains_for_port(*d.server, 70)[0]), "raw_buffer//-/tcp");
  EXPECT_EQ(summary(*chains_for_port(*d.server, 81)[0]), "raw_buffer/http/1.1,h2c/-/http");
  // DISABLE everywhere: no chain needs TLS, so there is no TLS inspector at all.
  const proxy::Listener* l = d.server->find_listener("virtualInbound");
  EXPECT_FALSE(l->has_listener_filter(proxy::kTlsInspectorFilter));
  EXPECT_TRUE(l->has_listener_filter(proxy::kHttpInspectorFilter));
}

TEST(ControlPlaneInbound, InspectorPredicatesFollowWhatEachPortsChainsNeed) {
  Built b = build("");
  const proxy::Listener* l = b.server->find_listener("virtualInbound");
  const proxy::ListenerFilter* tls = nullptr;
  const proxy::ListenerFilter* http = nullptr;
  for (const auto& f : l->listener_filters) {
    if (f.name == proxy::kTlsInspectorFilter) tls = &f;
    if (f.name == proxy::kHttpInspectorFilter) http = &f;
  }
  ASSERT_TRUE(tls && http);
  EXPECT_FALSE(tls->disabled.disabled_for(70));
  EXPECT_FALSE(tls->disabled.disabled_for(9999));   // passthrough needs TLS detection
  EXPECT_TRUE(tls->disabled.disabled_for(15006));   // the blackhole chain does not
  EXPECT_TRUE(http->disabled.disabled_for(70));     // explicit TCP: no sniffing
  EXPECT_TRUE(http->disabled.disabled_for(80));     // explicit HTTP: no sniffing
  EXPECT_FALSE(http->disabled.disabled_for(81));    // auto: sniffed
  EXPECT_FALSE(http->disabled.disabled_for(9999));  // passthrough: sniffed
  EXPECT_EQ(l->listener_filters_timeout, Duration::zero());
}

TEST(ControlPlaneInbound, HttpChainsUseTheServicePortForTheVirtualHostAndTargetPortForTheCluster) {
  Built b = build(R"(---
apiVersion: v1
kind: Service
metadata: {name: bar, namespace: default}
spec:
  selector: {app: foo}
  ports: [{name: http-web, port: 8000, targetPort: 81}]
)");
  // targetPort 81 is already served by foo's "auto" port (older service wins).
  auto chains = chains_for_port(*b.server, 81);
  ASSERT_FALSE(chains.empty());
  auto& hcm = std::get<proxy::HttpConnectionManager>(chains[0]->filters.back().config);
  ASSERT_TRUE(hcm.route_config);
  EXPECT_EQ(hcm.route_config->name, "inbound|81||");
  EXPECT_EQ(hcm.route_config->virtual_hosts[0].name, "inbound|http|81");
  EXPECT_EQ(hcm.forward_client_cert, proxy::HttpConnectionManager::ForwardClientCert::kAppendForward);
  EXPECT_EQ(hcm.server_name, "istio-envoy");
  EXPECT_NE(b.server->find_cluster("inbound|81||"), nullptr);
  EXPECT_EQ(b.server->find_cluster("inbound|81||")->type, proxy::DiscoveryType::kOriginalDst);
}

TEST(ControlPlaneInbound, PortLevelMtlsOutsideServicesGetsPassthroughChains) {
  Built b = build(R"(---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: foo, namespace: default}
spec:
  selector: {matchLabels: {app: foo}}
  mtls: {mode: DISABLE}
  portLevelMtls: {9000: {mode: STRICT}}
)");
  auto chains = chains_for_port(*b.server, 9000);
  ASSERT_EQ(chains.size(), 2u);  // auto STRICT: mTLS HTTP + mTLS TCP
  EXPECT_EQ(chains[0]->name, "virtualInbound-catchall-http");
  EXPECT_EQ(chains[1]->name, "virtualInbound");
  EXPECT_TRUE(chains[0]->tls.has_value());
}

TEST(ControlPlaneOutbound, ListenersByProtocolClass) {
  Built b = build("");
  const WorldService* foo = b.world.service_by_hostname("foo.default.svc.cluster.local");
  ASSERT_NE(foo, nullptr);
  std::string vip = to_string(foo->vip);
  const proxy::Listener* tcp = b.client->find_listener(vip + "_70");
  const proxy::Listener* http = b.client->find_listener("0.0.0.0_80");
  const proxy::Listener* autol = b.client->find_listener(vip + "_81");
  ASSERT_TRUE(tcp && http && autol);
  EXPECT_FALSE(tcp->bind_to_port);
  ASSERT_EQ(tcp->filter_chains.size(), 1u);
  EXPECT_EQ(std::get<proxy::TcpProxy>(tcp->filter_chains[0].filters.back().config).cluster,
            "outbound|70||foo.default.svc.cluster.local");
  // HTTP: sniffed chain → RDS "80", default PassthroughFilterChain.
  ASSERT_EQ(http->filter_chains.size(), 1u);
  EXPECT_EQ(http->filter_chains[0].match.application_protocols, (std::vector<std::string>{"http/1.1", "h2c"}));
  EXPECT_EQ(std::get<proxy::HttpConnectionManager>(http->filter_chains[0].filters.back().config).route_config_name, "80");
  ASSERT_TRUE(http->default_filter_chain);
  EXPECT_EQ(http->default_filter_chain->name, "PassthroughFilterChain");
  // auto: HTTP chain → per-service route, TCP as the default chain.
  EXPECT_EQ(std::get<proxy::HttpConnectionManager>(autol->filter_chains[0].filters.back().config).route_config_name,
            "foo.default.svc.cluster.local:81");
  ASSERT_TRUE(autol->default_filter_chain);
  EXPECT_EQ(std::get<proxy::TcpProxy>(autol->default_filter_chain->filters.back().config).cluster,
            "outbound|81||foo.default.svc.cluster.local");
  auto rc = b.client->find_route("80");
  ASSERT_TRUE(rc);
  EXPECT_EQ(rc->virtual_hosts.front().name, "foo.default.svc.cluster.local:80");
  EXPECT_EQ(rc->virtual_hosts.back().name, "allow_any");
  const auto& domains = rc->virtual_hosts.front().domains;
  EXPECT_NE(std::find(domains.begin(), domains.end(), "foo"), domains.end());
  EXPECT_NE(std::find(domains.begin(), domains.end(), vip), domains.end());
}

TEST(ControlPlaneOutbound, AutoMtlsUsesTransportSocketMatchesWithIstioSniAndSans) {
  Built b = build("");
  const proxy::Cluster* c = b.client->find_cluster("outbound|80||foo.default.svc.cluster.local");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->lb_policy, proxy::LbPolicy::kLeastRequest);
  ASSERT_EQ(c->transport_socket_matches.size(), 2u);
  EXPECT_EQ(c->transport_socket_matches[0].name, "tlsMode-istio");
  const auto& tls = *c->transport_socket_matches[0].tls;
  EXPECT_EQ(tls.sni, "outbound_.80_._.foo.default.svc.cluster.local");
  EXPECT_EQ(tls.alpn_protocols, (std::vector<std::string>{"istio-peer-exchange", "istio"}));
  EXPECT_EQ(tls.match_subject_alt_names, (std::vector<std::string>{"spiffe://cluster.local/ns/default/sa/default"}));
  EXPECT_FALSE(c->transport_socket_matches[1].tls.has_value());
  const proxy::ClusterLoadAssignment* eps = b.client->find_endpoints(c->name);
  ASSERT_NE(eps, nullptr);
  ASSERT_EQ(eps->endpoints.size(), 1u);
  EXPECT_EQ(eps->endpoints[0].metadata.at("tlsMode"), "istio");
}

TEST(ControlPlaneOutbound, NamespaceDisableTurnsAutoMtlsOffEvenIfTheWorkloadIsStrict) {
  Built b = build(R"(---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: default}
spec: {mtls: {mode: DISABLE}}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: foo, namespace: default}
spec:
  selector: {matchLabels: {app: foo}}
  mtls: {mode: STRICT}
)");
  const proxy::Cluster* c = b.client->find_cluster("outbound|80||foo.default.svc.cluster.local");
  ASSERT_NE(c, nullptr);
  EXPECT_TRUE(c->transport_socket_matches.empty());
  EXPECT_FALSE(c->tls.has_value());  // the client will send plaintext to a STRICT server
}

TEST(ControlPlaneOutbound, DestinationRuleTlsModesMapToTransportSockets) {
  Built b = build(R"(---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: foo, namespace: default}
spec:
  host: foo
  trafficPolicy:
    tls: {mode: ISTIO_MUTUAL}
    portLevelSettings:
    - port: {number: 70}
      tls: {mode: DISABLE}
  subsets:
  - name: v1
    labels: {app: foo}
)");
  const proxy::Cluster* c80 = b.client->find_cluster("outbound|80||foo.default.svc.cluster.local");
  ASSERT_TRUE(c80 && c80->tls);
  EXPECT_TRUE(c80->transport_socket_matches.empty());  // user-supplied: no tlsMode-disabled fallback
  const proxy::Cluster* c70 = b.client->find_cluster("outbound|70||foo.default.svc.cluster.local");
  ASSERT_TRUE(c70);
  EXPECT_FALSE(c70->tls.has_value());
  const proxy::Cluster* v1 = b.client->find_cluster("outbound|80|v1|foo.default.svc.cluster.local");
  ASSERT_TRUE(v1 && v1->tls);
  EXPECT_EQ(v1->tls->sni, "outbound_.80_.v1_.foo.default.svc.cluster.local");
}

TEST(ControlPlaneOutbound, VirtualOutboundAndSpecialClusters) {
  Built b = build("");
  const proxy::Listener* vo = b.client->find_listener("virtualOutbound");
  ASSERT_NE(vo, nullptr);
  EXPECT_TRUE(vo->use_original_dst);
  EXPECT_EQ(vo->filter_chains[0].name, "virtualOutbound-blackhole");
  EXPECT_EQ(vo->filter_chains[1].name, "virtualOutbound-catchall-tcp");
  EXPECT_NE(b.client->find_cluster("PassthroughCluster"), nullptr);
  EXPECT_NE(b.client->find_cluster("BlackHoleCluster"), nullptr);
  EXPECT_NE(b.client->find_cluster("InboundPassthroughCluster"), nullptr);
  EXPECT_EQ(b.client->node_id.rfind("sidecar~10.", 0), 0u);
}

}  // namespace
}  // namespace meshsim::mesh

namespace meshsim::mesh {
namespace {

// Sidecar egress hosts (pilot/pkg/model/sidecar.go selectServices): only
// imported services get clusters; "~ns/*" excludes; a non-imported
// destination falls through to the PassthroughCluster.
TEST(ControlPlaneSidecarEgress, OnlyImportedServicesGetClusters) {
  const std::string extra = R"(
---
apiVersion: v1
kind: Namespace
metadata: {name: other, labels: {istio-injection: enabled}}
---
apiVersion: v1
kind: Service
metadata: {name: bar, namespace: other}
spec: {selector: {app: bar}, ports: [{name: http, port: 80}]}
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: default}
spec:
  egress:
  - hosts: ["./*", "istio-system/*"]
)";
  Built b = build(extra);
  auto has = [&](const proxy::ProxyConfig& c, const std::string& needle) {
    for (const auto& cl : c.clusters) {
      if (cl.name.find(needle) != std::string::npos) return true;
    }
    return false;
  };
  EXPECT_TRUE(has(*b.client, "foo.default.svc.cluster.local"));
  EXPECT_FALSE(has(*b.client, "bar.other.svc.cluster.local"));
  EXPECT_TRUE(has(*b.client, "PassthroughCluster"));

  Built all = build(extra.substr(0, extra.find("---\napiVersion: networking.istio.io/v1\nkind: Sidecar")));
  EXPECT_TRUE(has(*all.client, "bar.other.svc.cluster.local")) << "without a Sidecar every exported service is imported";

  Built none = build(extra + "  - hosts: [\"~/*\"]\n");
  EXPECT_FALSE(has(*none.client, "foo.default.svc.cluster.local")) << "~/* excludes everything";
}

}  // namespace
}  // namespace meshsim::mesh

namespace meshsim::mesh {
namespace {

// meshConfig's defaultServiceExportTo / defaultVirtualServiceExportTo apply to
// objects without exportTo, as istiod's exportToDefaults do ("." = the object's
// own namespace); an object's own exportTo still wins.
TEST(ControlPlaneExportTo, MeshDefaultsApplyToObjectsWithoutExportTo) {
  const std::string others = R"(
---
apiVersion: v1
kind: Namespace
metadata: {name: other, labels: {istio-injection: enabled}}
---
apiVersion: v1
kind: Service
metadata: {name: bar, namespace: other}
spec: {selector: {app: bar}, ports: [{name: http, port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: baz, namespace: other, annotations: {networking.istio.io/exportTo: "*"}}
spec: {selector: {app: baz}, ports: [{name: http, port: 80}]}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: foo-from-other, namespace: other}
spec:
  hosts: [foo.default.svc.cluster.local]
  http:
  - name: from-other
    route: [{destination: {host: foo.default.svc.cluster.local}}]
)";
  const std::string private_defaults = R"(
---
apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: |
    defaultServiceExportTo: ["."]
    defaultVirtualServiceExportTo: ["."]
)";
  auto has_cluster = [](const proxy::ProxyConfig& c, const std::string& needle) {
    for (const auto& cl : c.clusters)
      if (cl.name.find(needle) != std::string::npos) return true;
    return false;
  };
  auto first_route_name = [](const proxy::ProxyConfig& c) {
    auto rc = c.find_route("80");
    if (!rc) return std::string("no route 80");
    for (const auto& vh : rc->virtual_hosts)
      if (vh.name == "foo.default.svc.cluster.local:80" && !vh.routes.empty()) return vh.routes.front().name;
    return std::string("no virtual host for foo");
  };

  Built open = build(others);
  EXPECT_TRUE(has_cluster(*open.client, "bar.other.svc.cluster.local"));
  EXPECT_EQ(first_route_name(*open.client), "from-other") << "by default a VirtualService is visible everywhere";

  Built closed = build(others + private_defaults);
  EXPECT_FALSE(has_cluster(*closed.client, "bar.other.svc.cluster.local")) << "defaultServiceExportTo [.]";
  EXPECT_TRUE(has_cluster(*closed.client, "baz.other.svc.cluster.local")) << "the Service's own exportTo wins";
  EXPECT_TRUE(has_cluster(*closed.client, "foo.default.svc.cluster.local")) << "own namespace";
  EXPECT_EQ(first_route_name(*closed.client), "default") << "defaultVirtualServiceExportTo [.] hides other's VirtualService";
}

}  // namespace
}  // namespace meshsim::mesh
