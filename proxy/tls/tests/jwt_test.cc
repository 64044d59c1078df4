#include "proxy/tls/jwt.h"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "proxy/tls/environment.h"
#include "proxy/tls/tests/tls_test_util.h"

namespace meshsim::tls {
namespace {

using nlohmann::json;

constexpr int64_t kNow = kEpochUnixSeconds;  // 2026-01-01T00:00:00Z
constexpr const char* kIstioIssuer = "testing@secure.istio.io";

std::string read_data(const std::string& name) {
  std::ifstream in(std::string(MESHSIM_TEST_SOURCE_DIR) + "/tests/data/jwt/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

struct PkeyFree { void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); } };
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

std::string private_pem(EVP_PKEY* k) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, k, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<std::size_t>(n));
  BIO_free(bio);
  return out;
}

std::string public_pem(EVP_PKEY* k) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, k);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<std::size_t>(n));
  BIO_free(bio);
  return out;
}

// Keys generated once, under a seeded environment (hermetic and reproducible).
struct TestKeys {
  Pkey rsa, rsa2, ec, ed25519;
  std::string rsa_pem, rsa2_pem, ec_pem;
};

const TestKeys& keys() {
  static const TestKeys* k = [] {
    testing::SimEnvironment env(12);
    auto* t = new TestKeys;
    t->rsa.reset(EVP_RSA_gen(2048));
    t->rsa2.reset(EVP_RSA_gen(2048));
    t->ec.reset(EVP_EC_gen("P-256"));
    t->ed25519.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
    t->rsa_pem = private_pem(t->rsa.get());
    t->rsa2_pem = private_pem(t->rsa2.get());
    t->ec_pem = private_pem(t->ec.get());
    return t;
  }();
  return *k;
}

Jwks parse_jwks(const std::string& text) {
  auto r = Jwks::parse(text);
  EXPECT_TRUE(r.ok()) << r.message();
  return r.ok() ? std::move(r).value() : Jwks();
}

Jwks jwks_of(const std::string& pem, const std::string& kid) {
  auto text = jwks_from_public_key(pem, kid);
  EXPECT_TRUE(text.ok()) << text.message();
  return parse_jwks(*text);
}

std::string mint(const std::string& pem, const json& claims, const std::string& kid = "k1") {
  auto t = mint_jwt(pem, claims.dump(), kid);
  EXPECT_TRUE(t.ok()) << t.message();
  return t.ok() ? *t : std::string();
}

JwtRules istio_rules(std::vector<std::string> audiences = {}) {
  JwtRules r;
  r.issuer = kIstioIssuer;
  r.audiences = std::move(audiences);
  return r;
}

json claims(int64_t exp = kNow + 3600) {
  return json{{"iss", kIstioIssuer}, {"sub", "alice"}, {"exp", exp}};
}

// A compact JWS signed here with OpenSSL directly, independently of
// mint_jwt: any header, any payload, RS*/PS*/ES*/HS*/EdDSA or no signature.
std::string sign_compact(EVP_PKEY* key, std::string_view alg, const std::string& header_json,
                         const std::string& payload_json, std::string_view hmac_secret = {}) {
  std::string input = base64url_encode(header_json) + "." + base64url_encode(payload_json);
  const EVP_MD* md = alg.ends_with("384") ? EVP_sha384() : alg.ends_with("512") ? EVP_sha512() : EVP_sha256();
  std::string sig;
  if (alg.starts_with("HS")) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(md, hmac_secret.data(), static_cast<int>(hmac_secret.size()),
         reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
    sig.assign(reinterpret_cast<char*>(mac), len);
  } else if (key != nullptr) {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX* pctx = nullptr;
    EVP_DigestSignInit(ctx, &pctx, alg == "EdDSA" ? nullptr : md, nullptr, key);
    if (alg.starts_with("PS")) {
      EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
      EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST);
    }
    std::size_t len = 0;
    auto* in = reinterpret_cast<const unsigned char*>(input.data());
    EVP_DigestSign(ctx, nullptr, &len, in, input.size());
    sig.resize(len);
    EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len, in, input.size());
    sig.resize(len);
    EVP_MD_CTX_free(ctx);
    if (alg.starts_with("ES")) {
      const auto* p = reinterpret_cast<const unsigned char*>(sig.data());
      ECDSA_SIG* es = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
      std::string raw(64, '\0');
      BN_bn2binpad(ECDSA_SIG_get0_r(es), reinterpret_cast<unsigned char*>(raw.data()), 32);
      BN_bn2binpad(ECDSA_SIG_get0_s(es), reinterpret_cast<unsigned char*>(raw.data()) + 32, 32);
      ECDSA_SIG_free(es);
      sig = raw;
    }
  }
  return input + "." + (sig.empty() ? std::string("c2ln") : base64url_encode(sig));
}

std::string header(std::string_view alg, std::string_view kid = "k1") {
  json h{{"alg", alg}, {"typ", "JWT"}};
  if (!kid.empty()) h["kid"] = kid;
  return h.dump();
}

JwtStatus status_of(const std::string& token, const Jwks& jwks, const JwtRules& rules = istio_rules(),
                    int64_t now = kNow) {
  return verify_jwt(token, jwks, now, rules).status;
}

// ----------------------------------------------------------------------------- base64url

TEST(Base64Url, RoundTripsEveryLengthWithoutPadding) {
  std::string bytes;
  for (int n = 0; n < 40; ++n) {
    std::string enc = base64url_encode(bytes);
    EXPECT_EQ(enc.find('='), std::string::npos);
    EXPECT_EQ(enc.size(), (bytes.size() * 4 + 2) / 3);
    std::string dec;
    ASSERT_TRUE(base64url_decode(enc, &dec)) << enc;
    EXPECT_EQ(dec, bytes);
    bytes.push_back(static_cast<char>(0xfb - 7 * n));  // exercises '-' and '_'
  }
  EXPECT_EQ(base64url_encode("\xfb\xff"), "-_8");
}

