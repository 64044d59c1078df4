// TcpProxyFilter is envoy.filters.network.tcp_proxy: on a new connection it
// picks the cluster (weighted clusters by Io::random()), an endpoint, and
// opens the upstream connection; client bytes written before the upstream is
// ready are buffered; FIN is propagated in each direction (half-close) and
// the session ends when both sides finished, or at once on a reset or an
// upstream failure (flags UF/UC/UR/UH/NC). One access-log entry per session.
// On a listener drain the connection is closed when the drain period ends.
#pragma once

#include <string>

#include "proxy/config.h"
#include "proxy/network/filter.h"
#include "proxy/upstream/cluster.h"
#include "proxy/upstream/upstream_connection.h"

namespace meshsim::proxy::engine {
struct EngineContext;
}

namespace meshsim::proxy::network {

class TcpProxyFilter final : public ReadFilter, public upstream::ConnectionOwner {
 public:
  TcpProxyFilter(engine::EngineContext& ctx, Connection& connection, const TcpProxy& config);
  ~TcpProxyFilter() override;

  FilterStatus on_new_connection() override;
  FilterStatus on_data(std::string_view data) override;
  void on_remote_close(CloseType how) override;
  void on_transport_failure(std::string_view reason) override;
  void on_drain(Duration drain_duration) override;
  void on_timer(uint32_t which) override;
  bool on_local_close(CloseType how, std::string_view details) override;

  void on_upstream_ready(upstream::UpstreamConnection& c) override;
  void on_upstream_data(upstream::UpstreamConnection& c, std::string_view data) override;
  void on_upstream_closed(upstream::UpstreamConnection& c, CloseType how) override;
  void on_upstream_failed(upstream::UpstreamConnection& c, bool connect_failure, const std::string& reason,
                          const std::string& transport) override;

 private:
  void finish(CloseType how);
  void sync_upstream_peer();

  engine::EngineContext& ctx_;
  Connection& conn_;
  const TcpProxy& config_;
  upstream::UpstreamConnection* up_ = nullptr;
  std::string cluster_;
  const Cluster* cluster_config_ = nullptr;  // from the connection's snapshot
  const upstream::CompiledCluster* compiled_ = nullptr;  // the chosen cluster (outlier results)
  SocketAddress upstream_address_;
  std::string upstream_host_;
  uint32_t flags_ = 0;
  uint64_t bytes_received_ = 0, bytes_sent_ = 0;
  bool down_fin_ = false, up_fin_ = false;
  bool draining_ = false;
  bool finished_ = false;
  std::string pending_;  // client bytes until the upstream is ready
  bool pending_fin_ = false;
  std::string failure_reason_;
  std::string termination_;
  SecurityInfo upstream_tls_;
};

}  // namespace meshsim::proxy::network
