// TraceRecorder listens to the spans the sidecars finish (SpanObservation)
// and to what the applications did (app outcomes, the calls server apps made
// while handling a request), and turns them into
//  * the trace file: the sampled spans as Zipkin v2 JSON (the body Envoy's
//    Zipkin tracer POSTs to /api/v2/spans, docs/istio/telemetry.md §3.6) or
//    as OTLP JSON (ExportTraceServiceRequest, §5.2);
//  * the broken-trace report: for every user request (a client app's
//    request) the tree of hops it caused, joined by connection and request
//    ordinal — never by time — and, where the tree holds more than one trace
//    id, the hop where propagation stopped and the headers that were not
//    forwarded; and CLIENT spans whose server sidecar saw the request on a
//    TCP filter chain (spans only on the outbound side).
// It reads only observations (the engine's own spans); it never recomputes a
// tracing decision from configuration.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "proxy/base/result.h"
#include "sim/observation.h"

namespace meshsim::sim {

// One span as recorded (owned copies).
struct RecordedSpan {
  std::string pod;  // "ns/name" of the sidecar
  uint64_t trace_id_high = 0, trace_id = 0, span_id = 0, parent_id = 0;
  bool has_parent = false;
  bool sampled = false;
  bool client = false;
  std::string name;
  int64_t start_ns = 0, end_ns = 0;  // virtual time
  std::string service_name, local_ip;
  std::vector<std::pair<std::string, std::string>> tags;
  uint64_t downstream_connection = 0, downstream_request = 0;
  uint64_t upstream_connection = 0, upstream_request = 0;
  std::string trace_id_hex() const;
};

// What one user request turned into.
struct TraceTree {
  std::string client;       // "ns/pod" or "external/<name>"
  std::string target;
  uint64_t request_index = 0;
  int64_t at_ns = 0;
  size_t spans = 0;
  uint32_t sampled_spans = 0;
  std::vector<std::string> trace_ids;  // distinct, in order of appearance
  bool sampled_any = false;
  // "reviews-v2 (default/reviews-v2-…) did not forward x-b3-traceid, x-b3-spanid
  // to ratings:9080: new trace 3f…"; empty when the tree is one trace.
  std::vector<std::string> breaks;
};

// The size of one user request's tree (every request, for expectations).
struct TreeSize {
  std::string client;
  int64_t at_ns = 0;
  uint32_t spans = 0, sampled_spans = 0, traces = 0;
};

struct TraceReport {
  uint64_t spans = 0;          // every span the sidecars finished
  uint64_t sampled_spans = 0;  // those reported to the tracer (written to the trace file)
  uint64_t user_requests = 0;  // client-app requests that produced at least one span
  uint64_t broken = 0;         // of those, how many became more than one trace
  std::vector<TraceTree> trees;  // the broken ones first, then a sample of whole ones (at most `keep`)
  std::vector<TreeSize> all;     // every user request's tree, in completion order
  // Distinct findings with counts, for the story: "reviews-v2 did not forward …: 412 requests".
  std::vector<std::pair<std::string, uint64_t>> findings;
  std::vector<std::pair<std::string, uint64_t>> outbound_only;  // spans only on the outbound side
};

class TraceRecorder {
 public:
  enum class Format : uint8_t { kZipkin, kOtlp };
  // keep_tags: keep every span's tags (needed only to write the trace file).
  explicit TraceRecorder(Format format = Format::kZipkin, bool keep_tags = true) : format_(format), keep_tags_(keep_tags) {}
  // Whether any sidecar finished a span (nothing else is kept until then).
  bool any() const { return !spans_.empty(); }
  // Feed every observation of the run.
  void on_observation(const Observation& o);
  // The report over everything seen so far.
  TraceReport report(size_t keep = 20) const;
  // The sampled spans as a trace file (written atomically: FILE.partial, then renamed).
  Status write(const std::string& path) const;
  std::string zipkin_json() const;
  std::string otlp_json() const;
  uint64_t sampled_spans() const;

 private:
  struct AppCall {
    std::string pod, workload, target;
    uint64_t inbound_connection = 0, inbound_request = 0;
    uint64_t outbound_connection = 0, outbound_request = 0;
    std::vector<std::string> dropped;  // trace headers received and not forwarded
  };
  struct Outcome {
    std::string client, target;
    uint64_t connection = 0, ordinal = 0, request_index = 0;
    int64_t at_ns = 0;
  };
  Format format_;
  bool keep_tags_;
  std::vector<RecordedSpan> spans_;
  std::vector<AppCall> calls_;
  std::vector<Outcome> outcomes_;
  std::map<uint64_t, uint64_t> outcome_ordinal_;  // connection → requests seen on it
  // Inbound TCP chains: downstream connection → "ns/pod: <filter chain> (<why>)".
  std::map<uint64_t, std::string> tcp_inbound_;
};

}  // namespace meshsim::sim
