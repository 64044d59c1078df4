#include "mesh/coverage.h"

#include "mesh/mesh_config.h"

namespace meshsim::mesh {

namespace {

std::string group_of(const std::string& api_version) {
  size_t slash = api_version.find('/');
  return slash == std::string::npos ? "" : api_version.substr(0, slash);
}

std::string name_of(const Object& o) { return o.meta.namespace_.empty() ? o.meta.name : o.meta.namespace_ + "/" + o.meta.name; }

void object(std::vector<NotModelled>& out, const Object& o, std::string effect) {
  out.push_back({kind_name(o.kind), group_of(o.api_version), name_of(o), "", std::move(effect), o.source.location});
}

void field(std::vector<NotModelled>& out, const Object& o, const std::string& path, std::string effect) {
  out.push_back({kind_name(o.kind), group_of(o.api_version), name_of(o), path, std::move(effect), locate(o, path)});
}

void traffic_policy(std::vector<NotModelled>& out, const DestinationRule& dr, const TrafficPolicy& tp,
                    const std::string& at) {
  if (tp.load_balancer && tp.load_balancer->warmup_duration) {
    field(out, dr, at + ".loadBalancer.warmupDuration", "slow-start warm-up is not simulated");
  }
  if (tp.connection_pool && tp.connection_pool->tcp) {
    const auto& t = *tp.connection_pool->tcp;
    if (t.max_connection_duration) field(out, dr, at + ".connectionPool.tcp.maxConnectionDuration", "is not simulated");
    if (t.tcp_keepalive) field(out, dr, at + ".connectionPool.tcp.tcpKeepalive", "TCP keepalive probes are not simulated");
  }
  for (size_t i = 0; i < tp.port_level_settings.size(); ++i) {
    const PortTrafficPolicy& p = tp.port_level_settings[i];
    TrafficPolicy as{p.load_balancer, p.connection_pool, p.outlier_detection, p.tls, {}, false, false};
    traffic_policy(out, dr, as, at + ".portLevelSettings[" + std::to_string(i) + "]");
  }
}

// gRPC-Web (a port named grpc-web or appProtocol grpc-web): HTTP/2 and gRPC
// are simulated (docs/model/http2.md), the gRPC-Web translation is not.
bool is_grpc_web(const ServicePort& p) {
  std::string proto = p.app_protocol ? *p.app_protocol : p.name;
  for (char& c : proto) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return proto == "grpc-web" || proto.rfind("grpc-web-", 0) == 0;
}

}  // namespace

std::string NotModelled::line() const {
  std::string s = "not modelled: " + kind + " " + object;
  if (!group.empty()) s += " (" + group + ")";
  if (!field.empty()) s += " " + field;
  s += " — " + effect;
  if (location.known()) s += "  [" + location.str() + "]";
  return s;
}

std::vector<NotModelled> not_modelled(const ResourceSet& rs, const MeshConfig* mc) {
  std::vector<NotModelled> out;
  for (const auto& ap : rs.authorization_policies) {
    if (ap.action == AuthzAction::kCustom) {
      bool http = false;
      if (mc)
        for (const auto& p : mc->ext_authz_http_providers) http = http || p.name == ap.provider;
      if (!http) {
        object(out, ap,
               "CUSTOM with provider \"" + ap.provider +
                   "\" is not simulated (only envoyExtAuthzHttp providers of the mesh config are): the requests it "
                   "selects are denied, as istiod does for a provider it cannot build");
        continue;
      }
    }
    if (!ap.target_refs.empty()) {
      field(out, ap, "spec.targetRefs",
            "binds the policy to a gateway or waypoint, which meshsim does not simulate (sidecars ignore it, as in "
            "Istio)");
    }
    for (size_t i = 0; i < ap.rules.size(); ++i) {
      for (size_t j = 0; j < ap.rules[i].when.size(); ++j) {
        if (ap.rules[i].when[j].key.rfind("experimental.envoy.filters.", 0) == 0) {
          field(out, ap, "spec.rules[" + std::to_string(i) + "].when[" + std::to_string(j) + "]",
                "reads metadata of an Envoy filter meshsim does not run: the condition never matches");
        }
      }
    }
  }
  for (const auto& ra : rs.request_authentications) {
    for (size_t i = 0; i < ra.jwt_rules.size(); ++i) {
      const JwtRule& r = ra.jwt_rules[i];
      if (!r.jwks.empty() || (!r.jwks_uri.empty() && rs.jwks_documents.count(r.jwks_uri))) continue;
      field(out, ra, "spec.jwtRules[" + std::to_string(i) + "]",
            "its JWKS is not available offline (" +
                (r.jwks_uri.empty() ? std::string("no jwks; istiod would use the issuer's discovery document")
                                    : "jwksUri " + r.jwks_uri) +
                "): no token verifies (give it with --jwks URI=FILE)");
    }
    if (!ra.target_refs.empty()) {
      field(out, ra, "spec.targetRefs",
            "binds the policy to a gateway or waypoint, which meshsim does not simulate (sidecars ignore it, as in "
            "Istio)");
    }
  }
  for (const auto& t : rs.telemetries) {
    // Tracing is simulated (mesh/telemetry.h) except non-literal custom tags;
    // metrics providers, reportingInterval and turning every metric off are
    // simulated (docs/model/telemetry.md); per-metric overrides and access
    // logging are not.
    for (size_t i = 0; i < t.tracing.size(); ++i) {
      for (const std::string& tag : t.tracing[i].unsimulated_custom_tags)
        field(out, t, "spec.tracing[" + std::to_string(i) + "].customTags." + tag,
              "header and environment custom tags are not simulated (literal tags are): spans lack this tag");
    }
    bool metric_overrides = false;
    for (const auto& mm : t.metrics)
      for (const auto& o : mm.overrides)
        if (!((o.metric.empty() || o.metric == "ALL_METRICS") && o.mode.empty())) metric_overrides = true;
    if (metric_overrides) field(out, t, "spec.metrics", "per-metric or per-mode metric overrides are not simulated");
    if (!t.access_logging.empty()) field(out, t, "spec.accessLogging", "access-log settings are not simulated");
  }
  // Gateways run (mesh/gateway.h, docs/model/ingress.md) except these server settings.
  for (const auto& g : rs.gateways) {
    for (size_t i = 0; i < g.servers.size(); ++i) {
      const GatewayServer& sv = g.servers[i];
      std::string at = "spec.servers[" + std::to_string(i) + "]";
      if (!sv.bind.empty()) field(out, g, at + ".bind", "the gateway listens on 0.0.0.0: bind addresses are not simulated");
      if (sv.tls && sv.tls->mode == ServerTlsMode::kAutoPassthrough)
        field(out, g, at + ".tls.mode", "AUTO_PASSTHROUGH (SNI-based multi-network routing) is not simulated: the server gets no filter chain");
      if (sv.tls && !sv.tls->subject_alt_names.empty())
        field(out, g, at + ".tls.subjectAltNames", "client-certificate SAN verification is not simulated: any certificate of the CA is accepted");
      if (sv.tls && !sv.tls->cipher_suites.empty())
        field(out, g, at + ".tls.cipherSuites", "cipher suite restrictions are not simulated");
      std::string proto = sv.port.protocol;
      if (proto == "GRPC" || proto == "HTTP2" || proto == "GRPC-WEB")
        field(out, g, at + ".port.protocol", "HTTP/2 is not simulated: the gateway speaks HTTP/1.1 on this server");
    }
  }

  for (const auto& dr : rs.destination_rules) {
    if (dr.traffic_policy) traffic_policy(out, dr, *dr.traffic_policy, "spec.trafficPolicy");
    for (size_t i = 0; i < dr.subsets.size(); ++i) {
      if (dr.subsets[i].traffic_policy) {
        traffic_policy(out, dr, *dr.subsets[i].traffic_policy, "spec.subsets[" + std::to_string(i) + "].trafficPolicy");
      }
    }
  }
  for (const auto& svc : rs.services) {
    for (size_t i = 0; i < svc.ports.size(); ++i) {
      if (is_grpc_web(svc.ports[i])) {
        field(out, svc, "spec.ports[" + std::to_string(i) + "]",
              "gRPC-Web translation (envoy.filters.http.grpc_web) is not simulated: requests are proxied as they are");
      }
    }
  }
  // Ambient (docs/model/ambient.md): waypoints are not simulated, nor
  // sidecars sending HBONE to ambient pods.
  auto use_waypoint = [&](const Object& o) {
    if (o.meta.labels.count("istio.io/use-waypoint"))
      field(out, o, "metadata.labels.istio.io/use-waypoint",
            "waypoints are not simulated: traffic goes straight to the destination's ztunnel and the waypoint's L7 "
            "policy is not applied");
  };
  bool sidecars = false;
  for (const auto& ns : rs.namespaces) {
    use_waypoint(ns);
    sidecars = sidecars || ns.meta.labels.count("istio-injection") || ns.meta.labels.count("istio.io/rev");
  }
  for (const auto& svc : rs.services) use_waypoint(svc);
  for (const auto& p : rs.pods) use_waypoint(p);
  // Probes (docs/model/failover.md): httpGet and tcpSocket readiness and
  // liveness probes drive the pod; exec and grpc probes are not run (the
  // container counts as passing them).
  auto probes = [&](const Object& o, const PodSpec& spec, const std::string& prefix) {
    for (size_t i = 0; i < spec.containers.size(); ++i) {
      const Container& c = spec.containers[i];
      const std::pair<const char*, const std::optional<Probe>*> kinds[] = {
          {"readinessProbe", &c.readiness}, {"livenessProbe", &c.liveness}, {"startupProbe", &c.startup}};
      for (const auto& [name, pr] : kinds) {
        if (!*pr || ((*pr)->handler != Probe::Handler::kExec && (*pr)->handler != Probe::Handler::kGrpc)) continue;
        field(out, o, prefix + "containers[" + std::to_string(i) + "]." + name,
              std::string((*pr)->handler == Probe::Handler::kExec ? "an exec" : "a grpc") +
                  " probe is not run: the container counts as passing it");
      }
    }
  };
  for (const auto& p : rs.pods) probes(p, p.spec, "spec.");
  for (const auto& w : rs.workloads) probes(w, w.tmpl.spec, "spec.template.spec.");
  for (const auto& ns : rs.namespaces) {
    auto m = ns.meta.labels.find("istio.io/dataplane-mode");
    bool injects = ns.meta.labels.count("istio-injection") || ns.meta.labels.count("istio.io/rev");
    if (sidecars && !injects && m != ns.meta.labels.end() && m->second == "ambient")
      field(out, ns, "metadata.labels.istio.io/dataplane-mode",
            "Istio's sidecars send HBONE to ambient pods (PILOT_ENABLE_SENDING_HBONE); meshsim's send plaintext, "
            "which the pod's ztunnel takes on 15006 — rejected under PeerAuthentication STRICT, where Istio succeeds");
  }
  // Gateway API: routes attached to a parent other than a Gateway, a Service
  // or a ServiceEntry (those the sidecars apply: GAMMA), e.g. a ListenerSet, and Gateways
  // of classes other than Istio's gateway controller (istio-waypoint,
  // istio-east-west, istio-remote, another implementation) are not simulated.
  // (Filters are: CORS is translated as istiod does, ExtensionRef is rejected
  // as InvalidFilter as istiod does.)
  for (const auto& r : rs.gateway_routes) {
    for (size_t i = 0; i < r.parent_refs.size(); ++i) {
      const auto& ref = r.parent_refs[i];
      if (ref.kind != "Gateway" && !ref.is_service() && !ref.is_service_entry())
        field(out, r, "spec.parentRefs[" + std::to_string(i) + "]",
              "a " + ref.kind + " parent is not simulated: nothing applies this route for it");
    }
  }
  for (const auto& g : rs.k8s_gateways) {
    bool istio = g.gateway_class_name == "istio";
    bool ours = false;
    for (const auto& c : rs.gateway_classes)
      if (c.meta.name == g.gateway_class_name) {
        istio = false;
        ours = c.controller_name == "istio.io/gateway-controller";
      }
    if (!istio && !ours)
      field(out, g, "spec.gatewayClassName",
            "class " + g.gateway_class_name + " is not handled by Istio's gateway controller as meshsim simulates it (waypoints, east-west and remote gateways, other implementations): no gateway runs for it");
  }
  for (const auto& u : rs.unmodelled) {
    out.push_back({u.kind, group_of(u.api_version), u.namespace_.empty() ? u.name : u.namespace_ + "/" + u.name, "",
                   u.kind == "NetworkPolicy" ? "Kubernetes NetworkPolicy is not enforced by the virtual network"
                                             : "its effect is not simulated",
                   u.location});
  }
  return out;
}

}  // namespace meshsim::mesh
