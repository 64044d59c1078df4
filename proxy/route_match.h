// CompiledRoutes is a RouteConfiguration prepared for per-request matching,
// built once per configuration snapshot: virtual-host domains go into an
// exact-match hash table plus longest-first wildcard lists, and every regex
// (route path, header and query matchers) is compiled once. Matching then
// allocates nothing.
//
// Semantics are Envoy's (source/common/router/config_impl.cc): a virtual host
// is chosen by the Host header — exact domain, then the longest "*suffix"
// wildcard, then the longest "prefix*" wildcard, then "*"; with
// ignore_port_in_host_matching the ":port" is dropped first. Within it the
// first route whose path, header and query-parameter matchers all match wins.
// Regexes are RE2 (Envoy's safe_regex engine), matched against the whole
// value; a pattern RE2 rejects never matches (istiod validates RE2 syntax).
//
// Immutable after construction; holds the RouteConfiguration alive.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "proxy/config.h"
#include "proxy/http/message.h"

namespace re2 {
class RE2;
}

namespace meshsim::proxy {

class CompiledRoutes {
 public:
  explicit CompiledRoutes(std::shared_ptr<const RouteConfiguration> rc);
  ~CompiledRoutes();
  CompiledRoutes(const CompiledRoutes&) = delete;
  CompiledRoutes& operator=(const CompiledRoutes&) = delete;

  const RouteConfiguration& config() const { return *rc_; }
  const VirtualHost* match_virtual_host(std::string_view host_header) const;
  const Route* match_route(const VirtualHost& vh, const http::Request& req) const;
  // The compiled form of a regex of this configuration — a RouteAction's
  // regex_rewrite or a CorsPolicy origin matcher, keyed by its address;
  // nullptr for anything else.
  const re2::RE2* regex(const void* key) const;

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  bool route_matches(const RouteMatch& m, const http::Request& req) const;
  bool header_matches(const HeaderMatcher& m, std::optional<std::string_view> value) const;
  const re2::RE2& regex_of(const void* key) const { return *regexes_.at(key); }

  std::shared_ptr<const RouteConfiguration> rc_;
  std::unordered_map<std::string, const VirtualHost*, Hash, std::equal_to<>> exact_;
  std::vector<std::pair<std::string, const VirtualHost*>> suffixes_;  // "*.foo" → ".foo", longest first
  std::vector<std::pair<std::string, const VirtualHost*>> prefixes_;  // "foo.*" → "foo.", longest first
  const VirtualHost* star_ = nullptr;
  std::unordered_map<const void*, std::unique_ptr<re2::RE2>> regexes_;  // RouteMatch / HeaderMatcher → compiled
};

}  // namespace meshsim::proxy
