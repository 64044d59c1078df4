// GraphModel is what meshsim-gui draws, without Qt: the mesh's namespaces,
// workloads and services as nodes, one edge per (source workload →
// destination service) with counters, and the timeline's marks. It is a view
// of the event stream: topology comes from the mesh::World the run started
// with, and everything that happened comes from the runner's published
// observations (scenario.request verdicts, scenario.action timeline actions),
// applied in stream order with apply(). Nothing is recomputed from
// configuration: an edge's mTLS is the share of its requests the runner
// judged mTLS from the wire bytes (docs/gui.md).
//
// Determinism: nodes are created in World order (namespaces sorted), edges in
// the order their first request arrives, so the same stream gives the same
// model, the same layout and the same exports. Single-threaded.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace meshsim::mesh {
class World;
}

namespace meshsim::gui {

enum class NodeKind : uint8_t { kWorkload, kService, kExternal };
const char* to_string(NodeKind k);

struct GraphNode {
  std::string id;   // "workload/ns/name", "service/ns/name", "external/name"
  NodeKind kind = NodeKind::kWorkload;
  std::string ns;   // "" for external nodes
  std::string name;
  int pods = 0;                   // workloads: scheduled pods
  bool sidecar = false;           // workloads: its pods run an injected sidecar
  bool ambient_label = false;     // istio.io/dataplane-mode=ambient (not simulated: meshsim runs sidecars)
  std::vector<std::string> pod_names;  // "ns/name", for the pod inspector
  std::vector<uint32_t> ports;    // services
};

struct GraphNamespace {
  std::string name;
  bool injection = false;  // any of its pods has a sidecar
  std::vector<size_t> nodes;
};

// How an edge's requests left the client pod, over a set of requests.
enum class MtlsState : uint8_t { kUnknown, kNone, kPartial, kFull };
const char* to_string(MtlsState s);
enum class Health : uint8_t { kIdle, kOk, kDegraded, kFailed };
const char* to_string(Health h);

// The runner's verdict on one request (RequestVerdictObservation), owned.
struct RequestRecord {
  int64_t published_ns = 0;  // when the verdict was published
  int64_t end_ns = 0;        // when the app saw the outcome
  // When the model counts it: end + the runner's evidence delay (5 ms), a
  // time that does not depend on how the run was stepped.
  int64_t at_ns() const;
  bool call = false;         // a server app's outbound call (else a scenario client)
  std::string client, from, target, protocol;
  std::string outcome;       // "ok", "reset", ... (AppOutcomeObservation names)
  int http_status = 0;
  std::string error;
  int64_t latency_ns = 0;
  uint64_t connection = 0;
  std::string wire;          // "mtls", "tls", "plaintext", "unjudged"
  std::string transition;    // "", "fails", "recovers"
  std::string why;
};

// A timeline action the runner played (ScenarioActionObservation).
struct ActionRecord {
  int64_t published_ns = 0;  // the action's time on the timeline
  int64_t at_ns() const { return published_ns; }
  std::string name;
  std::string category;  // "config", "fault"
  std::vector<std::string> details;
};

struct TimelineMark {
  enum class Kind : uint8_t { kConfig, kFault, kFailure, kRecovery };
  int64_t t_ns = 0;
  Kind kind = Kind::kConfig;
  std::string text;
  std::vector<std::string> details;
  int edge = -1;  // failures and recoveries: the edge
};
const char* to_string(TimelineMark::Kind k);

struct EdgeCounters {
  uint64_t requests = 0, ok = 0;
  uint64_t mtls = 0, tls = 0, plaintext = 0, unjudged = 0;
};

struct GraphEdge {
  size_t from = 0, to = 0;
  std::string protocol;
  std::vector<std::string> clients;  // scenario clients (or "calls from <pod>") on this edge, first-seen order
  EdgeCounters total;
  std::map<std::string, uint64_t> failures;  // outcome → count (whole run so far)
  uint64_t connections = 0;                  // distinct app connections
  std::string last_error;                    // the client's own words
  std::string why;                           // the latest failure's explanation (the story's)
  int64_t why_ns = -1;
  int64_t first_failure_ns = -1, last_failure_ns = -1;
  // Requests of the sliding window (published within kWindow of now).
  struct Recent {
    int64_t at_ns;
    int64_t latency_ns;
    bool ok;
    uint8_t wire;  // 0 unjudged, 1 plaintext, 2 tls, 3 mtls
  };
  std::deque<Recent> recent;
  std::vector<uint64_t> seen_connections;  // sorted
  // Bumped whenever the window changes (a request in or out): a view that
  // has seen this version only needs to recompute while a failure flashes.
  uint64_t version = 0;
  int64_t last_failure_at_ns = -1;  // at_ns of the window's latest failure
};

// What the view shows for one edge at the model's time.
struct EdgeView {
  double rate_per_s = 0;     // requests per second over the window
  double success = 0;        // ok share over the window (or the run when the window is empty)
  Health health = Health::kIdle;
  MtlsState mtls = MtlsState::kUnknown;
  double plaintext_share = 0;  // of the judged requests
  double mtls_share = 0;
  int64_t p50_ns = 0, p99_ns = 0;  // successful requests of the window
  bool flashing = false;           // a failure within the last second
  std::string label;               // two lines: "2.0 rps · 0% ok" / "plaintext · failed"
};

class GraphModel {
 public:
  static constexpr int64_t kWindowNs = 10'000'000'000;  // 10 s of virtual time
  static constexpr int64_t kFlashNs = 1'000'000'000;

