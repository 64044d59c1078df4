#include "mesh/control_plane.h"

#include "mesh/telemetry.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <set>

#include "mesh/authz_translation.h"
#include "mesh/export_to.h"
#include "mesh/gateway.h"
#include "mesh/gateway_api.h"
#include "mesh/load_balancing.h"
#include "mesh/policy.h"

namespace meshsim::mesh {
namespace {

using proxy::Cluster;
using proxy::ClusterLoadAssignment;
using proxy::DiscoveryType;
using proxy::DownstreamTlsContext;
using proxy::FilterChain;
using proxy::HttpConnectionManager;
using proxy::HttpFilter;
using proxy::IstioStatsConfig;
using proxy::NetworkIstioStats;
using proxy::NetworkMetadataExchange;
using proxy::LbEndpoint;
using proxy::LbPolicy;
using proxy::Listener;
using proxy::ListenerFilter;
using proxy::NetworkFilter;
using proxy::ProxyConfig;
using proxy::RetryPolicy;
using proxy::Route;
using proxy::RouteAction;
using proxy::RouteConfiguration;
using proxy::TcpProxy;
using proxy::TrafficDirection;
using proxy::TransportSocketMatch;
using proxy::UpstreamTlsContext;
using proxy::VirtualHost;

// ALPN sets (I:pilot/pkg/networking/core/listener.go, util/util.go).
const std::vector<std::string> kMtlsHttpAlpns = {"istio-http/1.0", "istio-http/1.1", "istio-h2"};
const std::vector<std::string> kAllIstioMtlsAlpns = {"istio", "istio-peer-exchange", "istio-http/1.0",
                                                     "istio-http/1.1", "istio-h2"};
const std::vector<std::string> kMtlsTcpWithMxcAlpns = {"istio-peer-exchange", "istio"};

constexpr const char* kTcpProxyName = "envoy.filters.network.tcp_proxy";
constexpr const char* kHcmName = "envoy.filters.network.http_connection_manager";

std::vector<std::string> plaintext_http_alpns(const ControlPlaneOptions& o) {
  if (o.http10) return {"http/1.0", "http/1.1", "h2c"};
  return {"http/1.1", "h2c"};
}

enum class ProtoClass { kHttp, kTcp, kAuto };
ProtoClass proto_class(Protocol p) {
  if (is_http_protocol(p)) return ProtoClass::kHttp;
  if (p == Protocol::kUnsupported) return ProtoClass::kAuto;
  return ProtoClass::kTcp;
}

// One row of filterchain_options.go getFilterChainMatchOptions.
struct ChainOption {
  std::string transport;  // "tls" | "raw_buffer"
  std::vector<std::string> alpn;
  bool terminate_mtls = false;
  bool http = false;  // HCM (else tcp_proxy)
};

std::vector<ChainOption> chain_options(ProtoClass c, MtlsMode mode, const ControlPlaneOptions& o) {
  std::vector<std::string> plain_http = plaintext_http_alpns(o);
  switch (c) {
    case ProtoClass::kHttp:
      if (mode == MtlsMode::kDisable) return {{"raw_buffer", {}, false, true}};
      if (mode == MtlsMode::kStrict) return {{"tls", {}, true, true}};
      return {{"tls", kAllIstioMtlsAlpns, true, true}, {"raw_buffer", {}, false, true}};
    case ProtoClass::kTcp:
      if (mode == MtlsMode::kDisable) return {{"raw_buffer", {}, false, false}};
      if (mode == MtlsMode::kStrict) return {{"tls", {}, true, false}};
      // inboundPermissiveTCPFilterChainMatchWithMxcOptionsAndPlainTLS: mTLS, plaintext, plain TLS.
      return {{"tls", kAllIstioMtlsAlpns, true, false}, {"raw_buffer", {}, false, false}, {"tls", {}, false, false}};
    case ProtoClass::kAuto:
      if (mode == MtlsMode::kDisable) return {{"raw_buffer", plain_http, false, true}, {"raw_buffer", {}, false, false}};
      if (mode == MtlsMode::kStrict) return {{"tls", kMtlsHttpAlpns, true, true}, {"tls", {}, true, false}};
      return {{"tls", kMtlsHttpAlpns, true, true},
              {"raw_buffer", plain_http, false, true},
              {"tls", kMtlsTcpWithMxcAlpns, true, false},
              {"raw_buffer", {}, false, false},
              {"tls", {}, false, false}};
  }
  return {};
}

DownstreamTlsContext inbound_mtls_context(bool http_chain) {
  // I:pilot/pkg/security/authn/utils.go BuildInboundTLS.
  DownstreamTlsContext t;
  t.require_client_certificate = true;
  t.alpn_protocols = http_chain ? std::vector<std::string>{"h2", "http/1.1"}
                                : std::vector<std::string>{"istio-peer-exchange", "h2", "http/1.1"};
  return t;
}

NetworkFilter tcp_proxy_filter(const std::string& cluster, const std::string& stat_prefix) {
  TcpProxy tp;
  tp.cluster = cluster;
  tp.stat_prefix = stat_prefix;
  return {kTcpProxyName, tp};
}

// An inbound TCP chain: the network RBAC filters, then tcp_proxy
// (networkfilter.go buildCompleteNetworkFilters).
void add_inbound_tcp_filters(FilterChain& fc, const AuthzFilters& authz, const std::string& cluster) {
  fc.filters.insert(fc.filters.end(), authz.tcp.begin(), authz.tcp.end());
  fc.filters.push_back(tcp_proxy_filter(cluster, cluster));
}

// listener_builder.go buildHTTPConnectionManager: metadata exchange first
// (so RBAC sees the peer), then authn/authz, then the rest.
std::vector<HttpFilter> inbound_http_filters(const std::vector<HttpFilter>& custom, const std::optional<HttpFilter>& jwt,
                                             const std::vector<HttpFilter>& authz) {
  std::vector<HttpFilter> f = {{"istio.metadata_exchange"}};
  f.insert(f.end(), custom.begin(), custom.end());
  if (jwt) f.push_back(*jwt);
  f.insert(f.end(), authz.begin(), authz.end());
  for (const char* n : {"envoy.filters.http.grpc_stats", "envoy.filters.http.fault", "envoy.filters.http.cors",
                        "istio.stats", "envoy.filters.http.router"})
    f.push_back({n});
  return f;
}
std::vector<HttpFilter> outbound_http_filters() {
  return {{"istio.metadata_exchange"}, {"envoy.filters.http.grpc_stats"}, {"istio.alpn"},
          {"envoy.filters.http.fault"}, {"envoy.filters.http.cors"}, {"istio.stats"},
          {"envoy.filters.http.router"}};
}

RetryPolicy default_retry_policy() {
  // I:pilot/pkg/networking/core/route/retry/retry.go DefaultPolicy.
  RetryPolicy r;
  r.retry_on = "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes";
  r.num_retries = 2;
  r.previous_hosts_predicate = true;
  r.host_selection_retry_max_attempts = 5;
  return r;
}

std::string mode_word(MtlsMode m) { return mtls_mode_name(m); }

std::string spiffe(const MeshConfig& mc, const std::string& ns_sa) {
  size_t slash = ns_sa.find('/');
  return "spiffe://" + mc.trust_domain + "/ns/" + ns_sa.substr(0, slash) + "/sa/" + ns_sa.substr(slash + 1);
}

}  // namespace

std::string outbound_cluster_name(uint32_t port, std::string_view subset, std::string_view host) {
  return "outbound|" + std::to_string(port) + "|" + std::string(subset) + "|" + std::string(host);
}

std::string inbound_cluster_name(uint32_t target_port) { return "inbound|" + std::to_string(target_port) + "||"; }

std::string istio_mtls_sni(uint32_t port, std::string_view subset, std::string_view host) {
  return "outbound_." + std::to_string(port) + "_." + std::string(subset) + "_." + std::string(host);
}

// The Istio release whose behaviour meshsim reproduces (ISTIO_VERSION of
// every simulated proxy; docs/istio/*.md name the sources read).
constexpr const char* kModelledIstioVersion = "1.24.0";

std::string sidecar_node_id(const WorldPod& pod, const MeshConfig& mesh) {
  return "sidecar~" + to_string(pod.ip) + "~" + pod.name + "." + pod.namespace_ + "~" + pod.namespace_ + ".svc." +
         mesh.cluster_domain;
}


proxy::NodeMetadata sidecar_node_metadata(const World& w, const WorldPod& pod) {
  const MeshConfig& mesh = w.mesh_config();
  proxy::NodeMetadata n;
  auto label = [&](const char* k) -> const std::string* {
    auto it = pod.labels.find(k);
    return it == pod.labels.end() ? nullptr : &it->second;
  };
  n.name = pod.name;
  n.namespace_ = pod.namespace_;
  n.workload_name = pod.owner_name.empty() ? pod.name : pod.owner_name;
  // pkg/bootstrap/config.go getServiceCluster: app label, else workload name.
  const std::string* app = label("app.kubernetes.io/name");
  if (!app) app = label("app");
  n.cluster = (app ? *app : n.workload_name) + "." + pod.namespace_;
  const char* kind = nullptr;
  switch (pod.owner_kind) {
    case Kind::kDeployment: case Kind::kReplicaSet: kind = "deployments"; break;
    case Kind::kStatefulSet: kind = "statefulsets"; break;
    case Kind::kDaemonSet: kind = "daemonsets"; break;
    case Kind::kPod: kind = "pods"; break;
    default: break;
  }
  if (kind) n.owner = "kubernetes://apis/apps/v1/namespaces/" + pod.namespace_ + "/" + kind + "/" + n.workload_name;
  n.mesh_id = mesh.trust_domain;
  n.identity = pod.spiffe_id(mesh.trust_domain);
  n.istio_version = kModelledIstioVersion;
  n.ip = to_string(pod.ip);
  if (pod.scheduled()) {
    const Locality& l = w.nodes()[static_cast<size_t>(pod.node)].locality;
    n.region = l.region, n.zone = l.zone, n.subzone = l.subzone;
  }
  // convertWorkloadMetadataToStruct keeps only these labels (sorted by key).
  const std::string* ver = label("app.kubernetes.io/version");
  if (!ver) ver = label("version");
  if (app) n.labels.emplace_back("app", *app);
  if (const std::string* c = label("service.istio.io/canonical-name")) n.labels.emplace_back("service.istio.io/canonical-name", *c);
  if (const std::string* c = label("service.istio.io/canonical-revision")) n.labels.emplace_back("service.istio.io/canonical-revision", *c);
  if (ver) n.labels.emplace_back("version", *ver);
  return n;
}

std::vector<InboundPortPlan> plan_inbound_ports(const World& w, const WorldPod& pod) {
  std::map<uint32_t, InboundPortPlan> by_target;
  int32_t idx = w.pod_index(&pod);
  const SidecarResource* sc = sidecar_for(w, pod.namespace_, pod.labels);
  if (sc && !sc->ingress.empty()) {
    for (const IstioIngressListener& in : sc->ingress) {
      InboundPortPlan p;
      p.target_port = in.port.number;
      p.service_port = in.port.number;
      p.protocol = parse_protocol(in.port.protocol);
      by_target.emplace(p.target_port, p);
    }
  } else {
    // Services select the pod oldest first (Istio's ServiceTargets order).
    std::vector<const WorldService*> svcs = w.services_of_pod(idx);
    std::stable_sort(svcs.begin(), svcs.end(), [&](const WorldService* a, const WorldService* b) {
      return a->source_index < b->source_index;
    });
    for (const WorldService* s : svcs) {
      for (const ServicePortInfo& sp : s->ports) {
        if (sp.protocol == Protocol::kUdp) continue;
        auto eps = s->endpoints.find(sp.port);
        if (eps == s->endpoints.end()) continue;
        for (const Endpoint& e : eps->second) {
          if (e.pod != idx) continue;
          InboundPortPlan p;
          p.target_port = e.port;
          p.service_port = sp.port;
          p.protocol = sp.protocol;
          p.service_host = s->hostname;
          by_target.emplace(p.target_port, p);  // first (oldest) service wins
          break;
        }
      }
    }
  }
  std::vector<InboundPortPlan> out;
  for (auto& [port, p] : by_target) {
    p.mtls = effective_peer_authentication(w, pod, port);
    out.push_back(p);
  }
  return out;
}

namespace {

class Builder {
 public:
  Builder(const World& w, const WorldPod& pod, const ControlPlaneOptions& o)
      : w_(w), mc_(w.mesh_config()), pod_(pod), o_(o) {}

