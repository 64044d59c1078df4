// Telemetry decisions of the control plane: the standard metrics a sidecar
// records (below), and what istiod writes into the `tracing` block of each
// HTTP connection manager of a sidecar (pilot/pkg/networking/core/tracing.go, model/telemetry.go;
// docs/istio/telemetry.md §2):
//  * Telemetry resources that apply to the pod (root namespace, then its
//    namespace, then those selecting it, later ones overriding field by
//    field), with meshConfig.defaultProviders.tracing first. When none has a
//    tracing entry and there is no default provider: the legacy path — no
//    block when meshConfig.enableTracing is false, else a block whose tracer
//    is the bootstrap's (defaultConfig.tracing.zipkin.address), or none at
//    all (Istio ≥ 1.22's default install: decisions in x-request-id, no spans).
//  * Otherwise one spec per side (outbound = client, inbound = server); a
//    spec without a provider, with disableSpanReporting, or whose provider's
//    service is not in the registry gets no block at all.
//  * Sampling: Telemetry randomSamplingPercentage > defaultConfig.tracing.sampling
//    (0 = unset, > 100 = 1) > PILOT_TRACE_SAMPLING (default 1, demo profile 100).
// One decision, one place: proxy-config, the analyzers and the engine all
// read the config this builds.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "mesh/world.h"
#include "proxy/base/duration.h"
#include "proxy/config.h"

namespace meshsim::mesh {

struct TracingDecision {
  std::shared_ptr<const proxy::TracingConfig> config;  // nullptr: no tracing block
  // Why: "Telemetry istio-system/mesh-default: provider zipkin, 100% (Telemetry)",
  // "tracing provider zipkin: could not find service zipkin.istio-system in
  // Istio service registry", "meshConfig.enableTracing: false".
  std::string reason;
  bool lookup_failed = false;  // the provider's service is not in the registry
};

// The tracing block of the sidecar of `pod` for its outbound (client) or
// inbound (server) connection managers.
TracingDecision sidecar_tracing(const World& w, const WorldPod& pod, bool outbound);

// Istio's standard metrics for a pod (docs/istio/telemetry.md §6.1): whether
// a metrics provider (prometheus) is active and the TCP reporting interval.
struct MetricsTelemetry {
  bool enabled = false;
  Duration reporting_interval = Duration::seconds(5);
};
MetricsTelemetry metrics_telemetry(const World& w, const WorldPod& pod);
// The pod's sidecar.istio.io/statsHistogramBuckets "istio" bounds (empty: defaults).
std::vector<double> stats_histogram_buckets(const WorldPod& pod);
// EDS endpoint metadata istio.workload of a pod: "wl;ns;canonical;rev;cluster".
std::string endpoint_telemetry_label(const WorldPod& pod);

}  // namespace meshsim::mesh
