// JSON Web Tokens for Istio's RequestAuthentication: a JWKS parsed once into
// OpenSSL keys, token verification that decides — and words its failures —
// exactly as Envoy's jwt_authn filter does, and minting of test tokens.
//
// Fidelity. Parsing and verification follow jwt_verify_lib (google/
// jwt_verify_lib, vendored in Envoy as source/common/jwt): the same checks in
// the same order, the same status strings. Envoy's Authenticator
// (source/extensions/filters/http/jwt_authn/authenticator.cc, startVerify)
// runs, for one token and one provider:
//   1. parse (jwt.cc, Jwt::parseFromString), first failure wins:
//      three non-empty dot-separated sections; header base64url; header JSON
//      object; header "alg" a string; "alg" one of ES256/384/512, HS256/384/512,
//      RS256/384/512, PS256/384/512, EdDSA ("none" is not); "kid" a string if
//      present; payload base64url; payload JSON object; "iss", "sub" strings;
//      "iat", "nbf", "exp" numbers in [0, 2^64); "jti" a string; "aud" a string
//      or a list of strings; signature base64url;
//   2. issuer: the provider's issuer, when set, equals "iss";
//   3. time: now + skew >= nbf, then (exp == 0 or now <= exp + skew);
//   4. audiences: none configured, or one of the token's is configured
//      (both sides compared without an http:// or https:// prefix and a trailing
//      slash, check_audience.cc);
//   5. keys: the provider has a valid JWKS, else "Jwks doesn't have any valid
//      public key" (also what an invalid inline JWKS yields: Envoy logs it and
//      keeps no keys);
//   6. signature (verify.cc): the keys whose kid (when both have one) and alg
//      (when the key has one) match are tried in JWKS order; none matched
//      -> "Jwks doesn't have key to match kid or alg from Jwt", else none
//      verified -> "Jwt verification fails".
//
// What Envoy sends back (filter.cc, Filter::onComplete): a local reply whose
// body is the status string, 403 for "Audiences in Jwt are not allowed" and 401
// for every other failure, header www-authenticate: Bearer realm="<url>" (plus
// `, error="invalid_token"` unless the token was missing), response code
// details "jwt_authn_access_denied{<status string, spaces as underscores>}".
// With Istio's requirement (any of the rule providers, or allow_missing) a
// missing token passes, a failing one is answered so: e.g. a tampered token
// gets 401 "Jwt verification fails", an expired one 401 "Jwt is expired".
//
// Known differences: base64url decoding rejects whitespace inside a section
// (absl's decoder skips it); JWKS in the X509 map form and PEM keys are not
// read; JSON is parsed by nlohmann-json where Envoy uses protobuf's parser
// (both reject what is not JSON; duplicate keys may resolve differently).
//
// Threading: a Jwks is immutable and may be shared across threads; every
// function here is reentrant. Verification draws no randomness. Minting an
// RS256 token is deterministic (PKCS#1 v1.5); an ES256 signature draws its
// nonce from the current EnvironmentScope's RandomSource (deterministic under a
// seeded scope, OpenSSL's DRBG outside one) — use RSA keys for tokens that must
// be byte-identical everywhere.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/base/result.h"

