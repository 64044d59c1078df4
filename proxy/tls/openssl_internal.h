// PRIVATE to proxy/tls/*.cc: the OpenSSL types behind the opaque handles of the
// public headers, RAII deleters, and small helpers. Never include this from a
// header outside proxy/tls/ — the point of the pimpl is that nothing else sees
// <openssl/*.h>.
#pragma once

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/tls/certificates.h"

namespace meshsim::tls {

struct PrivateKey::Rep {
  EVP_PKEY* pkey = nullptr;
  explicit Rep(EVP_PKEY* k) : pkey(k) {}
  ~Rep() { EVP_PKEY_free(pkey); }
  Rep(const Rep&) = delete;
  Rep& operator=(const Rep&) = delete;
};

struct Certificate::Rep {
  X509* x509 = nullptr;
  explicit Rep(X509* x) : x509(x) {}
  ~Rep() { X509_free(x509); }
  Rep(const Rep&) = delete;
  Rep& operator=(const Rep&) = delete;
};

namespace ossl {

struct BioFree { void operator()(BIO* b) const { BIO_free_all(b); } };
struct X509Free { void operator()(X509* x) const { X509_free(x); } };
struct PkeyFree { void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); } };
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

// Wraps an X509 the caller owns a reference to.
inline Certificate wrap(X509* x) { return Certificate(std::make_shared<const Certificate::Rep>(x)); }
inline PrivateKey wrap(EVP_PKEY* k) { return PrivateKey(std::make_shared<const PrivateKey::Rep>(k)); }

inline X509* x509_of(const Certificate& c) { return c.rep() ? c.rep()->x509 : nullptr; }
inline EVP_PKEY* pkey_of(const PrivateKey& k) { return k.rep() ? k.rep()->pkey : nullptr; }

// Drains the thread's OpenSSL error queue into "error:…; error:…" (empty if none).
std::string drain_errors();

// URI and DNS SANs of a certificate, in certificate order.
void subject_alt_names(X509* x, std::vector<std::string>* uris, std::vector<std::string>* dns);

// RFC 2253 form of a name ("O=cluster.local").
std::string name_to_string(const X509_NAME* name);

}  // namespace ossl
}  // namespace meshsim::tls
