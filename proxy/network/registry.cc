#include "proxy/network/registry.h"

#include "proxy/http/connection_manager.h"
#include "proxy/network/istio_stats_filter.h"
#include "proxy/network/metadata_exchange_filter.h"
#include "proxy/network/rbac_filter.h"
#include "proxy/network/tcp_proxy.h"

namespace meshsim::proxy::network {

std::unique_ptr<ReadFilter> create_filter(const NetworkFilter& config, engine::EngineContext& ctx,
                                          Connection& connection) {
  if (const auto* tp = std::get_if<TcpProxy>(&config.config)) {
    return std::make_unique<TcpProxyFilter>(ctx, connection, *tp);
  }
  if (const auto* rbac = std::get_if<NetworkRbac>(&config.config)) {
    return std::make_unique<NetworkRbacFilter>(ctx, connection, *rbac);
  }
  if (const auto* mx = std::get_if<NetworkMetadataExchange>(&config.config)) {
    return std::make_unique<MetadataExchangeNetworkFilter>(ctx, connection, *mx);
  }
  if (const auto* st = std::get_if<NetworkIstioStats>(&config.config)) {
    static const IstioStatsConfig kDefault;
    return std::make_unique<IstioTcpStatsFilter>(ctx, connection, st->config ? *st->config : kDefault);
  }
  if (const auto* hcm = std::get_if<HttpConnectionManager>(&config.config)) {
    return std::make_unique<http::ConnectionManager>(ctx, connection, *hcm);
  }
  return nullptr;
}

}  // namespace meshsim::proxy::network
