// Renders diagnostics for `meshsim analyze`: a human log, JSON (one object per
// finding) and SARIF 2.1.0 (so GitHub code scanning annotates the PR line).
// Output order is the order of the vector (callers sort first). Paths in SARIF
// are emitted as given (relative paths stay relative to the repository root).
#pragma once

#include <string>
#include <vector>

#include "mesh/diagnostics.h"

namespace meshsim::mesh {

// One line per finding:
//   Error [MS0002] reviews.yaml:14:7: DestinationRule default/reviews: spec.trafficPolicy.tls.mode: unknown value …
// followed by a summary line.
std::string format_log(const std::vector<Diagnostic>& diags, size_t files_analyzed);

// {"findings":[{"level","code","istioCode","file","line","column","resource","path","message"}…],
//  "summary":{"errors","warnings","infos"}}
std::string format_json(const std::vector<Diagnostic>& diags);

// A SARIF 2.1.0 log with one run, rules for every code used.
std::string format_sarif(const std::vector<Diagnostic>& diags, const std::string& tool_version);

}  // namespace meshsim::mesh
