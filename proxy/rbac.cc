#include "proxy/rbac.h"

#include <re2/re2.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>

#include "proxy/base/ascii.h"
#include "proxy/http/message.h"

namespace meshsim::proxy {

const char* rbac_action_name(RbacAction a) {
  switch (a) {
    case RbacAction::kAllow: return "ALLOW";
    case RbacAction::kDeny: return "DENY";
    case RbacAction::kLog: return "LOG";
  }
  return "?";
}

namespace {

bool eq(std::string_view a, std::string_view b, bool icase) {
  return icase ? ascii_iequals(a, b) : a == b;
}

std::string join(const std::vector<std::string>& v, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += sep;
    out += v[i];
  }
  return out;
}

const MetadataValue* metadata_of(const RbacMatcher& m, const RbacInput& in) {
  return in.metadata ? in.metadata->find(m.metadata_filter, m.metadata_path) : nullptr;
}

}  // namespace

std::string describe(const StringMatcher& m) {
  std::string k;
  switch (m.kind) {
    case StringMatcher::Kind::kExact: k = "exact "; break;
    case StringMatcher::Kind::kPrefix: k = "prefix "; break;
    case StringMatcher::Kind::kSuffix: k = "suffix "; break;
    case StringMatcher::Kind::kContains: k = "contains "; break;
    case StringMatcher::Kind::kRegex: k = "regex "; break;
  }
  return k + "\"" + m.value + "\"" + (m.ignore_case ? " (ignore case)" : "");
}

std::optional<std::string> rbac_header_value(const http::Request& req, std::string_view name, std::string_view scheme) {
  if (!name.empty() && name[0] == ':') {
    if (name == ":method") return req.method;
    if (name == ":path") return req.target;
    if (name == ":authority") {
      std::string_view h = req.host();
      if (h.empty()) return std::nullopt;
      return std::string(h);
    }
    if (name == ":scheme") return std::string(scheme);
    return std::nullopt;
  }
  std::optional<std::string> out;
  for (const auto& f : req.headers) {
    if (!http::iequals(f.name, name)) continue;
    if (out) {
      *out += ',';
      *out += f.value;
    } else {
      out = std::string(f.value);
    }
  }
  return out;
}

namespace {

// rbac_header_value without copying: a view of the pseudo-header or of the
// header's only value; several values are joined into `scratch`.
std::optional<std::string_view> header_view(const http::Request& req, std::string_view name, std::string_view scheme,
                                            std::string& scratch) {
  if (!name.empty() && name[0] == ':') {
    if (name == ":method") return std::string_view(req.method);
    if (name == ":path") return std::string_view(req.target);
    if (name == ":authority") {
      std::string_view h = req.host();
      if (h.empty()) return std::nullopt;
      return h;
    }
    if (name == ":scheme") return scheme;
    return std::nullopt;
  }
  std::optional<std::string_view> first;
  bool several = false;
  for (const auto& f : req.headers) {
    if (!http::iequals(f.name, name)) continue;
    if (!first) {
      first = f.value;
      continue;
    }
    if (!several) {
      scratch.assign(first->data(), first->size());
      several = true;
    }
    scratch += ',';
    scratch += f.value;
  }
  if (several) return std::string_view(scratch);
  return first;
}

}  // namespace

CompiledRbacFilter::CompiledRbacFilter(std::shared_ptr<const RbacFilterConfig> cfg) : config(std::move(cfg)) {
  if (config && config->rules) rules = std::make_unique<CompiledRbac>(*config->rules);
  if (config && config->shadow_rules) shadow = std::make_unique<CompiledRbac>(*config->shadow_rules);
}

