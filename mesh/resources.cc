#include "mesh/resources.h"

#include <algorithm>
#include <charconv>

namespace meshsim::mesh {

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::kNamespace: return "Namespace";
    case Kind::kNode: return "Node";
    case Kind::kService: return "Service";
    case Kind::kServiceAccount: return "ServiceAccount";
    case Kind::kPod: return "Pod";
    case Kind::kDeployment: return "Deployment";
    case Kind::kStatefulSet: return "StatefulSet";
    case Kind::kDaemonSet: return "DaemonSet";
    case Kind::kReplicaSet: return "ReplicaSet";
    case Kind::kIngress: return "Ingress";
    case Kind::kIngressClass: return "IngressClass";
    case Kind::kConfigMap: return "ConfigMap";
    case Kind::kPeerAuthentication: return "PeerAuthentication";
    case Kind::kDestinationRule: return "DestinationRule";
    case Kind::kVirtualService: return "VirtualService";
    case Kind::kAuthorizationPolicy: return "AuthorizationPolicy";
    case Kind::kRequestAuthentication: return "RequestAuthentication";
    case Kind::kGateway: return "Gateway";
    case Kind::kServiceEntry: return "ServiceEntry";
    case Kind::kSidecar: return "Sidecar";
    case Kind::kWorkloadEntry: return "WorkloadEntry";
    case Kind::kTelemetry: return "Telemetry";
    case Kind::kIstioOperator: return "IstioOperator";
    case Kind::kGatewayClass: return "GatewayClass";
    case Kind::kK8sGateway: return "Gateway";
    case Kind::kHttpRoute: return "HTTPRoute";
    case Kind::kGrpcRoute: return "GRPCRoute";
    case Kind::kTlsRoute: return "TLSRoute";
    case Kind::kTcpRoute: return "TCPRoute";
    case Kind::kReferenceGrant: return "ReferenceGrant";
  }
  return "?";
}

const char* mtls_mode_name(MtlsMode m) {
  switch (m) {
    case MtlsMode::kUnset: return "UNSET";
    case MtlsMode::kDisable: return "DISABLE";
    case MtlsMode::kPermissive: return "PERMISSIVE";
    case MtlsMode::kStrict: return "STRICT";
  }
  return "?";
}

const char* client_tls_mode_name(ClientTlsMode m) {
  switch (m) {
    case ClientTlsMode::kDisable: return "DISABLE";
    case ClientTlsMode::kSimple: return "SIMPLE";
    case ClientTlsMode::kMutual: return "MUTUAL";
    case ClientTlsMode::kIstioMutual: return "ISTIO_MUTUAL";
  }
  return "?";
}

const char* authz_action_name(AuthzAction a) {
  switch (a) {
    case AuthzAction::kAllow: return "ALLOW";
    case AuthzAction::kDeny: return "DENY";
    case AuthzAction::kAudit: return "AUDIT";
    case AuthzAction::kCustom: return "CUSTOM";
  }
  return "?";
}

const char* simple_lb_name(SimpleLb lb) {
  switch (lb) {
    case SimpleLb::kUnspecified: return "UNSPECIFIED";
    case SimpleLb::kLeastConn: return "LEAST_CONN";
    case SimpleLb::kRandom: return "RANDOM";
    case SimpleLb::kPassthrough: return "PASSTHROUGH";
    case SimpleLb::kRoundRobin: return "ROUND_ROBIN";
    case SimpleLb::kLeastRequest: return "LEAST_REQUEST";
  }
  return "?";
}

const char* resolution_name(ServiceEntryResolution r) {
  switch (r) {
    case ServiceEntryResolution::kNone: return "NONE";
    case ServiceEntryResolution::kStatic: return "STATIC";
    case ServiceEntryResolution::kDns: return "DNS";
    case ServiceEntryResolution::kDnsRoundRobin: return "DNS_ROUND_ROBIN";
  }
  return "?";
}

std::string Object::display() const {
  std::string s = kind_name(kind);
  s += ' ';
  if (!meta.namespace_.empty()) s += meta.namespace_ + "/";
  s += meta.name;
  return s;
}