  // Topology of `world` (kept alive by the model for resolving targets).
  explicit GraphModel(std::shared_ptr<const mesh::World> world);

  // Applies one record; records must come in stream order (at_ns()
  // non-decreasing). Advances the clock to the record's time.
  void apply(const RequestRecord& r);
  void apply(const ActionRecord& a);
  // Moves the clock to t (>= now): expires the windows.
  void advance(int64_t t_ns);
  int64_t now_ns() const { return now_ns_; }

  const std::vector<GraphNode>& nodes() const { return nodes_; }
  const std::vector<GraphNamespace>& namespaces() const { return namespaces_; }
  const std::vector<GraphEdge>& edges() const { return edges_; }
  const std::vector<TimelineMark>& marks() const { return marks_; }
  // Services → the workloads behind them (from the World's endpoints).
  const std::vector<std::pair<size_t, size_t>>& backing() const { return backing_; }
  int find_node(std::string_view id) const;
  // The edge from a workload (or external) node to a service node, -1 if none yet.
  int find_edge(size_t from, size_t to) const;
  EdgeView edge_view(size_t e) const;
  // Increments on every change; views cache on it.
  uint64_t revision() const { return revision_; }
  const mesh::World& world() const { return *world_; }

  // The graph at now(): Graphviz DOT and JSON (docs/gui.md#export).
  std::string to_dot() const;
  std::string to_json() const;

 private:
  size_t node_for_pod(std::string_view from);
  size_t node_for_target(std::string_view target, std::string_view client_ns);
  size_t add_node(GraphNode n);

  std::shared_ptr<const mesh::World> world_;
  std::vector<GraphNode> nodes_;
  std::vector<GraphNamespace> namespaces_;
  std::vector<GraphEdge> edges_;
  std::vector<TimelineMark> marks_;
  std::vector<std::pair<size_t, size_t>> backing_;
  std::unordered_map<std::string, size_t> node_index_;
  std::unordered_map<std::string, size_t> pod_node_;       // "ns/pod" → workload node
  std::unordered_map<std::string, size_t> target_node_;    // "ns|target" → destination node (cache)
  std::unordered_map<uint64_t, size_t> edge_index_;        // from << 32 | to
  int64_t now_ns_ = 0;
  uint64_t revision_ = 0;
};

std::string format_rate(double per_s);
std::string format_latency(int64_t ns);

}  // namespace meshsim::gui
