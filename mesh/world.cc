#include "mesh/world.h"

#include "mesh/gateway.h"
#include "mesh/gateway_api.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <set>

#include "mesh/decoder.h"
#include "proxy/base/hash.h"

namespace meshsim::mesh {

// ---- protocols ---------------------------------------------------------------------

const char* protocol_name(Protocol p) {
  switch (p) {
    case Protocol::kTcp: return "TCP";
    case Protocol::kUdp: return "UDP";
    case Protocol::kGrpc: return "GRPC";
    case Protocol::kGrpcWeb: return "GRPC-Web";
    case Protocol::kHttp: return "HTTP";
    case Protocol::kHttpProxy: return "HTTP_PROXY";
    case Protocol::kHttp2: return "HTTP2";
    case Protocol::kHttps: return "HTTPS";
    case Protocol::kTls: return "TLS";
    case Protocol::kMongo: return "Mongo";
    case Protocol::kRedis: return "Redis";
    case Protocol::kMysql: return "MySQL";
    case Protocol::kUnsupported: return "UnsupportedProtocol";
  }
  return "?";
}

bool is_http_protocol(Protocol p) {
  return p == Protocol::kHttp || p == Protocol::kHttp2 || p == Protocol::kHttpProxy || p == Protocol::kGrpc ||
         p == Protocol::kGrpcWeb;
}
bool is_tcp_protocol(Protocol p) {
  return p == Protocol::kTcp || p == Protocol::kHttps || p == Protocol::kTls || p == Protocol::kMongo ||
         p == Protocol::kRedis || p == Protocol::kMysql;
}

namespace {
std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}
}  // namespace

Protocol parse_protocol(std::string_view name) {
  std::string s = lower(name);
  if (s == "tcp") return Protocol::kTcp;
  if (s == "udp") return Protocol::kUdp;
  if (s == "grpc") return Protocol::kGrpc;
  if (s == "grpc-web") return Protocol::kGrpcWeb;
  if (s == "http") return Protocol::kHttp;
  if (s == "http_proxy") return Protocol::kHttpProxy;
  if (s == "http2") return Protocol::kHttp2;
  if (s == "https") return Protocol::kHttps;
  if (s == "tls") return Protocol::kTls;
  if (s == "mongo") return Protocol::kMongo;
  if (s == "redis") return Protocol::kRedis;
  if (s == "mysql") return Protocol::kMysql;
  return Protocol::kUnsupported;
}

ProtocolDecision resolve_port_protocol(uint32_t port, std::string_view name, std::string_view k8s_protocol,
                                       const std::optional<std::string>& app_protocol) {
  if (k8s_protocol == "UDP") return {Protocol::kUdp, "protocol UDP (not proxied)"};
  std::string n(name);
  std::string source = "port name";
  if (app_protocol) {
    n = *app_protocol;
    source = "appProtocol";
    if (n == "kubernetes.io/h2c") return {Protocol::kHttp2, "appProtocol \"kubernetes.io/h2c\""};
    if (n == "kubernetes.io/ws") return {Protocol::kHttp, "appProtocol \"kubernetes.io/ws\""};
    if (n == "kubernetes.io/wss") return {Protocol::kHttps, "appProtocol \"kubernetes.io/wss\""};
  }
  if (lower(n).rfind("grpc-web", 0) == 0) return {Protocol::kGrpcWeb, source + " \"" + n + "\""};
  std::string prefix = n.substr(0, n.find('-'));
  Protocol p = parse_protocol(prefix);
  if (p != Protocol::kUnsupported)
    return {p, source + (source == "appProtocol" ? " \"" + n + "\"" : " prefix \"" + prefix + "\"")};
  if (port == 25 || port == 53 || port == 3306 || port == 27017)
    return {Protocol::kTcp, "well-known server-first port " + std::to_string(port)};
  return {Protocol::kUnsupported, "auto-detect (" + source + (n.empty() ? " empty" : " \"" + n + "\" not recognised") + ")"};
}

bool is_server_first(uint32_t port, Protocol p) {
  return port == 25 || port == 3306 || port == 27017 || p == Protocol::kMysql || p == Protocol::kMongo;
}

// ---- injection ---------------------------------------------------------------------------

bool is_never_injected_namespace(std::string_view ns) {
  return ns == "kube-system" || ns == "kube-public" || ns == "kube-node-lease" || ns == "local-path-storage";
}

