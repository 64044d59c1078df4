// World is the derived, simulator-ready view of a ResourceSet: namespaces,
// nodes with localities, concrete pods (expanded from Deployments,
// StatefulSets, DaemonSets and ReplicaSets, with deterministic names), their
// placement on nodes and their IPs, the sidecar-injection decision and the
// traffic interception of every injected pod, Services and ServiceEntries
// with ClusterIPs, resolved port protocols and endpoints. The simulator builds
// its virtual network from it and the control plane builds proxy config from
// it (through mesh/policy.h). docs/model/mesh.md specifies every rule.
//
// A World owns its ResourceSet and MeshConfig, is immutable once built and
// safe to share between threads. build_world() is deterministic: the same
// objects and mesh config always give the same world. To model a runtime
// change, copy the ResourceSet, modify it and build a new World passing the
// old one as `previous`: pods and services that still exist keep their node,
// IP and ClusterIP.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "mesh/diagnostics.h"
#include "mesh/interception.h"
#include "mesh/mesh_config.h"
#include "mesh/resources.h"
#include "mesh/vs_delegation.h"
#include "proxy/base/ip.h"

namespace meshsim::mesh {

struct GatewayApiConversion;  // mesh/gateway_api.h

// ---- protocol selection (ISTIO_BEHAVIOR.md §3.4) ----------------------------------------

enum class Protocol : uint8_t {
  kTcp, kUdp, kGrpc, kGrpcWeb, kHttp, kHttpProxy, kHttp2, kHttps, kTls, kMongo, kRedis, kMysql,
  kUnsupported,  // not recognised: Istio auto-detects (sniffs) the protocol
};
const char* protocol_name(Protocol p);  // "TCP", "HTTP", …, "UNSUPPORTED"
bool is_http_protocol(Protocol p);       // HTTP, HTTP2, HTTP_PROXY, GRPC, GRPC-WEB
bool is_tcp_protocol(Protocol p);        // TCP, HTTPS, TLS, Mongo, Redis, MySQL

struct ProtocolDecision {
  Protocol protocol = Protocol::kUnsupported;
  std::string reason;  // "appProtocol \"http\"", "port name prefix \"mysql\"", "well-known port 3306", "auto-detect"
};

// Istio's ConvertProtocol (I:pkg/config/kube/conversion.go): UDP > appProtocol
// (replacing the name) > "grpc-web" prefix > name prefix before '-' >
// well-known server-first ports (25, 53, 3306, 27017) as TCP > unsupported.
ProtocolDecision resolve_port_protocol(uint32_t port, std::string_view name, std::string_view k8s_protocol,
                                       const std::optional<std::string>& app_protocol);
// Protocol of a ServiceEntry / Gateway / Sidecar port ("HTTP", "TCP", …; case-insensitive).
Protocol parse_protocol(std::string_view name);

// True for ports whose server speaks first: 25, 3306, 27017 (and 53/TCP),
// or a Mongo/MySQL protocol.
bool is_server_first(uint32_t port, Protocol p);

// ---- injection (ISTIO_BEHAVIOR.md §4; I:pkg/kube/inject/inject.go) ----------------------

struct InjectionDecision {
  bool injected = false;
  std::string reason;  // human-readable: which label/annotation decided
};
bool is_never_injected_namespace(std::string_view ns);
// sidecarInjectorWebhook.enableNamespacesByDefault from the injector ConfigMap
// (istio-sidecar-injector[-<rev>], data.values JSON) of the input, if any: the
// namespace webhook then injects every namespace without an injection label.
bool enable_namespaces_by_default(const ResourceSet& rs, std::string_view revision = "");
InjectionDecision decide_injection(std::string_view namespace_, const Labels& namespace_labels,
                                   const Labels& pod_labels, const Labels& pod_annotations, bool host_network, bool enable_namespaces_by_default = false);

// Ambient enrolment as istio-cni decides it (I:cni/pkg/util/enablement_selector.go
// Matches; manifests/charts/istio-cni/values.yaml enablementSelectors and
// excludeNamespaces): hostNetwork pods never; pods with a sidecar never
// ("ztunnel and sidecar for a single pod is currently not supported") — the
// injector does not look at istio.io/dataplane-mode, so the sidecar wins;
// namespaces in excludeNamespaces (kube-system) never; then pod label
// istio.io/dataplane-mode=ambient, or namespace label
// istio.io/dataplane-mode=ambient unless the pod says
// istio.io/dataplane-mode=none.
struct AmbientDecision {
  bool ambient = false;
  std::string reason;  // "" when no ambient label is involved
};
AmbientDecision decide_ambient(std::string_view namespace_, const Labels& namespace_labels, const Labels& pod_labels,
                               bool host_network, bool injected);
// The name the ztunnel DaemonSet (istio-system/ztunnel) gives its pod on
// `node`: "ztunnel-" and the DaemonSet controller's 5-character suffix, as
// meshsim names every DaemonSet pod.
std::string ztunnel_pod_name(std::string_view node);

// Parses the traffic.sidecar.istio.io/* and status.sidecar.istio.io/port
// annotations. Problems are returned as (annotation key, message) pairs.
TrafficInterception parse_interception(const Labels& annotations, uint32_t default_status_port,
                                       std::vector<std::pair<std::string, std::string>>* problems);

// ---- world entities --------------------------------------------------------------

struct Locality {
  std::string region, zone, subzone;
  // Parses "region/zone/subzone" (missing parts empty).
  static Locality parse(std::string_view text);
  // "region/zone/subzone" (trailing empty parts omitted).
  std::string str() const;
  bool operator==(const Locality&) const = default;
};

struct WorldNamespace {
  std::string name;
  Labels labels;
  bool declared = false;  // a Namespace object exists (otherwise implied by objects in it)
  Location location;
};

struct WorldNode {
  std::string name;
  Labels labels;
  Locality locality;
  Ipv4 ip;
  Cidr pod_cidr;
  bool synthesized = false;  // from the default node set, not a Node object
};

struct WorldPod {
  std::string name, namespace_;
  Labels labels;       // incl. pod-template-hash and, when injected, security.istio.io/tlsMode=istio
  Labels annotations;
  Kind owner_kind = Kind::kPod;  // Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet
  std::string owner_name;        // workload name ("" for bare pods)
  int32_t ordinal = 0;           // replica index within the workload
  std::string service_account = "default";
  const PodSpec* spec = nullptr;  // points into the World's ResourceSet
  int32_t node = -1;              // index into World::nodes(); -1 = unschedulable (Pending)
  Ipv4 ip;                        // pod IP (node IP for hostNetwork); any() when Pending
  bool host_network = false;
  // DNS: <hostname>.<subdomain>.<ns>.svc.<domain> when subdomain names a
  // headless Service (spec.hostname/subdomain; StatefulSet pods: pod name and
  // spec.serviceName).
  std::string hostname, subdomain;
  bool injected = false;
  std::string injection_reason;
  bool ambient = false;               // enrolled in ambient (decide_ambient): ztunnel captures it
  std::string ambient_reason;
  TrafficInterception interception;   // meaningful only when injected
  bool rewrite_app_http_probers = true;
  Labels proxy_metadata;              // from the proxy.istio.io/config annotation
  std::string app_model;              // meshsim.io/app annotation ("" = none)
  Location source;                    // the Pod or workload object
  const Object* object = nullptr;     // that object (points into the World's ResourceSet)
  std::string source_path_prefix;     // "metadata" (Pod) or "spec.template.metadata" (workloads)

