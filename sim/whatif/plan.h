// `meshsim whatif --plan-strict NS…`: which clients would break if these
// namespaces went STRICT, and a safe order of steps — inject sidecars into
// the namespaces of plaintext clients that can have one, add a port-level
// PERMISSIVE exception for the ports that clients outside the mesh must still
// reach, then switch — each step verified by a what-if run against the
// starting point (no edge that worked may break). The breaks and their reasons
// are the engine's (truth tables, sim/whatif/truth_table.h); the planner only
// chooses the remedies and checks them.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "mesh/resources.h"
#include "mesh/world.h"
#include "proxy/base/result.h"
#include "sim/whatif/diff.h"
#include "sim/whatif/truth_table.h"

namespace meshsim::whatif {

// Derives a world from a resource set (the CLI's load path: mesh config,
// injection, diagnostics). Errors are bad input.
using WorldBuilder = std::function<Result<std::shared_ptr<const mesh::World>>(const mesh::ResourceSet&)>;

// A kubelet health probe (readiness, liveness, startup) of a pod, as the
// simulated kubelet saw it after the pods settled (sim/runtime: probes are
// rewritten to the agent's status port unless rewriteAppHTTPProbers is off).
struct HealthProbe {
  std::string id;      // "kubelet/ns/pod/container/readiness"
  std::string pod;     // "ns/pod"
  std::string target;  // "10.244.1.7:8080"
  bool ok = false;
  std::string error;   // what the kubelet's client saw when it failed
};
std::vector<HealthProbe> health_probes(std::shared_ptr<const mesh::World> w, uint64_t seed);

struct PlanStep {
  std::string title;   // "Inject sidecars into namespace legacy"
  std::string why;     // which edges need it
  std::string action;  // YAML to apply or a command
  Comparison verified;  // the what-if run of everything up to this step vs. the start
  // Health probes that passed at the start and fail after this step.
  std::vector<HealthProbe> broken_probes;
  bool safe() const { return verified.broken() == 0 && broken_probes.empty(); }
};

struct StrictPlan {
  std::vector<std::string> namespaces;
  Comparison naive;  // switching to STRICT right away
  std::vector<HealthProbe> naive_broken_probes;
  std::vector<PlanStep> steps;
  bool safe() const;  // every step verified without a broken edge
};

Result<StrictPlan> plan_strict(const mesh::ResourceSet& base, const std::vector<std::string>& namespaces,
                               const WorldBuilder& build, const TableOptions& options);

std::string plan_text(const StrictPlan& p);
std::string plan_markdown(const StrictPlan& p);

}  // namespace meshsim::whatif