namespace meshsim::tls {

struct ParsedJwt;

// jwt_verify_lib's Status, minus the X509/PEM ones (not read here). The names
// are jwt_verify_lib's with a k.
enum class JwtStatus : uint8_t {
  kOk,
  // Extraction and parsing of the token.
  kJwtMissed,
  kJwtNotYetValid,
  kJwtExpired,
  kJwtBadFormat,
  kJwtHeaderParseErrorBadBase64,
  kJwtHeaderParseErrorBadJson,
  kJwtHeaderBadAlg,
  kJwtHeaderNotImplementedAlg,
  kJwtHeaderBadKid,
  kJwtPayloadParseErrorBadBase64,
  kJwtEd25519SignatureWrongLength,
  kJwtPayloadParseErrorBadJson,
  kJwtPayloadParseErrorIssNotString,
  kJwtPayloadParseErrorSubNotString,
  kJwtPayloadParseErrorIatNotInteger,
  kJwtPayloadParseErrorIatOutOfRange,
  kJwtPayloadParseErrorNbfNotInteger,
  kJwtPayloadParseErrorNbfOutOfRange,
  kJwtPayloadParseErrorExpNotInteger,
  kJwtPayloadParseErrorExpOutOfRange,
  kJwtPayloadParseErrorJtiNotString,
  kJwtPayloadParseErrorAudNotString,
  kJwtSignatureParseErrorBadBase64,
  kJwtUnknownIssuer,
  kJwtAudienceNotAllowed,
  kJwtVerificationFail,
  kJwtMultipleTokens,
  // The JWKS.
  kJwksParseError,
  kJwksNoKeys,
  kJwksBadKeys,
  kJwksNoValidKeys,
  kJwksKidAlgMismatch,
  kJwksRsaParseError,
  kJwksEcCreateKeyFail,
  kJwksEcXorYBadBase64,
  kJwksEcParseError,
  kJwksOctBadBase64,
  kJwksOKPXBadBase64,
  kJwksOKPXWrongLength,
  kJwksFetchFail,
  kJwksMissingKty,
  kJwksBadKty,
  kJwksNotImplementedKty,
  kJwksRSAKeyBadAlg,
  kJwksRSAKeyMissingN,
  kJwksRSAKeyBadN,
  kJwksRSAKeyMissingE,
  kJwksRSAKeyBadE,
  kJwksECKeyBadAlg,
  kJwksECKeyBadCrv,
  kJwksECKeyAlgOrCrvUnsupported,
  kJwksECKeyAlgNotCompatibleWithCrv,
  kJwksECKeyMissingX,
  kJwksECKeyBadX,
  kJwksECKeyMissingY,
  kJwksECKeyBadY,
  kJwksHMACKeyBadAlg,
  kJwksHMACKeyMissingK,
  kJwksHMACKeyBadK,
  kJwksOKPKeyBadAlg,
  kJwksOKPKeyMissingCrv,
  kJwksOKPKeyBadCrv,
  kJwksOKPKeyCrvUnsupported,
  kJwksOKPKeyMissingX,
  kJwksOKPKeyBadX,
};

// jwt_verify_lib's getStatusString: "OK", "Jwt is expired", "Jwt verification
// fails", … — the body of Envoy's local reply.
std::string_view to_string(JwtStatus s);

// Envoy's reply code for a failed verification: 403 for
// kJwtAudienceNotAllowed, 401 otherwise (0 for kOk).
int jwt_http_status(JwtStatus s);

// "jwt_authn_access_denied{Jwt_is_expired}" (Envoy's response code details).
std::string jwt_response_code_details(JwtStatus s);

// Envoy's default clock skew (jwt_verify_lib kClockSkewInSecond); Istio never
// sets another.
inline constexpr int64_t kJwtDefaultClockSkewSeconds = 60;

// A JSON Web Key Set parsed once: each usable key becomes an OpenSSL key
// (RSA, EC P-256/P-384/P-521, Ed25519) or an HMAC secret. A default-constructed
// Jwks has no keys (verification then fails with kJwksNoValidKeys).
class Jwks {
 public:
  struct Rep;  // opaque; defined in jwt.cc
  Jwks() = default;

  // {"keys":[…]} with kty RSA (n, e), EC (crv, x, y), oct (k), OKP (crv
  // Ed25519, x); kid and alg optional. As jwt_verify_lib: entries that are not
  // objects are skipped, invalid keys are skipped when at least one key is
  // valid; otherwise the error is the first key's failure (or "Jwks doesn't
  // have any valid public key"), worded as jwt_verify_lib words it.
  static Result<Jwks> parse(std::string_view json);

  std::size_t size() const;
  bool empty() const { return size() == 0; }
  const Rep* rep() const { return rep_.get(); }

 private:
  std::shared_ptr<const Rep> rep_;
};

// The payload of a token that parsed. Copies share the parsed JSON.
class JwtClaims {
 public:
  struct Tree;  // opaque; defined in jwt.cc

  std::string issuer;                  // "iss" (empty when absent)
  std::string subject;                 // "sub"
  std::vector<std::string> audiences;  // "aud": a string gives one, a list its elements
  std::string azp;                     // "azp" when a string (Istio's request.auth.presenter)
  std::string jti;
  std::optional<int64_t> exp;          // seconds, saturated at INT64_MAX; fractions dropped
  std::optional<int64_t> nbf;
  std::optional<int64_t> iat;
  std::string payload_json;            // the decoded payload, byte for byte
  std::string payload_base64url;       // the token's second section (outputPayloadToHeader)

  // Istio's request.auth.principal: "<iss>/<sub>".
  std::string principal() const { return issuer + "/" + subject; }