bool enable_namespaces_by_default(const ResourceSet& rs, std::string_view revision) {
  std::string name = revision.empty() ? "istio-sidecar-injector" : "istio-sidecar-injector-" + std::string(revision);
  for (const auto& cm : rs.config_maps) {
    if (cm.meta.name != name) continue;
    auto v = cm.data.find("values");
    if (v == cm.data.end()) return false;
    auto j = nlohmann::json::parse(v->second, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return false;
    auto w = j.find("sidecarInjectorWebhook");
    if (w == j.end() || !w->is_object()) return false;
    auto e = w->find("enableNamespacesByDefault");
    return e != w->end() && e->is_boolean() && e->get<bool>();
  }
  return false;
}

InjectionDecision decide_injection(std::string_view ns, const Labels& ns_labels, const Labels& pod_labels,
                                   const Labels& pod_annotations, bool host_network, bool enable_by_default) {
  auto get = [](const Labels& l, std::string_view k) -> const std::string* {
    auto it = l.find(k);
    return it == l.end() ? nullptr : &it->second;
  };
  if (is_never_injected_namespace(ns))
    return {false, "namespace " + std::string(ns) + " is never injected"};
  const std::string* ns_inj = get(ns_labels, "istio-injection");
  const std::string* ns_rev = get(ns_labels, "istio.io/rev");
  const std::string* pod_inj = get(pod_labels, "sidecar.istio.io/inject");
  const std::string* pod_rev = get(pod_labels, "istio.io/rev");
  bool pod_not_false = !pod_inj || *pod_inj != "false";
  std::string matched;
  // The four webhooks of a default install (manifests/charts/istio-control/
  // istio-discovery/templates/mutatingwebhook.yaml), revision webhooks assumed present.
  if (ns_inj && *ns_inj == "enabled" && pod_not_false) matched = "namespace label istio-injection=enabled";
  else if (!ns_inj && ns_rev && pod_not_false) matched = "namespace label istio.io/rev=" + *ns_rev;
  else if (!ns_inj && !ns_rev && pod_inj && *pod_inj == "true" && !pod_rev) matched = "pod label sidecar.istio.io/inject=true";
  else if (!ns_inj && !ns_rev && pod_rev && pod_not_false) matched = "pod label istio.io/rev=" + *pod_rev;
  // sidecarInjectorWebhook.enableNamespacesByDefault: the namespace webhook
  // selects every namespace without istio-injection / istio.io/rev.
  else if (enable_by_default && !ns_inj && !ns_rev && !pod_rev && pod_not_false)
    matched = "enableNamespacesByDefault (namespace " + std::string(ns) + " has no injection label)";
  if (matched.empty()) {
    if (ns_inj && *ns_inj != "enabled") return {false, "namespace label istio-injection=" + *ns_inj};
    if (pod_inj && *pod_inj == "false") return {false, "pod label sidecar.istio.io/inject=false"};
    if (pod_inj && *pod_inj == "true" && ns_inj)
      return {false, "pod label sidecar.istio.io/inject=true but namespace label istio-injection=" + *ns_inj};
    return {false, "namespace " + std::string(ns) + " has no istio-injection or istio.io/rev label"};
  }
  if (host_network) return {false, "hostNetwork pods are never injected"};
  const std::string* value = pod_inj ? pod_inj : get(pod_annotations, "sidecar.istio.io/inject");
  if (value && !value->empty()) {
    std::string v = lower(*value);
    if (v == "y" || v == "yes" || v == "true" || v == "on") {
      std::string also = std::string(pod_inj ? "pod label" : "annotation") + " sidecar.istio.io/inject=" + *value;
      return {true, matched == also ? matched : matched + ", " + also};
    }
    return {false, std::string(pod_inj ? "label" : "annotation") + " sidecar.istio.io/inject=" + *value};
  }
  return {true, matched};
}

namespace {

// Splits a comma-separated annotation/list value into trimmed, non-empty items.
std::vector<std::string> split_list(std::string_view text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    std::string item(text.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (!item.empty()) out.push_back(std::move(item));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

bool parse_port_list(std::string_view text, std::vector<uint16_t>& out, std::string* err) {
  for (const std::string& item : split_list(text)) {
    bool digits = item.size() <= 5 && std::all_of(item.begin(), item.end(), [](char c) { return c >= '0' && c <= '9'; });
    int v = digits ? std::stoi(item) : 0;
    if (!digits || v < 1 || v > 65535) {
      *err = "\"" + item + "\" is not a port in [1, 65535]";
      return false;
    }
    out.push_back(static_cast<uint16_t>(v));
  }
  return true;
}

bool parse_cidr_list(std::string_view text, std::vector<Cidr>& out, std::string* err) {
  for (const std::string& item : split_list(text)) {
    auto c = parse_cidr(item);
    if (!c.ok()) {
      *err = "\"" + item + "\" is not a valid IPv4 CIDR: " + c.message();
      return false;
    }
    out.push_back(*c);
  }
  return true;
}

}  // namespace

TrafficInterception parse_interception(const Labels& ann, uint32_t default_status_port,
                                       std::vector<std::pair<std::string, std::string>>* problems) {
  TrafficInterception t;
  std::string err;
  auto get = [&](const char* key) -> const std::string* {
    auto it = ann.find(key);
    return it == ann.end() ? nullptr : &it->second;
  };
  t.status_port = static_cast<uint16_t>(default_status_port);
  if (auto* v = get("status.sidecar.istio.io/port")) {
    std::vector<uint16_t> p;
    if (parse_port_list(*v, p, &err) && p.size() == 1) t.status_port = p[0];
    else if (*v == "0") t.status_port = 0;  // 0 disables the status port
    else problems->emplace_back("status.sidecar.istio.io/port", err.empty() ? "must be a single port" : err);
  }
  if (auto* v = get("traffic.sidecar.istio.io/includeInboundPorts")) {
    std::string s = *v;
    s.erase(0, s.find_first_not_of(' '));
    if (s == "*") t.inbound_all_ports = true;
    else {
      t.inbound_all_ports = false;
      err.clear();
      if (!parse_port_list(s, t.include_inbound_ports, &err)) problems->emplace_back("traffic.sidecar.istio.io/includeInboundPorts", err);
    }
  }
  t.exclude_inbound_ports = {15090, 15021};
  if (t.status_port != 0) t.exclude_inbound_ports.push_back(t.status_port);
  if (auto* v = get("traffic.sidecar.istio.io/excludeInboundPorts")) {
    err.clear();
    if (!parse_port_list(*v, t.exclude_inbound_ports, &err)) problems->emplace_back("traffic.sidecar.istio.io/excludeInboundPorts", err);
  }
  if (auto* v = get("traffic.sidecar.istio.io/includeOutboundIPRanges")) {
    std::string s = *v;
    s.erase(0, s.find_first_not_of(' '));
    if (s == "*") t.outbound_all_ips = true;
    else {
      t.outbound_all_ips = false;
      err.clear();
      if (!parse_cidr_list(s, t.include_outbound_ip_ranges, &err)) problems->emplace_back("traffic.sidecar.istio.io/includeOutboundIPRanges", err);
    }
  }
  if (auto* v = get("traffic.sidecar.istio.io/excludeOutboundIPRanges")) {
    err.clear();
    if (!parse_cidr_list(*v, t.exclude_outbound_ip_ranges, &err)) problems->emplace_back("traffic.sidecar.istio.io/excludeOutboundIPRanges", err);
  }
  if (auto* v = get("traffic.sidecar.istio.io/includeOutboundPorts")) {
    err.clear();
    if (!parse_port_list(*v, t.include_outbound_ports, &err)) problems->emplace_back("traffic.sidecar.istio.io/includeOutboundPorts", err);
  }
  if (auto* v = get("traffic.sidecar.istio.io/excludeOutboundPorts")) {
    err.clear();
    if (!parse_port_list(*v, t.exclude_outbound_ports, &err)) problems->emplace_back("traffic.sidecar.istio.io/excludeOutboundPorts", err);
  }
  auto dedupe = [](std::vector<uint16_t>& v) {
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
  };
  dedupe(t.exclude_inbound_ports);
  dedupe(t.include_inbound_ports);
  dedupe(t.include_outbound_ports);
  dedupe(t.exclude_outbound_ports);
  return t;
}

// ---- entities -------------------------------------------------------------------------

Locality Locality::parse(std::string_view loc) {
  Locality l;
  size_t a = loc.find('/');
  l.region = std::string(loc.substr(0, a));
  if (a != std::string_view::npos) {
    size_t b = loc.find('/', a + 1);
    l.zone = std::string(loc.substr(a + 1, b == std::string_view::npos ? std::string_view::npos : b - a - 1));
    if (b != std::string_view::npos) l.subzone = std::string(loc.substr(b + 1));
  }
  return l;
}

Location locate_annotation(const Object& obj, std::string_view prefix, std::string_view key) {
  std::string path = std::string(prefix) + ".annotations";
  Location base = locate(obj, path);
  if (!obj.source.doc) return base;
  YamlNode n(obj.source.doc.get(), obj.source.root);
  size_t pos = 0;
  while (pos < path.size() && n.valid()) {
    size_t dot = path.find('.', pos);
    n = n.get(std::string_view(path).substr(pos, dot == std::string::npos ? std::string::npos : dot - pos));
    pos = dot == std::string::npos ? path.size() : dot + 1;
  }
  if (n.is_map())
    for (uint32_t i = 0; i < n.size(); ++i)
      if (n.key(i).scalar() == key) return n.key(i).location();
  return base;
}

std::string Locality::str() const {
  std::string s = region;
  if (!zone.empty() || !subzone.empty()) s += "/" + zone;
  if (!subzone.empty()) s += "/" + subzone;
  return s;
}

std::string WorldPod::spiffe_id(const std::string& trust_domain) const {
  return "spiffe://" + trust_domain + "/ns/" + namespace_ + "/sa/" + service_account;
}

uint32_t WorldPod::named_port(std::string_view port_name) const {
  if (!spec) return 0;
  for (const auto& c : spec->containers)
    for (const auto& p : c.ports)
      if (p.name == port_name) return static_cast<uint32_t>(p.container_port);
  return 0;
}

bool WorldPod::declares_port(uint32_t port) const {
  if (!spec) return false;
  for (const auto& c : spec->containers)
    for (const auto& p : c.ports)
      if (static_cast<uint32_t>(p.container_port) == port) return true;
  return false;
}

const ServicePortInfo* WorldService::port(uint32_t number) const {
  for (const auto& p : ports)
    if (p.port == number) return &p;
  return nullptr;
}
const ServicePortInfo* WorldService::port_by_name(std::string_view n) const {
  for (const auto& p : ports)
    if (p.name == n) return &p;
  return nullptr;
}

const WorldNamespace* World::find_namespace(std::string_view name) const {
  for (const auto& n : namespaces_)
    if (n.name == name) return &n;
  return nullptr;
}
const WorldNode* World::find_node(std::string_view name) const {
  for (const auto& n : nodes_)
    if (n.name == name) return &n;
  return nullptr;
}
const WorldPod* World::find_pod(std::string_view ns, std::string_view name) const {
  std::string key(ns);
  key += '/';
  key += name;
  auto it = pod_index_.find(key);
  return it == pod_index_.end() ? nullptr : &pods_[static_cast<size_t>(it->second)];
}
const WorldPod* World::pod_by_ip(Ipv4 ip) const {
  auto it = pod_by_ip_.find(ip.value);
  return it == pod_by_ip_.end() ? nullptr : &pods_[static_cast<size_t>(it->second)];
}
std::vector<const WorldPod*> World::pods_of_workload(Kind kind, std::string_view ns, std::string_view name) const {
  std::vector<const WorldPod*> out;
  auto it = pods_by_namespace_.find(std::string(ns));
  if (it == pods_by_namespace_.end()) return out;
  for (int32_t i : it->second) {
    const auto& p = pods_[static_cast<size_t>(i)];
    if (p.owner_kind == kind && p.owner_name == name) out.push_back(&p);
  }
  return out;
}
std::vector<const WorldPod*> World::pods_matching(std::string_view ns, const Labels& selector) const {
  std::vector<const WorldPod*> out;
  auto it = pods_by_namespace_.find(std::string(ns));
  if (it == pods_by_namespace_.end()) return out;
  for (int32_t i : it->second)
    if (labels_subset_of(selector, pods_[static_cast<size_t>(i)].labels)) out.push_back(&pods_[static_cast<size_t>(i)]);
  return out;
}
const WorldService* World::service_by_hostname(std::string_view hostname) const {
  auto it = service_by_host_.find(std::string(hostname));
  return it == service_by_host_.end() ? nullptr : &services_[static_cast<size_t>(it->second)];
}
const WorldService* World::service_by_host(std::string_view host, std::string_view client_ns) const {
  std::string h(host);
  if (!h.empty() && h.back() == '.') h.pop_back();
  if (auto* s = service_by_hostname(h)) return s;
  const std::string& d = mesh_.cluster_domain;
  for (const std::string& candidate :
       {h + "." + std::string(client_ns) + ".svc." + d, h + ".svc." + d, h + "." + d}) {
    if (auto* s = service_by_hostname(candidate)) return s;
  }
  return nullptr;
}
const WorldService* World::service_by_vip(Ipv4 ip) const {
  auto it = service_by_vip_.find(ip.value);
  return it == service_by_vip_.end() ? nullptr : &services_[static_cast<size_t>(it->second)];
}
std::vector<const WorldService*> World::services_of_pod(int32_t pod_index) const {
  std::vector<const WorldService*> out;
  if (pod_index < 0 || static_cast<size_t>(pod_index) >= services_of_pod_.size()) return out;
  for (int32_t s : services_of_pod_[static_cast<size_t>(pod_index)]) out.push_back(&services_[static_cast<size_t>(s)]);
  return out;
}
std::string World::config_host_to_fqdn(std::string_view host, std::string_view ns) const {
  std::string h(host);
  if (h.empty() || h == "*" || detail::is_cidr_or_ip(h)) return h;
  if (h.find('.') == std::string::npos) return h + "." + std::string(ns) + ".svc." + mesh_.cluster_domain;
  return h;
}

// ---- building ---------------------------------------------------------------------------

namespace {

constexpr std::string_view kSafeAlphabet = "bcdfghjklmnpqrstvwxz2456789";

// Kubernetes' SafeEncodeString over the decimal form of a 32-bit hash
// (what pod-template-hash looks like: "7d4b8c9f6").
std::string template_hash_string(uint64_t h) {
  std::string dec = std::to_string(static_cast<uint32_t>(h ^ (h >> 32)));
  std::string out;
  for (char c : dec) out += kSafeAlphabet[static_cast<unsigned char>(c) % kSafeAlphabet.size()];
  return out;
}

std::string random_suffix(uint64_t seed) {
  std::string out;
  uint64_t z = mix64(seed);
  for (int i = 0; i < 5; ++i) {
    out += kSafeAlphabet[z % kSafeAlphabet.size()];
    z /= kSafeAlphabet.size();
  }
  return out;
}

}  // namespace

AmbientDecision decide_ambient(std::string_view ns, const Labels& ns_labels, const Labels& pod_labels, bool host_network,
                               bool injected) {
  auto get = [](const Labels& l, std::string_view k) -> const std::string* {
    auto it = l.find(k);
    return it == l.end() ? nullptr : &it->second;
  };
  const std::string* pod_mode = get(pod_labels, "istio.io/dataplane-mode");
  const std::string* ns_mode = get(ns_labels, "istio.io/dataplane-mode");
  std::string why;
  if (pod_mode && *pod_mode == "ambient") why = "pod label istio.io/dataplane-mode=ambient";
  else if (ns_mode && *ns_mode == "ambient" && !(pod_mode && *pod_mode == "none"))
    why = "namespace label istio.io/dataplane-mode=ambient";
  if (why.empty()) {
    if (ns_mode && *ns_mode == "ambient" && pod_mode && *pod_mode == "none")
      return {false, "pod label istio.io/dataplane-mode=none opts out of the namespace's ambient mode"};
    return {};
  }
  if (host_network) return {false, why + ", but hostNetwork pods cannot be captured"};
  if (injected) return {false, why + ", but the pod has a sidecar: istio-cni never enrols a pod with a sidecar"};
  if (ns == "kube-system") return {false, why + ", but istio-cni excludes namespace kube-system"};
  return {true, why};
}

std::string ztunnel_pod_name(std::string_view node) {
  return "ztunnel-" + random_suffix(hash_combine(fnv1a64("ztunnel"), fnv1a64(node)));
}

namespace {

struct PodDraft {
  WorldPod pod;
  const PodSpec* spec = nullptr;
  const Labels* node_selector = nullptr;
};

Endpoint pod_endpoint(const WorldPod& p, int32_t index, uint32_t port, const Locality& locality) {
  Endpoint e;
  e.pod = index;
  e.ip = p.ip;
  e.has_ip = true;
  e.address = to_string(p.ip);
  e.port = port;
  e.labels = p.labels;
  e.sidecar = p.injected;
  e.locality = locality;
  e.service_account = p.namespace_ + "/" + p.service_account;
  return e;
}

// An endpoint from a WorkloadEntry spec (a WorkloadEntry object or a
// ServiceEntry's inline endpoint): its `ports` map overrides `default_port`
// for the service port's name; tlsMode comes from its labels.
Endpoint entry_endpoint(const WorkloadEntrySpec& spec, const std::string& ns, const std::string& port_name,
                        uint32_t default_port, int32_t workload_entry_index) {
  Endpoint e;
  e.workload_entry = workload_entry_index;
  e.address = spec.address;
  auto ip = parse_ipv4(spec.address);
  e.has_ip = ip.ok();
  if (ip.ok()) e.ip = *ip;
  e.port = default_port;
  if (auto it = spec.ports.find(port_name); it != spec.ports.end()) e.port = it->second;
  e.labels = spec.labels;
  auto tm = spec.labels.find("security.istio.io/tlsMode");
  e.sidecar = tm != spec.labels.end() && tm->second == "istio";
  e.locality = Locality::parse(spec.locality);
  e.service_account = ns + "/" + (spec.service_account.empty() ? "default" : spec.service_account);
  e.weight = spec.weight ? spec.weight : 1;
  return e;
}

uint32_t default_target(const ServicePortInfo& port) {
  return port.target_port.is_set() && port.target_port.is_int ? static_cast<uint32_t>(port.target_port.int_value)
                                                              : port.port;
}

bool node_eligible(const WorldNode& n, const PodSpec& spec) {
  if (!labels_subset_of(spec.node_selector, n.labels)) return false;
  if (spec.required_node_affinity.empty()) return true;
  for (const auto& term : spec.required_node_affinity) {
    LabelSelector sel;
    sel.match_expressions = term.match_expressions;
    if (sel.matches(n.labels)) return true;
  }
  return false;
}

}  // namespace

World build_world_impl(std::shared_ptr<const ResourceSet> rsp, MeshConfig mc, std::vector<Diagnostic>& diags,
                       const World* previous) {
  World w;
  w.resources_ = rsp;
  w.mesh_ = std::move(mc);
  const ResourceSet& rs = *rsp;
  const MeshConfig& mesh = w.mesh_;
  auto diag = [&](Severity sev, const char* code, Location loc, std::string res, std::string path, std::string msg) {
    diags.push_back(Diagnostic{sev, code, loc, std::move(res), std::move(path), std::move(msg)});
  };

  // Namespaces: declared ones plus every namespace an object lives in.
  std::map<std::string, WorldNamespace> nss;
  for (const auto& n : rs.namespaces) nss[n.meta.name] = WorldNamespace{n.meta.name, n.meta.labels, true, n.source.location};
  auto touch = [&](const std::string& ns) {
    if (!ns.empty() && !nss.count(ns)) nss[ns] = WorldNamespace{ns, {}, false, {}};
  };
  touch("default");
  for (const auto& o : rs.services) touch(o.meta.namespace_);
  for (const auto& o : rs.pods) touch(o.meta.namespace_);
  for (const auto& o : rs.workloads) touch(o.meta.namespace_);
  for (auto& [name, ns] : nss) w.namespaces_.push_back(std::move(ns));
  // --inject-namespace: those namespaces are decided as if labelled
  // istio-injection=enabled (over whatever label their Namespace object has).
  std::map<std::string, Labels, std::less<>> forced_labels;
  for (const std::string& ns : mesh.inject_namespaces) {
    const WorldNamespace* n = w.find_namespace(ns);
    Labels l = n ? n->labels : Labels{};
    l["istio-injection"] = "enabled";
    forced_labels.emplace(ns, std::move(l));
  }
  auto ns_labels = [&](const std::string& ns) -> const Labels& {
    static const Labels kEmpty;
    if (auto f = forced_labels.find(ns); f != forced_labels.end()) return f->second;
    const WorldNamespace* n = w.find_namespace(ns);
    return n ? n->labels : kEmpty;
  };

  // Pod drafts, in deterministic order: workloads and pods sorted by (namespace, kind, name).
  std::vector<const Workload*> workloads;
  for (const auto& wl : rs.workloads) workloads.push_back(&wl);
  std::sort(workloads.begin(), workloads.end(), [](const Workload* a, const Workload* b) {
    return std::tie(a->meta.namespace_, a->meta.name, a->kind) < std::tie(b->meta.namespace_, b->meta.name, b->kind);
  });
  std::vector<const Pod*> bare;
  for (const auto& p : rs.pods) bare.push_back(&p);
  std::sort(bare.begin(), bare.end(), [](const Pod* a, const Pod* b) {
    return std::tie(a->meta.namespace_, a->meta.name) < std::tie(b->meta.namespace_, b->meta.name);
  });

  auto make_pod = [&](const Object& obj, const Labels& labels, const Labels& annotations, const PodSpec& spec,
                      Kind owner_kind, const std::string& owner, int ordinal, std::string name, Location src,
                      std::string prefix) {
    const ObjectMeta& meta_like = obj.meta;
    WorldPod p;
    p.object = &obj;
    p.name = std::move(name);
    p.namespace_ = meta_like.namespace_;
    p.labels = labels;
    p.annotations = annotations;
    p.owner_kind = owner_kind;
    p.owner_name = owner;
    p.ordinal = ordinal;
    p.service_account = spec.service_account_name.empty() ? "default" : spec.service_account_name;
    p.spec = &spec;
    p.host_network = spec.host_network;
    p.hostname = spec.hostname;
    p.subdomain = spec.subdomain;
    p.source = src;
    p.source_path_prefix = std::move(prefix);
    return p;
  };

  std::vector<WorldPod> drafts;
  std::vector<const Workload*> daemonsets;
  int64_t budget = kMaxWorldPods - static_cast<int64_t>(bare.size());
  for (const Workload* wl : workloads) {
    std::string tmpl_hash = template_hash_string(wl->tmpl.template_hash);
    int replicas = wl->replicas;
    if (wl->kind != Kind::kDaemonSet) {
      if (replicas > budget) {
        diag(Severity::kError, "MS0007", locate(*wl, "spec.replicas"), wl->display(), "spec.replicas",
             "meshsim simulates at most " + std::to_string(kMaxWorldPods) + " pods; only " +
                 std::to_string(std::max<int64_t>(budget, 0)) + " of the " + std::to_string(replicas) + " replicas are created");
        replicas = static_cast<int>(std::max<int64_t>(budget, 0));
      }
      budget -= replicas;
    }
    switch (wl->kind) {
      case Kind::kDeployment: {
        std::string rs_name = wl->meta.name + "-" + tmpl_hash;
        Labels labels = wl->tmpl.labels;
        labels["pod-template-hash"] = tmpl_hash;
        for (int i = 0; i < replicas; ++i)
          drafts.push_back(make_pod(*wl, labels, wl->tmpl.annotations, wl->tmpl.spec, wl->kind, wl->meta.name, i,
                                    rs_name + "-" + random_suffix(hash_combine(fnv1a64(rs_name), static_cast<uint64_t>(i))),
                                    wl->source.location, "spec.template.metadata"));
        break;
      }
      case Kind::kReplicaSet:
        for (int i = 0; i < replicas; ++i)
          drafts.push_back(make_pod(*wl, wl->tmpl.labels, wl->tmpl.annotations, wl->tmpl.spec, wl->kind,
                                    wl->meta.name, i,
                                    wl->meta.name + "-" + random_suffix(hash_combine(fnv1a64(wl->meta.name), static_cast<uint64_t>(i))),
                                    wl->source.location, "spec.template.metadata"));
        break;
      case Kind::kStatefulSet: {
        Labels labels = wl->tmpl.labels;
        for (int i = 0; i < replicas; ++i) {
          Labels l = labels;
          l["statefulset.kubernetes.io/pod-name"] = wl->meta.name + "-" + std::to_string(i);
          l["apps.kubernetes.io/pod-index"] = std::to_string(i);
          drafts.push_back(make_pod(*wl, l, wl->tmpl.annotations, wl->tmpl.spec, wl->kind, wl->meta.name, i,
                                    wl->meta.name + "-" + std::to_string(i), wl->source.location,
                                    "spec.template.metadata"));
          // The StatefulSet controller names each pod's host after it, in the governing service's domain.
          drafts.back().hostname = drafts.back().name;
          drafts.back().subdomain = wl->service_name;
        }
        break;
      }
      case Kind::kDaemonSet:
        daemonsets.push_back(wl);
        break;
      default:
        break;
    }
  }
  for (const Pod* p : bare)
    drafts.push_back(make_pod(*p, p->meta.labels, p->meta.annotations, p->spec, Kind::kPod, "", 0, p->meta.name,
                              p->source.location, "metadata"));

  // Nodes.
  std::vector<const Node*> node_objs;
  for (const auto& n : rs.nodes) node_objs.push_back(&n);
  std::sort(node_objs.begin(), node_objs.end(), [](const Node* a, const Node* b) { return a->meta.name < b->meta.name; });
  if (node_objs.size() > 256) {
    diag(Severity::kError, "MS0007", node_objs[256]->source.location, node_objs[256]->display(), "",
         "meshsim models at most 256 nodes; the nodes after the 256th (by name) are ignored");
    node_objs.resize(256);
  }
  auto get_label = [](const Labels& l, const char* k) {
    auto it = l.find(k);
    return it == l.end() ? std::string() : it->second;
  };
  for (size_t i = 0; i < node_objs.size(); ++i) {
    const Node& n = *node_objs[i];
    WorldNode wn;
    wn.name = n.meta.name;
    wn.labels = n.meta.labels;
    wn.labels["kubernetes.io/hostname"] = n.meta.name;
    wn.locality = Locality{get_label(n.meta.labels, "topology.kubernetes.io/region"),
                           get_label(n.meta.labels, "topology.kubernetes.io/zone"),
                           get_label(n.meta.labels, "topology.istio.io/subzone")};
    wn.ip = n.internal_ip ? *parse_ipv4(*n.internal_ip) : Ipv4{Ipv4::of(10, 240, 0, 0).value + static_cast<uint32_t>(i) + 1};
    wn.pod_cidr = n.pod_cidr ? *parse_cidr(*n.pod_cidr) : Cidr{Ipv4::of(10, 244, static_cast<uint8_t>(i), 0), 24};
    w.nodes_.push_back(std::move(wn));
  }
  if (w.nodes_.empty()) {
    size_t unpinned = drafts.size();
    int count = std::max<int>(kDefaultNodeCount, static_cast<int>((unpinned + kMaxPodsPerNode - 1) / kMaxPodsPerNode));
    count = std::min(count, 256);
    for (int i = 0; i < count; ++i) {
      WorldNode wn;
      wn.name = "node-" + std::to_string(i + 1);
      wn.locality = Locality{"region1", "zone1", ""};
      wn.labels = {{"kubernetes.io/hostname", wn.name},
                   {"topology.kubernetes.io/region", "region1"},
                   {"topology.kubernetes.io/zone", "zone1"}};
      wn.ip = Ipv4{Ipv4::of(10, 240, 0, 0).value + static_cast<uint32_t>(i) + 1};
      wn.pod_cidr = Cidr{Ipv4::of(10, 244, static_cast<uint8_t>(i), 0), 24};
      wn.synthesized = true;
      w.nodes_.push_back(std::move(wn));
    }
  }
  // DaemonSet pods: one per eligible node.
  for (const Workload* ds : daemonsets) {
    for (size_t ni = 0; ni < w.nodes_.size(); ++ni) {
      if (!node_eligible(w.nodes_[ni], ds->tmpl.spec)) continue;
      WorldPod p = make_pod(*ds, ds->tmpl.labels, ds->tmpl.annotations, ds->tmpl.spec, Kind::kDaemonSet,
                            ds->meta.name, static_cast<int>(ni),
                            ds->meta.name + "-" + random_suffix(hash_combine(fnv1a64(ds->meta.name), fnv1a64(w.nodes_[ni].name))),
                            ds->source.location, "spec.template.metadata");
      p.node = static_cast<int32_t>(ni);
      drafts.push_back(std::move(p));
    }
  }
  std::stable_sort(drafts.begin(), drafts.end(), [](const WorldPod& a, const WorldPod& b) {
    return std::tie(a.namespace_, a.name) < std::tie(b.namespace_, b.name);
  });

  // Placement and addresses. Sticky pods (present in `previous`) first.
  std::vector<int> load(w.nodes_.size(), 0);
  std::vector<std::set<uint32_t>> used_ips(w.nodes_.size());
  auto node_by_name = [&](const std::string& n) -> int32_t {
    for (size_t i = 0; i < w.nodes_.size(); ++i)
      if (w.nodes_[i].name == n) return static_cast<int32_t>(i);
    return -1;
  };
  std::vector<bool> placed(drafts.size(), false);
  if (previous) {
    for (size_t i = 0; i < drafts.size(); ++i) {
      WorldPod& p = drafts[i];
      const WorldPod* old = previous->find_pod(p.namespace_, p.name);
      if (!old || !old->scheduled()) continue;
      int32_t ni = node_by_name(previous->nodes()[static_cast<size_t>(old->node)].name);
      if (ni < 0 || (p.node >= 0 && p.node != ni) || !node_eligible(w.nodes_[static_cast<size_t>(ni)], *p.spec)) continue;
      if (!p.spec->node_name.empty() && p.spec->node_name != w.nodes_[static_cast<size_t>(ni)].name) continue;
      auto& n = w.nodes_[static_cast<size_t>(ni)];
      if (!p.host_network && (!n.pod_cidr.contains(old->ip) || used_ips[static_cast<size_t>(ni)].count(old->ip.value))) continue;
      p.node = ni;
      p.ip = p.host_network ? n.ip : old->ip;
      if (!p.host_network) used_ips[static_cast<size_t>(ni)].insert(old->ip.value);
      ++load[static_cast<size_t>(ni)];
      placed[i] = true;
    }
  }
  for (size_t i = 0; i < drafts.size(); ++i) {
    if (placed[i]) continue;
    WorldPod& p = drafts[i];
    int32_t chosen = p.node;  // DaemonSet pods are pinned already
    if (chosen < 0 && !p.spec->node_name.empty()) {
      chosen = node_by_name(p.spec->node_name);
      if (chosen < 0)
        diag(Severity::kWarning, "MS0007", p.source, std::string(kind_name(p.owner_kind)) + " " + p.namespace_ + "/" +
                                                         (p.owner_name.empty() ? p.name : p.owner_name),
             "spec.nodeName", "pod " + p.name + " names node \"" + p.spec->node_name + "\", which does not exist: it stays Pending");
    } else if (chosen < 0) {
      for (size_t ni = 0; ni < w.nodes_.size(); ++ni) {
        if (!node_eligible(w.nodes_[ni], *p.spec)) continue;
        if (chosen < 0 || load[ni] < load[static_cast<size_t>(chosen)]) chosen = static_cast<int32_t>(ni);
      }
      if (chosen < 0)
        diag(Severity::kWarning, "MS0007", p.source,
             std::string(kind_name(p.owner_kind)) + " " + p.namespace_ + "/" + (p.owner_name.empty() ? p.name : p.owner_name),
             "spec.nodeSelector", "no node matches the pod's nodeSelector/affinity: pod " + p.name + " stays Pending");
    }
    if (chosen < 0) continue;
    auto& n = w.nodes_[static_cast<size_t>(chosen)];
    p.node = chosen;
    ++load[static_cast<size_t>(chosen)];
    if (p.host_network) {
      p.ip = n.ip;
      continue;
    }
    uint32_t size = n.pod_cidr.prefix_len >= 31 ? 1u : (1u << (32 - n.pod_cidr.prefix_len));
    bool ok = false;
    for (uint32_t off = 2; off + 1 < size; ++off) {
      uint32_t ip = n.pod_cidr.base.value + off;
      if (used_ips[static_cast<size_t>(chosen)].insert(ip).second) {
        p.ip = Ipv4{ip};
        ok = true;
        break;
      }
    }
    if (!ok) {
      diag(Severity::kError, "MS0007", p.source, "Node " + n.name, "",
           "pod CIDR " + to_string(n.pod_cidr) + " of node " + n.name + " is exhausted; pod " + p.namespace_ + "/" + p.name +
               " gets no IP and stays Pending");
      p.node = -1;
      --load[static_cast<size_t>(chosen)];
    }
  }

  // Injection, interception, annotations.
  const bool inject_by_default = enable_namespaces_by_default(rs);
  for (auto& p : drafts) {
    auto dec = decide_injection(p.namespace_, ns_labels(p.namespace_), p.labels, p.annotations, p.host_network,
                                inject_by_default);
    p.injected = dec.injected;
    p.injection_reason = dec.reason;
    auto amb = decide_ambient(p.namespace_, ns_labels(p.namespace_), p.labels, p.host_network, p.injected);
    p.ambient = amb.ambient;
    p.ambient_reason = amb.reason;
    if (forced_labels.count(p.namespace_) && p.injection_reason == "namespace label istio-injection=enabled") {
      p.injection_reason = "namespace " + p.namespace_ + " treated as labelled istio-injection=enabled (--inject-namespace)";
    }
    std::string resource = std::string(kind_name(p.owner_kind)) + " " + p.namespace_ + "/" + (p.owner_name.empty() ? p.name : p.owner_name);
    if (p.injected) {
      p.labels["security.istio.io/tlsMode"] = "istio";
      auto app = p.labels.find("app");
      p.labels.emplace("service.istio.io/canonical-name", app != p.labels.end() ? app->second : (p.owner_name.empty() ? p.name : p.owner_name));
      auto ver = p.labels.find("version");
      p.labels.emplace("service.istio.io/canonical-revision", ver != p.labels.end() ? ver->second : "latest");
      std::vector<std::pair<std::string, std::string>> problems;
      p.interception = parse_interception(p.annotations, mesh.status_port, &problems);
      p.interception.proxy_uid = 1337;
      for (auto& [key, msg] : problems)
        diag(Severity::kError, "MS0002", locate_annotation(*p.object, p.source_path_prefix, key), resource,
             p.source_path_prefix + ".annotations." + key, "invalid annotation value: " + msg);
    }
    p.rewrite_app_http_probers = mesh.rewrite_app_http_probers;
    if (auto it = p.annotations.find("sidecar.istio.io/rewriteAppHTTPProbers"); it != p.annotations.end()) {
      std::string v = lower(it->second);
      if (v == "true") p.rewrite_app_http_probers = true;
      else if (v == "false") p.rewrite_app_http_probers = false;
      else
        diag(Severity::kError, "MS0002", locate_annotation(*p.object, p.source_path_prefix, "sidecar.istio.io/rewriteAppHTTPProbers"), resource, p.source_path_prefix + ".annotations.sidecar.istio.io/rewriteAppHTTPProbers",
             "invalid value \"" + it->second + "\" (valid: true, false)");
    }
    if (auto it = p.annotations.find("proxy.istio.io/config"); it != p.annotations.end()) {
      auto pd = parse_yaml_document(it->second, p.source.file ? p.source.file : intern_file("<annotation>"), p.source.line);
      for (auto& e : pd.errors) {
        e.resource = resource;
        e.path = p.source_path_prefix + ".annotations.proxy.istio.io/config";
        diags.push_back(std::move(e));
      }
      if (pd.doc) {
        YamlNode md = pd.doc->root().get("proxyMetadata");
        if (md.is_map())
          for (uint32_t i = 0; i < md.size(); ++i)
            if (md.key(i).is_scalar() && md.value(i).is_scalar()) p.proxy_metadata[std::string(md.key(i).scalar())] = std::string(md.value(i).scalar());
        if (auto ttl = p.proxy_metadata.find("SECRET_TTL"); ttl != p.proxy_metadata.end() && !parse_duration(ttl->second).ok())
          diag(Severity::kError, "MS0002", p.source, resource, p.source_path_prefix + ".annotations.proxy.istio.io/config",
               "proxyMetadata.SECRET_TTL: invalid duration \"" + ttl->second + "\"");
      }
    }
    if (auto it = p.annotations.find("meshsim.io/app"); it != p.annotations.end()) p.app_model = it->second;
  }
  w.pods_ = std::move(drafts);
  for (size_t i = 0; i < w.pods_.size(); ++i) {
    const auto& p = w.pods_[i];
    w.pod_index_[p.namespace_ + "/" + p.name] = static_cast<int32_t>(i);
    if (p.scheduled() && !p.host_network) w.pod_by_ip_[p.ip.value] = static_cast<int32_t>(i);
    w.pods_by_namespace_[p.namespace_].push_back(static_cast<int32_t>(i));
  }

  // Services.
  std::set<uint32_t> used_vips = {Ipv4::of(10, 96, 0, 1).value, Ipv4::of(10, 96, 0, 10).value};
  const Cidr service_cidr{Ipv4::of(10, 96, 0, 0), 12};
  std::vector<const Service*> svcs;
  for (const auto& s : rs.services) svcs.push_back(&s);
  std::sort(svcs.begin(), svcs.end(), [](const Service* a, const Service* b) {
    return std::tie(a->meta.namespace_, a->meta.name) < std::tie(b->meta.namespace_, b->meta.name);
  });
  // Explicit ClusterIPs first.
  for (const Service* s : svcs) {
    if (s->cluster_ip.empty() || s->cluster_ip == "None") continue;
    Ipv4 ip = *parse_ipv4(s->cluster_ip);
    if (!used_vips.insert(ip.value).second)
      diag(Severity::kError, "MS0007", locate(*s, "spec.clusterIP"), s->display(), "spec.clusterIP",
           "clusterIP " + s->cluster_ip + " is already allocated to another Service");
    if (!service_cidr.contains(ip))
      diag(Severity::kWarning, "MS0007", locate(*s, "spec.clusterIP"), s->display(), "spec.clusterIP",
           "clusterIP " + s->cluster_ip + " is outside the service range 10.96.0.0/12");
  }
  for (const Service* s : svcs) {
    WorldService ws;
    ws.origin = WorldService::Origin::kKubernetes;
    ws.name = s->meta.name;
    ws.namespace_ = s->meta.namespace_;
    ws.hostname = s->meta.name + "." + s->meta.namespace_ + ".svc." + mesh.cluster_domain;
    ws.selector = s->selector;
    ws.source_index = static_cast<int32_t>(s - rs.services.data());
    ws.location = s->source.location;
    ws.headless = s->cluster_ip == "None";
    ws.resolution = ws.headless ? ServiceEntryResolution::kNone : ServiceEntryResolution::kStatic;
    if (s->type == "ExternalName") {
      ws.mesh_external = true;
      ws.resolution = ServiceEntryResolution::kDns;
    }
    auto ea = s->meta.annotations.find("networking.istio.io/exportTo");
    if (ea != s->meta.annotations.end()) ws.export_to = split_list(ea->second);
    if (!ws.headless && s->type != "ExternalName") {
      if (!s->cluster_ip.empty()) {
        ws.vip = *parse_ipv4(s->cluster_ip);
      } else {
        const WorldService* old = previous ? previous->service_by_hostname(ws.hostname) : nullptr;
        if (old && old->has_vip && old->origin == WorldService::Origin::kKubernetes && !used_vips.count(old->vip.value)) {
          ws.vip = old->vip;
        } else {
          uint64_t h = fnv1a64(ws.namespace_ + "/" + ws.name);
          uint32_t span = (1u << 20) - 16;
          uint32_t off = static_cast<uint32_t>(h % span) + 11;
          while (used_vips.count(service_cidr.base.value + off)) off = off + 1 >= span + 11 ? 11 : off + 1;
          ws.vip = Ipv4{service_cidr.base.value + off};
        }
      }
      used_vips.insert(ws.vip.value);
      ws.has_vip = true;
    }
    const YamlNode ports_node = s->source.doc ? YamlNode(s->source.doc.get(), s->source.root).get("spec").get("ports") : YamlNode();
    for (size_t i = 0; i < s->ports.size(); ++i) {
      const auto& sp = s->ports[i];
      ServicePortInfo pi;
      pi.name = sp.name;
      pi.port = static_cast<uint32_t>(sp.port);
      pi.target_port = sp.target_port;
      pi.app_protocol = sp.app_protocol;
      pi.k8s_protocol = sp.protocol;
      auto dec = resolve_port_protocol(pi.port, sp.name, sp.protocol, sp.app_protocol);
      pi.protocol = dec.protocol;
      pi.protocol_reason = dec.reason;
      pi.location = ports_node.is_sequence() && i < ports_node.size() ? ports_node.item(static_cast<uint32_t>(i)).location()
                                                                       : s->source.location;
      ws.ports.push_back(std::move(pi));
    }
    // Endpoints: running pods of the namespace matching the selector.
    if (s->selector && !s->selector->empty()) {
      for (const WorldPod* p : w.pods_matching(ws.namespace_, *s->selector)) {
        if (!p->scheduled()) continue;
        int32_t pi = w.pod_index(p);
        for (const auto& port : ws.ports) {
          uint32_t target = port.port;
          if (port.target_port.is_set()) {
            if (port.target_port.is_int) target = static_cast<uint32_t>(port.target_port.int_value);
            else target = p->named_port(port.target_port.str_value);
          }
          if (target == 0) continue;  // named targetPort the pod does not declare
          ws.endpoints[port.port].push_back(pod_endpoint(*p, pi, target, w.nodes_[static_cast<size_t>(p->node)].locality));
        }
      }
      // WorkloadEntries selected by the Service (same namespace).
      for (size_t wi = 0; wi < rs.workload_entries.size(); ++wi) {
        const auto& we = rs.workload_entries[wi];
        if (we.meta.namespace_ != ws.namespace_ || !labels_subset_of(*s->selector, we.spec.labels)) continue;
        for (const auto& port : ws.ports)
          ws.endpoints[port.port].push_back(
              entry_endpoint(we.spec, we.meta.namespace_, port.name, default_target(port), static_cast<int32_t>(wi)));
      }
    }
    std::set<std::string> sas;
    for (const auto& [port, eps] : ws.endpoints)
      for (const auto& e : eps) sas.insert(e.service_account);
    ws.service_accounts.assign(sas.begin(), sas.end());
    w.services_.push_back(std::move(ws));
  }

  // ServiceEntries: one WorldService per host.
  for (size_t si = 0; si < rs.service_entries.size(); ++si) {
    const ServiceEntry& se = rs.service_entries[si];
    for (const auto& host : se.hosts) {
      WorldService ws;
      ws.origin = WorldService::Origin::kServiceEntry;
      ws.name = se.meta.name;
      ws.namespace_ = se.meta.namespace_;
      ws.hostname = host;
      ws.mesh_external = se.location == ServiceEntryLocation::kMeshExternal;
      ws.resolution = se.resolution;
      ws.addresses = se.addresses;
      ws.export_to = se.export_to;
      ws.source_index = static_cast<int32_t>(si);
      ws.location = se.source.location;
      if (se.workload_selector) ws.selector = se.workload_selector->match_labels;
      for (const auto& a : se.addresses) {
        // A /32 CIDR is one address (Istio binds the listener to it).
        std::string_view addr = a;
        if (addr.size() > 3 && addr.substr(addr.size() - 3) == "/32") addr.remove_suffix(3);
        auto ip = parse_ipv4(addr);
        if (ip.ok()) {
          ws.vip = *ip;
          ws.has_vip = true;
          break;
        }
      }
      if (!ws.has_vip && host.find('*') == std::string::npos && se.resolution != ServiceEntryResolution::kNone) {
        // Auto-allocated VIP, as Istio's DNS proxy does (240.240.0.0/16).
        uint32_t off = static_cast<uint32_t>(fnv1a64(host) % 65000) + 1;
        while (w.service_by_vip_.count(Ipv4::of(240, 240, 0, 0).value + off) || used_vips.count(Ipv4::of(240, 240, 0, 0).value + off)) off = off % 65534 + 1;
        ws.vip = Ipv4{Ipv4::of(240, 240, 0, 0).value + off};
        ws.has_vip = true;
        ws.vip_auto_allocated = true;
        used_vips.insert(ws.vip.value);
      }
      for (const auto& sp : se.ports) {
        ServicePortInfo pi;
        pi.name = sp.name;
        pi.port = sp.number;
        if (sp.target_port) pi.target_port = IntOrString{true, static_cast<int32_t>(sp.target_port), {}};
        pi.protocol = parse_protocol(sp.protocol);
        pi.protocol_reason = sp.protocol.empty() ? "no protocol (auto-detect)" : "ServiceEntry protocol " + sp.protocol;
        pi.k8s_protocol = pi.protocol == Protocol::kUdp ? "UDP" : "TCP";
        pi.location = se.source.location;
        ws.ports.push_back(std::move(pi));
      }
      auto add_ep = [&](Endpoint e, const ServicePortInfo& port) { ws.endpoints[port.port].push_back(std::move(e)); };
      for (const auto& port : ws.ports) {
        for (const auto& ep : se.endpoints) add_ep(entry_endpoint(ep, se.meta.namespace_, port.name, default_target(port), -1), port);
        if (se.endpoints.empty() && ws.selector) {
          for (const WorldPod* p : w.pods_matching(ws.namespace_, *ws.selector)) {
            if (!p->scheduled()) continue;
            add_ep(pod_endpoint(*p, w.pod_index(p), default_target(port), w.nodes_[static_cast<size_t>(p->node)].locality), port);
          }
          for (size_t wi = 0; wi < rs.workload_entries.size(); ++wi) {
            const auto& we = rs.workload_entries[wi];
            if (we.meta.namespace_ != ws.namespace_ || !labels_subset_of(*ws.selector, we.spec.labels)) continue;
            add_ep(entry_endpoint(we.spec, we.meta.namespace_, port.name, default_target(port), static_cast<int32_t>(wi)), port);
          }
        }
        if (se.endpoints.empty() && !ws.selector &&
            (se.resolution == ServiceEntryResolution::kDns || se.resolution == ServiceEntryResolution::kDnsRoundRobin)) {
          Endpoint e;
          e.address = host;
          e.port = default_target(port);
          add_ep(std::move(e), port);
        }
      }
      std::set<std::string> sas;
      for (const auto& [port, eps] : ws.endpoints)
        for (const auto& e : eps) sas.insert(e.service_account);
      ws.service_accounts.assign(sas.begin(), sas.end());
      w.services_.push_back(std::move(ws));
    }
  }

  // DestinationRules, merged per (namespace, host) like istiod.
  {
    std::vector<const DestinationRule*> drs;
    for (const auto& dr : rs.destination_rules)
      if (!dr.workload_selector) drs.push_back(&dr);
    std::map<std::pair<std::string, std::string>, std::vector<const DestinationRule*>> groups;
    for (const DestinationRule* dr : drs)
      groups[{dr->meta.namespace_, w.config_host_to_fqdn(dr->host, dr->meta.namespace_)}].push_back(dr);
    for (auto& [key, list] : groups) {
      std::stable_sort(list.begin(), list.end(), [](const DestinationRule* a, const DestinationRule* b) {
        int64_t ta = a->meta.creation_timestamp.value_or(INT64_MAX), tb = b->meta.creation_timestamp.value_or(INT64_MAX);
        return std::tie(ta, a->meta.name) < std::tie(tb, b->meta.name);
      });
      ConsolidatedDestinationRule c;
      c.rule = *list.front();
      c.host_fqdn = key.second;
      c.sources = list;
      for (size_t i = 1; i < list.size(); ++i) {
        for (const auto& s : list[i]->subsets)
          if (std::none_of(c.rule.subsets.begin(), c.rule.subsets.end(), [&](const Subset& x) { return x.name == s.name; }))
            c.rule.subsets.push_back(s);
        if (!c.rule.traffic_policy && list[i]->traffic_policy) c.rule.traffic_policy = list[i]->traffic_policy;
      }
      w.destination_rules_.push_back(std::move(c));
    }
  }

  // VirtualServices as istiod merges them with their delegates.
  {
    MergedVirtualServices m = merge_virtual_services(
        rs.virtual_services, w.mesh_.default_virtual_service_export_to,
        [&w](std::string_view h, std::string_view ns) { return w.config_host_to_fqdn(h, ns); });
    w.virtual_services_ = std::move(m.services);
    w.delegation_issues_ = std::move(m.issues);
  }

  // Indexes.
  w.services_of_pod_.assign(w.pods_.size(), {});
  for (size_t i = 0; i < w.services_.size(); ++i) {
    const auto& s = w.services_[i];
    auto [it, inserted] = w.service_by_host_.emplace(s.hostname, static_cast<int32_t>(i));
    (void)it;
    (void)inserted;  // first definition wins (Kubernetes before ServiceEntry, sorted)
    if (s.has_vip) w.service_by_vip_.emplace(s.vip.value, static_cast<int32_t>(i));
    std::set<int32_t> pods;
    for (const auto& [port, eps] : s.endpoints)
      for (const auto& e : eps)
        if (e.pod >= 0) pods.insert(e.pod);
    for (int32_t p : pods) w.services_of_pod_[static_cast<size_t>(p)].push_back(static_cast<int32_t>(i));
  }
  return w;
}

World build_world(ResourceSet resources, MeshConfig mesh, std::vector<Diagnostic>& diags, const World* previous) {
  add_default_ingress_gateway(resources, diags);   // mesh/gateway.h
  add_gateway_api_deployments(resources, diags);   // mesh/gateway_api.h
  return build_world_impl(std::make_shared<const ResourceSet>(std::move(resources)), std::move(mesh), diags, previous);
}

World World::with_unready_pods(const std::vector<std::string>& pods) const {
  World w = *this;
  std::vector<int32_t> indices;
  for (const std::string& ref : pods) {
    auto it = pod_index_.find(ref);
    if (it != pod_index_.end()) indices.push_back(it->second);
  }
  for (WorldService& s : w.services_) {
    for (auto& [port, eps] : s.endpoints) {
      for (Endpoint& e : eps) {
        if (std::find(indices.begin(), indices.end(), e.pod) != indices.end()) e.ready = false;
      }
    }
  }
  return w;
}

}  // namespace meshsim::mesh
