// MeshConfig is istiod's mesh-wide configuration (API: mesh/v1alpha1/config.proto)
// with Istio's defaults (I:pkg/config/mesh/mesh.go DefaultMeshConfig), plus the
// two injector-wide defaults meshsim needs (probe rewrite, status port).
//
// Sources, later ones overriding earlier ones field by field:
//   1. the defaults below;
//   2. spec.meshConfig of every IstioOperator in the loaded manifests (load order);
//   3. data.mesh of a ConfigMap named "istio" in the root namespace;
//   4. the file given with `meshsim analyze --mesh-config FILE` (a plain
//      MeshConfig document, or an IstioOperator).
// Unknown fields are warnings, bad values errors, like every other manifest.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "mesh/diagnostics.h"
#include "mesh/resources.h"
#include "proxy/base/duration.h"

namespace meshsim::mesh {

// meshConfig.extensionProviders[].envoyExtAuthzHttp (CUSTOM authorization).
struct ExtAuthzHttpProvider {
  std::string name;
  std::string service;  // "foo/ext-authz.foo.svc.cluster.local" or the FQDN
  uint32_t port = 0;
  std::optional<Duration> timeout;
  std::string path_prefix;
  bool fail_open = false;
  std::string status_on_error;
  std::vector<std::string> include_request_headers_in_check;
  std::map<std::string, std::string> include_additional_headers_in_check;
  std::vector<std::string> headers_to_upstream_on_allow;
  std::vector<std::string> headers_to_downstream_on_deny;
  std::vector<std::string> headers_to_downstream_on_allow;
};

// A tracing entry of meshConfig.extensionProviders (zipkin, opentelemetry —
// the ones meshsim simulates — or another tracer kind, kept by name so that
// a Telemetry naming it can say it is not simulated).
struct TracingProvider {
  enum class Kind : uint8_t { kZipkin, kOpenTelemetry, kOther };
  std::string name;
  Kind kind = Kind::kOther;
  std::string kind_name;  // the YAML key: zipkin, opentelemetry, datadog, skywalking, …
  std::string service;    // registry hostname, or <namespace>/<hostname>
  uint32_t port = 0;
  uint32_t max_tag_length = 0;     // 0 = unset
  bool enable_64bit_trace_id = false;
  std::string path;                // zipkin: "" = /api/v2/spans
  std::string trace_context_option;  // zipkin: USE_B3 | USE_B3_WITH_W3C_PROPAGATION
};

struct MeshConfig {
  std::string root_namespace = "istio-system";
  std::string trust_domain = "cluster.local";
  std::vector<std::string> trust_domain_aliases;
  bool enable_auto_mtls = true;
  Duration protocol_detection_timeout = Duration::zero();  // 0 = disabled (Istio >= 1.8)
  Duration connect_timeout = Duration::seconds(10);
  Duration dns_refresh_rate = Duration::seconds(60);
  enum class OutboundTrafficPolicy : uint8_t { kAllowAny, kRegistryOnly };
  OutboundTrafficPolicy outbound_traffic_policy = OutboundTrafficPolicy::kAllowAny;
  // pathNormalization.normalization: NONE | BASE (default) | MERGE_SLASHES |
  // DECODE_AND_MERGE_SLASHES (its %2F decoding is not simulated).
  std::string path_normalization = "BASE";
  std::vector<ExtAuthzHttpProvider> ext_authz_http_providers;
  // Extension providers of other kinds (envoyExtAuthzGrpc, tracing, …), by name.
  std::map<std::string, std::string> other_extension_providers;  // name → kind
  std::string ingress_class = "istio";
  std::string ingress_controller_mode = "STRICT";  // OFF | DEFAULT | STRICT
  std::string ingress_service = "istio-ingressgateway";
  std::string ingress_selector = "ingressgateway";
  LocalityLbSetting locality_lb_setting = [] {
    LocalityLbSetting l;
    l.enabled = true;
    return l;
  }();
  bool enable_tracing = true;
  // Tracing settings (mesh/telemetry.h decides with them):
  std::vector<TracingProvider> tracing_providers;      // extensionProviders with a tracer
  std::vector<std::string> default_tracing_providers;  // defaultProviders.tracing
  std::vector<std::string> default_metrics_providers = {"prometheus"};  // defaultProviders.metrics (the chart's default)
  std::vector<std::string> default_access_logging_providers;            // defaultProviders.accessLogging
  double default_tracing_sampling = 0;  // defaultConfig.tracing.sampling, percent; 0 = unset
  std::string bootstrap_zipkin_address;  // defaultConfig.tracing.zipkin.address (the bootstrap tracer)
  uint32_t tracing_max_path_tag_length = 0;     // defaultConfig.tracing.maxPathTagLength (0 = Envoy's 256)
  std::optional<bool> tracing_enable_istio_tags;  // defaultConfig.tracing.enableIstioTags
  // istiod's PILOT_TRACE_SAMPLING (Helm values.pilot.traceSampling; 100 in
  // the demo profile), percent, and where the value came from.
  double pilot_trace_sampling = 1.0;
  std::string pilot_trace_sampling_source = "PILOT_TRACE_SAMPLING default";
  std::map<std::string, std::string> proxy_metadata;  // defaultConfig.proxyMetadata (SECRET_TTL, …)
  bool hold_application_until_proxy_starts = false;
  uint32_t proxy_listen_port = 15001;
  uint32_t proxy_inbound_listen_port = 15006;
  uint32_t status_port = 15020;           // defaultConfig.statusPort
  std::string access_log_file;
  std::string access_log_encoding = "TEXT";
  bool enable_prometheus_merge = true;
  std::vector<std::string> default_service_export_to = {"*"};
  std::vector<std::string> default_virtual_service_export_to = {"*"};
  std::vector<std::string> default_destination_rule_export_to = {"*"};
  // Injector-wide default (values.yaml sidecarInjectorWebhook.rewriteAppHTTPProbe).
  bool rewrite_app_http_probers = true;
  // Kubernetes cluster DNS domain, for service FQDNs (<svc>.<ns>.svc.<domain>).
  std::string cluster_domain = "cluster.local";
  // meshsim's own, not Istio's: namespaces whose pods are decided as if the
  // namespace carried istio-injection=enabled, with or without a Namespace
  // object (the CLI's --inject-namespace; Istio's samples ship none).
  std::set<std::string> inject_namespaces;
};

// Applies a MeshConfig mapping (the content of spec.meshConfig or of a
// MeshConfig file) on top of `inout`. `resource` names the source in messages.
void apply_mesh_config(YamlNode node, const std::string& resource, MeshConfig& inout, std::vector<Diagnostic>& diags);

// Defaults overlaid with the IstioOperators and the "istio" ConfigMap found in `rs`.
MeshConfig resolve_mesh_config(const ResourceSet& rs, std::vector<Diagnostic>& diags);

// Reads a --mesh-config file: a MeshConfig document or an IstioOperator, applied
// on top of `inout`. File problems and schema errors become diagnostics.
void apply_mesh_config_file(const std::string& path, MeshConfig& inout, std::vector<Diagnostic>& diags);

// The SECRET_TTL proxy metadata as a duration (24h when unset or invalid).
Duration workload_cert_ttl(const MeshConfig& mc, const Labels& pod_proxy_metadata);
// pilot-agent renews the workload certificate when its remaining lifetime
// falls under SECRET_GRACE_PERIOD_RATIO of the TTL, jittered by
// ± SECRET_GRACE_PERIOD_RATIO_JITTER (istio-agent's defaults).
inline constexpr double kSecretGracePeriodRatio = 0.5;
inline constexpr double kSecretGracePeriodRatioJitter = 0.01;

}  // namespace meshsim::mesh
