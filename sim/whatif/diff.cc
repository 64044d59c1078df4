#include "sim/whatif/diff.h"

#include <algorithm>
#include <functional>
#include <map>
#include <set>

#include "mesh/yaml_tree.h"

namespace meshsim::whatif {

std::string ObjectChange::ref() const { return kind + " " + (namespace_.empty() ? "" : namespace_ + "/") + name; }

const char* ObjectChange::type_name() const {
  switch (type) {
    case Type::kAdded: return "added";
    case Type::kDeleted: return "deleted";
    default: return "modified";
  }
}

namespace {

// Server-managed metadata that says nothing about the desired state.
bool ignored_metadata(std::string_view key) {
  return key == "resourceVersion" || key == "uid" || key == "generation" || key == "managedFields" ||
         key == "creationTimestamp" || key == "selfLink";
}

void canonical(const mesh::YamlNode& n, std::string& out, int depth) {
  if (!n.valid() || n.is_null()) {
    out += "~";
    return;
  }
  if (n.is_scalar()) {
    out += n.plain() ? "p:" : "s:";
    out += n.scalar();
    out += '\x1f';
    return;
  }
  if (n.is_sequence()) {
    out += '[';
    for (uint32_t i = 0; i < n.size(); ++i) canonical(n.item(i), out, depth + 1);
    out += ']';
    return;
  }
  // Maps: keys sorted, so a re-ordered object is the same object.
  std::vector<std::pair<std::string, uint32_t>> keys;
  for (uint32_t i = 0; i < n.size(); ++i) keys.emplace_back(std::string(n.key(i).scalar()), i);
  std::sort(keys.begin(), keys.end());
  out += '{';
  for (const auto& [k, i] : keys) {
    if (depth == 0 && k == "status") continue;
    if (depth == 1 && ignored_metadata(k)) continue;
    if (depth == 2 && k == "kubectl.kubernetes.io/last-applied-configuration") continue;
    out += k;
    out += '=';
    canonical(n.value(i), out, depth + 1);
  }
  out += '}';
}

}  // namespace

std::string canonical_text(const mesh::Object& o) {
  std::string out;
  // metadata is at depth 1 of the object (its annotations' keys at depth 2).
  if (o.source.doc) canonical(mesh::YamlNode(o.source.doc.get(), o.source.root), out, 0);
  return out;
}

void for_each_object(const mesh::ResourceSet& rs, const std::function<void(const mesh::Object&)>& f) {
  auto each = [&](const auto& v) {
    for (const auto& o : v) f(static_cast<const mesh::Object&>(o));
  };
  each(rs.namespaces);
  each(rs.nodes);
  each(rs.services);
  each(rs.service_accounts);
  each(rs.pods);
  each(rs.workloads);
  each(rs.ingresses);
  each(rs.ingress_classes);
  each(rs.config_maps);
  each(rs.peer_authentications);
  each(rs.destination_rules);
  each(rs.virtual_services);
  each(rs.authorization_policies);
  each(rs.request_authentications);
  each(rs.gateways);
  each(rs.service_entries);
  each(rs.sidecars);
  each(rs.workload_entries);
  each(rs.telemetries);
  each(rs.istio_operators);
}

namespace {

struct Entry {
  std::string kind, namespace_, name;
  std::string content;
  mesh::Location location;
};

std::map<std::string, Entry> index(const mesh::ResourceSet& rs) {
  std::map<std::string, Entry> m;
  for_each_object(rs, [&](const mesh::Object& o) {
    Entry e{mesh::kind_name(o.kind), o.meta.namespace_, o.meta.name, canonical_text(o), o.source.location};
    m[o.display()] = std::move(e);
  });
  for (const auto& u : rs.unmodelled) {
    m[u.kind + " " + (u.namespace_.empty() ? "" : u.namespace_ + "/") + u.name] =
        Entry{u.kind, u.namespace_, u.name, u.location.str(), u.location};
  }
  return m;
}

// "DestinationRule httpbin.foo" (Istio's name.namespace) or "… foo/httpbin".
bool names(const std::string& engine_ref, const ObjectChange& c) {
  if (engine_ref == c.ref()) return true;
  return engine_ref == c.kind + " " + c.name + "." + c.namespace_;
}

}  // namespace

std::vector<ObjectChange> diff_objects(const mesh::ResourceSet& base, const mesh::ResourceSet& head) {
  auto b = index(base), h = index(head);
  std::vector<ObjectChange> out;
  for (const auto& [key, e] : h) {
    auto it = b.find(key);
    if (it == b.end()) out.push_back({ObjectChange::Type::kAdded, e.kind, e.namespace_, e.name, e.location});
    else if (it->second.content != e.content) out.push_back({ObjectChange::Type::kModified, e.kind, e.namespace_, e.name, e.location});
  }
  for (const auto& [key, e] : b) {
    if (!h.count(key)) out.push_back({ObjectChange::Type::kDeleted, e.kind, e.namespace_, e.name, e.location});
  }
  std::sort(out.begin(), out.end(), [](const ObjectChange& x, const ObjectChange& y) { return x.ref() < y.ref(); });
  return out;
}

void apply_change(mesh::ResourceSet& base, mesh::ResourceSet&& change) {
  for_each_object(change, [&](const mesh::Object& o) { base.remove(o.kind, o.meta.namespace_, o.meta.name); });
  for (const auto& u : change.unmodelled) {
    auto& v = base.unmodelled;
    v.erase(std::remove_if(v.begin(), v.end(), [&](const auto& x) { return x.kind == u.kind && x.namespace_ == u.namespace_ && x.name == u.name; }),
            v.end());
  }
  base.merge(std::move(change));
}

size_t Comparison::broken() const {
  return static_cast<size_t>(std::count_if(changes.begin(), changes.end(), [](const CellChange& c) { return c.broke; }));
}
size_t Comparison::fixed() const {
  return static_cast<size_t>(std::count_if(changes.begin(), changes.end(), [](const CellChange& c) { return c.fixed; }));
}

Comparison compare_tables(Table base, Table head, std::vector<ObjectChange> objects, const std::string& root_namespace) {
  Comparison cmp;
  cmp.objects = std::move(objects);
  std::map<std::string, size_t> brow, bcol, hrow, hcol;
  for (size_t i = 0; i < base.sources.size(); ++i) brow[base.sources[i].id] = i;
  for (size_t i = 0; i < base.destinations.size(); ++i) bcol[base.destinations[i].id] = i;
  for (size_t i = 0; i < head.sources.size(); ++i) hrow[head.sources[i].id] = i;
  for (size_t i = 0; i < head.destinations.size(); ++i) hcol[head.destinations[i].id] = i;
  std::set<std::string> rows, cols;
  for (const auto& [k, v] : brow) rows.insert(k);
  for (const auto& [k, v] : hrow) rows.insert(k);
  for (const auto& [k, v] : bcol) cols.insert(k);
  for (const auto& [k, v] : hcol) cols.insert(k);
  cmp.cells = rows.size() * cols.size();
  for (const std::string& r : rows) {
    for (const std::string& c : cols) {
      const Cell* before = nullptr;
      const Cell* after = nullptr;
      std::string protocol;
      if (brow.count(r) && bcol.count(c)) {
        before = &base.at(brow[r], bcol[c]);
        protocol = base.destinations[bcol[c]].protocol;
      }
      if (hrow.count(r) && hcol.count(c)) {
        after = &head.at(hrow[r], hcol[c]);
        protocol = head.destinations[hcol[c]].protocol;
      }
      char sb = before ? before->symbol : ' ', sa = after ? after->symbol : ' ';
      std::string rb = before ? before->reason() : "", ra = after ? after->reason() : "";
      if (sb == sa) continue;
      CellChange ch;
      ch.source = r;
      ch.destination = c;
      ch.protocol = protocol;
      ch.before = sb;
      ch.after = sa;
      ch.reason_before = before ? rb : "(absent before the change)";
      ch.reason_after = after ? ra : "(absent after the change)";
      ch.broke = symbol_ok(sb) && after && !symbol_ok(sa);
      ch.fixed = before && !symbol_ok(sb) && symbol_ok(sa);
      // Blame: what the engine named, on either side; else what is in scope.
      std::set<std::string> refs;
      for (const Cell* cell : {before, after}) {
        if (!cell) continue;
        for (const Hop& h : cell->hops) refs.insert(h.config_refs.begin(), h.config_refs.end());
      }
      for (const ObjectChange& oc : cmp.objects) {
        bool named = std::any_of(refs.begin(), refs.end(), [&](const std::string& ref) { return names(ref, oc); });
        if (named) ch.blame.push_back({oc, true});
      }
      if (ch.blame.empty()) {
        std::string src_ns = r.substr(0, r.find('/'));
        std::string dst_ns = c.substr(0, c.find('/'));
        for (const ObjectChange& oc : cmp.objects) {
          bool in_scope = oc.namespace_ == src_ns || oc.namespace_ == dst_ns || oc.namespace_ == root_namespace ||
                          (oc.kind == "Namespace" && (oc.name == src_ns || oc.name == dst_ns)) || oc.namespace_.empty();
          if (in_scope) ch.blame.push_back({oc, false});
        }
      }
      cmp.changes.push_back(std::move(ch));
    }
  }
  cmp.base = std::move(base);
  cmp.head = std::move(head);
  return cmp;
}

}  // namespace meshsim::whatif
