// AccessLogEntry is the engine's account of one finished unit of work — an
// HTTP request/response exchange, or a TCP connection proxied by tcp_proxy, or
// a connection the listener rejected — with the fields of Envoy's access log
// that Istio's default format prints (response flags, upstream cluster and
// host, route, filter chain, TLS facts). The simulator turns each entry into an
// observation on the event stream; probe output, metrics, traces and verdicts
// are built from them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "proxy/base/duration.h"
#include "proxy/base/ip.h"
#include "proxy/config.h"
#include "proxy/transport.h"

namespace meshsim::proxy {

// connection_termination_details of a connection the client closed while the
// listener filters still waited for its first bytes (no chain was selected).
inline constexpr const char* kClosedDuringListenerFilters =
    "closed by the client while the listener filters (tls_inspector/http_inspector) were still waiting for its "
    "first bytes";

// What one RBAC filter decided for a request or connection (its own
// evaluation, carried to probe, story and the event stream unchanged).
struct RbacVerdict {
  std::string filter;        // envoy.filters.http.rbac | envoy.filters.network.rbac
  std::string istio_action;  // the AuthorizationPolicy action it enforces: DENY, ALLOW, AUDIT, CUSTOM
  bool shadow = false;       // shadow rules (AUDIT, dry-run): reported, never enforced
  bool denied = false;       // the (shadow) engine's result
  std::string policy;        // effective policy "ns[foo]-policy[bar]-rule[0]", "" when none matched
  // Why: for a denial by ALLOW, each rule's first failing clause; for a
  // matched DENY/AUDIT rule, the clauses that matched. Only with details.
  std::vector<std::string> reasons;
};

// The AuthorizationPolicy rule behind an RBAC policy name istiod wrote
// ("ns[foo]-policy[bar]-rule[2]"); ok false for other names ("none").
struct AuthzRuleRef {
  bool ok = false;
  std::string namespace_, name;
  int rule = 0;
};
AuthzRuleRef parse_authz_policy_name(std::string_view policy);

// The verdict as people read it: "DENY by AuthorizationPolicy foo/bar rule 0"
// or "denied: no ALLOW rule matched"; the reasons follow as their own lines.
std::string rbac_verdict_summary(const RbacVerdict& v);

// A reason line "ns[foo]-policy[bar]-rule[0]: <clause>" as people read it:
// "foo/bar rule 0: <clause>" (other lines unchanged).
std::string rbac_reason_text(std::string_view reason);
// Splits a reason line into its RBAC policy name and clause.
std::pair<std::string, std::string> split_rbac_reason(std::string_view reason);

struct AccessLogEntry {
  uint64_t connection = 0;  // the downstream connection (proxy ConnId; 0: none)
  Duration start_time;
  Duration duration;
  TrafficDirection direction = TrafficDirection::kUnspecified;
  std::string listener;       // virtualInbound, 0.0.0.0_9080, …
  std::string filter_chain;   // "" if none matched
  std::string route_config;
  std::string virtual_host;
  std::string route;          // route name
  std::string cluster;        // upstream cluster, "" if none
  // Detailed log only: why istiod built the filter chain and the cluster
  // the engine used (their `description`), and — when no filter chain
  // matched — what the listener's chains for the destination port require
  // ("0.0.0.0_9080 needs transport tls (HTTP port, STRICT …); got raw_buffer").
  std::string filter_chain_description;
  std::string cluster_description;
  std::string filter_chain_miss;
  std::string upstream_host;  // "10.244.1.7:9080", "" if none
  SocketAddress downstream_remote;
  SocketAddress downstream_local;  // original destination
  std::string response_flags;      // "-" when none, else e.g. "UF,URX"
  std::string upstream_transport_failure_reason;
  std::string connection_termination_details;  // e.g. kClosedDuringListenerFilters
  // What the listener filters detected before chain selection: "tls" or
  // "raw_buffer" (Envoy's transport protocol), "" if selection never ran.
  std::string transport_protocol;
  // What the matched chain does with TLS: "mtls" (terminates, requires a
  // client certificate), "tls" (terminates, no client certificate),
  // "passthrough" (TLS detected, bytes proxied untouched), "none"; "" when
  // no chain was matched.
  std::string tls_termination;
  // HTTP (empty/0 for TCP)
  bool http = false;
  std::string protocol;  // "HTTP/1.1", "HTTP/1.0", "tcp"
  std::string method;
  std::string path;
  std::string authority;
  std::string request_id;
  int response_code = 0;
  std::string response_code_details;  // Envoy's %RESPONSE_CODE_DETAILS%, e.g. "via_upstream"
  uint32_t attempts = 0;
  // Clusters a copy of this request was mirrored to (the router's decision).
  std::vector<std::string> mirrored_to;
  uint64_t bytes_received = 0;  // from downstream (body for HTTP)
  uint64_t bytes_sent = 0;      // to downstream (body for HTTP)
  // The RBAC filters that ran, in chain order (empty when none).
  std::vector<RbacVerdict> rbac;
  // What jwt_authn decided about the request's token ("" when it did not run).
  std::string request_auth;
  // TLS facts
  SecurityInfo downstream_tls;
  SecurityInfo upstream_tls;
};

// Flags as Envoy prints them (%RESPONSE_FLAGS%), in Envoy's order.
std::string format_response_flags(uint32_t flags);

// One line of Istio's default TEXT access-log format (meshConfig
// accessLogFile with accessLogEncoding TEXT), from the fields the entry has:
//   [START] "METHOD PATH PROTOCOL" CODE FLAGS DETAILS TERMINATION "UPSTREAM_FAILURE"
//   RX TX DURATION - "-" "-" "REQUEST_ID" "AUTHORITY" "UPSTREAM_HOST" CLUSTER -
//   DOWNSTREAM_LOCAL DOWNSTREAM_REMOTE SNI ROUTE
// Fields the engine does not record (upstream service time, X-Forwarded-For,
// user agent, upstream local address) print as "-". `start_time` is the
// RFC 3339 start (the caller's clock: wall or virtual).
std::string istio_text_access_log(const AccessLogEntry& e, std::string_view start_time);

enum ResponseFlag : uint32_t {
  kFailedLocalHealthCheck = 1u << 0,   // LH
  kNoHealthyUpstream = 1u << 1,        // UH
  kUpstreamRequestTimeout = 1u << 2,   // UT
  kLocalReset = 1u << 3,               // LR
  kUpstreamRemoteReset = 1u << 4,      // UR
  kUpstreamConnectionFailure = 1u << 5,  // UF
  kUpstreamConnectionTermination = 1u << 6,  // UC
  kUpstreamOverflow = 1u << 7,         // UO
  kNoRouteFound = 1u << 8,             // NR
  kDelayInjected = 1u << 9,            // DI
  kFaultInjected = 1u << 10,           // FI
  kRateLimited = 1u << 11,             // RL
  kUnauthorizedExternalService = 1u << 12,  // UAEX
  kRateLimitServiceError = 1u << 13,   // RLSE
  kDownstreamConnectionTermination = 1u << 14,  // DC
  kUpstreamRetryLimitExceeded = 1u << 15,  // URX
  kStreamIdleTimeout = 1u << 16,       // SI
  kInvalidEnvoyRequestHeaders = 1u << 17,  // IH
  kDownstreamProtocolError = 1u << 18,  // DPE
  kUpstreamMaxStreamDurationReached = 1u << 19,  // UMSDR
  kNoClusterFound = 1u << 21,          // NC
  kUpstreamProtocolError = 1u << 23,   // UPE
  kNoFilterConfigFound = 1u << 24,     // NFCF
  kDurationTimeout = 1u << 25,         // DT
  kDownstreamRemoteReset = 1u << 26,   // DR (an HTTP/2 client reset its stream)
};

class AccessLogSink {
 public:
  virtual ~AccessLogSink() = default;
  virtual void on_access_log(const AccessLogEntry& entry) = 0;
  // False when nobody reads the entries' details: the engine then fills only
  // the listener, filter chain, cluster, response flags and code (and skips
  // copying TLS facts). The entry passed is only valid during the call.
  virtual bool wants_details() const { return true; }
};

}  // namespace meshsim::proxy
