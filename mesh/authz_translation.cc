#include "mesh/authz_translation.h"

#include <algorithm>
#include <map>
#include <memory>

#include "mesh/policy.h"
#include "proxy/base/hash.h"
#include "proxy/ext_authz_config.h"
#include "proxy/jwt_config.h"
#include "proxy/rbac_config.h"

namespace meshsim::mesh {

using proxy::Rbac;
using proxy::RbacAction;
using proxy::RbacFilterConfig;
using proxy::RbacMatcher;
using proxy::RbacPolicy;
using proxy::StringMatcher;
using K = RbacMatcher::Kind;

std::string authz_policy_name(const AuthorizationPolicy& ap, size_t rule, const std::string& prefix) {
  return prefix + "ns[" + ap.meta.namespace_ + "]-policy[" + ap.meta.name + "]-rule[" + std::to_string(rule) + "]";
}

std::string go_quote_meta(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (std::string_view("\\.+*?()|[]{}^$").find(c) != std::string_view::npos) out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

namespace {

constexpr const char* kJwtFilter = "envoy.filters.http.jwt_authn";
constexpr const char* kJwtPayload = "payload";

StringMatcher sm(StringMatcher::Kind k, std::string v, bool icase = false) {
  StringMatcher m;
  m.kind = k;
  m.value = std::move(v);
  m.ignore_case = icase;
  return m;
}
StringMatcher exact(std::string v, bool icase = false) { return sm(StringMatcher::Kind::kExact, std::move(v), icase); }
StringMatcher regex(std::string v) { return sm(StringMatcher::Kind::kRegex, std::move(v)); }

// matcher.StringMatcherWithPrefix.
StringMatcher with_prefix(const std::string& v, const std::string& prefix) {
  if (v == "*") return regex(".+");
  if (!v.empty() && v.front() == '*') {
    if (prefix.empty()) return sm(StringMatcher::Kind::kSuffix, v.substr(1));
    return regex(prefix + ".*" + go_quote_meta(v.substr(1)));
  }
  if (!v.empty() && v.back() == '*') return sm(StringMatcher::Kind::kPrefix, prefix + v.substr(0, v.size() - 1));
  return exact(prefix + v);
}

RbacMatcher node(K kind, std::vector<RbacMatcher> children = {}) {
  RbacMatcher m;
  m.kind = kind;
  m.children = std::move(children);
  return m;
}
RbacMatcher leaf(K kind, std::optional<StringMatcher> s) {
  RbacMatcher m;
  m.kind = kind;
  m.string = std::move(s);
  return m;
}
RbacMatcher authenticated(StringMatcher s) { return leaf(K::kAuthenticated, std::move(s)); }

// matcher.HeaderMatcher / HostMatcher: "*" present, "*x" suffix, "x*" prefix, else exact.
RbacMatcher header(const std::string& name, const std::string& v, bool icase) {
  RbacMatcher m;
  m.kind = K::kHeader;
  m.header_name = name;
  if (v == "*") return m;  // present_match
  if (!v.empty() && v.front() == '*') m.string = sm(StringMatcher::Kind::kSuffix, v.substr(1), icase);
  else if (!v.empty() && v.back() == '*') m.string = sm(StringMatcher::Kind::kPrefix, v.substr(0, v.size() - 1), icase);
  else m.string = exact(v, icase);
  return m;
}

RbacMatcher metadata(std::string filter, std::vector<std::string> path, RbacMatcher::ValueShape shape,
                     std::vector<StringMatcher> values) {
  RbacMatcher m;
  m.kind = K::kMetadata;
  m.metadata_filter = std::move(filter);
  m.metadata_path = std::move(path);
  m.metadata_shape = shape;
  m.metadata_values = std::move(values);
  return m;
}

std::optional<Cidr> cidr_of(const std::string& v) {
  if (v.find('/') != std::string::npos) {
    auto c = parse_cidr(v);
    if (c.ok()) return *c;
    return std::nullopt;
  }
  auto ip = parse_ipv4(v);
  if (!ip.ok()) return std::nullopt;
  return Cidr{*ip, 32};
}

enum class Gen : uint8_t {
  kDestIp, kDestPort, kSni, kEnvoyFilter, kSrcIp, kRemoteIp, kSrcNamespace, kSrcTrustDomain, kSrcServiceAccount,
  kSrcPrincipal, kRequestPrincipal, kRequestAudiences, kRequestPresenter, kRequestHeader, kRequestClaims,
  kHost, kPath, kMethod,
};

bool extended(Gen g) {
  return g == Gen::kEnvoyFilter || g == Gen::kRequestPrincipal || g == Gen::kRequestAudiences ||
         g == Gen::kRequestPresenter || g == Gen::kRequestClaims;
}
bool http_only(Gen g) {
  switch (g) {
    case Gen::kRequestPrincipal:
    case Gen::kRequestAudiences:
    case Gen::kRequestPresenter:
    case Gen::kRequestHeader:
    case Gen::kRequestClaims:
    case Gen::kHost:
    case Gen::kPath:
    case Gen::kMethod: return true;
    default: return false;
  }
}

// One condition of a rule (Istio's model `rule`): a key, its values and
// notValues, the generator, and the field it came from.
struct Item {
  Gen g;
  std::string key;
  std::vector<std::string> values, not_values;
  std::string origin, not_origin;
};

struct GenError {
  std::string message;
};

// "[a][b]" → {a, b}; "[a.b]" → {a.b} (extractNameInNestedBrackets).
std::optional<std::vector<std::string>> nested_brackets(std::string_view s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    if (s[i] != '[') break;
    size_t end = s.find(']', i + 1);
    size_t nested = s.find('[', i + 1);
    if (end == std::string_view::npos || (nested != std::string_view::npos && nested < end)) break;
    out.emplace_back(s.substr(i + 1, end - i - 1));
    i = end + 1;
  }
  if (i == s.size() && !out.empty()) return out;
  if (s.size() >= 2 && s.front() == '[' && s.back() == ']') return std::vector<std::string>{std::string(s.substr(1, s.size() - 2))};
  return std::nullopt;
}

// One value → one matcher (non-extended generators).
std::variant<RbacMatcher, GenError> generate_one(const Item& it, const std::string& v, const std::string& policy_ns) {
  switch (it.g) {
    case Gen::kDestIp: {
      auto c = cidr_of(v);
      if (!c) return GenError{"invalid IP address " + v};
      RbacMatcher m = node(K::kDestinationIp);
      m.cidr = *c;
      return m;
    }
    case Gen::kDestPort: {
      bool digits = !v.empty() && v.size() <= 5 && std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; });
      if (!digits || std::stoul(v) > 65535) return GenError{"invalid port " + v};
      RbacMatcher m = node(K::kDestinationPort);
      m.port = static_cast<uint16_t>(std::stoul(v));
      return m;
    }
    case Gen::kSni: return leaf(K::kRequestedServerName, with_prefix(v, ""));
    case Gen::kSrcIp:
    case Gen::kRemoteIp: {
      auto c = cidr_of(v);
      if (!c) return GenError{"invalid IP address " + v};
      RbacMatcher m = node(it.g == Gen::kSrcIp ? K::kDirectRemoteIp : K::kRemoteIp);
      m.cidr = *c;
      return m;
    }
    case Gen::kSrcNamespace: {
      std::string re;
      size_t start = 0;
      while (true) {
        size_t star = v.find('*', start);
        re += go_quote_meta(v.substr(start, star == std::string::npos ? std::string::npos : star - start));
        if (star == std::string::npos) break;
        re += ".*";
        start = star + 1;
      }
      return authenticated(regex(".*/ns/" + re + "/.*"));
    }
    case Gen::kSrcServiceAccount: {
      std::string ns = policy_ns, sa = v;
      if (size_t slash = v.find('/'); slash != std::string::npos) {
        ns = v.substr(0, slash);
        sa = v.substr(slash + 1);
      }
      return authenticated(regex("spiffe://.+/ns/" + go_quote_meta(ns) + "/(.+/|)sa/" + go_quote_meta(sa) + "(/.+)?"));
    }
    case Gen::kSrcTrustDomain: {
      if (v == "*") return authenticated(sm(StringMatcher::Kind::kPrefix, "spiffe://"));
      size_t star = v.find('*');
      if (star == std::string::npos) return authenticated(sm(StringMatcher::Kind::kPrefix, "spiffe://" + v + "/"));
      return authenticated(
          regex("spiffe://" + go_quote_meta(v.substr(0, star)) + "[^/]*" + go_quote_meta(v.substr(star + 1)) + "/.*"));
    }
    case Gen::kSrcPrincipal: return authenticated(with_prefix(v, "spiffe://"));
    case Gen::kRequestHeader: {
      std::string_view rest = std::string_view(it.key).substr(std::string_view("request.headers").size());
      if (rest.size() < 2 || rest.front() != '[' || rest.back() != ']')
        return GenError{"expecting format [<NAME>], but found " + std::string(rest)};
      return header(std::string(rest.substr(1, rest.size() - 2)), v, false);
    }
    case Gen::kHost: return header(":authority", v, true);
    case Gen::kMethod: return header(":method", v, false);
    case Gen::kPath: {
      // Path templates ({*}, {**}) go to the uri_template matcher.
      if (v.find("{*}") != std::string::npos || v.find("{**}") != std::string::npos) {
        std::string t = v;
        for (size_t p; (p = t.find("{**}")) != std::string::npos;) t.replace(p, 4, "**");
        for (size_t p; (p = t.find("{*}")) != std::string::npos;) t.replace(p, 3, "*");
        return leaf(K::kUriTemplate, exact(t));
      }
      return leaf(K::kUrlPath, with_prefix(v, ""));
    }
    default: return GenError{"unimplemented"};
  }
}

