// JWT parsing, verification and minting (see jwt.h for the rules and their
// sources). The key and token checks transcribe jwt_verify_lib's jwks.cc,
// jwt.cc, verify.cc and check_audience.cc onto OpenSSL 3's EVP interfaces;
// the comments name the jwt_verify_lib behaviour each step reproduces.
#include "proxy/tls/jwt.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <array>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "proxy/tls/environment.h"
#include "proxy/tls/openssl_internal.h"

namespace meshsim::tls {

using nlohmann::json;

// ----------------------------------------------------------------------------- status strings

std::string_view to_string(JwtStatus s) {
  switch (s) {
    case JwtStatus::kOk: return "OK";
    case JwtStatus::kJwtMissed: return "Jwt is missing";
    case JwtStatus::kJwtNotYetValid: return "Jwt not yet valid";
    case JwtStatus::kJwtExpired: return "Jwt is expired";
    case JwtStatus::kJwtBadFormat:
      return "Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections";
    case JwtStatus::kJwtHeaderParseErrorBadBase64: return "Jwt header is an invalid Base64url encoded";
    case JwtStatus::kJwtHeaderParseErrorBadJson: return "Jwt header is an invalid JSON";
    case JwtStatus::kJwtHeaderBadAlg: return "Jwt header [alg] field is required and must be a string";
    case JwtStatus::kJwtHeaderNotImplementedAlg: return "Jwt header [alg] is not supported";
    case JwtStatus::kJwtHeaderBadKid: return "Jwt header [kid] field is not a string";
    case JwtStatus::kJwtPayloadParseErrorBadBase64: return "Jwt payload is an invalid Base64url encoded";
    case JwtStatus::kJwtEd25519SignatureWrongLength: return "Jwt ED25519 signature is wrong length";
    case JwtStatus::kJwtPayloadParseErrorBadJson: return "Jwt payload is an invalid JSON";
    case JwtStatus::kJwtPayloadParseErrorIssNotString: return "Jwt payload [iss] field is not a string";
    case JwtStatus::kJwtPayloadParseErrorSubNotString: return "Jwt payload [sub] field is not a string";
    case JwtStatus::kJwtPayloadParseErrorIatNotInteger: return "Jwt payload [iat] field is not an integer";
    case JwtStatus::kJwtPayloadParseErrorIatOutOfRange:
      return "Jwt payload [iat] field is not a positive 64 bit integer";
    case JwtStatus::kJwtPayloadParseErrorNbfNotInteger: return "Jwt payload [nbf] field is not an integer";
    case JwtStatus::kJwtPayloadParseErrorNbfOutOfRange:
      return "Jwt payload [nbf] field is not a positive 64 bit integer";
    case JwtStatus::kJwtPayloadParseErrorExpNotInteger: return "Jwt payload [exp] field is not an integer";
    case JwtStatus::kJwtPayloadParseErrorExpOutOfRange:
      return "Jwt payload [exp] field is not a positive 64 bit integer";
    case JwtStatus::kJwtPayloadParseErrorJtiNotString: return "Jwt payload [jti] field is not a string";
    case JwtStatus::kJwtPayloadParseErrorAudNotString:
      return "Jwt payload [aud] field is not a string or string list";
    case JwtStatus::kJwtSignatureParseErrorBadBase64: return "Jwt signature is an invalid Base64url encoded";
    case JwtStatus::kJwtUnknownIssuer: return "Jwt issuer is not configured";
    case JwtStatus::kJwtAudienceNotAllowed: return "Audiences in Jwt are not allowed";
    case JwtStatus::kJwtVerificationFail: return "Jwt verification fails";
    case JwtStatus::kJwtMultipleTokens: return "Found multiple Jwt tokens";
    case JwtStatus::kJwksParseError: return "Jwks is an invalid JSON";
    case JwtStatus::kJwksNoKeys: return "Jwks does not have [keys] field";
    case JwtStatus::kJwksBadKeys: return "[keys] in Jwks is not an array";
    case JwtStatus::kJwksNoValidKeys: return "Jwks doesn't have any valid public key";
    case JwtStatus::kJwksKidAlgMismatch: return "Jwks doesn't have key to match kid or alg from Jwt";
    case JwtStatus::kJwksRsaParseError: return "Jwks RSA [n] or [e] field is missing or has a parse error";
    case JwtStatus::kJwksEcCreateKeyFail: return "Jwks EC create key fail";
    case JwtStatus::kJwksEcXorYBadBase64: return "Jwks EC [x] or [y] field is an invalid Base64.";
    case JwtStatus::kJwksEcParseError: return "Jwks EC [x] and [y] fields have a parse error.";
    case JwtStatus::kJwksOctBadBase64: return "Jwks Oct key is an invalid Base64";
    case JwtStatus::kJwksOKPXBadBase64: return "Jwks OKP [x] field is an invalid Base64.";
    case JwtStatus::kJwksOKPXWrongLength: return "Jwks OKP [x] field is wrong length.";
    case JwtStatus::kJwksFetchFail: return "Jwks remote fetch is failed";
    case JwtStatus::kJwksMissingKty: return "[kty] is missing in [keys]";
    case JwtStatus::kJwksBadKty: return "[kty] is bad in [keys]";
    case JwtStatus::kJwksNotImplementedKty: return "[kty] is not supported in [keys]";
    case JwtStatus::kJwksRSAKeyBadAlg: return "[alg] is not started with [RS] or [PS] for an RSA key";
    case JwtStatus::kJwksRSAKeyMissingN: return "[n] field is missing for a RSA key";
    case JwtStatus::kJwksRSAKeyBadN: return "[n] field is not string for a RSA key";
    case JwtStatus::kJwksRSAKeyMissingE: return "[e] field is missing for a RSA key";
    case JwtStatus::kJwksRSAKeyBadE: return "[e] field is not string for a RSA key";
    case JwtStatus::kJwksECKeyBadAlg: return "[alg] is not started with [ES] for an EC key";
    case JwtStatus::kJwksECKeyBadCrv: return "[crv] field is not string for an EC key";
    case JwtStatus::kJwksECKeyAlgOrCrvUnsupported: return "[crv] or [alg] field is not supported for an EC key";
    case JwtStatus::kJwksECKeyAlgNotCompatibleWithCrv:
      return "[crv] field specified is not compatible with [alg] for an EC key";
    case JwtStatus::kJwksECKeyMissingX: return "[x] field is missing for an EC key";
    case JwtStatus::kJwksECKeyBadX: return "[x] field is not string for an EC key";
    case JwtStatus::kJwksECKeyMissingY: return "[y] field is missing for an EC key";
    case JwtStatus::kJwksECKeyBadY: return "[y] field is not string for an EC key";
    case JwtStatus::kJwksHMACKeyBadAlg: return "[alg] does not start with [HS] for an HMAC key";
    case JwtStatus::kJwksHMACKeyMissingK: return "[k] field is missing for an HMAC key";
    case JwtStatus::kJwksHMACKeyBadK: return "[k] field is not string for an HMAC key";
    case JwtStatus::kJwksOKPKeyBadAlg: return "[alg] is not [EdDSA] for an OKP key";
    case JwtStatus::kJwksOKPKeyMissingCrv: return "[crv] field is missing for an OKP key";
    case JwtStatus::kJwksOKPKeyBadCrv: return "[crv] field is not string for an OKP key";
    case JwtStatus::kJwksOKPKeyCrvUnsupported: return "[crv] field is not supported for an OKP key";
    case JwtStatus::kJwksOKPKeyMissingX: return "[x] field is missing for an OKP key";
    case JwtStatus::kJwksOKPKeyBadX: return "[x] field is not string for an OKP key";
  }
  return "";
}

int jwt_http_status(JwtStatus s) {
  if (s == JwtStatus::kOk) return 0;
  return s == JwtStatus::kJwtAudienceNotAllowed ? 403 : 401;
}

std::string jwt_response_code_details(JwtStatus s) {
  std::string out = "jwt_authn_access_denied{";
  for (char c : to_string(s)) out += c == ' ' ? '_' : c;
  out += '}';
  return out;
}

// ----------------------------------------------------------------------------- base64

namespace {

constexpr char kBase64UrlAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr char kBase64Alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<int8_t, 256> make_url_decode_table() {
  std::array<int8_t, 256> t{};
  for (auto& v : t) v = -1;
  for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(kBase64UrlAlphabet[i])] = static_cast<int8_t>(i);
  return t;
}
constexpr std::array<int8_t, 256> kBase64UrlDecode = make_url_decode_table();

std::string encode_base64(std::string_view bytes, const char* alphabet, bool pad) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  auto at = [&](std::size_t k) { return static_cast<uint32_t>(static_cast<unsigned char>(bytes[k])); };
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t v = at(i) << 16 | at(i + 1) << 8 | at(i + 2);
    out += alphabet[v >> 18];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += alphabet[v & 63];
  }
  std::size_t rest = bytes.size() - i;
  if (rest == 1) {
    uint32_t v = at(i) << 16;
    out += alphabet[v >> 18];
    out += alphabet[(v >> 12) & 63];
    if (pad) out += "==";
  } else if (rest == 2) {
    uint32_t v = at(i) << 16 | at(i + 1) << 8;
    out += alphabet[v >> 18];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    if (pad) out += '=';
  }
  return out;
}

}  // namespace

