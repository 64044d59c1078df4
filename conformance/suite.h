// The conformance harness: finds scenario files, runs them (in parallel worker
// processes, each scenario in its own process so runs never share state),
// checks pinned fingerprints — naming the first event where a run diverges
// from its stored reference trace — and produces a reports::RunRecord for
// JUnit, the conformance report and the SQLite store.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "proxy/base/result.h"
#include "reports/run_record.h"

namespace meshsim::reports {
class ResultStore;
}

namespace meshsim::conformance {

struct CaseSpec {
  std::string path;      // as found
  std::string suite;     // the directory the case was found under (its name), or the file's directory
  std::string relative;  // path relative to the suite root
};

// Scenario files (*.yaml, *.yml) under the given files/directories, sorted;
// directories are searched recursively. Errors: a path that does not exist,
// or no scenario found.
Result<std::vector<CaseSpec>> discover(const std::vector<std::string>& inputs);

struct Shard {
  int index = 1;  // 1-based
  int count = 1;
};
// Parses "I/N" (1 <= I <= N).
Result<Shard> parse_shard(const std::string& text);
std::vector<CaseSpec> select_shard(const std::vector<CaseSpec>& cases, Shard s);

struct SuiteOptions {
  int jobs = 2;
  bool update_fingerprints = false;
  reports::ResultStore* store = nullptr;  // reference traces (optional)
  std::function<void(const reports::CaseResult&)> on_case;  // progress: called as each case finishes
  // Captures: when set, every case writes <capture_dir>/<suite>/<name>.pcap
  // (the wire, like `run --pcap`) and <name>.keys (its TLS key log).
  std::string capture_dir;
  std::string capture_filter;  // BPF filter for those captures
  // Scenarios are loaded strictly: an unknown field is an error (the case is
  // an input error), not a warning (`conformance --no-strict` relaxes it).
  bool strict = true;
};

struct SuiteRun {
  reports::RunRecord record;
  bool input_errors = false;  // a scenario file was invalid (exit 2)
  std::vector<std::string> messages;  // located scenario errors, fingerprint updates
};

SuiteRun run_suite(const std::vector<CaseSpec>& cases, const SuiteOptions& options);

// Rewrites (or inserts) the scenario's `fingerprint:` line.
Status write_fingerprint(const std::string& path, const std::string& fingerprint);

// The first line where two traces differ, described for a person; "" if equal.
std::string first_divergence(const std::string& reference, const std::string& current);

}  // namespace meshsim::conformance
