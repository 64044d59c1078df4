// Sidecar is the proxy engine of one pod: Envoy as istiod configures it,
// reduced to what a mesh simulation needs and written sans-I/O. It owns the
// pod's listeners (virtualOutbound 15001, virtualInbound 15006 and the
// per-port outbound listeners), runs the listener filters (original_dst,
// tls_inspector, http_inspector) with Istio's per-port predicates and the
// listener_filters_timeout, selects a filter chain in Envoy's order,
// terminates or passes TLS, and runs the chain's terminal network filter:
// tcp_proxy, or an HTTP/1.1 connection manager with a router, retries and an
// upstream connection pool. Upstream clusters pick endpoints (least-request,
// round-robin or random, from Io::random()) and originate TLS per the
// cluster's transport socket (matches).
//
// Every finished request or connection is reported to the AccessLogSink.
// Configuration is pushed with apply_config(); new connections use the new
// snapshot while open connections keep the one (and the filter chain) they
// started with, as Envoy's listener drain does.
//
// Threading: single-threaded; all entry points are called by the world the
// engine lives in (the simulator, or proxy/asio). Never throws on the data path.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "proxy/access_log.h"
#include "proxy/config.h"
#include "proxy/io.h"
#include "proxy/transport.h"

namespace meshsim::proxy {

// How a downstream connection reached the proxy.
struct DownstreamInfo {
  uint16_t listener_port = 0;      // 15001 (virtualOutbound) or 15006 (virtualInbound)
  SocketAddress remote;            // the client
  SocketAddress original_destination;  // where the client was going (SO_ORIGINAL_DST)
};

// Counters in Envoy's vocabulary; tests assert on them.
struct SidecarStats {
  uint64_t downstream_cx_total = 0;
  uint64_t downstream_cx_active = 0;
  uint64_t no_filter_chain_match = 0;       // listener.<x>.no_filter_chain_match
  uint64_t listener_filter_timeouts = 0;    // downstream_pre_cx_timeout
  uint64_t ssl_handshake = 0;               // downstream TLS handshakes completed
  uint64_t ssl_connection_error = 0;        // downstream TLS failures
  uint64_t ssl_session_reused = 0;
  uint64_t upstream_cx_total = 0;
  uint64_t upstream_cx_connect_fail = 0;
  uint64_t upstream_cx_connect_timeout = 0;
  uint64_t upstream_ssl_handshake = 0;
  uint64_t upstream_ssl_connection_error = 0;
  uint64_t upstream_ssl_session_reused = 0;
  uint64_t upstream_rq_total = 0;
  uint64_t upstream_rq_retry = 0;
  uint64_t upstream_cx_overflow = 0;
  uint64_t downstream_rq_total = 0;
  uint64_t downstream_rq_2xx = 0, downstream_rq_3xx = 0, downstream_rq_4xx = 0, downstream_rq_5xx = 0;
  uint64_t http_codec_errors = 0;
  uint64_t downstream_cx_idle_timeout = 0;
};

class Sidecar {
 public:
  struct Options {
    std::string name;                      // "<pod>.<namespace>", for logs
    TransportFactory* transport = nullptr; // required for TLS chains and clusters
    AccessLogSink* access_log = nullptr;   // optional
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
  size_t open_connections() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace meshsim::proxy
