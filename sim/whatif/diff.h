// What a change does: the objects it adds, modifies or deletes (compared by
// their YAML content, so a re-ordered file is no change), and the cells of the
// truth table whose outcome it changes — each with the engine's reasons before
// and after and the changed objects that caused it: those the engine named in
// its decisions (the PeerAuthentication in the filter chain's description, the
// DestinationRule behind the cluster's TLS, the denying AuthorizationPolicy),
// else the changed objects in the source's or destination's namespace or the
// root namespace ("in scope").
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "mesh/diagnostics.h"
#include "mesh/resources.h"
#include "sim/whatif/truth_table.h"

namespace meshsim::whatif {

struct ObjectChange {
  enum class Type : uint8_t { kAdded, kModified, kDeleted };
  Type type = Type::kModified;
  std::string kind, namespace_, name;  // "PeerAuthentication", "foo", "default"
  mesh::Location location;             // head side (base side for deletions)
  std::string ref() const;             // "PeerAuthentication foo/default"
  const char* type_name() const;       // added | modified | deleted
};

// An object's YAML content with map keys sorted and server-managed metadata
// (status, resourceVersion, uid, last-applied-configuration …) left out: two
// objects with the same text are the same desired state.
std::string canonical_text(const mesh::Object& o);
// Calls f(object) for every decoded object of the set (not the unmodelled ones).
void for_each_object(const mesh::ResourceSet& rs, const std::function<void(const mesh::Object&)>& f);

// `kubectl apply` of `change` onto `base`: each object of the change replaces
// the object of the same kind, namespace and name, or is added.
void apply_change(mesh::ResourceSet& base, mesh::ResourceSet&& change);

std::vector<ObjectChange> diff_objects(const mesh::ResourceSet& base, const mesh::ResourceSet& head);

struct CellChange {
  std::string source, destination;  // ids
  std::string protocol;
  char before = ' ', after = ' ';  // ' ' = the row or column does not exist on that side
  std::string reason_before, reason_after;
  bool broke = false;  // worked before (M/P), does not now
  bool fixed = false;  // did not work before, works now
  struct Blame {
    ObjectChange change;
    bool named_by_engine = false;  // false: in scope only
  };
  std::vector<Blame> blame;
};

struct Comparison {
  Table base, head;
  std::vector<ObjectChange> objects;
  std::vector<CellChange> changes;  // sorted by source, destination
  size_t cells = 0;                 // cells compared (union of both tables)
  size_t broken() const;
  size_t fixed() const;
};

// `root_namespace`: the mesh's root namespace (meshConfig.rootNamespace),
// whose policies are in every cell's scope.
Comparison compare_tables(Table base, Table head, std::vector<ObjectChange> objects,
                          const std::string& root_namespace = "istio-system");

}  // namespace meshsim::whatif
