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
