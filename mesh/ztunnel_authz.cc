#include "mesh/ztunnel_authz.h"

#include <algorithm>
#include <charconv>

#include "mesh/policy.h"

namespace meshsim::mesh {

namespace {

// One L4 match (security.Match): every non-empty field must hold.
struct Match {
  std::vector<std::string> namespaces, not_namespaces, principals, not_principals;
  std::vector<std::pair<std::string, std::string>> service_accounts, not_service_accounts;  // (ns, sa)
  std::vector<Cidr> source_ips, not_source_ips, destination_ips, not_destination_ips;
  std::vector<uint16_t> destination_ports, not_destination_ports;
  bool empty() const {
    return namespaces.empty() && not_namespaces.empty() && principals.empty() && not_principals.empty() &&
           service_accounts.empty() && not_service_accounts.empty() && source_ips.empty() && not_source_ips.empty() &&
           destination_ips.empty() && not_destination_ips.empty() && destination_ports.empty() &&
           not_destination_ports.empty();
  }
};
using Clause = std::vector<Match>;
using Rule = std::vector<Clause>;

struct Converted {
  const AuthorizationPolicy* policy = nullptr;
  bool allow = true;
  std::vector<Rule> rules;
  std::vector<std::string> l7;  // HTTP attributes found
  std::string unsupported;      // non-empty: ztunnel ignores the policy (AUDIT/CUSTOM)
};

std::vector<uint16_t> ports(const std::vector<std::string>& v) {
  std::vector<uint16_t> out;
  for (const auto& s : v) {
    unsigned p = 0;
    auto [e, ec] = std::from_chars(s.data(), s.data() + s.size(), p);
    if (ec == std::errc() && e == s.data() + s.size() && p <= 65535) out.push_back(static_cast<uint16_t>(p));
  }
  return out;
}

std::vector<Cidr> ips(const std::vector<std::string>& v) {
  std::vector<Cidr> out;
  for (const auto& s : v) {
    if (auto c = parse_cidr(s); c.ok()) out.push_back(*c);
    else if (auto ip = parse_ipv4(s); ip.ok()) out.push_back(Cidr{*ip, 32});
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> sas(const std::vector<std::string>& v, const std::string& ns) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& s : v) {
    auto slash = s.find('/');
    if (slash == std::string::npos) out.emplace_back(ns, s);
    else out.emplace_back(s.substr(0, slash), s.substr(slash + 1));
  }
  return out;
}

void add_l7(std::vector<std::string>& l7, const char* name, bool present) {
  if (present) l7.emplace_back(name);
}

Converted convert(const AuthorizationPolicy& ap) {
  Converted c;
  c.policy = &ap;
  if (ap.action == AuthzAction::kAudit || ap.action == AuthzAction::kCustom) {
    c.unsupported = std::string("ztunnel does not support the ") + authz_action_name(ap.action) + " action";
    return c;
  }
  c.allow = ap.action == AuthzAction::kAllow;
  for (const AuthzRule& r : ap.rules) {
    std::vector<std::string> l7;
    Rule rule;
    if (!r.to.empty()) {
      Clause cl;
      for (const AuthzOperation& op : r.to) {
        add_l7(l7, "hosts", !op.hosts.empty());
        add_l7(l7, "notHosts", !op.not_hosts.empty());
        add_l7(l7, "methods", !op.methods.empty());
        add_l7(l7, "notMethods", !op.not_methods.empty());
        add_l7(l7, "paths", !op.paths.empty());
        add_l7(l7, "notPaths", !op.not_paths.empty());
        Match m;
        m.destination_ports = ports(op.ports);
        m.not_destination_ports = ports(op.not_ports);
        cl.push_back(std::move(m));
      }
      rule.push_back(std::move(cl));
    }
    if (!r.from.empty()) {
      Clause cl;
      for (const AuthzSource& s : r.from) {
        add_l7(l7, "requestPrincipals", !s.request_principals.empty());
        add_l7(l7, "notRequestPrincipals", !s.not_request_principals.empty());
        add_l7(l7, "remoteIpBlocks", !s.remote_ip_blocks.empty());
        add_l7(l7, "notRemoteIpBlocks", !s.not_remote_ip_blocks.empty());
        Match m;
        m.source_ips = ips(s.ip_blocks);
        m.not_source_ips = ips(s.not_ip_blocks);
        m.namespaces = s.namespaces;
        m.not_namespaces = s.not_namespaces;
        m.service_accounts = sas(s.service_accounts, ap.meta.namespace_);
        m.not_service_accounts = sas(s.not_service_accounts, ap.meta.namespace_);
        m.principals = s.principals;
        m.not_principals = s.not_principals;
        cl.push_back(std::move(m));
      }
      rule.push_back(std::move(cl));
    }
    for (const AuthzCondition& w : r.when) {
      const std::string& k = w.key;
      bool l4 = k == "source.ip" || k == "source.namespace" || k == "source.principal" || k == "destination.ip" ||
                k == "destination.port";
      if (!l4) l7.push_back(k);
      Match m;
      if (k == "source.namespace") m.namespaces = w.values, m.not_namespaces = w.not_values;
      if (k == "source.principal") m.principals = w.values, m.not_principals = w.not_values;
      if (k == "source.ip") m.source_ips = ips(w.values), m.not_source_ips = ips(w.not_values);
      if (k == "destination.ip") m.destination_ips = ips(w.values), m.not_destination_ips = ips(w.not_values);
      if (k == "destination.port") m.destination_ports = ports(w.values), m.not_destination_ports = ports(w.not_values);
      rule.push_back(Clause{std::move(m)});
    }
    if (!(c.allow && !l7.empty())) c.rules.push_back(std::move(rule));
    c.l7.insert(c.l7.end(), l7.begin(), l7.end());
  }
  return c;
}

// Istio's string match: "*" presence, "*x" suffix, "x*" prefix, else exact.
bool str_match(const std::string& pattern, std::string_view v) {
  if (pattern == "*") return !v.empty();
  if (!pattern.empty() && pattern.front() == '*') {
    std::string_view suf = std::string_view(pattern).substr(1);
    return v.size() >= suf.size() && v.substr(v.size() - suf.size()) == suf;
  }
  if (!pattern.empty() && pattern.back() == '*') {
    std::string_view pre = std::string_view(pattern).substr(0, pattern.size() - 1);
    return v.substr(0, pre.size()) == pre;
  }
  return pattern == v;
}

template <class T, class P>
bool field(const std::vector<T>& pos, const std::vector<T>& neg, P pred) {
  bool pm = pos.empty() || std::any_of(pos.begin(), pos.end(), pred);
  bool nm = neg.empty() || !std::any_of(neg.begin(), neg.end(), pred);
  return pm && nm;
}

bool matches(const Converted& c, const ZtunnelConnection& conn) {
  // Identity "spiffe://td/ns/<ns>/sa/<sa>": principal without the scheme, its namespace and sa.
  std::string id, ns, sa;
  if (conn.src_identity) {
    std::string_view s = *conn.src_identity;
    if (s.substr(0, 9) == "spiffe://") s.remove_prefix(9);
    id.assign(s);
    auto p = id.find("/ns/");
    auto q = id.find("/sa/");
    if (p != std::string::npos && q != std::string::npos && q > p) {
      ns = id.substr(p + 4, q - p - 4);
      sa = id.substr(q + 4);
    }
  }
  if (c.rules.empty()) return false;
  for (const Rule& rule : c.rules) {
    bool rule_match = true;
    for (const Clause& clause : rule) {
      bool clause_match = false;
      for (const Match& m : clause) {
        if (m.empty()) continue;
        bool ok = true;
        ok &= field(m.destination_ips, m.not_destination_ips, [&](const Cidr& x) { return x.contains(conn.dst_ip); });
        ok &= field(m.source_ips, m.not_source_ips, [&](const Cidr& x) { return x.contains(conn.src_ip); });
        ok &= field(m.destination_ports, m.not_destination_ports, [&](uint16_t p) { return p == conn.dst_port; });
        ok &= field(m.service_accounts, m.not_service_accounts, [&](const std::pair<std::string, std::string>& x) {
          return conn.src_identity && x.first == ns && x.second == sa;
        });
        ok &= field(m.principals, m.not_principals, [&](const std::string& x) {
          std::string_view pat = x;
          if (pat.substr(0, 9) == "spiffe://") pat.remove_prefix(9);
          return str_match(std::string(pat), id);
        });
        ok &= field(m.namespaces, m.not_namespaces, [&](const std::string& x) { return str_match(x, ns); });
        if (ok) {
          clause_match = true;
          break;
        }
      }
      if (clause.empty()) clause_match = true;
      rule_match = rule_match && clause_match;
      if (!rule_match) break;
    }
    if (rule_match) return true;
  }
  return false;
}

std::vector<Converted> applicable(const World& w, const WorldPod& pod) {
  std::vector<Converted> out;
  for (const AuthorizationPolicy* ap : authorization_policies_for(w, pod.namespace_, pod.labels)) out.push_back(convert(*ap));
  return out;
}

std::string key(const AuthorizationPolicy& ap) { return ap.meta.namespace_ + "/" + ap.meta.name; }

}  // namespace

std::vector<std::string> describe_ztunnel_policies(const World& w, const WorldPod& pod) {
  std::vector<std::string> out;
  for (const Converted& c : applicable(w, pod)) {
    std::string line;
    if (!c.unsupported.empty()) {
      line = "ignored " + key(*c.policy) + ": " + c.unsupported;
    } else {
      line = std::string(c.allow ? "ALLOW " : "DENY ") + key(*c.policy) + ": " + std::to_string(c.rules.size()) +
             " L4 rule(s)";
      if (!c.l7.empty()) {
        line += " [ztunnel does not support HTTP attributes (found:";
        for (const auto& f : c.l7) line += " " + f;
        line += c.allow ? "); rules with them are omitted]" : "); enforced without them]";
      }
    }
    out.push_back(std::move(line));
  }
  return out;
}

ZtunnelAuthzDecision ztunnel_authorize(const World& w, const WorldPod& pod, const ZtunnelConnection& conn) {
  std::vector<Converted> all = applicable(w, pod);
  for (const Converted& c : all) {
    if (!c.unsupported.empty() || c.allow) continue;
    if (matches(c, conn)) return {false, key(*c.policy), "explicitly denied by DENY policy " + key(*c.policy)};
  }
  bool any_allow = false;
  for (const Converted& c : all) {
    if (!c.unsupported.empty() || !c.allow) continue;
    any_allow = true;
    if (matches(c, conn)) return {true, key(*c.policy), "ALLOW policy " + key(*c.policy) + " matched"};
  }
  if (!any_allow) return {true, "", "no ALLOW policy applies"};
  std::string why = "no ALLOW policy matched";
  for (const Converted& c : all) {
    if (c.allow && c.unsupported.empty() && !c.l7.empty()) {
      why += " (" + key(*c.policy) + " uses HTTP attributes, which ztunnel omits from ALLOW rules: a waypoint is needed)";
      break;
    }
  }
  return {false, "", why};
}

}  // namespace meshsim::mesh
