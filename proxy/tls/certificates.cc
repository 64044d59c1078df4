#include "proxy/tls/certificates.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/pem.h>

#include <cctype>
#include <cstring>
#include <ctime>

#include "proxy/base/check.h"
#include "proxy/tls/environment.h"
#include "proxy/tls/openssl_internal.h"

namespace meshsim::tls {

namespace ossl {

std::string drain_errors() {
  std::string out;
  char buf[256];
  while (unsigned long e = ERR_get_error()) {
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

void subject_alt_names(X509* x, std::vector<std::string>* uris, std::vector<std::string>* dns) {
  auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(x, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) return;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names, i);
    if (gn->type == GEN_URI && uris != nullptr) {
      const ASN1_IA5STRING* s = gn->d.uniformResourceIdentifier;
      uris->emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                         static_cast<std::size_t>(ASN1_STRING_length(s)));
    } else if (gn->type == GEN_DNS && dns != nullptr) {
      const ASN1_IA5STRING* s = gn->d.dNSName;
      dns->emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                        static_cast<std::size_t>(ASN1_STRING_length(s)));
    }
  }
  GENERAL_NAMES_free(names);
}

std::string name_to_string(const X509_NAME* name) {
  if (name == nullptr) return {};
  BioPtr bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

}  // namespace ossl

namespace {

std::string bio_to_string(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(n));
}

int64_t asn1_time_to_unix(const ASN1_TIME* t) {
  struct tm tm {};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return static_cast<int64_t>(timegm(&tm));
}

Duration unix_to_virtual(int64_t unix_seconds) {
  return Duration::seconds(unix_seconds - kEpochUnixSeconds);
}

bool set_time(ASN1_TIME* field, Duration since_epoch) {
  return ASN1_TIME_set(field, static_cast<time_t>(unix_seconds_at(since_epoch))) != nullptr;
}

// 128-bit positive serial from the RandomSource (Istio uses 128 random bits).
bool set_random_serial(X509* x) {
  unsigned char bytes[16];
  random_bytes(bytes, sizeof bytes);
  bytes[0] &= 0x7f;
  if (bytes[0] == 0) bytes[0] = 0x01;  // keep 16 significant bytes
  BIGNUM* bn = BN_bin2bn(bytes, sizeof bytes, nullptr);
  if (bn == nullptr) return false;
  bool ok = BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != nullptr;
  BN_free(bn);
  return ok;
}

bool add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr) return false;
  bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

bool add_sans(X509* cert, const std::vector<std::string>& uris, const std::vector<std::string>& dns,
              bool critical) {
  if (uris.empty() && dns.empty()) return true;
  GENERAL_NAMES* names = sk_GENERAL_NAME_new_null();
  auto push = [&](int type, const std::string& value) {
    ASN1_IA5STRING* s = ASN1_IA5STRING_new();
    ASN1_STRING_set(s, value.data(), static_cast<int>(value.size()));
    GENERAL_NAME* gn = GENERAL_NAME_new();
    GENERAL_NAME_set0_value(gn, type, s);
    sk_GENERAL_NAME_push(names, gn);
  };
  for (const auto& u : uris) push(GEN_URI, u);
  for (const auto& d : dns) push(GEN_DNS, d);
  bool ok = X509_add1_ext_i2d(cert, NID_subject_alt_name, names, critical ? 1 : 0, X509V3_ADD_DEFAULT) == 1;
  GENERAL_NAMES_free(names);
  return ok;
}

void add_name_entry(X509_NAME* name, const char* field, const std::string& value) {
  if (value.empty()) return;
  X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(value.data()),
                             static_cast<int>(value.size()), -1, 0);
}

}  // namespace

std::string spiffe_id(std::string_view trust_domain, std::string_view ns, std::string_view sa) {
  std::string out = "spiffe://";
  out.append(trust_domain).append("/ns/").append(ns).append("/sa/").append(sa);
  return out;
}

// ----------------------------------------------------------------------------- PrivateKey

PrivateKey PrivateKey::generate_p256() {
  ensure_initialized();
  EVP_PKEY* k = EVP_EC_gen("P-256");
  MESHSIM_CHECK(k != nullptr, "EC P-256 key generation failed");
  return ossl::wrap(k);
}

std::string PrivateKey::to_pem() const {
  if (empty()) return {};
  ossl::BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), rep_->pkey, nullptr, nullptr, 0, nullptr, nullptr);
  return bio_to_string(bio.get());
}

