// AuthorizationPolicy → Envoy RBAC, as istiod's authz builder generates it
// for a sidecar's inbound filter chains (I:pilot/pkg/security/authz/builder,
// model, matcher; docs/istio/authorization.md):
//
//  * the policies selecting the workload (mesh/policy.h
//    authorization_policies_for) are grouped by action, and one RBAC filter
//    is built per action in the order AUDIT (action LOG), DENY, ALLOW;
//    policies annotated istio.io/dry-run: "true" go into the filter's
//    shadow_rules (stat prefix istio_dry_run_allow_/istio_dry_run_deny_);
//  * each rule becomes the policy "ns[<ns>]-policy[<name>]-rule[<i>]" (a
//    policy without rules: one never-matching policy "…-rule[0]"), whose
//    permissions are one AND per `to` entry and principals one AND per
//    `from` entry, `when` conditions added to every one of them on the side
//    Istio assigns (request headers and JWT claims to principals);
//  * on TCP chains HTTP-only fields make an ALLOW rule disappear (it can
//    never allow) and are dropped from DENY/AUDIT rules (they match more).
//
// CUSTOM policies with an envoyExtAuthzHttp provider are translated as
// istiod's custom builder does (extauthz.go); gRPC providers are not
// simulated (the requests they would check get a DENY, reported by
// mesh/coverage.h).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "mesh/world.h"
#include "proxy/config.h"

namespace meshsim::mesh {

struct AuthzFilters {
  // CUSTOM: per extension provider an RBAC filter whose shadow rules mark the
  // requests to check and the envoy.filters.http.ext_authz that checks them
  // (before jwt_authn in the chain). A provider that cannot be built (unknown,
  // no such service, not an HTTP provider) becomes a DENY filter instead.
  std::vector<proxy::HttpFilter> custom_http;
  std::vector<proxy::HttpFilter> http;     // envoy.filters.http.rbac, in chain order
  std::vector<proxy::NetworkFilter> tcp;   // envoy.filters.network.rbac, in chain order
  // istiod's debug log lines for rules it skipped ("skipped rule
  // ns[default]-policy[x]-rule[0] on TCP filter chain: "to.operation.methods" is HTTP only").
  std::vector<std::string> skipped;
};

// The RBAC filters of the inbound chains of `pod` (HTTP chains and TCP
// chains differ only in what HTTP-only fields do). Empty when no policy
// applies.
AuthzFilters build_authz_filters(const World& w, const WorldPod& pod);

// envoy.filters.http.jwt_authn from the RequestAuthentications that select
// `pod` (I:pilot/pkg/security/authn/policy_applier.go): every jwtRule a
// provider "origins-<i>" in issuer order, the JWKS inline (`jwks`, or the
// document at `jwksUri` from ResourceSet::jwks_documents; an unknown URI gets
// istiod's fallback, a key that verifies no token), requiring any provider
// or allow_missing. nullopt when none applies.
std::optional<proxy::HttpFilter> build_jwt_authn_filter(const World& w, const WorldPod& pod);

// The RBAC policy name istiod gives rule `rule` of `ap`
// ("ns[foo]-policy[bar]-rule[0]"; CUSTOM rules carry the prefix
// "istio-ext-authz-<provider>-").
std::string authz_policy_name(const AuthorizationPolicy& ap, size_t rule, const std::string& prefix = "");

// Go's regexp.QuoteMeta, as istiod escapes literals inside generated regexes.
std::string go_quote_meta(std::string_view s);

}  // namespace meshsim::mesh