std::string base64url_encode(std::string_view bytes) { return encode_base64(bytes, kBase64UrlAlphabet, false); }

bool base64url_decode(std::string_view text, std::string* out) {
  std::size_t pad = 0;
  while (pad < text.size() && text[text.size() - 1 - pad] == '=') ++pad;
  std::string_view data = text.substr(0, text.size() - pad);
  std::size_t rest = data.size() % 4;
  if (rest == 1) return false;  // six bits cannot make a byte
  // As absl::WebSafeBase64Unescape: no padding, or exactly the padding due.
  if (pad != 0 && pad != (rest == 2 ? 2u : rest == 3 ? 1u : 99u)) return false;
  out->clear();
  out->reserve(data.size() / 4 * 3 + 2);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : data) {
    int8_t v = kBase64UrlDecode[static_cast<unsigned char>(c)];
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return true;
}

// ----------------------------------------------------------------------------- shared internals

struct JwtClaims::Tree {
  json payload;
};

namespace {

using ossl::PkeyPtr;

struct MdCtxFree { void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); } };
struct PkeyCtxFree { void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); } };
struct BnFree { void operator()(BIGNUM* b) const { BN_free(b); } };
struct EcdsaSigFree { void operator()(ECDSA_SIG* s) const { ECDSA_SIG_free(s); } };
struct ParamBldFree { void operator()(OSSL_PARAM_BLD* b) const { OSSL_PARAM_BLD_free(b); } };
struct ParamFree { void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); } };
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, EcdsaSigFree>;

