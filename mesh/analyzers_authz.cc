#include "mesh/analyzers_authz.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <variant>
#include <vector>

#include "mesh/authz_translation.h"
#include "mesh/control_plane.h"
#include "mesh/interception.h"
#include "mesh/policy.h"
#include "proxy/rbac_config.h"

namespace meshsim::mesh {

bool namespace_pattern_matches(const std::string& ns, const std::string& exp) {
  if (exp == "*") return true;
  if (!exp.empty() && exp.front() == '*')
    return ns.size() >= exp.size() - 1 && ns.compare(ns.size() - (exp.size() - 1), exp.size() - 1, exp, 1) == 0;
  if (!exp.empty() && exp.back() == '*')
    return ns.compare(0, exp.size() - 1, exp, 0, exp.size() - 1) == 0 && ns.size() >= exp.size() - 1;
  return ns.size() == exp.size() && std::equal(ns.begin(), ns.end(), exp.begin(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
         });
}

namespace {

class AuthzAnalysis {
 public:
  AuthzAnalysis(const World& w, const AddFinding& add, std::set<std::string>& reported)
      : w_(w), add_(add), reported_(reported) {}

  void run() {
    authorization_tcp();
    authorization_plaintext_peers();
    authorization_allow_nothing();
  }

 private:
  void add(const char* code, const Object& o, const std::string& path, std::string msg, std::optional<Severity> sev = {}) {
    add_(code, o, path, std::move(msg), sev);
  }
  std::string pod_owner(const WorldPod& p) const {
    return std::string(kind_name(p.owner_kind)) + " " + p.namespace_ + "/" + (p.owner_name.empty() ? p.name : p.owner_name);
  }

  // ---- MS0113 / MS0134 / MS0135 authorization, through istiod's own translation ----------------------------
  //
  // For every workload with a sidecar that AuthorizationPolicies select, the
  // findings read the RBAC filters istiod generates for it
  // (build_authz_filters: the same code the simulated sidecars enforce) with
  // a three-valued evaluation: what a generated policy does when only the
  // destination port, the chain kind (HTTP or TCP) and whether the peer
  // presents a certificate are known. kNo is certain; kMaybe depends on the
  // request; kYes matches whatever the request.
  enum class Tri : uint8_t { kNo, kMaybe, kYes };
  struct Facts {
    std::optional<uint32_t> port;  // destination (target) port
    bool tcp = false;              // a network filter: no request, so header, path and metadata never match
    bool plaintext = false;        // the peer presents no certificate
  };
  static Tri tri_any_of(const std::vector<proxy::RbacMatcher>& v, const Facts& f) {
    Tri r = Tri::kNo;
    for (const auto& m : v) {
      Tri t = tri_eval(m, f);
      if (t == Tri::kYes) return Tri::kYes;
      if (t == Tri::kMaybe) r = Tri::kMaybe;
    }
    return r;
  }
  static Tri tri_eval(const proxy::RbacMatcher& m, const Facts& f) {
    using K = proxy::RbacMatcher::Kind;
    switch (m.kind) {
      case K::kAny: return Tri::kYes;
      case K::kAnd: {
        Tri r = Tri::kYes;
        for (const auto& c : m.children) {
          Tri t = tri_eval(c, f);
          if (t == Tri::kNo) return Tri::kNo;
          if (t == Tri::kMaybe) r = Tri::kMaybe;
        }
        return r;
      }
      case K::kOr: return tri_any_of(m.children, f);
      case K::kNot: {
        if (m.children.empty()) return Tri::kNo;
        Tri t = tri_eval(m.children.front(), f);
        return t == Tri::kYes ? Tri::kNo : t == Tri::kNo ? Tri::kYes : Tri::kMaybe;
      }
      case K::kDestinationPort:
        if (f.port) return *f.port == m.port ? Tri::kYes : Tri::kNo;
        return Tri::kMaybe;
      case K::kAuthenticated: return f.plaintext ? Tri::kNo : Tri::kMaybe;
      case K::kHeader:
      case K::kUrlPath:
      case K::kUriTemplate:
      case K::kMetadata: return f.tcp ? Tri::kNo : Tri::kMaybe;
      default: return Tri::kMaybe;
    }
  }
  // Envoy: a policy matches when some permission and some principal match.
  static Tri tri_policy(const proxy::RbacPolicy& p, const Facts& f) {
    Tri a = tri_any_of(p.permissions, f);
    if (a == Tri::kNo) return Tri::kNo;
    Tri b = tri_any_of(p.principals, f);
    if (b == Tri::kNo) return Tri::kNo;
    return a == Tri::kYes && b == Tri::kYes ? Tri::kYes : Tri::kMaybe;
  }
  // The AuthorizationPolicy fields (RbacMatcher::origin) of a generated
  // policy's leaves, in order, once each; `kind_only` keeps one kind.
  static void leaf_origins(const proxy::RbacMatcher& m, std::vector<std::string>& out,
                           std::optional<proxy::RbacMatcher::Kind> kind_only = {}) {
    using K = proxy::RbacMatcher::Kind;
    if (kind_only && m.kind == K::kNot) return;  // an exclusion requires nothing
    bool structural = m.kind == K::kAnd || m.kind == K::kOr || m.kind == K::kNot || m.kind == K::kAny;
    if (!structural && !m.origin.empty() && (!kind_only || *kind_only == m.kind)) {
      if (std::find(out.begin(), out.end(), m.origin) == out.end()) out.push_back(m.origin);
    }
    for (const auto& c : m.children) leaf_origins(c, out, kind_only);
  }

