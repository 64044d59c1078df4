// IstioTcpStatsFilter is istio.stats as a network filter before tcp_proxy
// (istio/proxy istio_stats.cc, TCP; docs/istio/telemetry.md §6.2): it counts
// the bytes read from and written to the downstream (after metadata exchange
// drained its preamble), and reports on a timer of `tcp_reporting_duration`
// (default 5 s, armed at connect; no report at connect time) and when the
// connection closes. The first report after the peer is known — the metadata
// exchange filter stored the peer or peer_not_found — adds
// istio_tcp_connections_opened_total (once; at close if never before); every
// report adds the byte deltas; the close adds istio_tcp_connections_closed_total.
// Labels: proxy/istio_stats_labels.h, request_protocol "tcp", tcp_proxy's
// response flags, connection_security_policy.
#pragma once

#include "proxy/config.h"
#include "proxy/network/filter.h"

namespace meshsim::proxy::engine {
struct EngineContext;
}

namespace meshsim::proxy::network {

class IstioTcpStatsFilter final : public ReadFilter, public WriteFilter {
 public:
  IstioTcpStatsFilter(engine::EngineContext& ctx, Connection& connection, const IstioStatsConfig& config)
      : ctx_(ctx), conn_(connection), config_(config) {}

  FilterStatus on_new_connection() override;
  FilterStatus on_data(std::string_view data) override;
  void on_remote_close(CloseType) override {}
  void on_transport_failure(std::string_view) override {}
  void on_drain(Duration) override {}
  void on_timer(uint32_t which) override;
  void on_connection_closed() override;
  FilterStatus on_write(std::string_view data) override;

 private:
  void report(bool closing);

  engine::EngineContext& ctx_;
  Connection& conn_;
  const IstioStatsConfig& config_;
  uint64_t received_ = 0, sent_ = 0;                    // downstream wire bytes so far
  uint64_t reported_received_ = 0, reported_sent_ = 0;  // already in the counters
  bool opened_ = false, closed_ = false;
};

}  // namespace meshsim::proxy::network