// All values → one matcher (extended generators).
std::variant<RbacMatcher, GenError> generate_extended(const Item& it, const std::vector<std::string>& values) {
  using S = RbacMatcher::ValueShape;
  switch (it.g) {
    case Gen::kRequestPrincipal: {
      static const StringMatcher any = regex(".+");
      std::vector<RbacMatcher> ors;
      for (const std::string& v : values) {
        size_t idx = v.rfind('/');
        bool found = idx != std::string::npos;
        std::string iss = found ? v.substr(0, idx) : v, sub = found ? v.substr(idx + 1) : "";
        StringMatcher mi, ms;
        if (v == "*") {
          mi = ms = any;
        } else if (v.front() == '*') {
          if (found) {
            mi = iss == "*" ? any : sm(StringMatcher::Kind::kSuffix, iss.substr(1));
            ms = exact(sub);
          } else {
            mi = any;
            ms = sm(StringMatcher::Kind::kSuffix, v.substr(1));
          }
        } else if (v.back() == '*') {
          if (found) {
            mi = exact(iss);
            ms = sub == "*" ? any : sm(StringMatcher::Kind::kPrefix, sub.substr(0, sub.size() - 1));
          } else {
            mi = sm(StringMatcher::Kind::kPrefix, v.substr(0, v.size() - 1));
            ms = any;
          }
        } else {
          mi = exact(iss);
          ms = exact(sub);
        }
        ors.push_back(node(K::kAnd, {metadata(kJwtFilter, {kJwtPayload, "iss"}, S::kString, {mi}),
                                     metadata(kJwtFilter, {kJwtPayload, "sub"}, S::kString, {ms})}));
      }
      if (ors.size() == 1) return std::move(ors.front());
      return node(K::kOr, std::move(ors));
    }
    case Gen::kRequestAudiences:
    case Gen::kRequestPresenter:
    case Gen::kRequestClaims: {
      std::vector<std::string> path = {kJwtPayload};
      if (it.g == Gen::kRequestAudiences) path.push_back("aud");
      else if (it.g == Gen::kRequestPresenter) path.push_back("azp");
      else {
        auto claims = nested_brackets(std::string_view(it.key).substr(std::string_view("request.auth.claims").size()));
        if (!claims) return GenError{"invalid claim key " + it.key};
        path.insert(path.end(), claims->begin(), claims->end());
      }
      std::vector<StringMatcher> vs;
      for (const auto& v : values) vs.push_back(with_prefix(v, ""));
      return metadata(kJwtFilter, std::move(path), S::kStringOrList, std::move(vs));
    }
    case Gen::kEnvoyFilter: {
      std::string_view k = it.key;
      k.remove_prefix(std::string_view("experimental.").size());
      if (!k.empty() && k.back() == ']') k.remove_suffix(1);
      size_t br = k.find('[');
      if (br == std::string_view::npos) return GenError{"invalid key: " + it.key};
      std::string filter(k.substr(0, br)), key(k.substr(br + 1));
      std::vector<StringMatcher> lists, strings;
      for (const auto& v : values) {
        if (v.size() >= 2 && v.front() == '[' && v.back() == ']') lists.push_back(with_prefix(v.substr(1, v.size() - 2), ""));
        else strings.push_back(with_prefix(v, ""));
      }
      std::vector<RbacMatcher> parts;
      if (!lists.empty()) parts.push_back(metadata(filter, {key}, S::kList, std::move(lists)));
      if (!strings.empty()) parts.push_back(metadata(filter, {key}, S::kString, std::move(strings)));
      if (parts.size() == 1) return std::move(parts.front());
      return node(K::kOr, std::move(parts));
    }
    default: return GenError{"unimplemented"};
  }
}

