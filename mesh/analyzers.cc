#include "mesh/analyzers.h"
#include "mesh/gateway_api.h"

#include "mesh/telemetry.h"

#include "mesh/coverage.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <set>

#include "mesh/analyzers_authz.h"
#include "mesh/authz_translation.h"
#include "mesh/control_plane.h"
#include "mesh/policy.h"
#include "proxy/rbac_config.h"

namespace meshsim::mesh {

const std::vector<AnalyzerCode>& analyzer_codes() {
  static const std::vector<AnalyzerCode> kCodes = {
      {"MS0001", "InvalidYaml", "", Severity::kError, "The file is not valid YAML (syntax, tabs, duplicate keys, limits)."},
      {"MS0002", "SchemaValidationError", "IST0106", Severity::kError, "A field has the wrong type, an unknown enum value, a bad duration/port/CIDR/selector, or breaks an API validation rule."},
      {"MS0003", "UnknownField", "", Severity::kWarning, "A field the API does not know; it is ignored (kubectl strict decoding warns the same way)."},
      {"MS0004", "UnknownKind", "", Severity::kWarning, "A kind or apiVersion meshsim does not model or that is not served; the object is ignored."},
      {"MS0005", "UnreadableInput", "", Severity::kError, "A path does not exist or cannot be read."},
      {"MS0006", "DuplicateObject", "", Severity::kWarning, "The same kind/namespace/name is defined twice; the later definition wins."},
      {"MS0007", "WorldDerivation", "", Severity::kWarning, "The derived world has a problem: an unschedulable pod, an exhausted pod CIDR, a clashing ClusterIP."},
      {"MS0009", "NotModelled", "", Severity::kInfo, "The object or field changes what Istio does, but meshsim does not simulate it yet: answers about the mesh do not account for it (the coverage report, docs/cli/probe.md)."},
      {"MS0008", "RejectedByApiServer", "", Severity::kWarning, "The Kubernetes API server would reject this object, but Istio's analyzers take it; meshsim keeps it (e.g. several unnamed Service ports)."},
      {"MS0101", "ReferencedResourceNotFound", "IST0101", Severity::kError, "A route or Ingress refers to a host, port, subset, gateway or namespace that does not exist, or a Gateway, Sidecar or Telemetry selector matches no workload."},
      {"MS0102", "NamespaceNotInjected", "IST0102", Severity::kWarning, "A Namespace has no istio-injection / istio.io/rev label: pods created in it run without sidecars."},
      {"MS0103", "NoMatchingWorkloadsFound", "IST0127", Severity::kWarning, "A policy's selector (PeerAuthentication, AuthorizationPolicy, RequestAuthentication) matches no workload; it has no effect."},
      {"MS0104", "PortNameIsNotUnderNamingConvention", "IST0118", Severity::kInfo, "A Service port has no recognised protocol (name prefix or appProtocol): Istio sniffs it."},
      {"MS0105", "ServerFirstPortPermissive", "", Severity::kWarning, "A server-first port (MySQL, MongoDB, SMTP) is PERMISSIVE while a plaintext client can reach it: connections hang."},
      {"MS0106", "ExcludedInboundPortGetsMtls", "", Severity::kWarning, "A port excluded from inbound capture still receives mTLS from sidecar clients; the app sees TLS bytes."},
      {"MS0107", "DestinationRuleDisableTowardStrict", "IST0113", Severity::kError, "A DestinationRule sends plaintext to a workload whose PeerAuthentication is STRICT."},
      {"MS0108", "IstioMutualTowardNoSidecar", "", Severity::kError, "A DestinationRule forces ISTIO_MUTUAL toward endpoints without a sidecar: the TLS handshake fails."},
      {"MS0109", "NamespaceDisableWorkloadStrict", "", Severity::kError, "The namespace policy is DISABLE but a workload is STRICT: auto mTLS sends plaintext, the workload rejects it."},
      {"MS0110", "StrictProbesWithoutRewrite", "", Severity::kError, "STRICT mTLS with kubelet HTTP/TCP/gRPC probes and probe rewrite turned off: probes fail."},
      {"MS0111", "RootNamespaceSelectorIgnored", "", Severity::kWarning, "A PeerAuthentication with a selector in the root namespace: Istio ignores it."},
      {"MS0112", "ShadowedPeerAuthentication", "", Severity::kWarning, "Two PeerAuthentications at the same level for the same workloads: only the oldest applies."},
      {"MS0113", "AuthorizationHttpFieldsOnTcpPort", "", Severity::kWarning, "An AuthorizationPolicy rule uses HTTP-only fields on a workload serving TCP: ALLOW rules never allow there, DENY/AUDIT rules match every connection their other conditions match."},
      {"MS0114", "IngressUnsupportedFeature", "", Severity::kWarning, "An Ingress path uses regex syntax (matched literally by Istio) or annotations Istio ignores."},
      {"MS0115", "FaultNeverFires", "", Severity::kWarning, "A fault delay/abort without a (non-zero) percentage never fires."},
      {"MS0116", "VirtualServiceUnreachableRule", "IST0130", Severity::kWarning, "A VirtualService rule is never used: a second rule without match, or every match repeats an earlier rule's."},
      {"MS0117", "VirtualServiceDestinationPortSelectorRequired", "IST0112", Severity::kError, "A route points at a multi-port service without a port (an Error at a gateway, a Warning for mesh-only routes)."},
      {"MS0118", "IngressNotProcessed", "", Severity::kInfo, "Istio does not process this Ingress (its class is not Istio's)."},
      {"MS0119", "ServiceHasNoEndpoints", "", Severity::kWarning, "A Service's selector matches no pod: calls to it fail with 503 (no healthy upstream)."},
      {"MS0120", "SubsetSelectsNoEndpoints", "", Severity::kWarning, "A DestinationRule subset's labels match no endpoint of its service."},
      {"MS0121", "ConflictingMeshGatewayVirtualServiceHosts", "IST0109", Severity::kError, "Several VirtualServices bound to the mesh gateway define the same host; only one is used."},
      {"MS0122", "MultipleSidecarsWithoutWorkloadSelectors", "IST0111", Severity::kError, "More than one Sidecar without workloadSelector in a namespace."},
      {"MS0123", "AppRunsAsProxyUid", "IST0144", Severity::kError, "A container of an injected pod runs as UID 1337: its outbound traffic bypasses the sidecar."},
      {"MS0124", "PodsInUndeclaredUninjectedNamespace", "", Severity::kWarning, "Pods in a namespace with no Namespace object in the input run without sidecars (Istio's analyzer only looks at Namespace objects)."},
      {"MS0125", "ExternalNameServiceTypeInvalidPortName", "IST0150", Severity::kWarning, "An ExternalName Service port is named tcp or has no recognised protocol: the sidecar may not forward its traffic correctly."},
      {"MS0126", "VirtualServiceIneffectiveMatch", "IST0131", Severity::kInfo, "A VirtualService rule's match repeats a match of an earlier rule; it is never used."},
      {"MS0128", "DestinationRuleHostNotFound", "", Severity::kWarning, "A DestinationRule's host matches no Service or ServiceEntry; it applies to nothing."},
      {"MS0129", "NamespaceMultipleInjectionLabels", "IST0123", Severity::kWarning, "A Namespace has both istio-injection and istio.io/rev labels."},
      {"MS0130", "PodMissingProxy", "IST0103", Severity::kWarning, "A Pod object in an injection-enabled namespace has no istio-proxy container."},
      {"MS0131", "NamespaceInjectionEnabledByDefault", "IST0148", Severity::kInfo, "A Namespace without injection label is injected because Istio is installed with enableNamespacesByDefault."},
      {"MS0132", "GatewayPortNotOnWorkload", "IST0104", Severity::kWarning, "A Gateway server port is not exposed by any Service of the gateway workload."},
      {"MS0133", "GatewayCredentialNotFound", "IST0101", Severity::kError, "A Gateway server's tls.credentialName names no Secret in the gateway workload's namespace."},
      {"MS0134", "AuthorizationIdentityOnPlaintextPort", "", Severity::kWarning, "An ALLOW rule requires a peer identity (principals, namespaces, serviceAccounts) on a PERMISSIVE or DISABLE port that plaintext clients reach: they are denied."},
      {"MS0136", "TracingProviderNotUsable", "", Severity::kWarning, "A tracing provider's service is not in the registry (istiod needs its FQDN or <namespace>/<hostname>) or its kind is not simulated: sidecars get no tracing, not even x-request-id sampling decisions."},
      {"MS0137", "DefaultIngressGatewayAdded", "", Severity::kWarning, "A Gateway selects istio=ingressgateway (or an Ingress is of class istio) but the input has no gateway deployment: meshsim runs Istio's default istio-system/istio-ingressgateway."},
      {"MS0145", "VirtualServiceDelegateNotUsed", "", Severity::kWarning, "A root VirtualService's delegating route uses nothing of its delegate: the delegate VirtualService is missing or not exported to the root's namespace, or a delegate route's match is not a subset of the root route's (istiod drops such routes with only a log line)."},
      {"MS0140", "GatewayApiDeploymentAdded", "", Severity::kInfo, "A Gateway API Gateway of class istio has no Hostname address: Istio's gateway controller deploys it (<name>-istio Deployment and LoadBalancer Service), and so does meshsim."},
      {"MS0141", "GatewayApiRouteNotAttached", "", Severity::kWarning, "A Gateway API route is not accepted by a parent (NoMatchingParent, NotAllowedByListeners, NoMatchingListenerHostname) or has unresolved references (BackendNotFound, RefNotPermitted, …): the status istiod would write."},
      {"MS0142", "GatewayApiFieldNotSimulated", "", Severity::kWarning, "A Gateway API field meshsim does not simulate, or one Istio's Gateway API controller ignores (HTTPRoute sessionPersistence): the field has no effect on the simulated routes."},
      {"MS0143", "GatewayApiGatewayNotReady", "", Severity::kWarning, "A Gateway API Gateway or one of its listeners is not Accepted / Programmed / ResolvedRefs (unsupported protocol, bad certificateRef, missing Service): the status istiod would write."},
      {"MS0135", "AuthorizationAllowsNothing", "", Severity::kInfo, "No ALLOW rule of a workload can match (spec: {}, or every rule skipped on TCP ports): every request or connection is denied."},
  };
  return kCodes;
}

const AnalyzerCode* find_analyzer_code(std::string_view code) {
  for (const auto& c : analyzer_codes())
    if (code == c.code) return &c;
  return nullptr;
}

namespace {

class Analysis {
 public:
  explicit Analysis(const World& w) : w_(w), root_(w.mesh_config().root_namespace) {
    // Every service of a hostname (ServiceEntries in several namespaces may
    // share one; World's own index keeps a single service per hostname).
    for (const auto& s : w_.services()) by_hostname_[s.hostname].push_back(&s);
  }