namespace {

// value → indexes of the policies filed under it, ascending. The values are
// views into the Rbac config, which outlives its CompiledRbac.
using Postings = std::unordered_map<std::string_view, std::vector<uint32_t>>;

// What a policy is filed under: a value it requires of the input.
enum class GuardKind : uint8_t { kIdentity, kPath, kPort };
struct GuardKey {
  bool prefix = false;     // kPath: a prefix rather than the exact path
  std::string_view value;  // kIdentity, kPath
  uint16_t port = 0;       // kPort
};

// Values such that `m` matching implies the input offers one of them (an
// identity equal to one, a path equal to / starting with one, a port equal
// to one); nullopt when `m` promises no such thing. An OR promises the union
// of what its children promise (nothing when it has none: it never
// matches); an AND what its most selective promising child does.
std::optional<std::vector<GuardKey>> guard(const RbacMatcher& m, GuardKind g) {
  using K = RbacMatcher::Kind;
  using S = StringMatcher::Kind;
  switch (m.kind) {
    case K::kAuthenticated:
      if (g == GuardKind::kIdentity && m.string && m.string->kind == S::kExact && !m.string->ignore_case)
        return std::vector<GuardKey>{{false, m.string->value, 0}};
      return std::nullopt;
    case K::kUrlPath:
      if (g == GuardKind::kPath && m.string && (m.string->kind == S::kExact || m.string->kind == S::kPrefix) &&
          !m.string->ignore_case)
        return std::vector<GuardKey>{{m.string->kind == S::kPrefix, m.string->value, 0}};
      return std::nullopt;
    case K::kDestinationPort:
      if (g == GuardKind::kPort) return std::vector<GuardKey>{{false, "", m.port}};
      return std::nullopt;
    case K::kOr: {
      std::vector<GuardKey> out;
      for (const auto& c : m.children) {
        auto k = guard(c, g);
        if (!k) return std::nullopt;
        out.insert(out.end(), k->begin(), k->end());
      }
      return out;
    }
    case K::kAnd: {
      std::optional<std::vector<GuardKey>> best;
      for (const auto& c : m.children) {
        auto k = guard(c, g);
        if (k && (!best || k->size() < best->size())) best = std::move(k);
      }
      return best;
    }
    default: return std::nullopt;
  }
}

// The same for a list matched as "any of them" (a policy's permissions or principals).
std::optional<std::vector<GuardKey>> guard_any(const std::vector<RbacMatcher>& list, GuardKind g) {
  std::vector<GuardKey> out;
  for (const auto& m : list) {
    auto k = guard(m, g);
    if (!k) return std::nullopt;
    out.insert(out.end(), k->begin(), k->end());
  }
  return out;
}

// The posting lists a request selects, walked together in ascending policy
// order (a k-way merge: no copy, no sort, stops at the first match). Up to
// 32 lists without allocating.
class Merge {
 public:
  void add(const std::vector<uint32_t>& list) {
    if (list.empty()) return;
    Cursor c{list.data(), list.data() + list.size()};
    if (n_ < inline_.size()) inline_[n_++] = c;
    else {
      if (heap_.empty()) heap_.assign(inline_.begin(), inline_.end());
      heap_.push_back(c);
      ++n_;
    }
  }
  // The next policy index (each once), or false when every list is done.
  bool next(uint32_t& out) {
    Cursor* cs = heap_.empty() ? inline_.data() : heap_.data();
    uint32_t best = UINT32_MAX;
    for (size_t i = 0; i < n_; ++i)
      if (cs[i].at != cs[i].end && *cs[i].at < best) best = *cs[i].at;
    if (best == UINT32_MAX) return false;
    for (size_t i = 0; i < n_; ++i)
      if (cs[i].at != cs[i].end && *cs[i].at == best) ++cs[i].at;
    out = best;
    return true;
  }

 private:
  struct Cursor {
    const uint32_t* at = nullptr;
    const uint32_t* end = nullptr;
  };
  std::array<Cursor, 32> inline_{};
  std::vector<Cursor> heap_;
  size_t n_ = 0;
};

}  // namespace

struct CompiledRbac::Index {
  std::vector<uint32_t> always;  // policies filed under nothing, ascending
  Postings identity, path_exact, path_prefix;
  std::vector<size_t> prefix_lengths;  // distinct lengths of path_prefix's keys, ascending
  std::unordered_map<uint16_t, std::vector<uint32_t>> port;
};

CompiledRbac::CompiledRbac(const Rbac& rbac) : rbac_(rbac) {
  for (const RbacPolicy& p : rbac_.policies) {
    for (const auto& m : p.permissions) compile(m);
    for (const auto& m : p.principals) compile(m);
  }
  build_index();
}

CompiledRbac::~CompiledRbac() = default;