  std::shared_ptr<ProxyConfig> build() {
    cfg_ = std::make_shared<ProxyConfig>();
    cfg_->node_id = sidecar_node_id(pod_, mc_);
    cfg_->node = sidecar_node_metadata(w_, pod_);
    tracing_out_ = sidecar_tracing(w_, pod_, true).config;
    tracing_in_ = sidecar_tracing(w_, pod_, false).config;
    cfg_->version = o_.version;
    // Gateway API routes whose parent is a Service (GAMMA) bind to the mesh:
    // their VirtualServices (gateways: [mesh]) are this sidecar's too.
    if (!w_.resources().gateway_routes.empty()) gwapi_ = &gateway_api(w_);
    build_outbound();
    build_virtual_outbound();
    build_inbound();
    build_static_listeners();
    build_special_clusters();
    apply_telemetry();
    return cfg_;
  }

 private:
  // ------------------------------------------------------------- inbound --
  void build_inbound() {
    authz_ = build_authz_filters(w_, pod_);
    jwt_ = build_jwt_authn_filter(w_, pod_);
    Listener l;
    l.name = "virtualInbound";
    l.address = {Ipv4::any(), static_cast<uint16_t>(mc_.proxy_inbound_listen_port)};
    l.direction = TrafficDirection::kInbound;
    l.use_original_dst = true;
    l.listener_filters_timeout = mc_.protocol_detection_timeout;
    l.continue_on_listener_filters_timeout = true;

    // 1. loop prevention
    FilterChain bh;
    bh.name = "virtualInbound-blackhole";
    bh.match.destination_port = static_cast<uint16_t>(mc_.proxy_inbound_listen_port);
    bh.filters.push_back(tcp_proxy_filter(proxy::kBlackHoleCluster, proxy::kBlackHoleCluster));
    bh.description = "loop prevention: traffic addressed to 15006 itself";
    l.filter_chains.push_back(bh);

    std::vector<InboundPortPlan> ports = plan_inbound_ports(w_, pod_);
    std::set<uint32_t> service_ports;
    for (const auto& p : ports) service_ports.insert(p.target_port);

    // 2. passthrough chains: port 0, plus port-level mTLS ports not in any service.
    struct PortNeeds {
      bool tls = false, http = false;
    };
    std::map<uint32_t, PortNeeds> needs;  // 0 = catch-all
    MtlsDecision workload_mode = effective_peer_authentication(w_, pod_, 0);
    auto add_passthrough = [&](std::optional<uint16_t> port, const MtlsDecision& m) {
      for (const ChainOption& opt : chain_options(ProtoClass::kAuto, m.mode, o_)) {
        FilterChain fc;
        fc.name = opt.http ? "virtualInbound-catchall-http" : "virtualInbound";
        fc.match.destination_port = port;
        fc.match.transport_protocol = opt.transport;
        fc.match.application_protocols = opt.alpn;
        if (opt.terminate_mtls) fc.tls = inbound_mtls_context(opt.http);
        if (opt.http) {
          fc.filters.push_back(inbound_hcm(proxy::kInboundPassthroughCluster, "inbound|http|0", ":0/*",
                                           proxy::kInboundPassthroughCluster));
        } else {
          add_inbound_tcp_filters(fc, authz_, proxy::kInboundPassthroughCluster);
        }
        fc.description = "passthrough (" + mode_word(m.mode) + ": " + m.reason + ")";
        PortNeeds& n = needs[port.value_or(0)];
        n.tls |= opt.transport == "tls";
        n.http |= has_http_alpn(opt.alpn);
        l.filter_chains.push_back(std::move(fc));
      }
    };
    add_passthrough(std::nullopt, workload_mode);
    PeerAuthenticationSelection sel = select_peer_authentications(w_, pod_.namespace_, pod_.labels);
    if (sel.workload) {
      for (const auto& [port, mode] : sel.workload->port_level_mtls) {
        if (service_ports.count(port)) continue;
        add_passthrough(static_cast<uint16_t>(port), effective_peer_authentication(w_, pod_, port));
      }
    }

    // 3. one set of chains per workload port.
    const SidecarResource* sc = sidecar_for(w_, pod_.namespace_, pod_.labels);
    bool from_sidecar = sc && !sc->ingress.empty();
    for (const InboundPortPlan& p : ports) {
      std::string chain_name = (from_sidecar ? to_string(pod_.ip) : std::string("0.0.0.0")) + "_" +
                               std::to_string(p.target_port);
      std::string cluster = inbound_cluster_name(p.target_port);
      ProtoClass pc = proto_class(p.protocol);
      for (const ChainOption& opt : chain_options(pc, p.mtls.mode, o_)) {
        FilterChain fc;
        fc.name = chain_name;
        fc.match.destination_port = static_cast<uint16_t>(p.target_port);
        fc.match.transport_protocol = opt.transport;
        fc.match.application_protocols = opt.alpn;
        if (opt.terminate_mtls) fc.tls = inbound_mtls_context(opt.http);
        if (opt.http) {
          fc.filters.push_back(inbound_hcm(cluster, "inbound|http|" + std::to_string(p.service_port),
                                           p.service_host + ":" + std::to_string(p.service_port) + "/*",
                                           "inbound_0.0.0.0_" + std::to_string(p.target_port) + ";"));
        } else {
          add_inbound_tcp_filters(fc, authz_, cluster);
        }
        fc.description = std::string(protocol_name(p.protocol)) + " port, " + mode_word(p.mtls.mode) +
                         " (" + p.mtls.reason + ")" +
                         (opt.terminate_mtls ? ", terminates mTLS" : (opt.transport == "tls" ? ", TLS passthrough" : ""));
        PortNeeds& n = needs[p.target_port];
        n.tls |= opt.transport == "tls";
        n.http |= has_http_alpn(opt.alpn);
        l.filter_chains.push_back(std::move(fc));
      }
      add_inbound_cluster(p, from_sidecar ? sc : nullptr);
    }
    needs[mc_.proxy_inbound_listen_port];  // the blackhole port needs neither

    // Listener filters (listener_inbound.go populateListenerFilters).
    l.listener_filters.push_back({proxy::kOriginalDstFilter, {}});
    bool any_tls = false, any_http = false;
    for (const auto& [port, n] : needs) {
      any_tls |= n.tls;
      any_http |= n.http;
    }
    if (any_tls) l.listener_filters.push_back({proxy::kTlsInspectorFilter, predicate(needs, true)});
    if (any_http) l.listener_filters.push_back({proxy::kHttpInspectorFilter, predicate(needs, false)});
    cfg_->listeners.push_back(std::move(l));
  }

  template <typename Needs>
  proxy::ListenerFilterPredicate predicate(const Needs& needs, bool tls) {
    auto need = [&](const auto& n) { return tls ? n.tls : n.http; };
    proxy::ListenerFilterPredicate p;
    auto zero = needs.find(0);
    bool catch_all = zero != needs.end() && need(zero->second);
    if (catch_all) {
      // Disabled on each port whose chains do not need it.
      for (const auto& [port, n] : needs) {
        if (port != 0 && !need(n)) p.ports.push_back(static_cast<uint16_t>(port));
      }
      p.never_disabled = p.ports.empty();
    } else {
      // Enabled only on the ports that need it.
      for (const auto& [port, n] : needs) {
        if (port != 0 && need(n)) p.ports.push_back(static_cast<uint16_t>(port));
      }
      p.never_disabled = false;
      p.invert = true;
    }
    return p;
  }

  static bool has_http_alpn(const std::vector<std::string>& alpn) {
    return std::find(alpn.begin(), alpn.end(), "http/1.1") != alpn.end() ||
           std::find(alpn.begin(), alpn.end(), "h2c") != alpn.end();
  }

  NetworkFilter inbound_hcm(const std::string& cluster, const std::string& vhost_name, const std::string& decorator,
                            const std::string& stat_prefix) {
    auto rc = std::make_shared<RouteConfiguration>();
    rc->name = cluster;
    VirtualHost vh;
    vh.name = vhost_name;
    vh.domains = {"*"};
    Route r;
    r.name = "default";
    r.match.kind = proxy::RouteMatch::Kind::kPrefix;
    r.match.value = "/";
    RouteAction a;
    a.cluster = cluster;
    RetryPolicy retry;
    retry.retry_on = "reset-before-request";
    retry.num_retries = 2;
    a.retry_policy = retry;
    r.action = a;
    r.decorator_operation = decorator;
    vh.routes.push_back(r);
    rc->virtual_hosts.push_back(vh);
    HttpConnectionManager h;
    h.stat_prefix = stat_prefix;
    h.route_config = rc;
    h.direction = TrafficDirection::kInbound;
    h.forward_client_cert = HttpConnectionManager::ForwardClientCert::kAppendForward;
    h.server_name = "istio-envoy";
    h.accept_http_10 = o_.http10;
    h.http_filters = inbound_http_filters(authz_.custom_http, jwt_, authz_.http);
    h.tracing = tracing_in_;
    h.normalize_path = mc_.path_normalization != "NONE";
    h.merge_slashes = mc_.path_normalization == "MERGE_SLASHES" || mc_.path_normalization == "DECODE_AND_MERGE_SLASHES";
    return {kHcmName, h};
  }

  void add_inbound_cluster(const InboundPortPlan& p, const SidecarResource* sc) {
    Cluster c;
    c.name = inbound_cluster_name(p.target_port);
    c.type = DiscoveryType::kOriginalDst;
    c.lb_policy = LbPolicy::kClusterProvided;
    c.connect_timeout = mc_.connect_timeout;
    c.service = p.service_host;
    for (const WorldService& ws : w_.services()) {
      if (!c.service.empty() && ws.hostname == c.service) {
        c.service_name = ws.name;
        c.service_namespace = ws.namespace_;
        break;
      }
    }
    c.port = static_cast<uint16_t>(p.target_port);
    c.http2 = p.protocol == Protocol::kHttp2 || p.protocol == Protocol::kGrpc;
    c.description = "inbound to the application on the original destination (pod IP), source 127.0.0.6";
    c.upstream_bind = Ipv4::of(127, 0, 0, 6);
    if (sc) {
      for (const auto& in : sc->ingress) {
        if (in.port.number != p.target_port || in.default_endpoint.empty()) continue;
        // "127.0.0.1:8080" / "0.0.0.0:8080" → a STATIC endpoint (TestInboundClusters).
        std::string ep = in.default_endpoint;
        size_t colon = ep.rfind(':');
        if (colon == std::string::npos) break;
        auto ip = parse_ipv4(ep.substr(0, colon));
        uint32_t port = 0;
        auto [pe, pec] = std::from_chars(ep.data() + colon + 1, ep.data() + ep.size(), port);
        if (!ip.ok() || pec != std::errc() || pe != ep.data() + ep.size() || port == 0 || port > 65535) break;
        Ipv4 addr = ip->is_any() ? pod_.ip : *ip;
        c.type = DiscoveryType::kStatic;
        c.lb_policy = LbPolicy::kRoundRobin;
        c.upstream_bind.reset();
        c.description = "Sidecar ingress defaultEndpoint " + in.default_endpoint;
        LbEndpoint e;
        e.address = {addr, static_cast<uint16_t>(port)};
        cfg_->endpoints.push_back({c.name, {e}});
      }
    }
    cfg_->clusters.push_back(std::move(c));
  }

  // ------------------------------------------------------------ outbound --
  struct OutboundListenerPlan {
    Listener listener;
    bool http_chain = false;
  };

  void build_outbound() {
    std::map<std::string, Listener> listeners;  // by name; sorted output
    std::map<uint32_t, std::vector<std::pair<const WorldService*, const ServicePortInfo*>>> http_ports;
    bool registry_only = registry_only_mode();
    const auto& services = w_.services();
    for (const WorldService& s : services) {
      if (!export_visible(s.export_to, mc_.default_service_export_to, s.namespace_, pod_.namespace_)) continue;
      if (!imported(s)) continue;
      for (const ServicePortInfo& sp : s.ports) {
        if (sp.protocol == Protocol::kUdp) continue;
        add_clusters(s, sp);
        ProtoClass pc = proto_class(sp.protocol);
        if (pc == ProtoClass::kHttp) {
          http_ports[sp.port].push_back({&s, &sp});
          continue;
        }
        std::vector<Ipv4> binds;
        bool wildcard = false;
        if (s.headless && s.resolution == ServiceEntryResolution::kNone && s.origin == WorldService::Origin::kKubernetes) {
          auto eps = s.endpoints.find(sp.port);
          if (eps != s.endpoints.end()) {
            for (const Endpoint& e : eps->second) {
              if (e.has_ip && e.ip != pod_.ip) binds.push_back(e.ip);
            }
          }
        } else if (s.has_vip) {
          binds.push_back(s.vip);
        } else {
          wildcard = true;
          binds.push_back(Ipv4::any());
        }
        for (Ipv4 bind : binds) {
          std::string name = to_string(bind) + "_" + std::to_string(sp.port);
          if (listeners.count(name)) continue;  // first service wins (a conflict in Istio too)
          Listener l = outbound_listener(name, {bind, static_cast<uint16_t>(sp.port)});
          std::vector<FilterChain> tcp_chains = tcp_chains_for(s, sp, wildcard);
          if (pc == ProtoClass::kAuto) {
            FilterChain http;
            http.match.transport_protocol = "raw_buffer";
            http.match.application_protocols = plaintext_http_alpns(o_);
            std::string rc_name = s.hostname + ":" + std::to_string(sp.port);
            http.filters.push_back(outbound_hcm(rc_name, sp.port));
            http.description = "auto-detected HTTP to " + s.hostname;
            l.filter_chains.push_back(http);
            build_sniffed_route(s, sp, rc_name);
            add_sniffing_filters(l);
          }
          for (auto& fc : tcp_chains) l.filter_chains.push_back(fc);
          finalize_outbound_listener(l, registry_only);
          listeners.emplace(name, std::move(l));
        }
      }
    }
    // HTTP ports: one wildcard listener and one route config per port.
    for (auto& [port, svcs] : http_ports) {
      std::string name = "0.0.0.0_" + std::to_string(port);
      Listener l;
      auto existing = listeners.find(name);
      if (existing != listeners.end()) {
        // A TCP service without VIP on the same port: HTTP + TCP merge into a sniffed listener.
        l = existing->second;
      } else {
        l = outbound_listener(name, {Ipv4::any(), static_cast<uint16_t>(port)});
      }
      FilterChain http;
      http.match.transport_protocol = "raw_buffer";
      http.match.application_protocols = plaintext_http_alpns(o_);
      http.filters.push_back(outbound_hcm(std::to_string(port), port));
      http.description = "HTTP services on port " + std::to_string(port);
      l.filter_chains.insert(l.filter_chains.begin(), http);
      add_sniffing_filters(l);
      finalize_outbound_listener(l, registry_only);
      listeners[name] = std::move(l);
      build_port_route(port, svcs, registry_only);
    }
    for (auto& [name, l] : listeners) cfg_->listeners.push_back(std::move(l));
  }