  std::vector<Diagnostic> run() {
    references();
    injection();
    selectors();
    port_names();
    peer_authentication_structure();
    mtls_conflicts();
    server_first();
    excluded_inbound_ports();
    probes();
    analyze_authorization(
        w_, [this](const char* code, const Object& o, const std::string& path, std::string msg,
                   std::optional<Severity> sev) { add(code, o, path, std::move(msg), sev); },
        reported_);
    ingresses();
    virtual_services();
    delegations();
    sidecars();
    proxy_uid();
    tracing_providers();
    gateway_api();
    not_modelled_findings();
    sort_diagnostics(out_);
    return std::move(out_);
  }

 private:
  void add(const char* code, const Object& o, const std::string& path, std::string msg, std::optional<Severity> sev = {}) {
    const AnalyzerCode* c = find_analyzer_code(code);
    out_.push_back(Diagnostic{sev.value_or(c ? c->severity : Severity::kWarning), code, locate(o, path), o.display(), path,
                              std::move(msg)});
  }
  void add_at(const char* code, Location loc, std::string resource, std::string path, std::string msg,
              std::optional<Severity> sev = {}) {
    const AnalyzerCode* c = find_analyzer_code(code);
    out_.push_back(Diagnostic{sev.value_or(c ? c->severity : Severity::kWarning), code, loc, std::move(resource),
                              std::move(path), std::move(msg)});
  }

  // The conditions Istio's gateway controller would write that are not
  // True (mesh/gateway_api.h, the same conversion the gateway pods run).
  void gateway_api() {
    const ResourceSet& rs = w_.resources();
    if (rs.k8s_gateways.empty() && rs.gateway_routes.empty()) return;
    GatewayApiConversion c = convert_gateway_api(w_);
    auto display = [](const GatewayApiStatus& st) {
      return std::string(kind_name(st.kind)) + " " + (st.namespace_.empty() ? "" : st.namespace_ + "/") + st.name;
    };
    for (const GatewayApiStatus& st : c.statuses) {
      auto bad = [](const GatewayApiCondition& k) {
        return k.type == "Conflicted" ? k.status : !k.status;
      };
      for (const auto& k : st.conditions)
        if (bad(k))
          add_at("MS0143", st.location, display(st), "status.conditions",
                 k.type + "=" + (k.status ? "True" : "False") + " reason " + k.reason + ": " + k.message);
      for (const auto& l : st.listeners)
        for (const auto& k : l.conditions)
          if (bad(k))
            add_at("MS0143", st.location, display(st), "status.listeners[" + l.name + "]",
                   "listener " + l.name + ": " + k.type + "=" + (k.status ? "True" : "False") + " reason " + k.reason +
                       ": " + k.message);
      for (const auto& p : st.parents)
        for (const auto& k : p.conditions)
          if (!k.status)
            add_at("MS0141", p.location, display(st), "spec.parentRefs",
                   "parent " + p.ref + ": " + k.type + "=False reason " + k.reason + ": " + k.message +
                       (k.type == "Accepted" ? " (the route is not attached to that parent)"
                                             : " (requests to that backend are answered 500)"));
      for (const auto& [loc, why] : st.ignored_parents) add_at("MS0141", loc, display(st), "spec.parentRefs", why);
    }
  }

  // istiod's "could not find service … in Istio service registry": the same
  // decision the control plane makes for each sidecar (mesh/telemetry.h).
  void tracing_providers() {
    std::set<std::string> seen;
    for (const WorldPod& p : w_.pods()) {
      if (!p.injected) continue;
      for (bool outbound : {true, false}) {
        TracingDecision d = sidecar_tracing(w_, p, outbound);
        if (!d.lookup_failed || !seen.insert(d.reason).second) continue;
        const IstioOperator* op = w_.resources().istio_operators.empty() ? nullptr : &w_.resources().istio_operators.front();
        if (op) add("MS0136", *op, "spec.meshConfig.extensionProviders", d.reason);
        else add_at("MS0136", Location{}, "MeshConfig", "extensionProviders", d.reason);
      }
    }
  }

  // The coverage report as Info findings (MS0009).
  void not_modelled_findings() {
    for (const NotModelled& nm : not_modelled(w_.resources(), &w_.mesh_config())) {
      add_at("MS0009", nm.location, nm.kind + " " + nm.object, nm.field, nm.effect);
    }
  }

  std::string pod_owner(const WorldPod& p) const {
    return std::string(kind_name(p.owner_kind)) + " " + p.namespace_ + "/" + (p.owner_name.empty() ? p.name : p.owner_name);
  }
  static std::string route_path(const char* kind, size_t i) { return std::string("spec.") + kind + "[" + std::to_string(i) + "]"; }

  // Whether a VirtualService sees a service, as Istio's GetDestinationHost
  // decides: the service (Service exportTo annotation, ServiceEntry exportTo;
  // none = "*") is exported to all namespaces, or to the VirtualService's
  // namespace (no exportTo on the VirtualService), or to one of the
  // namespaces the VirtualService itself is exported to ("." = its own).
  static bool visible_to(const WorldService& s, const VirtualService& vs) {
    std::vector<std::string> scopes;
    if (s.export_to.empty()) scopes.push_back("*");
    for (const auto& e : s.export_to) scopes.push_back(e == "." ? s.namespace_ : e);
    auto has = [&](const std::string& n) { return std::find(scopes.begin(), scopes.end(), n) != scopes.end(); };
    if (has("*")) return true;
    if (vs.export_to.empty()) return has(vs.meta.namespace_);
    for (const auto& e : vs.export_to)
      if (has(e == "." ? vs.meta.namespace_ : e)) return true;
    return false;
  }

  // Services a config host refers to: exact hostname, or every service a
  // wildcard matches; with `from`, only those the VirtualService sees.
  std::vector<const WorldService*> services_for_host(const std::string& fqdn, const VirtualService* from = nullptr) const {
    std::vector<const WorldService*> out;
    auto ok = [&](const WorldService& s) { return !from || visible_to(s, *from); };
    if (auto it = by_hostname_.find(fqdn); it != by_hostname_.end())
      for (const WorldService* s : it->second)
        if (ok(*s)) out.push_back(s);
    if (!out.empty()) return out;
    if (fqdn.find('*') != std::string::npos)
      for (const auto& s : w_.services())
        if (host_matches(fqdn, s.hostname) && ok(s)) out.push_back(&s);
    // ServiceEntries with wildcard hosts can match a concrete host.
    if (out.empty())
      for (const auto& s : w_.services())
        if (s.origin == WorldService::Origin::kServiceEntry && host_matches(s.hostname, fqdn) && ok(s)) out.push_back(&s);
    return out;
  }

  std::string host_hint(const std::string& host) const {
    // "reviews.default" is not expanded by Istio; suggest the FQDN.
    size_t dot = host.find('.');
    if (dot != std::string::npos && host.find('.', dot + 1) == std::string::npos) {
      std::string fq = host + ".svc." + w_.mesh_config().cluster_domain;
      if (w_.service_by_hostname(fq)) return " Istio does not expand \"name.namespace\" hosts; write \"" + fq + "\".";
    }
    return "";
  }

