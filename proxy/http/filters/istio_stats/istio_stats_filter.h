// IstioStatsFilter is istio.stats on an HTTP connection manager (Istio's
// stats plugin, istio/proxy istio_stats.cc; docs/istio/telemetry.md §6): at
// stream end — Envoy's access-log callback, after the response went out or
// the stream was reset — it records one request into the proxy's
// IstioMetrics: istio_requests_total +1, the duration in whole ms
// (truncated), and the request and response wire bytes (headers + body as
// the codec saw them). The reporter is the listener's direction; the label
// set is proxy/istio_stats_labels.h plus request_protocol, response_code,
// grpc_response_status, response_flags and connection_security_policy.
// The series lookup allocates nothing once its label set has been seen.
#pragma once

#include <memory>

#include "proxy/http/filter.h"

namespace meshsim::proxy::http {

inline constexpr const char* kIstioStatsFilterName = "istio.stats";

class IstioStatsFilter final : public StreamFilter {
 public:
  explicit IstioStatsFilter(const IstioStatsConfig* config) : config_(config) {}
  FilterHeadersStatus decode_headers(Request&, bool) override { return FilterHeadersStatus::kContinue; }
  void on_log() override;

 private:
  const IstioStatsConfig* config_;
};

class IstioStatsFilterFactory final : public FilterFactory {
 public:
  explicit IstioStatsFilterFactory(std::shared_ptr<const IstioStatsConfig> config)
      : config_(config ? std::move(config) : std::make_shared<const IstioStatsConfig>()) {}
  bool encodes() const override { return false; }
  bool has_stream_state() const override { return false; }
  bool logs() const override { return true; }
  std::unique_ptr<StreamFilter> create() const override { return std::make_unique<IstioStatsFilter>(config_.get()); }

 private:
  std::shared_ptr<const IstioStatsConfig> config_;
};

}  // namespace meshsim::proxy::http
