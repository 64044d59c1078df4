// `meshsim token`: mint a JWT for RequestAuthentication tests, like Istio's
// security/tools/jwt/samples/gen-jwt.py — and the JWKS that verifies it.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <ctime>
#include <fstream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/verb.h"
#include "proxy/tls/jwt.h"

namespace meshsim::cli {

namespace {

struct TokenOptions {
  std::string key;
  std::string claims = "{}";
  std::string iss, sub, aud;
  std::string kid;
  std::string expire = "";
  std::string jwks_out;
};

bool read_file(const std::string& path, std::string& out) {
  std::ifstream f(path);
  if (!f) return false;
  out.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  return true;
}

}  // namespace

void register_token(CLI::App& app, VerbContext& ctx) {
  auto o = std::make_shared<TokenOptions>();
  CLI::App* sub = app.add_subcommand(
      "token",
      "Mint a JSON Web Token signed with a private key (RSA → RS256, EC P-256 → ES256), for\n"
      "RequestAuthentication scenarios and probes, like Istio's gen-jwt.py. The kid defaults to the\n"
      "key's RFC 7638 thumbprint (as gen-jwt.py's); --jwks-out writes the JWKS that verifies it, to\n"
      "put inline in a RequestAuthentication or to pass as --jwks URI=FILE. RS256 tokens are\n"
      "byte-for-byte reproducible.\n\n"
      "Examples:\n"
      "  meshsim token --key key.pem --iss testing@secure.istio.io --sub testing@secure.istio.io\n"
      "  meshsim token --key key.pem --claims '{\"iss\":\"me\",\"sub\":\"alice\",\"groups\":[\"admin\"]}' --jwks-out jwks.json\n"
      "  meshsim probe --mesh k8s/ --from default/curl --to httpbin:8000 -H \"Authorization: Bearer $(meshsim token --key key.pem --iss me --sub alice)\"");
  sub->add_option("--key", o->key, "PEM private key file (RSA or EC P-256)")->required();
  sub->add_option("--claims", o->claims, "The payload as a JSON object (default {})");
  sub->add_option("--iss", o->iss, "Set the iss claim");
  sub->add_option("--sub", o->sub, "Set the sub claim");
  sub->add_option("--aud", o->aud, "Set the aud claim");
  sub->add_option("--exp", o->expire, "Set exp to this Unix time (default: none, the token never expires)");
  sub->add_option("--kid", o->kid, "Key id in the header (default: the key's RFC 7638 thumbprint)");
  sub->add_option("--jwks-out", o->jwks_out, "Also write the JWKS of the key's public part to this file");
  sub->callback([o, &ctx] {
    std::string pem;
    if (!read_file(o->key, pem)) {
      print_error("--key: cannot read " + o->key);
      ctx.exit_code = kExitBadInput;
      return;
    }
    nlohmann::ordered_json claims = nlohmann::ordered_json::parse(o->claims, nullptr, false);
    if (claims.is_discarded() || !claims.is_object()) {
      print_error("--claims: not a JSON object: " + o->claims);
      ctx.exit_code = kExitBadInput;
      return;
    }
    if (!o->iss.empty()) claims["iss"] = o->iss;
    if (!o->sub.empty()) claims["sub"] = o->sub;
    if (!o->aud.empty()) claims["aud"] = o->aud;
    if (!o->expire.empty()) {
      char* end = nullptr;
      long long exp = std::strtoll(o->expire.c_str(), &end, 10);
      if (!end || *end || exp < 0) {
        print_error("--exp: not a Unix time: " + o->expire);
        ctx.exit_code = kExitBadInput;
        return;
      }
      claims["exp"] = exp;
    }
    std::string kid = o->kid;
    if (kid.empty()) {
      auto t = tls::jwk_thumbprint(pem);
      if (!t.ok()) {
        print_error("--key " + o->key + ": " + t.message());
        ctx.exit_code = kExitBadInput;
        return;
      }
      kid = *t;
    }
    auto token = tls::mint_jwt(pem, claims.dump(), kid);
    if (!token.ok()) {
      print_error("--key " + o->key + ": " + token.message());
      ctx.exit_code = kExitBadInput;
      return;
    }
    if (!o->jwks_out.empty()) {
      auto jwks = tls::jwks_from_public_key(pem, kid);
      if (!jwks.ok()) {
        print_error("--jwks-out: " + jwks.message());
        ctx.exit_code = kExitBadInput;
        return;
      }
      std::string tmp = o->jwks_out + ".tmp";
      {
        std::ofstream out(tmp);
        out << *jwks << "\n";
        if (!out) {
          print_error("--jwks-out: cannot write " + o->jwks_out);
          ctx.exit_code = kExitBadInput;
          return;
        }
      }
      std::rename(tmp.c_str(), o->jwks_out.c_str());
      print_wrote(o->jwks_out, "JWKS, kid " + kid);
    }
    std::printf("%s\n", token->c_str());
    ctx.exit_code = kExitOk;
  });
}

}  // namespace meshsim::cli
