// Observations published by the mesh runtime (sim/runtime/): what the
// sidecars logged, what client applications experienced, when configuration
// and certificates changed. Like every observation they are views, valid only
// during the subscriber call (sim/observation.h).
#pragma once

#include <cstdint>
#include <span>
#include <string>
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

// A finding of the broken-trace report (sim/scenario/trace_recorder.h),
// published once at the end of a run that traced, as a view: "reviews-v2 did
// not forward x-b3-traceid … to ratings:9080" and how many user requests (or
// spans, for outbound-only findings) it concerns.
struct TraceFindingObservation {
  enum class Kind : uint8_t { kBrokenPropagation, kOutboundOnly };
  Kind kind = Kind::kBrokenPropagation;
  std::string_view finding;
  uint64_t count = 0;
};

// What a client application saw for one request / connection attempt.
struct AppOutcomeObservation {
  enum class Outcome : uint8_t { kOk, kRefused, kReset, kTimeout, kTlsError, kHttpError, kDenied, kDnsError };
  std::string_view client;    // "ns/pod", or "external/<name>"
  std::string_view target;    // as the app addressed it: "reviews:9080", "10.96.0.12:3306"
  std::string_view protocol;  // "http", "tcp", "mysql"
  Outcome outcome = Outcome::kOk;
  int http_status = 0;
  int grpc_status = -1;       // grpc: the call's status (grpc-status, or grpc-go's for transport failures); -1 otherwise
  std::string_view error;     // verbatim client error text ("" on success)
  int64_t latency_ns = 0;
  uint64_t connection = 0;    // network connection number used (0 if none)
  uint64_t request_index = 0; // per-client sequence number
};
const char* to_string(AppOutcomeObservation::Outcome o);

// One outbound HTTP call (one attempt) a server application made while
// handling an inbound request — productpage → details, reviews-v2 → ratings —
// with what the app's header propagation did: which trace/context headers the
// inbound request carried, which the call forwarded, which it dropped. The
// sidecar tracing joins it to spans by the inbound x-request-id (and by
// `local`, the app's side of the call's connection, which the client sidecar
// sees as the downstream address).
struct AppCallObservation {
  std::string_view pod;              // "ns/name" of the calling app's pod
  std::string_view workload;         // "reviews-v2" (the pod's workload, else the pod name)
  uint16_t server_port = 0;          // the app port that received the inbound request
  uint64_t inbound_request = 0;      // per-app sequence number of the inbound request (calls of one request share it)
  std::string_view inbound_method;   // "GET"
  std::string_view inbound_path;     // "/productpage"
  std::string_view inbound_request_id;  // its x-request-id ("" when it had none)
  std::string_view target;           // host:port as the app addressed it: "ratings:9080"
  std::string_view path;             // "/ratings/0"
  uint32_t call_index = 0;           // position in the app's call list, 0-based
  uint32_t attempt = 1;              // 1, or 2 for productpage's second try of reviews
  // Header names, lower case, each once: the inbound request's trace/context
  // headers (arrival order), those the call carries because of the
  // propagation policy (the order written), and carried − forwarded.
  std::span<const std::string_view> carried;
  std::span<const std::string_view> forwarded;
  std::span<const std::string_view> dropped;
  std::string_view propagation;      // the policy: "none", "all", "productpage", "[a, b]"
  AppOutcomeObservation::Outcome outcome = AppOutcomeObservation::Outcome::kOk;
  int http_status = 0;               // 0 when no response came
  std::string_view error;            // "" on a response; else the client error text
  int64_t latency_ns = 0;
  uint64_t connection = 0;           // network connection number of the call (0 if none)
  uint64_t connection_request = 0;   // the call's ordinal among the requests on that connection (1-based)
  std::string_view local;            // "10.244.0.7:40001": the app's address on that connection ("" if none)
  // The inbound request's connection (network number) and its ordinal on it:
  // the server sidecar's upstream request that delivered it.
  uint64_t inbound_connection = 0, inbound_connection_request = 0;
};

// A ztunnel (sim/runtime/ztunnel.h) decided something about one connection
// of an ambient pod, or the ztunnel process started or died.
struct ZtunnelObservation {
  enum class Event : uint8_t {
    kStarted,     // the ztunnel process came up (listeners in every enrolled pod)
    kStopped,     // the process died: listeners gone, its connections reset
    kOutbound,    // outbound connection proxied (protocol HBONE or TCP); `detail` says where
    kInbound,     // inbound connection (HBONE stream or plaintext) delivered to the app
    kDenied,      // refused by policy (AuthorizationPolicy, PeerAuthentication STRICT)
    kFailed,      // could not be proxied (no upstream, connect failure, TLS, HBONE status)
  };
  std::string_view ztunnel;   // "istio-system/ztunnel-xxxxx"
  std::string_view node;
  Event event = Event::kOutbound;
  std::string_view pod;       // "ns/name" of the ambient pod the connection belongs to
  std::string_view protocol;  // "HBONE", "TCP" ("" for start/stop)
  std::string_view peer;      // the other side: "10.244.1.5:8080"
  std::string_view identity;  // the peer's SPIFFE identity when known
  std::string_view detail;    // reason / policy / status text
  uint64_t connection = 0;    // network connection number of the app's side (0 if none)
};
const char* to_string(ZtunnelObservation::Event e);

// A sidecar received a configuration push.
struct ConfigPushObservation {
  std::string_view pod;
  std::string_view version;
};