void CompiledRbac::build_index() {
  auto idx = std::make_unique<Index>();
  bool filed_any = false;
  for (uint32_t i = 0; i < rbac_.policies.size(); ++i) {
    const RbacPolicy& p = rbac_.policies[i];
    // The identity is the most selective in Istio's configs (one principal
    // per service account), then the path, then the port.
    if (auto id = guard_any(p.principals, GuardKind::kIdentity)) {
      for (const auto& g : *id) idx->identity[g.value].push_back(i);
    } else if (auto path = guard_any(p.permissions, GuardKind::kPath)) {
      for (const auto& g : *path) (g.prefix ? idx->path_prefix : idx->path_exact)[g.value].push_back(i);
    } else if (auto ports = guard_any(p.permissions, GuardKind::kPort)) {
      for (const auto& g : *ports) idx->port[g.port].push_back(i);
    } else {
      idx->always.push_back(i);
      continue;
    }
    filed_any = true;
  }
  if (!filed_any) return;  // nothing to skip: try every policy
  for (const auto& [prefix, list] : idx->path_prefix) idx->prefix_lengths.push_back(prefix.size());
  std::sort(idx->prefix_lengths.begin(), idx->prefix_lengths.end());
  idx->prefix_lengths.erase(std::unique(idx->prefix_lengths.begin(), idx->prefix_lengths.end()), idx->prefix_lengths.end());
  index_ = std::move(idx);
}

namespace {

std::unique_ptr<RE2> make_regex(const std::string& pattern) {
  RE2::Options o;
  o.set_log_errors(false);
  auto re = std::make_unique<RE2>(pattern, o);
  // A pattern RE2 rejects never matches (istiod would not have generated it).
  if (!re->ok()) re = std::make_unique<RE2>("a\\bz\\B", o);
  return re;
}

// Envoy's uri_template matcher: "*" is one non-empty path segment, "**"
// any number of characters (segments included), the rest literal; the
// query is not part of the match.
std::string uri_template_regex(const std::string& t) {
  std::string out;
  for (size_t i = 0; i < t.size(); ++i) {
    if (t[i] == '*') {
      if (i + 1 < t.size() && t[i + 1] == '*') {
        out += ".*";
        ++i;
      } else {
        out += "[^/]+";
      }
    } else {
      out += RE2::QuoteMeta(std::string(1, t[i]));
    }
  }
  return out;
}

}  // namespace

void CompiledRbac::compile(const RbacMatcher& m) {
  if (m.kind == RbacMatcher::Kind::kUriTemplate && m.string) {
    regexes_.emplace(&*m.string, make_regex(uri_template_regex(m.string->value)));
  } else if (m.string && m.string->kind == StringMatcher::Kind::kRegex) {
    regexes_.emplace(&*m.string, make_regex(m.string->value));
  }
  for (const auto& v : m.metadata_values)
    if (v.kind == StringMatcher::Kind::kRegex) regexes_.emplace(&v, make_regex(v.value));
  for (const auto& c : m.children) compile(c);
}

bool string_matches(const StringMatcher& m, std::string_view v) {
  switch (m.kind) {
    case StringMatcher::Kind::kExact: return eq(v, m.value, m.ignore_case);
    case StringMatcher::Kind::kPrefix:
      return v.size() >= m.value.size() && eq(v.substr(0, m.value.size()), m.value, m.ignore_case);
    case StringMatcher::Kind::kSuffix:
      return v.size() >= m.value.size() && eq(v.substr(v.size() - m.value.size()), m.value, m.ignore_case);
    case StringMatcher::Kind::kContains: {
      if (!m.ignore_case) return v.find(m.value) != std::string_view::npos;
      if (m.value.size() > v.size()) return false;
      for (size_t i = 0; i + m.value.size() <= v.size(); ++i)
        if (eq(v.substr(i, m.value.size()), m.value, true)) return true;
      return false;
    }
    case StringMatcher::Kind::kRegex: return false;
  }
  return false;
}

bool CompiledRbac::string_matches(const StringMatcher& m, std::string_view v) const {
  if (m.kind != StringMatcher::Kind::kRegex) return proxy::string_matches(m, v);
  auto it = regexes_.find(&m);
  return it != regexes_.end() && RE2::FullMatch(re2::StringPiece(v.data(), v.size()), *it->second);
}

