// libFuzzer target for the scenario loader: arbitrary bytes as a scenario
// file (docs/formats/scenario.md) — YAML tree, scenario fields with "did you
// mean", inline and referenced manifests, timeline, expectations — loaded
// leniently and strictly. Any crash, sanitizer report or hang is a bug: bad
// input must only ever produce located diagnostics. Referenced files resolve
// against a directory that does not exist. ci/fuzz-smoke runs it.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "sim/scenario/scenario.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace meshsim::sim;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  size_t total = 0;
  for (bool strict : {false, true}) {
    ScenarioLoadOptions o;
    o.strict = strict;
    ScenarioLoad l = load_scenario_text(text, "fuzz-scenario.yaml", "/nonexistent-meshsim-fuzz", o);
    for (const auto& d : l.diagnostics) total += d.format().size();
    if (l.scenario && meshsim::mesh::has_errors(l.diagnostics)) __builtin_trap();  // a scenario despite errors
  }
  return total == static_cast<size_t>(-1) ? 1 : 0;
}
