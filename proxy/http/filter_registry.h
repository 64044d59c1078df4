// The HTTP filter registry: builds an HTTP connection manager's filter chain
// from its http_filters by their Istio/Envoy names, in the order the control
// plane wrote them (Envoy's extension factories by name). Names the engine
// knows but whose effect it does not simulate yet (istio.stats,
// envoy.filters.http.grpc_stats, and filters it does not know) are listed in
// FilterChainFactory::not_modelled; the known ones still get an empty
// pass-through slot so the chain's cost is the real one. An HCM without
// http_filters gets the router alone.
#pragma once

#include <memory>
#include <string_view>

#include "proxy/config.h"
#include "proxy/http/filter.h"

namespace meshsim::proxy::http {

std::unique_ptr<FilterChainFactory> build_filter_chain(const HttpConnectionManager& hcm);

// Whether the engine simulates the named filter's effect.
bool filter_is_modelled(std::string_view name);

}  // namespace meshsim::proxy::http