  // Sidecar egress `hosts` (pilot/pkg/model/sidecar.go selectServices): with
  // a Sidecar that lists egress listeners, only the services its hosts import
  // get clusters, listeners and routes. "ns/dnsName": ns "." = the Sidecar's
  // namespace, "*" = any, "~ns" excludes (a bare "~" any namespace, so "~/*"
  // imports nothing); dnsName "*", an FQDN, or "*.suffix". Exclusions win;
  // imports for the service's namespace are consulted before "*" ones.
  // Not modelled: port-specific egress listeners trimming services to their
  // port, and VirtualService destinations imported implicitly.
  bool imported(const WorldService& s) const {
    const SidecarResource* sc = sidecar_for(w_, pod_.namespace_, pod_.labels);
    if (!sc || sc->egress.empty()) return true;
    auto host_matches = [&](std::string_view pattern) {
      if (pattern == "*") return true;
      if (pattern.size() > 1 && pattern[0] == '*' && pattern[1] == '.') {
        std::string_view suffix = pattern.substr(1);
        return s.hostname.size() > suffix.size() &&
               std::string_view(s.hostname).substr(s.hostname.size() - suffix.size()) == suffix;
      }
      return pattern == s.hostname;
    };
    bool ns_import = false, any_import = false;
    for (const IstioEgressListener& l : sc->egress) {
      for (const std::string& h : l.hosts) {
        size_t slash = h.find('/');
        if (slash == std::string::npos || h.find('/', slash + 1) != std::string::npos) continue;
        std::string ns = h.substr(0, slash);
        std::string_view dns = std::string_view(h).substr(slash + 1);
        bool exclude = !ns.empty() && ns[0] == '~';
        if (exclude) ns = ns.substr(1);
        if (ns == ".") ns = sc->meta.namespace_;
        bool any_ns = ns.empty() || ns == "*";
        if (!any_ns && ns != s.namespace_) continue;
        if (!host_matches(dns)) continue;
        if (exclude) return false;
        (any_ns ? any_import : ns_import) = true;
      }
    }
    return ns_import || any_import;
  }

  bool registry_only_mode() const {
    const SidecarResource* sc = sidecar_for(w_, pod_.namespace_, pod_.labels);
    if (sc && !sc->outbound_traffic_policy.empty()) return sc->outbound_traffic_policy == "REGISTRY_ONLY";
    return mc_.outbound_traffic_policy == MeshConfig::OutboundTrafficPolicy::kRegistryOnly;
  }

  Listener outbound_listener(const std::string& name, SocketAddress addr) {
    Listener l;
    l.name = name;
    l.address = addr;
    l.direction = TrafficDirection::kOutbound;
    l.bind_to_port = false;
    l.continue_on_listener_filters_timeout = true;
    return l;
  }

  void add_sniffing_filters(Listener& l) {
    if (l.has_listener_filter(proxy::kHttpInspectorFilter)) return;
    l.listener_filters.push_back({proxy::kTlsInspectorFilter, {}});
    l.listener_filters.push_back({proxy::kHttpInspectorFilter, {}});
    l.listener_filters_timeout = mc_.protocol_detection_timeout;
  }

  // A match-all chain moves to default_filter_chain unless it is the only one;
  // without one, Istio adds PassthroughFilterChain.
  void finalize_outbound_listener(Listener& l, bool registry_only) {
    auto is_match_all = [](const FilterChain& fc) {
      const auto& m = fc.match;
      return !m.destination_port && m.prefix_ranges.empty() && m.server_names.empty() && m.transport_protocol.empty() &&
             m.application_protocols.empty();
    };
    if (l.filter_chains.size() > 1) {
      for (size_t i = 0; i < l.filter_chains.size(); ++i) {
        if (is_match_all(l.filter_chains[i])) {
          l.default_filter_chain = l.filter_chains[i];
          l.filter_chains.erase(l.filter_chains.begin() + static_cast<std::ptrdiff_t>(i));
          break;
        }
      }
    }
    bool has_default = l.default_filter_chain.has_value() || (l.filter_chains.size() == 1 && is_match_all(l.filter_chains[0]));
    if (!has_default) {
      FilterChain pf;
      pf.name = "PassthroughFilterChain";
      const char* c = registry_only ? proxy::kBlackHoleCluster : proxy::kPassthroughCluster;
      pf.filters.push_back(tcp_proxy_filter(c, c));
      pf.description = registry_only ? "REGISTRY_ONLY: unmatched traffic is dropped" : "ALLOW_ANY: unmatched traffic passes through";
      l.default_filter_chain = pf;
    }
  }

  // tcp_proxy chains of a TCP/TLS/auto service port (VirtualService tcp/tls routes applied).
  std::vector<FilterChain> tcp_chains_for(const WorldService& s, const ServicePortInfo& sp, bool wildcard) {
    std::vector<FilterChain> out;
    const VirtualService* vs = virtual_service_for(s);
    std::string default_cluster = outbound_cluster_name(sp.port, "", s.hostname);
    if (vs) {
      // TLS routes (SNI) for TLS/HTTPS ports.
      if (sp.protocol == Protocol::kTls || sp.protocol == Protocol::kHttps) {
        for (const TlsRoute& tr : vs->tls) {
          for (const TlsMatchAttributes& m : tr.match) {
            if (m.port && *m.port != sp.port) continue;
            FilterChain fc;
            fc.match.server_names = m.sni_hosts;
            fc.filters.push_back(tcp_route_filter(tr.route, sp.port, vs->meta.namespace_, default_cluster));
            fc.description = "VirtualService " + vs->meta.namespace_ + "/" + vs->meta.name + " tls route";
            out.push_back(fc);
          }
        }
      }
      for (const TcpRoute& tr : vs->tcp) {
        bool applies = tr.match.empty();
        for (const auto& m : tr.match) applies |= !m.port || *m.port == sp.port;
        if (!applies) continue;
        FilterChain fc;
        fc.filters.push_back(tcp_route_filter(tr.route, sp.port, vs->meta.namespace_, default_cluster));
        fc.description = "VirtualService " + vs->meta.namespace_ + "/" + vs->meta.name + " tcp route";
        out.push_back(fc);
        break;
      }
    }
    if (out.empty() || !std::any_of(out.begin(), out.end(), [](const FilterChain& c) { return c.match.server_names.empty(); })) {
      FilterChain fc;
      if (wildcard && (sp.protocol == Protocol::kTls || sp.protocol == Protocol::kHttps)) {
        fc.match.server_names = {s.hostname};
      }
      fc.filters.push_back(tcp_proxy_filter(default_cluster, default_cluster));
      fc.description = std::string(protocol_name(sp.protocol)) + " to " + s.hostname;
      out.push_back(fc);
    }
    return out;
  }

  NetworkFilter tcp_route_filter(const std::vector<RouteDestination>& route, uint32_t port, const std::string& vs_ns,
                                 const std::string& fallback) {
    TcpProxy tp;
    if (route.size() == 1 || route.empty()) {
      tp.cluster = route.empty() ? fallback : destination_cluster(route[0].destination, port, vs_ns);
      tp.stat_prefix = tp.cluster;
    } else {
      for (const auto& d : route) {
        tp.weighted_clusters.push_back({destination_cluster(d.destination, port, vs_ns), static_cast<uint32_t>(d.weight), {}, {}});
      }
      tp.stat_prefix = fallback;
    }
    return {kTcpProxyName, tp};
  }

  // route.go GetDestinationCluster: the destination's port, else the
  // service's only port, else the listener port.
  std::string destination_cluster(const Destination& d, uint32_t port, const std::string& vs_ns) {
    std::string host = w_.config_host_to_fqdn(d.host, vs_ns);
    uint32_t p = port;
    if (d.port) {
      p = *d.port;
    } else if (const WorldService* svc = w_.service_by_hostname(host); svc && svc->ports.size() == 1) {
      p = svc->ports.front().port;
    }
    return outbound_cluster_name(p, d.subset, host);
  }

  NetworkFilter outbound_hcm(const std::string& rds, uint32_t port) {
    HttpConnectionManager h;
    h.stat_prefix = "outbound_0.0.0.0_" + std::to_string(port) + ";";
    h.route_config_name = rds;
    h.direction = TrafficDirection::kOutbound;
    h.server_name = "envoy";
    h.accept_http_10 = o_.http10;
    h.http_filters = outbound_http_filters();
    h.tracing = tracing_out_;
    h.normalize_path = mc_.path_normalization != "NONE";
    h.merge_slashes = mc_.path_normalization == "MERGE_SLASHES" || mc_.path_normalization == "DECODE_AND_MERGE_SLASHES";
    return {kHcmName, h};
  }

  // The oldest VirtualService (bound to the mesh, visible here) naming s.
  const VirtualService* virtual_service_for(const WorldService& s) {
    const VirtualService* best = nullptr;
    bool best_consumer = false;
    auto consider = [&](const VirtualService& vs) {
      if (!vs.gateways.empty() && std::find(vs.gateways.begin(), vs.gateways.end(), "mesh") == vs.gateways.end()) return;
      if (!export_visible(vs.export_to, mc_.default_virtual_service_export_to, vs.meta.namespace_, pod_.namespace_)) return;
      bool names = false;
      for (const std::string& h : vs.hosts) names |= host_matches(w_.config_host_to_fqdn(h, vs.meta.namespace_), s.hostname);
      if (!names) return;
      // Gateway semantics (a GAMMA route, route.go BuildSidecarVirtualHostWrapper):
      // it applies only to proxies in its own namespace (a consumer route, and
      // preferred there) or to the Service of its namespace (a producer route).
      bool gateway_api = gateway_semantics(vs);
      if (gateway_api && vs.meta.namespace_ != s.namespace_ && vs.meta.namespace_ != pod_.namespace_) return;
      bool consumer = gateway_api && vs.meta.namespace_ == pod_.namespace_;
      if (!best || (consumer && !best_consumer) || (consumer == best_consumer && created_before(vs, *best))) {
        best = &vs;
        best_consumer = consumer;
      }
    };
    for (const VirtualService& vs : w_.virtual_services()) consider(vs);
    if (gwapi_)
      for (const VirtualService& vs : gwapi_->virtual_services) consider(vs);
    return best;
  }

  // A translated VirtualService's internal.istio.io/route-semantics: "gateway"
  // (Gateway API), "ingress" (Kubernetes Ingress), "" (written by the user).
  static std::string_view route_semantics(const VirtualService& vs) {
    auto sem = vs.meta.annotations.find("internal.istio.io/route-semantics");
    return sem == vs.meta.annotations.end() ? std::string_view() : std::string_view(sem->second);
  }
  static bool gateway_semantics(const VirtualService& vs) { return route_semantics(vs) == "gateway"; }

