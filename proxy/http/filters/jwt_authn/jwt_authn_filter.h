// JwtAuthnFilter is envoy.filters.http.jwt_authn with the config istiod
// generates from RequestAuthentication (proxy/jwt_config.h): it finds a token
// in each provider's locations (by default `Authorization: Bearer …` and
// `?access_token=`), picks the provider by the token's issuer and verifies it
// with OpenSSL against the provider's inline JWKS (proxy/tls/jwt.h, which
// words failures as Envoy does). No token: the request passes without
// identity (Istio's allow_missing). A bad token: Envoy's local reply — 401
// (403 for a disallowed audience) with the status string as body,
// `www-authenticate: Bearer realm="<url>", error="invalid_token"` and details
// jwt_authn_access_denied{…}. A good one: its claims become the dynamic
// metadata envoy.filters.http.jwt_authn/payload that the RBAC filter's
// requestPrincipals and request.auth.* matchers read; the token's header is
// removed unless forwardOriginalToken, outputPayloadToHeader and
// outputClaimToHeaders are written. Bypasses CORS preflights.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "proxy/http/filter.h"
#include "proxy/jwt_config.h"
#include "proxy/metadata.h"
#include "proxy/tls/jwt.h"

namespace meshsim::proxy::http {

inline constexpr const char* kJwtAuthnFilterName = "envoy.filters.http.jwt_authn";

class JwtAuthnFilterFactory;

class JwtAuthnFilter final : public StreamFilter, public MetadataSource {
 public:
  explicit JwtAuthnFilter(const JwtAuthnFilterFactory& f) : factory_(f) {}
  void reset() override;
  FilterHeadersStatus decode_headers(Request& req, bool end_stream) override;
  bool lookup(const std::vector<std::string>& path, MetadataValue& out) const override;

 private:
  const JwtAuthnFilterFactory& factory_;
  std::optional<tls::JwtClaims> claims_;
  const JwtProvider* provider_ = nullptr;
};

class JwtAuthnFilterFactory final : public FilterFactory {
 public:
  explicit JwtAuthnFilterFactory(std::shared_ptr<const JwtAuthnConfig> config);
  bool encodes() const override { return false; }
  std::unique_ptr<StreamFilter> create() const override { return std::make_unique<JwtAuthnFilter>(*this); }

 private:
  friend class JwtAuthnFilter;
  std::shared_ptr<const JwtAuthnConfig> config_;
  std::vector<tls::Jwks> jwks_;  // per provider, parsed once (empty: no valid key)
};

}  // namespace meshsim::proxy::http