void set_origin(RbacMatcher& m, const std::string& origin) {
  m.origin = origin;
}

// The matchers of one item (rule.permission / rule.principal): OR of the
// values, NOT(OR of the notValues). An error skips the whole rule for ALLOW
// and only this value for DENY/AUDIT (model.go checkError).
std::optional<std::string> item_matchers(const Item& it, bool for_tcp, RbacAction action, const std::string& policy_ns,
                                         std::vector<RbacMatcher>& out) {
  auto fail = [&](const std::string& msg) -> std::optional<std::string> {
    if (action == RbacAction::kAllow) return msg;
    return std::nullopt;
  };
  auto http_err = "\"" + it.key + "\" is HTTP only";
  for (int pass = 0; pass < 2; ++pass) {
    const auto& vals = pass == 0 ? it.values : it.not_values;
    const std::string& origin = pass == 0 ? it.origin : it.not_origin;
    if (vals.empty()) continue;
    std::optional<RbacMatcher> produced;
    if (extended(it.g)) {
      if (for_tcp && http_only(it.g)) {
        if (auto e = fail(http_err)) return e;
      } else {
        auto r = generate_extended(it, vals);
        if (auto* e = std::get_if<GenError>(&r)) {
          if (auto f = fail(e->message)) return f;
        } else {
          produced = std::move(std::get<RbacMatcher>(r));
        }
      }
    } else {
      std::vector<RbacMatcher> ors;
      for (const auto& v : vals) {
        if (for_tcp && http_only(it.g)) {
          if (auto e = fail(http_err)) return e;
          continue;
        }
        auto r = generate_one(it, v, policy_ns);
        if (auto* e = std::get_if<GenError>(&r)) {
          if (auto f = fail(e->message)) return f;
          continue;
        }
        RbacMatcher m = std::move(std::get<RbacMatcher>(r));
        set_origin(m, origin);
        ors.push_back(std::move(m));
      }
      if (!ors.empty()) produced = node(K::kOr, std::move(ors));
    }
    if (!produced) continue;
    if (produced->origin.empty()) produced->origin = origin;
    if (pass == 1) {
      RbacMatcher n = node(K::kNot, {std::move(*produced)});
      n.origin = origin;
      out.push_back(std::move(n));
    } else {
      out.push_back(std::move(*produced));
    }
  }
  return std::nullopt;
}