  // The string values of the claim at `path` (request.auth.claims[a][b] is
  // {"a", "b"}) as Envoy's RBAC metadata matcher sees them with Istio's
  // extended-JWT matcher (a string match OR a list one_of string match): a
  // string gives itself, a list its string elements, anything else (number,
  // bool, object, null, absent) nothing. A top-level claim named in
  // `space_delimited_claims` whose value is a string is split at spaces first,
  // as Envoy's normalize_payload_in_metadata does (Istio passes "scope",
  // "permission" and the rule's spaceDelimitedClaims). Views stay valid while
  // any copy of these claims lives.
  std::vector<std::string_view> values(std::span<const std::string> path,
                                       std::span<const std::string> space_delimited_claims = {}) const;
  std::vector<std::string_view> values(std::initializer_list<std::string_view> path) const;

  // The header value Envoy's claim_to_headers (Istio outputClaimToHeaders)
  // writes for `claim` ("a.b" names a nested claim): a string as is, a number
  // as an integer when whole and in [0, 2^64) else printf("%f"), a bool as
  // "true"/"false", an object or list as standard base64 of its JSON; nothing
  // for null, an absent claim or an empty result.
  std::optional<std::string> header_value(std::string_view claim) const;

  const Tree* tree() const { return tree_.get(); }

 private:
  friend JwtStatus parse_jwt(std::string_view token, ParsedJwt* out);
  std::shared_ptr<const Tree> tree_;
};

// A token split and decoded; its claims and signature not yet checked.
struct ParsedJwt {
  std::string alg;
  std::string kid;
  std::string header_json;
  JwtClaims claims;
  std::string signing_input;  // "<header section>.<payload section>"
  std::string signature;      // decoded
};

// What a provider (one Istio jwtRule) requires of a token.
struct JwtRules {
  std::string issuer;                  // empty: any issuer
  std::vector<std::string> audiences;  // empty: any audience
  int64_t clock_skew_seconds = kJwtDefaultClockSkewSeconds;
};

struct JwtVerifyResult {
  JwtStatus status = JwtStatus::kJwtMissed;
  // Set once the payload passed its checks (for kOk and for every status
  // from "Jwt signature is an invalid Base64url encoded" on), so a denial
  // can still name the token's issuer and subject.
  std::optional<JwtClaims> claims;

  bool ok() const { return status == JwtStatus::kOk; }
  std::string_view message() const { return to_string(status); }
};

// Step 1 above. On kOk, *out holds the token; otherwise *out is unspecified.
JwtStatus parse_jwt(std::string_view token, ParsedJwt* out);

// Steps 2–6 above for a parsed token, at `now_unix_seconds`.
JwtStatus verify_jwt(const ParsedJwt& jwt, const Jwks& jwks, int64_t now_unix_seconds, const JwtRules& rules);

// Steps 1–6.
JwtVerifyResult verify_jwt(std::string_view token, const Jwks& jwks, int64_t now_unix_seconds,
                           const JwtRules& rules);

// A compact JWS over `claims_json` (a JSON object, re-serialised compactly
// with its keys sorted, as Istio's gen-jwt.py/jwcrypto do) signed with the PEM
// private key: RS256 for RSA, ES256/ES384/ES512 for EC P-256/P-384/P-521 (the
// signature in JOSE's r||s form). Header {"alg":…,"kid":…,"typ":"JWT"}; no
// "kid" when kid is empty.
Result<std::string> mint_jwt(std::string_view private_key_pem, std::string_view claims_json, std::string_view kid);

// {"keys":[<the public JWK of the key>]} for a PEM private or public key
// (RSA: e, kid, kty, n; EC: crv, kid, kty, x, y — keys sorted, no alg), the
// JWKS that verifies mint_jwt's tokens. No "kid" when kid is empty.
Result<std::string> jwks_from_public_key(std::string_view pem, std::string_view kid);

// The RFC 7638 SHA-256 thumbprint of the key's public JWK, base64url — the kid
// jwcrypto (Istio's gen-jwt.py) gives a key by default.
Result<std::string> jwk_thumbprint(std::string_view pem);

// RFC 4648 §5 without padding.
std::string base64url_encode(std::string_view bytes);
// Accepts the URL-safe alphabet with no padding or exactly the right padding;
// false on any other character (whitespace included) or a dangling sextet.
bool base64url_decode(std::string_view text, std::string* out);

}  // namespace meshsim::tls
