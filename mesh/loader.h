// The loader reads Kubernetes + Istio manifests into a ResourceSet: files,
// directories (recursively, *.yaml and *.yml, in sorted path order) and "-"
// for standard input; multi-document files; `kind: List` (items are decoded
// as objects of their own). Every problem — unreadable files, YAML syntax,
// schema violations, unknown kinds and fields — becomes a Diagnostic; loading
// never stops at the first one. Objects with schema errors are not added to
// the set (so the world and the analyzers see only valid objects).
//
// Deterministic: the same inputs give the same objects in the same order with
// the same load_order. Not thread-safe per call; independent calls may run
// concurrently.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include "mesh/diagnostics.h"
#include "mesh/resources.h"
#include "mesh/yaml_tree.h"

namespace meshsim::mesh {

struct LoadStats {
  uint64_t files = 0;
  uint64_t documents = 0;
  uint64_t objects = 0;
  uint64_t bytes = 0;
};

struct LoadResult {
  ResourceSet resources;
  std::vector<Diagnostic> diagnostics;
  LoadStats stats;
  bool has_errors() const { return mesh::has_errors(diagnostics); }
};

// Files larger than this are rejected (a manifest this large is a mistake or an attack).
inline constexpr uint64_t kMaxManifestBytes = 256ull << 20;

// Loads every path ("-" reads `stdin_stream`, default std::cin).
// `target_namespace` works like `kubectl apply -n NS`: namespaced objects
// without metadata.namespace go there (instead of "default"), and objects
// naming another namespace are errors.
LoadResult load_paths(const std::vector<std::string>& paths, std::istream* stdin_stream = nullptr,
                      std::string_view target_namespace = {});

// Decodes manifests held in memory, as if read from a file named `file_name`,
// appending to `out` (objects) and `diags`. An object whose kind/namespace/name
// already exists in `out` replaces it, keeping its load order (warning
// MS0006); to apply a change at runtime without the warning, remove() first.
void load_text(std::string_view text, std::string_view file_name, ResourceSet& out, std::vector<Diagnostic>& diags,
               LoadStats* stats = nullptr, std::string_view target_namespace = {});

// Decodes one object (or a `kind: List`) from a node of an already parsed
// document — e.g. manifests written inline in a scenario file — appending to
// `out`; locations point into that document.
void load_node(const std::shared_ptr<const YamlDocument>& doc, YamlNode node, ResourceSet& out,
               std::vector<Diagnostic>& diags);

}  // namespace meshsim::mesh