  // ---- MS0101 references --------------------------------------------------------------------
  void check_destination(const VirtualService& vs, const Destination& d, const std::string& path, bool gateway_bound) {
    std::string fqdn = w_.config_host_to_fqdn(d.host, vs.meta.namespace_);
    auto svcs = services_for_host(fqdn, &vs);
    if (svcs.empty()) {
      if (!services_for_host(fqdn).empty()) {
        add("MS0101", vs, path + ".host",
            "destination host \"" + d.host + "\" (" + fqdn + ") exists but is not exported to where this VirtualService "
            "applies (namespace " + vs.meta.namespace_ + (vs.export_to.empty() ? std::string() : " or its exportTo") +
            "): sidecars there have no cluster for it and requests fail with 503 (NC). Widen the service's exportTo.");
        return;
      }
      add("MS0101", vs, path + ".host",
          "destination host \"" + d.host + "\" (" + fqdn + ") matches no Service or ServiceEntry: requests routed "
          "here fail with 503 (no cluster, response flag NC)." + host_hint(d.host) +
          " Fix the host or add the Service/ServiceEntry.");
      return;
    }
    const WorldService& svc = *svcs.front();
    if (d.port && !svc.port(*d.port) && svc.origin == WorldService::Origin::kKubernetes)
      add("MS0101", vs, path + ".port.number",
          "service " + svc.hostname + " has no port " + std::to_string(*d.port) + ": the route's cluster does not exist and "
          "requests fail with 503 (NC). Use one of the service's ports.");
    // Istio's checkServiceEntryPorts reports every route (IST0112, Error);
    // only at a gateway does it break the route — sidecars use the port the
    // request arrived on — so mesh-only routes get a Warning here.
    if (!d.port && svc.ports.size() > 1) {
      std::string ports;
      for (const auto& p : svc.ports) ports += (ports.empty() ? "" : ", ") + std::to_string(p.port);
      if (gateway_bound)
        add("MS0117", vs, path,
            "service " + svc.hostname + " exposes ports " + ports + " and this gateway-bound route names none: Istio "
            "cannot pick one and the route is dropped. Add destination.port.number.");
      else
        add("MS0117", vs, path,
            "service " + svc.hostname + " exposes ports " + ports + " and the route names none (Istio's analyzer "
            "requires a port selector). Sidecars use the port the request arrived on, so mesh traffic still works; "
            "add destination.port.number to be explicit.",
            Severity::kWarning);
    }
    if (!d.subset.empty()) {
      bool found = false;
      for (const auto& dr : w_.resources().destination_rules) {
        std::string h = w_.config_host_to_fqdn(dr.host, dr.meta.namespace_);
        if (!host_matches(h, svc.hostname)) continue;
        for (const auto& s : dr.subsets)
          if (s.name == d.subset) found = true;
      }
      if (!found)
        add("MS0101", vs, path + ".subset",
            "subset \"" + d.subset + "\" of host " + svc.hostname + " is not defined by any DestinationRule: its cluster "
            "does not exist and requests routed here fail with 503 (NC). Define the subset in a DestinationRule for " +
            svc.hostname + ".");
    }
  }

  void references() {
    const ResourceSet& rs = w_.resources();
    for (const auto& vs : rs.virtual_services) {
      bool gateway_bound = false;
      for (size_t g = 0; g < vs.gateways.size(); ++g) {
        const std::string& gw = vs.gateways[g];
        if (gw == "mesh") continue;
        gateway_bound = true;
        // Gateways istiod generates for Kubernetes Gateway API resources are
        // internal (Istio reports IST0165 for references to them, not IST0101).
        if (gw.find("-istio-autogenerated-k8s-gateway") != std::string::npos) continue;
        std::string ns = vs.meta.namespace_, name = gw;
        if (size_t slash = gw.find('/'); slash != std::string::npos) {
          ns = gw.substr(0, slash);
          name = gw.substr(slash + 1);
        } else if (size_t dot = gw.find('.'); dot != std::string::npos) {
          // "name.namespace.svc.cluster.local" form
          name = gw.substr(0, dot);
          std::string rest = gw.substr(dot + 1);
          ns = rest.substr(0, rest.find('.'));
        }
        bool found = std::any_of(rs.gateways.begin(), rs.gateways.end(),
                                 [&](const Gateway& x) { return x.meta.namespace_ == ns && x.meta.name == name; });
        if (!found)
          add("MS0101", vs, "spec.gateways[" + std::to_string(g) + "]",
              "gateway \"" + gw + "\" (" + ns + "/" + name + ") does not exist: the routes of this VirtualService are "
              "not applied to any gateway. Create the Gateway or fix the name (namespace/name).");
      }
      for (size_t i = 0; i < vs.http.size(); ++i) {
        const auto& r = vs.http[i];
        for (size_t j = 0; j < r.route.size(); ++j)
          check_destination(vs, r.route[j].destination, route_path("http", i) + ".route[" + std::to_string(j) + "].destination",
                            gateway_bound);
        if (r.mirror) check_destination(vs, *r.mirror, route_path("http", i) + ".mirror", false);
      }
      for (size_t i = 0; i < vs.tcp.size(); ++i)
        for (size_t j = 0; j < vs.tcp[i].route.size(); ++j)
          check_destination(vs, vs.tcp[i].route[j].destination,
                            route_path("tcp", i) + ".route[" + std::to_string(j) + "].destination", false);
      for (size_t i = 0; i < vs.tls.size(); ++i)
        for (size_t j = 0; j < vs.tls[i].route.size(); ++j)
          check_destination(vs, vs.tls[i].route[j].destination,
                            route_path("tls", i) + ".route[" + std::to_string(j) + "].destination", false);
    }
    for (const auto& dr : rs.destination_rules) {
      std::string fqdn = w_.config_host_to_fqdn(dr.host, dr.meta.namespace_);
      if (services_for_host(fqdn).empty())
        add("MS0128", dr, "spec.host",
            "host \"" + dr.host + "\" (" + fqdn + ") matches no Service or ServiceEntry: this DestinationRule applies to "
            "nothing." + host_hint(dr.host),
            Severity::kWarning);
    }
    for (const auto& ing : rs.ingresses) {
      for (size_t i = 0; i < ing.rules.size(); ++i)
        for (size_t j = 0; j < ing.rules[i].paths.size(); ++j) {
          const auto& b = ing.rules[i].paths[j].backend;
          if (b.service_name.empty()) continue;
          const WorldService* svc =
              w_.service_by_hostname(b.service_name + "." + ing.meta.namespace_ + ".svc." + w_.mesh_config().cluster_domain);
          std::string path = "spec.rules[" + std::to_string(i) + "].http.paths[" + std::to_string(j) + "].backend.service";
          if (!svc) {
            add("MS0101", ing, path + ".name",
                "backend service \"" + b.service_name + "\" does not exist in namespace " + ing.meta.namespace_ +
                    ": requests for this path get 503.");
          } else if (b.service_port.is_int ? !svc->port(static_cast<uint32_t>(b.service_port.int_value))
                                            : !svc->port_by_name(b.service_port.str_value)) {
            add("MS0101", ing, path + ".port",
                "service " + b.service_name + " has no port " +
                    (b.service_port.is_int ? std::to_string(b.service_port.int_value) : "\"" + b.service_port.str_value + "\"") +
                    ": requests for this path get 503.");
          }
        }
    }
  }

  // ---- MS0102 injection ------------------------------------------------------------------------
  // Istio's injection analyzer (pkg/config/analysis/analyzers/injection):
  // every Namespace object other than the root and the system namespaces,
  // without istio-injection or istio.io/rev and not ambient, gets IST0102 —
  // pods or not. Pods in namespaces with no Namespace object in the input
  // get meshsim's own MS0124 instead.
  void injection() {
    std::set<std::string> declared, injected;
    const bool by_default = enable_namespaces_by_default(w_.resources());
    std::map<std::string, std::string> example_pod;  // namespace → its first pod without sidecar
    for (const auto& p : w_.pods())
      if (!p.injected) example_pod.emplace(p.namespace_, p.name);
    for (const auto& o : w_.resources().namespaces) {
      declared.insert(o.meta.name);
      const std::string& ns = o.meta.name;
      if (ns == root_ || is_never_injected_namespace(ns)) continue;
      if (w_.mesh_config().inject_namespaces.count(ns)) {  // --inject-namespace
        injected.insert(ns);
        continue;
      }
      const Labels& l = o.meta.labels;
      auto inj = l.find("istio-injection");
      bool rev = l.count("istio.io/rev") > 0;
      if (rev && inj != l.end()) {
        add("MS0129", o, "metadata.labels",
            "namespace " + ns + " has both istio-injection and istio.io/rev labels: istio-injection wins and the revision "
            "label is ignored. Keep one of them.");
        continue;
      }
      if (rev || (inj != l.end() && inj->second == "enabled")) injected.insert(ns);
      if (inj != l.end() || rev) continue;
      if (by_default) {
        add("MS0131", o, "metadata",
            "namespace " + ns + " is enabled for Istio injection, as Istio is installed with enableNamespacesByDefault "
            "as true (istio-sidecar-injector ConfigMap): its pods get sidecars without a label.");
        injected.insert(ns);
        continue;
      }
      auto dm = l.find("istio.io/dataplane-mode");
      if (dm != l.end() && dm->second == "ambient") continue;
      auto ex = example_pod.find(ns);
      std::string example = ex == example_pod.end() ? std::string() : ex->second;
      add("MS0102", o, "metadata",
          "namespace " + ns + " has no istio-injection or istio.io/rev label, so its pods" +
              (example.empty() ? std::string() : " (e.g. " + example + ")") +
              " run without a sidecar: no mTLS, no policy, no telemetry for them. Fix: kubectl label namespace " + ns +
              " istio-injection=enabled (or istio-injection=disabled to say it is intended).");
    }
    // Istio's injection analyzer on Pod objects: in an injection-enabled
    // namespace, a pod without an istio-proxy container (not opted out, not
    // hostNetwork) is missing its proxy — e.g. a running pod created before
    // the label. (meshsim simulates Pod manifests as created now: injected.)
    for (const auto& pod : w_.resources().pods) {
      if (!injected.count(pod.meta.namespace_) || pod.spec.host_network) continue;
      auto opt = pod.meta.annotations.find("sidecar.istio.io/inject");
      std::string inj_value = opt == pod.meta.annotations.end() ? "" : opt->second;
      if (auto l = pod.meta.labels.find("sidecar.istio.io/inject"); l != pod.meta.labels.end()) inj_value = l->second;
      if (inj_value == "false" || inj_value == "False" || inj_value == "FALSE") continue;
      bool has_proxy = std::any_of(pod.spec.containers.begin(), pod.spec.containers.end(),
                                   [](const Container& c) { return c.name == "istio-proxy"; });
      if (has_proxy) continue;
      add("MS0130", pod, "spec.containers",
          "The pod " + pod.meta.namespace_ + "/" + pod.meta.name + " is missing the Istio proxy: its namespace has "
          "injection enabled but the pod has no istio-proxy container. A running pod (kubectl get pods -o yaml) was "
          "created before injection was enabled: restart it. A Pod manifest you are about to apply gets the sidecar at "
          "creation, which is how meshsim simulates it.");
    }
    std::map<std::string, const WorldPod*> undeclared;
    for (const auto& p : w_.pods()) {
      if (p.injected || declared.count(p.namespace_) || is_never_injected_namespace(p.namespace_) || p.namespace_ == root_)
        continue;
      if (p.injection_reason.find("has no istio-injection") == std::string::npos) continue;
      undeclared.emplace(p.namespace_, &p);
    }
    for (const auto& [ns, pod] : undeclared) {
      add_at("MS0124", pod->source, "Namespace " + ns, "",
             "namespace " + ns + " (no Namespace object in the input, so no istio-injection label) holds pods (e.g. " +
                 pod->name + ") that run without a sidecar. If the namespace is labelled in the cluster, add its Namespace "
                 "object to the input; otherwise: kubectl label namespace " + ns + " istio-injection=enabled.");
    }
  }

