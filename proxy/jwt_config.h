// Envoy's jwt_authn filter config (envoy.extensions.filters.http.jwt_authn.v3)
// as istiod generates it from RequestAuthentication
// (I:pilot/pkg/security/authn/policy_applier.go convertToEnvoyJwtConfig;
// docs/istio/authorization.md §10): one provider per jwtRule, named
// origins-<i> after sorting by issuer, each with an inline JWKS; one rule
// for every path requiring any provider or allow_missing, so a request
// without a token passes and a request with a bad one is refused.
#pragma once

#include <string>
#include <vector>

namespace meshsim::proxy {

struct JwtProvider {
  std::string name;    // "origins-0"
  std::string issuer;
  std::vector<std::string> audiences;
  std::string local_jwks;  // inline JWKS JSON
  // Where the token is looked for (empty headers and params: the defaults,
  // Authorization: Bearer <token> and ?access_token=<token>).
  struct FromHeader {
    std::string name, value_prefix;
  };
  std::vector<FromHeader> from_headers;
  std::vector<std::string> from_params;
  std::vector<std::string> from_cookies;
  bool forward = false;                // forwardOriginalToken
  std::string forward_payload_header;  // outputPayloadToHeader
  struct ClaimToHeader {
    std::string header_name, claim_name;
  };
  std::vector<ClaimToHeader> claim_to_headers;  // outputClaimToHeaders
  std::string payload_in_metadata = "payload";
  std::vector<std::string> space_delimited_claims;  // normalize_payload_in_metadata
  // meshsim: where istiod took it from ("default/jwt-example jwtRules[0]"),
  // and why the JWKS is what it is ("jwksUri … not resolvable: istiod inlined
  // a key that verifies nothing").
  std::string source;
  std::string jwks_note;
};

struct JwtAuthnConfig {
  std::vector<JwtProvider> providers;
  bool allow_missing = true;  // requires_any [providers…, allow_missing]
  bool bypass_cors_preflight = true;
};

}  // namespace meshsim::proxy