bool labels_subset_of(const Labels& selector, const Labels& labels) {
  for (const auto& [k, v] : selector) {
    auto it = labels.find(k);
    if (it == labels.end() || it->second != v) return false;
  }
  return true;
}

bool LabelSelector::matches(const Labels& labels) const {
  if (!labels_subset_of(match_labels, labels)) return false;
  for (const auto& r : match_expressions) {
    auto it = labels.find(r.key);
    bool has = it != labels.end();
    bool in = has && std::find(r.values.begin(), r.values.end(), it->second) != r.values.end();
    switch (r.op) {
      case LabelRequirement::Op::kIn: if (!in) return false; break;
      case LabelRequirement::Op::kNotIn: if (in) return false; break;
      case LabelRequirement::Op::kExists: if (!has) return false; break;
      case LabelRequirement::Op::kDoesNotExist: if (has) return false; break;
      case LabelRequirement::Op::kGt:
      case LabelRequirement::Op::kLt: {
        if (!has || r.values.size() != 1) return false;
        long long a = 0, b = 0;
        auto [p1, e1] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), a);
        auto [p2, e2] = std::from_chars(r.values[0].data(), r.values[0].data() + r.values[0].size(), b);
        if (e1 != std::errc() || e2 != std::errc()) return false;
        if (r.op == LabelRequirement::Op::kGt ? !(a > b) : !(a < b)) return false;
        break;
      }
    }
  }
  return true;
}

bool HttpMatchRequest::matches_everything() const {
  return !uri && !scheme && !method && !authority && headers.empty() && query_params.empty() &&
         without_headers.empty() && !port && source_labels.empty() && gateways.empty() && source_namespace.empty();
}

size_t ResourceSet::object_count() const {
  return namespaces.size() + nodes.size() + services.size() + service_accounts.size() + pods.size() +
         workloads.size() + ingresses.size() + ingress_classes.size() + config_maps.size() +
         peer_authentications.size() + destination_rules.size() + virtual_services.size() +
         authorization_policies.size() + request_authentications.size() + gateways.size() + service_entries.size() +
         sidecars.size() + workload_entries.size() + telemetries.size() + istio_operators.size() + gateway_classes.size() + k8s_gateways.size() +
         gateway_routes.size() + reference_grants.size();
}

namespace {
template <typename T>
void append(std::vector<T>& to, std::vector<T>& from, uint64_t base) {
  for (auto& o : from) {
    o.source.load_order += base;
    to.push_back(std::move(o));
  }
  from.clear();
}
template <typename T>
bool erase(std::vector<T>& list, Kind kind, std::string_view ns, std::string_view name) {
  auto it = std::find_if(list.begin(), list.end(), [&](const T& o) {
    return o.kind == kind && o.meta.namespace_ == ns && o.meta.name == name;
  });
  if (it == list.end()) return false;
  list.erase(it);
  return true;
}
}  // namespace

const ResourceSet::SecretData* ResourceSet::find_secret(std::string_view ns, std::string_view name) const {
  const SecretData* found = nullptr;
  for (const auto& s : secret_data)
    if (s.namespace_ == ns && s.name == name) found = &s;  // the last definition wins, as kubectl apply
  return found;
}

void ResourceSet::merge(ResourceSet&& o) {
  uint64_t base = next_load_order;
  append(namespaces, o.namespaces, base);
  append(nodes, o.nodes, base);
  append(services, o.services, base);
  append(service_accounts, o.service_accounts, base);
  append(pods, o.pods, base);
  append(workloads, o.workloads, base);
  append(ingresses, o.ingresses, base);
  append(ingress_classes, o.ingress_classes, base);
  append(config_maps, o.config_maps, base);
  append(peer_authentications, o.peer_authentications, base);
  append(destination_rules, o.destination_rules, base);
  append(virtual_services, o.virtual_services, base);
  append(authorization_policies, o.authorization_policies, base);
  append(request_authentications, o.request_authentications, base);
  append(gateways, o.gateways, base);
  append(service_entries, o.service_entries, base);
  append(sidecars, o.sidecars, base);
  append(workload_entries, o.workload_entries, base);
  append(telemetries, o.telemetries, base);
  append(istio_operators, o.istio_operators, base);
  append(gateway_classes, o.gateway_classes, base);
  append(k8s_gateways, o.k8s_gateways, base);
  append(gateway_routes, o.gateway_routes, base);
  append(reference_grants, o.reference_grants, base);
  for (auto& u : o.unmodelled) unmodelled.push_back(std::move(u));
  for (auto& x : o.secrets) secrets.push_back(std::move(x));
  for (auto& x : o.secret_data) secret_data.push_back(std::move(x));
  for (auto& [k, v] : o.external_dns) external_dns[k] = std::move(v);
  next_load_order = base + o.next_load_order;
}

