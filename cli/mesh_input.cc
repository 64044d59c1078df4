#include "cli/mesh_input.h"

#include "mesh/coverage.h"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <set>

#include "cli/verb.h"
#include "mesh/analyzers.h"
#include "mesh/loader.h"
#include "mesh/mesh_config.h"
#include "mesh/suggest.h"

#include <fstream>
#include <iterator>

#include "proxy/tls/jwt.h"

namespace meshsim::cli {

void add_inject_namespace_flag(CLI::App* sub, std::vector<std::string>& namespaces) {
  sub->add_option("--inject-namespace", namespaces,
                  "Treat these namespaces as labelled istio-injection=enabled (their pods get sidecars) without\n"
                  "a Namespace object in the input — Istio's samples ship none. Repeatable or comma-separated.")
      ->option_text("NS…")
      ->delimiter(',')
      ->allow_extra_args(false);  // one namespace (or a comma list) per flag: `run --inject-namespace default FILE`
}

void add_jwks_flag(CLI::App* sub, std::vector<std::string>& jwks) {
  sub->add_option("--jwks", jwks,
                  "URI=FILE: the JWKS a RequestAuthentication's jwksUri serves (istiod fetches it; meshsim reads\n"
                  "FILE instead of the network). Repeatable. Without it such a rule verifies no token.")
      ->option_text("URI=FILE");
}

bool changes_the_answer(const mesh::Diagnostic& d) {
  if (d.severity != mesh::Severity::kWarning) return false;
  return d.code == "MS0124" || d.code == "MS0137" || (d.code == "MS0004" && d.message.rfind("unknown kind", 0) == 0);
}

void print_warnings(const std::vector<mesh::Diagnostic>& diags, bool verbose) {
  size_t hidden = 0;
  for (const auto& d : diags) {
    if (d.severity != mesh::Severity::kWarning) continue;
    if (verbose || changes_the_answer(d)) std::fprintf(stderr, "%s\n", d.format().c_str());
    else ++hidden;
  }
  if (hidden > 0) {
    std::fprintf(stderr, "(%zu more warning%s about the manifests; -v shows them)\n", hidden, hidden == 1 ? "" : "s");
  }
}

std::optional<mesh::World> load_world(const MeshInput& in) { return derive_world(mesh::load_paths(in.paths), in); }

std::optional<mesh::World> derive_world(mesh::LoadResult lr, const MeshInput& in, bool quiet) {
  for (const std::string& spec : in.jwks) {
    size_t eq = spec.rfind('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size()) {
      print_error("--jwks " + spec + ": expected URI=FILE");
      return std::nullopt;
    }
    std::string uri = spec.substr(0, eq), file = spec.substr(eq + 1);
    std::ifstream f(file);
    if (!f) {
      print_error("--jwks " + uri + ": cannot read " + file);
      return std::nullopt;
    }
    std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    if (auto k = tls::Jwks::parse(text); !k.ok()) {
      print_error("--jwks " + uri + ": " + file + " is not a usable JWKS: " + k.message());
      return std::nullopt;
    }
    lr.resources.jwks_documents[uri] = std::move(text);
  }
  std::vector<mesh::Diagnostic> diags = std::move(lr.diagnostics);
  mesh::MeshConfig mc = mesh::resolve_mesh_config(lr.resources, diags);
  if (!in.mesh_config_file.empty()) mesh::apply_mesh_config_file(in.mesh_config_file, mc, diags);
  mc.inject_namespaces.insert(in.inject_namespaces.begin(), in.inject_namespaces.end());
  bool errors = mesh::has_errors(diags);
  std::optional<mesh::World> world;
  if (!errors) {
    world = mesh::build_world(std::move(lr.resources), mc, diags);
    errors = mesh::has_errors(diags);
  }
  if (world && !errors) {
    // Pods without a sidecar only because their namespace has no Namespace
    // object in the input (every Istio sample): every verb says so.
    for (auto& d : mesh::analyze_world(*world)) {
      if (d.code != "MS0124") continue;
      d.message += " Or tell meshsim: --inject-namespace " + d.resource.substr(d.resource.find(' ') + 1) + ".";
      diags.push_back(std::move(d));
    }
  }
  mesh::sort_diagnostics(diags);
  for (const auto& d : diags) {
    if (d.severity == mesh::Severity::kError || (d.severity == mesh::Severity::kInfo && in.verbose)) {
      std::fprintf(stderr, "%s\n", d.format().c_str());
    }
  }
  if (errors) {
    print_error("the manifests have errors (see above); run 'meshsim analyze' for the full report");
    return std::nullopt;
  }
  if (!quiet) print_warnings(diags, in.verbose);
  if (lr.stats.objects == 0) {
    print_error("no Kubernetes or Istio objects found in the given paths");
    return std::nullopt;
  }
  // The coverage report: what the input asks of Istio that meshsim does not
  // simulate (mesh/coverage.h), on every answer.
  if (quiet) return world;
  for (const auto& nm : mesh::not_modelled(world->resources(), &world->mesh_config())) std::fprintf(stderr, "%s\n", nm.line().c_str());
  for (const std::string& ns : in.inject_namespaces) {
    bool any = false;
    for (const auto& p : world->pods()) any = any || p.namespace_ == ns;
    if (!any) print_warning("--inject-namespace " + ns + ": no pods in that namespace");
  }
  return world;
}

std::string list_workloads(const mesh::World& w, size_t limit) {
  std::vector<std::string> items;
  std::set<std::string> seen;
  for (const auto& p : w.pods()) {
    std::string name = p.owner_name.empty() ? p.name : p.owner_name;
    std::string item = p.namespace_ + "/" + name + " (" + mesh::kind_name(p.owner_kind) + ")";
    if (seen.insert(item).second) items.push_back(item);
  }
  if (items.empty()) return "the manifests define no pods or workloads";
  std::string out;
  for (size_t i = 0; i < items.size() && i < limit; ++i) out += (i ? ", " : "") + items[i];
  if (items.size() > limit) out += ", … (" + std::to_string(items.size() - limit) + " more)";
  return out;
}

const mesh::WorldPod* resolve_pod(const mesh::World& w, const std::string& ref, const std::string& flag) {
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
  // What the user may have meant: every NS/NAME a reference could name.
  std::vector<std::string> names;
  for (const auto& p : w.pods()) {
    names.push_back(p.namespace_ + "/" + p.name);
    if (!p.owner_name.empty()) names.push_back(p.namespace_ + "/" + p.owner_name);
    if (auto app = p.labels.find("app"); app != p.labels.end()) names.push_back(p.namespace_ + "/" + app->second);
  }
  std::string guess = mesh::closest_match(ns + "/" + name, names);
  print_error((flag.empty() ? "" : flag + ": ") + "no pod, workload or app \"" + name + "\" in namespace \"" + ns + "\"" +
              (guess.empty() ? "" : " (did you mean " + guess + "?)") + "; workloads: " + list_workloads(w));
  return nullptr;
}

}  // namespace meshsim::cli
