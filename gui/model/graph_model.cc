#include "gui/model/graph_model.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <tuple>
#include <nlohmann/json.hpp>
#include <set>

#include "mesh/world.h"
#include "sim/observations/runtime.h"
#include "proxy/base/ip.h"

namespace meshsim::gui {

const char* to_string(NodeKind k) {
  switch (k) {
    case NodeKind::kWorkload: return "workload";
    case NodeKind::kService: return "service";
    case NodeKind::kExternal: return "external";
  }
  return "workload";
}

const char* to_string(MtlsState s) {
  switch (s) {
    case MtlsState::kUnknown: return "unknown";
    case MtlsState::kNone: return "none";
    case MtlsState::kPartial: return "partial";
    case MtlsState::kFull: return "full";
  }
  return "unknown";
}

const char* to_string(Health h) {
  switch (h) {
    case Health::kIdle: return "idle";
    case Health::kOk: return "ok";
    case Health::kDegraded: return "degraded";
    case Health::kFailed: return "failed";
  }
  return "idle";
}

const char* to_string(TimelineMark::Kind k) {
  switch (k) {
    case TimelineMark::Kind::kConfig: return "config";
    case TimelineMark::Kind::kFault: return "fault";
    case TimelineMark::Kind::kFailure: return "failure";
    case TimelineMark::Kind::kRecovery: return "recovery";
  }
  return "config";
}

std::string format_rate(double per_s) {
  char b[32];
  std::snprintf(b, sizeof b, per_s >= 100 ? "%.0f rps" : "%.1f rps", per_s);
  return b;
}

std::string format_latency(int64_t ns) {
  char b[32];
  double ms = static_cast<double>(ns) / 1e6;
  if (ms >= 1000) std::snprintf(b, sizeof b, "%.2fs", ms / 1000);
  else if (ms >= 1) std::snprintf(b, sizeof b, "%.1fms", ms);
  else std::snprintf(b, sizeof b, "%.0fus", ms * 1000);
  return b;
}

namespace {

std::string workload_of(const mesh::WorldPod& p) { return p.owner_name.empty() ? p.name : p.owner_name; }

uint8_t wire_code(std::string_view w) {
  if (w == "mtls") return 3;
  if (w == "tls") return 2;
  if (w == "plaintext") return 1;
  return 0;
}

}  // namespace

GraphModel::GraphModel(std::shared_ptr<const mesh::World> world) : world_(std::move(world)) {
  const mesh::World& w = *world_;
  std::set<std::string> ns_names;
  for (const auto& p : w.pods()) ns_names.insert(p.namespace_);
  for (const auto& s : w.services()) {
    if (s.origin == mesh::WorldService::Origin::kKubernetes) ns_names.insert(s.namespace_);
  }
  for (const std::string& ns : ns_names) namespaces_.push_back({ns, false, {}});
  auto ns_of = [&](const std::string& name) -> GraphNamespace& {
    return *std::find_if(namespaces_.begin(), namespaces_.end(), [&](const GraphNamespace& n) { return n.name == name; });
  };
  // Workloads in (namespace, name) order.
  std::map<std::pair<std::string, std::string>, std::vector<const mesh::WorldPod*>> workloads;
  for (const auto& p : w.pods()) workloads[{p.namespace_, workload_of(p)}].push_back(&p);
  for (const auto& [key, pods] : workloads) {
    GraphNode n;
    n.kind = NodeKind::kWorkload;
    n.ns = key.first;
    n.name = key.second;
    n.id = "workload/" + n.ns + "/" + n.name;
    for (const mesh::WorldPod* p : pods) {
      if (!p->scheduled()) continue;
      ++n.pods;
      n.sidecar = n.sidecar || p->injected;
      n.pod_names.push_back(p->namespace_ + "/" + p->name);
      auto mode = p->labels.find("istio.io/dataplane-mode");
      if (mode != p->labels.end() && mode->second == "ambient") n.ambient_label = true;
    }
    if (const mesh::WorldNamespace* wn = w.find_namespace(n.ns)) {
      auto mode = wn->labels.find("istio.io/dataplane-mode");
      if (mode != wn->labels.end() && mode->second == "ambient") n.ambient_label = true;
    }
    if (n.sidecar) ns_of(n.ns).injection = true;
    size_t idx = add_node(std::move(n));
    for (const mesh::WorldPod* p : pods) pod_node_[p->namespace_ + "/" + p->name] = idx;
  }
  // Kubernetes services in (namespace, name) order; ServiceEntries appear when traffic goes to them.
  std::vector<const mesh::WorldService*> services;
  for (const auto& s : w.services()) {
    if (s.origin == mesh::WorldService::Origin::kKubernetes) services.push_back(&s);
  }
  std::sort(services.begin(), services.end(), [](const mesh::WorldService* a, const mesh::WorldService* b) {
    return std::tie(a->namespace_, a->name) < std::tie(b->namespace_, b->name);
  });
  for (const mesh::WorldService* s : services) {
    GraphNode n;
    n.kind = NodeKind::kService;
    n.ns = s->namespace_;
    n.name = s->name;
    n.id = "service/" + n.ns + "/" + n.name;
    for (const auto& p : s->ports) n.ports.push_back(p.port);
    size_t idx = add_node(std::move(n));
    std::set<size_t> behind;
    for (const auto& [port, eps] : s->endpoints) {
      for (const auto& ep : eps) {
        if (ep.pod < 0 || static_cast<size_t>(ep.pod) >= w.pods().size()) continue;
        const mesh::WorldPod& p = w.pods()[static_cast<size_t>(ep.pod)];
        auto it = pod_node_.find(p.namespace_ + "/" + p.name);
        if (it != pod_node_.end()) behind.insert(it->second);
      }
    }
    for (size_t b : behind) backing_.push_back({idx, b});
  }
}

size_t GraphModel::add_node(GraphNode n) {
  size_t idx = nodes_.size();
  node_index_[n.id] = idx;
  if (!n.ns.empty()) {
    auto it = std::find_if(namespaces_.begin(), namespaces_.end(), [&](const GraphNamespace& g) { return g.name == n.ns; });
    if (it == namespaces_.end()) {
      namespaces_.push_back({n.ns, false, {}});
      it = std::prev(namespaces_.end());
    }
    it->nodes.push_back(idx);
  }
  nodes_.push_back(std::move(n));
  return idx;
}

int GraphModel::find_node(std::string_view id) const {
  auto it = node_index_.find(std::string(id));
  return it == node_index_.end() ? -1 : static_cast<int>(it->second);
}

int GraphModel::find_edge(size_t from, size_t to) const {
  auto it = edge_index_.find((static_cast<uint64_t>(from) << 32) | to);
  return it == edge_index_.end() ? -1 : static_cast<int>(it->second);
}

size_t GraphModel::node_for_pod(std::string_view from) {
  auto it = pod_node_.find(std::string(from));
  if (it != pod_node_.end()) return it->second;
  // external/<name>, or a pod the World did not know (a restarted replica).
  std::string id = from.rfind("external/", 0) == 0 ? std::string(from) : "external/" + std::string(from);
  if (int n = find_node(id); n >= 0) return static_cast<size_t>(n);
  GraphNode n;
  n.kind = NodeKind::kExternal;
  n.name = id.substr(std::string("external/").size());
  n.id = id;
  size_t idx = add_node(std::move(n));
  pod_node_[std::string(from)] = idx;
  return idx;
}

size_t GraphModel::node_for_target(std::string_view target, std::string_view client_ns) {
  std::string key = std::string(client_ns) + "|" + std::string(target);
  if (auto it = target_node_.find(key); it != target_node_.end()) return it->second;
  std::string_view host = target.substr(0, target.rfind(':'));
  const mesh::WorldService* s = nullptr;
  if (auto ip = parse_ipv4(host); ip.ok()) s = world_->service_by_vip(*ip);
  else s = world_->service_by_host(host, client_ns);
  size_t idx;
  if (s && s->origin == mesh::WorldService::Origin::kKubernetes) {
    int n = find_node("service/" + s->namespace_ + "/" + s->name);
    idx = static_cast<size_t>(n);
  } else {
    // A ServiceEntry host, a pod IP or a name nothing resolves: a node of its own.
    std::string name = s ? s->hostname : std::string(host);
    std::string id = "external/" + name;
    int n = find_node(id);
    if (n >= 0) {
      idx = static_cast<size_t>(n);
    } else {
      GraphNode g;
      g.kind = NodeKind::kExternal;
      g.name = name;
      g.id = id;
      idx = add_node(std::move(g));
    }
  }
  target_node_[key] = idx;
  return idx;
}

void GraphModel::advance(int64_t t_ns) {
  if (t_ns < now_ns_) return;
  now_ns_ = t_ns;
  int64_t horizon = now_ns_ - kWindowNs;
  bool changed = false;
  for (GraphEdge& e : edges_) {
    while (!e.recent.empty() && e.recent.front().at_ns <= horizon) {
      e.recent.pop_front();
      ++e.version;
      changed = true;
    }
  }
  // The clock moving changes rates and flashes; views recompute on revision.
  (void)changed;
  ++revision_;
}

int64_t RequestRecord::at_ns() const { return end_ns + sim::RequestVerdictObservation::kEvidenceDelayNs; }

void GraphModel::apply(const RequestRecord& r) {
  const int64_t at = r.at_ns();
  if (at > now_ns_) advance(at);
  size_t from = node_for_pod(r.from);
  std::string_view client_ns;
  if (size_t slash = r.from.find('/'); slash != std::string::npos && r.from.rfind("external/", 0) != 0)
    client_ns = std::string_view(r.from).substr(0, slash);
  size_t to = node_for_target(r.target, client_ns);
  uint64_t key = (static_cast<uint64_t>(from) << 32) | to;
  auto it = edge_index_.find(key);
  if (it == edge_index_.end()) {
    GraphEdge e;
    e.from = from;
    e.to = to;
    e.protocol = r.protocol;
    it = edge_index_.emplace(key, edges_.size()).first;
    edges_.push_back(std::move(e));
  }
  size_t ei = it->second;
  GraphEdge& e = edges_[ei];
  std::string who = r.call ? "calls from " + r.from : r.client;
  if (std::find(e.clients.begin(), e.clients.end(), who) == e.clients.end()) e.clients.push_back(who);
  bool ok = r.outcome == "ok";
  uint8_t wire = wire_code(r.wire);
  ++e.total.requests;
  if (ok) ++e.total.ok;
  switch (wire) {
    case 3: ++e.total.mtls; break;
    case 2: ++e.total.tls; break;
    case 1: ++e.total.plaintext; break;
    default: ++e.total.unjudged; break;
  }
  if (r.connection != 0) {
    auto pos = std::lower_bound(e.seen_connections.begin(), e.seen_connections.end(), r.connection);
    if (pos == e.seen_connections.end() || *pos != r.connection) {
      e.seen_connections.insert(pos, r.connection);
      ++e.connections;
    }
  }
  if (!ok) {
    ++e.failures[r.outcome];
    if (!r.error.empty()) e.last_error = r.error;
    else if (r.http_status) e.last_error = "HTTP " + std::to_string(r.http_status);
    if (e.first_failure_ns < 0) e.first_failure_ns = r.end_ns;
    e.last_failure_ns = r.end_ns;
  }
  if (!r.why.empty()) {
    e.why = r.why;
    e.why_ns = r.end_ns;
  }
  e.recent.push_back({at, r.latency_ns, ok, wire});
  ++e.version;
  if (!ok) e.last_failure_at_ns = at;
  if (r.transition == "fails" || r.transition == "recovers") {
    TimelineMark m;
    m.t_ns = r.end_ns;
    m.kind = r.transition == "fails" ? TimelineMark::Kind::kFailure : TimelineMark::Kind::kRecovery;
    std::string label = r.call ? r.from + "→" + r.target : r.client;
    if (m.kind == TimelineMark::Kind::kFailure) {
      std::string err = r.error.empty() ? (r.http_status ? "HTTP " + std::to_string(r.http_status) : "") : r.error;
      if (size_t nl = err.find('\n'); nl != std::string::npos) err = err.substr(0, nl);
      m.text = label + " fails (" + r.outcome + "): " + err;
      if (!r.why.empty()) m.details.push_back(r.why);
    } else {
      m.text = label + " works again";
    }
    m.edge = static_cast<int>(ei);
    marks_.push_back(std::move(m));
  }
  ++revision_;
}

void GraphModel::apply(const ActionRecord& a) {
  if (a.published_ns > now_ns_) advance(a.published_ns);
  TimelineMark m;
  m.t_ns = a.published_ns;
  m.kind = a.category == "config" ? TimelineMark::Kind::kConfig : TimelineMark::Kind::kFault;
  m.text = "timeline: " + a.name;
  m.details = a.details;
  marks_.push_back(std::move(m));
  ++revision_;
}

EdgeView GraphModel::edge_view(size_t ei) const {
  const GraphEdge& e = edges_[ei];
  EdgeView v;
  uint64_t n = 0, ok = 0, judged = 0, mtls = 0, plain = 0;
  std::vector<int64_t> lat;
  for (const auto& r : e.recent) {
    ++n;
    if (r.ok) {
      ++ok;
      lat.push_back(r.latency_ns);
    } else if (r.at_ns > now_ns_ - kFlashNs) {
      v.flashing = true;
    }
    if (r.wire != 0) ++judged;
    if (r.wire == 3) ++mtls;
    if (r.wire == 1) ++plain;
  }
  v.rate_per_s = static_cast<double>(n) / (static_cast<double>(kWindowNs) / 1e9);
  if (n == 0) {
    // Idle: the whole run so far tells what this edge was.
    n = e.total.requests;
    ok = e.total.ok;
    judged = e.total.mtls + e.total.tls + e.total.plaintext;
    mtls = e.total.mtls;
    plain = e.total.plaintext;
    v.health = Health::kIdle;
  } else {
    v.health = ok == n ? Health::kOk : ok == 0 ? Health::kFailed : Health::kDegraded;
  }
  v.success = n ? static_cast<double>(ok) / static_cast<double>(n) : 0;
  if (judged == 0) v.mtls = MtlsState::kUnknown;
  else if (mtls == judged) v.mtls = MtlsState::kFull;
  else if (mtls == 0) v.mtls = MtlsState::kNone;
  else v.mtls = MtlsState::kPartial;
  v.plaintext_share = judged ? static_cast<double>(plain) / static_cast<double>(judged) : 0;
  v.mtls_share = judged ? static_cast<double>(mtls) / static_cast<double>(judged) : 0;
  if (!lat.empty()) {
    auto pct = [&](double p) {
      size_t idx = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(lat.size())));
      if (idx > 0) --idx;
      idx = std::min(idx, lat.size() - 1);
      std::nth_element(lat.begin(), lat.begin() + static_cast<std::ptrdiff_t>(idx), lat.end());
      return lat[idx];
    };
    v.p50_ns = pct(50);
    v.p99_ns = pct(99);
  }
  char pct[32];
  std::snprintf(pct, sizeof pct, "%.0f%% ok", 100.0 * v.success);
  std::string line1 = format_rate(v.rate_per_s) + " · " + pct;
  if (!lat.empty()) line1 += " · p50 " + format_latency(v.p50_ns) + " p99 " + format_latency(v.p99_ns);
  std::string line2;
  switch (v.mtls) {
    case MtlsState::kFull: line2 = "mTLS"; break;
    case MtlsState::kNone: line2 = v.plaintext_share > 0 ? "plaintext" : "TLS (not mTLS)"; break;
    case MtlsState::kPartial: {
      char b[64];
      std::snprintf(b, sizeof b, "partial mTLS (%.0f%% plaintext)", 100.0 * v.plaintext_share);
      line2 = b;
      break;
    }
    case MtlsState::kUnknown: line2 = "wire not judged"; break;
  }
  if (v.health == Health::kFailed) line2 += " · failed";
  else if (v.health == Health::kDegraded) line2 += " · failing";
  else if (v.health == Health::kIdle) line2 += " · idle";
  v.label = line1 + "\n" + line2;
  return v;
}

