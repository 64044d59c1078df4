// Decoders for the Istio kinds, with the rules of Istio's validation webhook
// (pkg/config/validation) that a user can trip over: enum values, required
// fields, durations >= 1ms, percentages in [0, 100], port ranges, host syntax,
// mutually exclusive fields, portLevelMtls without a selector, …
#include <algorithm>
#include <set>

#include "mesh/decode.h"

namespace meshsim::mesh::detail {

namespace {

constexpr std::initializer_list<EnumValue<MtlsMode>> kMtlsModes = {
    {"UNSET", MtlsMode::kUnset}, {"DISABLE", MtlsMode::kDisable}, {"PERMISSIVE", MtlsMode::kPermissive},
    {"STRICT", MtlsMode::kStrict}};

void check_host(Decoder& d, YamlNode n, const PathSeg& p, const std::string& host, bool allow_ip) {
  std::string why = check_istio_host(host, allow_ip);
  if (!why.empty()) d.error(n, p, "invalid host \"" + host + "\": " + why);
}

void decode_target_refs(Decoder& d, YamlNode n, const PathSeg& p, std::vector<PolicyTargetReference>& out) {
  auto one = [&](YamlNode it, const PathSeg& ip) {
    PolicyTargetReference r;
    d.fields(it, ip, [&](std::string_view k, YamlNode v, const PathSeg& fp) {
      if (k == "group") d.str(v, fp, r.group);
      else if (k == "kind") d.str(v, fp, r.kind);
      else if (k == "name") d.str(v, fp, r.name);
      else if (k == "namespace") d.str(v, fp, r.namespace_);
      else return false;
      return true;
    });
    if (it.is_map() && r.name.empty()) d.error(it, ip.child("name"), "required field is missing");
    if (it.is_map() && r.kind.empty()) d.error(it, ip.child("kind"), "required field is missing");
    out.push_back(std::move(r));
  };
  if (n.is_map()) one(n, p);
  else d.items(n, p, one);
}

void decode_string_match(Decoder& d, YamlNode n, const PathSeg& p, std::optional<StringMatch>& out) {
  if (!d.is_map(n, p)) return;
  StringMatch m;
  int count = 0;
  d.fields(n, p, [&](std::string_view k, YamlNode v, const PathSeg& fp) {
    if (k == "exact") m.type = StringMatch::Type::kExact;
    else if (k == "prefix") m.type = StringMatch::Type::kPrefix;
    else if (k == "regex") m.type = StringMatch::Type::kRegex;
    else return false;
    ++count;
    d.str(v, fp, m.value);
    if (k == "regex") {
      std::string why = check_re2_syntax(m.value);
      if (!why.empty()) d.error(v, fp, "invalid regular expression \"" + m.value + "\": " + why);
    }
    return true;
  });
  if (count > 1) d.error(n, p, "only one of exact, prefix or regex may be set");
  if (count == 0) {
    d.error(n, p, "one of exact, prefix or regex must be set");
    return;
  }
  out = std::move(m);
}

void decode_string_match_map(Decoder& d, YamlNode n, const PathSeg& p, std::map<std::string, StringMatch>& out) {
  if (!d.is_map(n, p)) return;
  for (uint32_t i = 0; i < n.size(); ++i) {
    std::string key(n.key(i).scalar());
    std::optional<StringMatch> m;
    YamlNode v = n.value(i);
    if (v.is_map() && v.size() == 0) {
      out[key] = StringMatch{StringMatch::Type::kPrefix, ""};  // {} = presence match
      continue;
    }
    decode_string_match(d, v, p.child(n.key(i).scalar()), m);
    if (m) out[key] = *m;
  }
}

// ---- ClientTLSSettings / TrafficPolicy ----------------------------------------------

void decode_client_tls(Decoder& d, YamlNode n, const PathSeg& p, std::optional<ClientTls>& out) {
  if (!d.is_map(n, p)) return;
  ClientTls t;
  d.fields(n, p, [&](std::string_view k, YamlNode v, const PathSeg& fp) {
    if (k == "mode")
      d.enumeration<ClientTlsMode>(v, fp, t.mode,
                                   {{"DISABLE", ClientTlsMode::kDisable},
                                    {"SIMPLE", ClientTlsMode::kSimple},
                                    {"MUTUAL", ClientTlsMode::kMutual},
                                    {"ISTIO_MUTUAL", ClientTlsMode::kIstioMutual}});
    else if (k == "clientCertificate") d.str(v, fp, t.client_certificate);
    else if (k == "privateKey") d.str(v, fp, t.private_key);
    else if (k == "caCertificates") d.str(v, fp, t.ca_certificates);
    else if (k == "credentialName") d.str(v, fp, t.credential_name);
    else if (k == "subjectAltNames") d.strings(v, fp, t.subject_alt_names);
    else if (k == "sni") d.str(v, fp, t.sni);
    else if (k == "caCrl") d.str(v, fp, t.ca_crl);
    else if (k == "insecureSkipVerify") d.opt_bool(v, fp, t.insecure_skip_verify);
    else return false;
    return true;
  });
  if (t.mode == ClientTlsMode::kIstioMutual &&
      (!t.client_certificate.empty() || !t.private_key.empty() || !t.ca_certificates.empty() ||
       !t.credential_name.empty() || !t.ca_crl.empty()))
    d.error(n, p, "cannot specify client certificates, CA certificates or credentialName when tls mode is ISTIO_MUTUAL");
  if (t.mode == ClientTlsMode::kMutual && t.credential_name.empty()) {
    if (t.client_certificate.empty()) d.error(n, p.child("clientCertificate"), "client certificate required for mutual tls");
    if (t.private_key.empty()) d.error(n, p.child("privateKey"), "private key required for mutual tls");
  }
  out = std::move(t);
}

void decode_locality_lb(Decoder& d, YamlNode n, const PathSeg& p, std::optional<LocalityLbSetting>& out) {
  if (!d.is_map(n, p)) return;
  LocalityLbSetting l;
  d.fields(n, p, [&](std::string_view k, YamlNode v, const PathSeg& fp) {
    if (k == "distribute") {
      d.items(v, fp, [&](YamlNode it, const PathSeg& ip) {
        LocalityLbSetting::Distribute dist;
        d.fields(it, ip, [&](std::string_view k2, YamlNode v2, const PathSeg& fp2) {
          if (k2 == "from") d.str(v2, fp2, dist.from);
          else if (k2 == "to") {
            if (d.is_map(v2, fp2)) {
              uint64_t sum = 0;
              for (uint32_t i = 0; i < v2.size(); ++i) {
                uint32_t w = 0;
                if (d.integer(v2.value(i), fp2.child(v2.key(i).scalar()), w, 0, UINT32_MAX)) {
                  dist.to[std::string(v2.key(i).scalar())] = w;
                  sum += w;
                }
              }
              if (sum != 100) d.error(v2, fp2, "total weight " + std::to_string(sum) + " != 100");
            }
          } else return false;
          return true;
        });
        l.distribute.push_back(std::move(dist));
      });
    } else if (k == "failover") {
      d.items(v, fp, [&](YamlNode it, const PathSeg& ip) {
        LocalityLbSetting::Failover f;
        d.fields(it, ip, [&](std::string_view k2, YamlNode v2, const PathSeg& fp2) {
          if (k2 == "from") d.str(v2, fp2, f.from);
          else if (k2 == "to") d.str(v2, fp2, f.to);
          else return false;
          return true;
        });
        if (!f.from.empty() && f.from == f.to)
          d.error(it, ip, "locality lb failover settings must specify different regions");
        if (f.from.find('/') != std::string::npos || f.to.find('/') != std::string::npos)
          d.error(it, ip, "locality lb failover only supports region");
        l.failover.push_back(std::move(f));
      });
    } else if (k == "failoverPriority") d.strings(v, fp, l.failover_priority);
    else if (k == "enabled") d.opt_bool(v, fp, l.enabled);
    else return false;
    return true;
  });
  if (!l.distribute.empty() && !l.failover.empty())
    d.error(n, p, "can not simultaneously specify 'distribute' and 'failover'");
  out = std::move(l);
}

void decode_lb(Decoder& d, YamlNode n, const PathSeg& p, std::optional<LoadBalancerSettings>& out) {
  if (!d.is_map(n, p)) return;
  LoadBalancerSettings lb;
  d.fields(n, p, [&](std::string_view k, YamlNode v, const PathSeg& fp) {
    if (k == "simple")
      d.enumeration<SimpleLb>(v, fp, lb.simple,
                              {{"UNSPECIFIED", SimpleLb::kUnspecified},
                               {"LEAST_CONN", SimpleLb::kLeastConn},
                               {"RANDOM", SimpleLb::kRandom},
                               {"PASSTHROUGH", SimpleLb::kPassthrough},
                               {"ROUND_ROBIN", SimpleLb::kRoundRobin},
                               {"LEAST_REQUEST", SimpleLb::kLeastRequest}});
    else if (k == "consistentHash") {
      ConsistentHashLb ch;
      int keys = 0;
      d.fields(v, fp, [&](std::string_view k2, YamlNode v2, const PathSeg& fp2) {
        if (k2 == "httpHeaderName") ++keys, d.str(v2, fp2, ch.http_header_name);
        else if (k2 == "httpCookie") {
          ++keys;
          ConsistentHashLb::Cookie c;
          d.fields(v2, fp2, [&](std::string_view k3, YamlNode v3, const PathSeg& fp3) {
            if (k3 == "name") d.str(v3, fp3, c.name);
            else if (k3 == "path") d.str(v3, fp3, c.path);
            else if (k3 == "ttl") d.duration(v3, fp3, c.ttl, true);
            else if (k3 == "attributes") {
              d.items(v3, fp3, [&](YamlNode a, const PathSeg& fa) {
                std::pair<std::string, std::string> attr;
                d.fields(a, fa, [&](std::string_view k4, YamlNode v4, const PathSeg& fp4) {
                  if (k4 == "name") d.str(v4, fp4, attr.first);
                  else if (k4 == "value") d.str(v4, fp4, attr.second);
                  else return false;
                  return true;
                });
                c.attributes.push_back(std::move(attr));
              });
            }
            else return false;
            return true;
          });
          if (c.name.empty()) d.error(v2, fp2.child("name"), "cookie name is required");
          ch.http_cookie = c;
        } else if (k2 == "useSourceIp") ++keys, d.boolean(v2, fp2, ch.use_source_ip);
        else if (k2 == "httpQueryParameterName") ++keys, d.str(v2, fp2, ch.http_query_parameter_name);
        else if (k2 == "ringHash") {
          ch.ring_hash = true;
          YamlNode m = v2.get("minimumRingSize");
          if (m.valid()) d.opt_integer(m, fp2.child("minimumRingSize"), ch.ring_hash_minimum_ring_size, 0, INT64_MAX);
        } else if (k2 == "maglev") {
          ch.maglev = true;
          YamlNode m = v2.get("tableSize");
          if (m.valid()) d.opt_integer(m, fp2.child("tableSize"), ch.maglev_table_size, 0, INT64_MAX);
        } else if (k2 == "minimumRingSize") d.opt_integer(v2, fp2, ch.minimum_ring_size, 0, INT64_MAX);
        else return false;
        return true;
      });
      if (keys > 1) d.error(v, fp, "only one of httpHeaderName, httpCookie, useSourceIp, httpQueryParameterName may be set");
      lb.consistent_hash = std::move(ch);
    } else if (k == "localityLbSetting") decode_locality_lb(d, v, fp, lb.locality_lb_setting);
    else if (k == "warmupDurationSecs") d.duration(v, fp, lb.warmup_duration);
    else if (k == "warmup") {}
    else return false;
    return true;
  });
  if (n.get("simple").valid() && n.get("consistentHash").valid())
    d.error(n, p, "only one of simple or consistentHash may be set");
  out = std::move(lb);
}

void decode_connection_pool(Decoder& d, YamlNode n, const PathSeg& p, std::optional<ConnectionPoolSettings>& out) {
  if (!d.is_map(n, p)) return;
  ConnectionPoolSettings cp;
  d.fields(n, p, [&](std::string_view k, YamlNode v, const PathSeg& fp) {
    if (k == "tcp") {
      ConnectionPoolSettings::Tcp t;
      d.fields(v, fp, [&](std::string_view k2, YamlNode v2, const PathSeg& fp2) {
        if (k2 == "maxConnections") d.opt_integer(v2, fp2, t.max_connections, 0, INT32_MAX);
        else if (k2 == "connectTimeout") d.duration(v2, fp2, t.connect_timeout);
        else if (k2 == "maxConnectionDuration") d.duration(v2, fp2, t.max_connection_duration);
        else if (k2 == "idleTimeout") d.duration(v2, fp2, t.idle_timeout, true);
        else if (k2 == "tcpKeepalive") {
          TcpKeepalive ka;
          d.fields(v2, fp2, [&](std::string_view k3, YamlNode v3, const PathSeg& fp3) {
            if (k3 == "probes") d.opt_integer(v3, fp3, ka.probes, 0, UINT32_MAX);
            else if (k3 == "time") d.duration(v3, fp3, ka.time);
            else if (k3 == "interval") d.duration(v3, fp3, ka.interval);
            else return false;
            return true;
          });
          t.tcp_keepalive = ka;
        } else return false;
        return true;
      });
      cp.tcp = t;
    } else if (k == "http") {
      ConnectionPoolSettings::Http h;
      d.fields(v, fp, [&](std::string_view k2, YamlNode v2, const PathSeg& fp2) {
        if (k2 == "http1MaxPendingRequests") d.opt_integer(v2, fp2, h.http1_max_pending_requests, 0, INT32_MAX);
        else if (k2 == "http2MaxRequests") d.opt_integer(v2, fp2, h.http2_max_requests, 0, INT32_MAX);
        else if (k2 == "maxRequestsPerConnection") d.opt_integer(v2, fp2, h.max_requests_per_connection, 0, INT32_MAX);
        else if (k2 == "maxRetries") d.opt_integer(v2, fp2, h.max_retries, 0, INT32_MAX);
        else if (k2 == "idleTimeout") d.duration(v2, fp2, h.idle_timeout);
        else if (k2 == "h2UpgradePolicy") d.enum_str(v2, fp2, h.h2_upgrade_policy, {"DEFAULT", "DO_NOT_UPGRADE", "UPGRADE"});
        else if (k2 == "useClientProtocol") d.boolean(v2, fp2, h.use_client_protocol);
        else if (k2 == "maxConcurrentStreams") d.opt_integer(v2, fp2, h.max_concurrent_streams, 0, INT32_MAX);
        else return false;
        return true;
      });
      cp.http = h;
    } else return false;
    return true;
  });
  out = std::move(cp);
}

void decode_outlier(Decoder& d, YamlNode n, const PathSeg& p, std::optional<OutlierDetection>& out) {
  if (!d.is_map(n, p)) return;
  OutlierDetection od;
  d.fields(n, p, [&](std::string_view k, YamlNode v, const PathSeg& fp) {
    if (k == "consecutive5xxErrors") d.opt_integer(v, fp, od.consecutive_5xx_errors, 0, UINT32_MAX);
    else if (k == "consecutiveGatewayErrors") d.opt_integer(v, fp, od.consecutive_gateway_errors, 0, UINT32_MAX);
    else if (k == "consecutiveErrors") d.opt_integer(v, fp, od.consecutive_errors, 0, INT32_MAX);
    else if (k == "consecutiveLocalOriginFailures") d.opt_integer(v, fp, od.consecutive_local_origin_failures, 0, UINT32_MAX);
    else if (k == "splitExternalLocalOriginErrors") d.boolean(v, fp, od.split_external_local_origin_errors);
    else if (k == "interval") d.duration(v, fp, od.interval);
    else if (k == "baseEjectionTime") d.duration(v, fp, od.base_ejection_time);
    else if (k == "maxEjectionPercent") d.opt_integer(v, fp, od.max_ejection_percent, 0, 100);
    else if (k == "minHealthPercent") d.opt_integer(v, fp, od.min_health_percent, 0, 100);
    else return false;
    return true;
  });
  if (od.consecutive_local_origin_failures && !od.split_external_local_origin_errors)
    d.error(n, p.child("consecutiveLocalOriginFailures"),
            "consecutiveLocalOriginFailures requires splitExternalLocalOriginErrors: true");
  out = std::move(od);
}

void decode_port_traffic_policy(Decoder& d, YamlNode n, const PathSeg& p, PortTrafficPolicy& out) {
  d.fields(n, p, [&](std::string_view k, YamlNode v, const PathSeg& fp) {
    if (k == "port") {
      YamlNode num = v.get("number");
      d.fields(v, fp, [&](std::string_view k2, YamlNode, const PathSeg&) { return k2 == "number"; });
      if (num.valid()) d.port(num, fp.child("number"), out.port);
    } else if (k == "loadBalancer") decode_lb(d, v, fp, out.load_balancer);
    else if (k == "connectionPool") decode_connection_pool(d, v, fp, out.connection_pool);
    else if (k == "outlierDetection") decode_outlier(d, v, fp, out.outlier_detection);
    else if (k == "tls") decode_client_tls(d, v, fp, out.tls);
    else return false;
    return true;
  });
  if (n.is_map() && out.port == 0 && !n.get("port").get("number").valid())
    d.error(n, p.child("port"), "port number must be set for a port-level traffic policy");
}

void decode_traffic_policy(Decoder& d, YamlNode n, const PathSeg& p, std::optional<TrafficPolicy>& out) {
  if (!d.is_map(n, p)) return;
  TrafficPolicy tp;
  d.fields(n, p, [&](std::string_view k, YamlNode v, const PathSeg& fp) {
    if (k == "loadBalancer") decode_lb(d, v, fp, tp.load_balancer);
    else if (k == "connectionPool") decode_connection_pool(d, v, fp, tp.connection_pool);
    else if (k == "outlierDetection") decode_outlier(d, v, fp, tp.outlier_detection);
    else if (k == "tls") decode_client_tls(d, v, fp, tp.tls);
    else if (k == "portLevelSettings") {
      std::set<uint32_t> seen;
      d.items(v, fp, [&](YamlNode it, const PathSeg& ip) {
        PortTrafficPolicy ptp;
        decode_port_traffic_policy(d, it, ip, ptp);
        if (ptp.port && !seen.insert(ptp.port).second)
          d.error(it, ip.child("port"), "duplicate port-level setting for port " + std::to_string(ptp.port));
        tp.port_level_settings.push_back(std::move(ptp));
      });
    } else if (k == "proxyProtocol") tp.proxy_protocol = true;
    else if (k == "tunnel") tp.tunnel = true;
    else return false;
    return true;
  });
  if (n.size() == 0) d.error(n, p, "traffic policy must have at least one field");
  out = std::move(tp);
}

}  // namespace

// ---- PeerAuthentication ------------------------------------------------------------

void decode_peer_authentication(Decoder& d, YamlNode root, PeerAuthentication& o) {
  decode_root(d, root, [&](std::string_view k, YamlNode v, const PathSeg& fp) {
    if (k != "spec") return false;
    d.fields(v, fp, [&](std::string_view k2, YamlNode v2, const PathSeg& fp2) {
      if (k2 == "selector") decode_workload_selector(d, v2, fp2, o.selector);
      else if (k2 == "mtls") {
        d.fields(v2, fp2, [&](std::string_view k3, YamlNode v3, const PathSeg& fp3) {
          if (k3 != "mode") return false;
          d.enumeration<MtlsMode>(v3, fp3, o.mode, kMtlsModes);
          return true;
        });
      } else if (k2 == "portLevelMtls") {
        if (!d.is_map(v2, fp2)) return true;
        if (v2.size() == 0) d.error(v2, fp2, "portLevelMtls must not be empty when present");
        for (uint32_t i = 0; i < v2.size(); ++i) {
          YamlNode kn = v2.key(i);
          PathSeg kp = fp2.child(kn.scalar());
          int64_t port = 0;
          std::string_view ks = kn.scalar();
          bool ok = !ks.empty() && std::all_of(ks.begin(), ks.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
                    ks.size() < 10;
          if (ok) port = std::stoll(std::string(ks));
          if (!ok || port < 1 || port > 65535) {
            d.error(kn, kp, "port \"" + std::string(ks) + "\" must be a number in [1, 65535]");
            continue;
          }
          MtlsMode mode = MtlsMode::kUnset;
          d.fields(v2.value(i), kp, [&](std::string_view k3, YamlNode v3, const PathSeg& fp3) {
            if (k3 != "mode") return false;
            d.enumeration<MtlsMode>(v3, fp3, mode, kMtlsModes);
            return true;
          });
          o.port_level_mtls[static_cast<uint32_t>(port)] = mode;
        }
      } else return false;
      return true;
    });
    return true;
  });
  if (!o.port_level_mtls.empty() && !o.has_selector()) {
    YamlNode pl = root.get("spec").get("portLevelMtls");
    PathSeg sp = PathSeg().child("spec");
    PathSeg pp = sp.child("portLevelMtls");
    pp.key_node = key_node_of(root.get("spec"), "portLevelMtls");
    d.error(pl.valid() ? pl : root, pp,
            "portLevelMtls requires selector: port-level settings apply to workload ports, so a policy without a "
            "selector cannot have them");
  }
}

// ---- DestinationRule -----------------------------------------------------------------

void decode_destination_rule(Decoder& d, YamlNode root, DestinationRule& o) {
  decode_root(d, root, [&](std::string_view k, YamlNode v, const PathSeg& fp) {
    if (k != "spec") return false;
    d.fields(v, fp, [&](std::string_view k2, YamlNode v2, const PathSeg& fp2) {
      if (k2 == "host") {
        if (d.str(v2, fp2, o.host)) check_host(d, v2, fp2, o.host, false);
      } else if (k2 == "trafficPolicy") decode_traffic_policy(d, v2, fp2, o.traffic_policy);
      else if (k2 == "subsets") {
        std::set<std::string> names;
        d.items(v2, fp2, [&](YamlNode it, const PathSeg& ip) {
          Subset s;
          s.location = it.location();
          d.fields(it, ip, [&](std::string_view k3, YamlNode v3, const PathSeg& fp3) {
            if (k3 == "name") d.str(v3, fp3, s.name);
            else if (k3 == "labels") d.string_map(v3, fp3, s.labels, true);
            else if (k3 == "trafficPolicy") decode_traffic_policy(d, v3, fp3, s.traffic_policy);
            else return false;
            return true;
          });
          if (it.is_map()) {
            if (s.name.empty()) d.error(it, ip.child("name"), "subset name is required");
            else {
              std::string why = check_dns1123_label(s.name);
              if (!why.empty()) d.error(it.get("name"), ip.child("name"), "invalid subset name \"" + s.name + "\": " + why);
              if (!names.insert(s.name).second) d.error(it.get("name"), ip.child("name"), "duplicate subset name \"" + s.name + "\"");
            }
          }
          o.subsets.push_back(std::move(s));
        });
      } else if (k2 == "exportTo") d.strings(v2, fp2, o.export_to);
      else if (k2 == "workloadSelector") decode_workload_selector(d, v2, fp2, o.workload_selector);
      else return false;
      return true;
    });
    return true;
  });
  if (o.host.empty()) d.error(root.get("spec").valid() ? root.get("spec") : root, PathSeg().child("spec").child("host"), "required field is missing");
}

// ---- VirtualService ------------------------------------------------------------------

namespace {

void decode_destination(Decoder& d, YamlNode n, const PathSeg& p, Destination& out) {
  out.location = n.location();
  d.fields(n, p, [&](std::string_view k, YamlNode v, const PathSeg& fp) {
    if (k == "host") {
      if (d.str(v, fp, out.host)) check_host(d, v, fp, out.host, false);
    } else if (k == "subset") d.str(v, fp, out.subset);
    else if (k == "port") {
      YamlNode num = v.get("number");
      d.fields(v, fp, [&](std::string_view k2, YamlNode, const PathSeg&) { return k2 == "number"; });
      uint32_t port = 0;
      if (num.valid() && d.port(num, fp.child("number"), port)) out.port = port;
    } else return false;
    return true;
  });
  if (n.is_map() && out.host.empty()) d.error(n, p.child("host"), "destination.host is required");
}

void decode_header_ops(Decoder& d, YamlNode n, const PathSeg& p, HeaderOperations& out) {
  d.fields(n, p, [&](std::string_view k, YamlNode v, const PathSeg& fp) {
    if (k == "set" || k == "add") {
      Labels m;
      d.string_map(v, fp, m, false);
      for (auto& [a, b] : m) (k == "set" ? out.set : out.add)[a] = b;
    } else if (k == "remove") d.strings(v, fp, out.remove);
    else return false;
    return true;
  });
}

void decode_headers(Decoder& d, YamlNode n, const PathSeg& p, std::optional<Headers>& out) {
  if (!d.is_map(n, p)) return;
  Headers h;
  d.fields(n, p, [&](std::string_view k, YamlNode v, const PathSeg& fp) {
    if (k == "request") decode_header_ops(d, v, fp, h.request);
    else if (k == "response") decode_header_ops(d, v, fp, h.response);
    else return false;
    return true;
  });
  out = std::move(h);
}

std::optional<double> decode_percent(Decoder& d, YamlNode n, const PathSeg& p) {
  std::optional<double> out;
  d.fields(n, p, [&](std::string_view k, YamlNode v, const PathSeg& fp) {
    if (k != "value") return false;
    d.opt_number(v, fp, out, 0, 100);
    return true;
  });
  if (!out && n.is_map()) out = 0.0;
  return out;
}

void decode_weights(Decoder& d, YamlNode n, const PathSeg& p, int32_t& weight) {
  if (d.integer(n, p, weight, INT32_MIN, INT32_MAX) && weight < 0) d.error(n, p, "weight must not be negative");
}

void check_route_weights(Decoder& d, YamlNode n, const PathSeg& p, const std::vector<int32_t>& weights) {
  if (weights.size() <= 1) return;
  int64_t sum = 0;
  for (int32_t w : weights) sum += w;
  if (sum == 0)
    d.warn(n, p, "several destinations and every weight is 0: give each destination a weight (traffic is split by weight / sum of weights)",
           "MS0002");
}

void decode_http_route(Decoder& d, YamlNode n, const PathSeg& p, HttpRoute& r) {
  r.location = n.location();
  d.fields(n, p, [&](std::string_view k, YamlNode v, const PathSeg& fp) {
    if (k == "name") d.str(v, fp, r.name);
    else if (k == "match") {
      d.items(v, fp, [&](YamlNode mn, const PathSeg& mp) {
        HttpMatchRequest m;
        d.fields(mn, mp, [&](std::string_view k2, YamlNode v2, const PathSeg& fp2) {
          if (k2 == "name") d.str(v2, fp2, m.name);
          else if (k2 == "uri") decode_string_match(d, v2, fp2, m.uri);
          else if (k2 == "scheme") decode_string_match(d, v2, fp2, m.scheme);
          else if (k2 == "method") decode_string_match(d, v2, fp2, m.method);
          else if (k2 == "authority") decode_string_match(d, v2, fp2, m.authority);
          else if (k2 == "headers") decode_string_match_map(d, v2, fp2, m.headers);
          else if (k2 == "queryParams") decode_string_match_map(d, v2, fp2, m.query_params);
          else if (k2 == "withoutHeaders") decode_string_match_map(d, v2, fp2, m.without_headers);
          else if (k2 == "port") {
            uint32_t port = 0;
            if (d.port(v2, fp2, port)) m.port = port;
          } else if (k2 == "sourceLabels") d.string_map(v2, fp2, m.source_labels, true);
          else if (k2 == "gateways") d.strings(v2, fp2, m.gateways);
          else if (k2 == "ignoreUriCase") d.boolean(v2, fp2, m.ignore_uri_case);
          else if (k2 == "sourceNamespace") d.str(v2, fp2, m.source_namespace);
          else if (k2 == "statPrefix") {}
          else return false;
          return true;
        });
        for (const auto& [h, sm] : m.headers)
          for (char c : h)
            if (c >= 'A' && c <= 'Z') {
              d.error(mn.get("headers"), mp.child("headers"), "header name \"" + h + "\" must be lowercase");
              break;
            }
        r.match.push_back(std::move(m));
      });
    } else if (k == "route") {
      std::vector<int32_t> weights;
      d.items(v, fp, [&](YamlNode rn, const PathSeg& rp) {
        HttpRouteDestination dst;
        d.fields(rn, rp, [&](std::string_view k2, YamlNode v2, const PathSeg& fp2) {
          if (k2 == "destination") decode_destination(d, v2, fp2, dst.destination);
          else if (k2 == "weight") decode_weights(d, v2, fp2, dst.weight);
          else if (k2 == "headers") decode_headers(d, v2, fp2, dst.headers);
          else return false;
          return true;
        });
        if (rn.is_map() && !rn.get("destination").valid()) d.error(rn, rp.child("destination"), "destination is required");
        weights.push_back(dst.weight);
        r.route.push_back(std::move(dst));
      });
      check_route_weights(d, v, fp, weights);
    } else if (k == "redirect") {
      HttpRedirect rd;
      d.fields(v, fp, [&](std::string_view k2, YamlNode v2, const PathSeg& fp2) {
        if (k2 == "uri") d.str(v2, fp2, rd.uri);
        else if (k2 == "authority") d.str(v2, fp2, rd.authority);
        else if (k2 == "scheme") d.str(v2, fp2, rd.scheme);
        else if (k2 == "port") {
          uint32_t port = 0;
          if (d.port(v2, fp2, port)) rd.port = port;
        } else if (k2 == "redirectCode") {
          if (d.integer(v2, fp2, rd.redirect_code, 0, UINT32_MAX) && (rd.redirect_code < 300 || rd.redirect_code > 399))
            d.error(v2, fp2, "redirect code " + std::to_string(rd.redirect_code) + " is not a 3xx code");
        } else if (k2 == "derivePort") {
          d.str(v2, fp2, rd.derive_port);
          if (rd.derive_port != "FROM_PROTOCOL_DEFAULT" && rd.derive_port != "FROM_REQUEST_PORT")
            d.error(v2, fp2, "derivePort must be FROM_PROTOCOL_DEFAULT or FROM_REQUEST_PORT");
        } else if (k2 == "prefixRewrite") {
          d.str(v2, fp2, rd.prefix_rewrite);
        } else return false;
        return true;
      });
      if (rd.uri.empty() && rd.authority.empty() && rd.scheme.empty() && !rd.port && !v.get("derivePort").valid() &&
          rd.prefix_rewrite.empty())
        d.error(v, fp, "redirect must specify uri, prefixRewrite, authority, scheme or port");
      if (!rd.uri.empty() && !rd.prefix_rewrite.empty())
        d.error(v, fp, "redirect may specify only one of uri and prefixRewrite");
      r.redirect = rd;
    } else if (k == "directResponse") {
      HttpDirectResponse dr;
      d.fields(v, fp, [&](std::string_view k2, YamlNode v2, const PathSeg& fp2) {
        if (k2 == "status") {
          if (d.integer(v2, fp2, dr.status, 0, UINT32_MAX) && (dr.status < 200 || dr.status > 599))
            d.error(v2, fp2, "status " + std::to_string(dr.status) + " must be in [200, 599]");
        } else if (k2 == "body") {
          YamlNode s = v2.get("string");
          if (s.valid()) d.str(s, fp2.child("string"), dr.body);
        } else return false;
        return true;
      });
      if (v.is_map() && !v.get("status").valid()) d.error(v, fp.child("status"), "required field is missing");
      r.direct_response = dr;
    } else if (k == "delegate") {
      std::pair<std::string, std::string> del;
      d.fields(v, fp, [&](std::string_view k2, YamlNode v2, const PathSeg& fp2) {
        if (k2 == "name") d.str(v2, fp2, del.first);
        else if (k2 == "namespace") d.str(v2, fp2, del.second);
        else return false;
        return true;
      });
      r.delegate = del;
    } else if (k == "rewrite") {
      HttpRewrite rw;
      d.fields(v, fp, [&](std::string_view k2, YamlNode v2, const PathSeg& fp2) {
        if (k2 == "uri") d.str(v2, fp2, rw.uri);
        else if (k2 == "authority") d.str(v2, fp2, rw.authority);
        else if (k2 == "uriRegexRewrite") {
          std::pair<std::string, std::string> rr;
          d.str(v2.get("match"), fp2.child("match"), rr.first);
          d.str(v2.get("rewrite"), fp2.child("rewrite"), rr.second);
          rw.uri_regex_rewrite = rr;
        } else return false;
        return true;
      });
      if (!rw.uri.empty() && rw.uri_regex_rewrite) d.error(v, fp, "rewrite may specify only one of uri and uriRegexRewrite");
      if (v.is_map() && rw.uri.empty() && rw.authority.empty() && !rw.uri_regex_rewrite)
        d.error(v, fp, "rewrite must specify uri, uriRegexRewrite, or authority");
      r.rewrite = rw;
    } else if (k == "timeout") d.duration(v, fp, r.timeout, true);
    else if (k == "retries") {
      HttpRetry rt;
      d.fields(v, fp, [&](std::string_view k2, YamlNode v2, const PathSeg& fp2) {
        if (k2 == "attempts") d.integer(v2, fp2, rt.attempts, 0, INT32_MAX);
        else if (k2 == "perTryTimeout") d.duration(v2, fp2, rt.per_try_timeout);
        else if (k2 == "retryOn") {
          if (d.str(v2, fp2, rt.retry_on)) {
            static const std::set<std::string, std::less<>> kPolicies = {
                "5xx", "gateway-error", "reset", "reset-before-request", "connect-failure", "envoy-ratelimited",
                "retriable-4xx", "refused-stream", "retriable-status-codes", "retriable-headers", "cancelled",
                "deadline-exceeded", "internal", "resource-exhausted", "unavailable", "http3-post-connect-failure"};
            size_t start = 0;
            while (start <= rt.retry_on.size()) {
              size_t comma = rt.retry_on.find(',', start);
              std::string item = rt.retry_on.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
              item.erase(0, item.find_first_not_of(' '));
              item.erase(item.find_last_not_of(' ') + 1);
              bool numeric = !item.empty() && std::all_of(item.begin(), item.end(), [](char c) { return c >= '0' && c <= '9'; });
              if (!item.empty() && !numeric && !kPolicies.count(item))
                d.error(v2, fp2, "unknown retryOn policy \"" + item + "\"");
              if (comma == std::string::npos) break;
              start = comma + 1;
            }
          }
        } else if (k2 == "retryRemoteLocalities") d.opt_bool(v2, fp2, rt.retry_remote_localities);
        else if (k2 == "backoff") {
          // ValidateHTTPRetry → ValidateDuration: at least 1ms, whole milliseconds.
          if (d.duration(v2, fp2, rt.backoff)) {
            if (rt.backoff->ns() < 1'000'000) {
              d.error(v2, fp2, "duration must be greater than 1ms");
              rt.backoff.reset();
            } else if (rt.backoff->ns() % 1'000'000 != 0) {
              d.error(v2, fp2, "only durations to ms precision are supported");
              rt.backoff.reset();
            }
          }
        }
        else return false;
        return true;
      });
      r.retries = rt;
    } else if (k == "fault") {
      HttpFaultInjection f;
      d.fields(v, fp, [&](std::string_view k2, YamlNode v2, const PathSeg& fp2) {
        if (k2 == "delay") {
          HttpFaultInjection::Delay dl;
          dl.location = v2.location();
          d.fields(v2, fp2, [&](std::string_view k3, YamlNode v3, const PathSeg& fp3) {
            if (k3 == "fixedDelay") d.duration(v3, fp3, dl.fixed_delay);
            else if (k3 == "percentage") dl.percentage = decode_percent(d, v3, fp3);
            else if (k3 == "percent") d.opt_integer(v3, fp3, dl.percent, 0, 100);
            else if (k3 == "exponentialDelay") d.error(v3, fp3, "exponentialDelay is not supported");
            else return false;
            return true;
          });
          if (v2.is_map() && !dl.fixed_delay && !v2.get("exponentialDelay").valid())
            d.error(v2, fp2.child("fixedDelay"), "delay requires fixedDelay");
          f.delay = dl;
        } else if (k2 == "abort") {
          HttpFaultInjection::Abort ab;
          ab.location = v2.location();
          d.fields(v2, fp2, [&](std::string_view k3, YamlNode v3, const PathSeg& fp3) {
            if (k3 == "httpStatus") {
              int32_t s = 0;
              if (d.integer(v3, fp3, s, INT32_MIN, INT32_MAX)) {
                if (s < 200 || s > 599) d.error(v3, fp3, "httpStatus must be in range 200 - 599");
                ab.http_status = s;
              }
            } else if (k3 == "grpcStatus") d.str(v3, fp3, ab.grpc_status);
            else if (k3 == "percentage") ab.percentage = decode_percent(d, v3, fp3);
            else if (k3 == "http2Error") {}
            else return false;
            return true;
          });
          if (v2.is_map() && !ab.http_status && ab.grpc_status.empty() && !v2.get("http2Error").valid())
            d.error(v2, fp2, "abort requires httpStatus or grpcStatus");
          f.abort = ab;
        } else return false;
        return true;
      });
      if (v.is_map() && !f.delay && !f.abort) d.error(v, fp, "fault must have at least delay or abort");
      r.fault = f;
    } else if (k == "mirror") {
      Destination m;
      decode_destination(d, v, fp, m);
      r.mirror = m;
    } else if (k == "mirrorPercentage") r.mirror_percentage = decode_percent(d, v, fp);
    else if (k == "mirrorPercent") {
      std::optional<int32_t> pc;
      d.opt_integer(v, fp, pc, 0, 100);
      if (pc) r.mirror_percentage = *pc;
    } else if (k == "mirrors") {
      d.items(v, fp, [&](YamlNode mn, const PathSeg& mp) {
        HttpMirrorPolicy mpol;
        d.fields(mn, mp, [&](std::string_view k2, YamlNode v2, const PathSeg& fp2) {
          if (k2 == "destination") decode_destination(d, v2, fp2, mpol.destination);
          else if (k2 == "percentage") mpol.percentage = decode_percent(d, v2, fp2);
          else return false;
          return true;
        });
        r.mirrors.push_back(std::move(mpol));
      });
    } else if (k == "corsPolicy") {
      CorsPolicy c;
      d.fields(v, fp, [&](std::string_view k2, YamlNode v2, const PathSeg& fp2) {
        if (k2 == "allowOrigins") {
          d.items(v2, fp2, [&](YamlNode on, const PathSeg& op) {
            std::optional<StringMatch> m;
            decode_string_match(d, on, op, m);
            if (m) c.allow_origins.push_back(*m);
          });
        } else if (k2 == "allowOrigin") {
          std::vector<std::string> legacy;
          d.strings(v2, fp2, legacy);
          for (auto& s : legacy) c.allow_origins.push_back(StringMatch{StringMatch::Type::kExact, s});
        } else if (k2 == "allowMethods") d.strings(v2, fp2, c.allow_methods);
        else if (k2 == "allowHeaders") d.strings(v2, fp2, c.allow_headers);
        else if (k2 == "exposeHeaders") d.strings(v2, fp2, c.expose_headers);
        else if (k2 == "maxAge") d.duration(v2, fp2, c.max_age, true);
        else if (k2 == "allowCredentials") d.opt_bool(v2, fp2, c.allow_credentials);
        else if (k2 == "unmatchedPreflights") d.enum_str(v2, fp2, c.unmatched_preflights, {"UNSPECIFIED", "FORWARD", "IGNORE"});
        else return false;
        return true;
      });
      static const std::set<std::string, std::less<>> kMethods = {"GET", "POST", "PUT", "DELETE", "PATCH",
                                                                  "OPTIONS", "HEAD", "CONNECT", "TRACE", "*"};
      for (const auto& m : c.allow_methods)
        if (!kMethods.count(m)) d.error(v.get("allowMethods"), fp.child("allowMethods"), "invalid method \"" + m + "\"");
      r.cors_policy = std::move(c);
    } else if (k == "headers") decode_headers(d, v, fp, r.headers);
    else if (k == "appendHeaders" || k == "removeResponseHeaders" || k == "appendResponseHeaders" ||
             k == "removeRequestHeaders" || k == "appendRequestHeaders")
      d.error(v, fp, "field \"" + std::string(k) + "\" was removed; use headers.request / headers.response");
    else return false;
    return true;
  });
}

// validateHTTPRouteConflict (pkg/config/validation/virtualservice.go): a root
// route (one with `delegate`, in a VirtualService with hosts) may carry no
// route or redirect; a delegate VirtualService's (no hosts) routes may not
// delegate again; every other route needs a route, redirect or directResponse.
void check_http_route_kind(Decoder& d, YamlNode n, const PathSeg& p, const HttpRoute& r, bool in_delegate) {
  if (!n.is_map()) return;
  if (r.delegate && !in_delegate) {
    std::string name = r.name.empty() ? "" : r.name + " ";
    if (r.redirect) d.error(n, p, "root HTTP route " + name + "must not specify redirect");
    if (!r.route.empty()) d.error(n, p, "root HTTP route " + name + "must not specify route");
    return;
  }
  if (r.delegate) d.error(n.get("delegate"), p.child("delegate"), "delegate HTTP route cannot contain delegate");
  if (r.redirect) {
    if (!r.route.empty()) d.error(n, p, "HTTP route cannot contain both route and redirect");
    if (r.fault) d.error(n, p, "HTTP route cannot contain both fault and redirect");
    if (r.rewrite) d.error(n, p, "HTTP route rule cannot contain both rewrite and redirect");
    if (r.direct_response) d.error(n, p, "HTTP route rule cannot contain both direct_response and redirect");
  } else if (r.direct_response) {
    if (!r.route.empty()) d.error(n, p, "HTTP route cannot contain both route and direct_response");
    if (r.fault) d.error(n, p, "HTTP route cannot contain both fault and direct_response");
    if (r.rewrite) d.error(n, p, "HTTP route rule cannot contain both rewrite and direct_response");
  } else if (r.route.empty() && !r.delegate) {
    d.error(n, p, "HTTP route, redirect or direct_response is required");
  }
  if (r.mirror && !r.mirrors.empty()) d.error(n, p, "HTTP route cannot contain both mirror and mirrors");
}

void decode_l4_route(Decoder& d, YamlNode n, const PathSeg& p, std::vector<RouteDestination>& out) {
  std::vector<int32_t> weights;
  d.items(n, p, [&](YamlNode rn, const PathSeg& rp) {
    RouteDestination dst;
    d.fields(rn, rp, [&](std::string_view k, YamlNode v, const PathSeg& fp) {
      if (k == "destination") decode_destination(d, v, fp, dst.destination);
      else if (k == "weight") decode_weights(d, v, fp, dst.weight);
      else return false;
      return true;
    });
    if (rn.is_map() && !rn.get("destination").valid()) d.error(rn, rp.child("destination"), "destination is required");
    weights.push_back(dst.weight);
    out.push_back(std::move(dst));
  });
  check_route_weights(d, n, p, weights);
}

void decode_subnets(Decoder& d, YamlNode n, const PathSeg& p, std::vector<std::string>& out) {
  d.strings(n, p, out);
  for (const auto& s : out)
    if (!is_cidr_or_ip(s)) d.error(n, p, "invalid IP address or CIDR \"" + s + "\"");
}

}  // namespace

void decode_virtual_service(Decoder& d, YamlNode root, VirtualService& o) {
  decode_root(d, root, [&](std::string_view k, YamlNode v, const PathSeg& fp) {
    if (k != "spec") return false;
    d.fields(v, fp, [&](std::string_view k2, YamlNode v2, const PathSeg& fp2) {
      if (k2 == "hosts") {
        d.strings(v2, fp2, o.hosts);
        for (size_t i = 0; i < o.hosts.size(); ++i)
          check_host(d, v2.is_sequence() && i < v2.size() ? v2.item(static_cast<uint32_t>(i)) : v2,
                     fp2.at(static_cast<int64_t>(i)), o.hosts[i], true);
      } else if (k2 == "gateways") d.strings(v2, fp2, o.gateways);
      else if (k2 == "http") {
        d.items(v2, fp2, [&](YamlNode rn, const PathSeg& rp) {
          HttpRoute r;
          decode_http_route(d, rn, rp, r);
          o.http.push_back(std::move(r));
        });
      } else if (k2 == "tcp") {
        d.items(v2, fp2, [&](YamlNode rn, const PathSeg& rp) {
          TcpRoute r;
          r.location = rn.location();
          d.fields(rn, rp, [&](std::string_view k3, YamlNode v3, const PathSeg& fp3) {
            if (k3 == "match") {
              d.items(v3, fp3, [&](YamlNode mn, const PathSeg& mp) {
                L4MatchAttributes m;
                d.fields(mn, mp, [&](std::string_view k4, YamlNode v4, const PathSeg& fp4) {
                  if (k4 == "destinationSubnets") decode_subnets(d, v4, fp4, m.destination_subnets);
                  else if (k4 == "port") {
                    uint32_t port = 0;
                    if (d.port(v4, fp4, port)) m.port = port;
                  } else if (k4 == "sourceLabels") d.string_map(v4, fp4, m.source_labels, true);
                  else if (k4 == "gateways") d.strings(v4, fp4, m.gateways);
                  else if (k4 == "sourceNamespace") d.str(v4, fp4, m.source_namespace);
                  else if (k4 == "sourceSubnet") {}
                  else return false;
                  return true;
                });
                r.match.push_back(std::move(m));
              });
            } else if (k3 == "route") decode_l4_route(d, v3, fp3, r.route);
            else return false;
            return true;
          });
          if (rn.is_map() && r.route.empty()) d.error(rn, rp.child("route"), "TCP route is required");
          o.tcp.push_back(std::move(r));
        });
      } else if (k2 == "tls") {
        d.items(v2, fp2, [&](YamlNode rn, const PathSeg& rp) {
          TlsRoute r;
          r.location = rn.location();
          d.fields(rn, rp, [&](std::string_view k3, YamlNode v3, const PathSeg& fp3) {
            if (k3 == "match") {
              d.items(v3, fp3, [&](YamlNode mn, const PathSeg& mp) {
                TlsMatchAttributes m;
                d.fields(mn, mp, [&](std::string_view k4, YamlNode v4, const PathSeg& fp4) {
                  if (k4 == "sniHosts") d.strings(v4, fp4, m.sni_hosts);
                  else if (k4 == "destinationSubnets") decode_subnets(d, v4, fp4, m.destination_subnets);
                  else if (k4 == "port") {
                    uint32_t port = 0;
                    if (d.port(v4, fp4, port)) m.port = port;
                  } else if (k4 == "sourceLabels") d.string_map(v4, fp4, m.source_labels, true);
                  else if (k4 == "gateways") d.strings(v4, fp4, m.gateways);
                  else if (k4 == "sourceNamespace") d.str(v4, fp4, m.source_namespace);
                  else return false;
                  return true;
                });
                if (mn.is_map() && m.sni_hosts.empty()) d.error(mn, mp.child("sniHosts"), "TLS match must have at least one SNI host");
                r.match.push_back(std::move(m));
              });
            } else if (k3 == "route") decode_l4_route(d, v3, fp3, r.route);
            else return false;
            return true;
          });
          if (rn.is_map() && r.match.empty()) d.error(rn, rp.child("match"), "TLS route must have at least one match condition");
          if (rn.is_map() && r.route.empty()) d.error(rn, rp.child("route"), "TLS route is required");
          o.tls.push_back(std::move(r));
        });
      } else if (k2 == "exportTo") d.strings(v2, fp2, o.export_to);
      else return false;
      return true;
    });
    return true;
  });
  YamlNode spec = root.get("spec");
  // No hosts: a delegate VirtualService (used only through a root's
  // `delegate`), with validation's delegate rules.
  bool delegate = o.hosts.empty();
  if (delegate && !o.gateways.empty())
    d.error(spec.get("gateways"), PathSeg().child("spec").child("gateways"), "delegate virtual service must have no gateways specified");
  if (delegate && !o.tls.empty())
    d.error(spec.get("tls"), PathSeg().child("spec").child("tls"), "delegate virtual service must have no tls route specified");
  if (delegate && !o.tcp.empty())
    d.error(spec.get("tcp"), PathSeg().child("spec").child("tcp"), "delegate virtual service must have no tcp route specified");
  if (YamlNode http = spec.get("http"); http.is_sequence()) {
    PathSeg sp = PathSeg().child("spec");
    PathSeg hp = sp.child("http");
    for (uint32_t i = 0; i < http.size() && i < o.http.size(); ++i)
      check_http_route_kind(d, http.item(i), hp.at(static_cast<int64_t>(i)), o.http[i], delegate);
  }
  bool mesh_bound = o.gateways.empty() || std::find(o.gateways.begin(), o.gateways.end(), "mesh") != o.gateways.end();
  if (mesh_bound && std::find(o.hosts.begin(), o.hosts.end(), "*") != o.hosts.end())
    d.error(spec.get("hosts"), PathSeg().child("spec").child("hosts"),
            "wildcard host * is not allowed for virtual services bound to the mesh gateway");
  if (o.http.empty() && o.tcp.empty() && o.tls.empty() && spec.valid())
    d.error(spec, PathSeg().child("spec"), "http, tcp or tls must be provided in virtual service");
}

// ---- AuthorizationPolicy / RequestAuthentication ---------------------------------------

void decode_authorization_policy(Decoder& d, YamlNode root, AuthorizationPolicy& o) {
  decode_root(d, root, [&](std::string_view k, YamlNode v, const PathSeg& fp) {
    if (k != "spec") return false;
    d.fields(v, fp, [&](std::string_view k2, YamlNode v2, const PathSeg& fp2) {
      if (k2 == "selector") decode_workload_selector(d, v2, fp2, o.selector);
      else if (k2 == "targetRef" || k2 == "targetRefs") decode_target_refs(d, v2, fp2, o.target_refs);
      else if (k2 == "action")
        d.enumeration<AuthzAction>(v2, fp2, o.action,
                                   {{"ALLOW", AuthzAction::kAllow}, {"DENY", AuthzAction::kDeny},
                                    {"AUDIT", AuthzAction::kAudit}, {"CUSTOM", AuthzAction::kCustom}});
      else if (k2 == "provider") d.str(v2.get("name"), fp2.child("name"), o.provider);
      else if (k2 == "rules") {
        d.items(v2, fp2, [&](YamlNode rn, const PathSeg& rp) {
          AuthzRule r;
          r.location = rn.location();
          d.fields(rn, rp, [&](std::string_view k3, YamlNode v3, const PathSeg& fp3) {
            if (k3 == "from") {
              if (v3.is_sequence() && v3.size() == 0) d.error(v3, fp3, "`from` must not be empty");
              d.items(v3, fp3, [&](YamlNode fn, const PathSeg& fpp) {
                AuthzSource s;
                YamlNode src = fn.get("source");
                PathSeg sp = fpp.child("source");
                d.fields(fn, fpp, [&](std::string_view k4, YamlNode, const PathSeg&) { return k4 == "source"; });
                if (!src.valid() || (src.is_map() && src.size() == 0)) d.error(fn, sp, "`from.source` must not be empty");
                d.fields(src, sp, [&](std::string_view k4, YamlNode v4, const PathSeg& fp4) {
                  std::vector<std::string>* dst = nullptr;
                  if (k4 == "principals") dst = &s.principals;
                  else if (k4 == "notPrincipals") dst = &s.not_principals;
                  else if (k4 == "requestPrincipals") dst = &s.request_principals;
                  else if (k4 == "notRequestPrincipals") dst = &s.not_request_principals;
                  else if (k4 == "namespaces") dst = &s.namespaces;
                  else if (k4 == "notNamespaces") dst = &s.not_namespaces;
                  else if (k4 == "ipBlocks") dst = &s.ip_blocks;
                  else if (k4 == "notIpBlocks") dst = &s.not_ip_blocks;
                  else if (k4 == "remoteIpBlocks") dst = &s.remote_ip_blocks;
                  else if (k4 == "notRemoteIpBlocks") dst = &s.not_remote_ip_blocks;
                  else if (k4 == "serviceAccounts") dst = &s.service_accounts;
                  else if (k4 == "notServiceAccounts") dst = &s.not_service_accounts;
                  else if (k4 == "trustDomains") dst = &s.trust_domains;
                  else if (k4 == "notTrustDomains") dst = &s.not_trust_domains;
                  else return false;
                  d.strings(v4, fp4, *dst);
                  if (k4.find("IpBlocks") != std::string_view::npos || k4 == "ipBlocks")
                    for (const auto& ip : *dst)
                      if (!is_cidr_or_ip(ip)) d.error(v4, fp4, "invalid IP address or CIDR \"" + ip + "\"");
                  return true;
                });
                // The API server prunes unknown fields before Istio's webhook
                // sees the policy: a source left with none is rejected.
                bool empty = s.principals.empty() && s.not_principals.empty() && s.request_principals.empty() &&
                             s.not_request_principals.empty() && s.namespaces.empty() && s.not_namespaces.empty() &&
                             s.ip_blocks.empty() && s.not_ip_blocks.empty() && s.remote_ip_blocks.empty() &&
                             s.not_remote_ip_blocks.empty() && s.service_accounts.empty() &&
                             s.not_service_accounts.empty() && s.trust_domains.empty() && s.not_trust_domains.empty();
                if (empty && src.valid() && src.is_map() && src.size() > 0)
                  d.error(src, sp, "`from.source` must not be empty (its only fields are unknown, and dropped)");
                if ((!s.service_accounts.empty() || !s.not_service_accounts.empty()) &&
                    (!s.principals.empty() || !s.not_principals.empty()))
                  d.error(src, sp, "cannot set serviceAccounts and principals at the same time");
                r.from.push_back(std::move(s));
              });
            } else if (k3 == "to") {
              if (v3.is_sequence() && v3.size() == 0) d.error(v3, fp3, "`to` must not be empty");
              d.items(v3, fp3, [&](YamlNode tn, const PathSeg& tp) {
                AuthzOperation op;
                YamlNode on = tn.get("operation");
                PathSeg opp = tp.child("operation");
                d.fields(tn, tp, [&](std::string_view k4, YamlNode, const PathSeg&) { return k4 == "operation"; });
                if (!on.valid() || (on.is_map() && on.size() == 0)) d.error(tn, opp, "`to.operation` must not be empty");
                d.fields(on, opp, [&](std::string_view k4, YamlNode v4, const PathSeg& fp4) {
                  std::vector<std::string>* dst = nullptr;
                  if (k4 == "hosts") dst = &op.hosts;
                  else if (k4 == "notHosts") dst = &op.not_hosts;
                  else if (k4 == "ports") dst = &op.ports;
                  else if (k4 == "notPorts") dst = &op.not_ports;
                  else if (k4 == "methods") dst = &op.methods;
                  else if (k4 == "notMethods") dst = &op.not_methods;
                  else if (k4 == "paths") dst = &op.paths;
                  else if (k4 == "notPaths") dst = &op.not_paths;
                  else return false;
                  d.strings(v4, fp4, *dst);
                  if (k4 == "ports" || k4 == "notPorts")
                    for (const auto& pstr : *dst) {
                      bool ok = !pstr.empty() && pstr.size() <= 5 &&
                                std::all_of(pstr.begin(), pstr.end(), [](char c) { return c >= '0' && c <= '9'; });
                      int port = ok ? std::stoi(pstr) : 0;
                      if (!ok || port < 1 || port > 65535)
                        d.error(v4, fp4, "invalid port \"" + pstr + "\" (must be a string with a number in [1, 65535])");
                    }
                  return true;
                });
                bool op_empty = op.hosts.empty() && op.not_hosts.empty() && op.ports.empty() && op.not_ports.empty() &&
                                op.methods.empty() && op.not_methods.empty() && op.paths.empty() && op.not_paths.empty();
                if (op_empty && on.valid() && on.is_map() && on.size() > 0)
                  d.error(on, opp, "`to.operation` must not be empty (its only fields are unknown, and dropped)");
                r.to.push_back(std::move(op));
              });
            } else if (k3 == "when") {
              d.items(v3, fp3, [&](YamlNode wn, const PathSeg& wp) {
                AuthzCondition c;
                d.fields(wn, wp, [&](std::string_view k4, YamlNode v4, const PathSeg& fp4) {
                  if (k4 == "key") d.str(v4, fp4, c.key);
                  else if (k4 == "values") d.strings(v4, fp4, c.values);
                  else if (k4 == "notValues") d.strings(v4, fp4, c.not_values);
                  else return false;
                  return true;
                });
                if (wn.is_map() && c.key.empty()) d.error(wn, wp.child("key"), "`key` must not be empty");
                if (wn.is_map() && c.values.empty() && c.not_values.empty())
                  d.error(wn, wp, "at least one of `values` or `notValues` must be set for key " + c.key);
                r.when.push_back(std::move(c));
              });
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
  YamlNode spec = root.get("spec");
  if (o.action == AuthzAction::kCustom && o.provider.empty())
    d.error(spec.get("action"), PathSeg().child("spec").child("provider"), "CUSTOM action requires a provider");
  if (o.action != AuthzAction::kCustom && !o.provider.empty())
    d.error(spec.get("provider"), PathSeg().child("spec").child("provider"), "provider may only be set with action CUSTOM");
  if (o.selector && !o.target_refs.empty())
    d.error(spec, PathSeg().child("spec"), "only one of targetRefs or selector can be set");
}

void decode_request_authentication(Decoder& d, YamlNode root, RequestAuthentication& o) {
  decode_root(d, root, [&](std::string_view k, YamlNode v, const PathSeg& fp) {
    if (k != "spec") return false;
    d.fields(v, fp, [&](std::string_view k2, YamlNode v2, const PathSeg& fp2) {
      if (k2 == "selector") decode_workload_selector(d, v2, fp2, o.selector);
      else if (k2 == "targetRef" || k2 == "targetRefs") decode_target_refs(d, v2, fp2, o.target_refs);
      else if (k2 == "jwtRules") {
        d.items(v2, fp2, [&](YamlNode jn, const PathSeg& jp) {
          JwtRule j;
          d.fields(jn, jp, [&](std::string_view k3, YamlNode v3, const PathSeg& fp3) {
            if (k3 == "issuer") d.str(v3, fp3, j.issuer);
            else if (k3 == "audiences") d.strings(v3, fp3, j.audiences);
            else if (k3 == "jwksUri") {
              if (d.str(v3, fp3, j.jwks_uri) && j.jwks_uri.rfind("http://", 0) != 0 && j.jwks_uri.rfind("https://", 0) != 0)
                d.error(v3, fp3, "jwksUri must be an http or https URL");
            } else if (k3 == "jwks") d.str(v3, fp3, j.jwks);
            else if (k3 == "fromHeaders") {
              d.items(v3, fp3, [&](YamlNode hn, const PathSeg& hp) {
                JwtHeader h;
                d.str(hn.get("name"), hp.child("name"), h.name);
                d.str(hn.get("prefix"), hp.child("prefix"), h.prefix);
                if (h.name.empty()) d.error(hn, hp.child("name"), "location header name must be non-empty");
                j.from_headers.push_back(h);
              });
            } else if (k3 == "fromParams") d.strings(v3, fp3, j.from_params);
            else if (k3 == "fromCookies") d.strings(v3, fp3, j.from_cookies);
            else if (k3 == "outputPayloadToHeader") d.str(v3, fp3, j.output_payload_to_header);
            else if (k3 == "forwardOriginalToken") d.boolean(v3, fp3, j.forward_original_token);
            else if (k3 == "timeout") d.duration(v3, fp3, j.timeout);
            else if (k3 == "outputClaimToHeaders") {
              d.items(v3, fp3, [&](YamlNode cn, const PathSeg& cp) {
                JwtClaimToHeader c;
                d.fields(cn, cp, [&](std::string_view k4, YamlNode v4, const PathSeg& fp4) {
                  if (k4 == "header") d.str(v4, fp4, c.header);
                  else if (k4 == "claim") d.str(v4, fp4, c.claim);
                  else return false;
                  return true;
                });
                if (c.header.empty()) d.error(cn, cp.child("header"), "header must be non-empty");
                if (c.claim.empty()) d.error(cn, cp.child("claim"), "claim must be non-empty");
                j.output_claim_to_headers.push_back(c);
              });
            } else if (k3 == "spaceDelimitedClaims") d.strings(v3, fp3, j.space_delimited_claims);
            else return false;
            return true;
          });
          if (jn.is_map() && j.issuer.empty()) d.error(jn, jp.child("issuer"), "issuer must be non-empty");
          o.jwt_rules.push_back(std::move(j));
        });
      } else return false;
      return true;
    });
    return true;
  });
}

// ---- Gateway ------------------------------------------------------------------------------

namespace {
constexpr std::initializer_list<const char*> kGatewayProtocols = {"HTTP", "HTTPS", "GRPC", "GRPC-WEB", "HTTP2",
                                                                  "MONGO", "TCP", "TLS", "REDIS", "MYSQL", "HBONE"};
}

void decode_gateway(Decoder& d, YamlNode root, Gateway& o) {
  decode_root(d, root, [&](std::string_view k, YamlNode v, const PathSeg& fp) {
    if (k != "spec") return false;
    d.fields(v, fp, [&](std::string_view k2, YamlNode v2, const PathSeg& fp2) {
      if (k2 == "selector") d.string_map(v2, fp2, o.selector, true);
      else if (k2 == "servers") {
        d.items(v2, fp2, [&](YamlNode sn, const PathSeg& sp) {
          GatewayServer s;
          s.location = sn.location();
          d.fields(sn, sp, [&](std::string_view k3, YamlNode v3, const PathSeg& fp3) {
            if (k3 == "port") {
              d.fields(v3, fp3, [&](std::string_view k4, YamlNode v4, const PathSeg& fp4) {
                if (k4 == "number") d.port(v4, fp4, s.port.number);
                else if (k4 == "protocol") {
                  if (d.str(v4, fp4, s.port.protocol)) {
                    std::string up;
                    for (char c : s.port.protocol) up += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
                    if (std::find_if(kGatewayProtocols.begin(), kGatewayProtocols.end(),
                                     [&](const char* x) { return up == x; }) == kGatewayProtocols.end())
                      d.error(v4, fp4, "unrecognized protocol \"" + s.port.protocol +
                                           "\" (valid: HTTP, HTTPS, GRPC, HTTP2, MONGO, TCP, TLS)");
                    s.port.protocol = up;
                  }
                } else if (k4 == "name") d.str(v4, fp4, s.port.name);
                else if (k4 == "targetPort") d.port(v4, fp4, s.port.target_port);
                else return false;
                return true;
              });
              if (v3.is_map() && !v3.get("number").valid()) d.error(v3, fp3.child("number"), "port number is required");
              if (v3.is_map() && !v3.get("protocol").valid()) d.error(v3, fp3.child("protocol"), "port protocol is required");
            } else if (k3 == "bind") d.str(v3, fp3, s.bind);
            else if (k3 == "hosts") d.strings(v3, fp3, s.hosts);
            else if (k3 == "name") d.str(v3, fp3, s.name);
            else if (k3 == "defaultEndpoint") {}
            else if (k3 == "tls") {
              ServerTls t;
              d.fields(v3, fp3, [&](std::string_view k4, YamlNode v4, const PathSeg& fp4) {
                if (k4 == "httpsRedirect") d.boolean(v4, fp4, t.https_redirect);
                else if (k4 == "mode")
                  d.enumeration<ServerTlsMode>(v4, fp4, t.mode,
                                               {{"PASSTHROUGH", ServerTlsMode::kPassthrough},
                                                {"SIMPLE", ServerTlsMode::kSimple},
                                                {"MUTUAL", ServerTlsMode::kMutual},
                                                {"AUTO_PASSTHROUGH", ServerTlsMode::kAutoPassthrough},
                                                {"ISTIO_MUTUAL", ServerTlsMode::kIstioMutual},
                                                {"OPTIONAL_MUTUAL", ServerTlsMode::kOptionalMutual}});
                else if (k4 == "serverCertificate") d.str(v4, fp4, t.server_certificate);
                else if (k4 == "privateKey") d.str(v4, fp4, t.private_key);
                else if (k4 == "caCertificates") d.str(v4, fp4, t.ca_certificates);
                else if (k4 == "credentialName") d.str(v4, fp4, t.credential_name);
                else if (k4 == "subjectAltNames") d.strings(v4, fp4, t.subject_alt_names);
                else if (k4 == "cipherSuites") d.strings(v4, fp4, t.cipher_suites);
                else if (k4 == "minProtocolVersion") d.enum_str(v4, fp4, t.min_protocol_version, {"TLS_AUTO", "TLSV1_0", "TLSV1_1", "TLSV1_2", "TLSV1_3"});
                else if (k4 == "maxProtocolVersion") d.enum_str(v4, fp4, t.max_protocol_version, {"TLS_AUTO", "TLSV1_0", "TLSV1_1", "TLSV1_2", "TLSV1_3"});
                else if (one_of(k4, {"verifyCertificateSpki", "verifyCertificateHash", "credentialNames", "tlsCertificates", "caCrl"})) {}
                else return false;
                return true;
              });
              if ((t.mode == ServerTlsMode::kSimple || t.mode == ServerTlsMode::kMutual ||
                   t.mode == ServerTlsMode::kOptionalMutual) &&
                  t.credential_name.empty() && !v3.get("credentialNames").valid() && !v3.get("tlsCertificates").valid()) {
                if (t.server_certificate.empty()) d.error(v3, fp3.child("serverCertificate"), "SIMPLE/MUTUAL TLS requires serverCertificate or credentialName");
                if (t.private_key.empty()) d.error(v3, fp3.child("privateKey"), "SIMPLE/MUTUAL TLS requires privateKey or credentialName");
              }
              s.tls = std::move(t);
            } else return false;
            return true;
          });
          if (sn.is_map()) {
            if (s.hosts.empty()) d.error(sn, sp.child("hosts"), "server config must contain at least one host");
            for (const auto& h : s.hosts) {
              std::string_view host = h;
              size_t slash = host.find('/');
              if (slash != std::string_view::npos) {
                std::string_view ns = host.substr(0, slash);
                if (ns != "." && ns != "*" && ns != "~" && !check_dns1123_label(ns).empty())
                  d.error(sn.get("hosts"), sp.child("hosts"), "invalid namespace \"" + std::string(ns) + "\" in host \"" + h + "\"");
                host = host.substr(slash + 1);
              }
              std::string why = check_istio_host(host, false);
              if (!why.empty()) d.error(sn.get("hosts"), sp.child("hosts"), "invalid host \"" + h + "\": " + why);
            }
            bool tls_proto = s.port.protocol == "HTTPS" || s.port.protocol == "TLS";
            if (tls_proto && !s.tls) d.error(sn, sp.child("tls"), "server must have TLS settings for HTTPS/TLS protocols");
            if (s.tls && !tls_proto && !s.tls->https_redirect)
              d.error(sn, sp.child("tls"), "server cannot have TLS settings for plain text protocol " + s.port.protocol);
          }
          o.servers.push_back(std::move(s));
        });
      } else return false;
      return true;
    });
    return true;
  });
  if (o.servers.empty()) d.error(root.get("spec").valid() ? root.get("spec") : root, PathSeg().child("spec").child("servers"), "gateway must have at least one server");
  std::set<std::string> names;
  for (const auto& s : o.servers)
    if (!s.port.name.empty() && !names.insert(s.port.name).second)
      d.error(root.get("spec").get("servers"), PathSeg().child("spec").child("servers"),
              "port names in servers must be unique: duplicate name \"" + s.port.name + "\"");
}

// ---- ServiceEntry / WorkloadEntry --------------------------------------------------------

namespace {

constexpr std::initializer_list<const char*> kPortProtocols = {"HTTP", "HTTPS", "GRPC", "GRPC-WEB", "HTTP2", "MONGO",
                                                               "TCP",  "TLS",   "REDIS", "MYSQL", "UDP", "HTTP_PROXY"};

void decode_port_spec(Decoder& d, YamlNode n, const PathSeg& p, ServicePortSpec& out, bool require_name) {
  d.fields(n, p, [&](std::string_view k, YamlNode v, const PathSeg& fp) {
    if (k == "number") d.port(v, fp, out.number);
    else if (k == "protocol") {
      if (d.str(v, fp, out.protocol)) {
        std::string up;
        for (char c : out.protocol) up += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        if (std::find_if(kPortProtocols.begin(), kPortProtocols.end(), [&](const char* x) { return up == x; }) ==
            kPortProtocols.end())
          d.error(v, fp, "unrecognized protocol \"" + out.protocol + "\" (valid: HTTP, HTTPS, GRPC, HTTP2, MONGO, TCP, TLS, MYSQL, REDIS, UDP)");
        out.protocol = up;
      }
    } else if (k == "name") d.str(v, fp, out.name);
    else if (k == "targetPort") d.port(v, fp, out.target_port);
    else return false;
    return true;
  });
  if (!n.is_map()) return;
  if (!n.get("number").valid()) d.error(n, p.child("number"), "port number is required");
  if (require_name && out.name.empty()) d.error(n, p.child("name"), "port name must be set");
}

void decode_workload_entry_spec(Decoder& d, YamlNode n, const PathSeg& p, WorkloadEntrySpec& e) {
  e.location = n.location();
  d.fields(n, p, [&](std::string_view k, YamlNode v, const PathSeg& fp) {
    if (k == "address") d.str(v, fp, e.address);
    else if (k == "ports") {
      if (d.is_map(v, fp))
        for (uint32_t i = 0; i < v.size(); ++i) {
          uint32_t port = 0;
          if (d.port(v.value(i), fp.child(v.key(i).scalar()), port)) e.ports[std::string(v.key(i).scalar())] = port;
        }
    } else if (k == "labels") d.string_map(v, fp, e.labels, true);
    else if (k == "network") d.str(v, fp, e.network);
    else if (k == "locality") d.str(v, fp, e.locality);
    else if (k == "weight") d.integer(v, fp, e.weight, 0, UINT32_MAX);
    else if (k == "serviceAccount") d.str(v, fp, e.service_account);
    else return false;
    return true;
  });
}

}  // namespace

void decode_service_entry(Decoder& d, YamlNode root, ServiceEntry& o) {
  decode_root(d, root, [&](std::string_view k, YamlNode v, const PathSeg& fp) {
    if (k != "spec") return false;
    d.fields(v, fp, [&](std::string_view k2, YamlNode v2, const PathSeg& fp2) {
      if (k2 == "hosts") {
        d.strings(v2, fp2, o.hosts);
        for (size_t i = 0; i < o.hosts.size(); ++i) {
          YamlNode hn = v2.is_sequence() && i < v2.size() ? v2.item(static_cast<uint32_t>(i)) : v2;
          if (o.hosts[i] == "*") d.error(hn, fp2.at(static_cast<int64_t>(i)), "invalid host \"*\": a ServiceEntry cannot match every host");
          else check_host(d, hn, fp2.at(static_cast<int64_t>(i)), o.hosts[i], false);
        }
      } else if (k2 == "addresses") {
        d.strings(v2, fp2, o.addresses);
        for (const auto& a : o.addresses)
          if (!is_cidr_or_ip(a)) d.error(v2, fp2, "invalid address \"" + a + "\" (IP or CIDR)");
      } else if (k2 == "ports") {
        std::set<uint32_t> numbers;
        std::set<std::string> names;
        d.items(v2, fp2, [&](YamlNode pn, const PathSeg& pp) {
          ServicePortSpec ps;
          decode_port_spec(d, pn, pp, ps, true);
          if (ps.number && !numbers.insert(ps.number).second) d.error(pn, pp.child("number"), "duplicate port number " + std::to_string(ps.number));
          if (!ps.name.empty() && !names.insert(ps.name).second) d.error(pn, pp.child("name"), "duplicate port name \"" + ps.name + "\"");
          o.ports.push_back(std::move(ps));
        });
      } else if (k2 == "location")
        d.enumeration<ServiceEntryLocation>(v2, fp2, o.location,
                                            {{"MESH_EXTERNAL", ServiceEntryLocation::kMeshExternal},
                                             {"MESH_INTERNAL", ServiceEntryLocation::kMeshInternal}});
      else if (k2 == "resolution")
        d.enumeration<ServiceEntryResolution>(v2, fp2, o.resolution,
                                              {{"NONE", ServiceEntryResolution::kNone},
                                               {"STATIC", ServiceEntryResolution::kStatic},
                                               {"DNS", ServiceEntryResolution::kDns},
                                               {"DNS_ROUND_ROBIN", ServiceEntryResolution::kDnsRoundRobin}});
      else if (k2 == "endpoints") {
        d.items(v2, fp2, [&](YamlNode en, const PathSeg& ep) {
          WorkloadEntrySpec e;
          decode_workload_entry_spec(d, en, ep, e);
          o.endpoints.push_back(std::move(e));
        });
      } else if (k2 == "workloadSelector") decode_workload_selector(d, v2, fp2, o.workload_selector);
      else if (k2 == "exportTo") d.strings(v2, fp2, o.export_to);
      else if (k2 == "subjectAltNames") d.strings(v2, fp2, o.subject_alt_names);
      else return false;
      return true;
    });
    return true;
  });
  YamlNode spec = root.get("spec");
  PathSeg sp = PathSeg().child("spec");
  YamlNode at = spec.valid() ? spec : root;
  if (o.hosts.empty()) d.error(at, sp.child("hosts"), "service entry must have at least one host");
  if (o.workload_selector && !o.endpoints.empty())
    d.error(at, sp, "only one of WorkloadSelector or Endpoints is allowed in Service Entry");
  YamlNode eps = spec.get("endpoints");
  for (size_t i = 0; i < o.endpoints.size(); ++i) {
    const auto& e = o.endpoints[i];
    PathSeg eps_path = sp.child("endpoints");
    PathSeg ep = eps_path.at(static_cast<int64_t>(i));
    YamlNode en = eps.is_sequence() && i < eps.size() ? eps.item(static_cast<uint32_t>(i)) : at;
    if (o.resolution == ServiceEntryResolution::kStatic && !is_ipv4(e.address) && e.address.rfind("unix://", 0) != 0 &&
        !is_cidr_or_ip(e.address))
      d.error(en, ep.child("address"), "endpoint address \"" + e.address + "\" is not a valid IP address (resolution STATIC)");
    if (o.resolution == ServiceEntryResolution::kStatic && e.address.empty())
      d.error(en, ep.child("address"), "endpoint address is required for resolution STATIC");
    if ((o.resolution == ServiceEntryResolution::kDns || o.resolution == ServiceEntryResolution::kDnsRoundRobin) &&
        !e.address.empty() && !is_ipv4(e.address)) {
      std::string why = check_istio_host(e.address, false);
      if (!why.empty()) d.error(en, ep.child("address"), "endpoint address \"" + e.address + "\": " + why);
    }
    for (const auto& port_entry : e.ports) {
      const std::string& pname = port_entry.first;
      bool found = std::any_of(o.ports.begin(), o.ports.end(), [&](const ServicePortSpec& ps) { return ps.name == pname; });
      if (!found) d.error(en, ep.child("ports").child(pname), "endpoint port name \"" + pname + "\" does not match any port of the service entry");
    }
  }
  if (o.resolution == ServiceEntryResolution::kStatic && o.endpoints.empty() && !o.workload_selector)
    d.warn(at, sp.child("endpoints"), "resolution STATIC without endpoints: the service has no endpoints", "MS0004");
  // No ports is valid (Istio's ValidateServiceEntry does not require any): the
  // host exists for routing and analysis, the sidecars get no listener for it.
  if (o.resolution == ServiceEntryResolution::kDnsRoundRobin && o.endpoints.size() > 1)
    d.error(at, sp.child("endpoints"), "DNS_ROUND_ROBIN allows at most one endpoint");
}

void decode_workload_entry(Decoder& d, YamlNode root, WorkloadEntry& o) {
  decode_root(d, root, [&](std::string_view k, YamlNode v, const PathSeg& fp) {
    if (k != "spec") return false;
    decode_workload_entry_spec(d, v, fp, o.spec);
    return true;
  });
  if (o.spec.address.empty() && o.spec.network.empty())
    d.error(root.get("spec").valid() ? root.get("spec") : root, PathSeg().child("spec").child("address"),
            "address is required (or network for a workload behind a network gateway)");
}

// ---- Sidecar / Telemetry -----------------------------------------------------------------

void decode_sidecar(Decoder& d, YamlNode root, SidecarResource& o) {
  decode_root(d, root, [&](std::string_view k, YamlNode v, const PathSeg& fp) {
    if (k != "spec") return false;
    d.fields(v, fp, [&](std::string_view k2, YamlNode v2, const PathSeg& fp2) {
      if (k2 == "workloadSelector") decode_workload_selector(d, v2, fp2, o.workload_selector);
      else if (k2 == "ingress") {
        d.items(v2, fp2, [&](YamlNode in, const PathSeg& ip) {
          IstioIngressListener l;
          d.fields(in, ip, [&](std::string_view k3, YamlNode v3, const PathSeg& fp3) {
            if (k3 == "port") decode_port_spec(d, v3, fp3, l.port, false);
            else if (k3 == "bind") d.str(v3, fp3, l.bind);
            else if (k3 == "captureMode") d.enum_str(v3, fp3, l.capture_mode, {"DEFAULT", "IPTABLES", "NONE"});
            else if (k3 == "defaultEndpoint") d.str(v3, fp3, l.default_endpoint);
            else if (k3 == "tls" || k3 == "connectionPool") {}
            else return false;
            return true;
          });
          if (in.is_map() && !in.get("port").valid()) d.error(in, ip.child("port"), "sidecar ingress listener must have a port");
          o.ingress.push_back(std::move(l));
        });
      } else if (k2 == "egress") {
        d.items(v2, fp2, [&](YamlNode en, const PathSeg& ep) {
          IstioEgressListener l;
          d.fields(en, ep, [&](std::string_view k3, YamlNode v3, const PathSeg& fp3) {
            if (k3 == "port") {
              ServicePortSpec ps;
              decode_port_spec(d, v3, fp3, ps, false);
              l.port = ps;
            } else if (k3 == "bind") d.str(v3, fp3, l.bind);
            else if (k3 == "captureMode") d.enum_str(v3, fp3, l.capture_mode, {"DEFAULT", "IPTABLES", "NONE"});
            else if (k3 == "hosts") {
              d.strings(v3, fp3, l.hosts);
              for (const auto& h : l.hosts) {
                size_t slash = h.find('/');
                if (slash == std::string::npos)
                  d.error(v3, fp3, "host \"" + h + "\" must be of form namespace/dnsName");
                else {
                  std::string why = check_istio_host(h.substr(slash + 1), false);
                  if (!why.empty()) d.error(v3, fp3, "invalid host \"" + h + "\": " + why);
                }
              }
            } else return false;
            return true;
          });
          if (en.is_map() && l.hosts.empty()) d.error(en, ep.child("hosts"), "sidecar: egress listener must contain at least one host");
          o.egress.push_back(std::move(l));
        });
      } else if (k2 == "outboundTrafficPolicy") {
        d.fields(v2, fp2, [&](std::string_view k3, YamlNode v3, const PathSeg& fp3) {
          if (k3 == "mode") d.enum_str(v3, fp3, o.outbound_traffic_policy, {"REGISTRY_ONLY", "ALLOW_ANY"});
          else if (k3 == "egressProxy") {}
          else return false;
          return true;
        });
      } else if (k2 == "inboundConnectionPool") {}
      else return false;
      return true;
    });
    return true;
  });
}

void decode_telemetry(Decoder& d, YamlNode root, Telemetry& o) {
  auto providers = [&](YamlNode n, const PathSeg& p, std::vector<std::string>& out) {
    d.items(n, p, [&](YamlNode it, const PathSeg& ip) {
      std::string name;
      d.fields(it, ip, [&](std::string_view k, YamlNode v, const PathSeg& fp) {
        if (k != "name") return false;
        d.str(v, fp, name);
        return true;
      });
      if (name.empty() && it.is_map()) d.error(it, ip.child("name"), "provider name must be set");
      out.push_back(name);
    });
  };
  decode_root(d, root, [&](std::string_view k, YamlNode v, const PathSeg& fp) {
    if (k != "spec") return false;
    d.fields(v, fp, [&](std::string_view k2, YamlNode v2, const PathSeg& fp2) {
      if (k2 == "selector") decode_workload_selector(d, v2, fp2, o.selector);
      else if (k2 == "targetRef" || k2 == "targetRefs") decode_target_refs(d, v2, fp2, o.target_refs);
      else if (k2 == "tracing") {
        d.items(v2, fp2, [&](YamlNode tn, const PathSeg& tp) {
          TelemetryTracing t;
          d.fields(tn, tp, [&](std::string_view k3, YamlNode v3, const PathSeg& fp3) {
            if (k3 == "providers") providers(v3, fp3, t.providers);
            else if (k3 == "randomSamplingPercentage") d.opt_number(v3, fp3, t.random_sampling_percentage, 0, 100);
            else if (k3 == "disableSpanReporting") d.opt_bool(v3, fp3, t.disable_span_reporting);
            else if (k3 == "match") d.enum_str(v3.get("mode"), fp3.child("mode"), t.match_mode, {"CLIENT_AND_SERVER", "CLIENT", "SERVER"});
            else if (k3 == "useRequestIdForTraceSampling") d.opt_bool(v3, fp3, t.use_request_id_for_trace_sampling);
            else if (k3 == "enableIstioTags") d.opt_bool(v3, fp3, t.enable_istio_tags);
            else if (k3 == "disableContextPropagation") d.opt_bool(v3, fp3, t.disable_context_propagation);
            else if (k3 == "customTags") {
              t.custom_tags.emplace();
              d.fields(v3, fp3, [&](std::string_view tag, YamlNode tv, const PathSeg& tpp) {
                YamlNode lit = tv.get("literal");
                if (lit.valid()) {
                  std::string value;
                  d.str(lit.get("value"), tpp.child("literal").child("value"), value);
                  t.custom_tags->emplace_back(std::string(tag), value);
                } else {
                  t.unsimulated_custom_tags.emplace_back(tag);
                }
                return true;
              });
            }
            else return false;
            return true;
          });
          o.tracing.push_back(std::move(t));
        });
      } else if (k2 == "metrics") {
        d.items(v2, fp2, [&](YamlNode mn, const PathSeg& mp) {
          TelemetryMetrics m;
          d.fields(mn, mp, [&](std::string_view k3, YamlNode v3, const PathSeg& fp3) {
            if (k3 == "providers") providers(v3, fp3, m.providers);
            else if (k3 == "reportingInterval") d.duration(v3, fp3, m.reporting_interval);
            else if (k3 == "overrides") {
              d.items(v3, fp3, [&](YamlNode on, const PathSeg& op) {
                TelemetryMetrics::Override ov;
                d.fields(on, op, [&](std::string_view k4, YamlNode v4, const PathSeg& fp4) {
                  if (k4 == "match") {
                    YamlNode metric = v4.get("metric");
                    if (metric.valid())
                      d.enum_str(metric, fp4.child("metric"), ov.metric,
                                 {"ALL_METRICS", "REQUEST_COUNT", "REQUEST_DURATION", "REQUEST_SIZE", "RESPONSE_SIZE",
                                  "TCP_OPENED_CONNECTIONS", "TCP_CLOSED_CONNECTIONS", "TCP_SENT_BYTES",
                                  "TCP_RECEIVED_BYTES", "GRPC_REQUEST_MESSAGES", "GRPC_RESPONSE_MESSAGES"});
                    YamlNode mode = v4.get("mode");
                    if (mode.valid()) d.enum_str(mode, fp4.child("mode"), ov.mode, {"CLIENT_AND_SERVER", "CLIENT", "SERVER"});
                  } else if (k4 == "disabled") d.opt_bool(v4, fp4, ov.disabled);
                  else if (k4 == "tagOverrides") {}
                  else return false;
                  return true;
                });
                m.overrides.push_back(std::move(ov));
              });
            } else return false;
            return true;
          });
          o.metrics.push_back(std::move(m));
        });
      } else if (k2 == "accessLogging") {
        d.items(v2, fp2, [&](YamlNode an, const PathSeg& ap) {
          TelemetryAccessLogging a;
          d.fields(an, ap, [&](std::string_view k3, YamlNode v3, const PathSeg& fp3) {
            if (k3 == "providers") providers(v3, fp3, a.providers);
            else if (k3 == "disabled") d.opt_bool(v3, fp3, a.disabled);
            else if (k3 == "filter") d.str(v3.get("expression"), fp3.child("expression"), a.filter_expression);
            else if (k3 == "match") {}
            else return false;
            return true;
          });
          o.access_logging.push_back(std::move(a));
        });
      } else return false;
      return true;
    });
    return true;
  });
}

}  // namespace meshsim::mesh::detail
