// RbacFilter is envoy.filters.http.rbac: one per AuthorizationPolicy action
// that applies to the workload (istiod writes CUSTOM's, DENY's, ALLOW's and
// AUDIT's as separate filters, mesh/authz_translation.h). On the request
// headers it evaluates the shadow rules (counted and reported, never
// enforced) and then the enforced rules; a denial is Envoy's local reply
// 403 "RBAC: access denied" with details
// rbac_access_denied_matched_policy[<policy>|none], and the rest of the chain
// (the router) never runs. Counters: http.<stat_prefix>.rbac.{allowed,denied}
// and …rbac.<shadow prefix>shadow_{allowed,denied}. Every decision is
// recorded in StreamInfo::rbac with the clauses behind it.
#pragma once

#include <memory>
#include <string>

#include "proxy/http/filter.h"
#include "proxy/rbac.h"

namespace meshsim::proxy::http {

inline constexpr const char* kRbacFilterName = "envoy.filters.http.rbac";

class RbacFilterFactory;

class RbacFilter final : public StreamFilter {
 public:
  explicit RbacFilter(const RbacFilterFactory& f) : factory_(f) {}
  FilterHeadersStatus decode_headers(Request& req, bool end_stream) override;

 private:
  const RbacFilterFactory& factory_;
};

class RbacFilterFactory final : public FilterFactory {
 public:
  RbacFilterFactory(std::shared_ptr<const RbacFilterConfig> config, const HttpConnectionManager& hcm);
  bool encodes() const override { return false; }
  bool has_stream_state() const override { return false; }
  std::unique_ptr<StreamFilter> create() const override { return std::make_unique<RbacFilter>(*this); }

 private:
  friend class RbacFilter;
  CompiledRbacFilter compiled_;
  std::string allowed_, denied_, logged_, not_logged_, shadow_allowed_, shadow_denied_;  // counter names
  std::string metadata_policy_key_, metadata_result_key_;
};

}  // namespace meshsim::proxy::http