  // Ingress and Gateway API semantics of a translated VirtualService's routes
  // (route.go TranslateRouteMatch, applyHTTPRouteDestination), at gateways and,
  // for GAMMA routes, at sidecars: a prefix other than "/" is a path-separated
  // prefix with its trailing "/" trimmed; Gateway API routes answer 500 for an
  // invalid backend (no cluster) and a prefix rewrite to "/" removes the prefix.
  static void apply_route_semantics(const VirtualService& vs, std::vector<Route>& routes) {
    std::string_view sem = route_semantics(vs);
    if (sem.empty()) return;
    bool gateway_api = sem == "gateway";
    for (Route& r : routes) {
      if (r.match.kind == proxy::RouteMatch::Kind::kPrefix && r.match.value != "/") {
        r.match.kind = proxy::RouteMatch::Kind::kPathSeparatedPrefix;
        while (r.match.value.size() > 1 && r.match.value.back() == '/') r.match.value.pop_back();
      }
      auto* a = std::get_if<proxy::RouteAction>(&r.action);
      if (!gateway_api || !a) continue;
      a->cluster_not_found_response_code = 500;
      if (a->prefix_rewrite == "/" && r.match.kind == proxy::RouteMatch::Kind::kPathSeparatedPrefix) {
        a->prefix_rewrite.clear();
        a->regex_rewrite = proxy::RegexRewrite{"^" + regex_quote_meta(r.match.value) + "(/?)(.*)", "/\\2"};
      }
    }
  }

  std::vector<std::string> vhost_domains(const WorldService& s) {
    // httproute.go generateVirtualHostDomains (ignore-port mode).
    std::vector<std::string> d = {s.hostname, s.hostname + "."};
    if (s.origin == WorldService::Origin::kKubernetes) {
      if (s.namespace_ == pod_.namespace_) {
        d.push_back(s.name);
        d.push_back(s.name + "." + s.namespace_ + ".svc");
        d.push_back(s.name + "." + s.namespace_);
      } else {
        d.push_back(s.name + "." + s.namespace_);
        d.push_back(s.name + "." + s.namespace_ + ".svc");
      }
      // Headless (Passthrough) Kubernetes services: pod hostnames
      // (<pod>.<service>…) match a wildcard of every domain.
      if (s.headless) {
        size_t n = d.size();
        for (size_t i = 0; i < n; ++i) d.push_back("*." + d[i]);
      }
    }
    if (s.has_vip) d.push_back(to_string(s.vip));
    std::vector<std::string> out;
    for (auto& x : d) {
      if (std::find(out.begin(), out.end(), x) == out.end()) out.push_back(x);
    }
    return out;
  }

  void build_port_route(uint32_t port, const std::vector<std::pair<const WorldService*, const ServicePortInfo*>>& svcs,
                        bool registry_only) {
    auto rc = std::make_shared<RouteConfiguration>();
    rc->name = std::to_string(port);
    rc->ignore_port_in_host_matching = true;
    std::vector<VirtualHost> vhs;
    for (const auto& [s, sp] : svcs) {
      VirtualHost vh;
      vh.name = s->hostname + ":" + std::to_string(port);
      vh.domains = vhost_domains(*s);
      vh.include_request_attempt_count = true;
      vh.routes = http_routes(*s, port);
      vhs.push_back(std::move(vh));
    }
    std::sort(vhs.begin(), vhs.end(), [](const VirtualHost& a, const VirtualHost& b) { return a.name < b.name; });
    VirtualHost catch_all;
    catch_all.include_request_attempt_count = true;
    catch_all.domains = {"*"};
    Route r;
    r.match.kind = proxy::RouteMatch::Kind::kPrefix;
    r.match.value = "/";
    if (registry_only) {
      catch_all.name = "block_all";
      r.name = "block_all";
      r.action = proxy::DirectResponse{502, ""};
    } else {
      catch_all.name = "allow_any";
      r.name = "allow_any";
      RouteAction a;
      a.cluster = proxy::kPassthroughCluster;
      r.action = a;
    }
    catch_all.routes.push_back(r);
    vhs.push_back(catch_all);
    rc->virtual_hosts = std::move(vhs);
    cfg_->routes.push_back(rc);
  }

  void build_sniffed_route(const WorldService& s, const ServicePortInfo& sp, const std::string& name) {
    for (const auto& existing : cfg_->routes) {
      if (existing->name == name) return;
    }
    auto rc = std::make_shared<RouteConfiguration>();
    rc->name = name;
    rc->ignore_port_in_host_matching = true;
    VirtualHost vh;
    vh.name = name;
    vh.domains = {"*"};
    vh.include_request_attempt_count = true;
    vh.routes = http_routes(s, sp.port);
    rc->virtual_hosts.push_back(vh);
    cfg_->routes.push_back(rc);
  }

  // route.go GetRouteOperation: the span name of a VirtualService route —
  // host:port of its single cluster (else <VirtualService>:<listen port>)
  // and its path match (prefix P → P*, exact, regex; none → /*).
  static std::string route_operation(const Route& r, const std::string& vs_name, uint32_t port) {
    std::string path = "/*";
    switch (r.match.kind) {
      case proxy::RouteMatch::Kind::kPrefix: path = r.match.value + "*"; break;
      case proxy::RouteMatch::Kind::kPath: path = r.match.value; break;
      case proxy::RouteMatch::Kind::kRegex: path = r.match.value; break;
      case proxy::RouteMatch::Kind::kPathSeparatedPrefix: break;
    }
    if (const auto* a = std::get_if<RouteAction>(&r.action); a && a->weighted_clusters.empty()) {
      // outbound|<port>|<subset>|<host>
      std::string_view c = a->cluster;
      size_t p1 = c.find('|'), p2 = p1 == std::string_view::npos ? p1 : c.find('|', p1 + 1),
             p3 = p2 == std::string_view::npos ? p2 : c.find('|', p2 + 1);
      if (c.substr(0, p1) == "outbound" && p3 != std::string_view::npos)
        return std::string(c.substr(p3 + 1)) + ":" + std::string(c.substr(p1 + 1, p2 - p1 - 1)) + path;
    }
    return vs_name + ":" + std::to_string(port) + path;
  }

  std::vector<Route> http_routes(const WorldService& s, uint32_t port) {
    std::string decorator = s.hostname + ":" + std::to_string(port) + "/*";
    const VirtualService* vs = virtual_service_for(s);
    if (vs && !vs->http.empty()) {
      std::vector<Route> routes = vs_http_routes(*vs, port, "");
      // route.go BuildSidecarVirtualHostWrapper: a VirtualService none of whose
      // routes can match this port builds no virtual host for it ("len(routes)
      // == 0 → return nil"); the service keeps its default route on this port.
      if (!routes.empty()) {
        apply_route_semantics(*vs, routes);
        return routes;
      }
    }
    std::vector<Route> out;
    Route r;
    r.name = "default";
    r.match.kind = proxy::RouteMatch::Kind::kPrefix;
    r.match.value = "/";
    r.decorator_operation = decorator;
    RouteAction a;
    a.cluster = outbound_cluster_name(port, "", s.hostname);
    a.retry_policy = default_retry_policy();
    // A service without VirtualService gets its DestinationRule's hash
    // (httproute.go buildSidecarVirtualHostForService); the default retry
    // policy is kept as it is. [inference: docs/istio/http-traffic-management.md §7.1]
    if (auto h = consistent_hash_to_hash_policy(hash_for_service(s, port))) a.hash_policy.push_back(std::move(*h));
    r.action = a;
    out.push_back(r);
    return out;
  }

  // A match's `gateways` (route.go: a match naming gateways applies only at
  // those; short names are in the VirtualService's namespace). `gateway` ""
  // = no filtering (the sidecar path keeps its behaviour).
  bool match_applies_at(const std::vector<std::string>& gateways, const std::string& vs_ns,
                        const std::string& gateway) const {
    if (gateway.empty() || gateways.empty()) return true;
    for (const std::string& g : gateways) {
      std::string full = g.find('/') == std::string::npos && g != "mesh" ? vs_ns + "/" + g : g;
      if (full == gateway) return true;
    }
    return false;
  }

  // The http routes of one VirtualService for a listener port (route.go
  // BuildHTTPRoutesForVirtualService); `gateway` "ns/name" at a gateway.
  std::vector<Route> vs_http_routes(const VirtualService& vs_ref, uint32_t port, const std::string& gateway) {
    const VirtualService* vs = &vs_ref;
    std::vector<Route> out;
    {
      for (const HttpRoute& hr : vs->http) {
        std::vector<const HttpMatchRequest*> matches;
        for (const auto& m : hr.match) {
          if ((!m.port || *m.port == port) && match_applies_at(m.gateways, vs->meta.namespace_, gateway))
            matches.push_back(&m);
        }
        if (!hr.match.empty() && matches.empty()) continue;  // no match applies to this port
        Route base;
        base.name = hr.name;
        base.source = vs->meta.name + "." + vs->meta.namespace_;  // as istioctl shows it
        if (hr.cors_policy) base.cors = translate_cors(*hr.cors_policy);
        if (hr.headers) translate_headers(*hr.headers, base.headers);
        if (hr.direct_response) {
          base.action = proxy::DirectResponse{hr.direct_response->status, hr.direct_response->body};
        } else if (hr.redirect) {
          base.action = translate_redirect(*hr.redirect, port);
        } else {
          RouteAction a;
          if (hr.route.size() == 1) {
            a.cluster = destination_cluster(hr.route[0].destination, port, vs->meta.namespace_);
            // A single destination's headers join the route's (route.go processDestination).
            if (hr.route[0].headers) {
              std::string authority = translate_headers(*hr.route[0].headers, base.headers);
              if (!authority.empty()) a.host_rewrite = authority;
            }
          } else {
            for (const auto& d : hr.route) {
              if (d.weight == 0) continue;  // weight 0 is dropped with several destinations
              proxy::WeightedCluster wc{destination_cluster(d.destination, port, vs->meta.namespace_),
                                        static_cast<uint32_t>(d.weight), {}, {}};
              if (d.headers) wc.host_rewrite = translate_headers(*d.headers, wc.headers);
              a.weighted_clusters.push_back(std::move(wc));
            }
          }
          // :authority / host in request set (over add) become the host rewrite; rewrite.authority wins.
          if (!base.headers.request_add.empty() || hr.headers) {
            std::string authority = hr.headers ? authority_of(hr.headers->request) : "";
            if (!authority.empty()) a.host_rewrite = authority;
          }
          if (hr.rewrite) {
            if (hr.rewrite->uri_regex_rewrite) {
              a.regex_rewrite = proxy::RegexRewrite{hr.rewrite->uri_regex_rewrite->first,
                                                    hr.rewrite->uri_regex_rewrite->second};
            } else {
              a.prefix_rewrite = hr.rewrite->uri;
            }
            if (!hr.rewrite->authority.empty()) a.host_rewrite = hr.rewrite->authority;
          }
          // mirror / mirrors (route.go MirrorPercent): unset percentage = 100 %,
          // 0 = no mirror.
          auto add_mirror = [&](const Destination& d, std::optional<double> pct) {
            if (pct && *pct <= 0) return;
            uint32_t pm = pct ? static_cast<uint32_t>(std::min(*pct, 100.0) * 10000.0) : 1'000'000u;
            a.mirrors.push_back({destination_cluster(d, port, vs->meta.namespace_), pm, !o_.shadow_host_suffix});
          };
          if (hr.mirror) add_mirror(*hr.mirror, hr.mirror_percentage);
          for (const auto& m : hr.mirrors) add_mirror(m.destination, m.percentage);
          if (hr.fault) {
            // Fault injection disables the VS timeout and retries (API docs).
            proxy::FaultPolicy f;
            if (hr.fault->delay && hr.fault->delay->fixed_delay) {
              f.delay = *hr.fault->delay->fixed_delay;
              f.delay_per_million = per_million(hr.fault->delay->percentage, hr.fault->delay->percent);
            }
            if (hr.fault->abort && hr.fault->abort->http_status) {
              f.abort_http_status = static_cast<uint32_t>(*hr.fault->abort->http_status);
              f.abort_per_million = per_million(hr.fault->abort->percentage, std::nullopt);
            }
            base.fault = f;
          } else {
            if (hr.timeout) a.timeout = *hr.timeout;
            if (hr.retries) {
              if (hr.retries->attempts > 0) a.retry_policy = vs_retry(*hr.retries);
            } else {
              a.retry_policy = default_retry_policy();
            }
          }
          // consistentHash of each destination (route.go hashForHTTPDestination);
          // a hashed route's retries have no previous_hosts predicate
          // (retry.ConvertPolicy with consistentHash).
          for (const auto& d : hr.route) {
            if (hr.route.size() > 1 && d.weight == 0) continue;
            if (auto h = consistent_hash_to_hash_policy(hash_for_destination(d.destination, vs->meta.namespace_)))
              a.hash_policy.push_back(std::move(*h));
          }
          if (!a.hash_policy.empty() && a.retry_policy) a.retry_policy->previous_hosts_predicate = false;
          base.action = a;
        }
        if (matches.empty()) {
          base.match.kind = proxy::RouteMatch::Kind::kPrefix;
          base.match.value = "/";
          base.decorator_operation = route_operation(base, vs->meta.name, port);
          out.push_back(base);
          continue;
        }
        for (const HttpMatchRequest* m : matches) {
          Route r = base;
          r.match = convert_match(*m);
          if (!m->name.empty()) r.name = hr.name.empty() ? m->name : hr.name + "." + m->name;
          r.decorator_operation = route_operation(r, vs->meta.name, port);
          out.push_back(r);
        }
      }
    }
    return out;
  }