  static std::string joined(const std::vector<std::string>& v, const char* sep = ", ") {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : sep) + x;
    return s;
  }
  static std::string port_list(const std::vector<uint32_t>& ports) {
    std::string s;
    for (uint32_t p : ports) s += (s.empty() ? "" : ", ") + std::to_string(p);
    return (ports.size() == 1 ? "port " : "ports ") + s;
  }

  // One workload (the first pod of its owner) that AuthorizationPolicies select.
  struct AuthzWorkload {
    const WorldPod* pod = nullptr;
    std::string owner;  // "Deployment app/mysql"
    std::vector<const AuthorizationPolicy*> policies;
    AuthzFilters filters;
    std::vector<InboundPortPlan> ports;  // inbound ports its sidecar captures
  };
  const std::vector<AuthzWorkload>& authz_workloads() {
    if (authz_computed_) return authz_workloads_;
    authz_computed_ = true;
    if (w_.resources().authorization_policies.empty()) return authz_workloads_;
    std::set<std::string> seen;
    for (const auto& pod : w_.pods()) {
      if (!pod.injected || !seen.insert(pod_owner(pod)).second) continue;
      AuthzWorkload aw;
      aw.policies = authorization_policies_for(w_, pod.namespace_, pod.labels);
      if (aw.policies.empty()) continue;
      aw.pod = &pod;
      aw.owner = pod_owner(pod);
      aw.filters = build_authz_filters(w_, pod);
      for (auto& p : plan_inbound_ports(w_, pod))
        if (p.target_port <= 65535 && captures_inbound(pod.interception, static_cast<uint16_t>(p.target_port)))
          aw.ports.push_back(std::move(p));
      authz_workloads_.push_back(std::move(aw));
    }
    return authz_workloads_;
  }

  // The generated policy named `name` in the filter of `istio_action` on
  // HTTP or TCP chains: enforced rules first, then shadow rules (dry-run).
  struct Generated {
    const proxy::RbacPolicy* policy = nullptr;
    bool dry_run = false;
  };
  static const proxy::RbacFilterConfig* authz_filter(const AuthzFilters& f, bool tcp, std::string_view istio_action) {
    if (tcp) {
      for (const auto& nf : f.tcp)
        if (const auto* r = std::get_if<proxy::NetworkRbac>(&nf.config); r && r->config && r->config->istio_action == istio_action)
          return r->config.get();
    } else {
      for (const auto& hf : f.http)
        if (hf.rbac && hf.rbac->istio_action == istio_action) return hf.rbac.get();
    }
    return nullptr;
  }
  static Generated generated(const AuthzFilters& f, bool tcp, std::string_view istio_action, const std::string& name) {
    const proxy::RbacFilterConfig* cfg = authz_filter(f, tcp, istio_action);
    if (!cfg) return {};
    for (const auto* rules : {&cfg->rules, &cfg->shadow_rules}) {
      if (!*rules) continue;
      for (const auto& p : (*rules)->policies)
        if (p.name == name) return {&p, rules == &cfg->shadow_rules};
    }
    return {};
  }

