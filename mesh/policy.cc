#include "mesh/policy.h"

#include "mesh/export_to.h"
#include "mesh/gateway.h"

#include <algorithm>
#include <tuple>

namespace meshsim::mesh {

const char* policy_level_name(PolicyLevel l) {
  switch (l) {
    case PolicyLevel::kDefault: return "default";
    case PolicyLevel::kMesh: return "mesh";
    case PolicyLevel::kNamespace: return "namespace";
    case PolicyLevel::kWorkload: return "workload";
    case PolicyLevel::kPort: return "port";
  }
  return "?";
}

const char* service_mtls_mode_name(ServiceMtlsMode m) {
  switch (m) {
    case ServiceMtlsMode::kUnknown: return "UNKNOWN";
    case ServiceMtlsMode::kDisable: return "DISABLE";
    case ServiceMtlsMode::kPermissive: return "PERMISSIVE";
    case ServiceMtlsMode::kStrict: return "STRICT";
  }
  return "?";
}

const char* client_tls_mode_name(ClientTlsDecision::Mode m) {
  switch (m) {
    case ClientTlsDecision::Mode::kPlaintext: return "plaintext";
    case ClientTlsDecision::Mode::kIstioMutual: return "ISTIO_MUTUAL";
    case ClientTlsDecision::Mode::kSimpleTls: return "SIMPLE";
    case ClientTlsDecision::Mode::kMutualTls: return "MUTUAL";
  }
  return "?";
}

bool created_before(const Object& a, const Object& b) {
  // Objects without creationTimestamp are taken as created together, now
  // (one `kubectl apply`): after every timestamped object; ties by name, then namespace.
  constexpr int64_t kNow = INT64_MAX;
  int64_t ta = a.meta.creation_timestamp.value_or(kNow);
  int64_t tb = b.meta.creation_timestamp.value_or(kNow);
  return std::tie(ta, a.meta.name, a.meta.namespace_) < std::tie(tb, b.meta.name, b.meta.namespace_);
}

namespace {

std::string describe(const PeerAuthentication* pa, PolicyLevel level, MtlsMode mode) {
  if (!pa) return "no PeerAuthentication applies: PERMISSIVE by default";
  return "PeerAuthentication " + pa->meta.namespace_ + "/" + pa->meta.name + " (" + policy_level_name(level) +
         " level) sets " + mtls_mode_name(mode);
}

}  // namespace

PeerAuthenticationSelection select_peer_authentications(const World& w, std::string_view ns, const Labels& labels) {
  PeerAuthenticationSelection s;
  const std::string& root = w.mesh_config().root_namespace;
  auto pick = [&](const PeerAuthentication*& slot, const PeerAuthentication* pa) {
    if (!slot) {
      slot = pa;
    } else if (created_before(*pa, *slot)) {
      s.shadowed.push_back(slot);
      slot = pa;
    } else {
      s.shadowed.push_back(pa);
    }
  };
  for (const auto& pa : w.resources().peer_authentications) {
    const std::string& pns = pa.meta.namespace_;
    if (pns != ns && pns != root) continue;
    if (!pa.has_selector()) {
      if (pns == root) pick(s.mesh, &pa);
      else pick(s.namespace_, &pa);
    } else if (labels_subset_of(pa.selector->match_labels, labels)) {
      if (pns == root) s.ignored_root_selector.push_back(&pa);
      else pick(s.workload, &pa);
    }
  }
  return s;
}

MtlsDecision effective_peer_authentication(const World& w, std::string_view ns, const Labels& labels, uint32_t port) {
  PeerAuthenticationSelection s = select_peer_authentications(w, ns, labels);
  MtlsDecision d;
  d.mode = MtlsMode::kPermissive;
  d.level = PolicyLevel::kDefault;
  if (s.mesh && s.mesh->mode != MtlsMode::kUnset) d = {s.mesh->mode, PolicyLevel::kMesh, s.mesh, {}};
  if (s.namespace_ && s.namespace_->mode != MtlsMode::kUnset) d = {s.namespace_->mode, PolicyLevel::kNamespace, s.namespace_, {}};
  if (s.workload) {
    if (s.workload->mode != MtlsMode::kUnset) d = {s.workload->mode, PolicyLevel::kWorkload, s.workload, {}};
    auto it = s.workload->port_level_mtls.find(port);
    if (it != s.workload->port_level_mtls.end() && it->second != MtlsMode::kUnset)
      d = {it->second, PolicyLevel::kPort, s.workload, {}};
  }
  d.reason = describe(d.policy, d.level, d.mode);
  if (d.level == PolicyLevel::kPort) d.reason += " for port " + std::to_string(port);
  return d;
}

MtlsDecision effective_peer_authentication(const World& w, const WorldPod& pod, uint32_t port) {
  return effective_peer_authentication(w, pod.namespace_, pod.labels, port);
}

namespace {

// The (oldest) selector-less policy of a namespace, as addPeerAuthentication sees it.
const PeerAuthentication* namespace_level_policy(const World& w, std::string_view ns) {
  const PeerAuthentication* best = nullptr;
  for (const auto& pa : w.resources().peer_authentications)
    if (pa.meta.namespace_ == ns && !pa.has_selector() && (!best || created_before(pa, *best))) best = &pa;
  return best;
}

ServiceMtlsMode to_service_mode(MtlsMode m) {
  switch (m) {
    case MtlsMode::kDisable: return ServiceMtlsMode::kDisable;
    case MtlsMode::kStrict: return ServiceMtlsMode::kStrict;
    case MtlsMode::kPermissive: return ServiceMtlsMode::kPermissive;
    case MtlsMode::kUnset: return ServiceMtlsMode::kPermissive;
  }
  return ServiceMtlsMode::kUnknown;
}

}  // namespace

ServiceMtlsMode namespace_mtls_mode(const World& w, std::string_view ns) {
  const std::string& root = w.mesh_config().root_namespace;
  ServiceMtlsMode global = ServiceMtlsMode::kUnknown;
  if (const auto* mesh = namespace_level_policy(w, root)) global = to_service_mode(mesh->mode);  // UNSET => PERMISSIVE
  if (ns != root) {
    if (const auto* nsp = namespace_level_policy(w, ns)) {
      if (nsp->mode == MtlsMode::kUnset) return global == ServiceMtlsMode::kUnknown ? ServiceMtlsMode::kPermissive : global;
      return to_service_mode(nsp->mode);
    }
  }
  return global;
}

ServiceMtlsMode best_effort_infer_service_mtls_mode(const World& w, const TrafficPolicy* tp, const WorldService& svc,
                                                    uint32_t service_port) {
  if (svc.mesh_external) return ServiceMtlsMode::kUnknown;
  bool passthrough = svc.resolution == ServiceEntryResolution::kNone ||
                     (tp && tp->load_balancer && tp->load_balancer->simple == SimpleLb::kPassthrough);
  if (passthrough) {
    auto it = svc.endpoints.find(service_port);
    if (it == svc.endpoints.end() || it->second.empty()) return ServiceMtlsMode::kDisable;
    for (const auto& e : it->second)
      if (!e.sidecar) return ServiceMtlsMode::kDisable;
  }
  ServiceMtlsMode m = namespace_mtls_mode(w, svc.namespace_);
  return m == ServiceMtlsMode::kUnknown ? ServiceMtlsMode::kPermissive : m;
}

// ---- DestinationRule -------------------------------------------------------------------

bool host_matches(std::string_view config_host, std::string_view hostname) {
  if (config_host == "*") return true;
  if (config_host == hostname) return true;
  if (!config_host.empty() && config_host[0] == '*') {
    std::string_view suffix = config_host.substr(1);  // ".example.com" or "example.com" (for "*example.com")
    return hostname.size() >= suffix.size() && hostname.substr(hostname.size() - suffix.size()) == suffix;
  }
  return false;
}

namespace {

// Most specific match among the DRs of one namespace: an exact host beats a
// wildcard, a longer wildcard beats a shorter one; same host → oldest.
const DestinationRule* most_specific(const World& w, std::string_view ns, const std::string& hostname,
                                     std::string_view client_ns, bool require_export) {
  // Rules are consolidated per (namespace, host) by build_world, so hosts are unique here.
  const DestinationRule* best = nullptr;
  std::string best_host;
  for (const auto& c : w.destination_rules()) {
    const DestinationRule& dr = c.rule;
    if (dr.meta.namespace_ != ns) continue;
    if (require_export &&
        !export_visible(dr.export_to, w.mesh_config().default_destination_rule_export_to, dr.meta.namespace_, client_ns))
      continue;
    const std::string& h = c.host_fqdn;
    if (!host_matches(h, hostname)) continue;
    bool exact = h == hostname;
    bool best_exact = best && best_host == hostname;
    bool better = !best || (exact && !best_exact) || (!exact && !best_exact && h.size() > best_host.size());
    if (better) {
      best = &dr;
      best_host = h;
    }
  }
  return best;
}

}  // namespace

DestinationRuleChoice choose_destination_rule(const World& w, std::string_view client_ns, const WorldService& svc) {
  const std::string& root = w.mesh_config().root_namespace;
  if (const auto* dr = most_specific(w, client_ns, svc.hostname, client_ns, false))
    return {dr, std::string(client_ns == root ? "root namespace (client's own)" : "client namespace") + " " +
                    std::string(client_ns)};
  if (!svc.namespace_.empty() && svc.namespace_ != client_ns)
    if (const auto* dr = most_specific(w, svc.namespace_, svc.hostname, client_ns, true))
      return {dr, "service namespace " + svc.namespace_ + " (exported to " + std::string(client_ns) + ")"};
  if (root != client_ns && root != svc.namespace_)
    if (const auto* dr = most_specific(w, root, svc.hostname, client_ns, true))
      return {dr, "root namespace " + root + " (exported to " + std::string(client_ns) + ")"};
  return {nullptr, "no DestinationRule for " + svc.hostname + " is visible from namespace " + std::string(client_ns)};
}

namespace {

const PortTrafficPolicy* port_level(const TrafficPolicy& tp, uint32_t port) {
  for (const auto& p : tp.port_level_settings)
    if (p.port == port) return &p;
  return nullptr;
}

TrafficPolicy top_level_for_port(const TrafficPolicy& tp, uint32_t port) {
  TrafficPolicy out;
  out.load_balancer = tp.load_balancer;
  out.connection_pool = tp.connection_pool;
  out.outlier_detection = tp.outlier_detection;
  out.tls = tp.tls;
  out.proxy_protocol = tp.proxy_protocol;
  out.tunnel = tp.tunnel;
  if (const auto* p = port_level(tp, port)) {
    // Port-level settings replace all four components; unset ones fall back to defaults.
    out.load_balancer = p->load_balancer;
    out.connection_pool = p->connection_pool;
    out.outlier_detection = p->outlier_detection;
    out.tls = p->tls;
  }
  return out;
}

}  // namespace

std::optional<TrafficPolicy> merged_traffic_policy(const DestinationRule* dr, std::string_view subset, uint32_t port) {
  if (!dr) return std::nullopt;
  std::optional<TrafficPolicy> merged;
  if (dr->traffic_policy) merged = top_level_for_port(*dr->traffic_policy, port);
  if (subset.empty()) return merged;
  const Subset* ss = nullptr;
  for (const auto& s : dr->subsets)
    if (s.name == subset) ss = &s;
  if (!ss || !ss->traffic_policy) return merged;
  const TrafficPolicy& sp = *ss->traffic_policy;
  TrafficPolicy out = merged.value_or(TrafficPolicy{});
  if (sp.connection_pool) out.connection_pool = sp.connection_pool;
  if (sp.outlier_detection) out.outlier_detection = sp.outlier_detection;
  if (sp.load_balancer) out.load_balancer = sp.load_balancer;
  if (sp.tls) out.tls = sp.tls;
  if (sp.proxy_protocol) out.proxy_protocol = true;
  if (sp.tunnel) out.tunnel = true;
  if (const auto* p = port_level(sp, port)) {
    out.connection_pool = p->connection_pool;
    out.outlier_detection = p->outlier_detection;
    out.load_balancer = p->load_balancer;
    out.tls = p->tls;
  }
  out.port_level_settings.clear();
  return out;
}

std::optional<ClientTlsMode> endpoint_tls_mode_from_rule(const DestinationRule* dr, std::string_view subset,
                                                         uint32_t port) {
  if (!dr) return std::nullopt;
  auto for_policy = [&](const std::optional<TrafficPolicy>& tp) -> std::optional<ClientTlsMode> {
    if (!tp) return std::nullopt;
    std::optional<ClientTlsMode> mode;
    if (tp->tls) mode = tp->tls->mode;
    for (const auto& p : tp->port_level_settings)
      if (p.port == port && p.tls) {
        mode = p.tls->mode;
        break;
      }
    return mode;
  };
  if (subset.empty()) return for_policy(dr->traffic_policy);
  for (const auto& s : dr->subsets)
    if (s.name == subset) return for_policy(s.traffic_policy);
  return std::nullopt;
}

// ---- client TLS ------------------------------------------------------------------------------

ClientTlsDecision client_tls_decision(const World& w, const WorldPod* client, const WorldService& svc,
                                      std::string_view subset, uint32_t service_port, const Endpoint& ep) {
  ClientTlsDecision d;
  // A gateway proxy originates its upstream connections itself (no capture).
  bool gateway = client && is_gateway_pod(*client);
  if (!client || (!client->injected && !gateway)) {
    d.reason = client ? "client pod " + client->name + " has no sidecar: the app's own bytes go out (plaintext)"
                      : "client is outside the mesh (no sidecar): plaintext";
    return d;
  }
  Ipv4 dst = svc.has_vip && !svc.headless ? svc.vip : ep.ip;
  if (!gateway && !captures_outbound(client->interception, client->ip, dst, static_cast<uint16_t>(service_port))) {
    d.reason = "client pod " + client->name + " excludes " + to_string(dst) + ":" + std::to_string(service_port) +
               " from outbound capture: its sidecar is bypassed (plaintext)";
    return d;
  }
  DestinationRuleChoice choice = choose_destination_rule(w, client->namespace_, svc);
  d.rule = choice.rule;
  std::optional<TrafficPolicy> tp = merged_traffic_policy(choice.rule, subset, service_port);
  std::string dr_name = choice.rule ? "DestinationRule " + choice.rule->meta.namespace_ + "/" + choice.rule->meta.name : "";
  // (a) cluster layer — buildUpstreamTLSSettings
  if (tp && tp->tls) {
    d.user_supplied = true;
    switch (tp->tls->mode) {
      case ClientTlsMode::kDisable:
        d.mode = ClientTlsDecision::Mode::kPlaintext;
        d.reason = dr_name + " sets tls.mode DISABLE: plaintext";
        return d;
      case ClientTlsMode::kSimple:
        d.mode = ClientTlsDecision::Mode::kSimpleTls;
        d.reason = dr_name + " sets tls.mode SIMPLE: one-way TLS origination";
        return d;
      case ClientTlsMode::kMutual:
        d.mode = ClientTlsDecision::Mode::kMutualTls;
        d.reason = dr_name + " sets tls.mode MUTUAL: mTLS with user-supplied certificates";
        return d;
      case ClientTlsMode::kIstioMutual:
        d.mode = ClientTlsDecision::Mode::kIstioMutual;
        d.reason = dr_name + " sets tls.mode ISTIO_MUTUAL: Istio mTLS to every endpoint";
        return d;
    }
  }
  d.service_mode = best_effort_infer_service_mtls_mode(w, tp ? &*tp : nullptr, svc, service_port);
  if (svc.mesh_external || !w.mesh_config().enable_auto_mtls || d.service_mode == ServiceMtlsMode::kUnknown ||
      d.service_mode == ServiceMtlsMode::kDisable) {
    d.mode = ClientTlsDecision::Mode::kPlaintext;
    if (svc.mesh_external) d.reason = "service " + svc.hostname + " is MESH_EXTERNAL and no DestinationRule sets tls: plaintext";
    else if (!w.mesh_config().enable_auto_mtls) d.reason = "enableAutoMtls is false and no DestinationRule sets tls: plaintext";
    else if (svc.resolution == ServiceEntryResolution::kNone && d.service_mode == ServiceMtlsMode::kDisable)
      d.reason = "passthrough service " + svc.hostname + " has an endpoint without a sidecar: auto mTLS builds the cluster without TLS (plaintext)";
    else
      d.reason = "namespace/mesh PeerAuthentication of " + svc.namespace_ +
                 " is DISABLE: auto mTLS builds the cluster without TLS (plaintext), whatever the workload's own policy";
    return d;
  }
  d.auto_mtls_cluster = true;
  // (b) endpoint layer — mtlsChecker.checkMtlsEnabled
  if (auto mode = endpoint_tls_mode_from_rule(choice.rule, subset, service_port)) {
    bool mtls = *mode == ClientTlsMode::kIstioMutual;
    d.mode = mtls ? ClientTlsDecision::Mode::kIstioMutual : ClientTlsDecision::Mode::kPlaintext;
    d.reason = "auto mTLS: endpoint metadata follows " + dr_name + " tls.mode " + client_tls_mode_name(*mode) +
               (mtls ? " (mTLS)" : " (plaintext)");
    return d;
  }
  if (!ep.sidecar) {
    d.mode = ClientTlsDecision::Mode::kPlaintext;
    d.reason = "auto mTLS: endpoint " + ep.address + " has no sidecar (no security.istio.io/tlsMode=istio label): plaintext";
    return d;
  }
  Labels ep_labels = ep.labels;
  std::string ep_ns = svc.namespace_;
  if (ep.pod >= 0) ep_ns = w.pods()[static_cast<size_t>(ep.pod)].namespace_;
  MtlsDecision pa = effective_peer_authentication(w, ep_ns, ep_labels, ep.port);
  if (pa.mode == MtlsMode::kDisable) {
    d.mode = ClientTlsDecision::Mode::kPlaintext;
    d.reason = "auto mTLS: " + pa.reason + " for endpoint port " + std::to_string(ep.port) + ": plaintext";
    return d;
  }
  d.mode = ClientTlsDecision::Mode::kIstioMutual;
  d.reason = "auto mTLS: endpoint " + ep.address + " has a sidecar and its policy is " + mtls_mode_name(pa.mode) + ": mTLS";
  return d;
}

// ---- authorization ---------------------------------------------------------------------------

namespace {

template <typename T>
std::vector<const T*> select_for_workload(const World& w, const std::vector<T>& all, std::string_view ns,
                                          const Labels& labels) {
  const std::string& root = w.mesh_config().root_namespace;
  std::vector<const T*> out;
  for (const auto& p : all) {
    if (p.meta.namespace_ != ns && p.meta.namespace_ != root) continue;
    if (!p.target_refs.empty()) continue;
    if (p.selector && !labels_subset_of(p.selector->match_labels, labels)) continue;
    out.push_back(&p);
  }
  std::stable_sort(out.begin(), out.end(), [&](const T* a, const T* b) {
    bool ra = a->meta.namespace_ == root, rb = b->meta.namespace_ == root;
    if (ra != rb) return ra;
    return created_before(*a, *b);
  });
  return out;
}

}  // namespace

std::vector<const AuthorizationPolicy*> authorization_policies_for(const World& w, std::string_view ns,
                                                                   const Labels& labels) {
  return select_for_workload(w, w.resources().authorization_policies, ns, labels);
}

std::vector<const RequestAuthentication*> request_authentications_for(const World& w, std::string_view ns,
                                                                      const Labels& labels) {
  return select_for_workload(w, w.resources().request_authentications, ns, labels);
}

const SidecarResource* sidecar_for(const World& w, std::string_view ns, const Labels& labels) {
  const SidecarResource* with_selector = nullptr;
  const SidecarResource* ns_default = nullptr;
  const SidecarResource* root_default = nullptr;
  const std::string& root = w.mesh_config().root_namespace;
  for (const auto& s : w.resources().sidecars) {
    bool has_sel = s.workload_selector && !s.workload_selector->match_labels.empty();
    if (s.meta.namespace_ == ns) {
      if (has_sel) {
        if (labels_subset_of(s.workload_selector->match_labels, labels) && (!with_selector || created_before(s, *with_selector)))
          with_selector = &s;
      } else if (!ns_default || created_before(s, *ns_default)) {
        ns_default = &s;
      }
    } else if (s.meta.namespace_ == root && !has_sel && (!root_default || created_before(s, *root_default))) {
      root_default = &s;
    }
  }
  if (with_selector) return with_selector;
  if (ns_default) return ns_default;
  return root_default;
}

bool istio_processes_ingress(const World& w, const Ingress& ing) {
  const MeshConfig& mc = w.mesh_config();
  if (mc.ingress_controller_mode == "OFF") return false;
  auto it = ing.meta.annotations.find("kubernetes.io/ingress.class");
  if (it != ing.meta.annotations.end()) return it->second == mc.ingress_class;
  if (ing.ingress_class_name) {
    for (const auto& ic : w.resources().ingress_classes)
      if (ic.meta.name == *ing.ingress_class_name) return ic.controller == "istio.io/ingress-controller";
    return false;
  }
  return mc.ingress_controller_mode == "DEFAULT";
}

IngressPathMatch ingress_path_match(const IngressPath& p) {
  using T = IngressPathMatch::Type;
  if (p.path_type == "Exact") return {T::kExact, p.path};
  if (p.path_type == "Prefix") return {T::kPrefix, p.path};
  const std::string& s = p.path;
  if (s.empty() || s == "*" || s == "/*" || s == ".*") return {T::kAny, ""};
  if (s.size() >= 2 && (s.compare(s.size() - 2, 2, ".*") == 0 || s.compare(s.size() - 2, 2, "/*") == 0))
    return {T::kPrefix, s.substr(0, s.size() - 2)};
  return {T::kExact, s};
}

std::vector<std::string> http_only_fields(const AuthzRule& rule) {
  std::vector<std::string> out;
  for (const auto& f : rule.from) {
    if (!f.request_principals.empty()) out.push_back("from.source.requestPrincipals");
    if (!f.not_request_principals.empty()) out.push_back("from.source.notRequestPrincipals");
  }
  for (const auto& t : rule.to) {
    if (!t.hosts.empty()) out.push_back("to.operation.hosts");
    if (!t.not_hosts.empty()) out.push_back("to.operation.notHosts");
    if (!t.methods.empty()) out.push_back("to.operation.methods");
    if (!t.not_methods.empty()) out.push_back("to.operation.notMethods");
    if (!t.paths.empty()) out.push_back("to.operation.paths");
    if (!t.not_paths.empty()) out.push_back("to.operation.notPaths");
  }
  for (const auto& c : rule.when) {
    // request.headers[…] and request.auth.*; experimental.envoy.filters.* is
    // not HTTP-only (its generator ignores forTCP, I:pilot/pkg/security/authz/model/generator.go).
    if (c.key.rfind("request.", 0) == 0)
      out.push_back("when " + c.key);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace meshsim::mesh