  bool scheduled() const { return node >= 0; }
  // spiffe://<td>/ns/<ns>/sa/<sa>
  std::string spiffe_id(const std::string& trust_domain) const;
  // The containerPort named `name` (0 if none).
  uint32_t named_port(std::string_view name) const;
  // True if some container declares `port`.
  bool declares_port(uint32_t port) const;
};

struct ServicePortInfo {
  std::string name;
  uint32_t port = 0;
  IntOrString target_port;     // as written (unset = same as port)
  std::optional<std::string> app_protocol;
  std::string k8s_protocol = "TCP";
  Protocol protocol = Protocol::kUnsupported;
  std::string protocol_reason;
  Location location;
};

struct Endpoint {
  int32_t pod = -1;             // index into World::pods(), -1 if not a pod
  int32_t workload_entry = -1;  // index into resources().workload_entries, -1 if not
  std::string address;          // IP, or a DNS name (DNS ServiceEntries)
  Ipv4 ip;                      // valid if has_ip
  bool has_ip = false;
  uint32_t port = 0;            // resolved target port
  bool ready = true;
  Labels labels;
  bool sidecar = false;         // labels carry security.istio.io/tlsMode=istio
  Locality locality;
  std::string service_account;
  uint32_t weight = 1;
};

struct WorldService {
  enum class Origin : uint8_t { kKubernetes, kServiceEntry };
  Origin origin = Origin::kKubernetes;
  std::string name, namespace_;
  std::string hostname;                 // FQDN (k8s) or the ServiceEntry host
  Ipv4 vip;                             // ClusterIP / first SE address / auto-allocated
  bool has_vip = false;
  bool vip_auto_allocated = false;      // ServiceEntry without addresses (240.240/16)
  bool headless = false;                // clusterIP: None
  std::vector<std::string> addresses;   // ServiceEntry addresses as written
  std::vector<ServicePortInfo> ports;
  // Endpoints per service port number, in deterministic (pod index) order.
  std::map<uint32_t, std::vector<Endpoint>> endpoints;
  bool mesh_external = false;
  ServiceEntryResolution resolution = ServiceEntryResolution::kStatic;  // headless k8s = NONE (passthrough)
  std::optional<Labels> selector;
  std::vector<std::string> export_to;
  std::vector<std::string> service_accounts;  // sorted, unique, SPIFFE-less ("ns/sa")
  int32_t source_index = -1;  // index into resources().services or .service_entries
  Location location;

