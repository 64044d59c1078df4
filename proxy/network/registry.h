// Builds the network filters of a filter chain by their Envoy names
// (envoy.filters.network.tcp_proxy, envoy.filters.network.http_connection_manager),
// each bound to the downstream connection it serves.
#pragma once

#include <memory>

#include "proxy/config.h"
#include "proxy/network/filter.h"

namespace meshsim::proxy::engine {
struct EngineContext;
}

namespace meshsim::proxy::network {

// nullptr when the engine has no filter of that name.
std::unique_ptr<ReadFilter> create_filter(const NetworkFilter& config, engine::EngineContext& ctx,
                                          Connection& connection);

}  // namespace meshsim::proxy::network
