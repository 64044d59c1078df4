// FaultFilter is envoy.filters.http.fault with Istio's per-route fault policy
// (VirtualService `fault`, ISTIO_BEHAVIOR.md §9.6): abort with the
// configured status for abort_per_million of requests (flag FI, details
// fault_filter_abort, body "fault filter abort"), else delay the request by
// the fixed delay for delay_per_million of them (flag DI) before the next
// filter runs. Each decision is one draw from the pod's random stream, the
// abort draw first, made only when that fault is configured.
#pragma once

#include "proxy/engine/timers.h"
#include "proxy/http/filter.h"

namespace meshsim::proxy::http {

inline constexpr const char* kFaultFilterName = "envoy.filters.http.fault";

class FaultFilter final : public StreamFilter {
 public:
  void reset() override { delay_ = engine::Timer{}; }
  FilterHeadersStatus decode_headers(Request& req, bool end_stream) override;
  void on_stream_end() override;

 private:
  engine::Timer delay_;
};

class FaultFilterFactory final : public FilterFactory {
 public:
  bool encodes() const override { return false; }
  bool has_stream_state() const override { return true; }
  std::unique_ptr<StreamFilter> create() const override { return std::make_unique<FaultFilter>(); }
};

}  // namespace meshsim::proxy::http
