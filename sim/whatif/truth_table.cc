#include "sim/whatif/truth_table.h"

#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <string_view>
#include <tuple>

#include "mesh/coverage.h"
#include "sim/runtime/mesh_simulation.h"
#include "sim/runtime/probe.h"
#include "sim/whatif/hop_json.h"

namespace meshsim::whatif {

const char kSymbols[] = "MPDRCTEF45N~?";

std::string symbol_meaning(char s) {
  switch (s) {
    case 'M': return "ok over mTLS";
    case 'P': return "ok, plaintext on the wire";
    case 'D': return "denied by policy (RBAC)";
    case 'R': return "connection reset";
    case 'C': return "connection refused";
    case 'T': return "timeout / hang";
    case 'E': return "TLS error";
    case 'F': return "protocol failure";
    case '4': return "HTTP 4xx";
    case '5': return "HTTP 5xx";
    case 'N': return "DNS error";
    case '~': return "mixed (backends or requests disagree)";
    case '?': return "not probed (not simulated yet)";
    default: return "absent (no such source or destination on this side)";
  }
}

std::string Cell::reason() const {
  std::string out;
  std::set<std::string> seen;
  for (const Hop& h : hops) {
    std::string line = (hops.size() > 1 ? std::string(1, h.symbol) + " " : std::string()) +
                       (h.backend.empty() || hops.size() == 1 ? "" : h.backend + (h.request.empty() ? "" : " " + h.request) + ": ") +
                       h.reason;
    if (!seen.insert(symbol == '~' ? line : h.reason).second) continue;
    out += (out.empty() ? "" : " | ") + line;
    if (symbol != '~') break;
  }
  return out;
}

Result<Selector> parse_selector(const std::string& text) {
  Selector s;
  if (text.empty()) return Error{"empty selector"};
  if (text == "external") {
    s.external = true;
    return s;
  }
  if (text.find('=') != std::string::npos) {
    size_t start = 0;
    while (start < text.size()) {
      size_t comma = text.find(',', start);
      std::string kv = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      size_t eq = kv.find('=');
      if (eq == std::string::npos || eq == 0) return Error{"\"" + kv + "\": expected KEY=VALUE"};
      std::string k = kv.substr(0, eq);
      if (k == "namespace" || k == "ns") s.namespace_ = kv.substr(eq + 1);
      else s.labels[k] = kv.substr(eq + 1);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    return s;
  }
  size_t slash = text.find('/');
  if (slash == std::string::npos) {
    s.namespace_ = text;
  } else {
    s.namespace_ = text.substr(0, slash);
    s.workload = text.substr(slash + 1);
    if (s.namespace_.empty() || s.workload.empty()) return Error{"\"" + text + "\": expected NS/WORKLOAD"};
  }
  return s;
}

namespace {

std::string workload_of(const mesh::WorldPod& p) {
  return p.namespace_ + "/" + (p.owner_name.empty() ? p.name : p.owner_name);
}

bool labels_match(const mesh::Labels& want, const mesh::Labels& have) {
  for (const auto& [k, v] : want) {
    auto it = have.find(k);
    if (it == have.end() || it->second != v) return false;
  }
  return true;
}

bool selects_pod(const Selector& s, const mesh::WorldPod& p) {
  if (s.external) return false;
  if (!s.namespace_.empty() && s.namespace_ != p.namespace_) return false;
  if (!s.workload.empty() && s.workload != (p.owner_name.empty() ? p.name : p.owner_name)) return false;
  return labels_match(s.labels, p.labels);
}

bool any_selects(const std::vector<Selector>& sel, const mesh::WorldPod& p) {
  if (sel.empty()) return true;
  for (const Selector& s : sel) {
    if (selects_pod(s, p)) return true;
  }
  return false;
}

// What a client of a Service port speaks: the port's protocol (name or
// appProtocol), else — Istio would sniff — what the application behind it
// speaks (meshsim's inferred server app).
void choose_protocol(Destination& d, mesh::Protocol p) {
  using mesh::Protocol;
  switch (p) {
    case Protocol::kMysql: d.protocol = "mysql"; break;
    // A grpc port gets a gRPC client (a health check over h2c); an http2
    // or grpc-web port an HTTP/1.1 client, which its sidecar sends on as
    // HTTP/2 (docs/model/http2.md).
    case Protocol::kGrpc: d.protocol = "grpc"; break;
    case Protocol::kHttps:
    case Protocol::kTls: d.protocol = "tls"; break;
    case Protocol::kUnsupported: d.protocol = ""; break;  // decided by the app, later
    default: d.protocol = mesh::is_http_protocol(p) ? "http" : "tcp"; break;
  }
  d.protocol_reason = std::string("port protocol ") + mesh::protocol_name(p);
}

std::vector<std::string> extract_refs(const std::vector<std::string>& texts) {
  // Objects are named "Kind namespace/name" by the engine's texts; a bare word
  // after a kind is prose ("no PeerAuthentication applies"), not a reference.
  static const std::regex kRef(R"((PeerAuthentication|DestinationRule|VirtualService|AuthorizationPolicy|Sidecar) ([A-Za-z0-9.\-]+/[A-Za-z0-9.\-]+))");
  std::vector<std::string> out;
  for (const std::string& t : texts) {
    for (auto it = std::sregex_iterator(t.begin(), t.end(), kRef); it != std::sregex_iterator(); ++it) {
      std::string ref = (*it)[1].str() + " " + (*it)[2].str();
      if (std::find(out.begin(), out.end(), ref) == out.end()) out.push_back(ref);
    }
  }
  return out;
}

// The symbol and one-line reason of a probe, from what the engine reported:
// the sidecars' access-log decisions, the RBAC verdicts and the wire.
Hop hop_of(const sim::ProbeResult& r, const std::string& protocol) {
  Hop h;
  h.outcome = r.outcome;
  h.http_status = r.http_status;
  const auto& cs = r.client_sidecar;
  const auto& ss = r.server_sidecar;
  std::vector<std::string> why_texts;
  auto server_name = [&] { return ss ? "server sidecar " + ss->pod : std::string("server"); };
  std::string client_part;
  if (cs) {
    client_part = "client cluster " + cs->cluster + (cs->tls_mode.empty() ? "" : " " + cs->tls_mode);
    if (!cs->cluster_description.empty()) client_part += " (" + cs->cluster_description + ")";
    why_texts.push_back(cs->cluster_description);
  } else {
    client_part = "no client sidecar";
  }
  std::string server_part;
  if (ss) {
    server_part = server_name() + (ss->filter_chain.empty() ? "" : " chain " + ss->filter_chain);
    if (!ss->filter_chain_description.empty()) server_part += " (" + ss->filter_chain_description + ")";
    why_texts.push_back(ss->filter_chain_description);
    why_texts.push_back(ss->filter_chain_miss);
  } else {
    server_part = "no server sidecar";
  }
  if (ss && ss->denied_by) {
    const sim::ProbeDenial& d = *ss->denied_by;
    h.symbol = 'D';
    if (!d.policy.empty()) {
      h.reason = "denied by " + d.action + " AuthorizationPolicy " + d.policy +
                 (d.rule ? " rule " + std::to_string(*d.rule) : std::string()) + " (" + server_name() + ")";
      why_texts.push_back("AuthorizationPolicy " + d.policy);
    } else {
      h.reason = "denied: no " + d.action + " rule matched (" + server_name() + ")";
      for (const auto& c : d.rules) {
        h.reason += "; " + c.policy + (c.rule ? " rule " + std::to_string(*c.rule) : std::string()) + ": " + c.clause;
        if (!c.policy.empty()) why_texts.push_back("AuthorizationPolicy " + c.policy);
      }
    }
  } else if (r.outcome == "ok") {
    // A pod calling its own Service never leaves the pod: the server
    // sidecar's own TLS facts say whether it was mTLS.
    bool mtls = r.wire.observed ? r.wire.mtls : (ss && ss->tls_termination == "mtls");
    h.symbol = mtls ? 'M' : 'P';
    std::string wire = mtls ? "mTLS " + r.wire.client_identity + " → " + r.wire.server_identity
                                   : (r.wire.tls ? std::string("TLS (no client certificate)") : std::string("plaintext"));
    h.reason = wire + "; " + client_part + "; " + server_part;
  } else if (ss && ss->result == "no_filter_chain") {
    h.symbol = 'R';
    h.reason = "reset: " + server_name() + " matched no filter chain: " +
               (ss->filter_chain_miss.empty() ? ss->details : ss->filter_chain_miss) + "; " + client_part;
  } else if (ss && ss->result == "inspecting") {
    h.symbol = 'F';
    h.reason = "protocol failure: " + server_name() + " was still waiting for the client's first bytes (server-first protocol behind protocol detection)" +
               (r.client_error.empty() ? "" : "; client: " + r.client_error);
  } else if (protocol == "grpc" && r.grpc_status > 0 && (r.outcome == "http_error" || r.outcome == "denied")) {
    // A gRPC status (Envoy's local replies map HTTP codes to it: 503 →
    // UNAVAILABLE): the server-error statuses read as 5, the others as 4.
    int g = r.grpc_status;
    bool server_error = g == 2 || g == 4 || g == 13 || g == 14 || g == 15;
    h.symbol = server_error ? '5' : '4';
    std::string flags = cs ? cs->response_flags : ss ? ss->response_flags : "-";
    std::string details = cs ? cs->details : ss ? ss->details : "";
    h.reason = "gRPC " + std::to_string(g) + " " + r.grpc_status_name +
               (r.grpc_message.empty() ? "" : " \"" + r.grpc_message + "\"") + (flags == "-" || flags.empty() ? "" : " " + flags) +
               (details.empty() ? "" : " (" + details + ")");
    if (cs && !cs->transport_failure.empty()) h.reason += "; transport: " + cs->transport_failure;
    h.reason += "; " + client_part + "; " + server_part;
  } else if (r.outcome == "http_error" || r.outcome == "denied") {
    h.symbol = r.http_status >= 500 ? '5' : '4';
    std::string flags = cs ? cs->response_flags : ss ? ss->response_flags : "-";
    std::string details = cs ? cs->details : ss ? ss->details : "";
    h.reason = "HTTP " + std::to_string(r.http_status) + (flags == "-" ? "" : " " + flags) +
               (details.empty() ? "" : " (" + details + ")");
    if (cs && !cs->transport_failure.empty()) h.reason += "; transport: " + cs->transport_failure;
    h.reason += "; " + client_part + "; " + server_part;
  } else if (r.outcome == "tls_error") {
    h.symbol = 'E';
    h.reason = "TLS error" + (r.client_error.empty() ? "" : ": " + r.client_error) + "; " + client_part + "; " + server_part;
  } else if (r.outcome == "timeout") {
    h.symbol = 'T';
    h.reason = "timeout" + (r.client_error.empty() ? "" : ": " + r.client_error) + "; " + client_part + "; " + server_part;
  } else if (r.outcome == "refused") {
    h.symbol = 'C';
    h.reason = "connection refused" + (r.client_error.empty() ? "" : ": " + r.client_error) + "; " + client_part;
  } else if (r.outcome == "dns_error") {
    h.symbol = 'N';
    h.reason = "DNS error" + (r.client_error.empty() ? "" : ": " + r.client_error);
  } else {  // reset
    bool proxied = ss && ss->result == "ok";
    h.symbol = (protocol == "mysql" && proxied) ? 'F' : 'R';
    std::string flags = cs ? cs->response_flags : "-";
    h.reason = std::string(h.symbol == 'F' ? "protocol failure" : "reset") +
               (r.client_error.empty() ? "" : ": " + r.client_error) + (flags == "-" ? "" : " (client sidecar " + flags + ")");
    if (cs && !cs->transport_failure.empty()) h.reason += "; transport: " + cs->transport_failure;
    h.reason += "; " + client_part + "; " + server_part;
  }
  h.config_refs = extract_refs(why_texts);
  return h;
}

// Istio's string match of principals and service accounts: exact,
// "prefix*", "*suffix", or "*" (presence).
bool istio_string_match(std::string_view pattern, std::string_view v) {
  if (pattern == "*") return !v.empty();
  if (pattern.size() > 1 && pattern.front() == '*') return v.size() >= pattern.size() - 1 && v.ends_with(pattern.substr(1));
  if (pattern.size() > 1 && pattern.back() == '*') return v.starts_with(pattern.substr(0, pattern.size() - 1));
  return v == pattern;
}

bool token_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.'; }

// What names a source or a destination in the engine's reasons, in a fixed
// order so that two lists of one kind pair up form by form: a source's SPIFFE
// id, principal, pod, workload and IP; a destination's host, ClusterIP,
// Service, and its backend's SPIFFE id, principal, pod, workload and IP.
std::vector<std::string> source_names(const mesh::World& w, const Source& s) {
  const mesh::WorldPod* pod = s.pod.empty() ? nullptr : sim::find_pod_ref(w, s.pod);
  if (!pod) return {};
  std::string spiffe = pod->spiffe_id(w.mesh_config().trust_domain);
  return {spiffe, spiffe.substr(spiffe.find("://") + 3), s.pod, s.id, to_string(pod->ip)};
}

std::vector<std::string> destination_names(const mesh::World& w, const Destination& d) {
  std::vector<std::string> n = {d.host, "", d.namespace_ + "/" + d.service};
  if (const mesh::WorldService* s = w.service_by_hostname(d.host); s && s->has_vip) n[1] = to_string(s->vip);
  const mesh::WorldService* s = w.service_by_hostname(d.host);
  const mesh::WorldPod* pod = nullptr;
  if (s) {
    if (auto it = s->endpoints.find(d.port); it != s->endpoints.end() && it->second.size() == 1 && it->second[0].pod >= 0)
      pod = &w.pods()[static_cast<size_t>(it->second[0].pod)];
  }
  if (!pod) return n;
  std::string spiffe = pod->spiffe_id(w.mesh_config().trust_domain);
  n.insert(n.end(), {spiffe, spiffe.substr(spiffe.find("://") + 3), pod->namespace_ + "/" + pod->name, workload_of(*pod),
                     to_string(pod->ip)});
  return n;
}

using NameMap = std::vector<std::pair<std::string_view, std::string_view>>;
using NameLists = std::vector<std::pair<const std::vector<std::string>*, const std::vector<std::string>*>>;

// The renaming that turns the names of a probed cell's source and
// destination into another cell's: from[i] → to[i] for each pair of lists.
// false when the lists do not pair up, a name would have to become two
// different names, or a name that stays would also be the image of another
// (the renamed text would be ambiguous): that cell is then probed.
bool name_map(const NameLists& lists, NameMap& m) {
  m.clear();
  std::vector<std::string_view> stays;
  for (const auto& [from, to] : lists) {
    if (from->size() != to->size()) return false;
    for (size_t i = 0; i < from->size(); ++i) {
      std::string_view f = (*from)[i], t = (*to)[i];
      if (f == t) {
        if (!f.empty()) stays.push_back(f);
        continue;
      }
      if (f.empty() || t.empty()) return false;
      bool known = false;
      for (const auto& [mf, mt] : m) {
        if (mf == f && mt != t) return false;
        known |= mf == f;
      }
      if (!known) m.emplace_back(f, t);
    }
  }
  for (const auto& [f, t] : m) {
    for (std::string_view st : stays)
      if (st == f || st == t) return false;
  }
  return true;
}

// A probed text cut at every place one of the probed cell's names stands as
// a whole token (the longest name at each place): literal pieces and names.
struct Template {
  struct Piece {
    std::string_view text;
    bool name = false;
  };
  std::vector<Piece> pieces;
  size_t size = 0;
};

Template make_template(const std::string& s, const std::vector<std::string_view>& names) {
  Template t;
  t.size = s.size();
  size_t lit = 0;
  for (size_t i = 0; i < s.size();) {
    std::string_view best;
    if (i == 0 || !token_char(s[i - 1])) {
      for (std::string_view f : names) {
        if (f.size() > s.size() - i || f.size() <= best.size()) continue;
        if (s.compare(i, f.size(), f) != 0) continue;
        if (i + f.size() < s.size() && token_char(s[i + f.size()])) continue;
        best = f;
      }
    }
    if (best.empty()) {
      ++i;
      continue;
    }
    if (i > lit) t.pieces.push_back({std::string_view(s).substr(lit, i - lit), false});
    t.pieces.push_back({best, true});
    i += best.size();
    lit = i;
  }
  if (lit < s.size()) t.pieces.push_back({std::string_view(s).substr(lit), false});
  return t;
}

// The text with each name replaced by its image under `m` (all at once, so a
// swap a ↔ b is a swap).
std::string render(const Template& t, const NameMap& m) {
  std::string out;
  out.reserve(t.size + 32);
  for (const auto& p : t.pieces) {
    std::string_view v = p.text;
    if (p.name) {
      for (const auto& [f, to] : m) {
        if (f == v) {
          v = to;
          break;
        }
      }
    }
    out.append(v);
  }
  return out;
}

// A probed cell prepared for renaming: each hop's reason and backend cut at
// the probed source's and destination's names.
struct CellTemplate {
  std::vector<std::pair<Template, Template>> hops;  // reason, backend
};

CellTemplate make_cell_template(const Cell& probed, const std::vector<std::string>& src, const std::vector<std::string>& dst) {
  std::vector<std::string_view> names;
  for (const auto* l : {&src, &dst})
    for (const std::string& n : *l)
      if (!n.empty()) names.push_back(n);
  CellTemplate ct;
  for (const Hop& h : probed.hops) ct.hops.emplace_back(make_template(h.reason, names), make_template(h.backend, names));
  return ct;
}

// A probed cell as another (source, destination) of the same classes would have got it.
Cell renamed_cell(const Cell& probed, const CellTemplate& ct, const NameMap& m) {
  Cell c;
  c.symbol = probed.symbol;
  c.hops.reserve(probed.hops.size());
  for (size_t k = 0; k < probed.hops.size(); ++k) {
    const Hop& ph = probed.hops[k];
    Hop h;
    h.symbol = ph.symbol;
    h.request = ph.request;
    h.outcome = ph.outcome;
    h.http_status = ph.http_status;
    h.config_refs = ph.config_refs;
    h.reason = render(ct.hops[k].first, m);
    h.backend = render(ct.hops[k].second, m);
    c.hops.push_back(std::move(h));
  }
  return c;
}

bool backs(const Destination& d, const Source& s) {
  return std::find(d.backends.begin(), d.backends.end(), s.id) != d.backends.end();
}

struct Prepared {
  Table table;
  std::vector<std::vector<int32_t>> backend_pods;  // per destination: one pod index per backend (for app inference)
};

Prepared prepare(const mesh::World& w, const TableOptions& o) {
  Prepared p;
  Table& t = p.table;
  // Rows: one per workload (its first scheduled, non-hostNetwork pod), sorted.
  std::map<std::string, const mesh::WorldPod*> rows;
  for (const mesh::WorldPod& pod : w.pods()) {
    if (!pod.scheduled() || pod.host_network || pod.namespace_ == "kube-system") continue;
    if (!any_selects(o.from, pod)) continue;
    rows.emplace(workload_of(pod), &pod);
  }
  for (const auto& [id, pod] : rows) {
    Source s;
    s.id = id;
    s.namespace_ = pod->namespace_;
    s.workload = id.substr(id.find('/') + 1);
    s.pod = pod->namespace_ + "/" + pod->name;
    s.sidecar = pod->injected;
    t.sources.push_back(std::move(s));
  }
  bool external = o.external && (o.from.empty() || std::any_of(o.from.begin(), o.from.end(), [](const Selector& s) { return s.external; }));
  if (external) t.sources.push_back(Source{"external", "", "", "", false});

  // Columns: every Kubernetes Service port with endpoints selected by --to.
  std::vector<const mesh::WorldService*> services;
  for (const mesh::WorldService& s : w.services()) {
    if (s.origin != mesh::WorldService::Origin::kKubernetes) continue;
    if (s.namespace_ == "kube-system") continue;
    services.push_back(&s);
  }
  std::sort(services.begin(), services.end(), [](const auto* a, const auto* b) {
    return std::tie(a->namespace_, a->name) < std::tie(b->namespace_, b->name);
  });
  bool service_entries = false;
  for (const mesh::WorldService& s : w.services()) service_entries |= s.origin == mesh::WorldService::Origin::kServiceEntry;
  if (service_entries) t.not_modelled.push_back("whatif: ServiceEntry hosts are not probed (servers outside the mesh are not simulated yet)");
  for (const mesh::WorldService* s : services) {
    for (const mesh::ServicePortInfo& sp : s->ports) {
      if (sp.k8s_protocol != "TCP") continue;
      Destination d;
      d.namespace_ = s->namespace_;
      d.service = s->name;
      d.host = s->hostname;
      d.port = sp.port;
      d.port_name = sp.name;
      d.id = s->namespace_ + "/" + s->name + ":" + std::to_string(sp.port);
      choose_protocol(d, sp.protocol);
      std::map<std::string, int32_t> backends;
      bool selected = o.to.empty();
      auto it = s->endpoints.find(sp.port);
      if (it != s->endpoints.end()) {
        for (const mesh::Endpoint& e : it->second) {
          if (e.pod < 0) continue;
          const mesh::WorldPod& pod = w.pods()[static_cast<size_t>(e.pod)];
          backends.emplace(workload_of(pod), e.pod);
          for (const Selector& sel : o.to) selected |= selects_pod(sel, pod);
        }
      }
      if (!selected && !o.to.empty()) {
        // A selector naming the Service itself (NS/SERVICE) selects it too.
        for (const Selector& sel : o.to) {
          if (sel.labels.empty() && (sel.namespace_.empty() || sel.namespace_ == s->namespace_) &&
              (sel.workload.empty() || sel.workload == s->name)) {
            selected = true;
          }
        }
      }
      if (!selected) continue;
      std::vector<int32_t> pods;
      for (const auto& [name, pod] : backends) {
        d.backends.push_back(name);
        pods.push_back(pod);
      }
      t.destinations.push_back(std::move(d));
      p.backend_pods.push_back(std::move(pods));
    }
  }
  t.cells.assign(t.sources.size() * t.destinations.size(), Cell{});
  for (const auto& nm : mesh::not_modelled(w.resources(), &w.mesh_config())) t.not_modelled.push_back(nm.line());
  return p;
}

// Resolves protocols left to the application (unnamed ports) from the
// simulation's inferred server apps.
void resolve_app_protocols(Prepared& p, const sim::MeshSimulation& ms, const mesh::World& w) {
  const auto& apps = ms.inferred_apps();
  for (size_t i = 0; i < p.table.destinations.size(); ++i) {
    Destination& d = p.table.destinations[i];
    if (d.protocol.empty()) {
      d.protocol = "http";
      d.protocol_reason = "port protocol not declared (Istio sniffs); the application speaks HTTP";
    }
    const mesh::WorldService* s = w.service_by_hostname(d.host);
    if (!s || p.backend_pods[i].empty() || d.protocol == "grpc" || d.protocol == "tls") continue;
    const mesh::WorldPod& pod = w.pods()[static_cast<size_t>(p.backend_pods[i].front())];
    uint32_t target = 0;
    auto it = s->endpoints.find(d.port);
    if (it != s->endpoints.end()) {
      for (const mesh::Endpoint& e : it->second) {
        if (e.pod == p.backend_pods[i].front()) target = e.port;
      }
    }
    auto a = apps.find(pod.namespace_ + "/" + pod.name + ":" + std::to_string(target));
    if (a == apps.end()) continue;
    // A client speaks what the server application speaks, whatever Istio
    // thinks the port carries (a MySQL server on a port named "tcp" gets
    // MySQL clients).
    const char* by_app = a->second.kind == sim::ServerAppKind::kMysql     ? "mysql"
                         : a->second.kind == sim::ServerAppKind::kTcpEcho ? "tcp"
                                                                          : nullptr;
    if (by_app && d.protocol != by_app) {
      d.protocol = by_app;
      d.protocol_reason += std::string("; the application is ") + sim::to_string(a->second.kind) + " (" + a->second.reason + ")";
    }
  }
}

// Probes one cell on a built simulation.
Cell probe_cell(sim::MeshSimulation& ms, const Source& src, const Destination& d, const TableOptions& o) {
  Cell cell;
  if (d.protocol == "tls") {
    Hop h;
    h.reason = "not probed: TLS-originating application clients are not probed by whatif (" + d.protocol_reason +
               "); use meshsim probe --client-tls tls";
    cell.hops.push_back(std::move(h));
    cell.symbol = '?';
    return cell;
  }
  const mesh::World& w = ms.world();
  std::vector<HttpRequest> requests = d.protocol == "http" ? o.requests : std::vector<HttpRequest>{HttpRequest{}};
  // The pods behind the port (each endpoint's pod, once).
  size_t pods = 0;
  if (const mesh::WorldService* s = w.service_by_hostname(d.host)) {
    std::set<int32_t> ps;
    if (auto it = s->endpoints.find(d.port); it != s->endpoints.end())
      for (const mesh::Endpoint& e : it->second)
        if (e.pod >= 0) ps.insert(e.pod);
    pods = ps.size();
  }
  for (const HttpRequest& rq : requests) {
    // Tried until every pod behind the port has answered (8 tries per pod at
    // most). A workload's hop is the one of its first pod by name, so which
    // replica a load balancer happened to pick first — a draw that depends
    // on what the simulation did before — does not show in the cell.
    std::map<std::string, std::pair<std::string, Hop>> by_backend;  // workload → (pod, hop)
    std::set<std::string> pods_seen;
    size_t want = std::max<size_t>(1, std::max(pods, d.backends.size()));
    for (size_t attempt = 0; attempt < 8 * want && pods_seen.size() < want; ++attempt) {
      sim::ProbeRequest req;
      req.from = src.pod.empty() ? "external" : src.pod;
      req.to = d.host + ":" + std::to_string(d.port);
      req.protocol = d.protocol;
      req.method = rq.method;
      req.path = rq.path;
      req.timeout = Duration::seconds(5);
      auto r = sim::probe_on(ms, req);
      Hop h;
      if (!r.ok()) {
        h.reason = "probe failed: " + r.message();
        by_backend.emplace("", std::make_pair(std::string(), std::move(h)));
        break;
      }
      h = hop_of(*r, d.protocol);
      if (d.protocol == "http") h.request = rq.method + " " + rq.path;
      // Which backend answered: the server sidecar's pod, else the address the client reached.
      const mesh::WorldPod* backend = nullptr;
      if (r->server_sidecar) backend = sim::find_pod_ref(w, r->server_sidecar->pod);
      if (!backend && r->client_sidecar && !r->client_sidecar->upstream_host.empty()) {
        if (auto ip = parse_ipv4(r->client_sidecar->upstream_host.substr(0, r->client_sidecar->upstream_host.rfind(':'))); ip.ok()) {
          backend = w.pod_by_ip(*ip);
        }
      }
      if (!backend && r->wire.observed && !r->wire.to.empty()) {
        if (auto ip = parse_ipv4(r->wire.to.substr(0, r->wire.to.rfind(':'))); ip.ok()) backend = w.pod_by_ip(*ip);
      }
      h.backend = backend ? workload_of(*backend) : "";
      std::string pod = backend ? backend->namespace_ + "/" + backend->name : "";
      pods_seen.insert(pod);
      auto [it, fresh] = by_backend.emplace(h.backend, std::make_pair(pod, h));
      if (!fresh && pod < it->second.first) it->second = {pod, std::move(h)};
      if (!backend) break;  // nothing answered: other tries would not reach another backend either
    }
    for (auto& [name, ph] : by_backend) cell.hops.push_back(std::move(ph.second));
  }
  std::sort(cell.hops.begin(), cell.hops.end(), [](const Hop& a, const Hop& b) {
    return std::tie(a.request, a.backend) < std::tie(b.request, b.backend);
  });
  cell.symbol = cell.hops.empty() ? '?' : cell.hops.front().symbol;
  for (const Hop& h : cell.hops) {
    if (h.symbol != cell.symbol) cell.symbol = '~';
  }
  return cell;
}

// Worker processes: each builds its own simulation and probes its rows
// (every jobs-th), writing one JSON line per cell to a pipe.
struct Worker {
  pid_t pid = -1;
  int fd = -1;
  std::string buf;
};

// Probes `cells` (row-major indices) on one simulation, in order.
// `sidecar_pods`: the pods whose sidecars are built (unset: every one).
Status run_probes(std::shared_ptr<const mesh::World> w, Prepared& p, const TableOptions& o, const std::vector<size_t>& cells,
                  const std::optional<std::set<std::string>>& sidecar_pods, const std::function<void(size_t cell, Cell&&)>& emit) {
  sim::MeshSimulationOptions mo;
  mo.seed = o.seed;
  mo.kubelet_probes = false;
  mo.sidecar_pods = sidecar_pods;
  sim::MeshSimulation ms(w, mo);
  if (Status st = ms.build(); !st.ok()) return st;
  resolve_app_protocols(p, ms, *w);
  const Table& t = p.table;
  const size_t cols = t.destinations.size();
  // Never a silent wrong answer: a probe from or to a pod whose sidecar was
  // left out would see no sidecar.
  if (sidecar_pods) {
    for (size_t i : cells) {
      std::vector<std::string> pods = {t.sources[i / cols].pod};
      if (const mesh::WorldService* s = w->service_by_hostname(t.destinations[i % cols].host)) {
        if (auto it = s->endpoints.find(t.destinations[i % cols].port); it != s->endpoints.end())
          for (const mesh::Endpoint& e : it->second)
            if (e.pod >= 0) pods.push_back(w->pods()[static_cast<size_t>(e.pod)].namespace_ + "/" + w->pods()[static_cast<size_t>(e.pod)].name);
      }
      for (const std::string& k : pods) {
        if (k.empty() || sidecar_pods->count(k)) continue;
        const mesh::WorldPod* pod = sim::find_pod_ref(*w, k);
        if (pod && pod->injected) return Error{"internal: whatif left out the sidecar of " + k + ", which a probe reaches"};
      }
    }
  }
  for (size_t i : cells) {
    const Source& src = t.sources[i / cols];
    emit(i, probe_cell(ms, src, t.destinations[i % cols], o));
  }
  return Status::Ok();
}

// Which cells are probed, and where the others come from.
struct ProbePlan {
  std::vector<size_t> probed;       // row-major cell indices, ascending
  std::vector<int64_t> from;        // per cell: -1 probed, else the probed cell it is renamed from
  std::vector<std::vector<std::string>> source_names, destination_names;  // per row, per column
  std::optional<std::set<std::string>> sidecar_pods;  // the pods the probes can reach (unset: all)
  size_t destination_classes = 0;
};

// A cell is the probe of the first cell (row-major) with the same source
// class, destination class and relation between the two — whether the source
// backs the destination, shares its ServiceAccount, runs on its node — renamed;
// a source that backs a Service with several workloads behind it is probed.
ProbePlan plan_probes(const mesh::World& w, const Prepared& p, const std::vector<size_t>& src_rep, const std::vector<size_t>& dst_rep,
                      bool grouped) {
  const Table& t = p.table;
  const size_t rows = t.sources.size(), cols = t.destinations.size();
  ProbePlan plan;
  plan.from.assign(rows * cols, -1);
  std::set<size_t> dclasses(dst_rep.begin(), dst_rep.end());
  plan.destination_classes = dclasses.size();
  std::vector<const mesh::WorldPod*> src_pod(rows, nullptr);
  for (size_t r = 0; r < rows; ++r) src_pod[r] = t.sources[r].pod.empty() ? nullptr : sim::find_pod_ref(w, t.sources[r].pod);
  // The pods behind each destination (every endpoint of its port).
  std::vector<std::vector<const mesh::WorldPod*>> dst_pods(cols);
  for (size_t c = 0; c < cols; ++c) {
    const mesh::WorldService* s = w.service_by_hostname(t.destinations[c].host);
    if (!s) continue;
    if (auto it = s->endpoints.find(t.destinations[c].port); it != s->endpoints.end()) {
      for (const mesh::Endpoint& e : it->second)
        if (e.pod >= 0) dst_pods[c].push_back(&w.pods()[static_cast<size_t>(e.pod)]);
    }
  }
  std::vector<std::vector<std::string>>& sn = plan.source_names;
  std::vector<std::vector<std::string>>& dn = plan.destination_names;
  sn.resize(rows);
  dn.resize(cols);
  for (size_t r = 0; r < rows; ++r) sn[r] = source_names(w, t.sources[r]);
  for (size_t c = 0; c < cols; ++c) dn[c] = destination_names(w, t.destinations[c]);
  // Relation bits per cell: backs, same ServiceAccount, same node.
  std::map<std::tuple<size_t, size_t, int, size_t>, size_t> first;
  NameMap m;
  NameLists lists;
  for (size_t r = 0; r < rows; ++r) {
    for (size_t c = 0; c < cols; ++c) {
      const size_t i = r * cols + c;
      const Destination& d = t.destinations[c];
      bool b = backs(d, t.sources[r]);
      int rel = b ? 1 : 0;
      if (const mesh::WorldPod* sp = src_pod[r]) {
        bool same_sa = false, same_node = false;
        for (const mesh::WorldPod* bp : dst_pods[c]) {
          same_sa |= bp->namespace_ == sp->namespace_ && bp->service_account == sp->service_account;
          same_node |= bp->node == sp->node;
        }
        rel |= (same_sa ? 2 : 0) | (same_node ? 4 : 0) | 8;
      }
      size_t alone = (!grouped || (b && d.backends.size() > 1)) ? i + 1 : 0;
      auto [it, fresh] = first.emplace(std::make_tuple(src_rep[r], dst_rep[c], rel, alone), i);
      if (fresh) continue;
      const size_t j = it->second, r0 = j / cols, c0 = j % cols;
      lists.clear();
      if (r0 != r) lists.emplace_back(&sn[r0], &sn[r]);
      if (c0 != c) lists.emplace_back(&dn[c0], &dn[c]);
      if (!name_map(lists, m)) continue;  // the names do not rename unambiguously: probed
      plan.from[i] = static_cast<int64_t>(j);
    }
  }
  for (size_t i = 0; i < rows * cols; ++i)
    if (plan.from[i] < 0) plan.probed.push_back(i);
  // Only the pods a probe can reach need a sidecar: the probed sources and
  // every pod behind a probed destination. The others are the sole backends of
  // destinations in a class, which no object names, so no route leads to them.
  bool every_destination_probed = true;
  std::vector<bool> dst_probed(cols, false);
  for (size_t i : plan.probed) dst_probed[i % cols] = true;
  for (size_t c = 0; c < cols; ++c) every_destination_probed &= dst_probed[c] || dst_rep[c] != c;
  if (grouped && every_destination_probed) {
    std::set<std::string> pods;
    for (size_t i : plan.probed) {
      if (src_pod[i / cols]) pods.insert(src_pod[i / cols]->namespace_ + "/" + src_pod[i / cols]->name);
    }
    std::vector<bool> member(w.pods().size(), false);
    for (size_t c = 0; c < cols; ++c) {
      if (dst_probed[c]) continue;
      for (const mesh::WorldPod* bp : dst_pods[c]) member[static_cast<size_t>(bp - w.pods().data())] = true;
    }
    for (size_t c = 0; c < cols; ++c) {
      if (!dst_probed[c]) continue;
      for (const mesh::WorldPod* bp : dst_pods[c]) member[static_cast<size_t>(bp - w.pods().data())] = false;
    }
    for (size_t k = 0; k < w.pods().size(); ++k) {
      const mesh::WorldPod& pod = w.pods()[k];
      if (!member[k]) pods.insert(pod.namespace_ + "/" + pod.name);
    }
    plan.sidecar_pods = std::move(pods);
  }
  return plan;
}

}  // namespace

std::vector<size_t> source_classes(const mesh::World& w, const Table& t) {
  const mesh::ResourceSet& rs = w.resources();
  // Label keys that client-side selectors read.
  std::set<std::string> keys = {"istio.io/rev"};
  auto add = [&](const std::optional<mesh::WorkloadSelector>& sel) {
    if (sel)
      for (const auto& [k, v] : sel->match_labels) keys.insert(k);
  };
  for (const auto& x : rs.sidecars) add(x.workload_selector);
  for (const auto& x : rs.destination_rules) add(x.workload_selector);
  for (const auto& x : rs.telemetries) add(x.selector);
  for (const auto& x : rs.gateways)
    for (const auto& [k, v] : x.selector) keys.insert(k);
  // The source side of every AuthorizationPolicy: identity patterns and IP blocks.
  std::vector<std::string> identities, ips;
  auto append = [](std::vector<std::string>& to, const std::vector<std::string>& from) { to.insert(to.end(), from.begin(), from.end()); };
  for (const auto& ap : rs.authorization_policies) {
    for (const auto& rule : ap.rules) {
      for (const auto& f : rule.from) {
        append(identities, f.principals);
        append(identities, f.not_principals);
        append(identities, f.service_accounts);
        append(identities, f.not_service_accounts);
        append(ips, f.ip_blocks);
        append(ips, f.not_ip_blocks);
        append(ips, f.remote_ip_blocks);
        append(ips, f.not_remote_ip_blocks);
      }
      for (const auto& c : rule.when) {
        if (c.key == "source.principal" || c.key == "source.serviceAccount") {
          append(identities, c.values);
          append(identities, c.not_values);
        } else if (c.key == "source.ip" || c.key == "remote.ip") {
          append(ips, c.values);
          append(ips, c.not_values);
        }
      }
    }
  }
  std::vector<Cidr> blocks;
  bool unparsed_ip = false;
  for (const std::string& b : ips) {
    auto c = parse_cidr(b.find('/') == std::string::npos ? b + "/32" : b);
    if (c.ok()) blocks.push_back(*c);
    else unparsed_ip = true;
  }
  const std::string& td = w.mesh_config().trust_domain;
  std::map<std::string, size_t> first_of;
  std::vector<size_t> rep(t.sources.size());
  for (size_t r = 0; r < t.sources.size(); ++r) {
    rep[r] = r;
    const Source& s = t.sources[r];
    const mesh::WorldPod* pod = s.pod.empty() ? nullptr : sim::find_pod_ref(w, s.pod);
    if (!pod) continue;  // external: alone
    std::string sig = pod->namespace_ + '\n' + (pod->injected ? "sidecar" : "no sidecar") + '\n';
    for (const auto& [k, v] : pod->annotations) sig += "a:" + k + "=" + v + '\n';
    for (const auto& [k, v] : pod->proxy_metadata) sig += "m:" + k + "=" + v + '\n';
    sig += "app:" + pod->app_model + '\n';
    if (pod->node >= 0) {
      const mesh::Locality& l = w.nodes()[static_cast<size_t>(pod->node)].locality;
      sig += "loc:" + l.region + "/" + l.zone + "/" + l.subzone + '\n';
    }
    for (const std::string& k : keys) {
      auto it = pod->labels.find(k);
      sig += "l:" + k + (it == pod->labels.end() ? std::string("∅") : "=" + it->second) + '\n';
    }
    // Identity: named by a policy ⇒ the account itself; else how each pattern evaluates.
    const std::string& sa = pod->service_account;
    std::string principal = td + "/ns/" + pod->namespace_ + "/sa/" + sa, spiffe = "spiffe://" + principal,
                ns_sa = pod->namespace_ + "/" + sa;
    bool named = false;
    std::string bits;
    for (const std::string& v : identities) {
      named |= v.find(sa) != std::string::npos;
      bits += istio_string_match(v, principal) || istio_string_match(v, spiffe) ? '1' : '0';
      bits += istio_string_match(v, ns_sa) ? '1' : '0';
    }
    sig += named ? "sa:" + sa + '\n' : "id:" + bits + '\n';
    if (unparsed_ip) {
      sig += "ip:" + to_string(pod->ip) + '\n';
    } else {
      sig += "ipb:";
      for (const Cidr& c : blocks) sig += c.contains(pod->ip) ? '1' : '0';
      sig += '\n';
    }
    rep[r] = first_of.emplace(std::move(sig), r).first->second;
  }
  return rep;
}

Table plan_table(const mesh::World& w, const TableOptions& o) { return prepare(w, o).table; }

Result<Table> compute_table(std::shared_ptr<const mesh::World> w, const TableOptions& o) {
  Prepared p = prepare(*w, o);
  Table& t = p.table;
  const size_t total = t.cells.size();
  const size_t cols = t.destinations.size();
  std::vector<size_t> rep(t.sources.size()), drep(cols);
  for (size_t r = 0; r < rep.size(); ++r) rep[r] = r;
  for (size_t c = 0; c < cols; ++c) drep[c] = c;
  if (o.group_sources) {
    rep = source_classes(*w, t);
    drep = destination_classes(*w, t);
  }
  t.source_classes = std::set<size_t>(rep.begin(), rep.end()).size();
  ProbePlan plan = plan_probes(*w, p, rep, drep, o.group_sources);
  t.destination_classes = plan.destination_classes;
  const size_t probes = plan.probed.size();
  size_t done = 0;
  // The probes go to the workers by source row, round-robin over the rows
  // that have probes: a row's probes run in one simulation, in order.
  std::vector<size_t> worker_of_row(t.sources.size(), 0);
  size_t probed_rows = 0;
  {
    std::vector<bool> has(t.sources.size(), false);
    for (size_t i : plan.probed) has[i / std::max<size_t>(cols, 1)] = true;
    for (size_t r = 0; r < has.size(); ++r)
      if (has[r]) worker_of_row[r] = probed_rows++;
  }
  int jobs = std::max(1, std::min<int>(o.jobs, static_cast<int>(probed_rows)));
  auto cells_of = [&](size_t worker) {
    std::vector<size_t> cells;
    for (size_t i : plan.probed)
      if (worker_of_row[i / cols] % static_cast<size_t>(jobs) == worker) cells.push_back(i);
    return cells;
  };
  // The probed cells, then the others renamed from them.
  auto fill_renamed = [&] {
    std::map<size_t, CellTemplate> templates;  // by probed cell
    NameMap m;
    NameLists lists;
    for (size_t i = 0; i < total; ++i) {
      if (plan.from[i] < 0) continue;
      const size_t j = static_cast<size_t>(plan.from[i]), r = i / cols, c = i % cols, r0 = j / cols, c0 = j % cols;
      auto tit = templates.find(j);
      if (tit == templates.end())
        tit = templates.emplace(j, make_cell_template(t.cells[j], plan.source_names[r0], plan.destination_names[c0])).first;
      lists.clear();
      if (r0 != r) lists.emplace_back(&plan.source_names[r0], &plan.source_names[r]);
      if (c0 != c) lists.emplace_back(&plan.destination_names[c0], &plan.destination_names[c]);
      name_map(lists, m);  // succeeded when planned
      t.cells[i] = renamed_cell(t.cells[j], tit->second, m);
    }
    t.probes = probes;
    if (o.progress) o.progress(probes, probes);
  };
  if (jobs == 1 || probes == 0) {
    Status st = run_probes(w, p, o, cells_of(0), plan.sidecar_pods, [&](size_t i, Cell&& cell) {
      t.cells[i] = std::move(cell);
      ++done;
      if (o.progress && done < probes) o.progress(done, probes);
    });
    if (!st.ok()) return Error{st.message()};
    fill_renamed();
    return std::move(p.table);
  }
  std::fflush(nullptr);
  std::vector<Worker> workers(static_cast<size_t>(jobs));
  for (int i = 0; i < jobs; ++i) {
    int fds[2];
    if (pipe(fds) != 0) return Error{std::string("pipe: ") + std::strerror(errno)};
    pid_t pid = fork();
    if (pid < 0) return Error{std::string("fork: ") + std::strerror(errno)};
    if (pid == 0) {
      close(fds[0]);
      for (int k = 0; k < i; ++k) close(workers[static_cast<size_t>(k)].fd);
      Prepared mine = p;
      auto write_all = [&](const std::string& s) {
        size_t off = 0;
        while (off < s.size()) {
          ssize_t n = write(fds[1], s.data() + off, s.size() - off);
          if (n < 0 && errno == EINTR) continue;
          if (n <= 0) _exit(3);
          off += static_cast<size_t>(n);
        }
      };
      Status st = run_probes(w, mine, o, cells_of(static_cast<size_t>(i)), plan.sidecar_pods, [&](size_t cell_index, Cell&& cell) {
        nlohmann::json j = {{"cell", cell_index}, {"symbol", std::string(1, cell.symbol)}};
        nlohmann::json hops = nlohmann::json::array();
        for (const Hop& h : cell.hops) hops.push_back(hop_to_json<nlohmann::json>(h));
        j["hops"] = std::move(hops);
        write_all(j.dump() + "\n");
      });
      if (!st.ok()) write_all(nlohmann::json({{"error", st.message()}}).dump() + "\n");
      // Destination protocols resolved from the apps travel with worker 0's results.
      if (i == 0) {
        nlohmann::json protos = nlohmann::json::array();
        for (const Destination& d : mine.table.destinations) protos.push_back({d.protocol, d.protocol_reason});
        write_all(nlohmann::json({{"protocols", protos}}).dump() + "\n");
      }
      close(fds[1]);
      _exit(st.ok() ? 0 : 2);
    }
    close(fds[1]);
    workers[static_cast<size_t>(i)].pid = pid;
    workers[static_cast<size_t>(i)].fd = fds[0];
  }
  std::string error;
  size_t open = workers.size();
  while (open > 0) {
    std::vector<pollfd> pfds;
    std::vector<size_t> idx;
    for (size_t i = 0; i < workers.size(); ++i) {
      if (workers[i].fd >= 0) {
        pfds.push_back({workers[i].fd, POLLIN, 0});
        idx.push_back(i);
      }
    }
    if (poll(pfds.data(), pfds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      error = std::string("poll: ") + std::strerror(errno);
      break;
    }
    for (size_t k = 0; k < pfds.size(); ++k) {
      if (!(pfds[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      Worker& wk = workers[idx[k]];
      char chunk[65536];
      ssize_t n = read(wk.fd, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        close(wk.fd);
        wk.fd = -1;
        --open;
        continue;
      }
      wk.buf.append(chunk, static_cast<size_t>(n));
      size_t nl;
      while ((nl = wk.buf.find('\n')) != std::string::npos) {
        auto j = nlohmann::json::parse(wk.buf.substr(0, nl), nullptr, false);
        wk.buf.erase(0, nl + 1);
        if (j.is_discarded()) {
          error = "a worker process wrote a malformed result";
          continue;
        }
        if (j.contains("error")) {
          error = j["error"].get<std::string>();
        } else if (j.contains("protocols")) {
          for (size_t c = 0; c < t.destinations.size() && c < j["protocols"].size(); ++c) {
            t.destinations[c].protocol = j["protocols"][c][0].get<std::string>();
            t.destinations[c].protocol_reason = j["protocols"][c][1].get<std::string>();
          }
        } else {
          Cell cell;
          cell.symbol = j["symbol"].get<std::string>().at(0);
          for (const auto& h : j["hops"]) cell.hops.push_back(hop_from_json(h));
          size_t ci = j["cell"].get<size_t>();
          if (ci < total) t.cells[ci] = std::move(cell);
          ++done;
          if (o.progress && done < probes) o.progress(done, probes);
        }
      }
    }
  }
  for (Worker& wk : workers) {
    int status = 0;
    if (wk.fd >= 0) close(wk.fd);
    waitpid(wk.pid, &status, 0);
    if (error.empty() && (!WIFEXITED(status) || WEXITSTATUS(status) != 0)) error = "a worker process failed";
  }
  if (!error.empty()) return Error{error};
  if (done != probes) return Error{"worker processes returned " + std::to_string(done) + " of " + std::to_string(probes) + " probes"};
  fill_renamed();
  return std::move(p.table);
}

}  // namespace meshsim::whatif
