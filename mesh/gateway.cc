#include "mesh/gateway.h"

#include <algorithm>

#include "mesh/loader.h"
#include "mesh/policy.h"
#include "mesh/world.h"

namespace meshsim::mesh {

namespace {

const std::string* label(const Labels& l, std::string_view k) {
  auto it = l.find(k);
  return it == l.end() ? nullptr : &it->second;
}

// Istio's default profile (manifests/charts/gateways/istio-ingress, as
// `istioctl install` renders it), reduced to what the model reads.
constexpr std::string_view kDefaultIngressGateway = R"(apiVersion: v1
kind: ServiceAccount
metadata:
  name: istio-ingressgateway-service-account
  namespace: istio-system
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: istio-ingressgateway
  namespace: istio-system
  labels:
    app: istio-ingressgateway
    istio: ingressgateway
spec:
  replicas: 1
  selector:
    matchLabels:
      app: istio-ingressgateway
      istio: ingressgateway
  template:
    metadata:
      labels:
        app: istio-ingressgateway
        istio: ingressgateway
        sidecar.istio.io/inject: "false"
        service.istio.io/canonical-name: istio-ingressgateway
    spec:
      serviceAccountName: istio-ingressgateway-service-account
      containers:
      - name: istio-proxy
        image: docker.io/istio/proxyv2:1.24.0
        args: ["proxy", "router"]
        ports:
        - containerPort: 15021
        - containerPort: 8080
        - containerPort: 8443
        - containerPort: 15090
          name: http-envoy-prom
---
apiVersion: v1
kind: Service
metadata:
  name: istio-ingressgateway
  namespace: istio-system
  labels:
    app: istio-ingressgateway
    istio: ingressgateway
spec:
  type: LoadBalancer
  selector:
    app: istio-ingressgateway
    istio: ingressgateway
  ports:
  - name: status-port
    port: 15021
    targetPort: 15021
  - name: http2
    port: 80
    targetPort: 8080
  - name: https
    port: 443
    targetPort: 8443
)";

bool ingress_class_istio(const ResourceSet& rs, const Ingress& ing) {
  // The default mesh config (ingressClass istio, ingressControllerMode STRICT);
  // the world's own check (policy.h istio_processes_ingress) decides routing.
  auto it = ing.meta.annotations.find("kubernetes.io/ingress.class");
  if (it != ing.meta.annotations.end()) return it->second == "istio";
  if (ing.ingress_class_name) {
    for (const auto& ic : rs.ingress_classes)
      if (ic.meta.name == *ing.ingress_class_name) return ic.controller == "istio.io/ingress-controller";
  }
  return false;
}

}  // namespace

bool is_gateway_pod(const WorldPod& pod) {
  if (const std::string* v = label(pod.labels, "istio"); v && (*v == "ingressgateway" || *v == "egressgateway")) return true;
  if (const std::string* t = label(pod.annotations, "inject.istio.io/templates"); t && *t == "gateway") return true;
  if (!pod.spec) return false;
  for (const auto& c : pod.spec->containers) {
    if (c.name != "istio-proxy") continue;
    if (std::find(c.args.begin(), c.args.end(), "router") != c.args.end()) return true;
  }
  return false;
}

