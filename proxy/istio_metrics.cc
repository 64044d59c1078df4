#include "proxy/istio_metrics.h"

#include <algorithm>

namespace meshsim::proxy {

namespace {
constexpr double kDefaultBuckets[] = {0.5,   1,     5,     10,     25,     50,     100,     250,     500,    1000,
                                      2500,  5000,  10000, 30000,  60000,  300000, 600000,  1800000, 3600000};
}

std::span<const double> default_histogram_buckets() { return kDefaultBuckets; }

// istio_stats.cc populatePeerInfo / the tag vector (docs/istio/telemetry.md §6.3).
const std::array<std::string_view, kHttpLabelCount> kHttpLabelNames = {
    "reporter",
    "source_workload", "source_canonical_service", "source_canonical_revision", "source_workload_namespace",
    "source_principal", "source_app", "source_version", "source_cluster",
    "destination_workload", "destination_workload_namespace", "destination_principal", "destination_app",
    "destination_version", "destination_service", "destination_canonical_service", "destination_canonical_revision",
    "destination_service_name", "destination_service_namespace", "destination_cluster",
    "request_protocol", "response_code", "grpc_response_status",
    "response_flags", "connection_security_policy"};
const std::array<std::string_view, kTcpLabelCount> kTcpLabelNames = {
    "reporter",
    "source_workload", "source_canonical_service", "source_canonical_revision", "source_workload_namespace",
    "source_principal", "source_app", "source_version", "source_cluster",
    "destination_workload", "destination_workload_namespace", "destination_principal", "destination_app",
    "destination_version", "destination_service", "destination_canonical_service", "destination_canonical_revision",
    "destination_service_name", "destination_service_namespace", "destination_cluster",
    "request_protocol",
    "response_flags", "connection_security_policy"};

void append_escaped_label_value(std::string_view v, std::string& out) {
  for (char c : v) {
    if (c == '\\') out.append("\\\\");
    else if (c == '"') out.append("\\\"");
    else if (c == '\n') out.append("\\n");
    else out.push_back(c);
  }
}

IstioMetrics::IstioMetrics(std::vector<double> buckets, std::string istio_version)
    : buckets_(std::move(buckets)), istio_version_(std::move(istio_version)) {
  if (buckets_.empty()) buckets_.assign(kDefaultBuckets, kDefaultBuckets + std::size(kDefaultBuckets));
  std::sort(buckets_.begin(), buckets_.end());
  buckets_.erase(std::unique(buckets_.begin(), buckets_.end()), buckets_.end());
}

template <size_t N>
std::string_view IstioMetrics::key_of(const std::array<std::string_view, N>& values) {
  key_.clear();
  for (std::string_view v : values) {
    key_.append(v);
    key_.push_back('\x1f');  // a byte no label value carries unescaped
  }
  return key_;
}

namespace {
template <size_t N>
std::string render(const std::array<std::string_view, N>& names, const std::array<std::string_view, N>& values) {
  std::string s;
  for (size_t i = 0; i < N; ++i) {
    if (i) s.push_back(',');
    s.append(names[i]).append("=\"");
    append_escaped_label_value(values[i], s);
    s.push_back('"');
  }
  return s;
}
}  // namespace

IstioMetrics::HttpSeries& IstioMetrics::http(const std::array<std::string_view, kHttpLabelCount>& values) {
  std::string_view k = key_of(values);
  auto it = http_index_.find(k);
  if (it != http_index_.end()) return *http_[it->second];
  auto s = std::make_unique<HttpSeries>();
  s->labels = render(kHttpLabelNames, values);
  for (Histogram* h : {&s->duration_ms, &s->request_bytes, &s->response_bytes}) h->counts.assign(buckets_.size() + 1, 0);
  http_index_.emplace(std::string(k), static_cast<uint32_t>(http_.size()));
  http_.push_back(std::move(s));
  return *http_.back();
}

IstioMetrics::TcpSeries& IstioMetrics::tcp(const std::array<std::string_view, kTcpLabelCount>& values) {
  std::string_view k = key_of(values);
  auto it = tcp_index_.find(k);
  if (it != tcp_index_.end()) return *tcp_[it->second];
  auto s = std::make_unique<TcpSeries>();
  s->labels = render(kTcpLabelNames, values);
  tcp_index_.emplace(std::string(k), static_cast<uint32_t>(tcp_.size()));
  tcp_.push_back(std::move(s));
  return *tcp_.back();
}

void IstioMetrics::observe(Histogram& h, double v) const {
  // The first bound with v <= le; past the last one: the +Inf slot.
  size_t i = static_cast<size_t>(std::lower_bound(buckets_.begin(), buckets_.end(), v) - buckets_.begin());
  ++h.counts[i];
  h.sum += v;
  ++h.count;
}

void IstioMetrics::record_request(HttpSeries& s, uint64_t duration_ms, uint64_t request_bytes,
                                  uint64_t response_bytes) {
  ++s.requests;
  observe(s.duration_ms, static_cast<double>(duration_ms));
  observe(s.request_bytes, static_cast<double>(request_bytes));
  observe(s.response_bytes, static_cast<double>(response_bytes));
}

}  // namespace meshsim::proxy
