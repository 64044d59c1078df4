// The authorization findings of `meshsim analyze` (MS0113, MS0134, MS0135;
// docs/analyzers.md), split from mesh/analyzers.cc: they read the RBAC
// filters istiod generates (mesh/authz_translation.h) for every workload
// AuthorizationPolicies select. Internal to mesh/.
#pragma once

#include <functional>
#include <optional>
#include <set>
#include <string>

#include "mesh/diagnostics.h"
#include "mesh/world.h"

namespace meshsim::mesh {

// add(code, object, field path, message, severity override)
using AddFinding = std::function<void(const char*, const Object&, const std::string&, std::string, std::optional<Severity>)>;

// Istio's authorization analyzer's namespace pattern: "*", "prefix*",
// "*suffix", or an exact name compared case-insensitively.
bool namespace_pattern_matches(const std::string& ns, const std::string& pattern);

// `reported`: keys of findings already made (shared with the other analyzers).
void analyze_authorization(const World& w, const AddFinding& add, std::set<std::string>& reported);

}  // namespace meshsim::mesh
