// CorsFilter is the room of envoy.filters.http.cors. The control plane does
// not yet translate VirtualService corsPolicy into a per-route CORS policy,
// so the filter has nothing to apply and passes every request and response
// through; the registry reports it as not modelled until it does.
#pragma once

#include "proxy/http/filter.h"

namespace meshsim::proxy::http {

inline constexpr const char* kCorsFilterName = "envoy.filters.http.cors";

class CorsFilter final : public StreamFilter {
 public:
  FilterHeadersStatus decode_headers(Request&, bool) override { return FilterHeadersStatus::kContinue; }
};

class CorsFilterFactory final : public FilterFactory {
 public:
  std::unique_ptr<StreamFilter> create() const override { return std::make_unique<CorsFilter>(); }
};

}  // namespace meshsim::proxy::http
