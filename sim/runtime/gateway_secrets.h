// What istio-agent's SDS hands a gateway (router) Envoy: for every secret its
// listeners' TLS contexts name (credentialName), the Kubernetes Secret's
// tls.crt/tls.key as a certificate, or its ca.crt (the "<name>-cacert"
// convention included, via mesh::find_credential) as trusted roots. One
// function for the simulation's gateway pods and `meshsim up`'s.
#pragma once

#include <string>

#include "mesh/world.h"
#include "proxy/base/result.h"
#include "proxy/config.h"
#include "proxy/tls_transport.h"

namespace meshsim::sim {

// Loads into `secrets` every credential the config's TLS contexts name that
// the gateway's namespace `ns` holds; errors name the Secret's file:line.
// Call inside the TLS environment the certificates are parsed for.
Status install_gateway_secrets(const proxy::ProxyConfig& config, const mesh::World& w, const std::string& ns,
                               proxy::SecretStore& secrets);

}  // namespace meshsim::sim