TEST(Base64Url, AcceptsExactPaddingOnly) {
  std::string out;
  EXPECT_TRUE(base64url_decode("QQ==", &out));
  EXPECT_EQ(out, "A");
  EXPECT_TRUE(base64url_decode("QQ", &out));
  EXPECT_EQ(out, "A");
  EXPECT_TRUE(base64url_decode("QUI=", &out));
  EXPECT_EQ(out, "AB");
  EXPECT_FALSE(base64url_decode("QQ=", &out));
  EXPECT_FALSE(base64url_decode("QUI==", &out));
  EXPECT_FALSE(base64url_decode("QUJD=", &out));
}

TEST(Base64Url, RejectsCharactersOutsideTheUrlSafeAlphabet) {
  std::string out;
  EXPECT_FALSE(base64url_decode("ab+c", &out));  // standard alphabet
  EXPECT_FALSE(base64url_decode("ab/c", &out));
  EXPECT_FALSE(base64url_decode("ab c", &out));
  EXPECT_FALSE(base64url_decode("ab\nc", &out));
  EXPECT_FALSE(base64url_decode("a=bc", &out));
  EXPECT_FALSE(base64url_decode("abcde", &out));  // a dangling sextet
  EXPECT_FALSE(base64url_decode(std::string_view("ab\0c", 4), &out));
  EXPECT_TRUE(base64url_decode("", &out));
  EXPECT_EQ(out, "");
}

// ----------------------------------------------------------------------------- Istio's own samples

TEST(IstioSamples, DemoTokenVerifiesAgainstIstiosJwks) {
  Jwks jwks = parse_jwks(read_data("jwks.json"));
  ASSERT_EQ(jwks.size(), 1u);
  std::string token = trimmed(read_data("demo.jwt"));
  JwtVerifyResult r = verify_jwt(token, jwks, kNow, istio_rules());
  ASSERT_TRUE(r.ok()) << r.message();
  ASSERT_TRUE(r.claims.has_value());
  EXPECT_EQ(r.claims->issuer, kIstioIssuer);
  EXPECT_EQ(r.claims->subject, kIstioIssuer);
  EXPECT_EQ(r.claims->principal(), "testing@secure.istio.io/testing@secure.istio.io");
  EXPECT_EQ(r.claims->exp, 4685989700);
  EXPECT_EQ(r.claims->iat, 1532389700);
  EXPECT_FALSE(r.claims->nbf.has_value());
  EXPECT_TRUE(r.claims->audiences.empty());
  EXPECT_EQ(r.claims->values({"foo"}), std::vector<std::string_view>{"bar"});
  EXPECT_EQ(r.claims->payload_base64url, token.substr(token.find('.') + 1, token.rfind('.') - token.find('.') - 1));
  EXPECT_EQ(json::parse(r.claims->payload_json)["foo"], "bar");
  // The same token long after its exp: rejected.
  EXPECT_EQ(status_of(token, jwks, istio_rules(), 4685989700 + 61), JwtStatus::kJwtExpired);
}

TEST(IstioSamples, GroupsScopeTokenExposesListClaims) {
  Jwks jwks = parse_jwks(read_data("jwks.json"));
  JwtVerifyResult r = verify_jwt(trimmed(read_data("groups-scope.jwt")), jwks, kNow, istio_rules());
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r.claims->values({"groups"}), (std::vector<std::string_view>{"group1", "group2"}));
  EXPECT_EQ(r.claims->values({"scope"}), (std::vector<std::string_view>{"scope1", "scope2"}));
  EXPECT_EQ(r.claims->exp, 3537391104);
}

TEST(IstioSamples, TamperedDemoTokenFailsVerification) {
  Jwks jwks = parse_jwks(read_data("jwks.json"));
  std::string token = trimmed(read_data("demo.jwt"));
  // Same claims but "foo":"baz": the signature no longer covers the payload.
  std::string payload = R"({"exp":4685989700,"foo":"baz","iat":1532389700,"iss":"testing@secure.istio.io","sub":"testing@secure.istio.io"})";
  std::size_t d1 = token.find('.'), d2 = token.rfind('.');
  std::string forged = token.substr(0, d1 + 1) + base64url_encode(payload) + token.substr(d2);
  JwtVerifyResult r = verify_jwt(forged, jwks, kNow, istio_rules());
  EXPECT_EQ(r.status, JwtStatus::kJwtVerificationFail);
  EXPECT_EQ(r.message(), "Jwt verification fails");
  ASSERT_TRUE(r.claims.has_value());  // parsed, so the claims are there to report
  EXPECT_EQ(r.claims->values({"foo"}), std::vector<std::string_view>{"baz"});
}

TEST(IstioSamples, MintReproducesDemoTokenByteForByteFromIstiosKey) {
  // RS256 is deterministic: same key, header and payload bytes => same token.
  std::string pem = read_data("key.pem");
  auto kid = jwk_thumbprint(pem);
  ASSERT_TRUE(kid.ok()) << kid.message();
  EXPECT_EQ(*kid, "DHFbpoIUqrY8t2zpA2qXfCmr5VO5ZEr4RzHU_-envvQ");  // jwcrypto's default kid
  // Whitespace and key order of the input do not matter: claims are re-serialised sorted.
  auto token = mint_jwt(pem,
                        R"({ "sub": "testing@secure.istio.io", "iss": "testing@secure.istio.io",
                             "iat": 1532389700, "foo": "bar", "exp": 4685989700 })",
                        *kid);
  ASSERT_TRUE(token.ok()) << token.message();
  EXPECT_EQ(*token, trimmed(read_data("demo.jwt")));
}

