// NetworkRbacFilter is envoy.filters.network.rbac, which istiod puts before
// tcp_proxy on the TCP filter chains of a workload with AuthorizationPolicies
// (mesh/authz_translation.h). As Envoy's default enforcement
// (ONE_TIME_ON_FIRST_BYTE) it decides once, on the first bytes the client
// sends (after the TLS handshake, so the peer identity is known) — not at
// accept: a server-first protocol's greeting may already have reached the
// client. A denial closes the connection at once with termination details
// rbac_access_denied_matched_policy[<policy>|none]; the bytes are never
// forwarded. Counters <stat_prefix>rbac.{allowed,denied} and
// <stat_prefix>rbac.<shadow prefix>shadow_{allowed,denied} ("tcp.rbac.denied").
#pragma once

#include "proxy/config.h"
#include "proxy/network/filter.h"

namespace meshsim::proxy::engine {
struct EngineContext;
}
namespace meshsim::proxy {
struct CompiledRbacFilter;
}

namespace meshsim::proxy::network {

inline constexpr const char* kNetworkRbacFilterName = "envoy.filters.network.rbac";

class NetworkRbacFilter final : public ReadFilter {
 public:
  NetworkRbacFilter(engine::EngineContext& ctx, Connection& connection, const NetworkRbac& config);

  FilterStatus on_new_connection() override { return FilterStatus::kContinue; }
  FilterStatus on_data(std::string_view data) override;
  void on_remote_close(CloseType) override {}
  void on_transport_failure(std::string_view) override {}
  void on_drain(Duration) override {}

 private:
  enum class Decision : uint8_t { kUnknown, kAllow, kDeny };
  engine::EngineContext& ctx_;
  Connection& conn_;
  const CompiledRbacFilter* compiled_ = nullptr;
  Decision decision_ = Decision::kUnknown;
};

}  // namespace meshsim::proxy::network
