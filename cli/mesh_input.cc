#include "cli/mesh_input.h"

#include <cstdio>

#include "cli/verb.h"
#include "mesh/loader.h"
#include "mesh/mesh_config.h"

namespace meshsim::cli {

std::optional<mesh::World> load_world(const MeshInput& in) {
  mesh::LoadResult lr = mesh::load_paths(in.paths);
  std::vector<mesh::Diagnostic> diags = std::move(lr.diagnostics);
  mesh::MeshConfig mc = mesh::resolve_mesh_config(lr.resources, diags);
  if (!in.mesh_config_file.empty()) mesh::apply_mesh_config_file(in.mesh_config_file, mc, diags);
  bool errors = mesh::has_errors(diags);
  std::optional<mesh::World> world;
  if (!errors) {
    world = mesh::build_world(std::move(lr.resources), mc, diags);
    errors = mesh::has_errors(diags);
  }
  mesh::sort_diagnostics(diags);
  for (const auto& d : diags) {
    if (d.severity == mesh::Severity::kError || in.verbose) std::fprintf(stderr, "%s\n", d.format().c_str());
  }
  if (errors) {
    print_error("the manifests have errors (see above); run 'meshsim analyze' for the full report");
    return std::nullopt;
  }
  if (lr.stats.objects == 0) {
    print_error("no Kubernetes or Istio objects found in the given paths");
    return std::nullopt;
  }
  return world;
}

const mesh::WorldPod* resolve_pod(const mesh::World& w, const std::string& ref) {
  std::string ns = "default", name = ref;
  if (size_t slash = ref.find('/'); slash != std::string::npos) {
    ns = ref.substr(0, slash);
    name = ref.substr(slash + 1);
  }
  if (const mesh::WorldPod* p = w.find_pod(ns, name)) return p;
  for (mesh::Kind k : {mesh::Kind::kDeployment, mesh::Kind::kStatefulSet, mesh::Kind::kDaemonSet, mesh::Kind::kReplicaSet}) {
    auto pods = w.pods_of_workload(k, ns, name);
    if (!pods.empty()) return pods.front();
  }
  auto by_app = w.pods_matching(ns, mesh::Labels{{"app", name}});
  if (!by_app.empty()) return by_app.front();
  std::string known;
  int shown = 0;
  for (const auto& p : w.pods()) {
    if (p.namespace_ != ns) continue;
    if (shown++ < 12) known += (known.empty() ? "" : ", ") + p.name;
  }
  print_error("no pod, workload or app \"" + name + "\" in namespace \"" + ns + "\"" +
              (known.empty() ? std::string(" (the namespace has no pods)") : " (pods there: " + known + ")"));
  return nullptr;
}

}  // namespace meshsim::cli
