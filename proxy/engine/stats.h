// The engine's counters (Envoy's names) and what the world tells it about a
// downstream connection. Plain data shared by every room of the engine.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "proxy/base/ip.h"

namespace meshsim::proxy {

// How a downstream connection reached the proxy.
struct DownstreamInfo {
  uint16_t listener_port = 0;          // 15001 (virtualOutbound) or 15006 (virtualInbound)
  SocketAddress remote;                // the client
  SocketAddress original_destination;  // where the client was going (SO_ORIGINAL_DST)
};

// Counters in Envoy's vocabulary; tests assert on them.
struct SidecarStats {
  uint64_t downstream_cx_total = 0;
  uint64_t downstream_cx_active = 0;
  uint64_t no_filter_chain_match = 0;     // listener.<x>.no_filter_chain_match
  uint64_t listener_filter_timeouts = 0;  // downstream_pre_cx_timeout
  uint64_t ssl_handshake = 0;             // downstream TLS handshakes completed
  uint64_t ssl_connection_error = 0;      // downstream TLS failures
  uint64_t ssl_session_reused = 0;
  uint64_t upstream_cx_total = 0;
  uint64_t upstream_cx_connect_fail = 0;
  uint64_t upstream_cx_connect_timeout = 0;
  uint64_t upstream_ssl_handshake = 0;
  uint64_t upstream_ssl_connection_error = 0;
  uint64_t upstream_ssl_session_reused = 0;
  uint64_t upstream_rq_total = 0;
  uint64_t upstream_rq_retry = 0;
  uint64_t upstream_cx_overflow = 0;          // max_connections reached (request queued, or tcp_proxy refused)
  uint64_t upstream_rq_pending_overflow = 0;  // max_pending_requests or max_requests reached: 503 UO
  uint64_t upstream_rq_retry_overflow = 0;    // max_retries reached: the retriable outcome forwarded with UO
  uint64_t upstream_cx_max_requests = 0;      // connections closed at max_requests_per_connection
  uint64_t downstream_rq_total = 0;
  // http.<prefix>.tracing.* (chargeTracingStats), summed over the HCMs, and
  // tracing.zipkin.spans_sent: the spans handed to the tracer's reporter.
  uint64_t tracing_random_sampling = 0, tracing_not_traceable = 0, tracing_client_enabled = 0,
           tracing_service_forced = 0, tracing_spans_sent = 0;
  uint64_t downstream_rq_2xx = 0, downstream_rq_3xx = 0, downstream_rq_4xx = 0, downstream_rq_5xx = 0;
  uint64_t http_codec_errors = 0;
  // HTTP/2 (Envoy's downstream_cx_http2_total, downstream_rq_http2_total,
  // downstream_rq_rx_reset; upstream_cx_http2_total; http2.rx_reset /
  // http2.tx_reset and http2.goaway_sent of the codec stats).
  uint64_t downstream_cx_http2 = 0, downstream_rq_http2_total = 0, downstream_rq_rx_reset = 0;
  uint64_t upstream_cx_http2_total = 0, upstream_rq_rx_reset = 0, upstream_rq_tx_reset = 0;
  uint64_t downstream_cx_idle_timeout = 0;
  uint64_t deferred_deleted = 0;  // objects destroyed after the entry point that closed them
  // Counters whose names depend on the config, as Envoy prints them
  // ("http.inbound_0.0.0.0_9080.rbac.denied", "tcp.rbac.allowed", …).
  std::map<std::string, uint64_t, std::less<>> named;
  void inc(std::string_view name) {
    auto it = named.find(name);
    if (it == named.end()) it = named.emplace(std::string(name), 0).first;
    ++it->second;
  }
  uint64_t get(std::string_view name) const {
    auto it = named.find(name);
    return it == named.end() ? 0 : it->second;
  }
};

}  // namespace meshsim::proxy