bool CompiledRbac::matches(const RbacMatcher& m, const RbacInput& in) const {
  using K = RbacMatcher::Kind;
  switch (m.kind) {
    case K::kAny: return true;
    case K::kAnd:
      for (const auto& c : m.children)
        if (!matches(c, in)) return false;
      return true;
    case K::kOr:
      for (const auto& c : m.children)
        if (matches(c, in)) return true;
      return false;
    case K::kNot: return !m.children.empty() && !matches(m.children.front(), in);
    case K::kAuthenticated: {
      if (!in.tls || !in.tls->tls) return false;
      if (!m.string) return true;
      for (const auto& san : in.tls->peer_uri_sans)
        if (string_matches(*m.string, san)) return true;
      for (const auto& san : in.tls->peer_dns_sans)
        if (string_matches(*m.string, san)) return true;
      return string_matches(*m.string, in.tls->peer_subject);
    }
    case K::kDirectRemoteIp:
    case K::kSourceIp: return m.cidr.contains(in.direct_remote.ip);
    case K::kRemoteIp: return m.cidr.contains(in.remote.ip);
    case K::kDestinationIp: return m.cidr.contains(in.local.ip);
    case K::kDestinationPort: return in.local.port == m.port;
    case K::kRequestedServerName: return m.string && string_matches(*m.string, in.sni);
    case K::kHeader: {
      if (!in.request) return false;
      std::string joined;
      auto v = header_view(*in.request, m.header_name, in.scheme, joined);
      if (!v) return false;
      return !m.string || string_matches(*m.string, *v);
    }
    case K::kUrlPath: return in.request && m.string && string_matches(*m.string, in.request->path());
    case K::kUriTemplate: {
      if (!in.request || !m.string) return false;
      auto it = regexes_.find(&*m.string);
      std::string_view p = in.request->path();
      return it != regexes_.end() && RE2::FullMatch(re2::StringPiece(p.data(), p.size()), *it->second);
    }
    case K::kMetadata: {
      const MetadataValue* v = metadata_of(m, in);
      if (!v) return false;
      using S = RbacMatcher::ValueShape;
      if (v->list ? m.metadata_shape == S::kString : m.metadata_shape == S::kList) return false;
      for (const auto& want : m.metadata_values)
        for (const auto& have : v->values)
          if (string_matches(want, have)) return true;
      return false;
    }
  }
  return false;
}

bool CompiledRbac::policy_matches(const RbacPolicy& p, const RbacInput& in) const {
  return std::any_of(p.permissions.begin(), p.permissions.end(), [&](const auto& m) { return matches(m, in); }) &&
         std::any_of(p.principals.begin(), p.principals.end(), [&](const auto& m) { return matches(m, in); });
}

// The first policy in name order that matches: every policy when nothing is
// indexed, else the unfiled ones merged with those the input's identity,
// path and port select.
const RbacPolicy* CompiledRbac::first_match(const RbacInput& in) const {
  const auto& policies = rbac_.policies;
  if (!index_) {
    for (const RbacPolicy& p : policies)
      if (policy_matches(p, in)) return &p;
    return nullptr;
  }
  const Index& idx = *index_;
  Merge merge;
  merge.add(idx.always);
  if (!idx.identity.empty() && in.tls && in.tls->tls) {
    // kAuthenticated tries URI SANs, DNS SANs, then the subject.
    auto add = [&](std::string_view v) {
      if (auto it = idx.identity.find(v); it != idx.identity.end()) merge.add(it->second);
    };
    for (const auto& san : in.tls->peer_uri_sans) add(san);
    for (const auto& san : in.tls->peer_dns_sans) add(san);
    add(in.tls->peer_subject);
  }
  if (in.request && (!idx.path_exact.empty() || !idx.path_prefix.empty())) {
    std::string_view path = in.request->path();
    if (auto it = idx.path_exact.find(path); it != idx.path_exact.end()) merge.add(it->second);
    for (size_t len : idx.prefix_lengths) {
      if (len > path.size()) break;
      if (auto it = idx.path_prefix.find(path.substr(0, len)); it != idx.path_prefix.end()) merge.add(it->second);
    }
  }
  if (!idx.port.empty())
    if (auto it = idx.port.find(in.local.port); it != idx.port.end()) merge.add(it->second);
  for (uint32_t i; merge.next(i);)
    if (policy_matches(policies[i], in)) return &policies[i];
  return nullptr;
}