bool add_default_ingress_gateway(ResourceSet& rs, std::vector<Diagnostic>& diags) {
  const Labels want{{"istio", "ingressgateway"}};
  const Object* asker = nullptr;
  for (const auto& g : rs.gateways)
    if (!asker && labels_subset_of(g.selector, want) && !g.selector.empty()) asker = &g;
  for (const auto& ing : rs.ingresses)
    if (!asker && ingress_class_istio(rs, ing)) asker = &ing;
  if (!asker) return false;
  for (const auto& p : rs.pods)
    if (labels_subset_of(want, p.meta.labels)) return false;
  for (const auto& w : rs.workloads)
    if (labels_subset_of(want, w.tmpl.labels)) return false;
  std::string display = asker->display();
  Location where = asker->source.location;
  load_text(kDefaultIngressGateway, "<meshsim: Istio's default ingress gateway>", rs, diags);
  Diagnostic d;
  d.severity = Severity::kWarning;
  d.code = "MS0137";
  d.location = where;
  d.resource = display;
  d.message =
      "no ingress gateway deployment (a pod labelled istio=ingressgateway) in the input: meshsim runs Istio's default "
      "one, istio-system/istio-ingressgateway (Service type LoadBalancer, ports 80→8080, 443→8443, 15021), as "
      "`istioctl install` creates it. Add your gateway's Deployment and Service to simulate it instead.";
  diags.push_back(std::move(d));
  return true;
}

std::optional<Ipv4> load_balancer_ip(const World& w, const WorldService& s) {
  if (s.origin != WorldService::Origin::kKubernetes || s.source_index < 0) return std::nullopt;
  const auto& svcs = w.resources().services;
  if (static_cast<size_t>(s.source_index) >= svcs.size() || svcs[static_cast<size_t>(s.source_index)].type != "LoadBalancer")
    return std::nullopt;
  uint32_t n = 0;
  for (const WorldService& o : w.services()) {
    if (&o == &s) break;
    if (o.origin == WorldService::Origin::kKubernetes && o.source_index >= 0 &&
        static_cast<size_t>(o.source_index) < svcs.size() && svcs[static_cast<size_t>(o.source_index)].type == "LoadBalancer")
      ++n;
  }
  if (n > 54) return std::nullopt;
  return Ipv4::of(172, 18, 255, static_cast<uint8_t>(200 + n));
}

const WorldService* ingress_gateway_service(const World& w) {
  const auto& svcs = w.resources().services;
  // First a Service of Istio's ingress gateway (istio=ingressgateway), then
  // one of a Gateway API Gateway's deployment (gateway.networking.k8s.io/gateway-name).
  for (const char* key : {"istio", "gateway.networking.k8s.io/gateway-name"}) {
    for (const WorldService& s : w.services()) {
      if (s.origin != WorldService::Origin::kKubernetes || s.source_index < 0) continue;
      const std::string& type = svcs[static_cast<size_t>(s.source_index)].type;
      if (type != "LoadBalancer" && type != "NodePort") continue;
      for (const auto& [port, eps] : s.endpoints) {
        for (const Endpoint& e : eps) {
          if (e.pod < 0) continue;
          const WorldPod& p = w.pods()[static_cast<size_t>(e.pod)];
          const std::string* v = label(p.labels, key);
          if (v && (std::string_view(key) != "istio" || *v == "ingressgateway")) return &s;
        }
      }
    }
  }
  return nullptr;
}