// trustdomain.Bundle.ReplaceTrustDomainAliases / ExpandTrustDomainAliases.
struct TrustDomains {
  std::vector<std::string> all;  // trust domain first, then the aliases

  static bool suffix_match(const std::string& a, const std::string& pattern) {
    if (!pattern.empty() && pattern.front() == '*') {
      std::string suf = pattern.substr(1);
      return a.size() >= suf.size() && a.compare(a.size() - suf.size(), suf.size(), suf) == 0;
    }
    return a == pattern;
  }
  std::vector<std::string> replace(const std::vector<std::string>& principals) const {
    std::vector<std::string> out;
    for (const auto& p : principals) {
      size_t parts = std::count(p.begin(), p.end(), '/') + 1;
      std::string td = p.substr(0, p.find('/'));
      if (parts != 5 || td == "*") {
        out.push_back(p);
        continue;
      }
      bool known = td == "cluster.local" ||
                   std::any_of(all.begin(), all.end(), [&](const std::string& t) { return suffix_match(t, td) || t == td; });
      if (!known) {
        out.push_back(p);
        continue;
      }
      std::vector<std::string> mine;
      for (const auto& t : all) {
        std::string np = suffix_match(t, td) ? p : t + p.substr(p.find('/'));
        if (std::find(mine.begin(), mine.end(), np) == mine.end()) mine.push_back(np);
      }
      for (const auto& m : mine) out.push_back(m);
    }
    return out;
  }
  std::vector<std::string> expand(const std::vector<std::string>& values) const {
    std::vector<std::string> out;
    auto add = [&](const std::string& v) {
      if (std::find(out.begin(), out.end(), v) == out.end()) out.push_back(v);
    };
    for (const auto& v : values) {
      if (std::find(all.begin(), all.end(), v) != all.end()) {
        for (const auto& t : all) add(t);
      } else {
        add(v);
      }
    }
    return out;
  }
};

struct RuleModel {
  std::vector<std::vector<Item>> permissions, principals;
};

std::optional<Gen> when_generator(const std::string& k, bool& principal_side) {
  principal_side = true;
  auto starts = [&](std::string_view p) { return k.rfind(p, 0) == 0; };
  if (k == "destination.ip") return principal_side = false, Gen::kDestIp;
  if (k == "destination.port") return principal_side = false, Gen::kDestPort;
  if (k == "connection.sni") return principal_side = false, Gen::kSni;
  if (starts("experimental.envoy.filters.")) return principal_side = false, Gen::kEnvoyFilter;
  if (k == "source.ip") return Gen::kSrcIp;
  if (k == "remote.ip") return Gen::kRemoteIp;
  if (k == "source.namespace") return Gen::kSrcNamespace;
  if (k == "source.trustDomain") return Gen::kSrcTrustDomain;
  if (k == "source.serviceAccount") return Gen::kSrcServiceAccount;
  if (k == "source.principal") return Gen::kSrcPrincipal;
  if (k == "request.auth.principal") return Gen::kRequestPrincipal;
  if (k == "request.auth.audiences") return Gen::kRequestAudiences;
  if (k == "request.auth.presenter") return Gen::kRequestPresenter;
  if (starts("request.headers")) return Gen::kRequestHeader;
  if (starts("request.auth.claims")) return Gen::kRequestClaims;
  return std::nullopt;
}

