// The benchmark history model: a BenchRecording is one `meshsim bench record`
// — every repetition of every benchmark it ran or ingested (BenchSample), with
// the revision, machine and context they were measured on. Values are plain
// data; reports/bench_store.h persists them, reports/bench_json.h reads Google
// Benchmark's JSON into them. Times are always nanoseconds.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace meshsim::reports {

struct BenchSample {
  std::string source;  // the benchmark binary or JSON file it came from (basename)
  std::string name;    // Google Benchmark's run_name, e.g. "BM_KernelHold/1000"
  // "iteration" (one repetition), "aggregate" (mean/median/stddev/cv of the
  // repetitions, as the JSON reported it) or "process" (a whole binary run:
  // wall time and instructions retired).
  std::string run_type = "iteration";
  std::string aggregate;  // for aggregates: "mean", "median", "stddev", "cv", …
  int64_t repetition = 0;
  int64_t threads = 1;
  int64_t iterations = 0;
  std::optional<double> real_time_ns;
  std::optional<double> cpu_time_ns;
  std::string label;
  // User counters (events_per_s, allocs_per_event, …) and measured extras
  // ("instructions"), by name.
  std::vector<std::pair<std::string, double>> metrics;
};

// The machine a recording ran on. id() hashes every field but host_name, so
// CI runners of one kind (same CPU, cores, kernel, compiler, build type) share
// a baseline however their hosts are named.
struct MachineInfo {
  std::string cpu_model;
  int64_t cores = 0;
  std::string kernel;      // uname -r
  std::string compiler;    // "GNU 12.2.0"
  std::string build_type;  // "RelWithDebInfo"
  std::string host_name;
  std::string id() const;
};

struct BenchRecording {
  int64_t id = 0;  // set by the store
  std::string recorded_at;  // RFC 3339
  std::string git_revision;
  bool git_dirty = false;
  MachineInfo machine;
  std::string command;
  std::string context_json;  // {"user": {K: V}, "sources": {source: Google Benchmark context}}
  std::string instructions_tool;  // "perf", "callgrind" or "" (not measured)
  std::vector<BenchSample> samples;
};

}  // namespace meshsim::reports