  // ---- MS0103 selectors --------------------------------------------------------------------------
  bool any_workload(const std::string& ns, const Labels& sel, bool all_namespaces) const {
    if (all_namespaces) {
      for (const auto& p : w_.pods())
        if (labels_subset_of(sel, p.labels)) return true;
    } else if (!w_.pods_matching(ns, sel).empty()) {
      return true;
    }
    for (const auto& we : w_.resources().workload_entries)
      if ((all_namespaces || we.meta.namespace_ == ns) && labels_subset_of(sel, we.spec.labels)) return true;
    return false;
  }

  // Policies report IST0127 (NoMatchingWorkloadsFound); Istio's Sidecar and
  // Telemetry selector analyzers report IST0101 (ReferencedResourceNotFound).
  template <typename T>
  void check_selector(const T& o, const std::optional<WorkloadSelector>& sel, const char* path,
                      const char* code = "MS0103") {
    if (!sel || sel->match_labels.empty()) return;
    bool all = o.meta.namespace_ == root_;
    if (any_workload(o.meta.namespace_, sel->match_labels, all)) return;
    std::string labels;
    for (const auto& [k, v] : sel->match_labels) labels += (labels.empty() ? "" : ",") + k + "=" + v;
    add(code, o, path,
        "selector {" + labels + "} matches no workload in " + (all ? std::string("any namespace") : "namespace " + o.meta.namespace_) +
            ": this " + kind_name(o.kind) + " has no effect. Fix the labels or remove the object.");
  }

  // Istio's auth.AuthorizationPoliciesAnalyzer: selectors are matched against
  // in-mesh pods only; a namespace-wide policy in a namespace without such
  // pods matches nothing (IST0127); every source.namespaces/notNamespaces
  // pattern ("*", "prefix*", "*suffix", exact) must match a Namespace object
  // (IST0101).
  void authorization_policies() {
    for (const auto& ap : w_.resources().authorization_policies) {
      const std::string& ns = ap.meta.namespace_;
      bool root = ns == root_;
      auto in_mesh_match = [&](const Labels* sel) {
        for (const auto& p : w_.pods()) {
          // util.PodInMesh (a sidecar) or util.PodInAmbientMode (the CNI's redirection annotation).
          auto amb = p.annotations.find("ambient.istio.io/redirection");
          bool in_mesh = p.injected || (amb != p.annotations.end() && amb->second == "enabled");
          if (!in_mesh || (!root && p.namespace_ != ns)) continue;
          if (!sel || labels_subset_of(*sel, p.labels)) return true;
        }
        return false;
      };
      if (ap.selector && !ap.selector->match_labels.empty()) {
        if (!in_mesh_match(&ap.selector->match_labels)) {
          std::string labels;
          for (const auto& [k, v] : ap.selector->match_labels) labels += (labels.empty() ? "" : ",") + k + "=" + v;
          add("MS0103", ap, "spec.selector",
              "selector {" + labels + "} matches no workload with a sidecar in " +
                  (root ? std::string("any namespace") : "namespace " + ns) + ": this AuthorizationPolicy has no effect.");
        }
      } else if (!root && ap.target_refs.empty() && !in_mesh_match(nullptr)) {
        add("MS0103", ap, "metadata",
            "namespace " + ns + " has no workload with a sidecar: this namespace-wide AuthorizationPolicy has no effect.");
      }
      // Without any Namespace object in the input there is nothing to check
      // against (Istio would flag every namespace; meshsim stays quiet).
      if (w_.resources().namespaces.empty()) continue;
      for (size_t i = 0; i < ap.rules.size(); ++i)
        for (size_t j = 0; j < ap.rules[i].from.size(); ++j) {
          const AuthzSource& src = ap.rules[i].from[j];
          auto check = [&](const std::vector<std::string>& list, const char* field) {
            for (size_t k = 0; k < list.size(); ++k) {
              bool found = false;
              for (const auto& n : w_.resources().namespaces) found = found || namespace_pattern_matches(n.meta.name, list[k]);
              if (found) continue;
              bool exclusion = std::string_view(field) == "notNamespaces";
              add("MS0101", ap,
                  "spec.rules[" + std::to_string(i) + "].from[" + std::to_string(j) + "].source." + field + "[" +
                      std::to_string(k) + "]",
                  "Referenced namespace not found: \"" + list[k] + "\" (no Namespace in the input " +
                      (list[k].find('*') != std::string::npos ? "matches it" : "has this name") + "), so this " +
                      (exclusion ? "exclusion never excludes a request's source." : "condition never matches a request's source."));
            }
          };
          check(src.namespaces, "namespaces");
          check(src.not_namespaces, "notNamespaces");
        }
    }
  }

  // Istio's IngressGatewayPortAnalyzer: every server port must be a TCP port
  // of some Service (in the pod's namespace) selecting a pod the Gateway
  // selects (IST0104).
  void gateway_ports(const Gateway& g) {
    std::set<uint32_t> ports;
    for (const auto& p : w_.pods()) {
      if (!labels_subset_of(g.selector, p.labels)) continue;
      for (const auto& svc : w_.resources().services) {
        if (svc.meta.namespace_ != p.namespace_ || !svc.selector || !labels_subset_of(*svc.selector, p.labels)) continue;
        for (const auto& sp : svc.ports)
          if (sp.protocol == "TCP") ports.insert(static_cast<uint32_t>(sp.port));
      }
    }
    std::string labels;
    for (const auto& [k, v] : g.selector) labels += (labels.empty() ? "" : ",") + k + "=" + v;
    // Istio's SecretAnalyzer: credentialName must be a Secret in the
    // namespace of the (first) gateway pod — checked when the input has
    // Secrets at all (they are usually created outside the manifests).
    std::string gw_ns;
    for (const auto& p : w_.pods())
      if (labels_subset_of(g.selector, p.labels)) {
        gw_ns = p.namespace_;
        break;
      }
    const auto& secrets = w_.resources().secrets;
    for (size_t i = 0; i < g.servers.size() && !gw_ns.empty() && !secrets.empty(); ++i) {
      const auto& tls = g.servers[i].tls;
      if (!tls || tls->credential_name.empty()) continue;
      std::string cn = tls->credential_name;
      std::string key = cn.find('/') != std::string::npos ? cn : gw_ns + "/" + cn;
      if (std::find(secrets.begin(), secrets.end(), key) != secrets.end()) continue;
      add("MS0133", g, "spec.servers[" + std::to_string(i) + "].tls.credentialName",
          "Referenced credentialName not found: \"" + cn + "\" (no Secret " + key + " in the input; the gateway pods run "
          "in namespace " + gw_ns + "): the gateway cannot serve TLS on this server.");
    }
    for (size_t i = 0; i < g.servers.size(); ++i) {
      uint32_t port = g.servers[i].port.number;
      if (port == 0 || ports.count(port)) continue;
      add("MS0132", g, "spec.servers[" + std::to_string(i) + "].port",
          "The gateway refers to a port that is not exposed on the workload (pod selector " + labels + "; port " +
              std::to_string(port) + "): no Service of the gateway pods has it, so clients cannot reach this server.");
    }
  }

