// Envoy's RBAC configuration (envoy.config.rbac.v3), the part istiod
// generates from AuthorizationPolicy (mesh/authz_translation.h): a list of
// named policies, each "any permission AND any principal", under one action.
// The HTTP filter envoy.filters.http.rbac and the network filter
// envoy.filters.network.rbac (proxy/rbac.h evaluates both) carry enforced
// `rules` and/or `shadow_rules` (AUDIT, dry-run, CUSTOM's shadow).
//
// Permissions and principals share one recursive matcher type here (Envoy has
// two protos with the same grammar). Every matcher may name where istiod took
// it from (`origin`, e.g. "rule 0: from[0].source.principals"), so a denial
// can say which clause decided — an Envoy config carries no such field, and
// proxy-config does not print it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "proxy/base/ip.h"

namespace meshsim::proxy {

// envoy.type.matcher.v3.StringMatcher
struct StringMatcher {
  enum class Kind : uint8_t { kExact, kPrefix, kSuffix, kContains, kRegex };
  Kind kind = Kind::kExact;
  std::string value;
  bool ignore_case = false;
};

struct RbacMatcher {
  enum class Kind : uint8_t {
    kAny,                  // any: true
    kAnd,                  // and_rules / and_ids
    kOr,                   // or_rules / or_ids
    kNot,                  // not_rule / not_id (one child)
    kAuthenticated,        // principal_name against URI SANs, then DNS SANs, then subject
    kDirectRemoteIp,       // the connection's peer address
    kRemoteIp,             // the client address after x-forwarded-for handling
    kSourceIp,             // deprecated source_ip = direct remote
    kHeader,               // request header (":method", ":authority", ":path", …)
    kUrlPath,              // :path without query and fragment
    kDestinationIp,        // the downstream local address (original destination)
    kDestinationPort,
    kRequestedServerName,  // downstream TLS SNI
    kMetadata,             // dynamic metadata (jwt claims, request principal)
    kUriTemplate,          // uri_template path match ("/foo/*/bar", "/api/**"), in `string`
  };
  Kind kind = Kind::kAny;
  std::vector<RbacMatcher> children;
  // kAuthenticated (nullopt: any authenticated peer), kHeader (nullopt:
  // present_match), kUrlPath, kRequestedServerName, kMetadata.
  std::optional<StringMatcher> string;
  std::string header_name;
  Cidr cidr;
  uint16_t port = 0;
  // kMetadata: filter namespace and path, and the ValueMatcher shape: the
  // value must be a string (kString), a list one of whose elements matches
  // (kList), or either (kStringOrList: Istio's or_match of both for JWT
  // claims); it matches when any of `metadata_values` does.
  std::string metadata_filter;
  std::vector<std::string> metadata_path;
  enum class ValueShape : uint8_t { kString, kList, kStringOrList };
  ValueShape metadata_shape = ValueShape::kString;
  std::vector<StringMatcher> metadata_values;
  // meshsim: the AuthorizationPolicy field this matcher came from ("" for
  // structural nodes), for denial explanations.
  std::string origin;
};

struct RbacPolicy {
  std::string name;  // "ns[foo]-policy[bar]-rule[0]"
  std::vector<RbacMatcher> permissions;  // any of them
  std::vector<RbacMatcher> principals;   // any of them
};

enum class RbacAction : uint8_t { kAllow, kDeny, kLog };
const char* rbac_action_name(RbacAction a);

struct Rbac {
  RbacAction action = RbacAction::kAllow;
  // Envoy keeps policies in a map: evaluated and reported in name order.
  std::vector<RbacPolicy> policies;
};

// The config of one envoy.filters.http.rbac or envoy.filters.network.rbac.
struct RbacFilterConfig {
  std::optional<Rbac> rules;
  std::optional<Rbac> shadow_rules;
  std::string stat_prefix;               // network filter: "tcp."
  std::string shadow_rules_stat_prefix;  // "istio_dry_run_allow_", "istio_ext_authz_shadow_" …
  // meshsim: the Istio action this filter enforces ("DENY", "ALLOW",
  // "AUDIT", "CUSTOM"), for explanations and proxy-config.
  std::string istio_action;
  // A digest of the whole config: a push that changes it changes the
  // filter chain (connections on the old chain drain, as in Envoy).
  std::string fingerprint;
};

}  // namespace meshsim::proxy