  static uint32_t per_million(const std::optional<double>& pct, const std::optional<int32_t>& deprecated_percent) {
    if (pct) return static_cast<uint32_t>(std::llround(std::clamp(*pct, 0.0, 100.0) * 10000.0));
    if (deprecated_percent) return static_cast<uint32_t>(std::clamp(*deprecated_percent, 0, 100)) * 10000u;
    return 0;  // no percentage: never fires
  }

  // cluster_traffic_policy.go ApplyRingHashLoadBalancer: maglev, ringHash,
  // or the legacy form (RING_HASH with minimum_ring_size set, 1024 when 0).
  static void apply_ring_hash_load_balancer(Cluster& c, const ConsistentHashLb& ch) {
    if (ch.maglev) {
      c.lb_policy = LbPolicy::kMaglev;
      if (ch.maglev_table_size.value_or(0) != 0) c.maglev_lb_config = proxy::MaglevLbConfig{ch.maglev_table_size};
    } else if (ch.ring_hash) {
      c.lb_policy = LbPolicy::kRingHash;
      if (ch.ring_hash_minimum_ring_size.value_or(0) != 0)
        c.ring_hash_lb_config = proxy::RingHashLbConfig{ch.ring_hash_minimum_ring_size, std::nullopt};
    } else {
      c.lb_policy = LbPolicy::kRingHash;
      uint64_t min = ch.minimum_ring_size.value_or(0) != 0 ? *ch.minimum_ring_size : 1024;
      c.ring_hash_lb_config = proxy::RingHashLbConfig{min, std::nullopt};
    }
  }

  // route.go ConsistentHashToHashPolicy (no terminal is ever set).
  static std::optional<proxy::HashPolicy> consistent_hash_to_hash_policy(const ConsistentHashLb* ch) {
    if (!ch) return std::nullopt;
    proxy::HashPolicy h;
    if (!ch->http_header_name.empty()) {
      h.kind = proxy::HashPolicy::Kind::kHeader;
      h.name = ch->http_header_name;
    } else if (ch->http_cookie) {
      h.kind = proxy::HashPolicy::Kind::kCookie;
      h.name = ch->http_cookie->name;
      h.path = ch->http_cookie->path;
      h.ttl = ch->http_cookie->ttl;
      for (const auto& [n, v] : ch->http_cookie->attributes) h.attributes.push_back({n, v});
    } else if (!ch->http_query_parameter_name.empty()) {
      h.kind = proxy::HashPolicy::Kind::kQueryParameter;
      h.name = ch->http_query_parameter_name;
    } else {
      // useSourceIp (false still gives source_ip:false, which Envoy ignores).
      h.kind = proxy::HashPolicy::Kind::kSourceIp;
      h.source_ip = ch->use_source_ip;
    }
    return h;
  }

  static const ConsistentHashLb* consistent_hash_of(const std::optional<TrafficPolicy>& tp) {
    return tp && tp->load_balancer && tp->load_balancer->consistent_hash ? &*tp->load_balancer->consistent_hash
                                                                          : nullptr;
  }
  static const ConsistentHashLb* port_level_consistent_hash(const std::optional<TrafficPolicy>& tp,
                                                            std::optional<uint32_t> port) {
    if (!tp || !port) return nullptr;
    for (const auto& p : tp->port_level_settings)
      if (p.port == *port) return p.load_balancer && p.load_balancer->consistent_hash ? &*p.load_balancer->consistent_hash : nullptr;
    return nullptr;
  }

  // route.go hashForHTTPDestination: the destination's DestinationRule,
  // subset port-level → subset → port-level → top-level. Port-level
  // settings count only when the destination names its port.
  const ConsistentHashLb* hash_for_destination(const Destination& d, const std::string& vs_ns) {
    const WorldService* svc = w_.service_by_hostname(w_.config_host_to_fqdn(d.host, vs_ns));
    if (!svc) return nullptr;
    const DestinationRule* dr = choose_destination_rule(w_, pod_.namespace_, *svc).rule;
    if (!dr) return nullptr;
    const ConsistentHashLb* top = consistent_hash_of(dr->traffic_policy);
    const ConsistentHashLb* pls = port_level_consistent_hash(dr->traffic_policy, d.port);
    const ConsistentHashLb *sub = nullptr, *sub_pls = nullptr;
    for (const Subset& ss : dr->subsets) {
      if (ss.name != d.subset) continue;
      sub = consistent_hash_of(ss.traffic_policy);
      sub_pls = port_level_consistent_hash(ss.traffic_policy, d.port);
      break;
    }
    if (sub_pls) return sub_pls;
    if (sub) return sub;
    if (pls) return pls;
    return top;
  }

  // route.go hashForService (a service without VirtualService): the top-level
  // consistentHash, replaced by the service port's port-level settings.
  const ConsistentHashLb* hash_for_service(const WorldService& s, uint32_t port) {
    const DestinationRule* dr = choose_destination_rule(w_, pod_.namespace_, s).rule;
    if (!dr || !dr->traffic_policy) return nullptr;
    const ConsistentHashLb* ch = consistent_hash_of(dr->traffic_policy);
    for (const auto& p : dr->traffic_policy->port_level_settings)
      if (p.port == port) return p.load_balancer && p.load_balancer->consistent_hash ? &*p.load_balancer->consistent_hash : nullptr;
    return ch;
  }

  static RetryPolicy vs_retry(const HttpRetry& r) {
    RetryPolicy p;
    p.num_retries = static_cast<uint32_t>(r.attempts);
    if (r.per_try_timeout) p.per_try_timeout = *r.per_try_timeout;
    if (r.backoff) p.back_off_base_interval = *r.backoff;  // retry.go ConvertPolicy: RetryBackOff.BaseInterval
    std::string on = r.retry_on.empty() ? "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes"
                                        : std::string();
    bool codes = false;
    std::string_view s = r.retry_on;
    while (!s.empty()) {
      size_t c = s.find(',');
      std::string t(s.substr(0, c));
      t.erase(0, t.find_first_not_of(' '));
      t.erase(t.find_last_not_of(' ') + 1);
      uint32_t code = 0;
      auto [ce, cec] = std::from_chars(t.data(), t.data() + t.size(), code);
      if (!t.empty() && cec == std::errc() && ce == t.data() + t.size()) {
        p.retriable_status_codes.push_back(code);
        codes = true;
      } else if (!t.empty()) {
        on += (on.empty() ? "" : ",") + t;
      }
      if (c == std::string_view::npos) break;
      s.remove_prefix(c + 1);
    }
    if (codes && on.find("retriable-status-codes") == std::string::npos) on += ",retriable-status-codes";
    p.retry_on = on;
    p.previous_hosts_predicate = true;
    p.host_selection_retry_max_attempts = 5;
    return p;
  }

  // Istio's HTTPRedirect → Envoy RedirectAction (route.go ApplyRedirect); the
  // port is normalised only when a port option is present.
  static proxy::RedirectAction translate_redirect(const HttpRedirect& in, uint32_t listen_port) {
    proxy::RedirectAction r;
    r.host_redirect = in.authority;
    r.path_redirect = in.uri;
    r.prefix_rewrite = in.prefix_rewrite;
    r.scheme_redirect = in.scheme;
    r.response_code = in.redirect_code == 0 ? 301 : in.redirect_code;
    if (in.port || in.derive_port == "FROM_REQUEST_PORT") {
      uint32_t port = in.port ? *in.port : listen_port;
      std::string scheme = in.scheme.empty() ? "http" : in.scheme;
      if (!((port == 80 && scheme == "http") || (port == 443 && scheme == "https"))) r.port_redirect = port;
    }
    return r;
  }