  // MS0113: rules with HTTP-only fields on workloads that serve TCP. ALLOW
  // rules are skipped on TCP chains (they can never allow there); DENY and
  // AUDIT rules lose their HTTP-only conditions (they match more).
  void authorization_tcp() {
    for (const AuthzWorkload& aw : authz_workloads()) {
      std::vector<uint32_t> tcp_ports;
      for (const auto& p : aw.ports)
        if (is_tcp_protocol(p.protocol)) tcp_ports.push_back(p.target_port);
      if (tcp_ports.empty()) continue;
      for (const AuthorizationPolicy* ap : aw.policies) {
        if (ap->action == AuthzAction::kCustom) continue;
        const char* action = authz_action_name(ap->action);
        for (size_t i = 0; i < ap->rules.size(); ++i) {
          std::vector<std::string> fields = http_only_fields(ap->rules[i]);
          if (fields.empty()) continue;
          std::string name = authz_policy_name(*ap, i);
          std::string head = "rule " + std::to_string(i) + " of " + action + " policy " + ap->meta.namespace_ + "/" +
                             ap->meta.name + " uses HTTP-only fields (" + joined(fields) + ") and " + aw.owner + " serves TCP on ";
          std::vector<uint32_t> affected;
          std::string msg;
          if (ap->action == AuthzAction::kAllow) {
            std::string prefix = "skipped rule " + name + " on TCP filter chain: ";
            auto note = std::find_if(aw.filters.skipped.begin(), aw.filters.skipped.end(),
                                     [&](const std::string& s) { return s.rfind(prefix, 0) == 0; });
            Generated http = generated(aw.filters, false, action, name);
            if (note == aw.filters.skipped.end() || !http.policy) continue;
            // The TCP ports the rule was meant to cover (its HTTP form does not exclude them).
            for (uint32_t p : tcp_ports)
              if (tri_any_of(http.policy->permissions, Facts{p, false, false}) != Tri::kNo) affected.push_back(p);
            if (affected.empty()) continue;
            msg = head + port_list(affected) + ": istiod skips the whole rule on TCP filter chains (\"" + *note +
                  "\"), so it never allows a connection to " + port_list(affected) +
                  "; such connections are denied unless another ALLOW rule matches them (the connection is closed at "
                  "its first byte)" + (http.dry_run ? " (dry-run policy: only its shadow statistics show it)" : "") +
                  ". Fix: restrict the rule to the HTTP ports with to.operation.ports, and allow the TCP ports with a "
                  "rule of TCP attributes only (from.source, to.operation.ports).";
          } else {
            Generated tcp = generated(aw.filters, true, action, name);
            if (!tcp.policy) continue;
            bool every = true;
            for (uint32_t p : tcp_ports) {
              Tri t = tri_policy(*tcp.policy, Facts{p, true, false});
              if (t == Tri::kNo) continue;
              affected.push_back(p);
              every = every && t == Tri::kYes;
            }
            if (affected.empty()) continue;
            std::vector<std::string> rest;
            for (const auto& m : tcp.policy->permissions) leaf_origins(m, rest);
            for (const auto& m : tcp.policy->principals) leaf_origins(m, rest);
            bool deny = ap->action == AuthzAction::kDeny;
            msg = head + port_list(affected) + ": on TCP filter chains istiod drops the HTTP-only conditions and keeps the "
                  "rest of the rule, so it " + (deny ? "denies" : "audits (logs)") + " every TCP connection to " +
                  port_list(affected) +
                  (every || rest.empty() ? std::string() : " that matches its remaining conditions (" + joined(rest) + ")") +
                  (deny ? " (closed at its first byte)" : "") +
                  (tcp.dry_run ? " (dry-run policy: only its shadow statistics show it)" : "") +
                  ". Fix: restrict the rule to the HTTP ports with to.operation.ports.";
          }
          if (!reported_.insert("0113/" + name + "/" + aw.owner).second) continue;
          add("MS0113", *ap, "spec.rules[" + std::to_string(i) + "]", msg);
        }
      }
    }
  }