  const ServicePortInfo* port(uint32_t number) const;
  const ServicePortInfo* port_by_name(std::string_view name) const;
};

// DestinationRules of one namespace with the same host (and no
// workloadSelector), merged as Istio's MergeDestinationRule does: the oldest
// rule's traffic policy (or the first later one that has a policy, if the
// oldest has none), and the union of subsets, first definition of a name
// winning. `rule` is a merged copy; `sources` are the originals, oldest first.
struct ConsolidatedDestinationRule {
  DestinationRule rule;
  std::string host_fqdn;
  std::vector<const DestinationRule*> sources;
};

class World {
 public:
  const ResourceSet& resources() const { return *resources_; }
  const MeshConfig& mesh_config() const { return mesh_; }

  const std::vector<WorldNamespace>& namespaces() const { return namespaces_; }
  const std::vector<WorldNode>& nodes() const { return nodes_; }
  const std::vector<WorldPod>& pods() const { return pods_; }
  const std::vector<WorldService>& services() const { return services_; }
  // DestinationRules as istiod uses them (merged per namespace and host), in namespace/host order.
  const std::vector<ConsolidatedDestinationRule>& destination_rules() const { return destination_rules_; }
  // VirtualServices as istiod routes with them (mesh/vs_delegation.h): roots
  // merged with their delegates, delegates (no hosts) left out; and the
  // delegating routes that were dropped, with why.
  const std::vector<VirtualService>& virtual_services() const { return virtual_services_; }
  const std::vector<DelegationIssue>& delegation_issues() const { return delegation_issues_; }

  const WorldNamespace* find_namespace(std::string_view name) const;
  const WorldNode* find_node(std::string_view name) const;
  const WorldPod* find_pod(std::string_view namespace_, std::string_view name) const;
  const WorldPod* pod_by_ip(Ipv4 ip) const;
  // Pods created by a workload (kind Deployment/StatefulSet/DaemonSet/ReplicaSet), ordinal order.
  std::vector<const WorldPod*> pods_of_workload(Kind kind, std::string_view namespace_, std::string_view name) const;
  // Pods of a namespace whose labels include `selector` (Istio SubsetOf semantics).
  std::vector<const WorldPod*> pods_matching(std::string_view namespace_, const Labels& selector) const;

