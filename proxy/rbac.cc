#include "proxy/rbac.h"

#include <re2/re2.h>

#include <algorithm>

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

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool eq(std::string_view a, std::string_view b, bool icase) {
  if (a.size() != b.size()) return false;
  if (!icase) return a == b;
  for (size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
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

CompiledRbacFilter::CompiledRbacFilter(std::shared_ptr<const RbacFilterConfig> cfg) : config(std::move(cfg)) {
  if (config && config->rules) rules = std::make_unique<CompiledRbac>(*config->rules);
  if (config && config->shadow_rules) shadow = std::make_unique<CompiledRbac>(*config->shadow_rules);
}

CompiledRbac::CompiledRbac(const Rbac& rbac) : rbac_(rbac) {
  for (const RbacPolicy& p : rbac_.policies) {
    for (const auto& m : p.permissions) compile(m);
    for (const auto& m : p.principals) compile(m);
  }
}

CompiledRbac::~CompiledRbac() = default;

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

bool CompiledRbac::string_matches(const StringMatcher& m, std::string_view v) const {
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
    case StringMatcher::Kind::kRegex: {
      auto it = regexes_.find(&m);
      return it != regexes_.end() && RE2::FullMatch(re2::StringPiece(v.data(), v.size()), *it->second);
    }
  }
  return false;
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
      auto v = rbac_header_value(*in.request, m.header_name, in.scheme);
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

RbacResult CompiledRbac::evaluate(const RbacInput& in, bool explain) const {
  RbacResult r;
  const RbacPolicy* matched = nullptr;
  for (const RbacPolicy& p : rbac_.policies) {
    bool perm = std::any_of(p.permissions.begin(), p.permissions.end(), [&](const auto& m) { return matches(m, in); });
    if (!perm) continue;
    bool princ = std::any_of(p.principals.begin(), p.principals.end(), [&](const auto& m) { return matches(m, in); });
    if (princ) {
      matched = &p;
      break;
    }
  }
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
      std::string w = why_not(m.children.front(), in);
      std::string o = m.origin.empty() ? origin_of(m.children.front()) : m.origin;
      if (!w.empty()) out.push_back(w.rfind(o, 0) == 0 ? w + " (not excluded)" : prefixed(o, w + " (not excluded)"));
      return;
    }
    default: out.push_back(prefixed(m.origin, describe_actual(m, in) + " matches " + expected(m)));
  }
}

}  // namespace meshsim::proxy