RbacResult CompiledRbac::evaluate(const RbacInput& in, bool explain) const {
  RbacResult r;
  const RbacPolicy* matched = first_match(in);
  if (matched) r.effective_policy = matched->name;
  switch (rbac_.action) {
    case RbacAction::kAllow: r.allowed = matched != nullptr; break;
    case RbacAction::kDeny: r.allowed = matched == nullptr; break;
    case RbacAction::kLog: r.allowed = true; break;
  }
  if (!explain) return r;
  if (matched) {
    std::vector<std::string> why;
    for (const auto& m : matched->permissions) {
      if (matches(m, in)) {
        why_matched(m, in, why);
        break;
      }
    }
    for (const auto& m : matched->principals) {
      if (matches(m, in)) {
        why_matched(m, in, why);
        break;
      }
    }
    std::string s = matched->name + ": ";
    s += why.empty() ? std::string("matches every request") : join(why, "; ");
    r.reasons.push_back(std::move(s));
  } else if (rbac_.policies.empty()) {
    if (rbac_.action == RbacAction::kAllow) r.reasons.push_back("no ALLOW rule exists (an allow-nothing policy)");
  } else {
    for (const RbacPolicy& p : rbac_.policies) {
      const std::vector<RbacMatcher>* side = &p.permissions;
      if (std::any_of(p.permissions.begin(), p.permissions.end(), [&](const auto& m) { return matches(m, in); }))
        side = &p.principals;
      std::string why;
      if (side->empty()) why = "no principal or permission";
      else if (side->size() == 1) why = why_not(side->front(), in);
      else {
        std::vector<std::string> parts;
        for (const auto& m : *side) parts.push_back(why_not(m, in));
        why = join(parts, " and ");
      }
      r.reasons.push_back(p.name + ": " + why);
    }
  }
  return r;
}

std::string CompiledRbac::describe_actual(const RbacMatcher& m, const RbacInput& in) const {
  using K = RbacMatcher::Kind;
  switch (m.kind) {
    case K::kAuthenticated:
      if (!in.tls || !in.tls->tls) return "peer has no identity (plaintext)";
      if (in.tls->peer_uri_sans.empty() && in.tls->peer_dns_sans.empty() && in.tls->peer_subject.empty())
        return "peer presented no certificate";
      if (!in.tls->peer_uri_sans.empty()) return "peer is " + in.tls->peer_uri_sans.front();
      if (!in.tls->peer_dns_sans.empty()) return "peer is " + in.tls->peer_dns_sans.front();
      return "peer is " + in.tls->peer_subject;
    case K::kDirectRemoteIp:
    case K::kSourceIp: return "source IP is " + to_string(in.direct_remote.ip);
    case K::kRemoteIp: return "remote IP is " + to_string(in.remote.ip);
    case K::kDestinationIp: return "destination IP is " + to_string(in.local.ip);
    case K::kDestinationPort: return "destination port is " + std::to_string(in.local.port);
    case K::kRequestedServerName: return in.sni.empty() ? std::string("no SNI") : "SNI is " + std::string(in.sni);
    case K::kHeader: {
      if (!in.request) return "no HTTP request (TCP)";
      auto v = rbac_header_value(*in.request, m.header_name, in.scheme);
      if (m.header_name == ":method") return v ? "method is " + *v : "no method";
      if (m.header_name == ":authority") return v ? "host is " + *v : "no host";
      return v ? "header " + m.header_name + " is \"" + *v + "\"" : "header " + m.header_name + " is absent";
    }
    case K::kUrlPath:
    case K::kUriTemplate: return in.request ? "path is " + std::string(in.request->path()) : "no HTTP request (TCP)";
    case K::kMetadata: {
      const MetadataValue* v = metadata_of(m, in);
      std::string what = m.metadata_path.empty() ? m.metadata_filter : join(m.metadata_path, ".");
      if (!v) return what + " is absent" + (in.request ? " (no valid JWT)" : " (TCP)");
      if (!v->list) return what + " is " + (v->values.empty() ? std::string() : v->values.front());
      return what + " is [" + join(v->values, ", ") + "]";
    }
    default: return "";
  }
}

