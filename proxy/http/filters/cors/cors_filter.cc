#include "proxy/http/filters/cors/cors_filter.h"

#include <re2/re2.h>

#include "proxy/route_match.h"

namespace meshsim::proxy::http {

namespace {
bool matches(const CorsPolicy::OriginMatcher& m, std::string_view v, const CompiledRoutes* table) {
  using K = CorsPolicy::OriginMatcher::Kind;
  switch (m.kind) {
    case K::kExact: return v == m.value;
    case K::kPrefix: return v.substr(0, m.value.size()) == m.value;
    case K::kSuffix: return v.size() >= m.value.size() && v.substr(v.size() - m.value.size()) == m.value;
    case K::kRegex: {
      const RE2* re = table ? table->regex(&m) : nullptr;
      return re && RE2::FullMatch(re2::StringPiece(v.data(), v.size()), *re);
    }
  }
  return false;
}
}  // namespace

bool cors_origin_allowed(const CorsPolicy& p, std::string_view origin, const CompiledRoutes* table) {
  for (const auto& m : p.allow_origins) {
    if (matches(m, "*", table) || matches(m, origin, table)) return true;
  }
  return false;
}

void CorsFilter::reset() {
  policy_ = nullptr;
  cors_request_ = preflight_ = false;
  latched_origin_.clear();
  request_method_.clear();
  request_headers_.clear();
}

FilterHeadersStatus CorsFilter::decode_headers(Request& req, bool) {
  const Route* route = callbacks_->route();
  if (!route || !callbacks_->route_entry() || !route->cors) return FilterHeadersStatus::kContinue;
  std::string_view origin = req.headers.get("origin").value_or("");
  if (origin.empty()) return FilterHeadersStatus::kContinue;
  policy_ = &*route->cors;
  bool allowed = cors_origin_allowed(*policy_, origin, callbacks_->route_table());
  if (allowed) latched_origin_.assign(origin);
  cors_request_ = true;
  if (req.method != "OPTIONS") return FilterHeadersStatus::kContinue;
  std::string_view acrm = req.headers.get("access-control-request-method").value_or("");
  if (acrm.empty()) return FilterHeadersStatus::kContinue;
  if (!allowed && policy_->forward_not_matching_preflights) return FilterHeadersStatus::kContinue;
  preflight_ = true;
  request_method_.assign(acrm);
  request_headers_.assign(req.headers.get("access-control-request-headers").value_or(""));
  callbacks_->send_local_reply(200, "", "cors_response", 0);
  return FilterHeadersStatus::kStopIteration;
}

FilterHeadersStatus CorsFilter::encode_headers(Response& r, bool) {
  if (!cors_request_ || !policy_) return FilterHeadersStatus::kContinue;
  const CorsPolicy& p = *policy_;
  if (preflight_) {
    if (!latched_origin_.empty()) r.headers.set("access-control-allow-origin", latched_origin_);
    if (p.allow_credentials.value_or(false)) r.headers.set("access-control-allow-credentials", "true");
    if (p.allow_methods == "*") r.headers.set("access-control-allow-methods", request_method_);
    else if (!p.allow_methods.empty()) r.headers.set("access-control-allow-methods", p.allow_methods);
    if (p.allow_headers == "*") {
      if (!request_headers_.empty()) r.headers.set("access-control-allow-headers", request_headers_);
    } else if (!p.allow_headers.empty()) {
      r.headers.set("access-control-allow-headers", p.allow_headers);
    }
    if (!p.max_age.empty()) r.headers.set("access-control-max-age", p.max_age);
    return FilterHeadersStatus::kContinue;
  }
  if (latched_origin_.empty()) return FilterHeadersStatus::kContinue;
  r.headers.set("access-control-allow-origin", latched_origin_);
  if (p.allow_credentials.value_or(false)) r.headers.set("access-control-allow-credentials", "true");
  if (!p.expose_headers.empty()) r.headers.set("access-control-expose-headers", p.expose_headers);
  return FilterHeadersStatus::kContinue;
}

}  // namespace meshsim::proxy::http