TEST(IstioSamples, JwksFromKeyMatchesIstiosJwks) {
  std::string pem = read_data("key.pem");
  auto ours = jwks_from_public_key(pem, "DHFbpoIUqrY8t2zpA2qXfCmr5VO5ZEr4RzHU_-envvQ");
  ASSERT_TRUE(ours.ok()) << ours.message();
  EXPECT_EQ(json::parse(*ours), json::parse(read_data("jwks.json")));
}

// ----------------------------------------------------------------------------- minted tokens

TEST(JwtMint, Rs256TokenVerifiesAndCarriesItsClaims) {
  json c = claims();
  c["aud"] = json::array({"bookinfo", "reviews"});
  c["azp"] = "web-client";
  c["nbf"] = kNow - 10;
  c["iat"] = kNow - 10;
  c["jti"] = "id-1";
  std::string token = mint(keys().rsa_pem, c);
  ParsedJwt parsed;
  ASSERT_EQ(parse_jwt(token, &parsed), JwtStatus::kOk);
  EXPECT_EQ(parsed.alg, "RS256");
  EXPECT_EQ(parsed.kid, "k1");
  EXPECT_EQ(json::parse(parsed.header_json), (json{{"alg", "RS256"}, {"kid", "k1"}, {"typ", "JWT"}}));
  EXPECT_EQ(parsed.signature.size(), 256u);

  JwtVerifyResult r = verify_jwt(token, jwks_of(keys().rsa_pem, "k1"), kNow, istio_rules({"reviews"}));
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r.claims->subject, "alice");
  EXPECT_EQ(r.claims->audiences, (std::vector<std::string>{"bookinfo", "reviews"}));
  EXPECT_EQ(r.claims->azp, "web-client");
  EXPECT_EQ(r.claims->jti, "id-1");
  EXPECT_EQ(r.claims->nbf, kNow - 10);
}

TEST(JwtMint, Es256TokenHasRawSignatureAndVerifies) {
  std::string token = mint(keys().ec_pem, claims());
  ParsedJwt parsed;
  ASSERT_EQ(parse_jwt(token, &parsed), JwtStatus::kOk);
  EXPECT_EQ(parsed.alg, "ES256");
  EXPECT_EQ(parsed.signature.size(), 64u);  // JOSE r||s, not DER
  Jwks jwks = jwks_of(keys().ec_pem, "k1");
  EXPECT_EQ(status_of(token, jwks), JwtStatus::kOk);
  // The EC JWK is what RFC 7518 says: crv and 32-byte coordinates.
  json doc = json::parse(*jwks_from_public_key(public_pem(keys().ec.get()), "k1"));
  const json& k = doc["keys"][0];
  EXPECT_EQ(k["kty"], "EC");
  EXPECT_EQ(k["crv"], "P-256");
  std::string x;
  ASSERT_TRUE(base64url_decode(k["x"].get<std::string>(), &x));
  EXPECT_EQ(x.size(), 32u);
}

TEST(JwtMint, Es256IsDeterministicUnderASeededEnvironmentRs256Always) {
  auto mint_in = [](uint64_t seed, const std::string& pem) {
    testing::SimEnvironment env(seed);
    return mint(pem, claims());
  };
  EXPECT_EQ(mint_in(5, keys().ec_pem), mint_in(5, keys().ec_pem));
  EXPECT_NE(mint_in(5, keys().ec_pem), mint_in(6, keys().ec_pem));
  EXPECT_EQ(mint_in(5, keys().rsa_pem), mint_in(6, keys().rsa_pem));
  EXPECT_EQ(mint(keys().rsa_pem, claims()), mint_in(7, keys().rsa_pem));
}

TEST(JwtVerify, ParsingAndVerifyingDrawNoRandomness) {
  std::string jwks_text = *jwks_from_public_key(keys().ec_pem, "k1");
  std::string rsa_jwks_text = *jwks_from_public_key(keys().rsa_pem, "k1");
  std::string es = mint(keys().ec_pem, claims());
  std::string rs = mint(keys().rsa_pem, claims());
  uint64_t before = unscoped_random_bytes();
  EXPECT_EQ(status_of(es, parse_jwks(jwks_text)), JwtStatus::kOk);
  EXPECT_EQ(status_of(rs, parse_jwks(rsa_jwks_text)), JwtStatus::kOk);
  EXPECT_EQ(unscoped_random_bytes(), before);
}

TEST(JwtMint, EmptyKidLeavesItOutOfHeaderAndJwks) {
  std::string token = mint(keys().rsa_pem, claims(), "");
  ParsedJwt parsed;
  ASSERT_EQ(parse_jwt(token, &parsed), JwtStatus::kOk);
  EXPECT_EQ(json::parse(parsed.header_json), (json{{"alg", "RS256"}, {"typ", "JWT"}}));
  json doc = json::parse(*jwks_from_public_key(keys().rsa_pem, ""));
  EXPECT_FALSE(doc["keys"][0].contains("kid"));
  EXPECT_EQ(status_of(token, parse_jwks(doc.dump())), JwtStatus::kOk);
}

TEST(JwtMint, RejectsBadKeysAndClaims) {
  EXPECT_FALSE(mint_jwt("not a key", "{}", "k").ok());
  EXPECT_FALSE(mint_jwt(public_pem(keys().rsa.get()), "{}", "k").ok());  // needs the private key
  EXPECT_FALSE(mint_jwt(keys().rsa_pem, "[1]", "k").ok());
  EXPECT_FALSE(mint_jwt(keys().rsa_pem, "{", "k").ok());
  EXPECT_FALSE(jwks_from_public_key("garbage", "k").ok());
  // Ed25519 keys verify (EdDSA) but are not minted.
  EXPECT_FALSE(mint_jwt(private_pem(keys().ed25519.get()), "{}", "k").ok());
}