  void selectors() {
    const ResourceSet& rs = w_.resources();
    for (const auto& o : rs.peer_authentications)
      if (o.meta.namespace_ != root_) check_selector(o, o.selector, "spec.selector");
    authorization_policies();
    for (const auto& o : rs.request_authentications) check_selector(o, o.selector, "spec.selector");
    for (const auto& o : rs.telemetries) check_selector(o, o.selector, "spec.selector", "MS0101");
    for (const auto& o : rs.sidecars) check_selector(o, o.workload_selector, "spec.workloadSelector", "MS0101");
    for (const auto& g : rs.gateways) {
      if (!g.selector.empty() && any_workload(g.meta.namespace_, g.selector, true)) gateway_ports(g);
      if (g.selector.empty() || any_workload(g.meta.namespace_, g.selector, true)) continue;
      std::string labels;
      for (const auto& [k, v] : g.selector) labels += (labels.empty() ? "" : ",") + k + "=" + v;
      add("MS0101", g, "spec.selector",
          "referenced selector {" + labels + "} matches no pod in the loaded manifests: no gateway proxy serves this Gateway. "
          "Expected if the gateway is installed separately (e.g. istio-system/istio-ingressgateway); otherwise fix the selector.");
    }
    // Services without endpoints; subsets without endpoints.
    std::set<std::string> namespaces_with_pods;
    for (const auto& p : w_.pods()) namespaces_with_pods.insert(p.namespace_);
    for (const auto& s : w_.services()) {
      if (s.origin != WorldService::Origin::kKubernetes || !s.selector || s.selector->empty()) continue;
      bool any = std::any_of(s.endpoints.begin(), s.endpoints.end(), [](const auto& kv) { return !kv.second.empty(); });
      if (any) continue;
      const auto& obj = w_.resources().services[static_cast<size_t>(s.source_index)];
      bool pods_here = namespaces_with_pods.count(s.namespace_) > 0;
      add("MS0119", obj, "spec.selector",
          "no pod in namespace " + s.namespace_ + " matches the selector (or declares the named targetPort): the service "
          "has no endpoints and calls to " + s.hostname + " fail with 503 (UH, no healthy upstream).",
          pods_here ? Severity::kWarning : Severity::kInfo);
    }
    for (const auto& dr : w_.resources().destination_rules) {
      std::string fqdn = w_.config_host_to_fqdn(dr.host, dr.meta.namespace_);
      const WorldService* svc = w_.service_by_hostname(fqdn);
      if (!svc) continue;
      bool has_eps = std::any_of(svc->endpoints.begin(), svc->endpoints.end(), [](const auto& kv) { return !kv.second.empty(); });
      if (!has_eps) continue;
      for (size_t i = 0; i < dr.subsets.size(); ++i) {
        const auto& ss = dr.subsets[i];
        bool match = false;
        for (const auto& [port, eps] : svc->endpoints)
          for (const auto& e : eps)
            if (labels_subset_of(ss.labels, e.labels)) match = true;
        if (!match)
          add("MS0120", dr, "spec.subsets[" + std::to_string(i) + "].labels",
              "subset \"" + ss.name + "\" selects no endpoint of " + svc->hostname +
                  ": traffic routed to it fails with 503 (UH, no healthy upstream).");
      }
    }
  }

  // ---- MS0104 port names -----------------------------------------------------------------------------
  // Istio's service.PortNameAnalyzer: system namespaces and the Istio control
  // plane (label `istio`, `release: istio`, or a mesh-controller-managed
  // gateway) are skipped; ExternalName services report IST0150 instead, also
  // for a port named exactly "tcp".
  static bool istio_control_plane(const Labels& l) {
    if (l.count("istio")) return true;
    auto r = l.find("release");
    if (r != l.end() && r->second == "istio") return true;
    auto m = l.find("gateway.istio.io/managed");
    return m != l.end() && (m->second == "istio.io-mesh-controller" || m->second == "istio.io-gateway-controller" ||
                            m->second == "istio.io-eastwest-controller");
  }
  void port_names() {
    for (const auto& obj : w_.resources().services) {
      if (is_never_injected_namespace(obj.meta.namespace_) || istio_control_plane(obj.meta.labels)) continue;
      bool external_name = obj.type == "ExternalName";
      for (size_t i = 0; i < obj.ports.size(); ++i) {
        const auto& p = obj.ports[i];
        Protocol proto = resolve_port_protocol(static_cast<uint32_t>(p.port), p.name, p.protocol, p.app_protocol).protocol;
        if (!(proto == Protocol::kUnsupported || (external_name && p.name == "tcp"))) continue;
        std::string path = "spec.ports[" + std::to_string(i) + "]";
        std::string what = "port " + std::to_string(p.port) + (p.name.empty() ? "" : " (\"" + p.name + "\")");
        if (external_name) {
          add("MS0125", obj, path,
              what + " of an ExternalName service " +
                  (p.name == "tcp" ? std::string("is named \"tcp\"") : std::string("has no recognised protocol")) +
                  ": the sidecar may not forward TCP traffic to " + obj.external_name +
                  " correctly. Name it with the protocol it serves (http-…, https-…, tls-…) or set appProtocol.");
        } else {
          add("MS0104", obj, path,
              what + " has no recognised protocol: Istio sniffs the first bytes of every connection (HTTP or TCP). "
                     "Server-first protocols hang under sniffing. Name it <protocol>[-suffix] (http-web, tcp-db, grpc-api) or set appProtocol.");
        }
      }
    }
  }

  // ---- MS0111 / MS0112 PeerAuthentication structure ----------------------------------------------------
  void peer_authentication_structure() {
    const ResourceSet& rs = w_.resources();
    std::map<std::string, std::vector<const PeerAuthentication*>> ns_level;
    for (const auto& pa : rs.peer_authentications) {
      if (pa.meta.namespace_ == root_ && pa.has_selector())
        add("MS0111", pa, "spec.selector",
            "PeerAuthentications with a selector are ignored in the root namespace (" + root_ +
                "): this policy has no effect. Move it to the namespace of the workloads it selects.");
      if (!pa.has_selector()) ns_level[pa.meta.namespace_].push_back(&pa);
    }
    for (auto& [ns, list] : ns_level) {
      if (list.size() < 2) continue;
      std::sort(list.begin(), list.end(), [](auto* a, auto* b) { return created_before(*a, *b); });
      for (size_t i = 1; i < list.size(); ++i)
        add("MS0112", *list[i], "spec",
            std::string(ns == root_ ? "mesh" : "namespace") + "-level PeerAuthentication " + list[0]->meta.name +
                " in " + ns + " is older: Istio applies only the oldest one per level, so this one is ignored. "
                "Delete one of them (order: creationTimestamp, then name).");
    }
    // Workload level: overlapping selectors, evaluated per distinct label set.
    std::set<std::pair<std::string, Labels>> seen;
    std::set<const PeerAuthentication*> reported;
    for (const auto& p : w_.pods()) {
      if (!seen.insert({p.namespace_, p.labels}).second) continue;
      auto sel = select_peer_authentications(w_, p.namespace_, p.labels);
      for (const auto* loser : sel.shadowed) {
        if (!loser->has_selector() || reported.count(loser)) continue;
        reported.insert(loser);
        add("MS0112", *loser, "spec.selector",
            "workload " + p.name + " is also selected by the older PeerAuthentication " + sel.workload->meta.name +
                ": Istio applies only the oldest workload-level policy, so this one is ignored for it. Make the selectors disjoint.");
      }
    }
  }

  // Namespaces of injected pods (potential sidecar clients), sorted.
  const std::vector<std::string>& client_namespaces() {
    if (!clients_computed_) {
      clients_computed_ = true;
      std::map<std::string, const WorldPod*> reps;
      for (const auto& p : w_.pods()) {
        if (!p.injected) continue;
        bool plain_capture = p.interception.exclude_outbound_ports.empty() &&
                             p.interception.exclude_outbound_ip_ranges.empty() && p.interception.outbound_all_ips;
        auto [it, inserted] = reps.emplace(p.namespace_, plain_capture ? &p : nullptr);
        if (!inserted && !it->second && plain_capture) it->second = &p;
      }
      for (const auto& [ns, pod] : reps) {
        client_namespaces_.push_back(ns);
        representatives_[ns] = pod;
      }
    }
    return client_namespaces_;
  }

  // One representative injected client per namespace (first pod with default outbound capture).
  const WorldPod* representative_client(const std::string& ns) {
    client_namespaces();
    auto it = representatives_.find(ns);
    return it == representatives_.end() ? nullptr : it->second;
  }