  // Pods without a sidecar: clients that connect in plaintext.
  std::vector<const WorldPod*> plaintext_pods() const {
    std::vector<const WorldPod*> out;
    for (const auto& p : w_.pods())
      if (!p.injected) out.push_back(&p);
    return out;
  }
  // What of a plaintext pod a rule names as a source it means to allow:
  // "namespace", "service account", "principal", or "" (nothing).
  std::string rule_names_pod(const AuthorizationPolicy& ap, const AuthzRule& r, const WorldPod& p) const {
    std::string sa = p.namespace_ + "/" + p.service_account;
    std::string principal = w_.mesh_config().trust_domain + "/ns/" + p.namespace_ + "/sa/" + p.service_account;
    for (const auto& f : r.from) {
      for (const auto& n : f.namespaces)
        if (namespace_pattern_matches(p.namespace_, n)) return "namespace";
      for (const auto& s : f.service_accounts)
        if ((s.find('/') == std::string::npos ? ap.meta.namespace_ + "/" + s : s) == sa) return "service account";
      for (const auto& pr : f.principals)
        if (pr == principal) return "principal";
    }
    return "";
  }

  // MS0134: an ALLOW rule that needs the peer's identity (principals,
  // namespaces, serviceAccounts, …) on ports that accept plaintext.
  void authorization_plaintext_peers() {
    std::vector<const WorldPod*> plain = plaintext_pods();
    for (const AuthzWorkload& aw : authz_workloads()) {
      std::vector<const WorldPod*> clients;
      for (const WorldPod* p : plain)
        if (p != aw.pod) clients.push_back(p);
      for (const AuthorizationPolicy* ap : aw.policies) {
        if (ap->action != AuthzAction::kAllow) continue;
        for (size_t i = 0; i < ap->rules.size(); ++i) {
          std::string name = authz_policy_name(*ap, i);
          std::vector<const InboundPortPlan*> permissive, disabled;
          std::vector<std::string> identity;
          bool dry = false;
          for (const InboundPortPlan& port : aw.ports) {
            if (port.mtls.mode == MtlsMode::kStrict) continue;
            if (port.mtls.mode == MtlsMode::kPermissive && clients.empty()) continue;
            bool tcp = is_tcp_protocol(port.protocol);
            Generated g = generated(aw.filters, tcp, "ALLOW", name);
            if (!g.policy) continue;  // skipped on TCP: MS0113
            dry = g.dry_run;
            if (tri_any_of(g.policy->permissions, Facts{port.target_port, tcp, false}) == Tri::kNo) continue;
            if (tri_any_of(g.policy->principals, Facts{port.target_port, tcp, true}) != Tri::kNo) continue;
            std::vector<std::string> fields;
            for (const auto& m : g.policy->principals) leaf_origins(m, fields, proxy::RbacMatcher::Kind::kAuthenticated);
            if (fields.empty()) continue;  // never matches anyone (an allow-nothing policy: MS0135)
            for (auto& f : fields)
              if (std::find(identity.begin(), identity.end(), f) == identity.end()) identity.push_back(f);
            (port.mtls.mode == MtlsMode::kDisable ? disabled : permissive).push_back(&port);
          }
          if (dry || (permissive.empty() && disabled.empty())) continue;
          // An example client: one the rule names, else the first.
          const WorldPod* example = nullptr;
          std::string named;
          for (const WorldPod* c : clients) {
            named = rule_names_pod(*ap, ap->rules[i], *c);
            if (!named.empty()) {
              example = c;
              break;
            }
          }
          bool intended = example != nullptr;
          if (!example && !clients.empty()) example = clients.front();
          // Whether any ALLOW rule of the workload admits a plaintext peer on these ports.
          bool others_may_allow = false;
          for (const auto* list : {&permissive, &disabled})
            for (const InboundPortPlan* port : *list) {
              bool tcp = is_tcp_protocol(port->protocol);
              const proxy::RbacFilterConfig* cfg = authz_filter(aw.filters, tcp, "ALLOW");
              if (!cfg || !cfg->rules) continue;
              for (const auto& p : cfg->rules->policies)
                if (tri_policy(p, Facts{port->target_port, tcp, true}) != Tri::kNo) others_may_allow = true;
            }
          std::string msg = "rule " + std::to_string(i) + " of ALLOW policy " + ap->meta.namespace_ + "/" + ap->meta.name +
                            " requires a peer identity (" + joined(identity) + "), but on " + aw.owner + " ";
          std::vector<std::string> parts;
          auto ports_of = [](const std::vector<const InboundPortPlan*>& v) {
            std::vector<uint32_t> n;
            for (const auto* p : v) n.push_back(p->target_port);
            return n;
          };
          if (!permissive.empty())
            parts.push_back(port_list(ports_of(permissive)) + " accept" + (permissive.size() == 1 ? "s" : "") +
                            " plaintext (PERMISSIVE: " + permissive.front()->mtls.reason + ") and pod " +
                            example->namespace_ + "/" + example->name + " has no sidecar" +
                            (intended ? ", although the rule names its " + named : std::string()));
          if (!disabled.empty())
            parts.push_back(port_list(ports_of(disabled)) + " terminate" + (disabled.size() == 1 ? "s" : "") +
                            " no mTLS (DISABLE: " + disabled.front()->mtls.reason + "), so no client has an identity there");
          msg += joined(parts, ", and ") + ". A plaintext peer has no identity, so this rule never allows it";
          if (example && !permissive.empty())
            msg += others_may_allow ? ": plaintext clients such as " + example->namespace_ + "/" + example->name +
                                          " are denied unless another ALLOW rule matches them"
                                    : ": no ALLOW rule of " + aw.owner + " admits a plaintext peer, so plaintext clients "
                                      "such as " + example->namespace_ + "/" + example->name + " are denied";
          else if (!others_may_allow)
            msg += ": every client is denied there";
          bool any_http = false, any_tcp = false;
          for (const auto* list : {&permissive, &disabled})
            for (const InboundPortPlan* port : *list) (is_tcp_protocol(port->protocol) ? any_tcp : any_http) = true;
          msg += std::string(" (") + (any_http ? "HTTP 403 \"RBAC: access denied\"" : "") + (any_http && any_tcp ? "; " : "") +
                 (any_tcp ? "TCP connections closed at their first byte" : "") +
                 "; probe says \"peer has no identity (plaintext)\"). Fix: give the clients a sidecar, or allow them by "
                 "source.ipBlocks; a STRICT port makes such clients fail at the TLS handshake instead.";
          if (!reported_.insert("0134/" + name + "/" + aw.owner).second) continue;
          add("MS0134", *ap, "spec.rules[" + std::to_string(i) + "]", msg,
              intended || !disabled.empty() ? Severity::kWarning : Severity::kInfo);
        }
      }
    }
  }

