#include "mesh/telemetry.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "mesh/control_plane.h"
#include "proxy/base/ascii.h"
#include "mesh/policy.h"

namespace meshsim::mesh {

namespace {

// The Telemetry tracing entries that apply to `pod`, in merge order:
// the root namespace's namespace-wide Telemetry, the pod namespace's, then
// every Telemetry of the pod's namespace whose selector matches it (oldest
// first). Each entry remembers the Telemetry it came from.
struct AppliedTracing {
  const Telemetry* from;
  const TelemetryTracing* entry;
};

std::vector<AppliedTracing> applicable_tracing(const World& w, const WorldPod& pod) {
  const std::string& root = w.mesh_config().root_namespace;
  auto namespace_wide = [&](std::string_view ns) -> const Telemetry* {
    const Telemetry* best = nullptr;
    for (const Telemetry& t : w.resources().telemetries) {
      bool has_sel = (t.selector && !t.selector->match_labels.empty()) || !t.target_refs.empty();
      if (t.meta.namespace_ != ns || has_sel) continue;
      if (!best || created_before(t, *best)) best = &t;
    }
    return best;
  };
  std::vector<const Telemetry*> order;
  if (const Telemetry* t = namespace_wide(root)) order.push_back(t);
  if (pod.namespace_ != root)
    if (const Telemetry* t = namespace_wide(pod.namespace_)) order.push_back(t);
  std::vector<const Telemetry*> selecting;
  for (const Telemetry& t : w.resources().telemetries) {
    if (t.meta.namespace_ != pod.namespace_ || !t.selector || t.selector->match_labels.empty()) continue;
    if (labels_subset_of(t.selector->match_labels, pod.labels)) selecting.push_back(&t);
  }
  std::stable_sort(selecting.begin(), selecting.end(),
                   [](const Telemetry* a, const Telemetry* b) { return created_before(*a, *b); });
  order.insert(order.end(), selecting.begin(), selecting.end());
  std::vector<AppliedTracing> out;
  for (const Telemetry* t : order)
    for (const TelemetryTracing& e : t->tracing) out.push_back({t, &e});
  return out;
}


const TracingProvider* find_provider(const MeshConfig& mc, std::string_view name) {
  for (const TracingProvider& p : mc.tracing_providers)
    if (ascii_iequals(p.name, name)) return &p;
  return nullptr;
}

// proxyConfigSamplingValue: defaultConfig.tracing.sampling unless 0 (then
// PILOT_TRACE_SAMPLING); above 100 it becomes 1.
double proxy_config_sampling(const MeshConfig& mc, std::string* source) {
  if (mc.default_tracing_sampling != 0.0) {
    *source = "meshConfig.defaultConfig.tracing.sampling";
    return mc.default_tracing_sampling > 100.0 ? 1.0 : mc.default_tracing_sampling;
  }
  *source = mc.pilot_trace_sampling_source;
  return mc.pilot_trace_sampling;
}

uint32_t per_ten_thousand(double percent) {
  double v = std::round(percent * 100.0);
  if (v < 0) v = 0;
  if (v > 10000) v = 10000;
  return static_cast<uint32_t>(v);
}

// buildServiceTags: literal istio.* tags from the node metadata.
void istio_tags(const World& w, const WorldPod& pod, proxy::TracingConfig& c) {
  proxy::NodeMetadata n = sidecar_node_metadata(w, pod);
  auto or_default = [](std::string_view v, const char* d) { return v.empty() ? std::string(d) : std::string(v); };
  c.custom_tags.emplace_back("istio.canonical_revision", or_default(n.canonical_revision(), "latest"));
  c.custom_tags.emplace_back("istio.canonical_service", or_default(n.canonical_service(), "unknown"));
  c.custom_tags.emplace_back("istio.cluster_id", or_default(n.cluster_id, "unknown"));
  c.custom_tags.emplace_back("istio.mesh_id", or_default(n.mesh_id, "unknown"));
  c.custom_tags.emplace_back("istio.namespace", or_default(n.namespace_, "default"));
  std::sort(c.custom_tags.begin(), c.custom_tags.end());
}

std::string percent_text(double p) {
  char b[32];
  std::snprintf(b, sizeof b, "%g%%", p);
  return b;
}

}  // namespace

TracingDecision sidecar_tracing(const World& w, const WorldPod& pod, bool outbound) {
  const MeshConfig& mc = w.mesh_config();
  TracingDecision d;
  std::vector<AppliedTracing> applied = applicable_tracing(w, pod);
  const bool has_default = !mc.default_tracing_providers.empty();
  auto c = std::make_shared<proxy::TracingConfig>();
  std::string sampling_source;

  if (applied.empty() && !has_default) {
    // Legacy path: meshConfig only.
    if (!mc.enable_tracing) {
      d.reason = "meshConfig.enableTracing is false: no tracing";
      return d;
    }
    double p = proxy_config_sampling(mc, &sampling_source);
    c->random_sampling = per_ten_thousand(p);
    c->sampling_source = sampling_source;
    if (mc.tracing_max_path_tag_length) c->max_path_tag_length = mc.tracing_max_path_tag_length;
    if (mc.tracing_enable_istio_tags.value_or(true)) istio_tags(w, pod, *c);
    if (!mc.bootstrap_zipkin_address.empty()) {
      c->provider = proxy::TracingConfig::Provider::kZipkin;
      c->provider_name = "zipkin (bootstrap, defaultConfig.tracing.zipkin.address " + mc.bootstrap_zipkin_address + ")";
      c->collector_cluster = "zipkin";
      d.reason = "legacy meshConfig tracing: bootstrap Zipkin tracer at " + mc.bootstrap_zipkin_address + ", " +
                 percent_text(p) + " (" + sampling_source + ")";
    } else {
      d.reason = "no tracer configured (no Telemetry tracing, no meshConfig.defaultProviders.tracing, no "
                 "defaultConfig.tracing.zipkin): x-request-id sampling decisions only (" +
                 percent_text(p) + ", " + sampling_source + "), no spans";
    }
    d.config = std::move(c);
    return d;
  }

  // The Telemetry path: the spec of this side.
  struct Spec {
    const TracingProvider* provider = nullptr;
    std::string provider_name;  // as named (may be missing from extensionProviders)
    std::string provider_from;
    bool disabled = false;
    std::optional<double> sampling;
    std::string sampling_from;
    std::vector<std::pair<std::string, std::string>> custom_tags;
  } spec;
  if (has_default) {
    spec.provider_name = mc.default_tracing_providers.front();
    spec.provider = find_provider(mc, spec.provider_name);
    spec.provider_from = "meshConfig.defaultProviders.tracing";
  }
  for (const AppliedTracing& a : applied) {
    const TelemetryTracing& e = *a.entry;
    if (e.match_mode == "CLIENT" && !outbound) continue;
    if (e.match_mode == "SERVER" && outbound) continue;
    std::string from = "Telemetry " + a.from->meta.namespace_ + "/" + a.from->meta.name;
    if (!e.providers.empty()) {
      spec.provider_name = e.providers.front();
      spec.provider = find_provider(mc, spec.provider_name);
      spec.provider_from = from;
    }
    if (e.disable_span_reporting) spec.disabled = *e.disable_span_reporting;
    if (e.random_sampling_percentage) {
      spec.sampling = e.random_sampling_percentage;
      spec.sampling_from = from;
    }
    if (e.use_request_id_for_trace_sampling) c->use_request_id_for_trace_sampling = *e.use_request_id_for_trace_sampling;
    if (e.disable_context_propagation) c->no_context_propagation = *e.disable_context_propagation;
    if (e.enable_istio_tags) c->enable_istio_tags = *e.enable_istio_tags;
    if (e.custom_tags) spec.custom_tags = *e.custom_tags;  // a shallow merge, as istiod does
  }
  const char* side = outbound ? "client (outbound)" : "server (inbound)";
  if (!spec.provider) {
    d.reason = spec.provider_name.empty()
                   ? std::string("tracing ") + side + ": no provider named: tracing disabled"
                   : std::string("tracing ") + side + ": provider \"" + spec.provider_name + "\" (" + spec.provider_from +
                         ") is not in meshConfig.extensionProviders: tracing disabled";
    return d;
  }
  if (spec.disabled) {
    d.reason = std::string("tracing ") + side + ": disableSpanReporting: tracing disabled";
    return d;
  }
  const TracingProvider& p = *spec.provider;
  if (p.kind != TracingProvider::Kind::kZipkin && p.kind != TracingProvider::Kind::kOpenTelemetry) {
    d.reason = "tracing provider \"" + p.name + "\" (" + p.kind_name +
               ") is not simulated: meshsim simulates zipkin and opentelemetry tracers; no tracing on this side";
    d.lookup_failed = true;
    return d;
  }
  // LookupCluster: "<ns>/<host>" or a hostname unique in the registry.
  std::string host = p.service;
  const WorldService* svc = nullptr;
  if (size_t slash = host.find('/'); slash != std::string::npos) {
    std::string ns = host.substr(0, slash), h = host.substr(slash + 1);
    const WorldService* s = w.service_by_hostname(h);
    if (s && s->namespace_ == ns) svc = s;
  } else {
    svc = w.service_by_hostname(host);
  }
  if (!svc) {
    d.reason = "tracing provider \"" + p.name + "\": could not find service " + p.service +
               " in Istio service registry (give the FQDN, e.g. zipkin.istio-system.svc.cluster.local): "
               "no tracing on this side";
    d.lookup_failed = true;
    return d;
  }
  c->provider = p.kind == TracingProvider::Kind::kZipkin ? proxy::TracingConfig::Provider::kZipkin
                                                        : proxy::TracingConfig::Provider::kOpenTelemetry;
  c->provider_name = p.name;
  c->collector_cluster = outbound_cluster_name(p.port, "", svc->hostname);
  if (!p.path.empty()) c->collector_path = p.path;
  c->trace_id_128bit = !p.enable_64bit_trace_id;
  c->w3c_propagation = p.trace_context_option == "USE_B3_WITH_W3C_PROPAGATION";
  if (p.max_tag_length) c->max_path_tag_length = p.max_tag_length;
  else if (mc.tracing_max_path_tag_length) c->max_path_tag_length = mc.tracing_max_path_tag_length;
  double pct;
  if (spec.sampling) {
    pct = *spec.sampling;
    sampling_source = spec.sampling_from + " randomSamplingPercentage";
  } else {
    pct = proxy_config_sampling(mc, &sampling_source);
  }
  c->random_sampling = per_ten_thousand(pct);
  c->sampling_source = sampling_source;
  if (c->enable_istio_tags) istio_tags(w, pod, *c);
  for (const auto& [k, v] : spec.custom_tags) {
    auto it = std::find_if(c->custom_tags.begin(), c->custom_tags.end(), [&](const auto& t) { return t.first == k; });
    if (it != c->custom_tags.end()) it->second = v;
    else c->custom_tags.emplace_back(k, v);
  }
  std::sort(c->custom_tags.begin(), c->custom_tags.end());
  d.reason = std::string("tracing ") + side + ": provider " + p.name + " (" + p.kind_name + ", " + spec.provider_from +
             ") → " + c->collector_cluster + ", " + percent_text(pct) + " (" + sampling_source + ")";
  d.config = std::move(c);
  return d;
}

// util.go AppendLbEndpointMetadata: "<workload>;<ns>;<canonical name>;<canonical
// revision, "" for latest>;<cluster id>", with kubelabels.CanonicalService's
// defaulting for pods without a sidecar.
std::string endpoint_telemetry_label(const WorldPod& pod) {
  auto label = [&](const char* k) -> const std::string* {
    auto it = pod.labels.find(k);
    return it == pod.labels.end() || it->second.empty() ? nullptr : &it->second;
  };
  std::string workload = pod.owner_name.empty() ? pod.name : pod.owner_name;
  const std::string* name = label("service.istio.io/canonical-name");
  if (!name) name = label("app.kubernetes.io/name");
  if (!name) name = label("app");
  const std::string* rev = label("service.istio.io/canonical-revision");
  if (!rev) rev = label("app.kubernetes.io/version");
  if (!rev) rev = label("version");
  std::string revision = rev && *rev != "latest" ? *rev : "";
  return workload + ";" + pod.namespace_ + ";" + (name ? *name : workload) + ";" + revision + ";Kubernetes";
}

// The metrics telemetry in force for a pod: the mesh's defaultProviders.metrics
// (Istio's chart: prometheus), overridden by the most specific Telemetry
// (root namespace, then the pod's namespace, then a selector that matches the
// pod) that lists metrics providers; a metrics override disabling
// ALL_METRICS for every mode turns it off. reportingInterval likewise.
MetricsTelemetry metrics_telemetry(const World& w, const WorldPod& pod) {
  const MeshConfig& mc = w.mesh_config();
  MetricsTelemetry mt;
  auto is_prometheus = [&](const std::string& p) {
    if (p == "prometheus") return true;
    auto it = mc.other_extension_providers.find(p);
    return it != mc.other_extension_providers.end() && it->second == "prometheus";
  };
  auto enabled_by = [&](const std::vector<std::string>& providers) {
    return std::any_of(providers.begin(), providers.end(), is_prometheus);
  };
  mt.enabled = enabled_by(mc.default_metrics_providers);
  int best = -1;
  for (const Telemetry& t : w.resources().telemetries) {
    int level = -1;
    if (t.meta.namespace_ == mc.root_namespace && !t.selector) level = 0;
    else if (t.meta.namespace_ == pod.namespace_ && !t.selector) level = 1;
    else if (t.meta.namespace_ == pod.namespace_ && t.selector && labels_subset_of(t.selector->match_labels, pod.labels)) level = 2;
    if (level < best || t.metrics.empty()) continue;
    best = level;
    for (const TelemetryMetrics& m : t.metrics) {
      if (!m.providers.empty()) mt.enabled = enabled_by(m.providers);
      if (m.reporting_interval) mt.reporting_interval = *m.reporting_interval;
      for (const auto& o : m.overrides) {
        if ((o.metric.empty() || o.metric == "ALL_METRICS") && o.mode.empty() && o.disabled.value_or(false))
          mt.enabled = false;
      }
    }
  }
  return mt;
}

// sidecar.istio.io/statsHistogramBuckets: {"istio":[1,5,10,…]} (the bootstrap's
// histogram_bucket_settings for the "istio" prefix); empty = Envoy's defaults.
std::vector<double> stats_histogram_buckets(const WorldPod& pod) {
  std::vector<double> out;
  auto it = pod.annotations.find("sidecar.istio.io/statsHistogramBuckets");
  if (it == pod.annotations.end()) return out;
  auto j = nlohmann::json::parse(it->second, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("istio") || !j["istio"].is_array()) return out;
  for (const auto& b : j["istio"])
    if (b.is_number() && b.get<double>() > 0) out.push_back(b.get<double>());
  return out;
}

}  // namespace meshsim::mesh