  // ---- MS0107 / MS0108 / MS0109 mTLS conflicts ---------------------------------------------------------
  void mtls_conflicts() {
    const ResourceSet& rs = w_.resources();
    // DR-level checks.
    for (const auto& dr : rs.destination_rules) {
      std::string fqdn = w_.config_host_to_fqdn(dr.host, dr.meta.namespace_);
      for (const WorldService* svc : services_for_host(fqdn)) {
        std::vector<std::string> subsets = {""};
        for (const auto& s : dr.subsets) subsets.push_back(s.name);
        for (const auto& port : svc->ports) {
          auto eps = svc->endpoints.find(port.port);
          if (eps == svc->endpoints.end()) continue;
          for (const auto& subset : subsets) {
            auto tp = merged_traffic_policy(&dr, subset, port.port);
            if (!tp || !tp->tls) continue;
            const Subset* ss = nullptr;
            for (const auto& s : dr.subsets)
              if (s.name == subset) ss = &s;
            std::string path = "spec.trafficPolicy.tls";
            if (ss) path = "spec.subsets[" + std::to_string(ss - dr.subsets.data()) + "]";
            std::string where = subset.empty() ? "" : " (subset " + subset + ")";
            for (const auto& e : eps->second) {
              if (ss && !labels_subset_of(ss->labels, e.labels)) continue;
              if (tp->tls->mode == ClientTlsMode::kDisable && e.sidecar && e.pod >= 0) {
                const WorldPod& pod = w_.pods()[static_cast<size_t>(e.pod)];
                if (!captures_inbound(pod.interception, static_cast<uint16_t>(e.port))) continue;
                auto pa = effective_peer_authentication(w_, pod, e.port);
                if (pa.mode != MtlsMode::kStrict) continue;
                if (reported_.insert("0107/" + dr.display() + "/" + std::to_string(port.port) + subset).second)
                  add("MS0107", dr, path,
                      "tls.mode DISABLE for " + svc->hostname + ":" + std::to_string(port.port) + where +
                          " sends plaintext, but pod " + pod.name + " is STRICT (" + pa.reason +
                          "): it has no plaintext filter chain and closes the connection — HTTP clients get 503 "
                          "(upstream connect error/reset), TCP clients a reset. Fix: use ISTIO_MUTUAL (or drop the tls "
                          "block to let auto mTLS decide), or relax the PeerAuthentication.");
              }
              if (tp->tls->mode == ClientTlsMode::kIstioMutual && !e.sidecar && !svc->mesh_external) {
                if (reported_.insert("0108/" + dr.display() + "/" + std::to_string(port.port) + subset).second)
                  add("MS0108", dr, path,
                      "tls.mode ISTIO_MUTUAL for " + svc->hostname + ":" + std::to_string(port.port) + where +
                          " but endpoint " + e.address + (e.pod >= 0 ? " (pod " + w_.pods()[static_cast<size_t>(e.pod)].name + ")" : "") +
                          " has no sidecar: the mTLS handshake reaches a plaintext server and fails — clients get 503 "
                          "(UF, TLS error). Fix: inject the workload, or use DISABLE for it (e.g. a subset or port-level setting).");
              }
            }
          }
        }
      }
    }
    // MS0109: namespace DISABLE + workload STRICT, with auto mTLS deciding.
    const auto clients = client_namespaces();
    for (const auto& svc : w_.services()) {
      if (svc.origin != WorldService::Origin::kKubernetes) continue;
      if (namespace_mtls_mode(w_, svc.namespace_) != ServiceMtlsMode::kDisable) continue;
      for (const auto& port : svc.ports) {
        auto eps = svc.endpoints.find(port.port);
        if (eps == svc.endpoints.end()) continue;
        for (const auto& e : eps->second) {
          if (e.pod < 0 || !e.sidecar) continue;
          const WorldPod& pod = w_.pods()[static_cast<size_t>(e.pod)];
          auto pa = effective_peer_authentication(w_, pod, e.port);
          if (pa.mode != MtlsMode::kStrict) continue;
          for (const auto& cns : clients) {
            const WorldPod* client = representative_client(cns);
            if (!client) continue;
            auto d = client_tls_decision(w_, client, svc, "", port.port, e);
            if (d.mode != ClientTlsDecision::Mode::kPlaintext || d.user_supplied) continue;
            if (!reported_.insert("0109/" + pod_owner(pod) + "/" + std::to_string(e.port)).second) break;
            const Object* obj = pa.policy ? static_cast<const Object*>(pa.policy) : nullptr;
            std::string msg = "namespace " + svc.namespace_ + " is DISABLE at namespace/mesh level, so auto mTLS builds the "
                              "cluster for " + svc.hostname + ":" + std::to_string(port.port) + " without TLS; but pod " +
                              pod.name + " is STRICT on port " + std::to_string(e.port) + " (" + pa.reason +
                              "). Sidecar clients (e.g. from namespace " + cns + ") send plaintext and are rejected: HTTP 503 / "
                              "TCP reset. Fix: a DestinationRule with tls.mode ISTIO_MUTUAL for " + svc.hostname +
                              ", or make the namespace policy PERMISSIVE.";
            if (obj) add("MS0109", *obj, "spec", msg);
            else add_at("MS0109", pod.object ? locate(*pod.object, pod.source_path_prefix) : pod.source, pod_owner(pod), "", msg);
            break;
          }
        }
      }
    }
  }

  // ---- MS0105 server-first ------------------------------------------------------------------------------
  void server_first() {
    for (const auto& svc : w_.services()) {
      if (svc.origin != WorldService::Origin::kKubernetes) continue;
      for (const auto& port : svc.ports) {
        auto eps = svc.endpoints.find(port.port);
        if (eps == svc.endpoints.end()) continue;
        bool sf = is_server_first(port.port, port.protocol);
        bool named = port.name.find("mysql") != std::string::npos || port.name.find("mongo") != std::string::npos;
        for (const auto& e : eps->second) {
          if (!(sf || named || is_server_first(e.port, Protocol::kUnsupported))) continue;
          if (e.pod < 0 || !e.sidecar) continue;
          const WorldPod& pod = w_.pods()[static_cast<size_t>(e.pod)];
          if (!captures_inbound(pod.interception, static_cast<uint16_t>(e.port))) continue;
          auto pa = effective_peer_authentication(w_, pod, e.port);
          if (pa.mode != MtlsMode::kPermissive) continue;
          // Find a client that would connect in plaintext.
          std::string client_desc;
          for (const auto& c : w_.pods()) {
            if (&c == &pod) continue;
            if (!c.injected) {
              client_desc = "pod " + c.namespace_ + "/" + c.name + " has no sidecar";
              break;
            }
          }
          if (client_desc.empty()) {
            for (const auto& cns : client_namespaces()) {
              const WorldPod* client = representative_client(cns);
              if (!client) continue;
              auto d = client_tls_decision(w_, client, svc, "", port.port, e);
              if (d.mode == ClientTlsDecision::Mode::kPlaintext) {
                client_desc = "sidecar clients in namespace " + cns + " send plaintext (" + d.reason + ")";
                break;
              }
            }
          }
          if (client_desc.empty()) continue;
          if (!reported_.insert("0105/" + pod_owner(pod) + "/" + std::to_string(e.port)).second) continue;
          bool timeout = !w_.mesh_config().protocol_detection_timeout.is_zero();
          std::string msg =
              "server-first port " + std::to_string(e.port) + " of pod " + pod.name + " (Service " + svc.name + " port " +
              std::to_string(port.port) + ") is PERMISSIVE (" + pa.reason + ") and " + client_desc + ". The sidecar's TLS "
              "inspector waits for the client's first bytes while the server waits for the client: " +
              (timeout ? "every connection stalls for protocolDetectionTimeout (" +
                             format_duration(w_.mesh_config().protocol_detection_timeout) + ") before falling back to plaintext."
                       : "the connection hangs until the client times out (MySQL: ERROR 2013 (HY000): Lost connection to "
                         "MySQL server at 'reading initial communication packet').") +
              " Fix: make the port STRICT (sidecar clients only) or DISABLE with a PeerAuthentication portLevelMtls, or "
              "give the client a sidecar.";
          add_at("MS0105", pod.object ? locate(*pod.object, pod.source_path_prefix) : pod.source, pod_owner(pod),
                 pod.source_path_prefix, msg,
                 timeout ? Severity::kInfo : Severity::kWarning);
        }
      }
    }
  }

  // ---- MS0106 excludeInboundPorts -----------------------------------------------------------------------
  void excluded_inbound_ports() {
    for (const auto& svc : w_.services()) {
      for (const auto& port : svc.ports) {
        auto eps = svc.endpoints.find(port.port);
        if (eps == svc.endpoints.end()) continue;
        for (const auto& e : eps->second) {
          if (e.pod < 0 || !e.sidecar) continue;
          const WorldPod& pod = w_.pods()[static_cast<size_t>(e.pod)];
          if (captures_inbound(pod.interception, static_cast<uint16_t>(e.port))) continue;
          if (pod.annotations.count("traffic.sidecar.istio.io/excludeInboundPorts") == 0 &&
              pod.annotations.count("traffic.sidecar.istio.io/includeInboundPorts") == 0)
            continue;
          for (const auto& cns : client_namespaces()) {
            const WorldPod* client = representative_client(cns);
            if (!client || client == &pod) continue;
            auto d = client_tls_decision(w_, client, svc, "", port.port, e);
            if (d.mode != ClientTlsDecision::Mode::kIstioMutual) continue;
            if (!reported_.insert("0106/" + pod_owner(pod) + "/" + std::to_string(e.port)).second) break;
            std::string key = pod.annotations.count("traffic.sidecar.istio.io/excludeInboundPorts")
                                  ? "traffic.sidecar.istio.io/excludeInboundPorts"
                                  : "traffic.sidecar.istio.io/includeInboundPorts";
            add_at("MS0106", pod.object ? locate_annotation(*pod.object, pod.source_path_prefix, key) : pod.source,
                   pod_owner(pod), pod.source_path_prefix + ".annotations." + key,
                   "port " + std::to_string(e.port) + " of pod " + pod.name + " is not captured by its sidecar (" + key +
                       "), but istiod does not know that: sidecar clients (e.g. from namespace " + cns + ") still send mTLS "
                       "to " + svc.hostname + ":" + std::to_string(port.port) + " and the app receives TLS bytes it cannot "
                       "read. Fix: a DestinationRule for " + svc.hostname + " with portLevelSettings port " +
                       std::to_string(port.port) + " tls.mode DISABLE.");
            break;
          }
        }
      }
    }
  }