std::optional<RuleModel> model_of(const AuthzRule& r, const TrustDomains& td, std::string& error) {
  std::vector<Item> base_perm, base_princ;
  for (size_t i = 0; i < r.when.size(); ++i) {
    const AuthzCondition& c = r.when[i];
    bool princ = true;
    auto g = when_generator(c.key, princ);
    if (!g) {
      error = "unknown attribute " + c.key;
      return std::nullopt;
    }
    std::string o = "when[" + std::to_string(i) + "] " + c.key;
    Item it{*g, c.key, c.values, c.not_values, o, o + " notValues"};
    (princ ? base_princ : base_perm).push_back(std::move(it));
  }
  auto migrate = [&](std::vector<Item>& items) {
    for (Item& it : items) {
      if (it.g == Gen::kSrcPrincipal) {
        it.values = td.replace(it.values);
        it.not_values = td.replace(it.not_values);
      } else if (it.g == Gen::kSrcTrustDomain) {
        it.values = td.expand(it.values);
        it.not_values = td.expand(it.not_values);
      }
    }
  };
  RuleModel m;
  for (size_t i = 0; i < r.from.size(); ++i) {
    const AuthzSource& s = r.from[i];
    std::string o = "from[" + std::to_string(i) + "].source.";
    std::vector<Item> front;
    auto add = [&](Gen g, const char* key, const char* field, const char* not_field, const std::vector<std::string>& v,
                   const std::vector<std::string>& nv) {
      if (v.empty() && nv.empty()) return;
      front.push_back(Item{g, key, v, nv, o + field, o + not_field});
    };
    // The order insertFront leaves them in.
    add(Gen::kSrcPrincipal, "source.principal", "principals", "notPrincipals", s.principals, s.not_principals);
    add(Gen::kRequestPrincipal, "request.auth.principal", "requestPrincipals", "notRequestPrincipals",
        s.request_principals, s.not_request_principals);
    add(Gen::kSrcServiceAccount, "source.serviceAccount", "serviceAccounts", "notServiceAccounts", s.service_accounts,
        s.not_service_accounts);
    add(Gen::kSrcTrustDomain, "source.trustDomain", "trustDomains", "notTrustDomains", s.trust_domains,
        s.not_trust_domains);
    add(Gen::kSrcNamespace, "source.namespace", "namespaces", "notNamespaces", s.namespaces, s.not_namespaces);
    add(Gen::kRemoteIp, "remote.ip", "remoteIpBlocks", "notRemoteIpBlocks", s.remote_ip_blocks, s.not_remote_ip_blocks);
    add(Gen::kSrcIp, "source.ip", "ipBlocks", "notIpBlocks", s.ip_blocks, s.not_ip_blocks);
    front.insert(front.end(), base_princ.begin(), base_princ.end());
    m.principals.push_back(std::move(front));
  }
  if (r.from.empty()) m.principals.push_back(base_princ);
  for (size_t i = 0; i < r.to.size(); ++i) {
    const AuthzOperation& op = r.to[i];
    std::string o = "to[" + std::to_string(i) + "].operation.";
    std::vector<Item> front;
    auto add = [&](Gen g, const char* key, const char* field, const char* not_field, const std::vector<std::string>& v,
                   const std::vector<std::string>& nv) {
      if (v.empty() && nv.empty()) return;
      front.push_back(Item{g, key, v, nv, o + field, o + not_field});
    };
    add(Gen::kHost, ":authority", "hosts", "notHosts", op.hosts, op.not_hosts);
    add(Gen::kMethod, ":method", "methods", "notMethods", op.methods, op.not_methods);
    add(Gen::kPath, "path-matcher", "paths", "notPaths", op.paths, op.not_paths);
    add(Gen::kDestPort, "destination.port", "ports", "notPorts", op.ports, op.not_ports);
    front.insert(front.end(), base_perm.begin(), base_perm.end());
    m.permissions.push_back(std::move(front));
  }
  if (r.to.empty()) m.permissions.push_back(base_perm);
  for (auto& l : m.principals) migrate(l);
  return m;
}

// Model.Generate: nullopt + error when the rule must be skipped.
std::optional<RbacPolicy> generate(const RuleModel& m, bool for_tcp, RbacAction action, const std::string& policy_ns,
                                   std::string& error) {
  RbacPolicy p;
  auto side = [&](const std::vector<std::vector<Item>>& lists, std::vector<RbacMatcher>& out) -> bool {
    for (const auto& list : lists) {
      std::vector<RbacMatcher> ands;
      for (const Item& it : list) {
        if (auto e = item_matchers(it, for_tcp, action, policy_ns, ands)) {
          error = *e;
          return false;
        }
      }
      if (ands.empty()) ands.push_back(node(K::kAny));
      out.push_back(node(K::kAnd, std::move(ands)));
    }
    return true;
  };
  if (!side(m.permissions, p.permissions) || !side(m.principals, p.principals)) return std::nullopt;
  return p;
}

RbacPolicy match_never(std::string name) {
  RbacPolicy p;
  p.name = std::move(name);
  RbacMatcher np = node(K::kNot, {node(K::kAny)});
  np.origin = "the policy has no rules: it matches nothing";
  p.permissions.push_back(np);
  p.principals.push_back(np);
  return p;
}

bool dry_run(const AuthorizationPolicy& ap) {
  auto it = ap.meta.annotations.find("istio.io/dry-run");
  if (it == ap.meta.annotations.end()) return false;
  // strconv.ParseBool
  const std::string& v = it->second;
  return v == "1" || v == "t" || v == "T" || v == "true" || v == "TRUE" || v == "True";
}