const unsigned char* uchar(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

// nlohmann without exceptions; a discarded value on any syntax error.
json parse_json(std::string_view text) { return json::parse(text.begin(), text.end(), nullptr, false); }

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// jwt_verify_lib's StructUtils results.
enum class Find : uint8_t { kOk, kMissing, kWrongType, kOutOfRange };

Find get_string(const json& obj, const char* name, std::string* out) {
  auto it = obj.find(name);
  if (it == obj.end()) return Find::kMissing;
  if (!it->is_string()) return Find::kWrongType;
  *out = it->get<std::string>();
  return Find::kOk;
}

// StructUtils::GetUInt64: a JSON number (protobuf keeps every number as a
// double) in [0, 2^64), truncated.
Find get_uint64(const json& obj, const char* name, uint64_t* out) {
  auto it = obj.find(name);
  if (it == obj.end()) return Find::kMissing;
  if (!it->is_number()) return Find::kWrongType;
  double d = it->get<double>();
  if (d < 0 || d >= static_cast<double>(std::numeric_limits<uint64_t>::max())) return Find::kOutOfRange;
  *out = static_cast<uint64_t>(d);
  return Find::kOk;
}

// StructUtils::GetStringList: a string, or a list whose elements are all strings.
Find get_string_list(const json& obj, const char* name, std::vector<std::string>* out) {
  auto it = obj.find(name);
  if (it == obj.end()) return Find::kMissing;
  if (it->is_string()) {
    out->push_back(it->get<std::string>());
    return Find::kOk;
  }
  if (!it->is_array()) return Find::kWrongType;
  for (const auto& v : *it) {
    if (!v.is_string()) return Find::kWrongType;
    out->push_back(v.get<std::string>());
  }
  return Find::kOk;
}

BnPtr bn_from_base64url(std::string_view s) {
  std::string bytes;
  if (!base64url_decode(s, &bytes)) return nullptr;
  return BnPtr(BN_bin2bn(uchar(bytes), static_cast<int>(bytes.size()), nullptr));
}

const EVP_MD* digest_for(std::string_view alg) {
  if (alg.size() >= 5 && alg.substr(2) == "384") return EVP_sha384();
  if (alg.size() >= 5 && alg.substr(2) == "512") return EVP_sha512();
  return EVP_sha256();  // jwt_verify_lib's default for every other alg
}

int ec_field_bytes(int nid) {
  switch (nid) {
    case NID_X9_62_prime256v1: return 32;
    case NID_secp384r1: return 48;
    default: return 66;  // NID_secp521r1
  }
}

}  // namespace

// ----------------------------------------------------------------------------- Jwks

namespace {

enum class KeyType : uint8_t { kRsa, kEc, kOct, kOkp };

struct JwkKey {
  std::string kid;
  std::string alg;
  KeyType type = KeyType::kRsa;
  PkeyPtr pkey;        // RSA, EC, Ed25519
  std::string secret;  // oct
};

}  // namespace

struct Jwks::Rep {
  std::vector<JwkKey> keys;
};

std::size_t Jwks::size() const { return rep_ ? rep_->keys.size() : 0; }

namespace {

// KeyGetter::createRsaFromJwk: e must be 3 or 65537, and the key must pass
// BoringSSL's public-key check (modulus odd, at most 16384 bits, above e).
JwtStatus rsa_key(std::string_view n_b64, std::string_view e_b64, PkeyPtr* out) {
  BnPtr n = bn_from_base64url(n_b64);
  BnPtr e = bn_from_base64url(e_b64);
  if (!n || !e) return JwtStatus::kJwksRsaParseError;
  if (!BN_is_word(e.get(), 3) && !BN_is_word(e.get(), 65537)) return JwtStatus::kJwksRsaParseError;
  if (!BN_is_odd(n.get()) || BN_num_bits(n.get()) > 16384 || BN_cmp(n.get(), e.get()) <= 0) {
    return JwtStatus::kJwksRsaParseError;
  }
  std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
  if (!bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e.get()) != 1) {
    return JwtStatus::kJwksRsaParseError;
  }
  std::unique_ptr<OSSL_PARAM, ParamFree> params(OSSL_PARAM_BLD_to_param(bld.get()));
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
  EVP_PKEY* pkey = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &pkey, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    ERR_clear_error();
    return JwtStatus::kJwksRsaParseError;
  }
  out->reset(pkey);
  return JwtStatus::kOk;
}

// KeyGetter::createEcKeyFromJwkEC: the point must be on the curve.
JwtStatus ec_key(int nid, std::string_view x_b64, std::string_view y_b64, PkeyPtr* out) {
  BnPtr x = bn_from_base64url(x_b64);
  BnPtr y = bn_from_base64url(y_b64);
  if (!x || !y) return JwtStatus::kJwksEcXorYBadBase64;
  int fs = ec_field_bytes(nid);
  std::string point(1 + 2 * static_cast<std::size_t>(fs), '\0');
  point[0] = 0x04;  // uncompressed
  auto* p = reinterpret_cast<unsigned char*>(point.data());
  if (BN_bn2binpad(x.get(), p + 1, fs) != fs || BN_bn2binpad(y.get(), p + 1 + fs, fs) != fs) {
    return JwtStatus::kJwksEcParseError;
  }
  const char* group = nid == NID_X9_62_prime256v1 ? "P-256" : nid == NID_secp384r1 ? "P-384" : "P-521";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, const_cast<char*>(group), 0),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()),
      OSSL_PARAM_construct_end()};
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  if (!ctx) return JwtStatus::kJwksEcCreateKeyFail;
  EVP_PKEY* pkey = nullptr;
  // EC_POINT_oct2point (inside fromdata) rejects coordinates >= p and points
  // off the curve, as EC_KEY_set_public_key_affine_coordinates does.
  if (EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) {
    ERR_clear_error();
    return JwtStatus::kJwksEcParseError;
  }
  out->reset(pkey);
  return JwtStatus::kOk;
}

