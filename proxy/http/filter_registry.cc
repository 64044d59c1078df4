#include "proxy/http/filter_registry.h"

#include "proxy/http/filters/alpn/alpn_filter.h"
#include "proxy/http/filters/cors/cors_filter.h"
#include "proxy/http/filters/ext_authz/ext_authz_filter.h"
#include "proxy/http/filters/fault/fault_filter.h"
#include "proxy/http/filters/istio_stats/istio_stats_filter.h"
#include "proxy/http/filters/jwt_authn/jwt_authn_filter.h"
#include "proxy/http/filters/metadata_exchange/metadata_exchange_filter.h"
#include "proxy/http/filters/rbac/rbac_filter.h"
#include "proxy/http/filters/router/router_filter.h"

namespace meshsim::proxy::http {

namespace {

// A slot for a filter whose effect is not simulated (its issue adds it).
class PassThroughFilter final : public StreamFilter {
 public:
  FilterHeadersStatus decode_headers(Request&, bool) override { return FilterHeadersStatus::kContinue; }
};
class PassThroughFactory final : public FilterFactory {
 public:
  bool encodes() const override { return false; }
  bool has_stream_state() const override { return false; }
  std::unique_ptr<StreamFilter> create() const override { return std::make_unique<PassThroughFilter>(); }
};

struct Registration {
  std::string_view name;
  bool modelled;
  std::unique_ptr<FilterFactory> (*make)(const HttpFilter&, const HttpConnectionManager&);
};

template <typename Factory>
std::unique_ptr<FilterFactory> make(const HttpFilter&, const HttpConnectionManager&) {
  return std::make_unique<Factory>();
}

std::unique_ptr<FilterFactory> make_ext_authz(const HttpFilter& f, const HttpConnectionManager&) {
  return std::make_unique<ExtAuthzFilterFactory>(f.ext_authz);
}

std::unique_ptr<FilterFactory> make_jwt_authn(const HttpFilter& f, const HttpConnectionManager&) {
  return std::make_unique<JwtAuthnFilterFactory>(f.jwt_authn);
}

std::unique_ptr<FilterFactory> make_istio_stats(const HttpFilter& f, const HttpConnectionManager&) {
  return std::make_unique<IstioStatsFilterFactory>(f.stats);
}

std::unique_ptr<FilterFactory> make_rbac(const HttpFilter& f, const HttpConnectionManager& hcm) {
  return std::make_unique<RbacFilterFactory>(f.rbac, hcm);
}

// One line per filter room (proxy/http/filters/<name>/).
const Registration kRegistry[] = {
    {kMetadataExchangeFilterName, true, &make<MetadataExchangeFilterFactory>},
    {"envoy.filters.http.grpc_stats", false, &make<PassThroughFactory>},
    {kAlpnFilterName, true, &make<AlpnFilterFactory>},
    {kExtAuthzFilterName, true, &make_ext_authz},
    {kJwtAuthnFilterName, true, &make_jwt_authn},
    {kRbacFilterName, true, &make_rbac},
    {kFaultFilterName, true, &make<FaultFilterFactory>},
    {kCorsFilterName, true, &make<CorsFilterFactory>},
    {kIstioStatsFilterName, true, &make_istio_stats},
    {kRouterFilterName, true, &make<RouterFilterFactory>},
};

const Registration* find(std::string_view name) {
  for (const Registration& r : kRegistry) {
    if (r.name == name) return &r;
  }
  return nullptr;
}

}  // namespace

bool filter_is_modelled(std::string_view name) {
  const Registration* r = find(name);
  return r && r->modelled;
}

std::unique_ptr<FilterChainFactory> build_filter_chain(const HttpConnectionManager& hcm) {
  auto chain = std::make_unique<FilterChainFactory>();
  static const std::vector<HttpFilter> kRouterOnly = {{kRouterFilterName}};
  const std::vector<HttpFilter>& filters = hcm.http_filters.empty() ? kRouterOnly : hcm.http_filters;
  for (const HttpFilter& f : filters) {
    const Registration* r = find(f.name);
    if (!r) {
      chain->not_modelled.push_back(f.name);
      continue;
    }
    if (!r->modelled) chain->not_modelled.push_back(f.name);
    chain->filters.push_back({f.name, r->make(f, hcm)});
    if (f.name == kRouterFilterName) chain->has_router = true;
  }
  return chain;
}

}  // namespace meshsim::proxy::http
