#include "sim/whatif/plan.h"

#include <algorithm>
#include <map>
#include <cstdlib>
#include <set>

#include "mesh/loader.h"
#include "sim/runtime/mesh_simulation.h"

namespace meshsim::whatif {

bool StrictPlan::safe() const {
  return !steps.empty() && std::all_of(steps.begin(), steps.end(), [](const PlanStep& s) { return s.safe(); });
}

std::vector<HealthProbe> health_probes(std::shared_ptr<const mesh::World> w, uint64_t seed) {
  sim::MeshSimulationOptions mo;
  mo.seed = seed;
  mo.kubelet_probes = true;
  sim::MeshSimulation ms(w, mo);
  std::map<std::string, HealthProbe> last;
  if (!ms.build().ok()) return {};
  int token = ms.sim().subscribe([&](const sim::Observation& o) {
    const auto* a = std::get_if<sim::AppOutcomeObservation>(&o.payload);
    if (!a || a->client.rfind("kubelet/", 0) != 0) return;
    HealthProbe& h = last[std::string(a->client)];
    h.id = a->client;
    std::string rest(a->client.substr(8));  // ns/pod/container/kind
    size_t second = rest.find('/', rest.find('/') + 1);
    h.pod = rest.substr(0, second);
    h.target = a->target;
    h.ok = a->outcome == sim::AppOutcomeObservation::Outcome::kOk;
    h.error = h.ok ? std::string() : std::string(a->error.empty() ? sim::to_string(a->outcome) : a->error);
  });
  // Long enough for initial delays and a few periods (the FAQ's probes: 2-10 s).
  ms.run_until(Duration::seconds(60));
  ms.sim().unsubscribe(token);
  std::vector<HealthProbe> out;
  for (auto& [id, h] : last) out.push_back(std::move(h));
  return out;
}

namespace {

// Probes that passed in `before` and fail in `after`.
std::vector<HealthProbe> newly_failing(const std::vector<HealthProbe>& before, const std::vector<HealthProbe>& after) {
  std::map<std::string, bool> ok;
  for (const auto& h : before) ok[h.id] = h.ok;
  std::vector<HealthProbe> out;
  for (const auto& h : after) {
    auto it = ok.find(h.id);
    if (!h.ok && it != ok.end() && it->second) out.push_back(h);
  }
  return out;
}

Result<mesh::ResourceSet> parse(const std::string& yaml, const std::string& file) {
  mesh::ResourceSet rs;
  std::vector<mesh::Diagnostic> diags;
  mesh::load_text(yaml, file, rs, diags);
  if (mesh::has_errors(diags)) {
    std::string m;
    for (const auto& d : diags) m += d.format() + "\n";
    return Error{"the planner wrote an object meshsim rejects (a bug): " + m};
  }
  return rs;
}

std::string labels_flow(const mesh::Labels& l) {
  std::string out;
  for (const auto& [k, v] : l) out += (out.empty() ? "" : ", ") + k + ": \"" + v + "\"";
  return "{" + out + "}";
}

// The namespace-wide PeerAuthentication STRICT for `ns`: the oldest existing
// namespace-wide policy is rewritten (Istio uses the oldest), else "default".
std::string strict_yaml(const mesh::ResourceSet& rs, const std::string& ns) {
  std::string name = "default";
  const mesh::PeerAuthentication* oldest = nullptr;
  for (const auto& pa : rs.peer_authentications) {
    if (pa.meta.namespace_ != ns || pa.has_selector()) continue;
    if (!oldest || pa.source.load_order < oldest->source.load_order) oldest = &pa;
  }
  if (oldest) name = oldest->meta.name;
  return "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata:\n  name: " + name + "\n  namespace: " + ns +
         "\nspec:\n  mtls:\n    mode: STRICT\n";
}

std::string inject_yaml(const mesh::ResourceSet& rs, const std::string& ns) {
  mesh::Labels labels;
  for (const auto& n : rs.namespaces) {
    if (n.meta.name == ns) labels = n.meta.labels;
  }
  labels["istio-injection"] = "enabled";
  return "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: " + ns + "\n  labels: " + labels_flow(labels) + "\n";
}

struct Exception {
  std::string ns, service;
  mesh::Labels selector;
  std::set<uint32_t> ports;  // target ports
  std::set<std::string> clients;
};

std::string exception_yaml(const Exception& e) {
  std::string y = "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata:\n  name: " + e.service +
                  "-permissive-ports\n  namespace: " + e.ns + "\nspec:\n  selector:\n    matchLabels: " + labels_flow(e.selector) +
                  "\n  mtls:\n    mode: STRICT\n  portLevelMtls:\n";
  for (uint32_t p : e.ports) y += "    " + std::to_string(p) + ":\n      mode: PERMISSIVE\n";
  return y;
}

std::vector<std::string> broken_edges(const Comparison& c) {
  std::vector<std::string> out;
  for (const auto& ch : c.changes) {
    if (ch.broke) out.push_back(ch.source + " → " + ch.destination);
  }
  return out;
}

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

}  // namespace

Result<StrictPlan> plan_strict(const mesh::ResourceSet& base, const std::vector<std::string>& namespaces, const WorldBuilder& build,
                               const TableOptions& options) {
  StrictPlan plan;
  plan.namespaces = namespaces;
  auto table_of = [&](const mesh::ResourceSet& rs) -> Result<Table> {
    auto w = build(rs);
    if (!w.ok()) return Error{w.message()};
    return compute_table(*w, options);
  };
  auto w0 = build(base);
  if (!w0.ok()) return Error{w0.message()};
  const std::string root_ns = (*w0)->mesh_config().root_namespace;
  for (const std::string& ns : namespaces) {
    bool exists = std::any_of((*w0)->namespaces().begin(), (*w0)->namespaces().end(), [&](const auto& n) { return n.name == ns; });
    if (!exists) return Error{"--plan-strict: namespace \"" + ns + "\" does not exist in the manifests"};
  }
  auto t0 = compute_table(*w0, options);
  if (!t0.ok()) return Error{t0.message()};
  const std::vector<HealthProbe> probes0 = health_probes(*w0, options.seed);
  auto probes_of = [&](const mesh::ResourceSet& rs) -> std::vector<HealthProbe> {
    auto w = build(rs);
    return w.ok() ? newly_failing(probes0, health_probes(*w, options.seed)) : std::vector<HealthProbe>{};
  };

  std::string strict_text;
  for (const std::string& ns : namespaces) strict_text += (strict_text.empty() ? "" : "---\n") + strict_yaml(base, ns);
  auto strict = parse(strict_text, "plan/strict.yaml");
  if (!strict.ok()) return Error{strict.message()};
  auto with = [&](const mesh::ResourceSet& rs, const mesh::ResourceSet& change) {
    mesh::ResourceSet out = rs;
    mesh::ResourceSet c = change;
    apply_change(out, std::move(c));
    return out;
  };
  auto compare = [&](const mesh::ResourceSet& head) -> Result<Comparison> {
    auto t = table_of(head);
    if (!t.ok()) return Error{t.message()};
    return compare_tables(*t0, std::move(*t), diff_objects(base, head), root_ns);
  };

  mesh::ResourceSet naive_rs = with(base, *strict);
  auto naive = compare(naive_rs);
  if (!naive.ok()) return Error{naive.message()};
  plan.naive = std::move(*naive);
  plan.naive_broken_probes = probes_of(naive_rs);

  // Step 1: sidecars for the namespaces of plaintext clients that are in the mesh's cluster.
  std::map<std::string, std::vector<std::string>> inject;  // ns → edges
  for (const auto& ch : plan.naive.changes) {
    if (!ch.broke || ch.source == "external") continue;
    const Source* src = nullptr;
    for (const auto& s : plan.naive.head.sources) {
      if (s.id == ch.source) src = &s;
    }
    if (src && !src->sidecar) inject[src->namespace_].push_back(ch.source + " → " + ch.destination);
  }
  mesh::ResourceSet current = base;
  if (!inject.empty()) {
    std::string inject_text;
    for (const auto& [ns, edges] : inject) inject_text += (inject_text.empty() ? "" : "---\n") + inject_yaml(current, ns);
    auto injection = parse(inject_text, "plan/inject.yaml");
    if (!injection.ok()) return Error{injection.message()};
    // A client that gets a sidecar sends mTLS wherever auto mTLS says the
    // server has one; ports whose server bypasses its sidecar
    // (excludeInboundPorts, …) then need TLS off (a DestinationRule) —
    // applied first, so the injection breaks nothing.
    auto tentative = compare(with(current, *injection));
    if (!tentative.ok()) return Error{tentative.message()};
    std::map<std::string, std::set<uint32_t>> disable;  // host → ports
    std::vector<std::string> edges;
    for (const auto& ch : tentative->changes) {
      if (!ch.broke) continue;
      for (const auto& d : tentative->head.destinations) {
        if (d.id == ch.destination) disable[d.host].insert(d.port);
      }
      edges.push_back(ch.source + " → " + ch.destination);
    }
    if (!disable.empty()) {
      std::string text;
      for (const auto& [host, ports] : disable) {
        std::string name = host.substr(0, host.find('.'));
        std::string ns = host.substr(host.find('.') + 1);
        ns = ns.substr(0, ns.find('.'));
        text += (text.empty() ? "" : "---\n") + std::string("apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata:\n  name: ") +
                name + "-plaintext-ports\n  namespace: " + ns + "\nspec:\n  host: " + host + "\n  trafficPolicy:\n    portLevelSettings:\n";
        for (uint32_t port : ports) text += "    - port: {number: " + std::to_string(port) + "}\n      tls: {mode: DISABLE}\n";
      }
      auto change = parse(text, "plan/plaintext-ports.yaml");
      if (!change.ok()) return Error{change.message()};
      mesh::ResourceSet next = with(current, *change);
      auto cmp = compare(next);
      if (!cmp.ok()) return Error{cmp.message()};
      PlanStep step;
      step.title = "Send plaintext to ports whose server bypasses its sidecar";
      step.why = "once injected, these clients would send mTLS there: " + join(edges, ", ");
      step.action = text;
      step.verified = std::move(*cmp);
      step.broken_probes = probes_of(next);
      plan.steps.push_back(std::move(step));
      current = std::move(next);
    }
    for (const auto& [ns, why_edges] : inject) {
      auto change = parse(inject_yaml(current, ns), "plan/inject-" + ns + ".yaml");
      if (!change.ok()) return Error{change.message()};
      mesh::ResourceSet next = with(current, *change);
      auto cmp = compare(next);
      if (!cmp.ok()) return Error{cmp.message()};
      PlanStep step;
      step.title = "Inject sidecars into namespace " + ns + " (label it, then restart its pods)";
      step.why = "plaintext client(s) without a sidecar: " + join(why_edges, ", ");
      step.action = "kubectl label namespace " + ns + " istio-injection=enabled --overwrite && kubectl rollout restart deployment -n " + ns;
      step.verified = std::move(*cmp);
      step.broken_probes = probes_of(next);
      plan.steps.push_back(std::move(step));
      current = std::move(next);
    }
  }

  // Step 2: what still breaks under STRICT gets a port-level PERMISSIVE exception.
  auto after = compare(with(current, *strict));
  if (!after.ok()) return Error{after.message()};
  std::map<std::string, Exception> exceptions;
  for (const auto& ch : after->changes) {
    std::string dest_ns = ch.destination.substr(0, ch.destination.find('/'));
    if (!ch.broke || std::find(namespaces.begin(), namespaces.end(), dest_ns) == namespaces.end()) continue;
    const Destination* d = nullptr;
    for (const auto& x : after->head.destinations) {
      if (x.id == ch.destination) d = &x;
    }
    const mesh::WorldService* svc = d ? (*w0)->service_by_hostname(d->host) : nullptr;
    if (!svc || !svc->selector || svc->selector->empty()) continue;
    Exception& e = exceptions[svc->namespace_ + "/" + svc->name];
    e.ns = svc->namespace_;
    e.service = svc->name;
    e.selector = *svc->selector;
    auto it = svc->endpoints.find(d->port);
    if (it != svc->endpoints.end()) {
      for (const auto& ep : it->second) e.ports.insert(ep.port);
    }
    e.clients.insert(ch.source);
  }
  // Health probes the kubelet sends in plaintext (rewriteAppHTTPProbers off)
  // fail under STRICT: their ports get the same exception.
  for (const HealthProbe& h : probes_of(with(current, *strict))) {
    const mesh::WorldPod* pod = nullptr;
    for (const auto& p : (*w0)->pods()) {
      if (p.namespace_ + "/" + p.name == h.pod) pod = &p;
    }
    if (!pod || std::find(namespaces.begin(), namespaces.end(), pod->namespace_) == namespaces.end()) continue;
    unsigned long port = std::strtoul(h.target.substr(h.target.rfind(':') + 1).c_str(), nullptr, 10);
    std::string workload = pod->owner_name.empty() ? pod->name : pod->owner_name;
    Exception& e = exceptions[pod->namespace_ + "/" + workload];
    e.ns = pod->namespace_;
    e.service = workload;
    for (const auto& [k, v] : pod->labels) {
      if (k != "pod-template-hash" && k.rfind("security.istio.io/", 0) != 0 && k.rfind("service.istio.io/", 0) != 0) e.selector[k] = v;
    }
    if (port) e.ports.insert(static_cast<uint32_t>(port));
    e.clients.insert("the kubelet's " + h.id.substr(h.id.rfind('/') + 1) + " probe (plaintext: rewriteAppHTTPProbers is off)");
  }
  mesh::ResourceSet final_rs = current;
  std::string exc_text;
  std::vector<std::string> exc_why;
  for (const auto& [key, e] : exceptions) {
    if (e.ports.empty()) continue;
    exc_text += (exc_text.empty() ? "" : "---\n") + exception_yaml(e);
    exc_why.push_back(key + " for " + join(std::vector<std::string>(e.clients.begin(), e.clients.end()), ", "));
  }
  if (!exc_text.empty()) {
    auto change = parse(exc_text, "plan/port-exceptions.yaml");
    if (!change.ok()) return Error{change.message()};
    final_rs = with(final_rs, *change);
    auto cmp = compare(final_rs);
    if (!cmp.ok()) return Error{cmp.message()};
    PlanStep step;
    step.title = "Keep plaintext ports open for clients that cannot have a sidecar";
    step.why = join(exc_why, "; ");
    step.action = exc_text;
    step.verified = std::move(*cmp);
    step.broken_probes = probes_of(final_rs);
    plan.steps.push_back(std::move(step));
  }

  // Step 3: the switch.
  final_rs = with(final_rs, *strict);
  auto last = compare(final_rs);
  if (!last.ok()) return Error{last.message()};
  PlanStep step;
  step.title = "Switch namespace(s) " + join(namespaces, ", ") + " to STRICT";
  size_t naive_breaks = plan.naive.broken() + plan.naive_broken_probes.size();
  step.why = naive_breaks ? std::to_string(naive_breaks) + " edge(s)/health probe(s) would break if switched first; the steps above keep them"
                          : "no client depends on plaintext";
  step.action = strict_text;
  step.verified = std::move(*last);
  step.broken_probes = probes_of(final_rs);
  plan.steps.push_back(std::move(step));
  return plan;
}

std::string plan_text(const StrictPlan& p) {
  std::string out = "STRICT plan for namespace(s) " + join(p.namespaces, ", ") + "\n\n";
  out += "switching right away: " + std::to_string(p.naive.broken()) + " edge(s) break\n";
  for (const auto& ch : p.naive.changes) {
    if (!ch.broke) continue;
    out += "  " + ch.source + " → " + ch.destination + ": " + std::string(1, ch.before) + " → " + std::string(1, ch.after) + "  " +
           ch.reason_after + "\n";
  }
  for (const auto& h : p.naive_broken_probes) out += "  health probe " + h.id + " (" + h.target + ") fails: " + h.error + "\n";
  for (const auto& ch : p.naive.changes) {
    if (ch.fixed) out += "  fixed by STRICT: " + ch.source + " → " + ch.destination + ": " + ch.reason_after + "\n";
  }
  out += "\nsteps\n";
  for (size_t i = 0; i < p.steps.size(); ++i) {
    const PlanStep& s = p.steps[i];
    out += "\n" + std::to_string(i + 1) + ". " + s.title + "\n   why: " + s.why + "\n";
    std::string action = s.action;
    std::string indented;
    size_t start = 0;
    while (start < action.size()) {
      size_t nl = action.find('\n', start);
      indented += "     " + action.substr(start, nl == std::string::npos ? std::string::npos : nl - start) + "\n";
      if (nl == std::string::npos) break;
      start = nl + 1;
    }
    out += "   apply:\n" + indented;
    auto broken = broken_edges(s.verified);
    out += "   verified: " + std::to_string(s.verified.cells) + " cells probed after this step, " +
           (broken.empty() ? std::string("no edge that worked is broken") : std::to_string(broken.size()) + " broken: " + join(broken, ", ")) +
           (s.verified.fixed() ? ", " + std::to_string(s.verified.fixed()) + " fixed" : std::string()) + "\n";
    for (const auto& h : s.broken_probes) out += "   health probe broken: " + h.id + " (" + h.target + "): " + h.error + "\n";
  }
  out += std::string("\n") + (p.safe() ? "plan is safe: every step verified" : "plan is NOT safe: a step still breaks edges (see above)") + "\n";
  return out;
}

std::string plan_markdown(const StrictPlan& p) {
  std::string out = "### STRICT plan for " + join(p.namespaces, ", ") + "\n\n";
  out += "Switching right away breaks **" + std::to_string(p.naive.broken()) + "** edge(s).\n\n";
  for (size_t i = 0; i < p.steps.size(); ++i) {
    const PlanStep& s = p.steps[i];
    out += std::to_string(i + 1) + ". **" + s.title + "** — " + s.why + " — " +
           (s.safe() ? std::string("verified ✅") : std::to_string(s.verified.broken()) + " broken ❌") + "\n\n```yaml\n" + s.action +
           (s.action.empty() || s.action.back() == '\n' ? "" : "\n") + "```\n\n";
  }
  return out;
}

}  // namespace meshsim::whatif
