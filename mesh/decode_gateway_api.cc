// Decoders of the Gateway API kinds Istio's controller reads
// (gateway.networking.k8s.io: GatewayClass, Gateway, HTTPRoute, GRPCRoute,
// TLSRoute, TCPRoute, ReferenceGrant). Field names and defaults are the
// Gateway API's (sigs.k8s.io/gateway-api apis/v1); what Istio's conversion
// does with them is mesh/gateway_api.cc.
#include <algorithm>

#include "mesh/decode.h"

namespace meshsim::mesh::detail {

namespace {

void decode_parent_ref(Decoder& d, YamlNode n, const PathSeg& p, GwParentRef& r) {
  r.location = n.location();
  d.fields(n, p, {"group", "kind", "namespace", "name", "sectionName", "port"},
           [&](std::string_view k, YamlNode v, const PathSeg& fp) {
             if (k == "group") d.str(v, fp, r.group);
             else if (k == "kind") d.str(v, fp, r.kind);
             else if (k == "namespace") d.str(v, fp, r.namespace_);
             else if (k == "name") d.str(v, fp, r.name);
             else if (k == "sectionName") d.str(v, fp, r.section_name);
             else if (k == "port") {
               uint32_t x = 0;
               if (d.port(v, fp, x)) r.port = x;
             } else return false;
             return true;
           });
  if (n.is_map() && !n.get("name").valid()) d.error(n, p.child("name"), "required field is missing");
}

void decode_backend_ref(Decoder& d, YamlNode n, const PathSeg& p, GwBackendRef& r, bool allow_filters);

void decode_header_modifier(Decoder& d, YamlNode n, const PathSeg& p, GwHeaderModifier& h) {
  auto pairs = [&](YamlNode v, const PathSeg& fp, std::vector<std::pair<std::string, std::string>>& out) {
    d.items(v, fp, [&](YamlNode it, const PathSeg& ip) {
      std::string name, value;
      d.fields(it, ip, {"name", "value"}, [&](std::string_view k, YamlNode x, const PathSeg& xp) {
        if (k == "name") d.str(x, xp, name);
        else if (k == "value") d.str(x, xp, value);
        else return false;
        return true;
      });
      if (name.empty()) d.error(it, ip.child("name"), "required field is missing");
      out.emplace_back(name, value);
    });
  };
  d.fields(n, p, {"set", "add", "remove"}, [&](std::string_view k, YamlNode v, const PathSeg& fp) {
    if (k == "set") pairs(v, fp, h.set);
    else if (k == "add") pairs(v, fp, h.add);
    else if (k == "remove") d.strings(v, fp, h.remove);
    else return false;
    return true;
  });
}

void decode_path_modifier(Decoder& d, YamlNode n, const PathSeg& p, GwHttpFilter& f) {
  d.fields(n, p, {"type", "replaceFullPath", "replacePrefixMatch"}, [&](std::string_view k, YamlNode v, const PathSeg& fp) {
    if (k == "type") d.enum_str(v, fp, f.path_type, {"ReplaceFullPath", "ReplacePrefixMatch"});
    else if (k == "replaceFullPath" || k == "replacePrefixMatch") d.str(v, fp, f.path_value);
    else return false;
    return true;
  });
}

void decode_filter(Decoder& d, YamlNode n, const PathSeg& p, GwHttpFilter& f) {
  f.location = n.location();
  d.fields(n, p,
           {"type", "requestHeaderModifier", "responseHeaderModifier", "requestRedirect", "urlRewrite", "requestMirror",
            "cors", "extensionRef"},
           [&](std::string_view k, YamlNode v, const PathSeg& fp) {
             if (k == "type") d.str(v, fp, f.type);
             else if (k == "requestHeaderModifier" || k == "responseHeaderModifier") decode_header_modifier(d, v, fp, f.headers);
             else if (k == "requestRedirect") {
               d.fields(v, fp, {"scheme", "hostname", "path", "port", "statusCode"},
                        [&](std::string_view k2, YamlNode v2, const PathSeg& fp2) {
                          if (k2 == "scheme") d.enum_str(v2, fp2, f.scheme, {"http", "https"});
                          else if (k2 == "hostname") d.str(v2, fp2, f.hostname);
                          else if (k2 == "path") decode_path_modifier(d, v2, fp2, f);
                          else if (k2 == "port") {
                            uint32_t x = 0;
                            if (d.port(v2, fp2, x)) f.port = x;
                          } else if (k2 == "statusCode") {
                            uint32_t x = 0;
                            if (d.integer(v2, fp2, x, 300, 399)) f.status_code = x;
                          } else return false;
                          return true;
                        });
             } else if (k == "urlRewrite") {
               d.fields(v, fp, {"hostname", "path"}, [&](std::string_view k2, YamlNode v2, const PathSeg& fp2) {
                 if (k2 == "hostname") d.str(v2, fp2, f.hostname);
                 else if (k2 == "path") decode_path_modifier(d, v2, fp2, f);
                 else return false;
                 return true;
               });
             } else if (k == "requestMirror") {
               d.fields(v, fp, {"backendRef", "percent", "fraction"}, [&](std::string_view k2, YamlNode v2, const PathSeg& fp2) {
                 if (k2 == "backendRef") decode_backend_ref(d, v2, fp2, f.mirror, false);
                 else if (k2 == "percent") {
                   double x = 0;
                   if (d.number(v2, fp2, x)) f.mirror_percent = x;
                 } else if (k2 == "fraction") {
                   double num = 0, den = 100;
                   if (YamlNode nn = v2.get("numerator"); nn.valid()) d.number(nn, fp2.child("numerator"), num);
                   if (YamlNode dn = v2.get("denominator"); dn.valid()) d.number(dn, fp2.child("denominator"), den);
                   if (den > 0) f.mirror_percent = num * 100.0 / den;
                 } else return false;
                 return true;
               });
             } else if (k == "cors") {
               d.fields(v, fp, {"allowOrigins", "allowCredentials", "allowMethods", "allowHeaders", "exposeHeaders", "maxAge"},
                        [&](std::string_view k2, YamlNode v2, const PathSeg& fp2) {
                          if (k2 == "allowOrigins") d.strings(v2, fp2, f.cors_allow_origins);
                          else if (k2 == "allowCredentials") d.boolean(v2, fp2, f.cors_allow_credentials);
                          else if (k2 == "allowMethods") d.strings(v2, fp2, f.cors_allow_methods);
                          else if (k2 == "allowHeaders") d.strings(v2, fp2, f.cors_allow_headers);
                          else if (k2 == "exposeHeaders") d.strings(v2, fp2, f.cors_expose_headers);
                          else if (k2 == "maxAge") d.integer(v2, fp2, f.cors_max_age, int64_t{0}, int64_t{86400 * 365});
                          else return false;
                          return true;
                        });
             } else if (k == "extensionRef") {
               // Kept by type: the conversion rejects it as Istio does (InvalidFilter).
             } else return false;
             return true;
           });
  if (n.is_map() && f.type.empty()) d.error(n, p.child("type"), "required field is missing");
}

void decode_backend_ref(Decoder& d, YamlNode n, const PathSeg& p, GwBackendRef& r, bool allow_filters) {
  r.location = n.location();
  d.fields(n, p, {"group", "kind", "namespace", "name", "port", "weight", "filters"},
           [&](std::string_view k, YamlNode v, const PathSeg& fp) {
             if (k == "group") d.str(v, fp, r.group);
             else if (k == "kind") d.str(v, fp, r.kind);
             else if (k == "namespace") d.str(v, fp, r.namespace_);
             else if (k == "name") d.str(v, fp, r.name);
             else if (k == "port") {
               uint32_t x = 0;
               if (d.port(v, fp, x)) r.port = x;
             } else if (k == "weight") d.integer(v, fp, r.weight, 0, 1000000);
             else if (k == "filters" && allow_filters) {
               d.items(v, fp, [&](YamlNode fn, const PathSeg& fpp) {
                 GwHttpFilter f;
                 decode_filter(d, fn, fpp, f);
                 r.filters.push_back(std::move(f));
               });
             } else return false;
             return true;
           });
  if (n.is_map() && !n.get("name").valid()) d.error(n, p.child("name"), "required field is missing");
}

void decode_kv_matches(Decoder& d, YamlNode n, const PathSeg& p, std::vector<GwRouteMatch::Kv>& out) {
  d.items(n, p, [&](YamlNode it, const PathSeg& ip) {
    GwRouteMatch::Kv kv;
    d.fields(it, ip, {"type", "name", "value"}, [&](std::string_view k, YamlNode v, const PathSeg& fp) {
      if (k == "type") d.enum_str(v, fp, kv.type, {"Exact", "RegularExpression"});
      else if (k == "name") d.str(v, fp, kv.name);
      else if (k == "value") d.str(v, fp, kv.value);
      else return false;
      return true;
    });
    if (it.is_map() && !it.get("name").valid()) d.error(it, ip.child("name"), "required field is missing");
    out.push_back(std::move(kv));
  });
}

void decode_match(Decoder& d, YamlNode n, const PathSeg& p, GwRouteMatch& m, Kind kind) {
  if (kind == Kind::kGrpcRoute) {
    d.fields(n, p, {"method", "headers"}, [&](std::string_view k, YamlNode v, const PathSeg& fp) {
      if (k == "method") {
        m.has_grpc_method = true;
        m.grpc_type = "Exact";
        d.fields(v, fp, {"type", "service", "method"}, [&](std::string_view k2, YamlNode v2, const PathSeg& fp2) {
          if (k2 == "type") d.enum_str(v2, fp2, m.grpc_type, {"Exact", "RegularExpression"});
          else if (k2 == "service") d.str(v2, fp2, m.grpc_service);
          else if (k2 == "method") d.str(v2, fp2, m.grpc_method);
          else return false;
          return true;
        });
      } else if (k == "headers") decode_kv_matches(d, v, fp, m.headers);
      else return false;
      return true;
    });
    return;
  }
  d.fields(n, p, {"path", "headers", "queryParams", "method"}, [&](std::string_view k, YamlNode v, const PathSeg& fp) {
    if (k == "path") {
      m.has_path = true;
      m.path_type = "PathPrefix";
      m.path_value = "/";
      d.fields(v, fp, {"type", "value"}, [&](std::string_view k2, YamlNode v2, const PathSeg& fp2) {
        if (k2 == "type") d.enum_str(v2, fp2, m.path_type, {"Exact", "PathPrefix", "RegularExpression"});
        else if (k2 == "value") d.str(v2, fp2, m.path_value);
        else return false;
        return true;
      });
    } else if (k == "headers") decode_kv_matches(d, v, fp, m.headers);
    else if (k == "queryParams") decode_kv_matches(d, v, fp, m.query_params);
    else if (k == "method")
      d.enum_str(v, fp, m.method, {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"});
    else return false;
    return true;
  });
}

}  // namespace

void decode_gateway_class(Decoder& d, YamlNode root, GatewayClass& o) {
  decode_root(d, root, [&](std::string_view k, YamlNode v, const PathSeg& fp) {
    if (k != "spec") return false;
    d.fields(v, fp, {"controllerName", "description", "parametersRef"}, [&](std::string_view k2, YamlNode v2, const PathSeg& fp2) {
      if (k2 == "controllerName") d.str(v2, fp2, o.controller_name);
      else if (k2 == "description" || k2 == "parametersRef") {}
      else return false;
      return true;
    });
    return true;
  });
}

void decode_k8s_gateway(Decoder& d, YamlNode root, K8sGateway& o) {
  decode_root(d, root, [&](std::string_view k, YamlNode v, const PathSeg& fp) {
    if (k != "spec") return false;
    d.fields(v, fp, {"gatewayClassName", "listeners", "addresses", "infrastructure", "tls", "allowedListeners"},
             [&](std::string_view k2, YamlNode v2, const PathSeg& fp2) {
      if (k2 == "gatewayClassName") d.str(v2, fp2, o.gateway_class_name);
      else if (k2 == "addresses") {
        d.items(v2, fp2, [&](YamlNode an, const PathSeg& ap) {
          std::string type = "IPAddress", value;
          d.fields(an, ap, {"type", "value"}, [&](std::string_view k3, YamlNode v3, const PathSeg& fp3) {
            if (k3 == "type") d.str(v3, fp3, type);
            else if (k3 == "value") d.str(v3, fp3, value);
            else return false;
            return true;
          });
          o.addresses.emplace_back(type, value);
        });
      } else if (k2 == "listeners") {
        d.items(v2, fp2, [&](YamlNode ln, const PathSeg& lp) {
          GwListener l;
          l.location = ln.location();
          d.fields(ln, lp, {"name", "hostname", "port", "protocol", "tls", "allowedRoutes"},
                   [&](std::string_view k3, YamlNode v3, const PathSeg& fp3) {
            if (k3 == "name") d.str(v3, fp3, l.name);
            else if (k3 == "hostname") d.str(v3, fp3, l.hostname);
            else if (k3 == "port") d.port(v3, fp3, l.port);
            else if (k3 == "protocol") d.str(v3, fp3, l.protocol);
            else if (k3 == "tls") {
              l.tls_mode = "Terminate";
              d.fields(v3, fp3, {"mode", "certificateRefs", "options", "frontendValidation"},
                       [&](std::string_view k4, YamlNode v4, const PathSeg& fp4) {
                if (k4 == "mode") d.enum_str(v4, fp4, *l.tls_mode, {"Terminate", "Passthrough"});
                else if (k4 == "certificateRefs") {
                  d.items(v4, fp4, [&](YamlNode cn, const PathSeg& cp) {
                    GwSecretRef s;
                    s.location = cn.location();
                    d.fields(cn, cp, {"group", "kind", "name", "namespace"}, [&](std::string_view k5, YamlNode v5, const PathSeg& fp5) {
                      if (k5 == "group") d.str(v5, fp5, s.group);
                      else if (k5 == "kind") d.str(v5, fp5, s.kind);
                      else if (k5 == "name") d.str(v5, fp5, s.name);
                      else if (k5 == "namespace") d.str(v5, fp5, s.namespace_);
                      else return false;
                      return true;
                    });
                    l.certificate_refs.push_back(std::move(s));
                  });
                } else if (k4 == "options" || k4 == "frontendValidation") {}
                else return false;
                return true;
              });
            } else if (k3 == "allowedRoutes") {
              d.fields(v3, fp3, {"namespaces", "kinds"}, [&](std::string_view k4, YamlNode v4, const PathSeg& fp4) {
                if (k4 == "namespaces") {
                  d.fields(v4, fp4, {"from", "selector"}, [&](std::string_view k5, YamlNode v5, const PathSeg& fp5) {
                    if (k5 == "from") d.enum_str(v5, fp5, l.allowed_from, {"All", "Same", "Selector"});
                    else if (k5 == "selector") decode_label_selector(d, v5, fp5, l.allowed_selector);
                    else return false;
                    return true;
                  });
                } else if (k4 == "kinds") {
                  d.items(v4, fp4, [&](YamlNode kn, const PathSeg& kp) {
                    std::string group = "gateway.networking.k8s.io", kind;
                    d.fields(kn, kp, {"group", "kind"}, [&](std::string_view k5, YamlNode v5, const PathSeg& fp5) {
                      if (k5 == "group") d.str(v5, fp5, group);
                      else if (k5 == "kind") d.str(v5, fp5, kind);
                      else return false;
                      return true;
                    });
                    l.allowed_kinds.emplace_back(group, kind);
                  });
                } else return false;
                return true;
              });
            } else return false;
            return true;
          });
          if (ln.is_map()) {
            if (l.name.empty()) d.error(ln, lp.child("name"), "required field is missing");
            if (l.port == 0) d.error(ln, lp.child("port"), "required field is missing");
            if (l.protocol.empty()) d.error(ln, lp.child("protocol"), "required field is missing");
          }
          o.listeners.push_back(std::move(l));
        });
      } else if (k2 == "infrastructure" || k2 == "tls" || k2 == "allowedListeners") {}
      else return false;
      return true;
    });
    return true;
  });
  if (o.gateway_class_name.empty())
    d.error(root.get("spec").valid() ? root.get("spec") : root, PathSeg().child("spec").child("gatewayClassName"),
            "required field is missing");
}

void decode_gateway_route(Decoder& d, YamlNode root, GatewayApiRoute& o) {
  const bool http = o.kind == Kind::kHttpRoute, grpc = o.kind == Kind::kGrpcRoute;
  decode_root(d, root, [&](std::string_view k, YamlNode v, const PathSeg& fp) {
    if (k != "spec") return false;
    d.fields(v, fp, {"parentRefs", "hostnames", "rules", "useDefaultGateways"}, [&](std::string_view k2, YamlNode v2, const PathSeg& fp2) {
      if (k2 == "parentRefs") {
        d.items(v2, fp2, [&](YamlNode pn, const PathSeg& pp) {
          GwParentRef r;
          decode_parent_ref(d, pn, pp, r);
          o.parent_refs.push_back(std::move(r));
        });
      } else if (k2 == "hostnames" && o.kind != Kind::kTcpRoute) d.strings(v2, fp2, o.hostnames);
      else if (k2 == "useDefaultGateways") {}
      else if (k2 == "rules") {
        d.items(v2, fp2, [&](YamlNode rn, const PathSeg& rp) {
          GwRouteRule r;
          r.location = rn.location();
          d.fields(rn, rp, {"name", "matches", "filters", "backendRefs", "timeouts", "retry", "sessionPersistence"},
                   [&](std::string_view k3, YamlNode v3, const PathSeg& fp3) {
            if (k3 == "name") d.str(v3, fp3, r.name);
            else if (k3 == "matches" && (http || grpc)) {
              d.items(v3, fp3, [&](YamlNode mn, const PathSeg& mp) {
                GwRouteMatch m;
                decode_match(d, mn, mp, m, o.kind);
                r.matches.push_back(std::move(m));
              });
            } else if (k3 == "filters" && (http || grpc)) {
              d.items(v3, fp3, [&](YamlNode fn, const PathSeg& fpp) {
                GwHttpFilter f;
                decode_filter(d, fn, fpp, f);
                r.filters.push_back(std::move(f));
              });
            } else if (k3 == "backendRefs") {
              d.items(v3, fp3, [&](YamlNode bn, const PathSeg& bp) {
                GwBackendRef b;
                decode_backend_ref(d, bn, bp, b, http || grpc);
                r.backend_refs.push_back(std::move(b));
              });
            } else if (k3 == "timeouts" && http) {
              // GEP-1742; Istio reads them with Go's time.ParseDuration (convertHTTPRoute).
              d.fields(v3, fp3, {"request", "backendRequest"}, [&](std::string_view k4, YamlNode v4, const PathSeg& fp4) {
                if (k4 == "request") d.duration(v4, fp4, r.timeout_request, true);
                else if (k4 == "backendRequest") d.duration(v4, fp4, r.timeout_backend_request, true);
                else return false;
                return true;
              });
            } else if (k3 == "retry" && http) {
              GwRouteRule::Retry rt;
              d.fields(v3, fp3, {"attempts", "backoff", "codes"}, [&](std::string_view k4, YamlNode v4, const PathSeg& fp4) {
                if (k4 == "attempts") {
                  int32_t a = 0;
                  if (d.integer(v4, fp4, a, 0, 1000000)) rt.attempts = a;
                } else if (k4 == "backoff") d.duration(v4, fp4, rt.backoff, true);
                else if (k4 == "codes") {
                  d.items(v4, fp4, [&](YamlNode cn, const PathSeg& cp) {
                    uint32_t c = 0;
                    if (d.integer(cn, cp, c, 400, 599)) rt.codes.push_back(c);
                  });
                } else return false;
                return true;
              });
              r.retry = std::move(rt);
            } else if (k3 == "sessionPersistence" && (http || grpc)) {
              // istiod's route conversion does not read it (convertHTTPRoute / convertGRPCRoute), so no
              // session affinity results — in a cluster as here.
              d.warn(v3, fp3, "sessionPersistence is not implemented by Istio's Gateway API controller: requests get no session affinity",
                     "MS0142");
            } else return false;
            return true;
          });
          o.rules.push_back(std::move(r));
        });
      } else return false;
      return true;
    });
    return true;
  });
}

void decode_reference_grant(Decoder& d, YamlNode root, ReferenceGrant& o) {
  decode_root(d, root, [&](std::string_view k, YamlNode v, const PathSeg& fp) {
    if (k != "spec") return false;
    d.fields(v, fp, {"from", "to"}, [&](std::string_view k2, YamlNode v2, const PathSeg& fp2) {
      if (k2 == "from") {
        d.items(v2, fp2, [&](YamlNode n, const PathSeg& p) {
          ReferenceGrant::From f;
          d.fields(n, p, {"group", "kind", "namespace"}, [&](std::string_view k3, YamlNode v3, const PathSeg& fp3) {
            if (k3 == "group") d.str(v3, fp3, f.group);
            else if (k3 == "kind") d.str(v3, fp3, f.kind);
            else if (k3 == "namespace") d.str(v3, fp3, f.namespace_);
            else return false;
            return true;
          });
          o.from.push_back(std::move(f));
        });
      } else if (k2 == "to") {
        d.items(v2, fp2, [&](YamlNode n, const PathSeg& p) {
          ReferenceGrant::To t;
          d.fields(n, p, {"group", "kind", "name"}, [&](std::string_view k3, YamlNode v3, const PathSeg& fp3) {
            if (k3 == "group") d.str(v3, fp3, t.group);
            else if (k3 == "kind") d.str(v3, fp3, t.kind);
            else if (k3 == "name") d.str(v3, fp3, t.name);
            else return false;
            return true;
          });
          o.to.push_back(std::move(t));
        });
      } else return false;
      return true;
    });
    return true;
  });
}

}  // namespace meshsim::mesh::detail
