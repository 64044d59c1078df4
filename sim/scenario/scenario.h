// A Scenario is a whole story to simulate: a mesh (manifests by path and/or
// inline), mesh options, network conditions, the applications that run (clients
// with their rates, server behaviour), a timeline of changes (apply or delete
// manifests, kill/restart pods, node down/up, partitions, latency, clock
// jumps), and the expectations that decide whether the story ended as it
// should. docs/formats/scenario.md is the specification; scenarios/ and
// conformance/suites/ hold examples.
//
// load_scenario() validates everything up front — every problem with its
// file:line:column and field path, all in one pass — so a bad scenario never
// starts running (exit 2).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mesh/diagnostics.h"
#include "mesh/mesh_config.h"
#include "mesh/resources.h"
#include "mesh/yaml_tree.h"
#include "proxy/base/duration.h"
#include "sim/net/link_model.h"
#include "sim/runtime/apps.h"

namespace meshsim::sim {

// "NS/NAME" (pod, workload or app name) or "external[/NAME]".
struct WorkloadRef {
  std::string text;
  bool external() const { return text == "external" || text.rfind("external/", 0) == 0; }
  std::string external_name() const { return text.size() > 9 ? text.substr(9) : "client"; }
};

struct ScenarioClient {
  std::string name;          // unique; default "<from>→<target>"
  WorkloadRef from;
  ClientRequestSpec request;
  ClientSchedule schedule;
  std::string client_tls = "plaintext";  // what the app itself speaks: plaintext | tls | mtls
  // "ingress": connect to the ingress gateway Service's external address, the
  // URL's host being the Host header and SNI (curl --resolve); "" = DNS.
  std::string via;
  mesh::Location location;
};

struct ScenarioServer {
  WorkloadRef pod;
  uint16_t port = 0;
  ServerAppOptions options;
  std::vector<std::string> tls_dns_names;  // app terminates TLS with a non-mesh certificate for these names
  std::string tls_certificate;             // or with this certificate of the scenario's pki
  // An external server (`server: external/NAME`): the address of its host and
  // the DNS name outside the cluster that resolves to it (ResourceSet::external_dns).
  std::string hostname, address;
  mesh::Location location;
};

// A certificate of the scenario's user PKI (one CA, not Istio's, generated
// from the seed), optionally mounted as files into a pod's sidecar — what
// sidecar.istio.io/userVolume + userVolumeMount do with a Secret — for
// DestinationRule MUTUAL/SIMPLE (clientCertificate, privateKey, caCertificates).
struct PkiCertificate {
  std::string name;
  std::vector<std::string> dns_names;
  std::vector<std::string> uri_names;
  struct Mount {
    WorkloadRef pod;
    std::string cert, key, ca;  // file paths as the DestinationRule names them
  };
  std::vector<Mount> mounts;
  mesh::Location location;
};

struct TimelineAction {
  enum class Kind : uint8_t {
    kApply, kDelete, kKillPod, kRestartPod, kNodeDown, kNodeUp, kPartition, kHeal, kLatency, kClockJump, kStopRenewal,
    kZoneDown, kZoneUp, kAppFault, kKillZtunnel, kRestartZtunnel
  };
  Kind kind = Kind::kApply;
  Duration at;
  std::string name;  // human label (default derived)
  // apply
  mesh::ResourceSet objects;
  // delete
  struct DeleteRef {
    mesh::Kind kind;
    std::string ns, name;
  };
  std::vector<DeleteRef> deletes;
  // pods / nodes
  std::vector<WorkloadRef> pods;
  std::string node;  // nodeDown / nodeUp / killZtunnel / restartZtunnel
  // partition
  std::string partition;
  std::vector<std::string> a_nodes, b_nodes;
  std::vector<WorkloadRef> a_pods, b_pods;
  // latency
  std::map<Relation, Duration> latency;
  // clock jump
  Duration jump;
  // zoneDown / zoneUp: every node whose topology.kubernetes.io/zone is this
  std::string zone;
  // appFault: the server app of `pods` on `port` (0 = every port) changes
  // its HTTP behaviour from now on (unset fields keep theirs)
  uint16_t port = 0;
  std::optional<double> error_rate;
  std::optional<int> error_status;
  std::optional<LatencyModel> app_latency;
  mesh::Location location;
};

// A comparison like ">= 0.99", "== 0", "< 50ms".
struct Comparison {
  enum class Op : uint8_t { kEq, kNe, kLt, kLe, kGt, kGe };
  Op op = Op::kGe;
  double value = 0;          // numbers and ratios
  std::optional<Duration> duration;  // when the right-hand side was a duration
  std::string text;          // as written
  bool holds(double x) const;
};

struct Expectation {
  enum class Kind : uint8_t {
    kRequests, kClientError, kWire, kIdentity, kLatency, kCertificates, kProbes, kSidecar, kFingerprint, kMetric, kTraces,
    kOutliers
  };
  Kind kind = Kind::kRequests;
  std::string name;
  // selector of requests / connections
  std::string from;    // client name, pod ref or "external"; empty = any
  std::string to;      // substring of the client's target, or a pod ref (wire/identity)
  Duration window_start;
  Duration window_end = Duration::max();
  // kRequests
  std::optional<Comparison> ok_ratio;
  std::optional<Comparison> count;
  std::map<std::string, Comparison> outcomes;  // outcome name → count comparison
  // kClientError
  std::string error_contains;
  bool every = false;  // all selected requests (else at least one)
  // kWire
  std::string wire;    // mtls | tls | plaintext
  std::string alpn;    // expected in the ClientHello's ALPN list
  uint32_t port = 0;   // only connections to this destination (pod) port; 0 = any
  std::string sni;     // expected SNI of every ClientHello
  // kIdentity
  std::string principal;
  // kLatency
  double percentile = 99;
  std::optional<Comparison> latency;
  // kCertificates
  std::string pod;
  std::optional<Duration> ttl;
  std::optional<Comparison> rotations;
  // kProbes (pod above; okRatio / count / outcomes as for kRequests)
  std::string probe_kind = "readiness";  // readiness | liveness | startup
  std::string container;                 // empty = every container
  // kSidecar (pod above)
  bool injected = true;
  // kFingerprint
  std::string fingerprint;
  // kMetric: the sum over every sidecar's samples of `metric_name` whose
  // labels include all of `metric_labels` (docs/model/telemetry.md).
  std::string metric_name;
  std::map<std::string, std::string> metric_labels;
  std::optional<Comparison> metric_value;
  // kTraces (from/window select user requests): counts over the trace trees
  // of the selected requests, and findings of the broken-trace report.
  std::optional<Comparison> user_requests, spans, sampled_spans, sampled_requests, broken, traces_per_request;
  std::string finding;        // a broken-propagation finding containing this text
  std::string outbound_only;  // a "spans only on the outbound side" finding containing this text
  // kOutliers: the outlier detectors' decisions (OutlierObservations) of the
  // sidecar of `pod` ("" = every sidecar), about the endpoint pod `host`
  // ("" = any), in clusters whose name contains `cluster`, during the window.
  std::string host, cluster;
  std::optional<Comparison> ejections;  // enforced ejections
  std::optional<Comparison> unejections;
  std::optional<Comparison> overflows;  // detected, but max_ejection_percent said no
  std::vector<Duration> ejection_times;  // the enforced ejections' times, in order
  mesh::Location location;
};

struct Scenario {
  std::string file;   // path as given
  std::string name;
  std::string description;
  std::string profile = "MESH-CORE";
  std::string skip;  // non-empty: conformance skips the scenario and reports this reason
  uint64_t seed = 1;
  Duration duration;
  mesh::ResourceSet resources;  // the initial mesh
  std::vector<std::string> manifest_paths;
  mesh::MeshConfig mesh_config;  // defaults + manifests + scenario meshConfig
  mesh::YamlNode mesh_config_overlay;  // the scenario's meshConfig (re-applied when manifests change)
  LinkModel links;
  std::vector<ScenarioClient> clients;
  std::vector<ScenarioServer> servers;
  std::vector<PkiCertificate> pki;
  std::vector<TimelineAction> timeline;  // sorted by time (stable)
  std::vector<Expectation> expectations;
  std::optional<std::string> pinned_fingerprint;
  mesh::Location fingerprint_location;
  std::vector<std::shared_ptr<const mesh::YamlDocument>> documents;  // keep inline objects' sources alive
};

struct ScenarioLoad {
  std::optional<Scenario> scenario;  // set when there are no errors
  std::vector<mesh::Diagnostic> diagnostics;
};

struct ScenarioLoadOptions {
  // Unknown fields of the scenario are errors, not warnings (`run --strict`;
  // `conformance` loads every scenario this way).
  bool strict = false;
  // Namespaces treated as labelled istio-injection=enabled (--inject-namespace).
  std::vector<std::string> inject_namespaces;
};

// Reads and validates a scenario file (paths inside it are relative to it):
// syntax and fields first, then — when those are clean — the mesh is derived
// and every pod, workload and node the scenario names is checked against it,
// so that all errors of a file come out in one pass. An unreadable file's
// diagnostic carries the OS reason (strerror).
ScenarioLoad load_scenario(const std::string& path, const ScenarioLoadOptions& options = {});
// Same, from text (tests, the bundled default scenario); `base_dir` resolves paths.
ScenarioLoad load_scenario_text(std::string_view text, const std::string& file_name, const std::string& base_dir,
                                const ScenarioLoadOptions& options = {});

const char* to_string(Expectation::Kind k);
const char* to_string(TimelineAction::Kind k);

}  // namespace meshsim::sim
