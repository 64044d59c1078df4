// RunRecord is what one `meshsim conformance` (or `meshsim run`) invocation
// produced: the cases it ran, each with its expectations, fingerprints and
// timing. reports/ turns it into JUnit XML, a conformance report and rows of
// the SQLite result store; it never recomputes verdicts.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace meshsim::reports {

enum class CaseStatus { kPassed, kFailed, kSkipped, kError };
const char* to_string(CaseStatus s);

struct ExpectationResult {
  std::string name;
  std::string kind;      // "outcome", "client_error", "encrypted", "identity", "latency", "fingerprint", …
  bool passed = false;
  std::string expected;  // human-readable: "ok ratio >= 0.99"
  std::string actual;    // human-readable: "ok ratio 0.42 (21/50)"
  std::string message;   // extra detail for a failure
};

// One client → target edge of a case's run, as the runner summarised it.
struct EdgeRecord {
  std::string from, target, protocol;  // "ns/pod" or "external/<name>"; as the app addressed it
  uint64_t requests = 0, ok = 0;
  uint64_t judged = 0, mtls = 0;  // requests whose hop could be judged, and those over mTLS
  double p50_ms = 0, p99_ms = 0;
  std::string failures;  // "reset×12, timeout×3"
  // Latency histograms (schema version 5): the buckets' upper bounds, and per
  // bucket (non-cumulative, one more for the overflow) the successful and the
  // failed requests. Empty when the run did not record them.
  std::vector<double> latency_le_ms;
  std::vector<uint64_t> latency_ok, latency_failed;
};

// One line of a case's story (what changed, who broke, when and why).
struct StoryRecord {
  double at_seconds = 0;  // virtual time
  std::string text;
};

struct CaseResult {
  std::string suite;      // "faq"
  std::string classname;  // stable: "<suite>.<scenario name>"
  std::string name;       // stable: the scenario name
  std::string file;       // scenario file, relative to the suite root
  std::string profile;    // "MESH-MTLS", "MESH-PROTOCOL", …
  CaseStatus status = CaseStatus::kPassed;
  std::string message;    // why skipped / first failure / error text
  uint64_t seed = 0;
  std::string fingerprint;         // "0x…" of this run
  std::string pinned_fingerprint;  // from the scenario, "" if none
  double virtual_seconds = 0;
  double wall_seconds = 0;
  uint64_t events = 0;
  std::vector<ExpectationResult> expectations;
  // The coverage report of the case's mesh: what its verdicts do not account for.
  std::vector<std::string> not_modelled;
  // What the scenario did, for the report's per-run pages (schema version 4).
  std::vector<EdgeRecord> edges;
  std::vector<StoryRecord> story;

  double time_compression() const { return wall_seconds > 0 ? virtual_seconds / wall_seconds : 0; }
};

struct RunRecord {
  std::string meshsim_version;
  std::string git_revision;
  std::string command;     // the command line
  std::string started_at;  // RFC 3339 wall-clock time (metadata only)
  std::string shard;       // "1/2" or ""
  double wall_seconds = 0;
  std::vector<CaseResult> cases;

  size_t count(CaseStatus s) const;
};

}  // namespace meshsim::reports