JwtStatus extract_rsa(const json& jwk, JwkKey* key) {
  const std::string& alg = key->alg;
  if (!alg.empty() && alg.compare(0, 2, "RS") != 0 && alg.compare(0, 2, "PS") != 0) {
    return JwtStatus::kJwksRSAKeyBadAlg;
  }
  std::string n, e;
  Find f = get_string(jwk, "n", &n);
  if (f == Find::kMissing) return JwtStatus::kJwksRSAKeyMissingN;
  if (f == Find::kWrongType) return JwtStatus::kJwksRSAKeyBadN;
  f = get_string(jwk, "e", &e);
  if (f == Find::kMissing) return JwtStatus::kJwksRSAKeyMissingE;
  if (f == Find::kWrongType) return JwtStatus::kJwksRSAKeyBadE;
  key->type = KeyType::kRsa;
  return rsa_key(n, e, &key->pkey);
}

JwtStatus extract_ec(const json& jwk, JwkKey* key) {
  const std::string& alg = key->alg;
  if (!alg.empty() && alg.compare(0, 2, "ES") != 0) return JwtStatus::kJwksECKeyBadAlg;
  std::string crv;
  if (get_string(jwk, "crv", &crv) == Find::kWrongType) return JwtStatus::kJwksECKeyBadCrv;
  if (!alg.empty() && !crv.empty() &&
      !((alg == "ES256" && crv == "P-256") || (alg == "ES384" && crv == "P-384") ||
        (alg == "ES512" && crv == "P-521"))) {
    return JwtStatus::kJwksECKeyAlgNotCompatibleWithCrv;
  }
  if (alg.empty() && crv.empty()) crv = "P-256";
  int nid;
  if (alg == "ES256" || crv == "P-256") {
    nid = NID_X9_62_prime256v1;
  } else if (alg == "ES384" || crv == "P-384") {
    nid = NID_secp384r1;
  } else if (alg == "ES512" || crv == "P-521") {
    nid = NID_secp521r1;
  } else {
    return JwtStatus::kJwksECKeyAlgOrCrvUnsupported;
  }
  std::string x, y;
  Find f = get_string(jwk, "x", &x);
  if (f == Find::kMissing) return JwtStatus::kJwksECKeyMissingX;
  if (f == Find::kWrongType) return JwtStatus::kJwksECKeyBadX;
  f = get_string(jwk, "y", &y);
  if (f == Find::kMissing) return JwtStatus::kJwksECKeyMissingY;
  if (f == Find::kWrongType) return JwtStatus::kJwksECKeyBadY;
  key->type = KeyType::kEc;
  return ec_key(nid, x, y, &key->pkey);
}

JwtStatus extract_oct(const json& jwk, JwkKey* key) {
  const std::string& alg = key->alg;
  if (!alg.empty() && alg != "HS256" && alg != "HS384" && alg != "HS512") return JwtStatus::kJwksHMACKeyBadAlg;
  std::string k;
  Find f = get_string(jwk, "k", &k);
  if (f == Find::kMissing) return JwtStatus::kJwksHMACKeyMissingK;
  if (f == Find::kWrongType) return JwtStatus::kJwksHMACKeyBadK;
  if (!base64url_decode(k, &key->secret) || key->secret.empty()) return JwtStatus::kJwksOctBadBase64;
  key->type = KeyType::kOct;
  return JwtStatus::kOk;
}

JwtStatus extract_okp(const json& jwk, JwkKey* key) {
  if (!key->alg.empty() && key->alg != "EdDSA") return JwtStatus::kJwksOKPKeyBadAlg;
  std::string crv;
  Find f = get_string(jwk, "crv", &crv);
  if (f == Find::kMissing) return JwtStatus::kJwksOKPKeyMissingCrv;
  if (f == Find::kWrongType) return JwtStatus::kJwksOKPKeyBadCrv;
  if (crv != "Ed25519") return JwtStatus::kJwksOKPKeyCrvUnsupported;
  std::string x;
  f = get_string(jwk, "x", &x);
  if (f == Find::kMissing) return JwtStatus::kJwksOKPKeyMissingX;
  if (f == Find::kWrongType) return JwtStatus::kJwksOKPKeyBadX;
  std::string raw;
  if (!base64url_decode(x, &raw)) return JwtStatus::kJwksOKPXBadBase64;
  if (raw.size() != 32) return JwtStatus::kJwksOKPXWrongLength;
  key->type = KeyType::kOkp;
  key->pkey.reset(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, uchar(raw), raw.size()));
  if (!key->pkey) {
    ERR_clear_error();
    return JwtStatus::kJwksOKPXWrongLength;
  }
  return JwtStatus::kOk;
}

// jwks.cc extractJwk.
JwtStatus extract_jwk(const json& jwk, JwkKey* key) {
  std::string kty;
  Find f = get_string(jwk, "kty", &kty);
  if (f == Find::kMissing) return JwtStatus::kJwksMissingKty;
  if (f == Find::kWrongType) return JwtStatus::kJwksBadKty;
  // kid and alg are optional; a non-string value counts as absent.
  (void)get_string(jwk, "kid", &key->kid);
  (void)get_string(jwk, "alg", &key->alg);
  if (kty == "EC") return extract_ec(jwk, key);
  if (kty == "RSA") return extract_rsa(jwk, key);
  if (kty == "oct") return extract_oct(jwk, key);
  if (kty == "OKP") return extract_okp(jwk, key);
  return JwtStatus::kJwksNotImplementedKty;
}

}  // namespace

