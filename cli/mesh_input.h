// Loading the user's manifests for verbs that simulate (proxy-config, probe,
// run): read paths (files, directories, "-"), resolve the mesh config (plus
// --mesh-config), derive the World. Input errors are printed the way
// `meshsim analyze` prints them (file:line:column: resource: path: message)
// and make the verb exit 2; warnings are printed only with --verbose.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mesh/world.h"

namespace meshsim::cli {

struct MeshInput {
  std::vector<std::string> paths;
  std::string mesh_config_file;
  bool verbose = false;
};

// The derived world, or nullopt after printing the errors (exit 2).
std::optional<mesh::World> load_world(const MeshInput& in);

// "NS/NAME" or "NAME" (namespace "default") → a pod of the world: an exact
// pod name, else the first pod of a workload (Deployment, StatefulSet, …) of
// that name, else the first pod whose "app" label is NAME. Prints an error
// listing close matches and returns nullptr when nothing fits.
const mesh::WorldPod* resolve_pod(const mesh::World& w, const std::string& ref);

}  // namespace meshsim::cli
