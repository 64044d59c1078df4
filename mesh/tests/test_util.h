// Helpers for mesh/ tests: load YAML text into a ResourceSet / World and look
// for diagnostics.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "mesh/analyzers.h"
#include "mesh/loader.h"
#include "mesh/mesh_config.h"
#include "mesh/world.h"

namespace meshsim::mesh::testing {

struct Loaded {
  ResourceSet rs;
  std::vector<Diagnostic> diags;
};

inline Loaded load(std::string_view yaml, std::string_view file = "test.yaml") {
  Loaded l;
  load_text(yaml, file, l.rs, l.diags);
  return l;
}

struct Built {
  World world;
  std::vector<Diagnostic> diags;
};

inline Built build(std::string_view yaml, const World* previous = nullptr) {
  Loaded l = load(yaml);
  MeshConfig mc = resolve_mesh_config(l.rs, l.diags);
  World w = build_world(std::move(l.rs), std::move(mc), l.diags, previous);
  return Built{std::move(w), std::move(l.diags)};
}

inline std::vector<Diagnostic> with_code(const std::vector<Diagnostic>& diags, std::string_view code) {
  std::vector<Diagnostic> out;
  for (const auto& d : diags)
    if (d.code == code) out.push_back(d);
  return out;
}

inline std::string dump(const std::vector<Diagnostic>& diags) {
  std::string s;
  for (const auto& d : diags) s += std::string(severity_name(d.severity)) + " [" + d.code + "] " + d.format() + "\n";
  return s;
}

inline size_t error_count(const std::vector<Diagnostic>& diags) {
  size_t n = 0;
  for (const auto& d : diags)
    if (d.severity == Severity::kError) ++n;
  return n;
}

}  // namespace meshsim::mesh::testing