// A stable text of a matcher tree, for the fingerprint.
void digest(const RbacMatcher& m, std::string& out) {
  out += std::to_string(static_cast<int>(m.kind)) + "(";
  if (m.string) out += std::to_string(static_cast<int>(m.string->kind)) + m.string->value + (m.string->ignore_case ? "i" : "");
  out += m.header_name + "|" + to_string(m.cidr) + "|" + std::to_string(m.port) + "|" + m.metadata_filter;
  for (const auto& p : m.metadata_path) out += "/" + p;
  for (const auto& v : m.metadata_values) out += "," + std::to_string(static_cast<int>(v.kind)) + v.value;
  for (const auto& c : m.children) digest(c, out);
  out += ")";
}

std::string fingerprint(const RbacFilterConfig& c) {
  std::string text = c.istio_action + c.stat_prefix + c.shadow_rules_stat_prefix;
  for (const auto* r : {&c.rules, &c.shadow_rules}) {
    if (!*r) continue;
    text += "[" + std::to_string(static_cast<int>((*r)->action));
    for (const auto& p : (*r)->policies) {
      text += p.name + ":";
      for (const auto& m : p.permissions) digest(m, text);
      text += "=>";
      for (const auto& m : p.principals) digest(m, text);
    }
    text += "]";
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(fnv1a64(text)));
  return buf;
}

}  // namespace

namespace {

std::vector<StringMatcher> header_patterns(const std::vector<std::string>& headers) {
  std::vector<StringMatcher> out;
  for (const auto& h : headers) {
    if (!h.empty() && h.front() == '*') out.push_back(sm(StringMatcher::Kind::kSuffix, h.substr(1), true));
    else if (!h.empty() && h.back() == '*') out.push_back(sm(StringMatcher::Kind::kPrefix, h.substr(0, h.size() - 1), true));
    else out.push_back(exact(h, true));
  }
  return out;
}

// extauthz.go buildExtAuthzHTTP: nullptr + why when the provider cannot be used.
std::shared_ptr<proxy::ExtAuthzConfig> ext_authz_config(const World& w, const std::string& provider, std::string& why) {
  const MeshConfig& mc = w.mesh_config();
  const ExtAuthzHttpProvider* p = nullptr;
  for (const auto& e : mc.ext_authz_http_providers)
    if (e.name == provider) p = &e;
  if (!p) {
    auto other = mc.other_extension_providers.find(provider);
    why = other == mc.other_extension_providers.end()
              ? "available providers are []: provider " + provider + " not found"
              : "provider " + provider + " is " + other->second + ", which meshsim does not simulate";
    return nullptr;
  }
  std::string host = p->service;
  std::string ns;
  if (size_t slash = host.find('/'); slash != std::string::npos) {
    ns = host.substr(0, slash);
    host = host.substr(slash + 1);
  }
  const WorldService* svc = w.service_by_hostname(host);
  if (!svc || (!ns.empty() && svc->namespace_ != ns)) {
    why = "could not find service " + p->service + " (port " + std::to_string(p->port) + ")";
    return nullptr;
  }
  uint32_t status = 403;
  if (!p->status_on_error.empty()) {
    bool digits = std::all_of(p->status_on_error.begin(), p->status_on_error.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!digits || p->status_on_error.size() > 3) {
      why = "invalid statusOnError \"" + p->status_on_error + "\"";
      return nullptr;
    }
    status = static_cast<uint32_t>(std::stoul(p->status_on_error));
  }
  auto c = std::make_shared<proxy::ExtAuthzConfig>();
  c->provider = provider;
  c->uri = "http://" + svc->hostname;
  c->cluster = "outbound|" + std::to_string(p->port) + "||" + svc->hostname;
  c->timeout = p->timeout.value_or(Duration::seconds(600));
  c->path_prefix = p->path_prefix;
  c->allowed_headers = header_patterns(p->include_request_headers_in_check);
  for (const auto& [k, v] : p->include_additional_headers_in_check) c->headers_to_add.emplace_back(k, v);
  c->allowed_upstream_headers = header_patterns(p->headers_to_upstream_on_allow);
  c->allowed_client_headers = header_patterns(p->headers_to_downstream_on_deny);
  c->allowed_client_headers_on_success = header_patterns(p->headers_to_downstream_on_allow);
  c->failure_mode_allow = p->fail_open;
  c->status_on_error = status;
  c->enabled_prefix = "istio-ext-authz-" + provider;
  return c;
}

}  // namespace