Result<PrivateKey> PrivateKey::from_pem(std::string_view pem) {
  ensure_initialized();
  ossl::BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  EVP_PKEY* k = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
  if (k == nullptr) {
    std::string why = ossl::drain_errors();
    return Error{"not a PEM private key" + (why.empty() ? std::string() : " (" + why + ")")};
  }
  ERR_clear_error();
  return ossl::wrap(k);
}

// ----------------------------------------------------------------------------- Certificate

CertificateInfo Certificate::info() const {
  CertificateInfo info;
  if (empty()) return info;
  X509* x = rep_->x509;
  info.subject = ossl::name_to_string(X509_get_subject_name(x));
  info.issuer = ossl::name_to_string(X509_get_issuer_name(x));
  ossl::subject_alt_names(x, &info.uri_sans, &info.dns_sans);
  if (BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), nullptr)) {
    char* hex = BN_bn2hex(bn);
    info.serial_hex = hex;
    for (char& c : info.serial_hex) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    size_t nz = info.serial_hex.find_first_not_of('0');
    info.serial_hex = nz == std::string::npos ? "0" : info.serial_hex.substr(nz);
    OPENSSL_free(hex);
    BN_free(bn);
  }
  info.not_before_unix = asn1_time_to_unix(X509_get0_notBefore(x));
  info.not_after_unix = asn1_time_to_unix(X509_get0_notAfter(x));
  info.not_before = unix_to_virtual(info.not_before_unix);
  info.not_after = unix_to_virtual(info.not_after_unix);
  info.is_ca = X509_check_ca(x) != 0;
  return info;
}

std::string Certificate::to_pem() const {
  if (empty()) return {};
  ossl::BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), rep_->x509);
  return bio_to_string(bio.get());
}

std::string Certificate::to_der() const {
  if (empty()) return {};
  unsigned char* der = nullptr;
  int n = i2d_X509(rep_->x509, &der);
  if (n <= 0) return {};
  std::string out(reinterpret_cast<char*>(der), static_cast<std::size_t>(n));
  OPENSSL_free(der);
  return out;
}

Result<std::vector<Certificate>> Certificate::chain_from_pem(std::string_view pem) {
  ensure_initialized();
  ossl::BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  std::vector<Certificate> out;
  while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) out.push_back(ossl::wrap(x));
  unsigned long last = ERR_peek_last_error();
  bool clean_eof = ERR_GET_LIB(last) == ERR_LIB_PEM && ERR_GET_REASON(last) == PEM_R_NO_START_LINE;
  if (out.empty() || (last != 0 && !clean_eof)) {
    std::string why = ossl::drain_errors();
    if (out.empty()) return Error{"no PEM certificate found" + (why.empty() ? std::string() : " (" + why + ")")};
    return Error{"malformed PEM certificate after certificate " + std::to_string(out.size()) + " (" + why + ")"};
  }
  ERR_clear_error();
  return out;
}

Result<Certificate> Certificate::from_pem(std::string_view pem) {
  auto chain = chain_from_pem(pem);
  if (!chain.ok()) return chain.error();
  if (chain->size() != 1) {
    return Error{"expected exactly one PEM certificate, found " + std::to_string(chain->size())};
  }
  return chain->front();
}

std::string CertifiedKey::chain_pem() const {
  std::string out = certificate.to_pem();
  for (const auto& c : chain) out += c.to_pem();
  return out;
}

// ----------------------------------------------------------------------------- CA

CertificateAuthority CertificateAuthority::create_self_signed(const CaOptions& options) {
  ensure_initialized();
  CertificateAuthority ca;
  ca.key_ = PrivateKey::generate_p256();
  ++ca.keys_generated_;
  ossl::X509Ptr x(X509_new());
  X509_set_version(x.get(), 2);
  set_random_serial(x.get());
  X509_NAME* name = X509_get_subject_name(x.get());
  add_name_entry(name, "O", options.organization);
  add_name_entry(name, "CN", options.common_name);
  X509_set_issuer_name(x.get(), name);
  set_time(X509_getm_notBefore(x.get()), options.not_before);
  set_time(X509_getm_notAfter(x.get()), options.not_after);
  X509_set_pubkey(x.get(), ossl::pkey_of(ca.key_));
  bool ok = add_ext(x.get(), x.get(), NID_basic_constraints, "critical,CA:TRUE") &&
            add_ext(x.get(), x.get(), NID_key_usage, "critical,digitalSignature,keyCertSign,cRLSign") &&
            add_ext(x.get(), x.get(), NID_subject_key_identifier, "hash") &&
            X509_sign(x.get(), ossl::pkey_of(ca.key_), EVP_sha256()) > 0;
  MESHSIM_CHECK(ok, "self-signed CA creation failed");
  ca.certificate_ = ossl::wrap(x.release());
  return ca;
}