Result<Jwks> Jwks::parse(std::string_view text) {
  ensure_initialized();
  auto fail = [](JwtStatus s) { return Error{std::string(to_string(s))}; };
  json doc = parse_json(text);
  if (doc.is_discarded() || !doc.is_object()) return fail(JwtStatus::kJwksParseError);
  auto keys = doc.find("keys");
  if (keys == doc.end()) return fail(JwtStatus::kJwksNoKeys);
  if (!keys->is_array()) return fail(JwtStatus::kJwksBadKeys);
  auto rep = std::make_shared<Rep>();
  JwtStatus first_failure = JwtStatus::kOk;
  for (const auto& entry : *keys) {
    if (!entry.is_object()) continue;
    JwkKey key;
    JwtStatus s = extract_jwk(entry, &key);
    if (s == JwtStatus::kOk) {
      rep->keys.push_back(std::move(key));
    } else if (first_failure == JwtStatus::kOk) {
      first_failure = s;
    }
  }
  if (rep->keys.empty()) {
    return fail(first_failure != JwtStatus::kOk ? first_failure : JwtStatus::kJwksNoValidKeys);
  }
  Jwks out;
  out.rep_ = std::move(rep);
  return out;
}

// ----------------------------------------------------------------------------- parsing

namespace {

bool is_implemented_alg(std::string_view alg) {
  static constexpr std::string_view kAlgs[] = {"ES256", "ES384", "ES512", "HS256", "HS384", "HS512", "RS256",
                                               "RS384", "RS512", "PS256", "PS384", "PS512", "EdDSA"};
  for (auto a : kAlgs) {
    if (a == alg) return true;
  }
  return false;
}

int64_t saturate(uint64_t v) {
  return v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ? std::numeric_limits<int64_t>::max()
                                                                        : static_cast<int64_t>(v);
}

JwtStatus time_claim(const json& payload, const char* name, std::optional<int64_t>* out, JwtStatus not_integer,
                     JwtStatus out_of_range) {
  uint64_t v = 0;
  Find f = get_uint64(payload, name, &v);
  if (f == Find::kWrongType) return not_integer;
  if (f == Find::kOutOfRange) return out_of_range;
  if (f == Find::kOk) *out = saturate(v);
  return JwtStatus::kOk;
}

}  // namespace

JwtStatus parse_jwt(std::string_view token, ParsedJwt* out) {
  // absl::StrSplit(jwt, '.', absl::SkipEmpty()) must give exactly 3 sections.
  std::string_view sections[3];
  int count = 0;
  for (std::size_t pos = 0; pos <= token.size();) {
    std::size_t dot = token.find('.', pos);
    if (dot == std::string_view::npos) dot = token.size();
    if (dot > pos) {
      if (count == 3) return JwtStatus::kJwtBadFormat;
      sections[count++] = token.substr(pos, dot - pos);
    }
    pos = dot + 1;
  }
  if (count != 3) return JwtStatus::kJwtBadFormat;

  *out = ParsedJwt{};
  if (!base64url_decode(sections[0], &out->header_json)) return JwtStatus::kJwtHeaderParseErrorBadBase64;
  json header = parse_json(out->header_json);
  if (header.is_discarded() || !header.is_object()) return JwtStatus::kJwtHeaderParseErrorBadJson;
  if (get_string(header, "alg", &out->alg) != Find::kOk) return JwtStatus::kJwtHeaderBadAlg;
  if (!is_implemented_alg(out->alg)) return JwtStatus::kJwtHeaderNotImplementedAlg;
  if (get_string(header, "kid", &out->kid) == Find::kWrongType) return JwtStatus::kJwtHeaderBadKid;

  JwtClaims& c = out->claims;
  c.payload_base64url = std::string(sections[1]);
  if (!base64url_decode(sections[1], &c.payload_json)) return JwtStatus::kJwtPayloadParseErrorBadBase64;
  auto tree = std::make_shared<JwtClaims::Tree>();
  tree->payload = parse_json(c.payload_json);
  const json& payload = tree->payload;
  if (payload.is_discarded() || !payload.is_object()) return JwtStatus::kJwtPayloadParseErrorBadJson;
  if (get_string(payload, "iss", &c.issuer) == Find::kWrongType) return JwtStatus::kJwtPayloadParseErrorIssNotString;
  if (get_string(payload, "sub", &c.subject) == Find::kWrongType) return JwtStatus::kJwtPayloadParseErrorSubNotString;
  if (JwtStatus s = time_claim(payload, "iat", &c.iat, JwtStatus::kJwtPayloadParseErrorIatNotInteger,
                               JwtStatus::kJwtPayloadParseErrorIatOutOfRange);
      s != JwtStatus::kOk) {
    return s;
  }
  if (JwtStatus s = time_claim(payload, "nbf", &c.nbf, JwtStatus::kJwtPayloadParseErrorNbfNotInteger,
                               JwtStatus::kJwtPayloadParseErrorNbfOutOfRange);
      s != JwtStatus::kOk) {
    return s;
  }
  if (JwtStatus s = time_claim(payload, "exp", &c.exp, JwtStatus::kJwtPayloadParseErrorExpNotInteger,
                               JwtStatus::kJwtPayloadParseErrorExpOutOfRange);
      s != JwtStatus::kOk) {
    return s;
  }
  if (get_string(payload, "jti", &c.jti) == Find::kWrongType) return JwtStatus::kJwtPayloadParseErrorJtiNotString;
  if (get_string_list(payload, "aud", &c.audiences) == Find::kWrongType) {
    return JwtStatus::kJwtPayloadParseErrorAudNotString;
  }
  (void)get_string(payload, "azp", &c.azp);  // not checked by jwt_verify_lib
  c.tree_ = std::move(tree);

  if (!base64url_decode(sections[2], &out->signature)) return JwtStatus::kJwtSignatureParseErrorBadBase64;
  out->signing_input.reserve(sections[0].size() + 1 + sections[1].size());
  out->signing_input.append(sections[0]).append(".").append(sections[1]);
  return JwtStatus::kOk;
}

