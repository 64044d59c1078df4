// Policy resolution: the one place meshsim decides which Istio policy applies
// to which workload, port and connection. Pure functions of a World (no
// caching, no side effects); the control plane and the analyzers call them,
// and each result carries the object that decided it and a reason, for
// explanations. Every rule cites its source in Istio; docs/model/mesh.md
// ("Policy resolution") restates them, and mesh/tests/policy_test.cc has a
// test per rule.
//
//   PeerAuthentication   ISTIO_BEHAVIOR.md §1  (I:pilot/pkg/security/authn/policy_applier.go,
//                                               pilot/pkg/model/authentication.go)
//   client TLS / auto mTLS  §2.1–§2.2         (I:pilot/pkg/networking/core/cluster_tls.go,
//                                               pilot/pkg/model/push_context.go, pilot/pkg/xds/endpoints/mtls_checker.go)
//   DestinationRule choice + merge §2.3        (I:pilot/pkg/model/push_context.go destinationRule(),
//                                               pilot/pkg/model/destination_rule.go MergeTrafficPolicy)
//   AuthorizationPolicy selection §7.2         (I:pilot/pkg/model/authorization.go)
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mesh/resources.h"
#include "mesh/world.h"

namespace meshsim::mesh {

// ---- PeerAuthentication ---------------------------------------------------------------

enum class PolicyLevel : uint8_t { kDefault, kMesh, kNamespace, kWorkload, kPort };
const char* policy_level_name(PolicyLevel l);  // "default", "mesh", "namespace", "workload", "port"

// Objects "created" earlier sort first: explicit creationTimestamp, then load
// order for objects without one; ties by name, then namespace (Istio's
// sortConfigByCreationTime).
bool created_before(const Object& a, const Object& b);

// The PeerAuthentications that apply to a workload, by level, as Istio's
// ComposePeerAuthentication picks them.
struct PeerAuthenticationSelection {
  const PeerAuthentication* mesh = nullptr;       // oldest selector-less policy in the root namespace
  const PeerAuthentication* namespace_ = nullptr; // oldest selector-less policy in the workload namespace
  const PeerAuthentication* workload = nullptr;   // oldest matching selector policy in the workload namespace
  // Policies that match at a level but lost to an older one (one entry per loser).
  std::vector<const PeerAuthentication*> shadowed;
  // Root-namespace policies with a selector matching the workload: Istio ignores them.
  std::vector<const PeerAuthentication*> ignored_root_selector;
};
PeerAuthenticationSelection select_peer_authentications(const World& w, std::string_view namespace_,
                                                        const Labels& workload_labels);

struct MtlsDecision {
  MtlsMode mode = MtlsMode::kPermissive;  // never kUnset
  PolicyLevel level = PolicyLevel::kDefault;
  const PeerAuthentication* policy = nullptr;  // the policy whose value was taken (nullptr = default)
  // "PeerAuthentication default/strict (namespace level) sets STRICT".
  std::string reason;
};

// Effective server-side mode for a workload's port (the workload/target port,
// not the Service port). Steps: PERMISSIVE, mesh (unless UNSET), namespace
// (unless UNSET), workload (unless UNSET), then the workload policy's
// portLevelMtls[port] (UNSET inherits).
MtlsDecision effective_peer_authentication(const World& w, std::string_view namespace_, const Labels& workload_labels,
                                           uint32_t port);
MtlsDecision effective_peer_authentication(const World& w, const WorldPod& pod, uint32_t port);

// Istio's MutualTLSMode for the auto-mTLS cluster layer.
enum class ServiceMtlsMode : uint8_t { kUnknown, kDisable, kPermissive, kStrict };
const char* service_mtls_mode_name(ServiceMtlsMode m);

// GetNamespaceMutualTLSMode: the namespace-level mode (UNSET inherits the
// mesh mode, or PERMISSIVE), else the mesh-level mode (UNSET = PERMISSIVE),
// else kUnknown. Workload and port-level policies are ignored.
ServiceMtlsMode namespace_mtls_mode(const World& w, std::string_view namespace_);

// BestEffortInferServiceMTLSMode: kUnknown for mesh-external services; for
// passthrough (headless, or `simple: PASSTHROUGH` in the merged policy) kDisable
// unless every endpoint on the port has a sidecar; else namespace_mtls_mode,
// falling back to kPermissive.
ServiceMtlsMode best_effort_infer_service_mtls_mode(const World& w, const TrafficPolicy* merged_policy,
                                                    const WorldService& svc, uint32_t service_port);

// ---- DestinationRule ---------------------------------------------------------------------

struct DestinationRuleChoice {
  const DestinationRule* rule = nullptr;
  std::string reason;  // "client namespace", "service namespace (exported)", "root namespace (exported)", or why none
};

// True if a DR/VS config host (already FQDN-expanded) matches `hostname`
// (exact, "*.suffix" wildcard, or "*").
bool host_matches(std::string_view config_host, std::string_view hostname);

// Istio's destinationRule(): 1) the client namespace's DRs (most specific host
// match), 2) DRs in the service's namespace exported to the client, 3) DRs in
// the root namespace exported to the client. Same-host ties: the oldest.
DestinationRuleChoice choose_destination_rule(const World& w, std::string_view client_namespace,
                                              const WorldService& svc);

// The traffic policy a cluster gets for (subset, service port) — MergeTrafficPolicy:
// the DR's top-level policy with its matching portLevelSettings entry
// replacing all four components; then the subset's components override
// (each only if set); then the subset's matching portLevelSettings entry
// replaces all four. Returns nullopt when the DR has no policy at all.
std::optional<TrafficPolicy> merged_traffic_policy(const DestinationRule* dr, std::string_view subset, uint32_t port);

// The TLS mode the endpoint layer reads (mtls_checker tlsModeForDestinationRule):
// without a subset the DR's tls, replaced by a matching port-level tls; with a
// subset only the subset's own policy (tls, then port-level tls).
std::optional<ClientTlsMode> endpoint_tls_mode_from_rule(const DestinationRule* dr, std::string_view subset,
                                                         uint32_t port);

// ---- client TLS decision ------------------------------------------------------------------

struct ClientTlsDecision {
  enum class Mode : uint8_t { kPlaintext, kIstioMutual, kSimpleTls, kMutualTls };
  Mode mode = Mode::kPlaintext;
  // Cluster layer: true if a DestinationRule tls block decided (no auto mTLS).
  bool user_supplied = false;
  // Cluster layer: the cluster was built with ISTIO_MUTUAL + transportSocketMatches (auto mTLS).
  bool auto_mtls_cluster = false;
  ServiceMtlsMode service_mode = ServiceMtlsMode::kUnknown;
  const DestinationRule* rule = nullptr;
  std::string reason;
};
const char* client_tls_mode_name(ClientTlsDecision::Mode m);

// What the client's sidecar sends to one endpoint of `svc` on `service_port`
// (optionally via `subset`). `client` may be null (a workload outside the
// mesh); a client without a sidecar, or whose outbound capture excludes the
// endpoint, sends whatever its app sends (plaintext here).
ClientTlsDecision client_tls_decision(const World& w, const WorldPod* client, const WorldService& svc,
                                      std::string_view subset, uint32_t service_port, const Endpoint& endpoint);

// ---- authorization / authentication / sidecar ---------------------------------------------

// AuthorizationPolicies applying to a workload: root-namespace and workload-
// namespace policies whose selector is empty or matches; targetRefs policies
// are skipped (they bind to gateways/waypoints, not sidecars). Ordered: root
// namespace first, then by creation order.
std::vector<const AuthorizationPolicy*> authorization_policies_for(const World& w, std::string_view namespace_,
                                                                   const Labels& workload_labels);
std::vector<const RequestAuthentication*> request_authentications_for(const World& w, std::string_view namespace_,
                                                                      const Labels& workload_labels);

// The Sidecar resource of a workload: the oldest matching workloadSelector one
// in its namespace, else the namespace's selector-less one, else the root
// namespace's selector-less one; nullptr if none.
const SidecarResource* sidecar_for(const World& w, std::string_view namespace_, const Labels& workload_labels);

// HTTP-only attributes of an AuthorizationPolicy rule (ISTIO_BEHAVIOR.md §7.3),
// as field names ("to.operation.methods", "when request.headers[...]", …).
std::vector<std::string> http_only_fields(const AuthzRule& rule);

}  // namespace meshsim::mesh