// ----------------------------------------------------------------------------- the checks, one by one

TEST(JwtVerify, TamperedPayloadOrSignatureFails) {
  Jwks jwks = jwks_of(keys().rsa_pem, "k1");
  std::string token = mint(keys().rsa_pem, claims());
  std::size_t d1 = token.find('.'), d2 = token.rfind('.');
  std::string payload = base64url_encode(claims().dump().replace(0, 1, "{\"admin\":true,"));
  EXPECT_EQ(status_of(token.substr(0, d1 + 1) + payload + token.substr(d2), jwks), JwtStatus::kJwtVerificationFail);
  std::string sig_flip = token;
  sig_flip[d2 + 10] = sig_flip[d2 + 10] == 'A' ? 'B' : 'A';
  EXPECT_EQ(status_of(sig_flip, jwks), JwtStatus::kJwtVerificationFail);
  // Signed by another key that claims the same kid.
  EXPECT_EQ(status_of(mint(keys().rsa2_pem, claims()), jwks), JwtStatus::kJwtVerificationFail);
}

TEST(JwtVerify, IssuerMustMatchWhenConfigured) {
  Jwks jwks = jwks_of(keys().rsa_pem, "k1");
  json c = claims();
  c["iss"] = "other@example.com";
  std::string token = mint(keys().rsa_pem, c);
  EXPECT_EQ(status_of(token, jwks), JwtStatus::kJwtUnknownIssuer);
  EXPECT_EQ(to_string(JwtStatus::kJwtUnknownIssuer), "Jwt issuer is not configured");
  EXPECT_EQ(status_of(token, jwks, JwtRules{}), JwtStatus::kOk);  // no issuer configured: any
  c.erase("iss");
  EXPECT_EQ(status_of(mint(keys().rsa_pem, c), jwks), JwtStatus::kJwtUnknownIssuer);
}

TEST(JwtVerify, AudiencesFollowEnvoysCheckAudience) {
  Jwks jwks = jwks_of(keys().rsa_pem, "k1");
  json c = claims();
  c["aud"] = json::array({"a.example.com", "b.example.com"});
  std::string list = mint(keys().rsa_pem, c);
  EXPECT_EQ(status_of(list, jwks, istio_rules({"c.example.com"})), JwtStatus::kJwtAudienceNotAllowed);
  EXPECT_EQ(to_string(JwtStatus::kJwtAudienceNotAllowed), "Audiences in Jwt are not allowed");
  EXPECT_EQ(status_of(list, jwks, istio_rules({"c.example.com", "b.example.com"})), JwtStatus::kOk);
  EXPECT_EQ(status_of(list, jwks, istio_rules()), JwtStatus::kOk);  // none configured: any
  // Scheme prefix and trailing slash are ignored on both sides.
  EXPECT_EQ(status_of(list, jwks, istio_rules({"https://b.example.com/"})), JwtStatus::kOk);
  c["aud"] = "http://c.example.com/";
  EXPECT_EQ(status_of(mint(keys().rsa_pem, c), jwks, istio_rules({"c.example.com"})), JwtStatus::kOk);
  // No aud at all while audiences are configured.
  EXPECT_EQ(status_of(mint(keys().rsa_pem, claims()), jwks, istio_rules({"c.example.com"})),
            JwtStatus::kJwtAudienceNotAllowed);
}

TEST(JwtVerify, ExpiryHonoursTheSixtySecondSkew) {
  Jwks jwks = jwks_of(keys().rsa_pem, "k1");
  EXPECT_EQ(status_of(mint(keys().rsa_pem, claims(kNow - 61)), jwks), JwtStatus::kJwtExpired);
  EXPECT_EQ(status_of(mint(keys().rsa_pem, claims(kNow - 60)), jwks), JwtStatus::kOk);
  EXPECT_EQ(status_of(mint(keys().rsa_pem, claims(kNow)), jwks), JwtStatus::kOk);
  JwtRules strict = istio_rules();
  strict.clock_skew_seconds = 0;
  EXPECT_EQ(status_of(mint(keys().rsa_pem, claims(kNow - 1)), jwks, strict), JwtStatus::kJwtExpired);
  // exp absent (or 0) never expires.
  json c = claims();
  c.erase("exp");
  EXPECT_EQ(status_of(mint(keys().rsa_pem, c), jwks, istio_rules(), kNow + 100'000'000), JwtStatus::kOk);
  c["exp"] = 0;
  EXPECT_EQ(status_of(mint(keys().rsa_pem, c), jwks), JwtStatus::kOk);
  EXPECT_EQ(to_string(JwtStatus::kJwtExpired), "Jwt is expired");
}

TEST(JwtVerify, NotBeforeHonoursTheSkew) {
  Jwks jwks = jwks_of(keys().rsa_pem, "k1");
  json c = claims();
  c["nbf"] = kNow + 61;
  EXPECT_EQ(status_of(mint(keys().rsa_pem, c), jwks), JwtStatus::kJwtNotYetValid);
  EXPECT_EQ(to_string(JwtStatus::kJwtNotYetValid), "Jwt not yet valid");
  c["nbf"] = kNow + 60;
  EXPECT_EQ(status_of(mint(keys().rsa_pem, c), jwks), JwtStatus::kOk);
  c["nbf"] = 1.5e9;  // a double is truncated, as protobuf's number would be
  EXPECT_EQ(status_of(mint(keys().rsa_pem, c), jwks), JwtStatus::kOk);
}