Result<CertificateAuthority> CertificateAuthority::from_pem(std::string_view cert_pem,
                                                            std::string_view key_pem,
                                                            std::string_view chain_pem) {
  auto cert = Certificate::from_pem(cert_pem);
  if (!cert.ok()) return Error{"CA certificate: " + cert.message()};
  auto key = PrivateKey::from_pem(key_pem);
  if (!key.ok()) return Error{"CA key: " + key.message()};
  if (X509_check_private_key(ossl::x509_of(*cert), ossl::pkey_of(*key)) != 1) {
    ERR_clear_error();
    return Error{"CA key does not match the CA certificate"};
  }
  if (X509_check_ca(ossl::x509_of(*cert)) == 0) return Error{"certificate is not a CA (basicConstraints CA:FALSE)"};
  CertificateAuthority ca;
  ca.certificate_ = std::move(cert).value();
  ca.key_ = std::move(key).value();
  if (!chain_pem.empty()) {
    auto chain = Certificate::chain_from_pem(chain_pem);
    if (!chain.ok()) return Error{"CA chain: " + chain.message()};
    ca.chain_ = std::move(chain).value();
  }
  return ca;
}

PrivateKey CertificateAuthority::key_for(const std::string& key_id) {
  if (key_id.empty()) {
    ++keys_generated_;
    return PrivateKey::generate_p256();
  }
  auto it = key_cache_.find(key_id);
  if (it != key_cache_.end()) return it->second;
  ++keys_generated_;
  PrivateKey k = PrivateKey::generate_p256();
  key_cache_.emplace(key_id, k);
  return k;
}

CertifiedKey CertificateAuthority::issue(const LeafOptions& options) {
  ensure_initialized();
  CertifiedKey out;
  out.key = key_for(options.key_id);
  X509* issuer = ossl::x509_of(certificate_);
  ossl::X509Ptr x(X509_new());
  X509_set_version(x.get(), 2);
  set_random_serial(x.get());
  add_name_entry(X509_get_subject_name(x.get()), "CN", options.common_name);
  X509_set_issuer_name(x.get(), X509_get_subject_name(issuer));
  set_time(X509_getm_notBefore(x.get()), options.not_before);
  set_time(X509_getm_notAfter(x.get()), options.not_after);
  X509_set_pubkey(x.get(), ossl::pkey_of(out.key));
  std::string eku;
  if (options.server_auth) eku = "serverAuth";
  if (options.client_auth) eku += eku.empty() ? "clientAuth" : ",clientAuth";
  bool ok = add_ext(x.get(), issuer, NID_basic_constraints, "critical,CA:FALSE") &&
            add_ext(x.get(), issuer, NID_key_usage, "critical,digitalSignature,keyEncipherment") &&
            (eku.empty() || add_ext(x.get(), issuer, NID_ext_key_usage, eku.c_str())) &&
            add_ext(x.get(), issuer, NID_authority_key_identifier, "keyid:always") &&
            add_sans(x.get(), options.uri_sans, options.dns_sans, options.common_name.empty()) &&
            X509_sign(x.get(), ossl::pkey_of(key_), EVP_sha256()) > 0;
  MESHSIM_CHECK(ok, "certificate issuance failed");
  out.certificate = ossl::wrap(x.release());
  // Intermediates: this CA when it is not self-signed, then whatever is above it.
  bool self_signed = X509_check_issued(issuer, issuer) == X509_V_OK;
  if (!self_signed) out.chain.push_back(certificate_);
  for (const auto& c : chain_) {
    X509* cx = ossl::x509_of(c);
    if (X509_check_issued(cx, cx) != X509_V_OK) out.chain.push_back(c);
  }
  return out;
}

CertifiedKey CertificateAuthority::issue_workload(std::string_view trust_domain, std::string_view ns,
                                                  std::string_view service_account, Duration not_before,
                                                  Duration not_after) {
  LeafOptions o;
  o.uri_sans.push_back(spiffe_id(trust_domain, ns, service_account));
  o.not_before = not_before;
  o.not_after = not_after;
  o.key_id = o.uri_sans.front();
  CertifiedKey out = issue(o);
  out.chain.push_back(root());
  return out;
}

}  // namespace meshsim::tls
