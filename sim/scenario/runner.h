// The scenario runner: builds the mesh of a Scenario on the simulator, starts
// its applications, plays its timeline in virtual time, and turns what the
// event stream recorded into the run's result — the story (what changed, who
// broke and why), per-edge statistics, and the verdict of every expectation.
// Evaluations are computed only from observations (app outcomes, sidecar
// access logs, bytes on the wire, certificates), never from the
// configuration that was supposed to cause them.
#pragma once

#include <array>
#include <functional>
#include <memory>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "proxy/base/result.h"
#include "sim/net/capture_session.h"
#include "sim/scenario/scenario.h"
#include "sim/scenario/trace_recorder.h"

namespace meshsim::sim {

class MetricsRecorder;

struct RunOptions {
  CaptureOptions capture;
  std::string events_file;  // --events FILE.jsonl
  std::string trace_file;   // --trace FILE: the sampled spans (Zipkin v2 JSON, or OTLP JSON)
  TraceRecorder::Format trace_format = TraceRecorder::Format::kZipkin;
  bool record_trace = false;
  // Called about every `progress_every` of wall time with (virtual now, events so far).
  std::function<void(Duration now, uint64_t events)> progress;
  // --metrics / --metrics-interval / --serve (sim/scenario/metrics_output.h).
  MetricsRecorder* metrics = nullptr;
  // Sees every observation of the run, from before the mesh is built (the
  // first certificates) to the last verdict; subscribed after the runner's
  // own bookkeeping. It must outlive the run (tearing the mesh down still
  // publishes connection closes).
  std::function<void(const Simulator&, const Observation&)> observer;
};

// The upper bounds (milliseconds) of an edge's latency histogram: a 1-2-5
// series from 0.1 ms to 60 s; one more bucket counts what lies above.
inline constexpr std::array<double, 18> kEdgeLatencyBoundsMs = {0.1, 0.2,  0.5,  1,    2,    5,     10,    20,    50,
                                                                100, 200, 500, 1000, 2000, 5000, 10000, 20000, 60000};

struct EdgeSummary {
  std::string client;
  std::string from;     // pod "ns/name" or "external/<name>"
  std::string target;
  std::string protocol;
  uint64_t requests = 0;
  uint64_t connections = 0;  // connections the client application opened (keep-alive reuses one)
  uint64_t ok = 0;
  // How each request left the client's pod: judged from the wire bytes of the
  // app's own connection (no sidecar capture), or from the client sidecar's
  // upstream TLS (Istio mTLS = TLS with the workload certificate presented).
  uint64_t judged = 0;          // requests whose hop could be judged
  uint64_t mtls = 0;
  uint64_t tls = 0;
  Duration p50, p99;
  // Latency histograms: per kEdgeLatencyBoundsMs bucket (le, non-cumulative)
  // plus the overflow bucket, of the successful requests and of the failed
  // ones (the time until the client saw the failure).
  std::array<uint64_t, kEdgeLatencyBoundsMs.size() + 1> latency_ok{}, latency_failed{};
  std::map<std::string, uint64_t> failures;  // outcome → count
  std::map<std::string, uint64_t> grpc_statuses;  // grpc edges: status name ("OK", "UNAVAILABLE") → calls
  std::string last_error;
};

struct StoryEvent {
  Duration at;
  std::string text;
  std::vector<std::string> details;
};

struct ExpectationVerdict {
  std::string name;
  std::string kind;
  bool passed = false;
  std::string expected;
  std::string actual;
  std::string message;
  mesh::Location location;
};

// One decision of a sidecar's outlier detector or load balancer, copied from
// the event stream (OutlierObservation / PriorityLoadObservation).
struct FailoverRecord {
  Duration at;
  std::string pod;      // the sidecar that decided
  std::string cluster;
  std::string action;   // eject | uneject | overflow | not-enforced | priority; the kubelet's not-ready | ready | restart
  std::string host, hostname, type;
  uint32_t num_ejections = 0, ejections_active = 0, hosts = 0;
  Duration ejection_time, ejected_for;
  std::vector<uint32_t> load, priority_hosts, priority_healthy;  // action "priority"
  std::vector<uint8_t> panic;
  // not-ready | ready | restart: the container, the probe kind, how many
  // results in a row decided it and the last failure's text.
  std::string container, probe, last_error;
  uint32_t consecutive = 0;
};

// What the clients saw in one second of virtual time (by request end).
struct ErrorRateSecond {
  int64_t second = 0;
  uint64_t requests = 0, failed = 0;
};

// Ejections, priority shifts and the client-visible error rate per second;
// present when some sidecar's outlier detection or priority load balancing acted.
struct FailoverTimeline {
  std::vector<FailoverRecord> events;
  std::vector<ErrorRateSecond> per_second;  // every second from 0 to the end
};

struct TraceLine {
  int64_t time_ns = 0;
  std::string actor, kind;
  uint64_t digest = 0;
  bool publication = false;
  uint64_t fingerprint = 0;
};

struct ScenarioRunResult {
  std::string name;
  uint64_t seed = 0;
  uint64_t fingerprint = 0;
  uint64_t events = 0;
  Duration virtual_time;
  double wall_seconds = 0;
  std::vector<EdgeSummary> edges;
  std::vector<StoryEvent> story;
  std::vector<ExpectationVerdict> expectations;
  std::vector<TraceLine> trace;  // when RunOptions::record_trace
  std::vector<std::string> outputs;  // files written: "PATH (what it holds)" (not in format_run_text: the CLI says them on stderr)
  // Random bytes OpenSSL drew outside every seeded stream during the run
  // (tls::unscoped_random_bytes()); non-zero means the run is not reproducible.
  uint64_t unscoped_random_bytes = 0;
  // Tracing (when any sidecar had a tracer): spans, user requests and the
  // broken traces among them.
  std::optional<TraceReport> traces;
  std::optional<FailoverTimeline> failover;
  // The coverage report (mesh/coverage.h) of every configuration of the run.
  std::vector<std::string> not_modelled;
  bool passed() const;
  double time_compression() const { return wall_seconds > 0 ? virtual_time.to_seconds() / wall_seconds : 0; }
};

// Runs the scenario. Errors are problems that only show at run time (an
// unknown pod in an app or timeline entry, a capture that cannot be written).
Result<ScenarioRunResult> run_scenario(const Scenario& s, const RunOptions& options);

class MeshSimulation;

// ScenarioSession is run_scenario() one step at a time, for viewers that show
// a run as it happens (meshsim-gui): start() builds the mesh and the
// timeline, run_until() advances virtual time and publishes the verdicts whose
// evidence is complete (scenario.request), finish() produces the same result
// run_scenario() would. Same (scenario, seed) ⇒ the same stream, whatever the
// steps. Single-threaded, like the Simulator it owns.
class ScenarioSession {
 public:
  static Result<std::unique_ptr<ScenarioSession>> start(Scenario s, RunOptions options);
  ~ScenarioSession();
  ScenarioSession(const ScenarioSession&) = delete;
  ScenarioSession& operator=(const ScenarioSession&) = delete;

  // Advances to min(t, duration()); a t at or before now() does nothing.
  void run_until(Duration t);
  Duration now() const;
  Duration duration() const;
  bool at_end() const { return now() >= duration(); }
  const Scenario& scenario() const;
  MeshSimulation& mesh();
  // The world the sidecars ran with at virtual time t (a timeline apply takes
  // effect when its push reaches them).
  std::shared_ptr<const mesh::World> world_at(Duration t) const;
  // Judges what is still pending and returns the run's result; call once.
  Result<ScenarioRunResult> finish();

 private:
  struct Impl;
  explicit ScenarioSession(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  bool finished_ = false;
};

std::string format_fingerprint(uint64_t fp);
// Human-readable report: story, edge table, expectations, footer.
std::string format_run_text(const ScenarioRunResult& r);
std::string format_run_json(const ScenarioRunResult& r);

}  // namespace meshsim::sim