namespace {

std::string expected(const RbacMatcher& m) {
  using K = RbacMatcher::Kind;
  switch (m.kind) {
    case K::kAuthenticated: return m.string ? describe(*m.string) : std::string("any authenticated peer");
    case K::kDirectRemoteIp:
    case K::kSourceIp:
    case K::kRemoteIp:
    case K::kDestinationIp: return to_string(m.cidr);
    case K::kDestinationPort: return std::to_string(m.port);
    case K::kHeader: return m.string ? describe(*m.string) : std::string("present");
    case K::kRequestedServerName:
    case K::kUrlPath: return m.string ? describe(*m.string) : std::string("?");
    case K::kUriTemplate: return m.string ? "template \"" + m.string->value + "\"" : std::string("?");
    case K::kMetadata: {
      std::vector<std::string> v;
      for (const auto& s : m.metadata_values) v.push_back(describe(s));
      return v.size() == 1 ? v.front() : "any of [" + join(v, ", ") + "]";
    }
    default: return "";
  }
}

bool is_leaf(const RbacMatcher& m) {
  using K = RbacMatcher::Kind;
  return m.kind != K::kAnd && m.kind != K::kOr && m.kind != K::kNot && m.kind != K::kAny;
}

// The origin of a node: its own, else that shared by all its children.
std::string origin_of(const RbacMatcher& m) {
  if (!m.origin.empty() || m.children.empty()) return m.origin;
  std::string o = origin_of(m.children.front());
  for (const auto& c : m.children)
    if (origin_of(c) != o) return "";
  return o;
}

std::string prefixed(const std::string& origin, const std::string& text) {
  return origin.empty() ? text : origin + ": " + text;
}

}  // namespace

std::string CompiledRbac::why_not(const RbacMatcher& m, const RbacInput& in) const {
  using K = RbacMatcher::Kind;
  switch (m.kind) {
    case K::kAnd:
      for (const auto& c : m.children) {
        if (matches(c, in)) continue;
        std::string w = why_not(c, in);
        return !m.origin.empty() && origin_of(c).empty() ? prefixed(m.origin, w) : w;
      }
      return "";
    case K::kOr: {
      if (m.children.empty()) return prefixed(m.origin, "an empty or_rules never matches");
      if (m.children.size() == 1) return why_not(m.children.front(), in);
      // Values of one field (principals: [a, b]): "peer is X, not one of [a, b]".
      bool leaves = std::all_of(m.children.begin(), m.children.end(),
                                [&](const RbacMatcher& c) { return is_leaf(c) && c.kind == m.children.front().kind; });
      std::string o = origin_of(m);
      if (leaves) {
        std::vector<std::string> vals;
        for (const auto& c : m.children) vals.push_back(expected(c));
        return prefixed(o, describe_actual(m.children.front(), in) + ", not one of [" + join(vals, ", ") + "]");
      }
      std::vector<std::string> parts;
      for (const auto& c : m.children) parts.push_back(why_not(c, in));
      return prefixed(o.empty() ? std::string() : o, "none of: " + join(parts, " | "));
    }
    case K::kNot: {
      if (m.children.empty()) return prefixed(m.origin, "a not_rule without a rule never matches");
      const RbacMatcher& c = m.children.front();
      // istiod's never-matching policy (an AuthorizationPolicy without rules).
      if (c.kind == K::kAny) return m.origin.empty() ? std::string("matches nothing") : m.origin;
      std::string o = m.origin.empty() ? origin_of(c) : m.origin;
      std::vector<std::string> hit;
      why_matched(c, in, hit);
      std::string text = hit.empty() ? std::string("matched") : join(hit, "; ");
      // The child's own origin is already in `text` when it has one.
      return origin_of(c) == o ? text + " (excluded)" : prefixed(o, text + " (excluded)");
    }
    case K::kAny: return "";
    default:
      return prefixed(m.origin, describe_actual(m, in) + ", not " + expected(m));
  }
}

void CompiledRbac::why_matched(const RbacMatcher& m, const RbacInput& in, std::vector<std::string>& out) const {
  using K = RbacMatcher::Kind;
  switch (m.kind) {
    case K::kAny: return;
    case K::kAnd:
      for (const auto& c : m.children) why_matched(c, in, out);
      return;
    case K::kOr:
      for (const auto& c : m.children) {
        if (matches(c, in)) {
          why_matched(c, in, out);
          return;
        }
      }
      return;
    case K::kNot: {
      if (m.children.empty()) return;  // never matches, so never asked
      std::string w = why_not(m.children.front(), in);
      std::string o = m.origin.empty() ? origin_of(m.children.front()) : m.origin;
      if (!w.empty()) out.push_back(w.rfind(o, 0) == 0 ? w + " (not excluded)" : prefixed(o, w + " (not excluded)"));
      return;
    }
    default: out.push_back(prefixed(m.origin, describe_actual(m, in) + " matches " + expected(m)));
  }
}

}  // namespace meshsim::proxy
