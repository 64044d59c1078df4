// Per-kind decoders (internal to mesh/). Each takes the document's root node
// of one object whose apiVersion/kind/metadata the loader has already read,
// fills the typed struct and reports every problem through the Decoder.
#pragma once

#include <string_view>

#include "mesh/decoder.h"
#include "mesh/resources.h"

namespace meshsim::mesh::detail {

// Iterates the top-level fields of an object, skipping apiVersion, kind,
// metadata and status; f handles the rest (spec, data …) and returns false for
// unknown ones.
template <typename F>
void decode_root(Decoder& d, YamlNode root, F&& f) {
  PathSeg p;
  d.fields(root, p, [&](std::string_view k, YamlNode v, const PathSeg& fp) {
    if (k == "apiVersion" || k == "kind" || k == "metadata" || k == "status") return true;
    return f(k, v, fp);
  });
}

bool decode_meta(Decoder& d, YamlNode n, const PathSeg& p, ObjectMeta& meta);
void decode_label_selector(Decoder& d, YamlNode n, const PathSeg& p, LabelSelector& out);
void decode_workload_selector(Decoder& d, YamlNode n, const PathSeg& p, std::optional<WorkloadSelector>& out);

// Kubernetes kinds.
void decode_namespace(Decoder& d, YamlNode root, Namespace& o);
void decode_node(Decoder& d, YamlNode root, Node& o);
void decode_service_account(Decoder& d, YamlNode root, ServiceAccount& o);
void decode_service(Decoder& d, YamlNode root, Service& o);
void decode_pod(Decoder& d, YamlNode root, Pod& o);
void decode_workload(Decoder& d, YamlNode root, Workload& o);
void decode_ingress(Decoder& d, YamlNode root, Ingress& o);
void decode_ingress_class(Decoder& d, YamlNode root, IngressClass& o);
void decode_config_map(Decoder& d, YamlNode root, ConfigMap& o);

// Istio kinds.
void decode_peer_authentication(Decoder& d, YamlNode root, PeerAuthentication& o);
void decode_destination_rule(Decoder& d, YamlNode root, DestinationRule& o);
void decode_virtual_service(Decoder& d, YamlNode root, VirtualService& o);
void decode_authorization_policy(Decoder& d, YamlNode root, AuthorizationPolicy& o);
void decode_request_authentication(Decoder& d, YamlNode root, RequestAuthentication& o);
void decode_gateway(Decoder& d, YamlNode root, Gateway& o);
void decode_service_entry(Decoder& d, YamlNode root, ServiceEntry& o);
void decode_sidecar(Decoder& d, YamlNode root, SidecarResource& o);
void decode_workload_entry(Decoder& d, YamlNode root, WorkloadEntry& o);
void decode_telemetry(Decoder& d, YamlNode root, Telemetry& o);

// Gateway API kinds (decode_gateway_api.cc).
void decode_gateway_class(Decoder& d, YamlNode root, GatewayClass& o);
void decode_k8s_gateway(Decoder& d, YamlNode root, K8sGateway& o);
void decode_gateway_route(Decoder& d, YamlNode root, GatewayApiRoute& o);  // by o.kind
void decode_reference_grant(Decoder& d, YamlNode root, ReferenceGrant& o);

// Stable hash of a YAML subtree (keys in document order), for pod-template-hash.
uint64_t hash_yaml(YamlNode n);

}  // namespace meshsim::mesh::detail
