// Gateway proxies: which pods run Envoy as a router (Istio's ingress and
// egress gateways) instead of beside an application, the default ingress
// gateway Istio's installation would have created when the input holds
// Gateways but no gateway deployment, the external address of LoadBalancer
// Services, and the Kubernetes Secrets a gateway's credentialName refers to.
// The listeners and routes of a gateway are built by the control plane
// (mesh/control_plane.h, build_sidecar_config on a gateway pod);
// docs/model/ingress.md specifies every rule with its Istio source.
//
// Pure functions of their inputs; deterministic.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mesh/diagnostics.h"
#include "mesh/resources.h"
#include "proxy/base/ip.h"
#include "proxy/base/result.h"

namespace meshsim::mesh {

struct WorldPod;
struct WorldService;
class World;

// True for a pod that runs a gateway proxy (`proxy router`): label
// istio=ingressgateway|egressgateway (Istio's installation), the gateway
// injection template (annotation inject.istio.io/templates: gateway), or an
// istio-proxy container started with the `router` argument.
bool is_gateway_pod(const WorldPod& pod);

// Adds Istio's default ingress gateway (istio-system/istio-ingressgateway:
// ServiceAccount, Deployment with labels app/istio=ingressgateway, Service of
// type LoadBalancer 15021, 80→8080, 443→8443 — the default profile) when some
// Gateway selects istio=ingressgateway, or some Ingress is of class istio,
// and no pod or workload of the input carries that label. Says so in a
// warning (MS0137). Returns true when it added the gateway.
bool add_default_ingress_gateway(ResourceSet& rs, std::vector<Diagnostic>& diags);

// The external address of a Service of type LoadBalancer, as a cloud load
// balancer would assign it: 172.18.255.<200+n> for the n-th LoadBalancer
// Service of the world (in world order). nullopt for other types.
std::optional<Ipv4> load_balancer_ip(const World& w, const WorldService& s);

// The ingress gateway Service: the first LoadBalancer or NodePort Service
// selecting a pod labelled istio=ingressgateway; nullptr if none.
const WorldService* ingress_gateway_service(const World& w);

// Where a client outside the cluster reaches the ingress gateway on a
// Service port: the load-balancer address, else the port's nodePort on the
// first node. Errors say why there is none.
struct IngressAddress {
  const WorldService* service = nullptr;
  Ipv4 ip;
  uint16_t port = 0;
  bool load_balancer = false;  // else a NodePort
};
Result<IngressAddress> ingress_address(const World& w, uint32_t service_port);

// TLS material a gateway SDS name refers to, from the Secrets of the input
// (Istio's credentialName lookup, pilot/pkg/credentials/kube/secrets.go):
// "kubernetes://<name>" → tls.crt + tls.key (or cert + key) of Secret
// <name> in `ns`; "kubernetes://<name>-cacert" → ca.crt (or cacert) of
// Secret <name>, else of a Secret named <name>-cacert.
struct CredentialMaterial {
  std::string secret;           // "ns/name" of the Secret it came from
  std::string cert_pem, key_pem;  // certificate secrets
  std::string ca_pem;             // validation secrets
  Location location;
};
std::optional<CredentialMaterial> find_credential(const ResourceSet& rs, std::string_view ns, std::string_view sds_name);

}  // namespace meshsim::mesh
