#include "proxy/route_match.h"

#include <algorithm>

#include <re2/re2.h>

#include "proxy/base/ascii.h"

namespace meshsim::proxy {
namespace {

std::string lowercase(std::string_view s) {
  std::string o(s);
  for (char& c : o) c = ascii_lower(c);
  return o;
}

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
bool ends_with(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.substr(s.size() - p.size()) == p;
}
bool istarts_with(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && http::iequals(s.substr(0, p.size()), p);
}

std::optional<std::string_view> query_param(std::string_view target, std::string_view name) {
  size_t q = target.find('?');
  if (q == std::string_view::npos) return std::nullopt;
  std::string_view qs = target.substr(q + 1);
  while (!qs.empty()) {
    size_t amp = qs.find('&');
    std::string_view kv = qs.substr(0, amp);
    size_t eq = kv.find('=');
    if (kv.substr(0, eq) == name) return eq == std::string_view::npos ? std::string_view() : kv.substr(eq + 1);
    if (amp == std::string_view::npos) break;
    qs.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

}  // namespace

CompiledRoutes::~CompiledRoutes() = default;

CompiledRoutes::CompiledRoutes(std::shared_ptr<const RouteConfiguration> rc) : rc_(std::move(rc)) {
  auto compile = [&](const void* key, const std::string& pattern) {
    RE2::Options o;
    o.set_log_errors(false);
    auto re = std::make_unique<RE2>(pattern, o);
    // A pattern RE2 cannot compile never matches (Envoy would have rejected
    // the configuration; istiod validates RE2 syntax).
    if (!re->ok()) re = std::make_unique<RE2>("a\\bz\\B", o);
    regexes_.emplace(key, std::move(re));
  };
  for (const VirtualHost& vh : rc_->virtual_hosts) {
    for (const std::string& d : vh.domains) {
      if (d == "*") {
        if (!star_) star_ = &vh;
      } else if (!d.empty() && d.front() == '*') {
        suffixes_.emplace_back(lowercase(std::string_view(d).substr(1)), &vh);
      } else if (!d.empty() && d.back() == '*') {
        prefixes_.emplace_back(lowercase(std::string_view(d).substr(0, d.size() - 1)), &vh);
      } else {
        exact_.emplace(lowercase(d), &vh);  // the first virtual host declaring a domain wins
      }
    }
    for (const Route& r : vh.routes) {
      if (r.match.kind == RouteMatch::Kind::kRegex) compile(&r.match, r.match.value);
      for (const HeaderMatcher& h : r.match.headers) {
        if (h.kind == HeaderMatcher::Kind::kRegex) compile(&h, h.value);
      }
      for (const HeaderMatcher& q : r.match.query_parameters) {
        if (q.kind == HeaderMatcher::Kind::kRegex) compile(&q, q.value);
      }
      // Regexes the filters use per request: the path regex rewrite and
      // CORS origin matchers.
      if (const auto* a = std::get_if<RouteAction>(&r.action); a && a->regex_rewrite) {
        compile(&*a->regex_rewrite, a->regex_rewrite->pattern);
      }
      if (r.cors) {
        for (const auto& o : r.cors->allow_origins) {
          if (o.kind == CorsPolicy::OriginMatcher::Kind::kRegex) compile(&o, o.value);
        }
      }
    }
  }
  // Longest first; stable so that among equal lengths the first declared wins.
  auto longest_first = [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); };
  std::stable_sort(suffixes_.begin(), suffixes_.end(), longest_first);
  std::stable_sort(prefixes_.begin(), prefixes_.end(), longest_first);
}

const re2::RE2* CompiledRoutes::regex(const void* key) const {
  auto it = regexes_.find(key);
  return it == regexes_.end() ? nullptr : it->second.get();
}

const VirtualHost* CompiledRoutes::match_virtual_host(std::string_view host_header) const {
  char buf[256];
  std::string heap;
  std::string_view host;
  if (host_header.size() <= sizeof buf) {
    for (size_t i = 0; i < host_header.size(); ++i) buf[i] = ascii_lower(host_header[i]);
    host = std::string_view(buf, host_header.size());
  } else {
    heap = lowercase(host_header);
    host = heap;
  }
  if (rc_->ignore_port_in_host_matching) {
    size_t colon = host.rfind(':');
    if (colon != std::string_view::npos && host.find(']') == std::string_view::npos) host = host.substr(0, colon);
  }
  if (auto it = exact_.find(host); it != exact_.end()) return it->second;
  for (const auto& [suffix, vh] : suffixes_) {
    if (host.size() > suffix.size() && ends_with(host, suffix)) return vh;
  }
  for (const auto& [prefix, vh] : prefixes_) {
    if (host.size() > prefix.size() && starts_with(host, prefix)) return vh;
  }
  return star_;
}

bool CompiledRoutes::header_matches(const HeaderMatcher& m, std::optional<std::string_view> value) const {
  bool r = false;
  if (value) {
    switch (m.kind) {
      case HeaderMatcher::Kind::kExact: r = *value == m.value; break;
      case HeaderMatcher::Kind::kPrefix: r = starts_with(*value, m.value); break;
      case HeaderMatcher::Kind::kSuffix: r = ends_with(*value, m.value); break;
      case HeaderMatcher::Kind::kRegex: r = RE2::FullMatch(*value, regex_of(&m)); break;
      case HeaderMatcher::Kind::kPresent: r = true; break;
    }
  }
  return m.invert ? !r : r;
}

bool CompiledRoutes::route_matches(const RouteMatch& m, const http::Request& req) const {
  std::string_view path = req.path();
  bool ok = false;
  switch (m.kind) {
    case RouteMatch::Kind::kPrefix:
      ok = m.case_sensitive ? starts_with(path, m.value) : istarts_with(path, m.value);
      break;
    case RouteMatch::Kind::kPath:
      ok = m.case_sensitive ? path == m.value : http::iequals(path, m.value);
      break;
    case RouteMatch::Kind::kRegex:
      ok = RE2::FullMatch(path, regex_of(&m));
      break;
    case RouteMatch::Kind::kPathSeparatedPrefix: {
      std::string_view p = m.value;
      ok = path == p || (starts_with(path, p) && path.size() > p.size() && path[p.size()] == '/');
      break;
    }
  }
  if (!ok) return false;
  for (const HeaderMatcher& h : m.headers) {
    std::optional<std::string_view> v;
    if (h.name == ":method") v = req.method;
    else if (h.name == ":authority") v = req.host();
    else if (h.name == ":path") v = req.target;
    else v = req.headers.get(h.name);
    if (!header_matches(h, v)) return false;
  }
  for (const HeaderMatcher& q : m.query_parameters) {
    if (!header_matches(q, query_param(req.target, q.name))) return false;
  }
  return true;
}

const Route* CompiledRoutes::match_route(const VirtualHost& vh, const http::Request& req) const {
  for (const Route& r : vh.routes) {
    if (route_matches(r.match, req)) return &r;
  }
  return nullptr;
}

}  // namespace meshsim::proxy