// host.Name.SubsetOf.
bool host_subset_of(std::string_view a, std::string_view b) {
  if (a == b || b == "*") return true;
  if (a.empty()) return false;
  if (b.size() > 1 && b[0] == '*') {
    std::string_view suffix = b.substr(1);  // ".example.com"
    std::string_view rest = a[0] == '*' ? a.substr(1) : a;
    if (a[0] == '*' && rest.size() < suffix.size()) return false;
    return rest.size() >= suffix.size() && rest.substr(rest.size() - suffix.size()) == suffix &&
           (a[0] == '*' || rest.size() > suffix.size());
  }
  return false;
}
// host.Names.Intersection.
std::vector<std::string> intersect_hosts(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  std::vector<std::string> out;
  auto add = [&](const std::string& h) {
    if (std::find(out.begin(), out.end(), h) == out.end()) out.push_back(h);
  };
  for (const auto& x : a)
    for (const auto& y : b) {
      if (host_subset_of(x, y)) add(x);
      else if (host_subset_of(y, x)) add(y);
    }
  return out;
}
// host.NamesForNamespace: the server's hosts that apply to a namespace
// ("ns/host", "./host" = the Gateway's namespace, "*/host", "host").
std::vector<std::string> server_hosts_for(const GatewayServer& s, const std::string& gw_ns, const std::string& ns) {
  std::vector<std::string> out;
  for (const std::string& h : s.hosts) {
    size_t slash = h.find('/');
    if (slash == std::string::npos) {
      out.push_back(h);
      continue;
    }
    std::string hns = h.substr(0, slash);
    if (hns == ".") hns = gw_ns;
    if (hns == "*" || hns == ns) out.push_back(h.substr(slash + 1));
  }
  return out;
}
// GetSNIHostsForServer: the hosts without their namespace. A "*" host
// leaves the chain without an SNI match. [inference: Envoy has no "*" server name]
std::vector<std::string> server_sni_hosts(const GatewayServer& s) {
  std::vector<std::string> out;
  for (const std::string& h : s.hosts) {
    std::string host = h.find('/') == std::string::npos ? h : h.substr(h.find('/') + 1);
    if (host == "*") return {};
    if (std::find(out.begin(), out.end(), host) == out.end()) out.push_back(host);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Kubernetes Ingresses of class istio → one Gateway per Ingress and one
// VirtualService per host (pilot/pkg/config/kube/ingress gateways.go,
// virtualservices.go), built in memory for the gateways' configuration.
IngressConversion convert_ingresses(const World& w) {
  const MeshConfig& mc = w.mesh_config();
  IngressConversion out;
  struct RuleRef {
    const Ingress* ing;
    const IngressRule* rule;
    size_t index;
  };
  std::map<std::string, std::vector<RuleRef>> by_host;
  const std::string ingress_ns = mc.root_namespace;  // istiod's namespace (IngressNamespace)
  const std::string suffix = "-istio-autogenerated-k8s-ingress";
  for (const Ingress& ing : w.resources().ingresses) {
    if (!istio_processes_ingress(w, ing)) continue;
    Gateway g;
    g.kind = Kind::kGateway;
    g.api_version = "networking.istio.io/v1";
    g.meta.name = ing.meta.name + suffix + "-" + ing.meta.namespace_;
    g.meta.namespace_ = ingress_ns;
    g.source = ing.source;
    g.selector = {{"istio", "ingressgateway"}};
    for (size_t i = 0; i < ing.tls.size(); ++i) {
      const IngressTls& t = ing.tls[i];
      if (t.secret_name.empty()) continue;
      GatewayServer s;
      s.port = {443, "HTTPS", "https-443-ingress-" + ing.meta.name + "-" + ing.meta.namespace_ + "-" + std::to_string(i), 0};
      s.hosts = t.hosts.empty() ? std::vector<std::string>{"*"} : t.hosts;
      ServerTls st;
      st.mode = ServerTlsMode::kSimple;
      st.credential_name = t.secret_name;
      s.tls = st;
      g.servers.push_back(std::move(s));
    }
    GatewayServer http;
    http.port = {80, "HTTP", "http-80-ingress-" + ing.meta.name + "-" + ing.meta.namespace_, 0};
    http.hosts = {"*"};
    g.servers.push_back(std::move(http));
    out.gateways.push_back(std::move(g));
    for (size_t i = 0; i < ing.rules.size(); ++i)
      by_host[ing.rules[i].host.empty() ? "*" : ing.rules[i].host].push_back({&ing, &ing.rules[i], i});
  }
  for (auto& [host, rules] : by_host) {
    std::stable_sort(rules.begin(), rules.end(), [](const RuleRef& a, const RuleRef& b) {
      if (created_before(*a.ing, *b.ing) != created_before(*b.ing, *a.ing)) return created_before(*a.ing, *b.ing);
      if (a.ing->meta.name != b.ing->meta.name) return a.ing->meta.name < b.ing->meta.name;
      if (a.ing->meta.namespace_ != b.ing->meta.namespace_) return a.ing->meta.namespace_ < b.ing->meta.namespace_;
      return a.index < b.index;
    });
    const Ingress& first = *rules.front().ing;
    VirtualService vs;
    vs.kind = Kind::kVirtualService;
    vs.api_version = "networking.istio.io/v1";
    std::string dashed = host;
    std::replace(dashed.begin(), dashed.end(), '.', '-');
    vs.meta.name = dashed + "-" + first.meta.name + suffix;
    vs.meta.namespace_ = first.meta.namespace_;
    vs.meta.annotations["internal.istio.io/route-semantics"] = "ingress";
    vs.source = first.source;
    vs.hosts = {host};
    vs.gateways = {ingress_ns + "/" + first.meta.name + suffix + "-" + first.meta.namespace_};
    for (const RuleRef& rr : rules) {
      for (const IngressPath& p : rr.rule->paths) {
        const IngressBackend& b = p.backend;
        if (b.service_name.empty()) continue;
        std::string fqdn = b.service_name + "." + rr.ing->meta.namespace_ + ".svc." + mc.cluster_domain;
        uint32_t port = 0;
        if (b.service_port.is_int) {
          port = static_cast<uint32_t>(b.service_port.int_value);
        } else if (const WorldService* svc = w.service_by_hostname(fqdn)) {
          if (const ServicePortInfo* sp = svc->port_by_name(b.service_port.str_value)) port = sp->port;
        }
        if (port == 0) continue;  // resolveNamedPort failed: the path is dropped
        HttpRoute hr;
        IngressPathMatch m = ingress_path_match(p);
        if (m.type != IngressPathMatch::Type::kAny) {
          HttpMatchRequest mr;
          mr.uri = StringMatch{m.type == IngressPathMatch::Type::kExact ? StringMatch::Type::kExact : StringMatch::Type::kPrefix,
                               m.value};
          hr.match.push_back(std::move(mr));
        }
        HttpRouteDestination d;
        d.destination.host = fqdn;
        d.destination.port = port;
        d.weight = 100;
        hr.route.push_back(std::move(d));
        hr.location = p.location;
        vs.http.push_back(std::move(hr));
      }
    }
    // sortHTTPRoutes: longer URI matches first, exact before prefix.
    auto uri_len = [](const HttpRoute& r) -> std::pair<int, bool> {
      if (r.match.empty() || !r.match[0].uri) return {0, false};
      const StringMatch& u = *r.match[0].uri;
      if (u.type == StringMatch::Type::kExact) return {static_cast<int>(u.value.size()), true};
      if (u.type == StringMatch::Type::kPrefix) return {static_cast<int>(u.value.size()), false};
      return {-1, false};
    };
    std::stable_sort(vs.http.begin(), vs.http.end(), [&](const HttpRoute& a, const HttpRoute& b) {
      auto [al, ae] = uri_len(a);
      auto [bl, be] = uri_len(b);
      if (al == bl) return ae && !be;
      return al > bl;
    });
    out.virtual_services.push_back(std::move(vs));
  }
  return out;
}

Result<IngressAddress> ingress_address(const World& w, uint32_t service_port, std::string_view service) {
  const WorldService* gw = nullptr;
  if (!service.empty()) {
    size_t slash = service.find('/');
    std::string_view ns = service.substr(0, slash), name = slash == std::string_view::npos ? "" : service.substr(slash + 1);
    for (const WorldService& s : w.services())
      if (s.origin == WorldService::Origin::kKubernetes && s.namespace_ == ns && s.name == name) gw = &s;
    if (!gw) return Error{"no Service " + std::string(service) + " in the mesh"};
    const std::string& type = w.resources().services[static_cast<size_t>(gw->source_index)].type;
    if (type != "LoadBalancer" && type != "NodePort")
      return Error{"Service " + std::string(service) + " is of type " + (type.empty() ? std::string("ClusterIP") : type) +
                   ": clients outside the cluster reach only LoadBalancer and NodePort Services"};
  } else {
    gw = ingress_gateway_service(w);
  }
  if (!gw)
    return Error{"no ingress gateway Service (type LoadBalancer or NodePort, selecting pods labelled istio=ingressgateway "
                 "or a Gateway API Gateway's pods) in the mesh"};
  std::string name = gw->namespace_ + "/" + gw->name;
  if (!gw->port(service_port)) return Error{"Service " + name + " has no port " + std::to_string(service_port)};
  IngressAddress a;
  a.service = gw;
  if (std::optional<Ipv4> lb = load_balancer_ip(w, *gw)) {
    a.ip = *lb;
    a.port = static_cast<uint16_t>(service_port);
    a.load_balancer = true;
    return a;
  }
  int32_t node_port = 0;
  for (const auto& p : w.resources().services[static_cast<size_t>(gw->source_index)].ports)
    if (static_cast<uint32_t>(p.port) == service_port) node_port = p.node_port;
  if (node_port == 0 || w.nodes().empty())
    return Error{"Service " + name + " port " + std::to_string(service_port) + " has no load balancer and no nodePort"};
  a.ip = w.nodes().front().ip;
  a.port = static_cast<uint16_t>(node_port);
  return a;
}

std::optional<CredentialMaterial> find_credential(const ResourceSet& rs, std::string_view ns, std::string_view sds_name) {
  constexpr std::string_view kPrefix = "kubernetes://";
  // Gateway API certificateRefs: kubernetes-gateway://<ns>/<name> (creds.ToKubernetesGatewayResource).
  constexpr std::string_view kGatewayPrefix = "kubernetes-gateway://";
  std::string gw_ns;
  if (sds_name.substr(0, kGatewayPrefix.size()) == kGatewayPrefix) {
    std::string_view rest = sds_name.substr(kGatewayPrefix.size());
    size_t slash = rest.find('/');
    if (slash == std::string_view::npos) return std::nullopt;
    gw_ns = std::string(rest.substr(0, slash));
    ns = gw_ns;
    sds_name = rest.substr(slash + 1);
  } else if (sds_name.substr(0, kPrefix.size()) != kPrefix) {
    return std::nullopt;
  } else {
    sds_name = sds_name.substr(kPrefix.size());
  }
  std::string name(sds_name);
  auto get = [](const ResourceSet::SecretData& s, std::initializer_list<const char*> keys) -> const std::string* {
    for (const char* k : keys) {
      auto it = s.data.find(k);
      if (it != s.data.end()) return &it->second;
    }
    return nullptr;
  };
  constexpr std::string_view kCa = "-cacert";
  bool ca = name.size() > kCa.size() && std::string_view(name).substr(name.size() - kCa.size()) == kCa;
  if (ca) {
    std::string base = name.substr(0, name.size() - kCa.size());
    for (const std::string& candidate : {base, name}) {
      const ResourceSet::SecretData* s = rs.find_secret(ns, candidate);
      if (!s) continue;
      if (const std::string* pem = get(*s, {"ca.crt", "cacert"})) {
        CredentialMaterial m;
        m.secret = std::string(ns) + "/" + candidate;
        m.ca_pem = *pem;
        m.location = s->location;
        return m;
      }
    }
  }
  const ResourceSet::SecretData* s = rs.find_secret(ns, name);
  if (!s) return std::nullopt;
  const std::string* cert = get(*s, {"tls.crt", "cert"});
  const std::string* key = get(*s, {"tls.key", "key"});
  if (!cert || !key) return std::nullopt;
  CredentialMaterial m;
  m.secret = std::string(ns) + "/" + name;
  m.cert_pem = *cert;
  m.key_pem = *key;
  m.location = s->location;
  return m;
}

}  // namespace meshsim::mesh
