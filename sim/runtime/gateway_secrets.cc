#include "sim/runtime/gateway_secrets.h"

#include <set>

#include "mesh/gateway.h"
#include "proxy/tls/certificates.h"

namespace meshsim::sim {

Status install_gateway_secrets(const proxy::ProxyConfig& config, const mesh::World& w, const std::string& ns,
                               proxy::SecretStore& secrets) {
  std::set<std::string> names;
  for (const auto& l : config.listeners) {
    for (const auto& fc : l.filter_chains) {
      if (!fc.tls) continue;
      names.insert(fc.tls->certificate_secret);
      names.insert(fc.tls->validation_secret);
    }
  }
  for (const std::string& name : names) {
    auto m = mesh::find_credential(w.resources(), ns, name);
    if (!m) continue;
    std::string where = m->location.known() ? m->location.str() + ": " : std::string();
    if (!m->ca_pem.empty()) {
      auto roots = tls::Certificate::chain_from_pem(m->ca_pem);
      if (!roots.ok() || roots->empty())
        return Error{where + "Secret " + m->secret + ": ca.crt is not a PEM certificate" +
                     (roots.ok() ? std::string() : ": " + roots.message())};
      secrets.set_trusted(name, std::move(*roots));
      continue;
    }
    auto chain = tls::Certificate::chain_from_pem(m->cert_pem);
    if (!chain.ok() || chain->empty())
      return Error{where + "Secret " + m->secret + ": tls.crt is not a PEM certificate" +
                   (chain.ok() ? std::string() : ": " + chain.message())};
    auto key = tls::PrivateKey::from_pem(m->key_pem);
    if (!key.ok()) return Error{where + "Secret " + m->secret + ": tls.key is not a PEM private key: " + key.message()};
    tls::CertifiedKey ck{chain->front(), std::vector<tls::Certificate>(chain->begin() + 1, chain->end()), std::move(*key)};
    secrets.set_certified_key(name, std::move(ck));
  }
  return Status::Ok();
}

}  // namespace meshsim::sim
