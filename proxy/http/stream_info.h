// StreamInfo is what the engine knows about one HTTP request/response
// exchange, shared by its filters and read by the access log (Envoy's
// StreamInfo): timing, response flags, the route and cluster chosen, the
// upstream host and its TLS, attempts, and filter state (the upstream ALPN
// that istio.alpn chose). Names are views into the configuration snapshot the
// stream was routed with, which the stream keeps alive.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/base/duration.h"
#include "proxy/access_log.h"
#include "proxy/base/ip.h"
#include "proxy/metadata.h"
#include "proxy/peer_metadata.h"
#include "proxy/transport.h"
#include "proxy/tracing/tracer.h"

namespace meshsim::proxy::http {

struct StreamInfo {
  Duration start;
  Duration upstream_start;
  uint32_t response_flags = 0;
  std::string_view route_config, virtual_host, route_name, cluster;
  // Why istiod built the cluster the request went to (its description).
  std::string_view cluster_description;
  bool has_upstream = false;
  SocketAddress upstream_host;
  std::string upstream_transport_failure_reason;
  uint32_t attempts = 0;
  // Mirror clusters a copy of the request was sent to (views into the route).
  std::vector<std::string_view> mirrored_to;
  SecurityInfo upstream_tls;
  // Filter state: the ALPN list istio.alpn set for ISTIO_MUTUAL upstreams
  // (nullptr: the cluster's own list).
  const std::vector<std::string>* upstream_alpn = nullptr;
  // What the RBAC filters decided (access log, probe), and the dynamic
  // metadata filters exchange (jwt_authn → rbac).
  std::vector<RbacVerdict> rbac;
  DynamicMetadata metadata;
  // What jwt_authn decided ("verified iss/sub (origins-0, …)", "no token: …",
  // "rejected: Jwt is expired (…)"); "" when no jwt_authn filter ran.
  std::string request_auth;
  // Metadata exchange (istio.metadata_exchange filter state downstream_peer /
  // upstream_peer): what the request (inbound) or the response (outbound)
  // said about the peer workload.
  PeerInfo downstream_peer, upstream_peer;
  // Wire bytes of the downstream request and response, headers and body as
  // the HTTP/1 codec parsed and wrote them (Envoy's downstream bytes meter).
  uint64_t wire_bytes_received = 0, wire_bytes_sent = 0;
  // The code logged for the stream (0: reset before a response).
  int response_code = 0;
  // Tracing: the stream's span (the connection manager starts and finishes
  // it, the router injects its context into every upstream attempt).
  tracing::ActiveSpan span;
  // The request's ordinal on its downstream connection (1-based), and the
  // upstream connection of the last attempt with the request's ordinal on it.
  uint64_t downstream_request = 0;
  ConnId upstream_connection = 0;
  uint64_t upstream_request = 0;
};

}  // namespace meshsim::proxy::http
