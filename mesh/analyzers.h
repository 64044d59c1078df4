// The analyzers of `meshsim analyze`: checks over a World that find
// configurations which load fine but will misbehave at runtime (a plaintext
// client hanging on a PERMISSIVE MySQL port, a DestinationRule sending
// plaintext to a STRICT workload, a subset nobody defined, …). Each finding is
// a Diagnostic with a stable code MSxxxx, mapped to Istio's IST code where one
// exists, documented in docs/analyzers.md with what happens at runtime and how
// to fix it. Deterministic: findings come out sorted by location.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "mesh/diagnostics.h"
#include "mesh/loader.h"
#include "mesh/world.h"

namespace meshsim::mesh {

struct AnalyzerCode {
  const char* code;        // "MS0101"
  const char* name;        // "ReferencedResourceNotFound"
  const char* istio_code;  // "IST0101" or "" when Istio has none
  Severity severity;       // default level
  const char* summary;     // one line
};

// Every code meshsim can emit (schema codes MS00xx and analyzer codes MS01xx).
const std::vector<AnalyzerCode>& analyzer_codes();
const AnalyzerCode* find_analyzer_code(std::string_view code);

// Runs every analyzer over `w`.
std::vector<Diagnostic> analyze_world(const World& w);

// The whole `meshsim analyze` pipeline: load `paths` ("-" = `stdin_stream`),
// resolve the mesh config (manifests, then `mesh_config_file` if not empty),
// build the world, run the analyzers. Diagnostics of every stage, sorted.
struct AnalysisResult {
  std::vector<Diagnostic> diagnostics;
  LoadStats stats;
  // True if any Error is an input error (MS00xx: unreadable, invalid YAML,
  // schema, world derivation) — `meshsim analyze` then exits 2.
  bool input_errors = false;
};
// `inject_namespaces`: --inject-namespace (MeshConfig::inject_namespaces).
AnalysisResult analyze_inputs(const std::vector<std::string>& paths, const std::string& mesh_config_file,
                              std::istream* stdin_stream = nullptr,
                              const std::vector<std::string>& inject_namespaces = {});

}  // namespace meshsim::mesh
