// Runs Google Benchmark binaries for `meshsim bench record` and gathers what a
// recording needs besides their JSON: the git state of a directory, the
// machine (CPU model from /proc/cpuinfo, online cores, uname -r, host name),
// the compiler and build type of a CMake build directory, and instructions
// retired by a short run of the binary (--benchmark_min_time=0: one iteration
// per benchmark, so the count is the same from run to run up to the timing
// code's own noise) — counted with perf_event_open where the kernel and the
// machine allow it, else by valgrind's callgrind (Ir) when it is installed.
// Runs child processes; blocks until they end.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "proxy/base/result.h"
#include "reports/bench_json.h"
#include "reports/bench_model.h"

namespace meshsim::reports {

struct GitState {
  std::string revision;  // full SHA of HEAD, "" outside a repository
  bool dirty = false;    // tracked files modified
};
GitState git_state(const std::string& directory);

// cpu_model, cores, kernel, host_name of this machine; compiler and build type empty.
MachineInfo this_machine();

struct BuildInfo {
  std::string compiler;    // "GNU 12.2.0"
  std::string build_type;  // "RelWithDebInfo"
};
// From the CMakeCache.txt of the build directory that holds `binary` (searched
// upwards from its directory), if any.
std::optional<BuildInfo> cmake_build_info(const std::string& binary);

enum class InstructionCounter { kAuto, kPerf, kCallgrind, kOff };
// Whether this process may count its children's user-space instructions
// with perf_event_open (kernel.perf_event_paranoid and a hardware PMU; VMs
// often have none).
bool perf_instructions_available();
bool callgrind_available();

struct BenchRunOptions {
  int repetitions = 5;
  std::string filter;                   // --benchmark_filter, "" = all
  std::vector<std::string> extra_args;  // passed to every binary
  InstructionCounter instructions = InstructionCounter::kAuto;
  std::string save_json_dir;            // keep each binary's JSON there as <binary>.json
};

struct BenchRunOutput {
  BenchJsonFile json;                  // samples with source = the binary's name
  std::optional<double> instructions;  // of the short run
  std::string instructions_tool;       // "perf" / "callgrind" / ""
  double wall_seconds = 0;             // of the measured run
};

// Runs `binary` with --benchmark_out (JSON), --benchmark_repetitions and the
// filter; its console output goes to stderr. A binary that fails, or whose
// JSON is malformed, is an error naming it.
Result<BenchRunOutput> run_benchmark_binary(const std::string& binary, const BenchRunOptions& options);

}  // namespace meshsim::reports
