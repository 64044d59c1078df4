// Sidecar is the proxy engine of one pod: Envoy as istiod configures it,
// reduced to what a mesh simulation needs and written sans-I/O. This is its
// small facade; the engine's rooms follow Envoy's split (docs/architecture.md):
//   proxy/engine/    listeners, downstream connections (listener filters,
//                    filter-chain selection, transport), snapshots, timers,
//                    deferred deletion
//   proxy/network/   the network filter interface; tcp_proxy
//   proxy/http/      codecs, the HTTP connection manager, the HTTP filter
//                    interface and registry; filters/ one room per filter
//   proxy/upstream/  cluster manager, load balancer, connection pools, retries
//
// Every finished request or connection is reported to the AccessLogSink.
// Configuration is pushed with apply_config(); new connections use the new
// snapshot while open connections keep the one (and the filter chain) they
// started with, as Envoy's listener drain does.
//
// Threading: single-threaded; all entry points are called by the world the
// engine lives in (the simulator, or proxy/asio). Never throws on the data
// path. Objects closed during an entry point are destroyed when it returns.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "proxy/access_log.h"
#include "proxy/config.h"
#include "proxy/engine/stats.h"
#include "proxy/io.h"
#include "proxy/istio_metrics.h"
#include "proxy/transport.h"

namespace meshsim::proxy {

namespace tracing {
class SpanSink;
}
namespace upstream {
class UpstreamEventSink;
}

class Sidecar {
 public:
  struct Options {
    std::string name;                      // "<pod>.<namespace>", for logs
    TransportFactory* transport = nullptr; // required for TLS chains and clusters
    AccessLogSink* access_log = nullptr;   // optional
    tracing::SpanSink* spans = nullptr;    // optional: every finished span
    // optional: outlier ejections and priority-load changes (upstream/outlier_detection.h)
    upstream::UpstreamEventSink* upstream_events = nullptr;
    // Identity of this proxy for Istio's metadata exchange headers.
    std::string node_id;
  };

  Sidecar(Io& io, Options options);
  ~Sidecar();
  Sidecar(const Sidecar&) = delete;
  Sidecar& operator=(const Sidecar&) = delete;

  // Installs a new configuration snapshot (an xDS push).
  void apply_config(std::shared_ptr<const ProxyConfig> config);
  const ProxyConfig* config() const;

  // ---- the world calls these ----
  void on_downstream_accepted(ConnId id, const DownstreamInfo& info);
  void on_data(ConnId id, std::span<const uint8_t> bytes);
  void on_peer_closed(ConnId id, CloseType how);
  void on_upstream_connected(ConnId id);
  void on_upstream_connect_failed(ConnId id, ConnectFailure why);
  void on_timer(TimerToken token);

  const SidecarStats& stats() const;
  // Istio's standard metrics this proxy recorded (nullptr before the first
  // configuration); write them with proxy/prometheus_text.h.
  const IstioMetrics* metrics() const;
  size_t open_connections() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace meshsim::proxy
