// The Prometheus text exposition (format 0.0.4) of Istio's standard metrics
// exactly as Envoy's admin /stats/prometheus writes the `istiocustom`
// namespace (envoy source/server/admin/prometheus_stats.cc; §6.5 and §8 of
// docs/istio/telemetry.md): families in Envoy's order (counters, then gauges,
// then histograms, each by name), one `# TYPE` per family, samples sorted by
// their label text, histograms as cumulative `_bucket{…,le="<bound %.32g>"}`
// lines, `le="+Inf"`, `_sum` and `_count`; label values escaped.
//
// One documented deviation: a `# HELP` line precedes each `# TYPE` (Envoy
// writes none), so `promtool check metrics` reports nothing but the one
// problem Istio's own names have (istio_request_duration_milliseconds: use
// base unit "seconds"). `help = false` gives Envoy's bytes.
//
// Several sources (one per sidecar) merge the way a Prometheus scrape of
// every pod would see them: each source's samples carry its extra labels
// (`namespace`, `pod`) after Envoy's, sources in the order given. Samples may
// carry a timestamp in ms (a series of scrapes over virtual time, written as
// one block per family). Pure functions over the registries.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "proxy/istio_metrics.h"

namespace meshsim::proxy {

enum class MetricFamily : uint8_t {
  // Envoy's output order.
  kRequestsTotal,
  kTcpConnectionsClosed,
  kTcpConnectionsOpened,
  kTcpReceivedBytes,
  kTcpSentBytes,
  kBuild,
  kRequestBytes,
  kRequestDuration,
  kResponseBytes,
};
inline constexpr MetricFamily kAllFamilies[] = {
    MetricFamily::kRequestsTotal,    MetricFamily::kTcpConnectionsClosed, MetricFamily::kTcpConnectionsOpened,
    MetricFamily::kTcpReceivedBytes, MetricFamily::kTcpSentBytes,         MetricFamily::kBuild,
    MetricFamily::kRequestBytes,     MetricFamily::kRequestDuration,      MetricFamily::kResponseBytes};

std::string_view family_name(MetricFamily f);

struct MetricsSource {
  const IstioMetrics* metrics = nullptr;
  // Rendered labels appended to each of this source's samples
  // (`namespace="default",pod="productpage-v1-…"`), "" for none.
  std::string extra_labels;
};

// Whether any source has a sample of `f` (Envoy prints only stats that exist).
bool family_present(MetricFamily f, std::span<const MetricsSource> sources);
// `# HELP` (when `help`) and `# TYPE` of a family.
void write_family_header(MetricFamily f, std::string& out, bool help = true);
// The family's sample lines for every source, each with ` <timestamp_ms>`
// when `timestamp_ms` is given.
void write_family_samples(MetricFamily f, std::span<const MetricsSource> sources, std::string& out,
                          const int64_t* timestamp_ms = nullptr);
// The whole exposition at one instant.
void write_prometheus(std::span<const MetricsSource> sources, std::string& out, bool help = true);

}  // namespace meshsim::proxy
