// IstioMetrics is one proxy's registry of Istio's standard metrics (the
// `istiocustom` stat namespace the istio.stats filters record into;
// docs/istio/telemetry.md §6): for each distinct label set, the HTTP family
// (istio_requests_total and the duration / request-bytes / response-bytes
// histograms) or the TCP family (connections opened/closed, bytes sent and
// received). It is owned by the engine context, lives as long as the Envoy
// process it belongs to (a restarted pod starts empty) and is read by the
// Prometheus writer (proxy/prometheus_text.h).
//
// Label sets are interned: a set is looked up by its values (no allocation
// on a hit once the lookup buffer is warm) and rendered to Prometheus label
// text once, when it is first seen. Label order is Envoy's tag order (§6.3).
// Histograms are exact: a value v counts in every bucket with v <= le.
// Single-threaded; deterministic (insertion order is kept, the writer sorts).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace meshsim::proxy {

// Envoy's default histogram bounds (HistogramSettingsImpl::defaultBuckets),
// used by all three Istio histograms unless the pod overrides them
// (sidecar.istio.io/statsHistogramBuckets).
std::span<const double> default_histogram_buckets();

// Label names in Envoy's tag order.
inline constexpr size_t kHttpLabelCount = 25;
inline constexpr size_t kTcpLabelCount = 23;
extern const std::array<std::string_view, kHttpLabelCount> kHttpLabelNames;
extern const std::array<std::string_view, kTcpLabelCount> kTcpLabelNames;

struct Histogram {
  std::vector<uint64_t> counts;  // per bound (not cumulative), plus the +Inf overflow last
  double sum = 0;
  uint64_t count = 0;
};

class IstioMetrics {
 public:
  // `buckets`: ascending bounds (empty = Envoy's defaults).
  explicit IstioMetrics(std::vector<double> buckets = {}, std::string istio_version = "");

  struct HttpSeries {
    std::string labels;  // rendered: reporter="source",source_workload="…",…
    uint64_t requests = 0;
    Histogram duration_ms, request_bytes, response_bytes;
  };
  struct TcpSeries {
    std::string labels;
    uint64_t opened = 0, closed = 0, sent_bytes = 0, received_bytes = 0;
  };

  // The series of a label set (created on first use).
  HttpSeries& http(const std::array<std::string_view, kHttpLabelCount>& values);
  TcpSeries& tcp(const std::array<std::string_view, kTcpLabelCount>& values);

  // One HTTP request: +1, the integer-ms duration and the wire byte counts.
  void record_request(HttpSeries& s, uint64_t duration_ms, uint64_t request_bytes, uint64_t response_bytes);

  const std::vector<double>& buckets() const { return buckets_; }
  const std::string& istio_version() const { return istio_version_; }
  const std::vector<std::unique_ptr<HttpSeries>>& http_series() const { return http_; }
  const std::vector<std::unique_ptr<TcpSeries>>& tcp_series() const { return tcp_; }
  size_t series_count() const { return http_.size() + tcp_.size(); }

 private:
  struct KeyHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using Index = std::unordered_map<std::string, uint32_t, KeyHash, std::equal_to<>>;
  template <size_t N>
  std::string_view key_of(const std::array<std::string_view, N>& values);
  void observe(Histogram& h, double v) const;

  std::vector<double> buckets_;
  std::string istio_version_;
  std::vector<std::unique_ptr<HttpSeries>> http_;
  std::vector<std::unique_ptr<TcpSeries>> tcp_;
  Index http_index_, tcp_index_;
  std::string key_;  // lookup buffer
};

// Prometheus label-value escaping (Envoy's sanitizeValue): \ → \\, " → \",
// newline → \n. Appended to `out`.
void append_escaped_label_value(std::string_view v, std::string& out);

}  // namespace meshsim::proxy