  // MS0135: the ALLOW filter of a workload can match nothing — an
  // allow-nothing policy (`spec: {}`, or ALLOW without rules), or on TCP
  // ports every ALLOW rule was skipped for its HTTP-only fields.
  void authorization_allow_nothing() {
    struct Group {
      const AuthorizationPolicy* anchor = nullptr;
      std::string path, what, outcome;
      std::vector<std::string> workloads;
    };
    std::map<std::string, Group> groups;  // by anchor + kind, in first-seen order below
    std::vector<std::string> order;
    for (const AuthzWorkload& aw : authz_workloads()) {
      std::vector<const AuthorizationPolicy*> allows;
      for (const AuthorizationPolicy* ap : aw.policies)
        if (ap->action == AuthzAction::kAllow) allows.push_back(ap);
      if (allows.empty()) continue;
      auto nothing = [&](bool tcp) {
        const proxy::RbacFilterConfig* cfg = authz_filter(aw.filters, tcp, "ALLOW");
        if (!cfg || !cfg->rules) return false;  // every ALLOW policy is dry-run: nothing enforced
        for (const auto& p : cfg->rules->policies)
          if (tri_policy(p, Facts{std::nullopt, tcp, false}) != Tri::kNo) return false;
        return true;
      };
      std::vector<uint32_t> tcp_ports;
      for (const auto& p : aw.ports)
        if (is_tcp_protocol(p.protocol)) tcp_ports.push_back(p.target_port);
      bool http_none = nothing(false), tcp_none = nothing(true);
      std::string names;
      for (const AuthorizationPolicy* ap : allows) names += (names.empty() ? "" : ", ") + ap->meta.namespace_ + "/" + ap->meta.name;
      const AuthorizationPolicy* anchor = allows.front();
      for (const AuthorizationPolicy* ap : allows)
        if (ap->rules.empty()) {
          anchor = ap;
          break;
        }
      std::string key, what, path, outcome, workload = aw.owner;
      if (http_none && tcp_none) {
        key = "all/" + anchor->meta.namespace_ + "/" + anchor->meta.name + "/" + names;
        path = anchor->rules.empty() ? "spec" : "spec.rules";
        what = "no ALLOW rule can match (ALLOW policies: " + names + (anchor->rules.empty() ? "; " + anchor->meta.name +
               " has no rules: an allow-nothing policy" : std::string()) + "), so this denies every request and connection to ";
        outcome = "HTTP 403 \"RBAC: access denied\", rbac_access_denied_matched_policy[none]; TCP connections closed at "
                  "their first byte";
      } else if (tcp_none && !tcp_ports.empty() &&
                 std::any_of(aw.filters.skipped.begin(), aw.filters.skipped.end(),
                             [](const std::string& s) { return s.find(" on TCP filter chain: ") != std::string::npos; })) {
        key = "tcp/" + anchor->meta.namespace_ + "/" + anchor->meta.name + "/" + names;
        path = "spec.rules";
        what = "every ALLOW rule (ALLOW policies: " + names + ") uses HTTP-only fields and is skipped on TCP filter chains, "
               "so this denies every connection to the TCP ports of ";
        workload += " (" + port_list(tcp_ports) + ")";
        outcome = "the connection is closed at its first byte";
      } else {
        continue;
      }
      auto [it, inserted] = groups.try_emplace(key);
      if (inserted) {
        order.push_back(key);
        it->second.anchor = anchor;
        it->second.path = path;
        it->second.what = what;
        it->second.outcome = outcome;
      }
      it->second.workloads.push_back(workload);
    }
    for (const auto& key : order) {
      const Group& g = groups[key];
      std::vector<std::string> shown(g.workloads.begin(), g.workloads.begin() + std::min<size_t>(g.workloads.size(), 5));
      std::string list = joined(shown);
      if (g.workloads.size() > shown.size()) list += " and " + std::to_string(g.workloads.size() - shown.size()) + " more";
      add("MS0135", *g.anchor, g.path,
          g.what + list + " (" + g.outcome + "). Intended for a deny-all default; otherwise add the rules that should be "
          "allowed.");
    }
  }

  const World& w_;
  const AddFinding& add_;
  std::set<std::string>& reported_;
  bool authz_computed_ = false;
  std::vector<AuthzWorkload> authz_workloads_;
};

}  // namespace

void analyze_authorization(const World& w, const AddFinding& add, std::set<std::string>& reported) {
  AuthzAnalysis(w, add, reported).run();
}

}  // namespace meshsim::mesh