std::string GraphModel::to_dot() const {
  auto q = [](const std::string& s) {
    std::string o = "\"";
    for (char c : s) {
      if (c == '"' || c == '\\') o.push_back('\\');
      if (c == '\n') {
        o += "\\n";
        continue;
      }
      o.push_back(c);
    }
    return o + "\"";
  };
  std::string d = "digraph mesh {\n  rankdir=LR;\n  node [fontname=\"sans-serif\"];\n";
  for (size_t ni = 0; ni < namespaces_.size(); ++ni) {
    const GraphNamespace& ns = namespaces_[ni];
    d += "  subgraph " + q("cluster_" + ns.name) + " {\n    label=" + q("namespace " + ns.name) + ";\n";
    for (size_t n : ns.nodes) {
      const GraphNode& g = nodes_[n];
      std::string label = g.name;
      if (g.kind == NodeKind::kWorkload)
        label += "\n" + std::to_string(g.pods) + (g.pods == 1 ? " pod" : " pods") + (g.sidecar ? " · sidecar" : " · no sidecar");
      d += "    " + q(g.id) + " [label=" + q(label) + ", shape=" + (g.kind == NodeKind::kService ? "triangle" : "box") + "];\n";
    }
    d += "  }\n";
  }
  for (const GraphNode& g : nodes_) {
    if (g.ns.empty()) d += "  " + q(g.id) + " [label=" + q(g.name) + ", shape=diamond];\n";
  }
  for (size_t i = 0; i < edges_.size(); ++i) {
    EdgeView v = edge_view(i);
    const char* color = v.health == Health::kFailed     ? "red"
                        : v.health == Health::kDegraded ? "orangered"
                        : v.mtls == MtlsState::kFull    ? "darkgreen"
                        : v.mtls == MtlsState::kPartial ? "orange"
                                                        : "gray40";
    d += "  " + q(nodes_[edges_[i].from].id) + " -> " + q(nodes_[edges_[i].to].id) + " [label=" + q(v.label) +
         ", color=" + color + (v.mtls == MtlsState::kFull ? "" : ", style=dashed") + "];\n";
  }
  return d + "}\n";
}

