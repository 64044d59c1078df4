// The mesh CA of real-socket processes, kept in a directory in the layout of
// Istio's plug-in CA secret `cacerts` (ca-cert.pem, ca-key.pem,
// root-cert.pem, cert-chain.pem): loaded when present, created there
// otherwise (a self-signed root, O=<trust domain>, as istiod's). Several
// `meshsim proxy` processes given the same directory share one mesh CA, so
// their workload certificates verify each other.
#pragma once

#include <string>

#include "proxy/base/result.h"
#include "proxy/tls/certificates.h"

namespace meshsim::real {

struct CaFromDir {
  tls::CertificateAuthority ca;
  bool created = false;
};

Result<CaFromDir> load_or_create_ca(const std::string& dir, const std::string& trust_domain);

// A self-signed mesh root valid from an hour ago for ten years (wall time).
tls::CertificateAuthority create_wall_clock_ca(const std::string& trust_domain);

}  // namespace meshsim::real
