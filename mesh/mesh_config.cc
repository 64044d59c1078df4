#include "mesh/mesh_config.h"

#include <cstdlib>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "mesh/decoder.h"

namespace meshsim::mesh {

using detail::Decoder;
using detail::PathSeg;
using detail::one_of;

namespace {

// MeshConfig / ProxyConfig fields Istio defines that meshsim accepts without
// modelling them (they load silently), and every field it accepts at all (for
// "did you mean" on the others).
const std::vector<std::string_view> kMeshConfigIgnoredFields = {
    "accessLogFormat", "discoverySelectors", "meshMTLS", "tlsDefaults",
    "tcpKeepalive", "serviceSettings", "caCertificates", "certificates",
    "inboundClusterStatName", "outboundClusterStatName", "verifyCertificateAtClient", "h2UpgradePolicy",
    "defaultHttpRetryPolicy", "meshNetworks", "configSources", "enableEnvoyAccessLogService", "proxyHttpPort",
    "thriftConfig", "serviceScopeConfigs", "inboundTrafficPolicy", "mixerCheckServer", "mixerReportServer",
    "disablePolicyChecks", "policyCheckFailOpen", "sidecarToTelemetrySessionAffinity", "sdsUdsPath",
    "outboundClusterStatName", "localityLbSetting", "enableSdsTokenMount", "sdsRefreshDelay", "rootNamespace",
    "ingressClass", "trustDomain", "protocolDetectionTimeout", "gatewayClassName", "meshId", "clusterLocalNamespaces"};
const std::vector<std::string_view> kProxyConfigIgnoredFields = {
    "configPath", "binaryPath", "serviceCluster", "drainDuration", "parentShutdownDuration", "discoveryAddress",
    "discoveryRefreshDelay", "zipkinAddress", "statsdUdpAddress", "envoyMetricsServiceAddress", "proxyAdminPort",
    "availabilityZone", "controlPlaneAuthPolicy", "customConfigFile", "statNameLength", "concurrency",
    "proxyBootstrapTemplatePath", "interceptionMode", "envoyAccessLogService", "envoyMetricsService", "sds",
    "readinessProbe", "extraStatTags", "proxyStatsMatcher", "terminationDrainDuration", "meshId", "gatewayTopology",
    "runtimeValues", "privateKeyProvider", "image", "caCertificatesPem", "proxyHeaders", "fileFlushInterval",
    "fileFlushMinSizeKb", "tracingServiceName", "statsCompression", "startupProbe", "clusterName"};
std::vector<std::string_view> with_handled(std::vector<std::string_view> ignored,
                                           std::initializer_list<std::string_view> handled) {
  for (auto h : handled)
    if (std::find(ignored.begin(), ignored.end(), h) == ignored.end()) ignored.push_back(h);
  return ignored;
}
const std::vector<std::string_view> kMeshConfigAcceptedFields = with_handled(
    kMeshConfigIgnoredFields,
    {"rootNamespace", "trustDomain", "trustDomainAliases", "enableAutoMtls", "protocolDetectionTimeout", "connectTimeout",
     "dnsRefreshRate", "outboundTrafficPolicy", "ingressClass", "ingressControllerMode", "ingressService",
     "ingressSelector", "localityLbSetting", "enableTracing", "defaultConfig", "proxyListenPort",
     "proxyInboundListenPort", "accessLogFile", "accessLogEncoding", "enablePrometheusMerge", "defaultServiceExportTo",
     "defaultVirtualServiceExportTo", "defaultDestinationRuleExportTo", "pathNormalization", "extensionProviders", "defaultProviders"});
const std::vector<std::string_view> kProxyConfigAcceptedFields =
    with_handled(kProxyConfigIgnoredFields, {"proxyMetadata", "tracing", "holdApplicationUntilProxyStarts", "statusPort"});

bool one_of_list(std::string_view k, const std::vector<std::string_view>& names) {
  return std::find(names.begin(), names.end(), k) != names.end();
}

void apply_proxy_config(Decoder& d, YamlNode n, const PathSeg& p, MeshConfig& mc) {
  d.fields(n, p, kProxyConfigAcceptedFields, [&](std::string_view k, YamlNode v, const PathSeg& fp) {
    if (k == "proxyMetadata") {
      Labels m;
      d.string_map(v, fp, m, false);
      for (auto& [a, b] : m) mc.proxy_metadata[a] = b;
      auto it = m.find("SECRET_TTL");
      if (it != m.end() && !parse_duration(it->second).ok())
        d.error(v.get("SECRET_TTL"), fp.child("SECRET_TTL"), "invalid duration \"" + it->second + "\" for SECRET_TTL");
    } else if (k == "tracing") {
      d.fields(v, fp, [&](std::string_view k2, YamlNode v2, const PathSeg& fp2) {
        if (k2 == "sampling") {
          std::optional<double> s;
          if (d.opt_number(v2, fp2, s, 0, 100)) mc.default_tracing_sampling = *s;
        } else if (k2 == "zipkin") {
          d.fields(v2, fp2, [&](std::string_view k3, YamlNode v3, const PathSeg& fp3) {
            if (k3 != "address") return false;
            d.str(v3, fp3, mc.bootstrap_zipkin_address);
            return true;
          });
        } else if (k2 == "maxPathTagLength") {
          d.integer(v2, fp2, mc.tracing_max_path_tag_length, 0, 4294967295LL);
        } else if (k2 == "enableIstioTags") {
          d.opt_bool(v2, fp2, mc.tracing_enable_istio_tags);
        } else if (!one_of(k2, {"lightstep", "datadog", "stackdriver", "openCensusAgent", "customTags", "tlsSettings"}))
          return false;
        return true;
      });
    } else if (k == "holdApplicationUntilProxyStarts") {
      d.boolean(v, fp, mc.hold_application_until_proxy_starts);
    } else if (k == "statusPort") {
      d.port(v, fp, mc.status_port);
    } else if (!one_of_list(k, kProxyConfigAcceptedFields))
      return false;
    return true;
  });
}

}  // namespace

void apply_mesh_config(YamlNode node, const std::string& resource, MeshConfig& mc, std::vector<Diagnostic>& diags) {
  Decoder d(diags, resource);
  PathSeg root;
  d.fields(node, root, kMeshConfigAcceptedFields, [&](std::string_view k, YamlNode v, const PathSeg& fp) {
    if (k == "rootNamespace") {
      if (d.str(v, fp, mc.root_namespace)) {
        std::string why = detail::check_dns1123_label(mc.root_namespace);
        if (!why.empty()) d.error(v, fp, "invalid namespace \"" + mc.root_namespace + "\": " + why);
      }
    } else if (k == "trustDomain") d.str(v, fp, mc.trust_domain);
    else if (k == "trustDomainAliases") {
      mc.trust_domain_aliases.clear();
      d.strings(v, fp, mc.trust_domain_aliases);
    } else if (k == "enableAutoMtls") d.boolean(v, fp, mc.enable_auto_mtls);
    else if (k == "extensionProviders") {
      mc.ext_authz_http_providers.clear();
      mc.other_extension_providers.clear();
      d.items(v, fp, [&](YamlNode pn, const PathSeg& pp) {
        std::string name;
        d.str(pn.get("name"), pp.child("name"), name);
        d.fields(pn, pp, [&](std::string_view k2, YamlNode v2, const PathSeg& fp2) {
          if (k2 == "name") return true;
          if (k2 != "envoyExtAuthzHttp") {
            mc.other_extension_providers[name] = std::string(k2);
            if (one_of(k2, {"zipkin", "opentelemetry", "datadog", "skywalking", "stackdriver", "opencensus", "lightstep"})) {
              TracingProvider tp;
              tp.name = name;
              tp.kind_name = std::string(k2);
              tp.kind = k2 == "zipkin" ? TracingProvider::Kind::kZipkin
                        : k2 == "opentelemetry" ? TracingProvider::Kind::kOpenTelemetry
                                                : TracingProvider::Kind::kOther;
              d.fields(v2, fp2, [&](std::string_view k3, YamlNode v3, const PathSeg& fp3) {
                if (k3 == "service") d.str(v3, fp3, tp.service);
                else if (k3 == "port") d.port(v3, fp3, tp.port);
                else if (k3 == "maxTagLength") d.integer(v3, fp3, tp.max_tag_length, 0, 4294967295LL);
                else if (k3 == "enable64bitTraceId") d.boolean(v3, fp3, tp.enable_64bit_trace_id);
                else if (k3 == "path") d.str(v3, fp3, tp.path);
                else if (k3 == "traceContextOption") {
                  d.str(v3, fp3, tp.trace_context_option);
                  if (tp.trace_context_option != "USE_B3" && tp.trace_context_option != "USE_B3_WITH_W3C_PROPAGATION")
                    d.error(v3, fp3, "invalid traceContextOption \"" + tp.trace_context_option +
                                         "\" (valid: USE_B3, USE_B3_WITH_W3C_PROPAGATION)");
                }
                return true;  // timeout, headers, http, grpc, resourceDetectors, …: accepted
              });
              if (tp.service.empty()) d.error(v2, fp2, "tracing provider " + name + ": service is required");
              mc.tracing_providers.push_back(std::move(tp));
            }
            return true;
          }
          ExtAuthzHttpProvider e;
          e.name = name;
          d.fields(v2, fp2, [&](std::string_view k3, YamlNode v3, const PathSeg& fp3) {
            if (k3 == "service") d.str(v3, fp3, e.service);
            else if (k3 == "port") d.port(v3, fp3, e.port);
            else if (k3 == "timeout") d.duration(v3, fp3, e.timeout, false);
            else if (k3 == "pathPrefix") {
              d.str(v3, fp3, e.path_prefix);
              if (!e.path_prefix.empty() && e.path_prefix[0] != '/')
                d.error(v3, fp3, "pathPrefix must begin with `/`, found: \"" + e.path_prefix + "\"");
            } else if (k3 == "failOpen") d.boolean(v3, fp3, e.fail_open);
            else if (k3 == "statusOnError") d.str(v3, fp3, e.status_on_error);
            else if (k3 == "includeRequestHeadersInCheck" || k3 == "includeHeadersInCheck") {
              if (k3 == "includeHeadersInCheck" && !e.include_request_headers_in_check.empty()) return true;
              d.strings(v3, fp3, e.include_request_headers_in_check);
            } else if (k3 == "includeAdditionalHeadersInCheck") {
              d.fields(v3, fp3, [&](std::string_view hk, YamlNode hv, const PathSeg& hp) {
                std::string val;
                d.str(hv, hp, val);
                e.include_additional_headers_in_check[std::string(hk)] = val;
                return true;
              });
            } else if (k3 == "headersToUpstreamOnAllow") d.strings(v3, fp3, e.headers_to_upstream_on_allow);
            else if (k3 == "headersToDownstreamOnDeny") d.strings(v3, fp3, e.headers_to_downstream_on_deny);
            else if (k3 == "headersToDownstreamOnAllow") d.strings(v3, fp3, e.headers_to_downstream_on_allow);
            else if (k3 == "includeRequestBodyInCheck") return true;  // the body is not sent (see docs)
            else return false;
            return true;
          });
          mc.ext_authz_http_providers.push_back(std::move(e));
          return true;
        });
      });
    }
    else if (k == "pathNormalization") {
      d.fields(v, fp, [&](std::string_view k2, YamlNode v2, const PathSeg& fp2) {
        if (k2 != "normalization") return false;
        std::string n;
        if (d.str(v2, fp2, n)) {
          if (n == "DEFAULT") n = "BASE";
          if (n != "NONE" && n != "BASE" && n != "MERGE_SLASHES" && n != "DECODE_AND_MERGE_SLASHES")
            d.error(v2, fp2, "unknown normalization \"" + n + "\" (NONE, BASE, MERGE_SLASHES, DECODE_AND_MERGE_SLASHES)");
          else mc.path_normalization = n;
        }
        return true;
      });
    }
    else if (k == "protocolDetectionTimeout") {
      std::optional<Duration> t;
      if (d.duration(v, fp, t, true)) {
        if (!t->is_zero() && *t < Duration::millis(1)) d.error(v, fp, "protocolDetectionTimeout must be 0 or at least 1ms");
        else mc.protocol_detection_timeout = *t;
      }
    } else if (k == "connectTimeout") {
      std::optional<Duration> t;
      if (d.duration(v, fp, t)) mc.connect_timeout = *t;
    } else if (k == "dnsRefreshRate") {
      std::optional<Duration> t;
      if (d.duration(v, fp, t)) mc.dns_refresh_rate = *t;
    } else if (k == "outboundTrafficPolicy") {
      d.fields(v, fp, [&](std::string_view k2, YamlNode v2, const PathSeg& fp2) {
        if (k2 != "mode") return false;
        d.enumeration<MeshConfig::OutboundTrafficPolicy>(
            v2, fp2, mc.outbound_traffic_policy,
            {{"ALLOW_ANY", MeshConfig::OutboundTrafficPolicy::kAllowAny},
             {"REGISTRY_ONLY", MeshConfig::OutboundTrafficPolicy::kRegistryOnly}});
        return true;
      });
    } else if (k == "ingressClass") d.str(v, fp, mc.ingress_class);
    else if (k == "ingressControllerMode") d.enum_str(v, fp, mc.ingress_controller_mode, {"UNSPECIFIED", "OFF", "DEFAULT", "STRICT"});
    else if (k == "ingressService") d.str(v, fp, mc.ingress_service);
    else if (k == "ingressSelector") d.str(v, fp, mc.ingress_selector);
    else if (k == "localityLbSetting") {
      // Same shape as DestinationRule's; decode through a scratch DR decoder path.
      LocalityLbSetting l;
      d.fields(v, fp, [&](std::string_view k2, YamlNode v2, const PathSeg& fp2) {
        if (k2 == "enabled") d.opt_bool(v2, fp2, l.enabled);
        else if (k2 == "failoverPriority") d.strings(v2, fp2, l.failover_priority);
        else if (k2 == "failover") {
          d.items(v2, fp2, [&](YamlNode it, const PathSeg& ip) {
            LocalityLbSetting::Failover f;
            d.str(it.get("from"), ip.child("from"), f.from);
            d.str(it.get("to"), ip.child("to"), f.to);
            l.failover.push_back(f);
          });
        } else if (k2 == "distribute") {
          d.items(v2, fp2, [&](YamlNode it, const PathSeg& ip) {
            LocalityLbSetting::Distribute dist;
            d.str(it.get("from"), ip.child("from"), dist.from);
            YamlNode to = it.get("to");
            if (d.is_map(to, ip.child("to")))
              for (uint32_t i = 0; i < to.size(); ++i) {
                uint32_t w = 0;
                if (d.integer(to.value(i), ip.child("to").child(to.key(i).scalar()), w, 0, 100))
                  dist.to[std::string(to.key(i).scalar())] = w;
              }
            l.distribute.push_back(dist);
          });
        } else return false;
        return true;
      });
      if (!l.enabled) l.enabled = true;
      mc.locality_lb_setting = l;
    } else if (k == "enableTracing") d.boolean(v, fp, mc.enable_tracing);
    else if (k == "defaultProviders") {
      d.fields(v, fp, [&](std::string_view k2, YamlNode v2, const PathSeg& fp2) {
        if (k2 == "tracing") {
          mc.default_tracing_providers.clear();
          d.strings(v2, fp2, mc.default_tracing_providers);
        } else if (k2 == "metrics") {
          mc.default_metrics_providers.clear();
          d.strings(v2, fp2, mc.default_metrics_providers);
        } else if (k2 == "accessLogging") {
          mc.default_access_logging_providers.clear();
          d.strings(v2, fp2, mc.default_access_logging_providers);
        } else {
          return false;
        }
        return true;
      });
    }
    else if (k == "defaultConfig") apply_proxy_config(d, v, fp, mc);
    else if (k == "proxyListenPort") d.port(v, fp, mc.proxy_listen_port);
    else if (k == "proxyInboundListenPort") d.port(v, fp, mc.proxy_inbound_listen_port);
    else if (k == "accessLogFile") d.str(v, fp, mc.access_log_file);
    else if (k == "accessLogEncoding") d.enum_str(v, fp, mc.access_log_encoding, {"TEXT", "JSON"});
    else if (k == "enablePrometheusMerge") d.boolean(v, fp, mc.enable_prometheus_merge);
    else if (k == "defaultServiceExportTo") { mc.default_service_export_to.clear(); d.strings(v, fp, mc.default_service_export_to); }
    else if (k == "defaultVirtualServiceExportTo") { mc.default_virtual_service_export_to.clear(); d.strings(v, fp, mc.default_virtual_service_export_to); }
    else if (k == "defaultDestinationRuleExportTo") { mc.default_destination_rule_export_to.clear(); d.strings(v, fp, mc.default_destination_rule_export_to); }
    else if (!one_of_list(k, kMeshConfigAcceptedFields))
      return false;
    return true;
  });
}

MeshConfig resolve_mesh_config(const ResourceSet& rs, std::vector<Diagnostic>& diags) {
  MeshConfig mc;
  // IstioOperators were validated (and their problems reported) by the loader.
  std::vector<Diagnostic> already_reported;
  for (const auto& op : rs.istio_operators) {
    if (op.mesh_config.valid()) apply_mesh_config(op.mesh_config, op.display(), mc, already_reported);
    // PILOT_TRACE_SAMPLING: the chart emits the env only for a non-zero
    // values.pilot.traceSampling (default 1.0, demo profile 100); an explicit
    // env entry wins; istiod falls back to 1.0 outside [0, 100].
    if (op.profile == "demo") {
      mc.pilot_trace_sampling = 100;
      mc.pilot_trace_sampling_source = op.display() + " profile demo (values.pilot.traceSampling 100)";
    }
    if (op.values_trace_sampling && *op.values_trace_sampling != 0) {
      mc.pilot_trace_sampling = *op.values_trace_sampling;
      mc.pilot_trace_sampling_source = op.display() + " values.pilot.traceSampling";
    }
    if (op.env_trace_sampling) {
      char* end = nullptr;
      double x = std::strtod(op.env_trace_sampling->c_str(), &end);
      bool ok = end && *end == '\0' && !op.env_trace_sampling->empty();
      mc.pilot_trace_sampling = ok ? x : 1.0;
      mc.pilot_trace_sampling_source = op.display() + " env PILOT_TRACE_SAMPLING";
    }
    if (mc.pilot_trace_sampling < 0 || mc.pilot_trace_sampling > 100) {
      mc.pilot_trace_sampling = 1.0;
      mc.pilot_trace_sampling_source += " (out of [0, 100]: istiod uses 1.0)";
    }
  }
  for (const auto& cm : rs.config_maps) {
    if (cm.meta.name != "istio" || cm.meta.namespace_ != mc.root_namespace) continue;
    auto it = cm.data.find("mesh");
    if (it == cm.data.end()) continue;
    Location at = locate(cm, "data.mesh");
    auto pd = parse_yaml_document(it->second, at.file ? at.file : intern_file("<configmap>"), at.line + 1);
    for (auto& e : pd.errors) {
      e.resource = cm.display();
      e.path = "data.mesh";
      diags.push_back(std::move(e));
    }
    if (pd.doc) {
      std::vector<Diagnostic> inner;
      apply_mesh_config(pd.doc->root(), cm.display(), mc, inner);
      // The embedded document's columns are relative to the block scalar.
      for (auto& e : inner) {
        e.path = "data.mesh." + e.path;
        diags.push_back(std::move(e));
      }
      // Keep the document alive for as long as the diagnostics refer to it (interned file only).
    }
  }
  return mc;
}

void apply_mesh_config_file(const std::string& path, MeshConfig& mc, std::vector<Diagnostic>& diags) {
  std::ifstream in(path, std::ios::binary);
  const std::string* file = intern_file(path);
  if (!in) {
    diags.push_back(Diagnostic{Severity::kError, "MS0005", Location{file, 0, 0}, "", "", "cannot read mesh config file"});
    return;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  auto docs = parse_yaml_stream(text, file);
  for (auto& pd : docs) {
    for (auto& e : pd.errors) diags.push_back(std::move(e));
    if (!pd.doc) continue;
    YamlNode root = pd.doc->root();
    if (!root.is_map()) {
      diags.push_back(Diagnostic{Severity::kError, "MS0002", root.location(), "MeshConfig", "",
                                 std::string("expected a mapping, got ") + root.kind_name()});
      continue;
    }
    if (root.get("kind").scalar() == "IstioOperator") {
      apply_mesh_config(root.get("spec").get("meshConfig"), "IstioOperator", mc, diags);
    } else if (root.get("kind").scalar() == "ConfigMap") {
      YamlNode mesh = root.get("data").get("mesh");
      if (mesh.is_scalar()) {
        auto inner = parse_yaml_document(mesh.scalar(), file, mesh.line() + 1);
        for (auto& e : inner.errors) diags.push_back(std::move(e));
        if (inner.doc) apply_mesh_config(inner.doc->root(), "ConfigMap", mc, diags);
      }
    } else {
      apply_mesh_config(root, "MeshConfig", mc, diags);
    }
  }
}

Duration workload_cert_ttl(const MeshConfig& mc, const Labels& pod_proxy_metadata) {
  auto pick = [](const std::string& s) -> std::optional<Duration> {
    auto d = parse_duration(s);
    if (d.ok() && d->ns() > 0) return *d;
    return std::nullopt;
  };
  if (auto it = pod_proxy_metadata.find("SECRET_TTL"); it != pod_proxy_metadata.end())
    if (auto d = pick(it->second)) return *d;
  if (auto it = mc.proxy_metadata.find("SECRET_TTL"); it != mc.proxy_metadata.end())
    if (auto d = pick(it->second)) return *d;
  return Duration::hours(24);
}

}  // namespace meshsim::mesh