std::string GraphModel::to_json() const {
  nlohmann::ordered_json j;
  j["t_ns"] = now_ns_;
  nlohmann::ordered_json ns = nlohmann::ordered_json::array();
  for (const GraphNamespace& n : namespaces_) {
    nlohmann::ordered_json ids = nlohmann::ordered_json::array();
    for (size_t i : n.nodes) ids.push_back(nodes_[i].id);
    ns.push_back({{"name", n.name}, {"sidecars", n.injection}, {"nodes", ids}});
  }
  j["namespaces"] = ns;
  nlohmann::ordered_json nodes = nlohmann::ordered_json::array();
  for (const GraphNode& g : nodes_) {
    nlohmann::ordered_json o{{"id", g.id}, {"kind", to_string(g.kind)}, {"namespace", g.ns}, {"name", g.name}};
    if (g.kind == NodeKind::kWorkload) {
      o["pods"] = g.pods;
      o["sidecar"] = g.sidecar;
      if (g.ambient_label) o["ambient_label"] = true;
    }
    if (g.kind == NodeKind::kService) o["ports"] = g.ports;
    nodes.push_back(std::move(o));
  }
  j["nodes"] = nodes;
  nlohmann::ordered_json edges = nlohmann::ordered_json::array();
  for (size_t i = 0; i < edges_.size(); ++i) {
    const GraphEdge& e = edges_[i];
    EdgeView v = edge_view(i);
    nlohmann::ordered_json o;
    o["from"] = nodes_[e.from].id;
    o["to"] = nodes_[e.to].id;
    o["protocol"] = e.protocol;
    o["clients"] = e.clients;
    o["window"] = {{"rate_per_s", v.rate_per_s}, {"success", v.success}, {"health", to_string(v.health)},
                   {"mtls", to_string(v.mtls)},  {"mtls_share", v.mtls_share}, {"plaintext_share", v.plaintext_share},
                   {"p50_ms", static_cast<double>(v.p50_ns) / 1e6}, {"p99_ms", static_cast<double>(v.p99_ns) / 1e6}};
    o["total"] = {{"requests", e.total.requests}, {"ok", e.total.ok},         {"connections", e.connections},
                  {"mtls", e.total.mtls},         {"tls", e.total.tls},       {"plaintext", e.total.plaintext},
                  {"unjudged", e.total.unjudged}, {"failures", e.failures}};
    if (!e.last_error.empty()) o["last_error"] = e.last_error;
    if (!e.why.empty()) o["why"] = e.why;
    o["label"] = v.label;
    edges.push_back(std::move(o));
  }
  j["edges"] = edges;
  nlohmann::ordered_json marks = nlohmann::ordered_json::array();
  for (const TimelineMark& m : marks_) {
    marks.push_back({{"t_ns", m.t_ns}, {"kind", to_string(m.kind)}, {"text", m.text}, {"details", m.details}});
  }
  j["marks"] = marks;
  return j.dump(2) + "\n";
}

}  // namespace meshsim::gui
