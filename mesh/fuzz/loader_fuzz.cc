// libFuzzer target for the manifest loader: arbitrary bytes go through the
// whole `meshsim analyze` pipeline (YAML tree, decoders, mesh config, world
// derivation, analyzers, message formatting). Any crash, sanitizer report,
// timeout or runaway allocation is a bug: bad input must only ever produce
// diagnostics. Built by the `fuzz` preset (clang, MESHSIM_BUILD_FUZZ=ON);
// run by ci/fuzz-smoke.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "mesh/analyzers.h"
#include "mesh/loader.h"
#include "mesh/mesh_config.h"
#include "mesh/world.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace meshsim::mesh;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  ResourceSet rs;
  std::vector<Diagnostic> diags;
  load_text(text, "fuzz.yaml", rs, diags);
  MeshConfig mc = resolve_mesh_config(rs, diags);
  World w = build_world(std::move(rs), std::move(mc), diags);
  for (auto& d : analyze_world(w)) diags.push_back(std::move(d));
  size_t total = 0;
  for (const auto& d : diags) total += d.format().size();
  return total == static_cast<size_t>(-1) ? 1 : 0;
}
