// The coverage report: every object or field of the input that changes what
// Istio does but that meshsim does not simulate, with where it is. Every
// answer (probe, run, proxy-config, conformance, analyze) names these, so a
// prediction says where it stops instead of silently assuming the feature is
// absent. The list shrinks as the engines grow; mesh/tests/coverage_test.cc
// keeps it equal to what the control plane and engine really ignore.
#pragma once

#include <string>
#include <vector>

#include "mesh/diagnostics.h"
#include "mesh/resources.h"

namespace meshsim::mesh {

struct NotModelled {
  std::string kind;      // "AuthorizationPolicy"
  std::string group;     // "security.istio.io" ("" for the core API)
  std::string object;    // "default/deny-all"
  std::string field;     // "" = the whole object; else its path ("spec.trafficPolicy.outlierDetection")
  std::string effect;    // what is not simulated
  Location location;

  // "not modelled: AuthorizationPolicy default/deny-all (security.istio.io) — its effect is not simulated (…)"
  std::string line() const;
};

struct MeshConfig;

// `mc`: the mesh config the run uses (its extension providers decide
// whether a CUSTOM policy is simulated); nullptr: as if it had none.
std::vector<NotModelled> not_modelled(const ResourceSet& rs, const MeshConfig* mc = nullptr);

}  // namespace meshsim::mesh
