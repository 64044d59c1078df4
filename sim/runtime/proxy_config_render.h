// Renders a sidecar's generated configuration the way `istioctl proxy-config`
// does: text tables (listener, cluster, route, endpoint, secret) and JSON
// shaped like Envoy's config protos (snake_case field names, socket_address,
// filter_chain_match, typed_config with @type). Used by `meshsim proxy-config`
// and by meshsim-gui's pod inspector.
#pragma once

#include <string>
#include <vector>

#include "proxy/base/duration.h"
#include "proxy/config.h"

namespace meshsim::proxy {
class SecretStore;
}

namespace meshsim::sim {

class SidecarHost;

// A secret as the sidecar holds it (from the agent / SDS).
struct SecretView {
  std::string name;       // "default", "ROOTCA"
  std::string type;       // "Cert Chain", "CA"
  bool valid = true;
  std::string serial;     // hex
  std::string not_before; // RFC 3339
  std::string not_after;
  std::vector<std::string> uri_sans;
  std::vector<std::string> dns_sans;
  std::string pem;        // certificate PEM (no private key)
};

// Every secret the sidecar's SDS cache holds, valid or not at `now`: the
// workload certificate, the roots, and the certificates and trust sets mounted
// for DestinationRule / Gateway TLS — as `istioctl proxy-config secret` lists
// them from Envoy's secrets config dump.
std::vector<SecretView> sidecar_secrets(SidecarHost& sidecar, Duration now);
// The same, from any secret store (a real-socket sidecar's, proxy/asio).
std::vector<SecretView> secret_views(const proxy::SecretStore& secrets, Duration now);

std::string render_listeners_text(const proxy::ProxyConfig& cfg);
std::string render_clusters_text(const proxy::ProxyConfig& cfg);
std::string render_routes_text(const proxy::ProxyConfig& cfg);
std::string render_endpoints_text(const proxy::ProxyConfig& cfg);
std::string render_secrets_text(const std::vector<SecretView>& secrets);

std::string render_listeners_json(const proxy::ProxyConfig& cfg);
std::string render_clusters_json(const proxy::ProxyConfig& cfg);
std::string render_routes_json(const proxy::ProxyConfig& cfg);
std::string render_endpoints_json(const proxy::ProxyConfig& cfg);
std::string render_secrets_json(const std::vector<SecretView>& secrets);
// The RBAC filters of the inbound chains (proxy-config rbac), with istiod's
// notes on rules it skipped.
std::string render_rbac_text(const proxy::ProxyConfig& cfg, const std::vector<std::string>& notes);
std::string render_rbac_json(const proxy::ProxyConfig& cfg, const std::vector<std::string>& notes);
// Everything, like `istioctl proxy-config all -o json` (an Envoy config dump).
std::string render_all_json(const proxy::ProxyConfig& cfg, const std::vector<SecretView>& secrets);
// `json` (an object) with "not_modelled": the coverage report's lines.
std::string add_not_modelled_json(const std::string& json, const std::vector<std::string>& lines);

}  // namespace meshsim::sim