TEST(JwtVerify, ChecksRunInEnvoysOrder) {
  Jwks jwks = jwks_of(keys().rsa_pem, "k1");
  json c = claims(kNow - 3600);  // expired
  c["aud"] = "nobody";
  c["iss"] = "other";
  // issuer before time
  EXPECT_EQ(status_of(mint(keys().rsa2_pem, c), jwks, istio_rules({"x"})), JwtStatus::kJwtUnknownIssuer);
  c["iss"] = kIstioIssuer;
  // time before audience, and before the signature
  EXPECT_EQ(status_of(mint(keys().rsa2_pem, c), jwks, istio_rules({"x"})), JwtStatus::kJwtExpired);
  c["exp"] = kNow + 3600;
  // audience before the signature
  EXPECT_EQ(status_of(mint(keys().rsa2_pem, c), jwks, istio_rules({"x"})), JwtStatus::kJwtAudienceNotAllowed);
  // keys before the signature, kid/alg match before the signature
  EXPECT_EQ(status_of(mint(keys().rsa2_pem, c), Jwks(), istio_rules()), JwtStatus::kJwksNoValidKeys);
  EXPECT_EQ(status_of(mint(keys().rsa2_pem, c, "k9"), jwks, istio_rules()), JwtStatus::kJwksKidAlgMismatch);
  EXPECT_EQ(status_of(mint(keys().rsa2_pem, c), jwks, istio_rules()), JwtStatus::kJwtVerificationFail);
  // parse errors before everything: a bad payload type on an otherwise wrong token
  c["exp"] = "soon";
  EXPECT_EQ(status_of(mint(keys().rsa2_pem, c), Jwks(), istio_rules({"x"})),
            JwtStatus::kJwtPayloadParseErrorExpNotInteger);
}

TEST(JwtVerify, KidSelectsTheKeyAndAbsentKidTriesAll) {
  // Two keys: the token's key second, without a kid of its own.
  json a = json::parse(*jwks_from_public_key(keys().rsa2_pem, "other"));
  json b = json::parse(*jwks_from_public_key(keys().rsa_pem, ""));
  json both{{"keys", json::array({a["keys"][0], b["keys"][0]})}};
  Jwks jwks = parse_jwks(both.dump());
  ASSERT_EQ(jwks.size(), 2u);
  EXPECT_EQ(status_of(mint(keys().rsa_pem, claims(), ""), jwks), JwtStatus::kOk);     // tries both
  EXPECT_EQ(status_of(mint(keys().rsa_pem, claims(), "k1"), jwks), JwtStatus::kOk);   // kid-less key matches
  EXPECT_EQ(status_of(mint(keys().rsa_pem, claims(), "other"), jwks), JwtStatus::kOk);
  // Only kid'ed keys: an unknown kid matches none.
  Jwks only_a = parse_jwks(a.dump());
  JwtVerifyResult r = verify_jwt(mint(keys().rsa_pem, claims(), "k1"), only_a, kNow, istio_rules());
  EXPECT_EQ(r.status, JwtStatus::kJwksKidAlgMismatch);
  EXPECT_EQ(r.message(), "Jwks doesn't have key to match kid or alg from Jwt");
}

TEST(JwtVerify, JwkAlgMustMatchTheTokenAlg) {
  json doc = json::parse(*jwks_from_public_key(keys().rsa_pem, "k1"));
  doc["keys"][0]["alg"] = "RS384";
  EXPECT_EQ(status_of(mint(keys().rsa_pem, claims()), parse_jwks(doc.dump())), JwtStatus::kJwksKidAlgMismatch);
  doc["keys"][0]["alg"] = "RS256";
  EXPECT_EQ(status_of(mint(keys().rsa_pem, claims()), parse_jwks(doc.dump())), JwtStatus::kOk);
}

TEST(JwtVerify, AlgNoneAndUnknownAlgsAreRejectedAtParse) {
  Jwks jwks = jwks_of(keys().rsa_pem, "k1");
  std::string payload = claims().dump();
  std::string none = base64url_encode(header("none")) + "." + base64url_encode(payload) + ".";
  // "x.y." has two sections: not even the form.
  EXPECT_EQ(status_of(none, jwks), JwtStatus::kJwtBadFormat);
  EXPECT_EQ(status_of(none + "c2ln", jwks), JwtStatus::kJwtHeaderNotImplementedAlg);
  EXPECT_EQ(to_string(JwtStatus::kJwtHeaderNotImplementedAlg), "Jwt header [alg] is not supported");
  EXPECT_EQ(status_of(sign_compact(nullptr, "", header("None"), payload), jwks),
            JwtStatus::kJwtHeaderNotImplementedAlg);
  EXPECT_EQ(status_of(sign_compact(nullptr, "", header("rs256"), payload), jwks),
            JwtStatus::kJwtHeaderNotImplementedAlg);
  EXPECT_EQ(status_of(sign_compact(nullptr, "", R"({"typ":"JWT"})", payload), jwks), JwtStatus::kJwtHeaderBadAlg);
  EXPECT_EQ(status_of(sign_compact(nullptr, "", R"({"alg":256})", payload), jwks), JwtStatus::kJwtHeaderBadAlg);
  EXPECT_EQ(status_of(sign_compact(nullptr, "", R"({"alg":"RS256","kid":7})", payload), jwks),
            JwtStatus::kJwtHeaderBadKid);
}

TEST(JwtVerify, HmacTokenAgainstAnRsaKeyIsNotAcceptedWithTheRsaModulus) {
  // Algorithm confusion: HS256 "signed" with the RSA public key's bytes.
  Jwks jwks = jwks_of(keys().rsa_pem, "");
  std::string pub = public_pem(keys().rsa.get());
  std::string token = sign_compact(nullptr, "HS256", header("HS256", ""), claims().dump(), pub);
  EXPECT_EQ(status_of(token, jwks), JwtStatus::kJwtVerificationFail);
}