// ----------------------------------------------------------------------------- verification

namespace {

int64_t add_saturated(int64_t a, int64_t b) {
  if (b > 0 && a > std::numeric_limits<int64_t>::max() - b) return std::numeric_limits<int64_t>::max();
  return a + b;
}

// check_audience.cc sanitizeAudience: no scheme prefix, no trailing slash.
std::string_view sanitize_audience(std::string_view aud) {
  if (aud.empty()) return aud;
  if (aud.starts_with("http://")) {
    aud.remove_prefix(7);
  } else if (aud.starts_with("https://")) {
    aud.remove_prefix(8);
  }
  if (!aud.empty() && aud.back() == '/') aud.remove_suffix(1);
  return aud;
}

bool audiences_allowed(const std::vector<std::string>& configured, const std::vector<std::string>& token) {
  if (configured.empty()) return true;
  for (const auto& t : token) {
    std::string_view ts = sanitize_audience(t);
    for (const auto& c : configured) {
      if (sanitize_audience(c) == ts) return true;
    }
  }
  return false;
}

bool evp_verify(EVP_PKEY* pkey, const EVP_MD* md, bool pss, std::string_view sig, std::string_view data) {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
  bool ok = ctx && EVP_DigestVerifyInit(ctx.get(), &pctx, md, nullptr, pkey) == 1 &&
            (!pss || (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
                      EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) == 1)) &&
            EVP_DigestVerify(ctx.get(), uchar(sig), sig.size(), uchar(data), data.size()) == 1;
  if (!ok) ERR_clear_error();
  return ok;
}

