// The control plane: what istiod would push to one sidecar, as proxy config
// (proxy/config.h). It reproduces istiod's generation for sidecar proxies —
// listener, filter-chain, cluster and route names, matches, TLS contexts and
// network/HTTP filters — as specified, with sources, in
// docs/istio/sidecar-xds.md, and it decides every policy question through
// mesh/policy.h (PeerAuthentication composition, DestinationRule choice and
// merge, auto mTLS per endpoint), so there is one place for each rule.
//
// Pure function of (World, pod, options): deterministic, no caching, safe to
// call from several threads on one World. A gateway pod (mesh/gateway.h
// is_gateway_pod) gets a router configuration: listeners and routes from the
// Gateways selecting it and the VirtualServices bound to them, Kubernetes
// Ingresses converted (docs/model/ingress.md).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "mesh/policy.h"
#include "mesh/world.h"
#include "proxy/config.h"

namespace meshsim::mesh {

struct ControlPlaneOptions {
  // PILOT_HTTP10: accept HTTP/1.0 (adds "http/1.0" to the sniffed ALPNs and
  // sets accept_http_10 on every HTTP connection manager).
  bool http10 = false;
  // DISABLE_SHADOW_HOST_SUFFIX=false (Istio ≤ 1.27): mirrored requests get
  // "-shadow" appended to their host. Istio ≥ 1.28 leaves the host as is.
  bool shadow_host_suffix = false;
  // Push version written into ProxyConfig::version.
  std::string version = "1";
};

// Why istiod built the inbound side the way it did for one workload port —
// for explanations (probe output, proxy-config, analyzers).
struct InboundPortPlan {
  uint32_t target_port = 0;
  uint32_t service_port = 0;
  Protocol protocol = Protocol::kUnsupported;
  std::string service_host;  // "" for passthrough (port-level) ports
  MtlsDecision mtls;
};

// The inbound ports (sorted by target port) and their effective modes.
std::vector<InboundPortPlan> plan_inbound_ports(const World& w, const WorldPod& pod);

// Builds the full configuration of the sidecar of `pod` (which should be
// injected; a non-injected pod gets the config it would have if it were).
std::shared_ptr<proxy::ProxyConfig> build_sidecar_config(const World& w, const WorldPod& pod,
                                                         const ControlPlaneOptions& options = {});

// outbound|<port>|<subset>|<host>
std::string outbound_cluster_name(uint32_t port, std::string_view subset, std::string_view host);
// inbound|<port>||
std::string inbound_cluster_name(uint32_t target_port);
// outbound_.<port>_.<subset>_.<host>
std::string istio_mtls_sni(uint32_t port, std::string_view subset, std::string_view host);
// sidecar~<ip>~<pod>.<ns>~<ns>.svc.cluster.local
std::string sidecar_node_id(const WorldPod& pod, const MeshConfig& mesh);
// The bootstrap node metadata of a pod's sidecar (proxy::NodeMetadata), as
// pilot-agent and the injector fill it in.
proxy::NodeMetadata sidecar_node_metadata(const World& w, const WorldPod& pod);


}  // namespace meshsim::mesh