TEST(JwtVerify, MalformedTokensGetJwtVerifyLibsStatus) {
  Jwks jwks = jwks_of(keys().rsa_pem, "k1");
  std::string h = base64url_encode(header("RS256"));
  std::string p = base64url_encode(claims().dump());
  EXPECT_EQ(status_of("", jwks), JwtStatus::kJwtBadFormat);
  EXPECT_EQ(status_of("abc", jwks), JwtStatus::kJwtBadFormat);
  EXPECT_EQ(status_of(h + "." + p, jwks), JwtStatus::kJwtBadFormat);
  EXPECT_EQ(status_of(h + "." + p + ".c2ln.c2ln", jwks), JwtStatus::kJwtBadFormat);
  EXPECT_EQ(to_string(JwtStatus::kJwtBadFormat),
            "Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections");
  // Empty sections are skipped (absl::SkipEmpty), so extra dots still make three.
  EXPECT_EQ(status_of(h + ".." + p + ".c2ln", jwks), JwtStatus::kJwtVerificationFail);
  EXPECT_EQ(status_of("a+b." + p + ".c2ln", jwks), JwtStatus::kJwtHeaderParseErrorBadBase64);
  EXPECT_EQ(status_of(base64url_encode("{not json") + "." + p + ".c2ln", jwks),
            JwtStatus::kJwtHeaderParseErrorBadJson);
  EXPECT_EQ(status_of(base64url_encode("[\"RS256\"]") + "." + p + ".c2ln", jwks),
            JwtStatus::kJwtHeaderParseErrorBadJson);
  EXPECT_EQ(to_string(JwtStatus::kJwtHeaderParseErrorBadJson), "Jwt header is an invalid JSON");
  EXPECT_EQ(status_of(h + ".p*q.c2ln", jwks), JwtStatus::kJwtPayloadParseErrorBadBase64);
  EXPECT_EQ(status_of(h + "." + base64url_encode("nope") + ".c2ln", jwks), JwtStatus::kJwtPayloadParseErrorBadJson);
  EXPECT_EQ(status_of(h + "." + p + ".c2l+", jwks), JwtStatus::kJwtSignatureParseErrorBadBase64);

  auto payload_status = [&](const json& payload) {
    return status_of(h + "." + base64url_encode(payload.dump()) + ".c2ln", jwks);
  };
  EXPECT_EQ(payload_status({{"iss", 1}}), JwtStatus::kJwtPayloadParseErrorIssNotString);
  EXPECT_EQ(payload_status({{"sub", nullptr}}), JwtStatus::kJwtPayloadParseErrorSubNotString);
  EXPECT_EQ(payload_status({{"iat", "1"}}), JwtStatus::kJwtPayloadParseErrorIatNotInteger);
  EXPECT_EQ(payload_status({{"iat", -1}}), JwtStatus::kJwtPayloadParseErrorIatOutOfRange);
  EXPECT_EQ(payload_status({{"nbf", true}}), JwtStatus::kJwtPayloadParseErrorNbfNotInteger);
  EXPECT_EQ(payload_status({{"nbf", 1e20}}), JwtStatus::kJwtPayloadParseErrorNbfOutOfRange);
  EXPECT_EQ(payload_status({{"exp", "later"}}), JwtStatus::kJwtPayloadParseErrorExpNotInteger);
  EXPECT_EQ(payload_status({{"exp", -5}}), JwtStatus::kJwtPayloadParseErrorExpOutOfRange);
  EXPECT_EQ(payload_status({{"jti", 9}}), JwtStatus::kJwtPayloadParseErrorJtiNotString);
  EXPECT_EQ(payload_status({{"aud", json::array({"a", 1})}}), JwtStatus::kJwtPayloadParseErrorAudNotString);
  EXPECT_EQ(payload_status({{"aud", 1}}), JwtStatus::kJwtPayloadParseErrorAudNotString);
  EXPECT_EQ(to_string(JwtStatus::kJwtPayloadParseErrorAudNotString),
            "Jwt payload [aud] field is not a string or string list");
  // The field order of the checks: iss before exp before aud.
  EXPECT_EQ(payload_status({{"aud", 1}, {"exp", "x"}, {"iss", 2}}), JwtStatus::kJwtPayloadParseErrorIssNotString);
  EXPECT_EQ(payload_status({{"aud", 1}, {"exp", "x"}}), JwtStatus::kJwtPayloadParseErrorExpNotInteger);
}

TEST(JwtVerify, OtherAlgorithmsOfJwtVerifyLib) {
  std::string payload = claims().dump();
  // PS256 with the RSA key.
  Jwks rsa = jwks_of(keys().rsa_pem, "k1");
  EXPECT_EQ(status_of(sign_compact(keys().rsa.get(), "PS256", header("PS256"), payload), rsa), JwtStatus::kOk);
  EXPECT_EQ(status_of(sign_compact(keys().rsa.get(), "RS384", header("RS384"), payload), rsa), JwtStatus::kOk);
  EXPECT_EQ(status_of(sign_compact(keys().rsa.get(), "RS512", header("RS512"), payload), rsa), JwtStatus::kOk);
  // An RS256 signature presented as PS256 fails.
  EXPECT_EQ(status_of(sign_compact(keys().rsa.get(), "RS256", header("PS256"), payload), rsa),
            JwtStatus::kJwtVerificationFail);
  // ES256 signed independently of mint_jwt.
  Jwks ec = jwks_of(keys().ec_pem, "k1");
  EXPECT_EQ(status_of(sign_compact(keys().ec.get(), "ES256", header("ES256"), payload), ec), JwtStatus::kOk);
  // HS256 with an oct key.
  std::string secret = "a shared secret of 32 bytes!!!!!";
  json oct{{"keys", json::array({{{"kty", "oct"}, {"k", base64url_encode(secret)}, {"alg", "HS256"}}})}};
  Jwks hs = parse_jwks(oct.dump());
  EXPECT_EQ(status_of(sign_compact(nullptr, "HS256", header("HS256"), payload, secret), hs), JwtStatus::kOk);
  EXPECT_EQ(status_of(sign_compact(nullptr, "HS256", header("HS256"), payload, "wrong"), hs),
            JwtStatus::kJwtVerificationFail);
  // EdDSA with an OKP key.
  unsigned char raw[32];
  std::size_t len = sizeof raw;
  ASSERT_EQ(EVP_PKEY_get_raw_public_key(keys().ed25519.get(), raw, &len), 1);
  json okp{{"keys", json::array({{{"kty", "OKP"}, {"crv", "Ed25519"},
                                  {"x", base64url_encode(std::string_view(reinterpret_cast<char*>(raw), len))}}})}};
  Jwks ed = parse_jwks(okp.dump());
  std::string ed_token = sign_compact(keys().ed25519.get(), "EdDSA", header("EdDSA"), payload);
  EXPECT_EQ(status_of(ed_token, ed), JwtStatus::kOk);
  EXPECT_EQ(status_of(ed_token.substr(0, ed_token.rfind('.')) + ".c2ln", ed),
            JwtStatus::kJwtEd25519SignatureWrongLength);
}

