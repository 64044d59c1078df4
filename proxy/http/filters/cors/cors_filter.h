// CorsFilter is envoy.filters.http.cors with the route's CorsPolicy (Istio's
// corsPolicy; cors_filter.cc decodeHeaders/encodeHeaders): a request without
// Origin is not a CORS request. A preflight (OPTIONS + Origin +
// Access-Control-Request-Method) is answered locally with 200 and the
// Access-Control-Allow-* headers — unless its origin does not match and
// unmatchedPreflights is FORWARD (Istio's default), then it is forwarded. Any
// other request is always forwarded, whether its origin matches or not (the
// browser, not Envoy, enforces CORS: the FAQ's point); on its response the
// filter sets Access-Control-Allow-Origin (and -Credentials, -Expose-Headers)
// only when the origin matched.
#pragma once

#include <string>

#include "proxy/http/filter.h"

namespace meshsim::proxy::http {

inline constexpr const char* kCorsFilterName = "envoy.filters.http.cors";

class CorsFilter final : public StreamFilter {
 public:
  void reset() override;
  FilterHeadersStatus decode_headers(Request& req, bool end_stream) override;
  FilterHeadersStatus encode_headers(Response& resp, bool end_stream) override;

 private:
  const CorsPolicy* policy_ = nullptr;
  bool cors_request_ = false;
  bool preflight_ = false;
  std::string latched_origin_;  // the request's Origin when it matched
  std::string request_method_, request_headers_;
};

class CorsFilterFactory final : public FilterFactory {
 public:
  std::unique_ptr<StreamFilter> create() const override { return std::make_unique<CorsFilter>(); }
};

// Whether `origin` is allowed by the policy's matchers (a matcher that
// matches "*" allows every origin); regex matchers are the route table's
// compiled ones.
bool cors_origin_allowed(const CorsPolicy& p, std::string_view origin, const CompiledRoutes* table);

}  // namespace meshsim::proxy::http