// A sidecar's outlier detector ejected a host of a cluster (or detected an
// outlier it did not eject: `enforced` false, or max_ejection_percent
// reached: kOverflow), or returned one to service at an interval sweep.
struct OutlierObservation {
  enum class Action : uint8_t { kEject, kUneject, kOverflow };
  std::string_view pod;       // "ns/name" of the sidecar's pod
  std::string_view cluster;   // "outbound|9080||reviews.default.svc.cluster.local"
  std::string_view host;      // "10.244.1.7:9080"
  std::string_view hostname;  // the endpoint's pod ("" when unknown)
  std::string_view type;      // "CONSECUTIVE_5XX", "CONSECUTIVE_GATEWAY_FAILURE", "CONSECUTIVE_LOCAL_ORIGIN_FAILURE"
  Action action = Action::kEject;
  bool enforced = true;
  uint32_t num_ejections = 0;    // times the host has been ejected
  int64_t ejection_time_ns = 0;  // kEject: the least time it stays out (base × backoff, capped)
  int64_t ejected_for_ns = 0;    // kUneject: how long it was out
  uint32_t ejections_active = 0, hosts = 0, max_ejection_percent = 0;
};
const char* to_string(OutlierObservation::Action a);

// The share of a cluster's requests each EDS priority gets changed in a
// sidecar (an ejection, an un-ejection, an endpoint update): Envoy's
// per-priority load with the overprovisioning factor and panic mode.
struct PriorityLoadObservation {
  std::string_view pod;
  std::string_view cluster;
  std::span<const uint32_t> load;     // percent per priority
  std::span<const uint32_t> hosts;    // hosts per priority
  std::span<const uint32_t> healthy;  // healthy hosts per priority
  std::span<const uint8_t> panic;     // per priority
  bool total_panic = false;
};

// The scenario runner's judgement of one finished request (kind
// `scenario.request`, a view kind: it never changes the fingerprint). It is
// published once the evidence is in — the request's outcome plus every
// sidecar access log up to 5 ms after it — and is the very record the run's
// EDGES table and STORY are built from, so every view shows the same answer:
//  * `wire`: how the request left the client's pod — from the first bytes of
//    the app's own connection when no sidecar captured it, else from the
//    client sidecar's upstream TLS (mTLS = TLS with a workload certificate);
//    kUnjudged when neither exists (no connection, no bytes, no upstream).
//  * `transition`: whether this request changed its source from working to
//    failing (or back), with `why` — the story's explanation from the access
//    logs of that very request ("" when none could be found).
// Sources are the scenario's client apps (`client` = the app's name) and the
// outbound calls server apps make (`client` = "", `source` = kCall).
struct RequestVerdictObservation {
  // A verdict is published at the first step of the run at or after
  // end + kEvidenceDelayNs; views that replay a run place it exactly there, so
  // what they show does not depend on how the run was stepped.
  static constexpr int64_t kEvidenceDelayNs = 5'000'000;
  enum class Source : uint8_t { kClient, kCall };
  enum class Wire : uint8_t { kUnjudged, kPlaintext, kTls, kMtls };
  enum class Transition : uint8_t { kNone, kFails, kRecovers };
  Source source = Source::kClient;
  std::string_view client;    // scenario client name ("" for a call)
  std::string_view from;      // "ns/pod" or "external/<name>"
  std::string_view target;    // as the app addressed it: "productpage.default:9080"
  std::string_view protocol;  // "http", "tcp", "mysql"
  AppOutcomeObservation::Outcome outcome = AppOutcomeObservation::Outcome::kOk;
  int http_status = 0;
  std::string_view error;
  int64_t latency_ns = 0;
  int64_t end_ns = 0;         // when the app saw the outcome (the verdict is published later)
  uint64_t connection = 0;
  Wire wire = Wire::kUnjudged;
  Transition transition = Transition::kNone;
  std::string_view why;
};
const char* to_string(RequestVerdictObservation::Wire w);
const char* to_string(RequestVerdictObservation::Transition t);

// A timeline action the scenario runner played (kind `scenario.action`, a
// view kind): its name, what kind of change it is, and the STORY's details
// (objects applied or deleted, pods killed, ...).
struct ScenarioActionObservation {
  enum class Category : uint8_t { kConfig, kFault };
  std::string_view name;
  Category category = Category::kConfig;
  std::span<const std::string> details;
};

// The kubelet changed a pod's state from its probes (Kubernetes' prober):
// readiness failed failureThreshold times in a row — the pod is not ready and
// its endpoints leave every cluster with the next push — or succeeded
// successThreshold times — ready again; liveness failed failureThreshold
// times — the container is restarted.
struct PodHealthObservation {
  enum class Event : uint8_t { kNotReady, kReady, kRestarted };
  std::string_view pod;        // "ns/name"
  std::string_view container;
  std::string_view probe;      // "readiness" | "liveness"
  Event event = Event::kNotReady;
  uint32_t consecutive = 0;    // results in a row that made the decision
  std::string_view last_error; // the last failing probe's error ("" on success)
};
const char* to_string(PodHealthObservation::Event e);

// The agent installed a workload certificate.
struct CertificateObservation {
  std::string_view pod;
  std::string_view spiffe_id;
  int64_t not_before_ns = 0;  // virtual time
  int64_t not_after_ns = 0;
  bool rotation = false;      // false: first certificate
};

}  // namespace meshsim::sim