  // ---- MS0110 probes --------------------------------------------------------------------------------------
  void probes() {
    std::set<std::string> done;
    for (const auto& pod : w_.pods()) {
      if (!pod.injected || pod.rewrite_app_http_probers || !pod.spec) continue;
      if (!done.insert(pod_owner(pod)).second) continue;
      for (size_t ci = 0; ci < pod.spec->containers.size(); ++ci) {
        const auto& c = pod.spec->containers[ci];
        const std::pair<const char*, const std::optional<Probe>*> probes[] = {
            {"livenessProbe", &c.liveness}, {"readinessProbe", &c.readiness}, {"startupProbe", &c.startup}};
        for (const auto& [name, probe] : probes) {
          if (!*probe) continue;
          const Probe& p = **probe;
          if (p.handler == Probe::Handler::kExec || p.handler == Probe::Handler::kNone) continue;
          uint32_t port = p.port.is_int ? static_cast<uint32_t>(p.port.int_value) : pod.named_port(p.port.str_value);
          if (port == 0 || !captures_inbound(pod.interception, static_cast<uint16_t>(port))) continue;
          auto pa = effective_peer_authentication(w_, pod, port);
          if (pa.mode != MtlsMode::kStrict) continue;
          std::string prefix = pod.owner_kind == Kind::kPod ? "spec" : "spec.template.spec";
          std::string field = prefix + ".containers[" + std::to_string(ci) + "]." + name;
          add_at("MS0110", pod.object ? locate(*pod.object, field) : pod.source, pod_owner(pod), field,
                 std::string(name) + " of container " + c.name + " probes port " + std::to_string(port) +
                     " in plaintext (the kubelet has no mesh certificate), probe rewrite is off "
                     "(sidecar.istio.io/rewriteAppHTTPProbers: \"false\") and the port is STRICT (" + pa.reason +
                     "): the sidecar rejects every probe, so the pod is restarted or never becomes ready. Fix: turn probe "
                     "rewrite back on, probe a port excluded from capture, or make that port PERMISSIVE.");
        }
      }
    }
  }

  // ---- MS0114 / MS0118 ingress ------------------------------------------------------------------------------
  bool processes_ingress(const Ingress& ing) const { return istio_processes_ingress(w_, ing); }

  void ingresses() {
    for (const auto& ing : w_.resources().ingresses) {
      if (!processes_ingress(ing)) {
        add("MS0118", ing, "metadata",
            "Istio does not process this Ingress: it needs annotation kubernetes.io/ingress.class: " +
                w_.mesh_config().ingress_class + " or an ingressClassName whose IngressClass has controller "
                "istio.io/ingress-controller (ingressControllerMode " + w_.mesh_config().ingress_controller_mode + ").");
        continue;
      }
      for (const auto& [k, v] : ing.meta.annotations) {
        if (k == "kubernetes.io/ingress.class" || k == "kubectl.kubernetes.io/last-applied-configuration") continue;
        add("MS0114", ing, "metadata.annotations." + k,
            "annotation " + k + " is ignored by Istio's Ingress controller (only kubernetes.io/ingress.class is read): "
            "rewrites, timeouts and other controller-specific settings do not apply. Use a Gateway + VirtualService for them.",
            Severity::kInfo);
      }
      for (size_t i = 0; i < ing.rules.size(); ++i)
        for (size_t j = 0; j < ing.rules[i].paths.size(); ++j) {
          const auto& p = ing.rules[i].paths[j];
          std::string path = "spec.rules[" + std::to_string(i) + "].http.paths[" + std::to_string(j) + "].path";
          IngressPathMatch m = ingress_path_match(p);
          if (m.type == IngressPathMatch::Type::kAny) continue;
          bool regex = m.value.find_first_of("*+?[](){}|^$\\") != std::string::npos;
          if (!regex) continue;
          std::string how = m.type == IngressPathMatch::Type::kPrefix ? "as a literal prefix (\"" + m.value + "\")"
                                                                     : "exactly, character for character";
          add("MS0114", ing, path,
              "path \"" + p.path + "\" looks like a regular expression, but Istio does not support regex Ingress paths: "
              "it matches it " + how + ", so requests you meant to match get 404. Use pathType Prefix with a plain "
              "prefix, or a VirtualService with uri.regex.");
        }
    }
  }

  // ---- MS0115 / MS0116 / MS0121 virtual services -----------------------------------------------------------------
  static std::string match_key(const HttpMatchRequest& m) {
    auto sm = [](const std::optional<StringMatch>& s) {
      return s ? std::to_string(static_cast<int>(s->type)) + ":" + s->value : std::string("-");
    };
    std::string k = sm(m.uri) + "|" + sm(m.scheme) + "|" + sm(m.method) + "|" + sm(m.authority) + "|";
    for (const auto& [h, v] : m.headers) k += h + "=" + std::to_string(static_cast<int>(v.type)) + v.value + ";";
    k += "|";
    for (const auto& [h, v] : m.query_params) k += h + "=" + std::to_string(static_cast<int>(v.type)) + v.value + ";";
    k += "|";
    for (const auto& [h, v] : m.without_headers) k += h + "=" + std::to_string(static_cast<int>(v.type)) + v.value + ";";
    k += "|" + (m.port ? std::to_string(*m.port) : "") + "|";
    for (const auto& [a, b] : m.source_labels) k += a + "=" + b + ";";
    for (const auto& g : m.gateways) k += g + ",";
    k += "|" + m.source_namespace + (m.ignore_uri_case ? "|i" : "");  // the name is not compared (asJSON drops it)
    return k;
  }
  static std::string match_key(const L4MatchAttributes& m) {
    std::string k;
    for (const auto& s : m.destination_subnets) k += s + ",";
    k += "|" + (m.port ? std::to_string(*m.port) : "") + "|";
    for (const auto& [a, b] : m.source_labels) k += a + "=" + b + ";";
    for (const auto& g : m.gateways) k += g + ",";
    return k + "|" + m.source_namespace;
  }
  static std::string match_key(const TlsMatchAttributes& m) {
    std::string k;
    for (const auto& s : m.sni_hosts) k += s + ",";
    k += "|";
    for (const auto& s : m.destination_subnets) k += s + ",";
    k += "|" + (m.port ? std::to_string(*m.port) : "") + "|";
    for (const auto& [a, b] : m.source_labels) k += a + "=" + b + ";";
    for (const auto& g : m.gateways) k += g + ",";
    return k + "|" + m.source_namespace;
  }
  // Istio's routeName / requestName: an HTTP route's or match's name in
  // quotes, else "#<index>" (TCP and TLS routes and matches have no names).
  static std::string rule_name(const std::string& name, size_t n) {
    return name.empty() ? "#" + std::to_string(n) : "\"" + name + "\"";
  }
  template <typename M>
  static std::string match_name(const M& m, size_t n) {
    if constexpr (requires { m.name; }) return rule_name(m.name, n);
    return "#" + std::to_string(n);
  }

  // One HTTP match with a URI prefix, as Istio's genMatchHTTPRoutes builds it
  // for the overlapping-match check ("exact:"/"prefix:" values; the method
  // defaults to exact GET).
  struct PrefixMatch {
    std::string route, match, prefix, path;
    uint32_t port = 0;
    std::string method, authority;
    std::map<std::string, std::string> headers, query, without;
  };
  static std::string exact_or_prefix(const std::optional<StringMatch>& m) {
    if (!m || m->value.empty()) return "";
    if (m->type == StringMatch::Type::kExact) return "exact:" + m->value;
    if (m->type == StringMatch::Type::kPrefix) return "prefix:" + m->value;
    return "";
  }
  static std::map<std::string, std::string> exact_or_prefix(const std::map<std::string, StringMatch>& in) {
    std::map<std::string, std::string> out;
    for (const auto& [k, v] : in) out[k] = exact_or_prefix(std::optional<StringMatch>(v));
    return out;
  }
  static bool starts_with(const std::string& s, const std::string& p) { return s.compare(0, p.size(), p) == 0 && s.size() >= p.size(); }
  // coveredValidation: does A (earlier) cover B (later)?
  static bool covered(const PrefixMatch& a, const PrefixMatch& b) {
    if (!starts_with(b.prefix, a.prefix) || a.port != b.port) return false;
    if (a.method != b.method && !starts_with(a.method, b.method)) return false;
    if (a.authority != b.authority && !starts_with(a.authority, b.authority)) return false;
    auto maps = [](const std::map<std::string, std::string>& x, const std::map<std::string, std::string>& y) {
      if (x.size() != y.size()) return false;
      for (const auto& [k, v] : x) {
        auto it = y.find(k);
        if (it == y.end() || (v != it->second && !starts_with(v, it->second))) return false;
      }
      return true;
    };
    return maps(a.headers, b.headers) && maps(a.query, b.query) && maps(a.without, b.without);
  }

