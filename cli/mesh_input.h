// Loading the user's manifests for verbs that simulate (proxy-config, probe,
// run): read paths (files, directories, "-"), resolve the mesh config (plus
// --mesh-config and --inject-namespace), derive the World. Input errors are
// printed the way `meshsim analyze` prints them (file:line:column: resource:
// path: message) and make the verb exit 2. Warnings that change the answer —
// pods without a sidecar because their namespace has no Namespace object in
// the input (MS0124), ignored unknown kinds (MS0004) — are printed always; the
// other warnings only with --verbose (a count says how many were hidden).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mesh/diagnostics.h"
#include "mesh/loader.h"
#include "mesh/world.h"

namespace CLI {
class App;
}

namespace meshsim::cli {

struct MeshInput {
  std::vector<std::string> paths;
  std::string mesh_config_file;
  std::vector<std::string> inject_namespaces;
  // --jwks URI=FILE: the JWKS document istiod would fetch from a
  // RequestAuthentication's jwksUri (meshsim never reaches the network).
  std::vector<std::string> jwks;
  bool verbose = false;
};

// Declares --jwks URI=FILE on a verb.
void add_jwks_flag(CLI::App* sub, std::vector<std::string>& jwks);

// Declares --inject-namespace NS… on a verb.
void add_inject_namespace_flag(CLI::App* sub, std::vector<std::string>& namespaces);

// The derived world, or nullopt after printing the errors (exit 2).
std::optional<mesh::World> load_world(const MeshInput& in);

// load_world's steps after reading: --jwks, mesh config, injection, the
// world, diagnostics. `quiet` prints errors only (for worlds derived again
// from the same input, e.g. the what-if planner's variants).
std::optional<mesh::World> derive_world(mesh::LoadResult lr, const MeshInput& in, bool quiet = false);

// True for the warnings every verb shows without --verbose: they change what
// the simulation answers (no sidecar; an object ignored).
bool changes_the_answer(const mesh::Diagnostic& d);

// Prints the warnings of `diags` that changes_the_answer() (and with
// `verbose` all of them) to stderr, then "(N more warnings; -v shows them)".
void print_warnings(const std::vector<mesh::Diagnostic>& diags, bool verbose);

// "NS/NAME" or "NAME" (namespace "default") → a pod of the world: an exact
// pod name, else the first pod of a workload (Deployment, StatefulSet, …) of
// that name, else the first pod whose "app" label is NAME. Prints an error
// naming the closest match and listing the workloads that exist, and returns
// nullptr when nothing fits. `flag` prefixes the message ("--from").
const mesh::WorldPod* resolve_pod(const mesh::World& w, const std::string& ref, const std::string& flag = "");

// "default/productpage (Deployment), default/ratings (Deployment), …" — the
// workloads and bare pods of the world, up to `limit`.
std::string list_workloads(const mesh::World& w, size_t limit = 20);

}  // namespace meshsim::cli