// ----------------------------------------------------------------------------- JWKS

std::string jwks_error(const std::string& text) {
  auto r = Jwks::parse(text);
  return r.ok() ? std::string("ok") : r.message();
}

TEST(JwksParse, DocumentLevelErrors) {
  EXPECT_EQ(jwks_error("{"), "Jwks is an invalid JSON");
  EXPECT_EQ(jwks_error("[]"), "Jwks is an invalid JSON");
  EXPECT_EQ(jwks_error("{}"), "Jwks does not have [keys] field");
  EXPECT_EQ(jwks_error(R"({"keys":{}})"), "[keys] in Jwks is not an array");
  EXPECT_EQ(jwks_error(R"({"keys":[]})"), "Jwks doesn't have any valid public key");
  EXPECT_EQ(jwks_error(R"({"keys":[1,"x"]})"), "Jwks doesn't have any valid public key");
}

TEST(JwksParse, KeyLevelErrorsNameTheFirstFailure) {
  json rsa = json::parse(*jwks_from_public_key(keys().rsa_pem, "k1"))["keys"][0];
  json ec = json::parse(*jwks_from_public_key(keys().ec_pem, "k1"))["keys"][0];
  auto one = [](json key) { return jwks_error(json{{"keys", json::array({key})}}.dump()); };
  auto with = [](json key, const char* field, json value) {
    if (value.is_null()) {
      key.erase(field);
    } else {
      key[field] = value;
    }
    return key;
  };
  EXPECT_EQ(one(with(rsa, "kty", nullptr)), "[kty] is missing in [keys]");
  EXPECT_EQ(one(with(rsa, "kty", 3)), "[kty] is bad in [keys]");
  EXPECT_EQ(one(with(rsa, "kty", "DSA")), "[kty] is not supported in [keys]");
  EXPECT_EQ(one(with(rsa, "alg", "ES256")), "[alg] is not started with [RS] or [PS] for an RSA key");
  EXPECT_EQ(one(with(rsa, "n", nullptr)), "[n] field is missing for a RSA key");
  EXPECT_EQ(one(with(rsa, "e", 65537)), "[e] field is not string for a RSA key");
  EXPECT_EQ(one(with(rsa, "e", base64url_encode("\x11"))), "Jwks RSA [n] or [e] field is missing or has a parse error");
  EXPECT_EQ(one(with(rsa, "n", "AA+")), "Jwks RSA [n] or [e] field is missing or has a parse error");
  EXPECT_EQ(one(with(rsa, "n", base64url_encode("\x10\x00"))), "Jwks RSA [n] or [e] field is missing or has a parse error");
  EXPECT_EQ(one(with(ec, "crv", 1)), "[crv] field is not string for an EC key");
  EXPECT_EQ(one(with(with(ec, "alg", "ES256"), "crv", "P-384")),
            "[crv] field specified is not compatible with [alg] for an EC key");
  EXPECT_EQ(one(with(ec, "crv", "secp256k1")), "[crv] or [alg] field is not supported for an EC key");
  EXPECT_EQ(one(with(ec, "alg", "RS256")), "[alg] is not started with [ES] for an EC key");
  EXPECT_EQ(one(with(ec, "y", nullptr)), "[y] field is missing for an EC key");
  EXPECT_EQ(one(with(ec, "x", "!!")), "Jwks EC [x] or [y] field is an invalid Base64.");
  // A point off the curve.
  std::string y;
  ASSERT_TRUE(base64url_decode(ec["y"].get<std::string>(), &y));
  y[31] = static_cast<char>(y[31] ^ 1);
  EXPECT_EQ(one(with(ec, "y", base64url_encode(y))), "Jwks EC [x] and [y] fields have a parse error.");
  EXPECT_EQ(one(json{{"kty", "oct"}}), "[k] field is missing for an HMAC key");
  EXPECT_EQ(one(json{{"kty", "oct"}, {"k", ""}}), "Jwks Oct key is an invalid Base64");
  EXPECT_EQ(one(json{{"kty", "OKP"}, {"x", "AA"}}), "[crv] field is missing for an OKP key");
  EXPECT_EQ(one(json{{"kty", "OKP"}, {"crv", "Ed25519"}, {"x", "AAAA"}}), "Jwks OKP [x] field is wrong length.");
  // The first failing key is reported when none is valid.
  EXPECT_EQ(jwks_error(json{{"keys", json::array({with(rsa, "n", nullptr), with(ec, "x", nullptr)})}}.dump()),
            "[n] field is missing for a RSA key");
}