AuthzFilters build_authz_filters(const World& w, const WorldPod& pod) {
  AuthzFilters out;
  std::vector<const AuthorizationPolicy*> policies = authorization_policies_for(w, pod.namespace_, pod.labels);
  if (policies.empty()) return out;
  const MeshConfig& mc = w.mesh_config();
  TrustDomains td;
  td.all.push_back(mc.trust_domain);
  for (const auto& a : mc.trust_domain_aliases) td.all.push_back(a);

  // CUSTOM (the custom builder: action DENY rules per provider, names
  // prefixed "istio-ext-authz-<provider>-"), on HTTP chains only for HTTP
  // providers.
  std::map<std::string, std::vector<const AuthorizationPolicy*>> by_provider;
  for (const auto* p : policies)
    if (p->action == AuthzAction::kCustom) by_provider[p->provider].push_back(p);
  for (const auto& [provider, mine] : by_provider) {
    std::string prefix = "istio-ext-authz-" + provider + "-";
    Rbac rules, dry;
    rules.action = dry.action = RbacAction::kDeny;
    for (const AuthorizationPolicy* ap : mine) {
      Rbac& target = dry_run(*ap) ? dry : rules;
      for (size_t i = 0; i < ap->rules.size(); ++i) {
        std::string error;
        auto model = model_of(ap->rules[i], td, error);
        if (!model) continue;
        auto gen = generate(*model, false, RbacAction::kDeny, ap->meta.namespace_, error);
        if (!gen) continue;
        gen->name = authz_policy_name(*ap, i, prefix);
        target.policies.push_back(std::move(*gen));
      }
      if (ap->rules.empty()) target.policies.push_back(match_never(authz_policy_name(*ap, 0, prefix)));
    }
    auto by_name = [](const RbacPolicy& a, const RbacPolicy& b) { return a.name < b.name; };
    std::stable_sort(rules.policies.begin(), rules.policies.end(), by_name);
    std::stable_sort(dry.policies.begin(), dry.policies.end(), by_name);
    std::string why;
    auto ext = ext_authz_config(w, provider, why);
    auto cfg = std::make_shared<RbacFilterConfig>();
    cfg->istio_action = "CUSTOM";
    if (!ext) {
      // getBadCustomDenyRules: the requests the provider should check are denied.
      out.skipped.push_back("failed to process CUSTOM action for provider " + provider +
                            ", will generate deny configs: " + why);
      for (auto& p : rules.policies) p.name += "-deny-due-to-bad-CUSTOM-action";
      cfg->rules = std::move(rules);
    } else {
      cfg->shadow_rules = std::move(rules);
      cfg->shadow_rules_stat_prefix = "istio_ext_authz_";
      if (!dry.policies.empty()) cfg->rules = std::move(dry);
    }
    cfg->fingerprint = fingerprint(*cfg);
    proxy::HttpFilter rbac;
    rbac.name = "envoy.filters.http.rbac";
    rbac.rbac = cfg;
    out.custom_http.push_back(std::move(rbac));
    if (ext) {
      proxy::HttpFilter f;
      f.name = "envoy.filters.http.ext_authz";
      f.ext_authz = ext;
      out.custom_http.push_back(std::move(f));
    }
  }

  struct Group {
    AuthzAction action;
    RbacAction rbac;
    const char* name;
  };
  const Group groups[] = {{AuthzAction::kAudit, RbacAction::kLog, "AUDIT"},
                          {AuthzAction::kDeny, RbacAction::kDeny, "DENY"},
                          {AuthzAction::kAllow, RbacAction::kAllow, "ALLOW"}};
  for (bool for_tcp : {false, true}) {
    for (const Group& g : groups) {
      std::vector<const AuthorizationPolicy*> mine;
      for (const auto* p : policies)
        if (p->action == g.action) mine.push_back(p);
      if (mine.empty()) continue;
      Rbac enforce, shadow;
      enforce.action = shadow.action = g.rbac;
      bool has_enforce = false, has_shadow = false;
      for (const AuthorizationPolicy* ap : mine) {
        bool dry = dry_run(*ap);
        (dry ? has_shadow : has_enforce) = true;
        Rbac& target = dry ? shadow : enforce;
        for (size_t i = 0; i < ap->rules.size(); ++i) {
          std::string name = authz_policy_name(*ap, i);
          std::string error;
          auto model = model_of(ap->rules[i], td, error);
          if (!model) {
            if (!for_tcp) out.skipped.push_back("skipped invalid rule " + name + ": " + error);
            continue;
          }
          auto gen = generate(*model, for_tcp, g.rbac, ap->meta.namespace_, error);
          if (!gen) {
            if (for_tcp) out.skipped.push_back("skipped rule " + name + " on TCP filter chain: " + error);
            continue;
          }
          gen->name = name;
          target.policies.push_back(std::move(*gen));
        }
        if (ap->rules.empty()) target.policies.push_back(match_never(authz_policy_name(*ap, 0)));
      }
      auto cfg = std::make_shared<RbacFilterConfig>();
      cfg->istio_action = g.name;
      auto by_name = [](const RbacPolicy& a, const RbacPolicy& b) { return a.name < b.name; };
      if (has_enforce) {
        std::stable_sort(enforce.policies.begin(), enforce.policies.end(), by_name);
        cfg->rules = std::move(enforce);
      }
      if (has_shadow) {
        std::stable_sort(shadow.policies.begin(), shadow.policies.end(), by_name);
        cfg->shadow_rules = std::move(shadow);
      }
      // builder.go shadowRuleStatPrefix reads the action of the shadow rules;
      // without any, Go's nil getter says ALLOW.
      cfg->shadow_rules_stat_prefix = !has_shadow || g.rbac == RbacAction::kAllow ? "istio_dry_run_allow_"
                                      : g.rbac == RbacAction::kDeny               ? "istio_dry_run_deny_"
                                                                                  : "";
      if (for_tcp) cfg->stat_prefix = "tcp.";
      cfg->fingerprint = fingerprint(*cfg);
      if (for_tcp) {
        out.tcp.push_back({"envoy.filters.network.rbac", proxy::NetworkRbac{cfg}});
      } else {
        proxy::HttpFilter f;
        f.name = "envoy.filters.http.rbac";
        f.rbac = cfg;
        out.http.push_back(std::move(f));
      }
    }
  }
  return out;
}