  // Istio's corsPolicy → Envoy CorsPolicy (route.go TranslateCORSPolicy).
  static proxy::CorsPolicy translate_cors(const CorsPolicy& in) {
    proxy::CorsPolicy c;
    for (const StringMatch& m : in.allow_origins) {
      using K = proxy::CorsPolicy::OriginMatcher::Kind;
      K k = m.type == StringMatch::Type::kPrefix ? K::kPrefix : m.type == StringMatch::Type::kRegex ? K::kRegex : K::kExact;
      c.allow_origins.push_back({k, m.value});
    }
    auto join = [](const std::vector<std::string>& v) {
      std::string o;
      for (const auto& x : v) o += (o.empty() ? "" : ",") + x;
      return o;
    };
    c.allow_methods = join(in.allow_methods);
    c.allow_headers = join(in.allow_headers);
    c.expose_headers = join(in.expose_headers);
    if (in.max_age) c.max_age = std::to_string(in.max_age->ns() / 1'000'000'000);
    c.allow_credentials = in.allow_credentials;
    c.forward_not_matching_preflights = in.unmatched_preflights != "IGNORE";
    return c;
  }

  static bool internal_header(const std::string& k) {
    return (!k.empty() && k[0] == ':') || k == "host" || k == "Host";
  }

  // The :authority / host a request set (else add) asks for, "" if none.
  static std::string authority_of(const HeaderOperations& ops) {
    for (const auto* m : {&ops.set, &ops.add}) {
      for (const auto& [k, v] : *m) {
        if (k == ":authority" || k == "host" || k == "Host") return v;
      }
    }
    return "";
  }

  // Istio headers → Envoy header mutations appended to `out` (route.go
  // TranslateHeadersOperations: every set, sorted by key, then every add;
  // pseudo-headers and host dropped). Returns the request authority asked for.
  static std::string translate_headers(const Headers& in, proxy::HeaderMutations& out) {
    auto ops = [](const HeaderOperations& h, std::vector<proxy::HeaderValueOption>& add, std::vector<std::string>& rm) {
      for (const auto& [k, v] : h.set) {
        if (!internal_header(k)) add.push_back({k, v, false});
      }
      for (const auto& [k, v] : h.add) {
        if (!internal_header(k)) add.push_back({k, v, true});
      }
      for (const auto& k : h.remove) {
        if (!internal_header(k)) rm.push_back(k);
      }
    };
    ops(in.request, out.request_add, out.request_remove);
    ops(in.response, out.response_add, out.response_remove);
    return authority_of(in.request);
  }

  static proxy::RouteMatch convert_match(const HttpMatchRequest& m) {
    proxy::RouteMatch r;
    r.case_sensitive = !m.ignore_uri_case;
    if (m.uri) {
      switch (m.uri->type) {
        case StringMatch::Type::kExact: r.kind = proxy::RouteMatch::Kind::kPath; break;
        case StringMatch::Type::kPrefix: r.kind = proxy::RouteMatch::Kind::kPrefix; break;
        case StringMatch::Type::kRegex: r.kind = proxy::RouteMatch::Kind::kRegex; break;
      }
      r.value = m.uri->value;
    } else {
      r.kind = proxy::RouteMatch::Kind::kPrefix;
      r.value = "/";
    }
    auto header = [](const std::string& name, const StringMatch& sm, bool invert) {
      proxy::HeaderMatcher h;
      h.name = name;
      h.value = sm.value;
      h.invert = invert;
      switch (sm.type) {
        case StringMatch::Type::kExact: h.kind = proxy::HeaderMatcher::Kind::kExact; break;
        case StringMatch::Type::kPrefix: h.kind = proxy::HeaderMatcher::Kind::kPrefix; break;
        case StringMatch::Type::kRegex: h.kind = proxy::HeaderMatcher::Kind::kRegex; break;
      }
      if (sm.type == StringMatch::Type::kPrefix && sm.value.empty()) h.kind = proxy::HeaderMatcher::Kind::kPresent;
      return h;
    };
    for (const auto& [name, sm] : m.headers) r.headers.push_back(header(name, sm, false));
    for (const auto& [name, sm] : m.without_headers) r.headers.push_back(header(name, sm, true));
    if (m.method) r.headers.push_back(header(":method", *m.method, false));
    if (m.authority) r.headers.push_back(header(":authority", *m.authority, false));
    for (const auto& [name, sm] : m.query_params) r.query_parameters.push_back(header(name, sm, false));
    return r;
  }

  // ------------------------------------------------------------ clusters --
  void add_clusters(const WorldService& s, const ServicePortInfo& sp) {
    DestinationRuleChoice drc = choose_destination_rule(w_, pod_.namespace_, s);
    add_cluster(s, sp, "", drc);
    if (drc.rule) {
      for (const Subset& sub : drc.rule->subsets) add_cluster(s, sp, sub.name, drc);
    }
  }

  void add_cluster(const WorldService& s, const ServicePortInfo& sp, const std::string& subset,
                   const DestinationRuleChoice& drc) {
    Cluster c;
    c.name = outbound_cluster_name(sp.port, subset, s.hostname);
    c.service = s.hostname;
    c.service_name = s.name;
    c.service_namespace = s.namespace_;
    c.metadata_exchange = true;  // applyMetadataExchange: TCPClusterMx on every outbound cluster
    c.subset = subset;
    c.port = static_cast<uint16_t>(sp.port);
    c.connect_timeout = mc_.connect_timeout;
    c.http2 = sp.protocol == Protocol::kHttp2 || sp.protocol == Protocol::kGrpc;
    std::optional<TrafficPolicy> tp = merged_traffic_policy(drc.rule, subset, sp.port);
    bool passthrough_lb = false;
    if (tp && tp->load_balancer) {
      switch (tp->load_balancer->simple) {
        case SimpleLb::kRoundRobin: c.lb_policy = LbPolicy::kRoundRobin; break;
        case SimpleLb::kRandom: c.lb_policy = LbPolicy::kRandom; break;
        case SimpleLb::kPassthrough: passthrough_lb = true; break;
        default: c.lb_policy = LbPolicy::kLeastRequest; break;
      }
    }
    if (tp && tp->load_balancer && tp->load_balancer->consistent_hash)
      apply_ring_hash_load_balancer(c, *tp->load_balancer->consistent_hash);
    // Resolution NONE (a headless Service, a ServiceEntry with resolution
    // NONE) is ORIGINAL_DST (cluster_builder.go convertResolution).
    bool headless_passthrough = (s.headless && s.origin == WorldService::Origin::kKubernetes) ||
                                (s.origin == WorldService::Origin::kServiceEntry && s.resolution == ServiceEntryResolution::kNone);
    if (passthrough_lb || headless_passthrough) {
      c.type = DiscoveryType::kOriginalDst;
      c.lb_policy = LbPolicy::kClusterProvided;
    }
    if (tp && tp->connection_pool) {
      const auto& cp = *tp->connection_pool;
      if (cp.tcp) {
        if (cp.tcp->connect_timeout) c.connect_timeout = *cp.tcp->connect_timeout;
        if (cp.tcp->max_connections) c.circuit_breakers.max_connections = static_cast<uint32_t>(*cp.tcp->max_connections);
        if (cp.tcp->idle_timeout) c.idle_timeout = *cp.tcp->idle_timeout;
      }
      if (cp.http) {
        if (cp.http->http1_max_pending_requests) c.circuit_breakers.max_pending_requests = static_cast<uint32_t>(*cp.http->http1_max_pending_requests);
        if (cp.http->http2_max_requests) c.circuit_breakers.max_requests = static_cast<uint32_t>(*cp.http->http2_max_requests);
        if (cp.http->max_retries) c.circuit_breakers.max_retries = static_cast<uint32_t>(*cp.http->max_retries);
        if (cp.http->max_requests_per_connection) c.max_requests_per_connection = static_cast<uint32_t>(*cp.http->max_requests_per_connection);
        if (cp.http->idle_timeout) c.idle_timeout = *cp.http->idle_timeout;
      }
    }
    if (tp && tp->outlier_detection && c.type != DiscoveryType::kOriginalDst) apply_outlier_detection(c, *tp->outlier_detection);
    std::string dr_name = drc.rule ? drc.rule->meta.name + "." + drc.rule->meta.namespace_ : "";
    // TLS: cluster layer (cluster_tls.go buildUpstreamTLSSettings).
    bool auto_mtls = false;
    std::string why;
    if (tp && tp->tls) {
      const ClientTls& t = *tp->tls;
      switch (t.mode) {
        case ClientTlsMode::kDisable:
          why = "DestinationRule " + dr_name + " tls DISABLE";
          break;
        case ClientTlsMode::kIstioMutual:
          c.tls = istio_mutual(s, sp, subset, &t);
          why = "DestinationRule " + dr_name + " tls ISTIO_MUTUAL";
          break;
        case ClientTlsMode::kSimple:
        case ClientTlsMode::kMutual: {
          UpstreamTlsContext u;
          u.istio_mode = t.mode == ClientTlsMode::kSimple ? "SIMPLE" : "MUTUAL";
          u.sni = t.sni;
          if (t.mode == ClientTlsMode::kMutual) {
            u.certificate_secret = !t.credential_name.empty() ? "kubernetes://" + t.credential_name
                                                              : "file-cert:" + t.client_certificate + "~" + t.private_key;
          }
          if (!t.ca_certificates.empty()) u.validation_secret = "file-root:" + t.ca_certificates;
          else if (!t.credential_name.empty()) u.validation_secret = "kubernetes://" + t.credential_name + "-cacert";
          u.match_subject_alt_names = t.subject_alt_names;
          if (c.http2) u.alpn_protocols = {"h2"};
          c.tls = u;
          why = "DestinationRule " + dr_name + " tls " + u.istio_mode;
          break;
        }
      }
    } else if (s.mesh_external) {
      why = "mesh-external service: no auto mTLS";
    } else if (!mc_.enable_auto_mtls) {
      why = "enableAutoMtls is off";
    } else {
      ServiceMtlsMode m = best_effort_infer_service_mtls_mode(w_, tp ? &*tp : nullptr, s, sp.port);
      if (m == ServiceMtlsMode::kUnknown || m == ServiceMtlsMode::kDisable) {
        // Say which rule of BestEffortInferServiceMTLSMode decided.
        bool passthrough = s.resolution == ServiceEntryResolution::kNone ||
                           (tp && tp->load_balancer && tp->load_balancer->simple == SimpleLb::kPassthrough);
        auto eps = s.endpoints.find(sp.port);
        bool plain_endpoint = eps == s.endpoints.end() || eps->second.empty() ||
                              std::any_of(eps->second.begin(), eps->second.end(), [](const auto& e) { return !e.sidecar; });
        if (passthrough && plain_endpoint) {
          why = "auto mTLS off: passthrough (headless) service with an endpoint without a sidecar, or none";
        } else {
          why = std::string("auto mTLS off: destination namespace mode ") + service_mtls_mode_name(m);
        }
      } else {
        auto_mtls = true;
        why = std::string("auto mTLS (destination namespace mode ") + service_mtls_mode_name(m) + ")";
        if (c.type == DiscoveryType::kOriginalDst) {
          c.tls = istio_mutual(s, sp, subset, nullptr);
        } else {
          TransportSocketMatch istio{"tlsMode-istio", {{"tlsMode", "istio"}}, istio_mutual(s, sp, subset, nullptr)};
          TransportSocketMatch plain{"tlsMode-disabled", {}, std::nullopt};
          c.transport_socket_matches = {istio, plain};
        }
      }
    }
    c.description = why + (dr_name.empty() ? "" : "; DestinationRule " + dr_name + " (" + drc.reason + ")");
    // Endpoints.
    ClusterLoadAssignment cla;
    cla.cluster_name = c.name;
    const Subset* sub = nullptr;
    if (drc.rule && !subset.empty()) {
      for (const auto& x : drc.rule->subsets) {
        if (x.name == subset) sub = &x;
      }
    }
    auto eps = s.endpoints.find(sp.port);
    std::vector<Labels> ep_labels;  // the endpoints' labels with the topology labels (failoverPriority)
    bool dns = s.origin == WorldService::Origin::kServiceEntry &&
               (s.resolution == ServiceEntryResolution::kDns || s.resolution == ServiceEntryResolution::kDnsRoundRobin);
    if (dns && c.type != DiscoveryType::kOriginalDst) {
      // cluster_builder.go: DNS resolution → STRICT_DNS (LOGICAL_DNS for
      // DNS_ROUND_ROBIN); Envoy resolves the endpoint names. Here they resolve
      // through the DNS outside the cluster (ResourceSet::external_dns); a
      // name it does not know leaves the cluster without hosts (503 UH).
      c.type = DiscoveryType::kStrictDns;
      if (eps != s.endpoints.end()) {
        ClusterLoadAssignment dcla;
        dcla.cluster_name = c.name;
        for (const Endpoint& e : eps->second) {
          std::vector<Ipv4> ips;
          if (e.has_ip) {
            ips.push_back(e.ip);
          } else if (auto r = w_.resources().external_dns.find(e.address); r != w_.resources().external_dns.end()) {
            for (const std::string& a : r->second)
              if (auto ip = parse_ipv4(a); ip.ok()) ips.push_back(*ip);
          }
          for (Ipv4 ip : ips) {
            LbEndpoint le;
            le.address = {ip, static_cast<uint16_t>(e.port)};
            le.healthy = e.ready;
            le.weight = e.weight;
            le.hostname = e.address;
            dcla.endpoints.push_back(std::move(le));
          }
        }
        c.description += "; STRICT_DNS: " +
                         (dcla.endpoints.empty() ? std::string("the name resolves to nothing (no hosts)")
                                                 : std::to_string(dcla.endpoints.size()) + " address(es) resolved");
        cfg_->endpoints.push_back(std::move(dcla));
      }
      cfg_->clusters.push_back(std::move(c));
      return;
    }
    if (eps != s.endpoints.end() && c.type != DiscoveryType::kOriginalDst) {
      for (const Endpoint& e : eps->second) {
        if (!e.has_ip) continue;
        if (sub && !labels_subset_of(sub->labels, e.labels)) continue;
        // Not-ready endpoints are not sent (endpoint_builder.go: unless the
        // service supports unhealthy endpoints, which it does not by default).
        if (!e.ready) continue;
        LbEndpoint le;
        le.address = {e.ip, static_cast<uint16_t>(e.port)};
        le.healthy = true;
        le.weight = e.weight;
        le.locality = {e.locality.region, e.locality.zone, e.locality.subzone};
        if (e.pod >= 0) le.hostname = w_.pods()[static_cast<size_t>(e.pod)].name;
        if (e.pod >= 0) le.metadata["workload"] = endpoint_telemetry_label(w_.pods()[static_cast<size_t>(e.pod)]);
        if (auto_mtls) {
          ClientTlsDecision d = client_tls_decision(w_, &pod_, s, subset, sp.port, e);
          if (d.mode == ClientTlsDecision::Mode::kIstioMutual) le.metadata["tlsMode"] = "istio";
        } else if (e.sidecar) {
          le.metadata["tlsMode"] = "istio";
        }
        cla.endpoints.push_back(std::move(le));
        ep_labels.push_back(with_topology_labels(e.labels, e.locality));
      }
    }
    apply_locality_lb(c, effective_locality_setting(tp, mc_), cla, ep_labels,
                      pod_.scheduled() ? w_.nodes()[static_cast<size_t>(pod_.node)].locality : Locality{}, pod_.labels);
    cfg_->endpoints.push_back(std::move(cla));
    cfg_->clusters.push_back(std::move(c));
  }

  UpstreamTlsContext istio_mutual(const WorldService& s, const ServicePortInfo& sp, const std::string& subset,
                                  const ClientTls* user) {
    UpstreamTlsContext u;
    u.istio_mode = "ISTIO_MUTUAL";
    u.certificate_secret = proxy::kSdsDefault;
    u.validation_secret = proxy::kSdsRootCa;
    u.sni = user && !user->sni.empty() ? user->sni : istio_mtls_sni(sp.port, subset, s.hostname);
    if (user && !user->subject_alt_names.empty()) {
      u.match_subject_alt_names = user->subject_alt_names;
    } else {
      for (const std::string& sa : s.service_accounts) u.match_subject_alt_names.push_back(spiffe(mc_, sa));
    }
    bool h2 = sp.protocol == Protocol::kHttp2 || sp.protocol == Protocol::kGrpc;
    u.alpn_protocols = h2 ? std::vector<std::string>{"istio-peer-exchange", "istio", "h2"}
                          : std::vector<std::string>{"istio-peer-exchange", "istio"};
    return u;
  }

  // ----------------------------------------------------------- telemetry --
  // Istio's standard metrics (telemetry.go buildHTTPTelemetryFilter /
  // buildTCPTelemetryFilter, networkfilter.go; docs/istio/telemetry.md §6,
  // §7.2): with a metrics provider active for the pod, istio.stats on every
  // HCM (already listed in http_filters) and before tcp_proxy on every TCP
  // chain that proxies somewhere, and the metadata exchange listener filter
  // first on inbound TCP chains; without one, no stats filter at all.
  void apply_telemetry() {
    MetricsTelemetry mt = metrics_telemetry(w_, pod_);
    cfg_->stats_histogram_buckets = stats_histogram_buckets(pod_);
    auto stats_config = [&](TrafficDirection d) {
      auto c = std::make_shared<IstioStatsConfig>();
      c->disable_host_header_fallback = d == TrafficDirection::kInbound;
      c->tcp_reporting_duration = mt.reporting_interval;
      return c;
    };
    auto inbound_cfg = stats_config(TrafficDirection::kInbound);
    auto outbound_cfg = stats_config(TrafficDirection::kOutbound);
    auto fix_chain = [&](FilterChain& fc, TrafficDirection d) {
      if (fc.filters.empty()) return;
      NetworkFilter& last = fc.filters.back();
      if (auto* h = std::get_if<HttpConnectionManager>(&last.config)) {
        auto& hf = h->http_filters;
        if (!mt.enabled) {
          hf.erase(std::remove_if(hf.begin(), hf.end(), [](const HttpFilter& f) { return f.name == "istio.stats"; }),
                   hf.end());
          return;
        }
        for (HttpFilter& f : hf)
          if (f.name == "istio.stats") f.stats = d == TrafficDirection::kInbound ? inbound_cfg : outbound_cfg;
        return;
      }
      const auto* tp = std::get_if<TcpProxy>(&last.config);
      if (!tp || tp->cluster == proxy::kBlackHoleCluster) return;
      if (mt.enabled) {
        fc.filters.insert(fc.filters.end() - 1,
                          {"istio.stats", NetworkIstioStats{d == TrafficDirection::kInbound ? inbound_cfg : outbound_cfg}});
      }
      if (d == TrafficDirection::kInbound) fc.filters.insert(fc.filters.begin(), {"istio.metadata_exchange", NetworkMetadataExchange{}});
    };
    for (Listener& l : cfg_->listeners) {
      if (l.direction == TrafficDirection::kUnspecified) continue;
      for (FilterChain& fc : l.filter_chains) fix_chain(fc, l.direction);
      if (l.default_filter_chain) fix_chain(*l.default_filter_chain, l.direction);
    }
  }

  // ------------------------------------------------------------- gateway --
  // A gateway proxy (`proxy router`): docs/model/ingress.md. Sources:
  // I:pilot/pkg/networking/core/gateway.go (listeners, filter chains, route
  // configs, the 404 vhost), I:pilot/pkg/model/gateway.go (mergeGateways,
  // resolvePorts, gatewayRDSRouteName), I:pilot/pkg/config/kube/ingress
  // (Kubernetes Ingress → Gateway + VirtualService).
 public:
  std::shared_ptr<ProxyConfig> build_gateway() {
    cfg_ = std::make_shared<ProxyConfig>();
    cfg_->node_id = "router~" + to_string(pod_.ip) + "~" + pod_.name + "." + pod_.namespace_ + "~" + pod_.namespace_ +
                    ".svc." + mc_.cluster_domain;
    cfg_->node = sidecar_node_metadata(w_, pod_);
    tracing_out_ = sidecar_tracing(w_, pod_, true).config;
    cfg_->version = o_.version;
    ingress_ = convert_ingresses(w_);
    gwapi_ = &gateway_api(w_);  // mesh/gateway_api.h, translated once per World
    // A gateway gets the clusters of every service visible to its namespace.
    for (const WorldService& s : w_.services()) {
      if (!export_visible(s.export_to, mc_.default_service_export_to, s.namespace_, pod_.namespace_)) continue;
      for (const ServicePortInfo& sp : s.ports)
        if (sp.protocol != Protocol::kUdp) add_clusters(s, sp);
    }
    build_gateway_listeners();
    build_static_listeners();
    build_special_clusters();
    apply_telemetry();
    return cfg_;
  }

 private:
  struct GatewayServerRef {
    const Gateway* gw = nullptr;
    const GatewayServer* server = nullptr;
    uint32_t port = 0;       // the port the gateway listens on (resolvePorts)
    std::string route_name;  // RDS name; "" for TCP / TLS passthrough servers
  };
  IngressConversion ingress_;  // Kubernetes Ingresses as Gateways + VirtualServices (mesh/gateway.h)
  // Gateway API resources as Gateways + VirtualServices (mesh/gateway_api.h),
  // the World's one translation; null when this build does not need it.
  const GatewayApiConversion* gwapi_ = nullptr;

  // A Gateway bound through Services (Gateway API): this pod is an endpoint
  // of one of them, in the Gateway's namespace (push_context.go, gateway-service).
  bool selects_pod(const Gateway& g) {
    if (g.gateway_services.empty()) return labels_subset_of(g.selector, pod_.labels);
    for (const WorldService* s : w_.services_of_pod(w_.pod_index(&pod_)))
      if (s->namespace_ == g.meta.namespace_ &&
          std::find(g.gateway_services.begin(), g.gateway_services.end(), s->hostname) != g.gateway_services.end())
        return true;
    return false;
  }

  static std::string gateway_key(const Gateway& g) { return g.meta.namespace_ + "/" + g.meta.name; }

  static bool tls_passthrough(const GatewayServer& s) {
    return s.tls && (s.tls->mode == ServerTlsMode::kPassthrough || s.tls->mode == ServerTlsMode::kAutoPassthrough);
  }

  // The Gateways whose selector matches this pod (any namespace: Istio's
  // default PILOT_SCOPE_GATEWAY_TO_NAMESPACE=false), oldest first.
  std::vector<const Gateway*> gateways_for_pod() {
    std::vector<const Gateway*> out;
    for (const Gateway& g : w_.resources().gateways)
      if (labels_subset_of(g.selector, pod_.labels)) out.push_back(&g);
    for (const Gateway& g : gwapi_->gateways)
      if (selects_pod(g)) out.push_back(&g);
    std::stable_sort(out.begin(), out.end(), [](const Gateway* a, const Gateway* b) { return created_before(*a, *b); });
    for (const Gateway& g : ingress_.gateways)
      if (labels_subset_of(g.selector, pod_.labels)) out.push_back(&g);
    return out;
  }

  // resolvePorts (legacy selector): the targetPort of the first Service port
  // of this pod numbered like the server port, else the number itself.
  // Gateways bound through Services (not legacy): only those Services' ports,
  // 0 when none is numbered so (no listener).
  uint32_t resolve_gateway_port(uint32_t number, const Gateway& g) {
    int32_t idx = w_.pod_index(&pod_);
    bool legacy = g.gateway_services.empty();
    if (idx < 0 || static_cast<size_t>(idx) >= w_.pods().size()) return legacy ? number : 0;
    std::vector<const WorldService*> svcs = w_.services_of_pod(idx);
    std::stable_sort(svcs.begin(), svcs.end(),
                     [](const WorldService* a, const WorldService* b) { return a->source_index < b->source_index; });
    for (const WorldService* s : svcs) {
      if (s->origin != WorldService::Origin::kKubernetes) continue;
      if (!legacy && std::find(g.gateway_services.begin(), g.gateway_services.end(), s->hostname) == g.gateway_services.end())
        continue;
      for (const ServicePortInfo& sp : s->ports) {
        if (sp.port != number) continue;
        auto eps = s->endpoints.find(sp.port);
        if (eps == s->endpoints.end()) continue;
        for (const Endpoint& e : eps->second)
          if (e.pod == idx) return e.port;
      }
    }
    return legacy ? number : 0;
  }

  // VirtualServicesForGateway: bound by `gateways` ("ns/name", or "name" in
  // the VirtualService's namespace), visible to the gateway's namespace.
  std::vector<const VirtualService*> virtual_services_for_gateway(const std::string& key) {
    std::vector<const VirtualService*> out;
    auto consider = [&](const VirtualService& vs) {
      if (!export_visible(vs.export_to, mc_.default_virtual_service_export_to, vs.meta.namespace_, pod_.namespace_)) return;
      for (const std::string& g : vs.gateways) {
        std::string full = g.find('/') == std::string::npos ? vs.meta.namespace_ + "/" + g : g;
        if (full == key) {
          out.push_back(&vs);
          return;
        }
      }
    };
    for (const VirtualService& vs : w_.virtual_services()) consider(vs);
    std::stable_sort(out.begin(), out.end(),
                     [](const VirtualService* a, const VirtualService* b) { return created_before(*a, *b); });
    for (const VirtualService& vs : gwapi_->virtual_services) consider(vs);
    for (const VirtualService& vs : ingress_.virtual_services) consider(vs);
    return out;
  }

  void build_gateway_listeners() {
    std::map<uint32_t, std::vector<GatewayServerRef>> by_port;
    for (const Gateway* g : gateways_for_pod()) {
      for (const GatewayServer& sv : g->servers) {
        GatewayServerRef ref;
        ref.gw = g;
        ref.server = &sv;
        ref.port = resolve_gateway_port(sv.port.number, *g);
        if (ref.port == 0) continue;
        Protocol p = parse_protocol(sv.port.protocol);
        std::string bind = sv.bind.empty() ? "" : "." + sv.bind;
        if (is_http_protocol(p)) ref.route_name = "http." + std::to_string(ref.port) + bind;
        else if (p == Protocol::kHttps && sv.tls && !tls_passthrough(sv))
          ref.route_name = "https." + std::to_string(sv.port.number) + "." + sv.port.name + "." + g->meta.name + "." +
                           g->meta.namespace_ + bind;
        auto& list = by_port[ref.port];
        if (!list.empty()) {
          // canMergeProtocols: HTTP with HTTP, HTTPS/TLS with HTTPS/TLS.
          Protocol cur = parse_protocol(list.front().server->port.protocol);
          bool tls_class = [](Protocol x) { return x == Protocol::kHttps || x == Protocol::kTls; }(cur) &&
                           (p == Protocol::kHttps || p == Protocol::kTls);
          if (!(is_http_protocol(cur) && is_http_protocol(p)) && !tls_class) continue;  // istiod rejects the server
        }
        list.push_back(std::move(ref));
      }
    }
    for (auto& [port, servers] : by_port) build_gateway_listener(port, servers);
  }

  NetworkFilter gateway_hcm(const std::string& rds, uint32_t port, const std::string& stat_prefix) {
    HttpConnectionManager h;
    h.stat_prefix = stat_prefix.empty() ? "outbound_0.0.0.0_" + std::to_string(port) : stat_prefix;
    h.route_config_name = rds;
    h.direction = TrafficDirection::kOutbound;
    h.server_name = "istio-envoy";
    h.forward_client_cert = HttpConnectionManager::ForwardClientCert::kSanitizeSet;
    h.accept_http_10 = o_.http10;
    h.http_filters = outbound_http_filters();
    h.tracing = tracing_out_;
    h.normalize_path = mc_.path_normalization != "NONE";
    h.merge_slashes = mc_.path_normalization == "MERGE_SLASHES" || mc_.path_normalization == "DECODE_AND_MERGE_SLASHES";
    return {kHcmName, h};
  }

  // regexp.QuoteMeta.
  static std::string regex_quote_meta(const std::string& s) {
    std::string out;
    for (char c : s) {
      if (std::string_view("\\.+*?()|[]{}^$").find(c) != std::string_view::npos) out += '\\';
      out += c;
    }
    return out;
  }


  // buildGatewayListenerTLSContext: credentialName → SDS kubernetes://<name>
  // (+ kubernetes://<name>-cacert for MUTUAL), file paths → file-cert/file-root,
  // ISTIO_MUTUAL → the workload certificate and the mesh root.
  static DownstreamTlsContext gateway_tls_context(const ServerTls& t) {
    DownstreamTlsContext c;
    c.alpn_protocols = {"h2", "http/1.1"};
    if (t.mode == ServerTlsMode::kIstioMutual) {
      c.certificate_secret = proxy::kSdsDefault;
      c.validation_secret = proxy::kSdsRootCa;
      c.require_client_certificate = true;
    } else {
      bool mutual = t.mode == ServerTlsMode::kMutual || t.mode == ServerTlsMode::kOptionalMutual;
      if (t.credential_name.find("://") != std::string::npos) {
        c.certificate_secret = t.credential_name;  // kubernetes-gateway://ns/name (Gateway API)
      } else if (!t.credential_name.empty()) {
        c.certificate_secret = "kubernetes://" + t.credential_name;
        c.validation_secret = mutual ? "kubernetes://" + t.credential_name + "-cacert" : "";
      } else {
        c.certificate_secret = "file-cert:" + t.server_certificate + "~" + t.private_key;
        c.validation_secret = mutual && !t.ca_certificates.empty() ? "file-root:" + t.ca_certificates : "";
      }
      c.require_client_certificate = t.mode == ServerTlsMode::kMutual;
    }
    if (t.min_protocol_version == "TLSV1_3") c.min_version = proxy::TlsVersion::kTls13;
    if (t.max_protocol_version == "TLSV1_2") c.max_version = proxy::TlsVersion::kTls12;
    return c;
  }

  static const char* tls_mode_word(ServerTlsMode m) {
    switch (m) {
      case ServerTlsMode::kPassthrough: return "PASSTHROUGH";
      case ServerTlsMode::kSimple: return "SIMPLE";
      case ServerTlsMode::kMutual: return "MUTUAL";
      case ServerTlsMode::kAutoPassthrough: return "AUTO_PASSTHROUGH";
      case ServerTlsMode::kIstioMutual: return "ISTIO_MUTUAL";
      case ServerTlsMode::kOptionalMutual: return "OPTIONAL_MUTUAL";
    }
    return "";
  }

  void build_gateway_listener(uint32_t port, const std::vector<GatewayServerRef>& servers) {
    Listener l;
    l.name = "0.0.0.0_" + std::to_string(port);
    l.address = {Ipv4::any(), static_cast<uint16_t>(port)};
    l.direction = TrafficDirection::kOutbound;
    l.bind_to_port = true;
    l.continue_on_listener_filters_timeout = true;
    Protocol first = parse_protocol(servers.front().server->port.protocol);
    if (is_http_protocol(first)) {
      // Plaintext HTTP servers of every Gateway on this port share one chain and route config.
      FilterChain fc;
      fc.filters.push_back(gateway_hcm(servers.front().route_name, port, ""));
      std::string names;
      for (const auto& r : servers) names += (names.empty() ? "" : ", ") + gateway_key(*r.gw);
      fc.description = "HTTP server(s) of Gateway " + names + " (port " + std::to_string(servers.front().server->port.number) +
                       " listens on " + std::to_string(port) + ")";
      l.filter_chains.push_back(std::move(fc));
      build_gateway_route(servers.front().route_name, servers);
    } else {
      bool tls_inspector = false;
      for (const GatewayServerRef& ref : servers) {
        const GatewayServer& sv = *ref.server;
        Protocol p = parse_protocol(sv.port.protocol);
        std::vector<std::string> sni = server_sni_hosts(sv);
        std::string who = "Gateway " + gateway_key(*ref.gw) + " server " +
                          (sv.name.empty() ? sv.port.name : sv.name) + " (" + sv.port.protocol +
                          (sv.tls ? std::string(" ") + tls_mode_word(sv.tls->mode) : std::string()) + ")";
        if (p == Protocol::kHttps && sv.tls && !tls_passthrough(sv)) {
          FilterChain fc;
          fc.match.server_names = sni;
          fc.tls = gateway_tls_context(*sv.tls);
          fc.filters.push_back(gateway_hcm(ref.route_name, port, sv.name));
          fc.description = who + ", terminates TLS";
          l.filter_chains.push_back(std::move(fc));
          build_gateway_route(ref.route_name, {ref});
          tls_inspector = true;
          continue;
        }
        if (sv.tls && sv.tls->mode == ServerTlsMode::kAutoPassthrough) continue;  // not simulated (coverage report)
        for (FilterChain& fc : gateway_tcp_chains(ref, sni, who)) {
          tls_inspector |= sv.tls.has_value();
          l.filter_chains.push_back(std::move(fc));
        }
      }
      if (tls_inspector) l.listener_filters.push_back({proxy::kTlsInspectorFilter, {}});
    }
    if (l.filter_chains.empty()) return;  // istiod drops a listener without chains
    cfg_->listeners.push_back(std::move(l));
  }

  // TCP servers, TLS servers terminating TLS, and PASSTHROUGH servers: the
  // chains of the bound VirtualServices' tcp / tls routes
  // (buildGatewayNetworkFiltersFromTCPRoutes / ...FromTLSRoutes).
  std::vector<FilterChain> gateway_tcp_chains(const GatewayServerRef& ref, const std::vector<std::string>& sni,
                                              const std::string& who) {
    std::vector<FilterChain> out;
    const GatewayServer& sv = *ref.server;
    std::string key = gateway_key(*ref.gw);
    auto port_ok = [&](const std::optional<uint32_t>& mp) { return !mp || *mp == sv.port.number; };
    for (const VirtualService* vs : virtual_services_for_gateway(key)) {
      std::vector<std::string> vs_hosts;
      for (const auto& h : vs->hosts) vs_hosts.push_back(w_.config_host_to_fqdn(h, vs->meta.namespace_));
      std::vector<std::string> hosts = server_hosts_for(sv, ref.gw->meta.namespace_, vs->meta.namespace_);
      if (intersect_hosts(hosts, vs_hosts).empty()) continue;
      if (tls_passthrough(sv)) {
        for (const TlsRoute& tr : vs->tls) {
          for (const TlsMatchAttributes& m : tr.match) {
            if (!port_ok(m.port) || !match_applies_at(m.gateways, vs->meta.namespace_, key)) continue;
            std::vector<std::string> names = intersect_hosts(m.sni_hosts, hosts);
            if (names.empty()) continue;
            FilterChain fc;
            if (std::find(names.begin(), names.end(), "*") == names.end()) fc.match.server_names = names;
            fc.filters.push_back(tcp_route_filter(tr.route, sv.port.number, vs->meta.namespace_, ""));
            fc.description = who + ": VirtualService " + vs->meta.namespace_ + "/" + vs->meta.name + " tls route (SNI)";
            out.push_back(std::move(fc));
          }
        }
        continue;
      }
      for (const TcpRoute& tr : vs->tcp) {
        bool applies = tr.match.empty();
        for (const auto& m : tr.match) applies |= port_ok(m.port) && match_applies_at(m.gateways, vs->meta.namespace_, key);
        if (!applies) continue;
        FilterChain fc;
        fc.match.server_names = sv.tls ? sni : std::vector<std::string>{};
        if (sv.tls) fc.tls = gateway_tls_context(*sv.tls);
        fc.filters.push_back(tcp_route_filter(tr.route, sv.port.number, vs->meta.namespace_, ""));
        fc.description = who + ": VirtualService " + vs->meta.namespace_ + "/" + vs->meta.name + " tcp route";
        out.push_back(std::move(fc));
        return out;  // the first matching tcp route wins
      }
    }
    return out;
  }

  // buildGatewayHTTPRouteConfig: one virtual host per host in both a
  // server's hosts and a bound VirtualService's hosts, the routes of every
  // such VirtualService (oldest first, catch-alls last); httpsRedirect →
  // require_tls ALL; nothing bound → vhost blackhole:<port> with no routes (404).
  void build_gateway_route(const std::string& name, const std::vector<GatewayServerRef>& servers) {
    for (const auto& existing : cfg_->routes)
      if (existing->name == name) return;
    std::map<std::string, VirtualHost> vhosts;
    for (const GatewayServerRef& ref : servers) {
      const GatewayServer& sv = *ref.server;
      uint32_t port = sv.port.number;
      std::string key = gateway_key(*ref.gw);
      bool redirect = sv.tls && sv.tls->https_redirect;
      for (const VirtualService* vs : virtual_services_for_gateway(key)) {
        std::vector<std::string> vs_hosts;
        for (const auto& h : vs->hosts) vs_hosts.push_back(w_.config_host_to_fqdn(h, vs->meta.namespace_));
        std::vector<std::string> hosts =
            intersect_hosts(server_hosts_for(sv, ref.gw->meta.namespace_, vs->meta.namespace_), vs_hosts);
        if (hosts.empty()) continue;
        std::vector<Route> routes = vs_http_routes(*vs, port, key);
        apply_route_semantics(*vs, routes);
        for (std::string h : hosts) {
          std::transform(h.begin(), h.end(), h.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
          auto it = vhosts.find(h);
          if (it == vhosts.end()) {
            VirtualHost vh;
            vh.name = h + ":" + std::to_string(port);
            vh.domains = {h};
            vh.include_request_attempt_count = true;
            it = vhosts.emplace(h, std::move(vh)).first;
          }
          it->second.routes.insert(it->second.routes.end(), routes.begin(), routes.end());
          if (redirect) it->second.require_tls = true;
        }
      }
      if (redirect) {
        for (const std::string& raw : sv.hosts) {
          std::string h = raw.find('/') == std::string::npos ? raw : raw.substr(raw.find('/') + 1);
          std::transform(h.begin(), h.end(), h.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
          auto it = vhosts.find(h);
          if (it != vhosts.end()) {
            it->second.require_tls = true;
            continue;
          }
          VirtualHost vh;
          vh.name = h + ":" + std::to_string(port);
          vh.domains = {h};
          vh.include_request_attempt_count = true;
          vh.require_tls = true;
          vhosts.emplace(h, std::move(vh));
        }
      }
    }
    auto rc = std::make_shared<RouteConfiguration>();
    rc->name = name;
    rc->ignore_port_in_host_matching = true;
    if (vhosts.empty()) {
      VirtualHost vh;
      vh.name = "blackhole:" + std::to_string(servers.front().server->port.number);
      vh.domains = {"*"};
      rc->virtual_hosts.push_back(std::move(vh));
    } else {
      for (auto& [h, vh] : vhosts) {
        // SortVHostRoutes: catch-all routes move to the end.
        std::stable_partition(vh.routes.begin(), vh.routes.end(), [](const Route& r) {
          bool catch_all = (r.match.kind == proxy::RouteMatch::Kind::kPrefix && r.match.value == "/") &&
                           r.match.headers.empty() && r.match.query_parameters.empty();
          return !catch_all;
        });
        rc->virtual_hosts.push_back(std::move(vh));
      }
      std::sort(rc->virtual_hosts.begin(), rc->virtual_hosts.end(),
                [](const VirtualHost& a, const VirtualHost& b) { return a.name < b.name; });
    }
    cfg_->routes.push_back(rc);
  }

  // ------------------------------------------------------- the rest ------
  void build_virtual_outbound() {
    Listener l;
    l.name = "virtualOutbound";
    l.address = {Ipv4::any(), static_cast<uint16_t>(mc_.proxy_listen_port)};
    l.direction = TrafficDirection::kOutbound;
    l.use_original_dst = true;
    FilterChain bh;
    bh.name = "virtualOutbound-blackhole";
    bh.match.destination_port = static_cast<uint16_t>(mc_.proxy_listen_port);
    bh.filters.push_back(tcp_proxy_filter(proxy::kBlackHoleCluster, proxy::kBlackHoleCluster));
    bh.description = "loop prevention: traffic addressed to 15001 itself";
    FilterChain all;
    all.name = "virtualOutbound-catchall-tcp";
    bool ro = registry_only_mode();
    const char* c = ro ? proxy::kBlackHoleCluster : proxy::kPassthroughCluster;
    all.filters.push_back(tcp_proxy_filter(c, c));
    all.description = ro ? "REGISTRY_ONLY: destinations outside the registry are dropped"
                         : "ALLOW_ANY: destinations outside the registry pass through";
    l.filter_chains = {bh, all};
    cfg_->listeners.push_back(std::move(l));
  }

  void build_static_listeners() {
    // Bootstrap listeners of every sidecar: readiness (15021) and Prometheus (15090).
    auto direct = [&](uint16_t port, const std::string& name, const std::string& path, const std::string& body) {
      Listener l;
      l.name = name;
      l.address = {Ipv4::any(), port};
      auto rc = std::make_shared<RouteConfiguration>();
      rc->name = name;
      VirtualHost vh;
      vh.name = "backend";
      vh.domains = {"*"};
      Route r;
      r.match.kind = proxy::RouteMatch::Kind::kPrefix;
      r.match.value = path;
      r.action = proxy::DirectResponse{200, body};
      vh.routes.push_back(r);
      rc->virtual_hosts.push_back(vh);
      HttpConnectionManager h;
      h.stat_prefix = name;
      h.route_config = rc;
      h.server_name = "envoy";
      h.http_filters = {{"envoy.filters.http.router"}};
      FilterChain fc;
      fc.filters.push_back({kHcmName, h});
      l.filter_chains.push_back(fc);
      cfg_->listeners.push_back(std::move(l));
    };
    direct(15021, "0.0.0.0_15021", "/healthz/ready", "");
    direct(15090, "0.0.0.0_15090", "/stats/prometheus", "");
  }

  void build_special_clusters() {
    Cluster bh;
    bh.name = proxy::kBlackHoleCluster;
    bh.type = DiscoveryType::kStatic;
    bh.lb_policy = LbPolicy::kRoundRobin;
    bh.connect_timeout = mc_.connect_timeout;
    Cluster pass;
    pass.name = proxy::kPassthroughCluster;
    pass.type = DiscoveryType::kOriginalDst;
    pass.lb_policy = LbPolicy::kClusterProvided;
    pass.connect_timeout = mc_.connect_timeout;
    pass.idle_timeout = Duration::minutes(5);
    Cluster in = pass;
    in.name = proxy::kInboundPassthroughCluster;
    in.description = "inbound passthrough to the original destination, source 127.0.0.6";
    in.upstream_bind = Ipv4::of(127, 0, 0, 6);
    cfg_->clusters.push_back(bh);
    cfg_->clusters.push_back(in);
    cfg_->clusters.push_back(pass);
  }

  const World& w_;
  const MeshConfig& mc_;
  const WorldPod& pod_;
  const ControlPlaneOptions& o_;
  std::shared_ptr<ProxyConfig> cfg_;
  std::shared_ptr<const proxy::TracingConfig> tracing_out_, tracing_in_;  // mesh/tracing.h, per side
  AuthzFilters authz_;  // the RBAC filters of every inbound chain
  std::optional<HttpFilter> jwt_;  // jwt_authn of every inbound HTTP chain
};

}  // namespace

std::shared_ptr<proxy::ProxyConfig> build_sidecar_config(const World& w, const WorldPod& pod,
                                                         const ControlPlaneOptions& options) {
  if (is_gateway_pod(pod)) return Builder(w, pod, options).build_gateway();
  return Builder(w, pod, options).build();
}

}  // namespace meshsim::mesh