TEST(JwksParse, InvalidKeysAreSkippedWhenOneIsValid) {
  json rsa = json::parse(*jwks_from_public_key(keys().rsa_pem, "k1"))["keys"][0];
  json doc{{"keys", json::array({json{{"kty", "RSA"}}, 7, rsa, json{{"kty", "foo"}}})}};
  Jwks jwks = parse_jwks(doc.dump());
  EXPECT_EQ(jwks.size(), 1u);
  EXPECT_EQ(status_of(mint(keys().rsa_pem, claims()), jwks), JwtStatus::kOk);
}

TEST(JwksParse, EcKeyWithoutCrvOrAlgIsP256) {
  json ec = json::parse(*jwks_from_public_key(keys().ec_pem, "k1"));
  ec["keys"][0].erase("crv");
  EXPECT_EQ(status_of(mint(keys().ec_pem, claims()), parse_jwks(ec.dump())), JwtStatus::kOk);
}

// ----------------------------------------------------------------------------- claims

TEST(JwtClaims, ValuesFollowIstiosRbacClaimMatching) {
  json c = claims();
  c["groups"] = json::array({"dev", 7, "ops"});
  c["org"] = {{"team", "mesh"}, {"levels", json::array({"l1", "l2"})}, {"n", 5}};
  c["scope"] = "read  write";
  c["flag"] = true;
  std::string token = mint(keys().rsa_pem, c);
  JwtVerifyResult r = verify_jwt(token, jwks_of(keys().rsa_pem, "k1"), kNow, istio_rules());
  ASSERT_TRUE(r.ok());
  const JwtClaims& cl = *r.claims;
  EXPECT_EQ(cl.values({"groups"}), (std::vector<std::string_view>{"dev", "ops"}));  // non-strings dropped
  EXPECT_EQ(cl.values({"org", "team"}), std::vector<std::string_view>{"mesh"});
  EXPECT_EQ(cl.values({"org", "levels"}), (std::vector<std::string_view>{"l1", "l2"}));
  EXPECT_TRUE(cl.values({"org", "n"}).empty());
  EXPECT_TRUE(cl.values({"org"}).empty());
  EXPECT_TRUE(cl.values({"flag"}).empty());
  EXPECT_TRUE(cl.values({"missing"}).empty());
  EXPECT_TRUE(cl.values({"groups", "x"}).empty());
  EXPECT_EQ(cl.values({"scope"}), std::vector<std::string_view>{"read  write"});
  std::vector<std::string> path{"scope"};
  std::vector<std::string> istio_split{"scope", "permission"};
  EXPECT_EQ(cl.values(path, istio_split), (std::vector<std::string_view>{"read", "write"}));
  // Splitting applies to top-level claims only.
  std::vector<std::string> nested{"org", "team"};
  std::vector<std::string> team_split{"team"};
  EXPECT_EQ(cl.values(nested, team_split), std::vector<std::string_view>{"mesh"});
  // Views outlive the result that produced them while a copy of the claims lives.
  JwtClaims copy = cl;
  r.claims.reset();
  EXPECT_EQ(copy.values({"org", "team"}), std::vector<std::string_view>{"mesh"});
}

TEST(JwtClaims, HeaderValueFollowsEnvoysClaimToHeaders) {
  json c = claims();
  c["email"] = "alice@example.com";
  c["org"] = {{"team", "mesh"}};
  c["ratio"] = 0.5;
  c["flag"] = false;
  c["empty"] = "";
  c["nothing"] = nullptr;
  ParsedJwt parsed;
  ASSERT_EQ(parse_jwt(mint(keys().rsa_pem, c), &parsed), JwtStatus::kOk);
  const JwtClaims& cl = parsed.claims;
  EXPECT_EQ(cl.header_value("email"), "alice@example.com");
  EXPECT_EQ(cl.header_value("org.team"), "mesh");
  EXPECT_EQ(cl.header_value("exp"), std::to_string(kNow + 3600));
  EXPECT_EQ(cl.header_value("ratio"), "0.500000");
  EXPECT_EQ(cl.header_value("flag"), "false");
  EXPECT_EQ(cl.header_value("org"), "eyJ0ZWFtIjoibWVzaCJ9");  // base64 of {"team":"mesh"}
  EXPECT_EQ(cl.header_value("empty"), std::nullopt);
  EXPECT_EQ(cl.header_value("nothing"), std::nullopt);
  EXPECT_EQ(cl.header_value("missing"), std::nullopt);
}

// ----------------------------------------------------------------------------- what Envoy answers

TEST(JwtStatusReply, BodyCodeAndDetailsAreEnvoys) {
  EXPECT_EQ(jwt_http_status(JwtStatus::kJwtVerificationFail), 401);
  EXPECT_EQ(jwt_http_status(JwtStatus::kJwtExpired), 401);
  EXPECT_EQ(jwt_http_status(JwtStatus::kJwtMissed), 401);
  EXPECT_EQ(jwt_http_status(JwtStatus::kJwtAudienceNotAllowed), 403);
  EXPECT_EQ(jwt_http_status(JwtStatus::kOk), 0);
  EXPECT_EQ(to_string(JwtStatus::kJwtMissed), "Jwt is missing");
  EXPECT_EQ(jwt_response_code_details(JwtStatus::kJwtVerificationFail), "jwt_authn_access_denied{Jwt_verification_fails}");
  EXPECT_EQ(jwt_response_code_details(JwtStatus::kJwksKidAlgMismatch),
            "jwt_authn_access_denied{Jwks_doesn't_have_key_to_match_kid_or_alg_from_Jwt}");
}

TEST(JwtStatusReply, EveryStatusHasAString) {
  for (int s = 0; s <= static_cast<int>(JwtStatus::kJwksOKPKeyBadX); ++s) {
    EXPECT_FALSE(to_string(static_cast<JwtStatus>(s)).empty()) << s;
  }
}

}  // namespace
}  // namespace meshsim::tls