namespace {

// istiod's JWKS when jwksUri cannot be fetched (jwks_resolver.go
// PublicOnlyJwks): an RSA public key without kid or alg whose private key
// nobody has, so every token fails with "Jwt verification fails" and
// requests without a token still pass.
constexpr const char* kUnresolvableJwks =
    R"({"keys":[{"kty":"RSA","e":"AQAB","n":"2g3xkBm1nUxCo3x250GQPSqp6r8Oniwoj_qVEn7gCTvR_nRloYrM2_qv_DBQt2QAsF3IZzF3eMPDT5AyBYAGLcSQHOTAyxtSC7maZCOCmEvAx3oVgSb31gbC9No6e1oYrXYA2qIAnd0dJ2sMBg0_Qilq3h0a9nQ4wpfRu7iMdLOt2qm-1TgF7h6DebfWXOoKOLQvEwp7RdTq2z-d10lWoQldADMbaqvlWhBBDUb7A7Txetoc77vDyLzIZMWUY3dDgBZM9ToG3x1cRspRv061h2sWGieEvZGV_Xhbzk0eHPhr4yXYa3YFJRbsQ8OelAlpghbemAK5kLjp2bnDlOMHgw"}]})";

}  // namespace

std::optional<proxy::HttpFilter> build_jwt_authn_filter(const World& w, const WorldPod& pod) {
  std::vector<const RequestAuthentication*> ras = request_authentications_for(w, pod.namespace_, pod.labels);
  struct Rule {
    const RequestAuthentication* ra;
    size_t index;
  };
  std::vector<Rule> rules;
  for (const auto* ra : ras)
    for (size_t i = 0; i < ra->jwt_rules.size(); ++i) rules.push_back({ra, i});
  if (rules.empty()) return std::nullopt;
  std::stable_sort(rules.begin(), rules.end(), [](const Rule& a, const Rule& b) {
    return a.ra->jwt_rules[a.index].issuer < b.ra->jwt_rules[b.index].issuer;
  });
  auto cfg = std::make_shared<proxy::JwtAuthnConfig>();
  for (size_t i = 0; i < rules.size(); ++i) {
    const JwtRule& r = rules[i].ra->jwt_rules[rules[i].index];
    proxy::JwtProvider p;
    p.name = "origins-" + std::to_string(i);
    p.issuer = r.issuer;
    p.audiences = r.audiences;
    p.source = rules[i].ra->meta.namespace_ + "/" + rules[i].ra->meta.name + " jwtRules[" +
               std::to_string(rules[i].index) + "]";
    if (!r.jwks.empty()) {
      p.local_jwks = r.jwks;
    } else if (auto it = w.resources().jwks_documents.find(r.jwks_uri); !r.jwks_uri.empty() &&
                                                                        it != w.resources().jwks_documents.end()) {
      p.local_jwks = it->second;
      p.jwks_note = "jwksUri " + r.jwks_uri + " resolved from the file given for it";
    } else {
      p.local_jwks = kUnresolvableJwks;
      p.jwks_note = r.jwks_uri.empty() ? "no jwks or jwksUri (istiod would resolve the issuer's OpenID discovery "
                                         "document; meshsim does not reach the network): no token verifies"
                                       : "jwksUri " + r.jwks_uri +
                                             " not given to meshsim (--jwks URI=FILE): istiod's fallback key, no token "
                                             "verifies";
    }
    for (const auto& h : r.from_headers) p.from_headers.push_back({h.name, h.prefix});
    p.from_params = r.from_params;
    p.from_cookies = r.from_cookies;
    p.forward = r.forward_original_token;
    p.forward_payload_header = r.output_payload_to_header;
    for (const auto& c : r.output_claim_to_headers) p.claim_to_headers.push_back({c.header, c.claim});
    p.space_delimited_claims = {"scope", "permission"};
    for (const auto& c : r.space_delimited_claims)
      if (std::find(p.space_delimited_claims.begin(), p.space_delimited_claims.end(), c) == p.space_delimited_claims.end())
        p.space_delimited_claims.push_back(c);
    cfg->providers.push_back(std::move(p));
  }
  proxy::HttpFilter f;
  f.name = "envoy.filters.http.jwt_authn";
  f.jwt_authn = cfg;
  return f;
}

}  // namespace meshsim::mesh