// verifySignatureEC: the JOSE signature is r||s; each half of its length is
// one integer (an odd trailing byte is ignored, as there).
bool verify_ecdsa(EVP_PKEY* pkey, const EVP_MD* md, std::string_view sig, std::string_view data) {
  std::size_t half = sig.size() / 2;
  EcdsaSigPtr es(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(uchar(sig), static_cast<int>(half), nullptr);
  BIGNUM* s = BN_bin2bn(uchar(sig) + half, static_cast<int>(half), nullptr);
  if (!es || r == nullptr || s == nullptr || ECDSA_SIG_set0(es.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return false;
  }
  unsigned char* der = nullptr;
  int n = i2d_ECDSA_SIG(es.get(), &der);
  if (n <= 0) return false;
  bool ok = evp_verify(pkey, md, false,
                       std::string_view(reinterpret_cast<const char*>(der), static_cast<std::size_t>(n)), data);
  OPENSSL_free(der);
  return ok;
}

bool verify_hmac(const std::string& secret, const EVP_MD* md, std::string_view sig, std::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (HMAC(md, secret.data(), static_cast<int>(secret.size()), uchar(data), data.size(), mac, &len) == nullptr) {
    ERR_clear_error();
    return false;
  }
  return len == sig.size() && CRYPTO_memcmp(mac, sig.data(), len) == 0;
}

// verify.cc verifyJwtWithoutTimeChecking.
JwtStatus verify_signature(const ParsedJwt& jwt, const Jwks& jwks) {
  bool kid_alg_matched = false;
  const std::string_view alg = jwt.alg;
  for (const JwkKey& key : jwks.rep()->keys) {
    if (!jwt.kid.empty() && !key.kid.empty() && key.kid != jwt.kid) continue;
    if (!key.alg.empty() && key.alg != jwt.alg) continue;
    kid_alg_matched = true;
    const EVP_MD* md = digest_for(alg);
    switch (key.type) {
      case KeyType::kEc:
        if (verify_ecdsa(key.pkey.get(), md, jwt.signature, jwt.signing_input)) return JwtStatus::kOk;
        break;
      case KeyType::kRsa:
        // Only RS* and PS* are tried with an RSA key.
        if ((alg.starts_with("RS") || alg.starts_with("PS")) &&
            evp_verify(key.pkey.get(), md, alg.starts_with("PS"), jwt.signature, jwt.signing_input)) {
          return JwtStatus::kOk;
        }
        break;
      case KeyType::kOct:
        if (verify_hmac(key.secret, md, jwt.signature, jwt.signing_input)) return JwtStatus::kOk;
        break;
      case KeyType::kOkp:
        if (jwt.signature.size() != 64) return JwtStatus::kJwtEd25519SignatureWrongLength;
        if (evp_verify(key.pkey.get(), nullptr, false, jwt.signature, jwt.signing_input)) return JwtStatus::kOk;
        break;
    }
  }
  return kid_alg_matched ? JwtStatus::kJwtVerificationFail : JwtStatus::kJwksKidAlgMismatch;
}

}  // namespace

JwtStatus verify_jwt(const ParsedJwt& jwt, const Jwks& jwks, int64_t now, const JwtRules& rules) {
  const JwtClaims& c = jwt.claims;
  // Authenticator::startVerify: issuer, time, audiences, then the keys.
  if (!rules.issuer.empty() && c.issuer != rules.issuer) return JwtStatus::kJwtUnknownIssuer;
  const int64_t skew = rules.clock_skew_seconds;
  if (add_saturated(now, skew) < c.nbf.value_or(0)) return JwtStatus::kJwtNotYetValid;
  if (c.exp.value_or(0) != 0 && now > add_saturated(*c.exp, skew)) return JwtStatus::kJwtExpired;
  if (!audiences_allowed(rules.audiences, c.audiences)) return JwtStatus::kJwtAudienceNotAllowed;
  if (jwks.empty()) return JwtStatus::kJwksNoValidKeys;
  return verify_signature(jwt, jwks);
}

JwtVerifyResult verify_jwt(std::string_view token, const Jwks& jwks, int64_t now, const JwtRules& rules) {
  JwtVerifyResult result;
  ParsedJwt jwt;
  result.status = parse_jwt(token, &jwt);
  if (jwt.claims.tree() != nullptr) result.claims = jwt.claims;
  if (result.status != JwtStatus::kOk) return result;
  result.status = verify_jwt(jwt, jwks, now, rules);
  return result;
}

// ----------------------------------------------------------------------------- claims

namespace {

const json* find_path(const json& root, std::span<const std::string_view> path) {
  const json* node = &root;
  for (std::string_view key : path) {
    if (!node->is_object()) return nullptr;
    auto it = node->find(key);
    if (it == node->end()) return nullptr;
    node = &*it;
  }
  return node;
}

void string_values(const json& v, bool split_spaces, std::vector<std::string_view>* out) {
  if (v.is_string()) {
    std::string_view s = v.get_ref<const std::string&>();
    if (!split_spaces) {
      out->push_back(s);
      return;
    }
    // Envoy's setPayloadMetadata: absl::StrSplit(value, ' ', SkipEmpty); a
    // string with no word stays the string it was.
    std::size_t before = out->size();
    for (std::size_t pos = 0; pos < s.size();) {
      std::size_t sp = s.find(' ', pos);
      if (sp == std::string_view::npos) sp = s.size();
      if (sp > pos) out->push_back(s.substr(pos, sp - pos));
      pos = sp + 1;
    }
    if (out->size() == before) out->push_back(s);
  } else if (v.is_array()) {
    for (const auto& e : v) {
      if (e.is_string()) out->push_back(e.get_ref<const std::string&>());
    }
  }
}

std::vector<std::string_view> claim_values(const JwtClaims::Tree* tree, std::span<const std::string_view> path,
                                           std::span<const std::string> space_delimited) {
  std::vector<std::string_view> out;
  if (tree == nullptr || path.empty()) return out;
  const json* v = find_path(tree->payload, path);
  if (v == nullptr) return out;
  bool split = false;
  if (path.size() == 1) {
    for (const auto& name : space_delimited) split |= name == path[0];
  }
  string_values(*v, split, &out);
  return out;
}

}  // namespace

std::vector<std::string_view> JwtClaims::values(std::span<const std::string> path,
                                                std::span<const std::string> space_delimited_claims) const {
  std::vector<std::string_view> keys(path.begin(), path.end());
  return claim_values(tree_.get(), keys, space_delimited_claims);
}

std::vector<std::string_view> JwtClaims::values(std::initializer_list<std::string_view> path) const {
  return claim_values(tree_.get(), std::span<const std::string_view>(path.begin(), path.size()), {});
}

std::optional<std::string> JwtClaims::header_value(std::string_view claim) const {
  if (tree_ == nullptr) return std::nullopt;
  // StructUtils::GetValue: '.' separates nested names.
  std::vector<std::string_view> path;
  for (std::size_t pos = 0;;) {
    std::size_t dot = claim.find('.', pos);
    path.push_back(claim.substr(pos, dot == std::string_view::npos ? std::string_view::npos : dot - pos));
    if (dot == std::string_view::npos) break;
    pos = dot + 1;
  }
  const json* v = find_path(tree_->payload, path);
  if (v == nullptr) return std::nullopt;
  std::string out;
  if (v->is_string()) {
    out = v->get<std::string>();
  } else if (v->is_number()) {
    // authenticator.cc convertClaimDoubleToString.
    double d = v->get<double>();
    double int_part;
    if (d < 0 || d >= static_cast<double>(std::numeric_limits<uint64_t>::max()) || std::modf(d, &int_part) != 0) {
      out = std::to_string(d);
    } else {
      out = std::to_string(static_cast<uint64_t>(d));
    }
  } else if (v->is_boolean()) {
    out = v->get<bool>() ? "true" : "false";
  } else if (v->is_object() || v->is_array()) {
    out = encode_base64(dump(*v), kBase64Alphabet, true);
  }
  if (out.empty()) return std::nullopt;
  return out;
}

// ----------------------------------------------------------------------------- minting

namespace {

Result<PkeyPtr> read_key(std::string_view pem, bool allow_public) {
  ensure_initialized();
  ossl::BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (EVP_PKEY* k = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr)) {
    ERR_clear_error();
    return PkeyPtr(k);
  }
  if (allow_public) {
    ERR_clear_error();
    ossl::BioPtr again(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    if (EVP_PKEY* k = PEM_read_bio_PUBKEY(again.get(), nullptr, nullptr, nullptr)) {
      ERR_clear_error();
      return PkeyPtr(k);
    }
  }
  std::string why = ossl::drain_errors();
  return Error{std::string(allow_public ? "not a PEM private or public key" : "not a PEM private key") +
               (why.empty() ? std::string() : " (" + why + ")")};
}

int ec_nid(EVP_PKEY* pkey) {
  char name[64] = {0};
  std::size_t len = 0;
  if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof name, &len) != 1) return NID_undef;
  return OBJ_sn2nid(name);  // "prime256v1", "secp384r1", "secp521r1"
}