bool ResourceSet::remove(Kind kind, std::string_view ns, std::string_view name) {
  switch (kind) {
    case Kind::kNamespace: return erase(namespaces, kind, ns, name);
    case Kind::kNode: return erase(nodes, kind, ns, name);
    case Kind::kService: return erase(services, kind, ns, name);
    case Kind::kServiceAccount: return erase(service_accounts, kind, ns, name);
    case Kind::kPod: return erase(pods, kind, ns, name);
    case Kind::kDeployment:
    case Kind::kStatefulSet:
    case Kind::kDaemonSet:
    case Kind::kReplicaSet: return erase(workloads, kind, ns, name);
    case Kind::kIngress: return erase(ingresses, kind, ns, name);
    case Kind::kIngressClass: return erase(ingress_classes, kind, ns, name);
    case Kind::kConfigMap: return erase(config_maps, kind, ns, name);
    case Kind::kPeerAuthentication: return erase(peer_authentications, kind, ns, name);
    case Kind::kDestinationRule: return erase(destination_rules, kind, ns, name);
    case Kind::kVirtualService: return erase(virtual_services, kind, ns, name);
    case Kind::kAuthorizationPolicy: return erase(authorization_policies, kind, ns, name);
    case Kind::kRequestAuthentication: return erase(request_authentications, kind, ns, name);
    case Kind::kGateway: return erase(gateways, kind, ns, name);
    case Kind::kServiceEntry: return erase(service_entries, kind, ns, name);
    case Kind::kSidecar: return erase(sidecars, kind, ns, name);
    case Kind::kWorkloadEntry: return erase(workload_entries, kind, ns, name);
    case Kind::kTelemetry: return erase(telemetries, kind, ns, name);
    case Kind::kIstioOperator: return erase(istio_operators, kind, ns, name);
    case Kind::kGatewayClass: return erase(gateway_classes, kind, ns, name);
    case Kind::kK8sGateway: return erase(k8s_gateways, kind, ns, name);
    case Kind::kHttpRoute:
    case Kind::kGrpcRoute:
    case Kind::kTlsRoute:
    case Kind::kTcpRoute: return erase(gateway_routes, kind, ns, name);
    case Kind::kReferenceGrant: return erase(reference_grants, kind, ns, name);
  }
  return false;
}

Location locate(const Object& obj, std::string_view path) {
  if (!obj.source.doc) return obj.source.location;
  YamlNode n(obj.source.doc.get(), obj.source.root);
  YamlNode best = n;
  size_t pos = 0;
  while (pos < path.size() && n.valid()) {
    // Segment: name, then optional [index]s.
    size_t end = path.find_first_of(".[", pos);
    std::string_view key = path.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
    if (!key.empty()) {
      if (!n.is_map()) break;
      bool found = false;
      for (uint32_t i = 0; i < n.size(); ++i) {
        if (n.key(i).is_scalar() && n.key(i).scalar() == key) {
          best = n.key(i);  // point at the key, as the decoders do
          n = n.value(i);
          found = true;
          break;
        }
      }
      if (!found) break;
    }
    pos = end == std::string_view::npos ? path.size() : end;
    while (pos < path.size() && path[pos] == '[') {
      size_t close = path.find(']', pos);
      if (close == std::string_view::npos) return best.location();
      uint32_t idx = 0;
      std::from_chars(path.data() + pos + 1, path.data() + close, idx);
      if (!n.is_sequence() || idx >= n.size()) return best.location();
      n = n.item(idx);
      best = n;
      pos = close + 1;
    }
    if (pos < path.size() && path[pos] == '.') ++pos;
  }
  return best.location();
}

}  // namespace meshsim::mesh