  // Istio's analyzeUnreachable{HTTP,TCP,TLS}Rules (pkg/config/validation):
  // a second rule without match is unreachable ("only the last rule can have
  // no matches"); after a rule without match, every match of a later rule is
  // ("route without matches defined before"); a match identical to an earlier
  // rule's (ignoring its name) is ineffective, and a rule all of whose matches
  // are is unreachable ("all matches used by prior rules"); for HTTP, a URI
  // prefix match covered by an earlier one is ineffective too.
  template <typename Route>
  void unreachable_rules(const VirtualService& vs, const std::vector<Route>& routes, const char* kind) {
    std::map<std::string, size_t> seen;  // match key → rule index
    long empty_seen = -1;
    std::vector<PrefixMatch> prefixes;
    auto name_of = [&](size_t i) {
      if constexpr (requires { routes[i].name; }) return rule_name(routes[i].name, i);
      return rule_name("", i);
    };
    auto unreachable = [&](size_t i, const std::string& why) {
      add("MS0116", vs, route_path(kind, i), "VirtualService rule " + name_of(i) + " not used (" + why + ").");
    };
    for (size_t i = 0; i < routes.size(); ++i) {
      const Route& r = routes[i];
      if (r.match.empty()) {
        if (empty_seen >= 0) unreachable(i, "only the last rule can have no matches");
        empty_seen = static_cast<long>(i);
        continue;
      }
      size_t dups = 0;
      for (size_t m = 0; m < r.match.size(); ++m) {
        if (empty_seen >= 0) {
          unreachable(i, "route without matches defined before");
          continue;
        }
        std::string key = match_key(r.match[m]);
        auto it = seen.find(key);
        if (it != seen.end()) {
          add("MS0126", vs, route_path(kind, i) + ".match[" + std::to_string(m) + "]",
              "VirtualService rule " + name_of(i) + " match " + match_name(r.match[m], m) +
                  " is not used (duplicate/overlapping match in rule " + name_of(it->second) + ").");
          ++dups;
          continue;
        }
        seen.emplace(key, i);
        if constexpr (std::is_same_v<Route, HttpRoute>) {
          const HttpMatchRequest& hm = r.match[m];
          if (hm.uri && hm.uri->type == StringMatch::Type::kPrefix && !hm.uri->value.empty()) {
            PrefixMatch pm;
            pm.route = name_of(i);
            pm.match = match_name(hm, m);
            pm.prefix = hm.uri->value;
            pm.port = hm.port.value_or(0);
            pm.method = exact_or_prefix(hm.method);
            if (pm.method.empty()) pm.method = "exact:GET";
            pm.authority = exact_or_prefix(hm.authority);
            pm.headers = exact_or_prefix(hm.headers);
            pm.query = exact_or_prefix(hm.query_params);
            pm.without = exact_or_prefix(hm.without_headers);
            pm.path = route_path(kind, i) + ".match[" + std::to_string(m) + "]";
            prefixes.push_back(std::move(pm));
          }
        }
      }
      if (dups == r.match.size()) unreachable(i, "all matches used by prior rules");
    }
    for (size_t a = 0; a < prefixes.size(); ++a)
      for (size_t b = a + 1; b < prefixes.size(); ++b) {
        if (prefixes[b].prefix == prefixes[a].prefix) continue;
        if (!covered(prefixes[a], prefixes[b])) continue;
        add("MS0126", vs, prefixes[b].path,
            "VirtualService rule " + prefixes[b].route + " match " + prefixes[b].match + " of prefix " + prefixes[b].prefix +
                " is not used (duplicate/overlapping match in rule " + prefixes[a].match + " of prefix " + prefixes[a].prefix +
                " on " + prefixes[a].route + ").");
      }
  }

  // The control plane's own merge decisions (mesh/vs_delegation.h).
  void delegations() {
    auto find = [&](const std::string& key) -> const VirtualService* {
      for (const auto& vs : w_.resources().virtual_services)
        if (vs.meta.namespace_ + "/" + vs.meta.name == key) return &vs;
      return nullptr;
    };
    for (const DelegationIssue& is : w_.delegation_issues()) {
      if (is.kind == DelegationIssue::Kind::kMatchConflict) {
        if (const VirtualService* d = find(is.delegate))
          add("MS0145", *d, route_path("http", is.delegate_route) + ".match",
              is.message + " (root " + is.root + "); istiod leaves this route out of " + is.root + ".");
        continue;
      }
      if (const VirtualService* r = find(is.root))
        add("MS0145", *r, route_path("http", is.route) + ".delegate",
            is.message + "; istiod leaves this route out, so requests it would take fall through to the next route.");
    }
  }

  void virtual_services() {
    std::map<std::string, std::vector<const VirtualService*>> mesh_hosts;
    for (const auto& vs : w_.resources().virtual_services) {
      // Faults.
      for (size_t i = 0; i < vs.http.size(); ++i) {
        const auto& r = vs.http[i];
        if (!r.fault) continue;
        std::string base = route_path("http", i) + ".fault";
        if (r.fault->delay && (!r.fault->delay->percentage || *r.fault->delay->percentage <= 0) &&
            (!r.fault->delay->percent || *r.fault->delay->percent <= 0))
          add("MS0115", vs, base + ".delay",
              "fault.delay has no percentage (or 0): Istio applies it to 0% of requests, so it never fires. "
              "Add percentage: {value: 100} (or the share you want).");
        if (r.fault->abort && (!r.fault->abort->percentage || *r.fault->abort->percentage <= 0))
          add("MS0115", vs, base + ".abort",
              "fault.abort has no percentage (or 0): Istio applies it to 0% of requests, so it never fires. "
              "Add percentage: {value: 100} (or the share you want).");
      }
      // Unreachable rules and ineffective matches, as Istio reports them.
      unreachable_rules(vs, vs.http, "http");
      unreachable_rules(vs, vs.tcp, "tcp");
      unreachable_rules(vs, vs.tls, "tls");
      // Istio's ConflictingMeshGatewayHostsAnalyzer: hosts keyed by their
      // export scope ("*" when exported everywhere, else each namespace of
      // exportTo, "." = the VirtualService's own) and FQDN (a name without a
      // dot or wildcard gets <ns>.svc.cluster.local).
      bool mesh = vs.gateways.empty() || std::find(vs.gateways.begin(), vs.gateways.end(), "mesh") != vs.gateways.end();
      if (mesh) {
        std::set<std::string> scopes;
        if (vs.export_to.empty() || std::find(vs.export_to.begin(), vs.export_to.end(), "*") != vs.export_to.end()) {
          scopes.insert("*");
        } else {
          for (const auto& e : vs.export_to) scopes.insert(e == "." ? vs.meta.namespace_ : e);
        }
        for (const auto& scope : scopes)
          for (const auto& h : vs.hosts) {
            std::string fqdn = h;
            if (h.empty() || (h[0] != '*' && h.find('.') == std::string::npos))
              fqdn = h + "." + vs.meta.namespace_ + ".svc." + w_.mesh_config().cluster_domain;
            mesh_hosts[scope + "/" + fqdn].push_back(&vs);
          }
      }
    }
    for (auto& [scoped, list] : mesh_hosts) {
      if (list.size() < 2) continue;
      std::string names;
      for (auto* v : list) names += (names.empty() ? "" : ",") + v->meta.namespace_ + "/" + v->meta.name;
      for (auto* v : list)
        add("MS0121", *v, "metadata.name",
            "The VirtualServices " + names + " associated with mesh gateway define the same host " + scoped +
                " which can lead to undefined behavior. This can be fixed by merging the conflicting VirtualServices "
                "into a single resource.");
    }
  }

  // ---- MS0122 sidecars; MS0123 proxy uid -------------------------------------------------------------------------
  void sidecars() {
    std::map<std::string, std::vector<const SidecarResource*>> by_ns;
    for (const auto& s : w_.resources().sidecars)
      if (!s.workload_selector || s.workload_selector->match_labels.empty()) by_ns[s.meta.namespace_].push_back(&s);
    for (auto& [ns, list] : by_ns) {
      if (list.size() < 2) continue;
      for (auto* s : list)
        add("MS0122", *s, "spec",
            "namespace " + ns + " has " + std::to_string(list.size()) + " Sidecars without workloadSelector: Istio picks "
            "one arbitrarily. Keep one namespace-wide Sidecar.");
    }
  }

  void proxy_uid() {
    std::set<std::string> done;
    for (const auto& pod : w_.pods()) {
      if (!pod.injected || !pod.spec || !done.insert(pod_owner(pod)).second) continue;
      for (size_t ci = 0; ci < pod.spec->containers.size(); ++ci) {
        const auto& c = pod.spec->containers[ci];
        if (c.run_as_user && *c.run_as_user == 1337) {
          std::string prefix = pod.owner_kind == Kind::kPod ? "spec" : "spec.template.spec";
          std::string field = prefix + ".containers[" + std::to_string(ci) + "].securityContext.runAsUser";
          add_at("MS0123", pod.object ? locate(*pod.object, field) : pod.source, pod_owner(pod), field,
                 "container " + c.name + " runs as UID 1337, the proxy's UID: istio-iptables never redirects that UID's "
                 "traffic, so this app's outbound calls bypass the sidecar (no mTLS, no routing). Use another UID.");
        }
      }
    }
  }

  bool clients_computed_ = false;
  std::vector<std::string> client_namespaces_;
  std::map<std::string, const WorldPod*> representatives_;
  const World& w_;
  std::string root_;
  std::map<std::string, std::vector<const WorldService*>, std::less<>> by_hostname_;
  std::vector<Diagnostic> out_;
  std::set<std::string> reported_;
};

}  // namespace

std::vector<Diagnostic> analyze_world(const World& w) { return Analysis(w).run(); }

AnalysisResult analyze_inputs(const std::vector<std::string>& paths, const std::string& mesh_config_file,
                              std::istream* stdin_stream, const std::vector<std::string>& inject_namespaces) {
  AnalysisResult r;
  LoadResult loaded = load_paths(paths, stdin_stream);
  r.stats = loaded.stats;
  r.diagnostics = std::move(loaded.diagnostics);
  MeshConfig mc = resolve_mesh_config(loaded.resources, r.diagnostics);
  if (!mesh_config_file.empty()) {
    apply_mesh_config_file(mesh_config_file, mc, r.diagnostics);
    ++r.stats.files;
  }
  mc.inject_namespaces.insert(inject_namespaces.begin(), inject_namespaces.end());
  World w = build_world(std::move(loaded.resources), std::move(mc), r.diagnostics);
  for (auto& d : analyze_world(w)) r.diagnostics.push_back(std::move(d));
  sort_diagnostics(r.diagnostics);
  for (const auto& d : r.diagnostics)
    if (d.severity == Severity::kError && d.code.rfind("MS00", 0) == 0) r.input_errors = true;
  return r;
}

}  // namespace meshsim::mesh