std::string bn_param_base64url(EVP_PKEY* pkey, const char* param, int pad_to) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, param, &bn) != 1) return {};
  BnPtr owned(bn);
  int n = pad_to > 0 ? pad_to : BN_num_bytes(bn);
  std::string bytes(static_cast<std::size_t>(n), '\0');
  auto* p = reinterpret_cast<unsigned char*>(bytes.data());
  if ((pad_to > 0 ? BN_bn2binpad(bn, p, n) : BN_bn2bin(bn, p)) != n) return {};
  return base64url_encode(bytes);
}

// The public JWK members of a key, sorted by name (RFC 7638 order).
Result<json> public_jwk(EVP_PKEY* pkey) {
  json jwk = json::object();
  switch (EVP_PKEY_get_base_id(pkey)) {
    case EVP_PKEY_RSA:
      jwk["kty"] = "RSA";
      jwk["n"] = bn_param_base64url(pkey, OSSL_PKEY_PARAM_RSA_N, 0);
      jwk["e"] = bn_param_base64url(pkey, OSSL_PKEY_PARAM_RSA_E, 0);
      return jwk;
    case EVP_PKEY_EC: {
      int nid = ec_nid(pkey);
      if (nid != NID_X9_62_prime256v1 && nid != NID_secp384r1 && nid != NID_secp521r1) {
        return Error{"unsupported EC curve (P-256, P-384 and P-521 are supported)"};
      }
      int fs = ec_field_bytes(nid);
      jwk["kty"] = "EC";
      jwk["crv"] = nid == NID_X9_62_prime256v1 ? "P-256" : nid == NID_secp384r1 ? "P-384" : "P-521";
      jwk["x"] = bn_param_base64url(pkey, OSSL_PKEY_PARAM_EC_PUB_X, fs);
      jwk["y"] = bn_param_base64url(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, fs);
      return jwk;
    }
    default:
      return Error{"unsupported key type (RSA and EC keys are supported)"};
  }
}

}  // namespace

Result<std::string> mint_jwt(std::string_view private_key_pem, std::string_view claims_json, std::string_view kid) {
  auto key = read_key(private_key_pem, false);
  if (!key.ok()) return key.error();
  EVP_PKEY* pkey = key->get();
  json claims = parse_json(claims_json);
  if (claims.is_discarded() || !claims.is_object()) return Error{"claims must be a JSON object"};

  std::string alg;
  const EVP_MD* md = nullptr;
  int ec_fs = 0;
  if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA) {
    alg = "RS256";
    md = EVP_sha256();
  } else if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_EC) {
    int nid = ec_nid(pkey);
    if (nid == NID_X9_62_prime256v1) {
      alg = "ES256";
      md = EVP_sha256();
    } else if (nid == NID_secp384r1) {
      alg = "ES384";
      md = EVP_sha384();
    } else if (nid == NID_secp521r1) {
      alg = "ES512";
      md = EVP_sha512();
    } else {
      return Error{"unsupported EC curve (P-256, P-384 and P-521 are supported)"};
    }
    ec_fs = ec_field_bytes(nid);
  } else {
    return Error{"unsupported key type (RSA and EC keys are supported)"};
  }

  json header = json::object();
  header["alg"] = alg;
  if (!kid.empty()) header["kid"] = std::string(kid);
  header["typ"] = "JWT";
  std::string input = base64url_encode(dump(header)) + "." + base64url_encode(dump(claims));

  MdCtxPtr ctx(EVP_MD_CTX_new());
  std::size_t len = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, pkey) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, uchar(input), input.size()) != 1) {
    return Error{"signing failed: " + ossl::drain_errors()};
  }
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, uchar(input), input.size()) != 1) {
    return Error{"signing failed: " + ossl::drain_errors()};
  }
  sig.resize(len);
  if (ec_fs > 0) {
    // DER ECDSA-Sig-Value -> JOSE r||s, each left-padded to the field size.
    const auto* p = uchar(sig);
    EcdsaSigPtr es(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size())));
    if (!es) return Error{"signing failed: " + ossl::drain_errors()};
    std::string raw(2 * static_cast<std::size_t>(ec_fs), '\0');
    auto* out = reinterpret_cast<unsigned char*>(raw.data());
    if (BN_bn2binpad(ECDSA_SIG_get0_r(es.get()), out, ec_fs) != ec_fs ||
        BN_bn2binpad(ECDSA_SIG_get0_s(es.get()), out + ec_fs, ec_fs) != ec_fs) {
      return Error{"signing failed: ECDSA signature does not fit the curve"};
    }
    sig = std::move(raw);
  }
  return input + "." + base64url_encode(sig);
}

Result<std::string> jwks_from_public_key(std::string_view pem, std::string_view kid) {
  auto key = read_key(pem, true);
  if (!key.ok()) return key.error();
  auto jwk = public_jwk(key->get());
  if (!jwk.ok()) return jwk.error();
  if (!kid.empty()) (*jwk)["kid"] = std::string(kid);
  json doc = json::object();
  doc["keys"] = json::array({*jwk});
  return dump(doc);
}

Result<std::string> jwk_thumbprint(std::string_view pem) {
  auto key = read_key(pem, true);
  if (!key.ok()) return key.error();
  auto jwk = public_jwk(key->get());
  if (!jwk.ok()) return jwk.error();
  std::string canonical = dump(*jwk);  // required members only, sorted, no whitespace
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(canonical.data(), canonical.size(), digest, &len, EVP_sha256(), nullptr) != 1) {
    return Error{"SHA-256 failed: " + ossl::drain_errors()};
  }
  return base64url_encode(std::string_view(reinterpret_cast<const char*>(digest), len));
}

}  // namespace meshsim::tls
