// DownstreamConnection is one connection a listener accepted: it runs the
// listener filters (tls_inspector, http_inspector with Istio's per-port
// predicates and the listener_filters_timeout) on the client's first bytes,
// selects the filter chain in Envoy's order, creates the chain's transport
// socket (raw_buffer or TLS termination) and network filters, and then moves
// bytes between the transport and the filters. It is the network::Connection
// its filters see. Connections that never reach a network filter (no
// listener, no matching chain, inspector timeout without continue) are
// logged and closed here.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "proxy/engine/connection.h"
#include "proxy/engine/context.h"
#include "proxy/engine/timers.h"
#include "proxy/filter_chain_match.h"
#include "proxy/network/filter.h"

namespace meshsim::proxy::engine {

class DownstreamConnection final : public Connection, public network::Connection {
 public:
  DownstreamConnection(EngineContext& ctx, const DownstreamInfo& info);
  ~DownstreamConnection() override;

  // Runs after the connection is in the table: picks the listener and starts
  // the listener filters (or selects the chain at once).
  void start();

  // ---- the world's events ----
  void on_data(std::string_view bytes) override;
  void on_peer_closed(CloseType how) override;

  // A push installed `current`: drain if this connection's chain is gone.
  void on_config_changed(const Snapshot& current);

  // ---- network::Connection ----
  ConnId id() const override { return engine::Connection::id(); }
  bool closed() const override { return engine::Connection::closed() || closing_; }
  const DownstreamInfo& info() const override { return info_; }
  const SecurityInfo& security() const override;
  const std::shared_ptr<const Snapshot>& snapshot() const override { return snap_; }
  const Listener& listener() const override { return *listener_; }
  const FilterChain& filter_chain() const override { return *chain_; }
  bool peer_half_closed() const override { return peer_fin_; }
  void set_peer_half_closed() override { peer_fin_ = true; }
  void write(std::string_view plaintext) override;
  void half_close() override;
  void close(CloseType how) override;
  AccessLogEntry& access_log_entry() override;
  void arm_timer(Duration after, uint32_t which) override;
  void close_by_filter(CloseType how, std::string_view details) override;
  std::vector<RbacVerdict>& rbac_verdicts() override { return rbac_; }
  network::ConnectionFilterState& filter_state() override { return filter_state_; }
  void continue_reading(const network::ReadFilter& from, std::string_view data) override;
  void inject_write(const network::WriteFilter& from, std::string_view data) override;
  void arm_filter_timer(Duration after, const network::ReadFilter& filter, uint32_t which) override;

 private:
  void run_inspectors();
  void inspect_timeout();
  void finish_inspection();
  void reject(std::string_view why, std::string_view chain_miss = {});
  void transport_data(std::string_view data);
  void forget();

  EngineContext& ctx_;
  DownstreamInfo info_;
  std::shared_ptr<const Snapshot> snap_;
  const Listener* listener_ = nullptr;
  bool inspecting_ = true;
  std::string peeked_;
  ConnectionMatchInput match_;
  bool tls_pending_ = false, http_pending_ = false;
  Timer inspect_timer_;
  const FilterChain* chain_ = nullptr;
  std::unique_ptr<TransportSocket> transport_;
  Duration start_;
  bool peer_fin_ = false;
  bool closing_ = false;
  bool forgotten_ = false;
  std::vector<std::unique_ptr<network::ReadFilter>> read_filters_;
  std::vector<network::WriteFilter*> write_filters_;
  std::vector<RbacVerdict> rbac_;
  network::ConnectionFilterState filter_state_;
};

}  // namespace meshsim::proxy::engine
