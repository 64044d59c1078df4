#include "proxy/http/filters/jwt_authn/jwt_authn_filter.h"

#include "proxy/engine/context.h"
#include "proxy/tls/environment.h"

namespace meshsim::proxy::http {

namespace {

bool token_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
         c == '.' || c == '=' || c == '+' || c == '/';
}

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string url_decode(std::string_view v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] == '%' && i + 2 < v.size() && hex(v[i + 1]) >= 0 && hex(v[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(v[i + 1]) * 16 + hex(v[i + 2])));
      i += 2;
    } else if (v[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(v[i]);
    }
  }
  return out;
}

std::optional<std::string> query_param(std::string_view target, std::string_view name) {
  size_t q = target.find('?');
  if (q == std::string_view::npos) return std::nullopt;
  std::string_view qs = target.substr(q + 1);
  if (size_t hash = qs.find('#'); hash != std::string_view::npos) qs = qs.substr(0, hash);
  while (!qs.empty()) {
    size_t amp = qs.find('&');
    std::string_view kv = qs.substr(0, amp);
    size_t eq = kv.find('=');
    if (url_decode(kv.substr(0, eq)) == name) return url_decode(eq == std::string_view::npos ? "" : kv.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    qs.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

std::optional<std::string> cookie(const Request& req, std::string_view name) {
  for (const auto& f : req.headers) {
    if (!iequals(f.name, "cookie")) continue;
    std::string_view v = f.value;
    while (!v.empty()) {
      size_t semi = v.find(';');
      std::string_view kv = v.substr(0, semi);
      while (!kv.empty() && kv.front() == ' ') kv.remove_prefix(1);
      size_t eq = kv.find('=');
      if (eq != std::string_view::npos && kv.substr(0, eq) == name) return std::string(kv.substr(eq + 1));
      if (semi == std::string_view::npos) break;
      v.remove_prefix(semi + 1);
    }
  }
  return std::nullopt;
}

// One place a token was found.
struct Found {
  std::string token;
  std::string header;  // the header it came from ("" for a parameter or cookie)
  std::string where;   // "header authorization", "query access_token"
};

// Envoy's extractor: a header with a prefix yields the token-character run
// after the prefix (found anywhere in the value); without one, the value.
std::vector<Found> extract(const Request& req, const JwtProvider& p) {
  std::vector<Found> out;
  std::vector<JwtProvider::FromHeader> headers = p.from_headers;
  std::vector<std::string> params = p.from_params;
  if (headers.empty() && params.empty() && p.from_cookies.empty()) {
    headers.push_back({"Authorization", "Bearer "});
    params.push_back("access_token");
  }
  for (const auto& h : headers) {
    auto v = req.headers.get(h.name);
    if (!v) continue;
    std::string_view value = *v;
    if (!h.value_prefix.empty()) {
      size_t at = value.find(h.value_prefix);
      if (at == std::string_view::npos) continue;
      value.remove_prefix(at + h.value_prefix.size());
      size_t end = 0;
      while (end < value.size() && token_char(value[end])) ++end;
      value = value.substr(0, end);
    }
    out.push_back({std::string(value), h.name, "header " + h.name});
  }
  for (const auto& q : params) {
    if (auto v = query_param(req.target, q)) out.push_back({*v, "", "query " + q});
  }
  for (const auto& c : p.from_cookies) {
    if (auto v = cookie(req, c)) out.push_back({*v, "", "cookie " + c});
  }
  return out;
}

}  // namespace

JwtAuthnFilterFactory::JwtAuthnFilterFactory(std::shared_ptr<const JwtAuthnConfig> config) : config_(std::move(config)) {
  if (!config_) return;
  for (const auto& p : config_->providers) {
    auto j = tls::Jwks::parse(p.local_jwks);
    jwks_.push_back(j.ok() ? std::move(*j) : tls::Jwks{});
  }
}

void JwtAuthnFilter::reset() {
  claims_.reset();
  provider_ = nullptr;
}

bool JwtAuthnFilter::lookup(const std::vector<std::string>& path, MetadataValue& out) const {
  if (!claims_ || !provider_ || path.empty() || path.front() != provider_->payload_in_metadata) return false;
  std::vector<std::string> claim(path.begin() + 1, path.end());
  if (claim.empty()) return false;
  auto vals = claims_->values(claim, provider_->space_delimited_claims);
  if (vals.empty()) return false;
  out.values.assign(vals.begin(), vals.end());
  // iss and sub are strings; other claims may be lists (Istio matches both).
  out.list = !(claim.size() == 1 && (claim[0] == "iss" || claim[0] == "sub"));
  return true;
}

FilterHeadersStatus JwtAuthnFilter::decode_headers(Request& req, bool) {
  const JwtAuthnFilterFactory& f = factory_;
  if (!f.config_ || f.config_->providers.empty()) return FilterHeadersStatus::kContinue;
  const JwtAuthnConfig& cfg = *f.config_;
  StreamInfo& info = callbacks_->stream_info();
  // Headers the filter writes are never taken from the client.
  for (const auto& p : cfg.providers) {
    if (!p.forward_payload_header.empty()) req.headers.remove(p.forward_payload_header);
    for (const auto& c : p.claim_to_headers) req.headers.remove(c.header_name);
  }
  if (cfg.bypass_cors_preflight && req.method == "OPTIONS" && req.headers.has("origin") &&
      req.headers.has("access-control-request-method")) {
    info.request_auth = "CORS preflight: JWT not checked";
    return FilterHeadersStatus::kContinue;
  }
  // Every token in every provider's locations, each once.
  // Each token once, with the providers whose locations found it.
  std::vector<Found> tokens;
  std::vector<std::vector<size_t>> found_by;
  for (size_t i = 0; i < cfg.providers.size(); ++i) {
    for (auto& t : extract(req, cfg.providers[i])) {
      size_t k = 0;
      while (k < tokens.size() && !(tokens[k].where == t.where && tokens[k].token == t.token)) ++k;
      if (k == tokens.size()) {
        tokens.push_back(std::move(t));
        found_by.emplace_back();
      }
      found_by[k].push_back(i);
    }
  }
  if (tokens.empty()) {
    if (cfg.allow_missing) {
      info.request_auth = "no token: allowed without a request identity (allow_missing)";
      return FilterHeadersStatus::kContinue;
    }
  }
  int64_t now = tls::unix_seconds_at(callbacks_->engine().io.now());
  tls::JwtStatus failure = tokens.empty() ? tls::JwtStatus::kJwtMissed : tls::JwtStatus::kOk;
  std::string failed_where;
  for (size_t k = 0; k < tokens.size(); ++k) {
    const Found& t = tokens[k];
    tls::ParsedJwt parsed;
    tls::JwtStatus st = tls::parse_jwt(t.token, &parsed);
    size_t chosen = cfg.providers.size();
    if (st == tls::JwtStatus::kOk) {
      // The providers that look in this location and whose issuer the token names.
      st = tls::JwtStatus::kJwtUnknownIssuer;
      for (size_t i : found_by[k]) {
        const JwtProvider& p = cfg.providers[i];
        if (!p.issuer.empty() && p.issuer != parsed.claims.issuer) continue;
        tls::JwtRules rules{p.issuer, p.audiences, tls::kJwtDefaultClockSkewSeconds};
        st = tls::verify_jwt(parsed, f.jwks_[i], now, rules);
        chosen = i;
        if (st == tls::JwtStatus::kOk) break;
      }
    }
    if (st == tls::JwtStatus::kOk) {
      const JwtProvider& p = cfg.providers[chosen];
      provider_ = &p;
      claims_ = parsed.claims;
      info.metadata.attach(kJwtAuthnFilterName, this);
      info.request_auth = "verified " + claims_->principal() + " (" + p.name + (p.source.empty() ? "" : ", " + p.source) +
                          ", " + t.where + ")";
      if (!p.forward && !t.header.empty()) req.headers.remove(t.header);
      if (!p.forward_payload_header.empty()) req.headers.set(p.forward_payload_header, claims_->payload_base64url);
      for (const auto& c : p.claim_to_headers) {
        if (auto v = claims_->header_value(c.claim_name)) req.headers.set(c.header_name, *v);
      }
      return FilterHeadersStatus::kContinue;
    }
    if (failure == tls::JwtStatus::kOk) {
      failure = st;
      failed_where = t.where + (chosen < cfg.providers.size() ? ", " + cfg.providers[chosen].name : "");
    }
  }
  info.request_auth = "rejected: " + std::string(tls::to_string(failure)) + " (" + failed_where + ")";
  std::string realm = "http://" + std::string(req.host()) + std::string(req.path());
  std::string www = "Bearer realm=\"" + realm + "\"";
  if (failure != tls::JwtStatus::kJwtMissed) www += ", error=\"invalid_token\"";
  callbacks_->send_local_reply_with_headers(tls::jwt_http_status(failure), tls::to_string(failure),
                                            tls::jwt_response_code_details(failure), 0, {{"www-authenticate", www}});
  return FilterHeadersStatus::kStopIteration;
}

}  // namespace meshsim::proxy::http
