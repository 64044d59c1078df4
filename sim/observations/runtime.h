// Observations published by the mesh runtime (sim/runtime/): what the
// sidecars logged, what client applications experienced, when configuration
// and certificates changed. Like every observation they are views, valid only
// during the subscriber call (sim/observation.h).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace meshsim::proxy {
struct AccessLogEntry;
namespace tracing {
struct FinishedSpan;
}
}  // namespace meshsim::proxy

namespace meshsim::sim {

// One Envoy access-log entry of a sidecar (a finished request or TCP connection).
struct AccessLogObservation {
  std::string_view pod;  // "ns/name" of the sidecar's pod
  const proxy::AccessLogEntry* entry = nullptr;
  uint64_t downstream_connection = 0;  // network connection number of the downstream connection (0: unknown)
};

// A span a sidecar's tracer finished (every real span, sampled or not; only
// sampled ones are reported to the tracing backend).
struct SpanObservation {
  std::string_view pod;  // "ns/name" of the sidecar's pod
  const proxy::tracing::FinishedSpan* span = nullptr;
  // Network connection numbers of the connections the request arrived on
  // and (last attempt) left on; 0 when none.
  uint64_t downstream_connection = 0;
  uint64_t upstream_connection = 0;
};

// A call a server application made while it handled a request (Bookinfo's
// productpage calling details and reviews), with the trace headers it
// forwarded and those it received but did not forward.
struct AppCallObservation {
  std::string_view pod;       // "ns/name"
  std::string_view workload;  // "reviews-v2"
  std::string_view target;    // "ratings:9080"
  uint64_t inbound_connection = 0, inbound_request = 0;    // the request being handled (ordinal on its connection)
  uint64_t outbound_connection = 0, outbound_request = 0;  // the call (ordinal on its connection)
  std::span<const std::string_view> forwarded;
  std::span<const std::string_view> dropped;
};

// What a client application saw for one request / connection attempt.
struct AppOutcomeObservation {
  enum class Outcome : uint8_t { kOk, kRefused, kReset, kTimeout, kTlsError, kHttpError, kDenied, kDnsError };
  std::string_view client;    // "ns/pod", or "external/<name>"
  std::string_view target;    // as the app addressed it: "reviews:9080", "10.96.0.12:3306"
  std::string_view protocol;  // "http", "tcp", "mysql"
  Outcome outcome = Outcome::kOk;
  int http_status = 0;
  std::string_view error;     // verbatim client error text ("" on success)
  int64_t latency_ns = 0;
  uint64_t connection = 0;    // network connection number used (0 if none)
  uint64_t request_index = 0; // per-client sequence number
};
const char* to_string(AppOutcomeObservation::Outcome o);

// A sidecar received a configuration push.
struct ConfigPushObservation {
  std::string_view pod;
  std::string_view version;
};

// The agent installed a workload certificate.
struct CertificateObservation {
  std::string_view pod;
  std::string_view spiffe_id;
  int64_t not_before_ns = 0;  // virtual time
  int64_t not_after_ns = 0;
  bool rotation = false;      // false: first certificate
};

}  // namespace meshsim::sim