  // Exact hostname (FQDN or ServiceEntry host) lookup.
  const WorldService* service_by_hostname(std::string_view hostname) const;
  // DNS-style lookup as a client in `client_namespace` would resolve a name:
  // FQDN, "<name>", "<name>.<ns>", "<name>.<ns>.svc" (Kubernetes search path).
  const WorldService* service_by_host(std::string_view host, std::string_view client_namespace) const;
  const WorldService* service_by_vip(Ipv4 ip) const;
  // Services (k8s and ServiceEntry) whose endpoints include pod `pod_index`, by hostname.
  std::vector<const WorldService*> services_of_pod(int32_t pod_index) const;
  int32_t pod_index(const WorldPod* p) const { return static_cast<int32_t>(p - pods_.data()); }

  // A copy in which the endpoints of the given pods ("ns/name") are not ready —
  // what the endpoints controller publishes while a pod is down or its node
  // is unreachable. Pods not listed keep their readiness.
  World with_unready_pods(const std::vector<std::string>& pods) const;

  // Istio's ResolveShortnameToFQDN: "reviews" in ns "x" → "reviews.x.svc.<domain>";
  // names with a dot, "*" and IPs are returned unchanged.
  std::string config_host_to_fqdn(std::string_view host, std::string_view namespace_) const;

  // Data derived from this world on first use, shared with the copies
  // with_unready_pods makes (none of it reads endpoint readiness): Istio's
  // Gateway API translation, read through mesh::gateway_api (mesh/gateway_api.h),
  // so every sidecar and gateway of one push uses one translation.
  struct Derived {
    std::once_flag gateway_api_once;
    std::shared_ptr<const GatewayApiConversion> gateway_api;
  };
  Derived& derived() const { return *derived_; }

 private:
  friend World build_world_impl(std::shared_ptr<const ResourceSet>, MeshConfig, std::vector<Diagnostic>&,
                                const World*);
  std::shared_ptr<const ResourceSet> resources_;
  MeshConfig mesh_;
  std::vector<WorldNamespace> namespaces_;
  std::vector<WorldNode> nodes_;
  std::vector<WorldPod> pods_;
  std::vector<WorldService> services_;
  std::vector<ConsolidatedDestinationRule> destination_rules_;
  std::vector<VirtualService> virtual_services_;
  std::vector<DelegationIssue> delegation_issues_;
  std::unordered_map<std::string, int32_t> pod_index_;      // "ns/name"
  std::unordered_map<uint32_t, int32_t> pod_by_ip_;
  std::unordered_map<std::string, int32_t> service_by_host_;  // hostname
  std::unordered_map<uint32_t, int32_t> service_by_vip_;
  std::unordered_map<std::string, std::vector<int32_t>> pods_by_namespace_;
  std::vector<std::vector<int32_t>> services_of_pod_;
  std::shared_ptr<Derived> derived_ = std::make_shared<Derived>();
};

// Default node set when the manifests contain no Node objects: node-1..node-N
// (N = max(3, ceil(pods / 110))), region "region1", zone "zone1".
inline constexpr int kDefaultNodeCount = 3;
inline constexpr int kMaxPodsPerNode = 110;
// meshsim simulates at most this many pods; replicas beyond it are dropped with an error.
inline constexpr int kMaxWorldPods = 200'000;

// Location of annotation `key` under `<prefix>.annotations` of `obj` (annotation
// keys contain dots, so locate() cannot address them by path).
Location locate_annotation(const Object& obj, std::string_view prefix, std::string_view key);

// Builds the world. Problems found while deriving (unschedulable pods, bad
// interception annotations, duplicate ClusterIPs, …) go to `diags`.
World build_world(ResourceSet resources, MeshConfig mesh, std::vector<Diagnostic>& diags,
                  const World* previous = nullptr);

}  // namespace meshsim::mesh
