// The typed Kubernetes + Istio resource model: one struct per kind that
// meshsim reads, holding every field the engines use (and the ones later
// issues will use), already validated and defaulted the way the API server and
// Istio's validation webhook would. Objects are produced by mesh/loader.h from
// YAML and collected in a ResourceSet.
//
// Every object keeps its source: the location of the object itself and the
// parsed YAML document it came from, so `locate(obj, "spec.ports[1].name")`
// can point a message at any field. Optional fields are std::optional where
// "unset" differs from the zero value (Istio's proto semantics); durations are
// meshsim::Duration. Maps are std::map so iteration order is deterministic.
//
// A ResourceSet is a value: copying it, adding or removing objects and
// deriving a new World/Snapshot from it is how runtime changes (a scenario
// applying a manifest at virtual time T) are modelled. The YAML documents are
// shared (immutable) between copies.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mesh/diagnostics.h"
#include "mesh/yaml_tree.h"
#include "proxy/base/duration.h"

namespace meshsim::mesh {

using Labels = std::map<std::string, std::string, std::less<>>;

// ---- shared pieces ----------------------------------------------------------

enum class Kind : uint8_t {
  kNamespace, kNode, kService, kServiceAccount, kPod, kDeployment, kStatefulSet, kDaemonSet, kReplicaSet,
  kIngress, kIngressClass, kConfigMap,
  kPeerAuthentication, kDestinationRule, kVirtualService, kAuthorizationPolicy, kRequestAuthentication,
  kGateway, kServiceEntry, kSidecar, kWorkloadEntry, kTelemetry, kIstioOperator,
  // Gateway API (gateway.networking.k8s.io); kK8sGateway is its Gateway.
  kGatewayClass, kK8sGateway, kHttpRoute, kGrpcRoute, kTlsRoute, kTcpRoute, kReferenceGrant,
};
const char* kind_name(Kind k);

// Where an object came from.
struct Source {
  Location location;                         // the object (its first line)
  std::shared_ptr<const YamlDocument> doc;   // its YAML; may be null for synthesized objects
  uint32_t root = 0;                         // index of the object's node in doc (List items)
  uint64_t load_order = 0;                   // position in the load (files sorted, then document order)
};

struct ObjectMeta {
  std::string name;
  std::string namespace_;     // resolved: "default" for namespaced kinds without one; "" for cluster-scoped
  Labels labels;
  Labels annotations;
  // metadata.creationTimestamp as Unix seconds, if given. Objects without one
  // are treated as created in load order after all timestamped ones (see
  // docs/model/mesh.md, "Creation order").
  std::optional<int64_t> creation_timestamp;
  std::string uid;
};

// Kubernetes LabelSelector (matchLabels + matchExpressions).
struct LabelRequirement {
  enum class Op : uint8_t { kIn, kNotIn, kExists, kDoesNotExist, kGt, kLt };
  std::string key;
  Op op = Op::kIn;
  std::vector<std::string> values;
};
struct LabelSelector {
  Labels match_labels;
  std::vector<LabelRequirement> match_expressions;
  bool empty() const { return match_labels.empty() && match_expressions.empty(); }
  bool matches(const Labels& labels) const;
};
// True if every key/value of `selector` is in `labels` (Istio's SubsetOf).
bool labels_subset_of(const Labels& selector, const Labels& labels);

struct IntOrString {
  bool is_int = true;
  int32_t int_value = 0;
  std::string str_value;
  bool is_set() const { return is_int ? int_value != 0 : !str_value.empty(); }
};

// Base of every object.
struct Object {
  Kind kind{};
  std::string api_version;
  ObjectMeta meta;
  Source source;
  // "DestinationRule default/reviews" (cluster-scoped: "Node node-1").
  std::string display() const;
};

// ---- Kubernetes -----------------------------------------------------------------

struct Namespace : Object {};

struct Node : Object {
  std::optional<std::string> pod_cidr;     // spec.podCIDR
  std::optional<std::string> internal_ip;  // status.addresses[type=InternalIP]
};

struct ServiceAccount : Object {};

struct ContainerPort {
  std::string name;
  int32_t container_port = 0;
  std::string protocol = "TCP";
};

struct Probe {
  enum class Handler : uint8_t { kNone, kHttpGet, kTcpSocket, kGrpc, kExec };
  Handler handler = Handler::kNone;
  std::string path;          // httpGet
  IntOrString port;          // httpGet / tcpSocket / grpc (grpc: int only)
  std::string scheme = "HTTP";
  std::string host;
  std::vector<std::string> command;  // exec
  std::string grpc_service;
  int32_t initial_delay_seconds = 0;
  int32_t period_seconds = 10;
  int32_t timeout_seconds = 1;
  int32_t success_threshold = 1;
  int32_t failure_threshold = 3;
};

struct EnvVar {
  std::string name;
  std::string value;
  bool from_source = false;  // valueFrom (not resolved)
};

struct Container {
  std::string name;
  std::string image;
  std::vector<ContainerPort> ports;
  std::vector<EnvVar> env;
  std::vector<std::string> command, args;
  std::optional<Probe> liveness, readiness, startup;
  std::optional<int64_t> run_as_user;
};

struct NodeSelectorTerm {
  std::vector<LabelRequirement> match_expressions;  // on node labels
};

struct PodSpec {
  std::vector<Container> containers;
  std::vector<Container> init_containers;
  std::string service_account_name;  // "" = "default"
  std::string node_name;
  Labels node_selector;
  std::vector<NodeSelectorTerm> required_node_affinity;  // ORed terms
  bool host_network = false;
  std::string hostname, subdomain;
  std::optional<int64_t> termination_grace_period_seconds;
};

struct PodTemplate {
  Labels labels;
  Labels annotations;
  PodSpec spec;
  uint64_t template_hash = 0;  // stable hash of the template's YAML (pod-template-hash)
};

struct Pod : Object {
  PodSpec spec;
};

// Deployment / StatefulSet / DaemonSet / ReplicaSet share one shape.
struct Workload : Object {
  int32_t replicas = 1;          // DaemonSet: ignored (one per eligible node)
  LabelSelector selector;
  PodTemplate tmpl;
  std::string service_name;      // StatefulSet spec.serviceName
};

struct ServicePort {
  std::string name;
  int32_t port = 0;
  IntOrString target_port;       // unset => same as port
  std::optional<std::string> app_protocol;
  std::string protocol = "TCP";  // TCP | UDP | SCTP
  int32_t node_port = 0;
};

struct Service : Object {
  std::string type = "ClusterIP";  // ClusterIP | NodePort | LoadBalancer | ExternalName
  std::string cluster_ip;          // "" = allocate, "None" = headless, else the IP
  std::optional<Labels> selector;  // absent = no selector (endpoints managed elsewhere)
  std::vector<ServicePort> ports;
  std::string external_name;
};

struct ConfigMap : Object {
  Labels data;
};

struct IngressBackend {
  std::string service_name;
  IntOrString service_port;  // number or name
  std::string resource_kind;  // spec.defaultBackend.resource (not supported by Istio)
};
struct IngressPath {
  std::string path;
  std::string path_type;  // Exact | Prefix | ImplementationSpecific ("" when missing)
  IngressBackend backend;
  Location location;
};
struct IngressRule {
  std::string host;
  std::vector<IngressPath> paths;
};
struct IngressTls {
  std::vector<std::string> hosts;
  std::string secret_name;
};
struct Ingress : Object {
  std::optional<std::string> ingress_class_name;
  std::optional<IngressBackend> default_backend;
  std::vector<IngressRule> rules;
  std::vector<IngressTls> tls;
};

struct IngressClass : Object {
  std::string controller;
};

// ---- Istio: security -------------------------------------------------------------

enum class MtlsMode : uint8_t { kUnset, kDisable, kPermissive, kStrict };
const char* mtls_mode_name(MtlsMode m);  // "UNSET", "DISABLE", "PERMISSIVE", "STRICT"

struct WorkloadSelector {
  Labels match_labels;
};

struct PolicyTargetReference {
  std::string group, kind, name, namespace_;
};

struct PeerAuthentication : Object {
  std::optional<WorkloadSelector> selector;
  MtlsMode mode = MtlsMode::kUnset;            // spec.mtls.mode (absent mtls => UNSET)
  std::map<uint32_t, MtlsMode> port_level_mtls;
  // Istio's notion: a selector with at least one label.
  bool has_selector() const { return selector && !selector->match_labels.empty(); }
};

struct AuthzSource {
  std::vector<std::string> principals, not_principals, request_principals, not_request_principals, namespaces,
      not_namespaces, ip_blocks, not_ip_blocks, remote_ip_blocks, not_remote_ip_blocks, service_accounts,
      not_service_accounts, trust_domains, not_trust_domains;
};
struct AuthzOperation {
  std::vector<std::string> hosts, not_hosts, ports, not_ports, methods, not_methods, paths, not_paths;
};
struct AuthzCondition {
  std::string key;
  std::vector<std::string> values, not_values;
};
struct AuthzRule {
  std::vector<AuthzSource> from;
  std::vector<AuthzOperation> to;
  std::vector<AuthzCondition> when;
  Location location;
};
enum class AuthzAction : uint8_t { kAllow, kDeny, kAudit, kCustom };
const char* authz_action_name(AuthzAction a);

struct AuthorizationPolicy : Object {
  std::optional<WorkloadSelector> selector;
  std::vector<PolicyTargetReference> target_refs;
  AuthzAction action = AuthzAction::kAllow;
  std::string provider;
  std::vector<AuthzRule> rules;
};

struct JwtHeader {
  std::string name, prefix;
};
struct JwtClaimToHeader {
  std::string header, claim;
};
struct JwtRule {
  std::string issuer;
  std::vector<std::string> audiences;
  std::string jwks_uri, jwks;
  std::vector<JwtHeader> from_headers;
  std::vector<std::string> from_params, from_cookies;
  std::string output_payload_to_header;
  std::vector<JwtClaimToHeader> output_claim_to_headers;
  std::vector<std::string> space_delimited_claims;  // besides Istio's scope and permission
  bool forward_original_token = false;
  std::optional<Duration> timeout;
};
struct RequestAuthentication : Object {
  std::optional<WorkloadSelector> selector;
  std::vector<PolicyTargetReference> target_refs;
  std::vector<JwtRule> jwt_rules;
};

// ---- Istio: networking -----------------------------------------------------------

enum class ClientTlsMode : uint8_t { kDisable, kSimple, kMutual, kIstioMutual };
const char* client_tls_mode_name(ClientTlsMode m);

struct ClientTls {
  ClientTlsMode mode = ClientTlsMode::kDisable;  // proto default: DISABLE
  std::string client_certificate, private_key, ca_certificates, credential_name, sni, ca_crl;
  std::vector<std::string> subject_alt_names;
  std::optional<bool> insecure_skip_verify;
};

struct LocalityLbSetting {
  struct Distribute {
    std::string from;
    std::map<std::string, uint32_t> to;
  };
  struct Failover {
    std::string from, to;
  };
  std::vector<Distribute> distribute;
  std::vector<Failover> failover;
  std::vector<std::string> failover_priority;
  std::optional<bool> enabled;
};

enum class SimpleLb : uint8_t { kUnspecified, kLeastConn, kRandom, kPassthrough, kRoundRobin, kLeastRequest };
const char* simple_lb_name(SimpleLb lb);

struct ConsistentHashLb {
  std::string http_header_name;
  struct Cookie {
    std::string name, path;
    std::optional<Duration> ttl;
    std::vector<std::pair<std::string, std::string>> attributes;  // {name, value}
  };
  std::optional<Cookie> http_cookie;
  bool use_source_ip = false;
  std::string http_query_parameter_name;
  bool ring_hash = false;  // a ringHash block is present
  bool maglev = false;     // a maglev block is present
  std::optional<uint64_t> ring_hash_minimum_ring_size;
  std::optional<uint64_t> maglev_table_size;
  std::optional<uint64_t> minimum_ring_size;  // deprecated field
};

struct LoadBalancerSettings {
  SimpleLb simple = SimpleLb::kUnspecified;
  std::optional<ConsistentHashLb> consistent_hash;
  std::optional<LocalityLbSetting> locality_lb_setting;
  std::optional<Duration> warmup_duration;
};

struct TcpKeepalive {
  std::optional<uint32_t> probes;
  std::optional<Duration> time, interval;
};
struct ConnectionPoolSettings {
  struct Tcp {
    std::optional<int32_t> max_connections;
    std::optional<Duration> connect_timeout;
    std::optional<TcpKeepalive> tcp_keepalive;
    std::optional<Duration> max_connection_duration;
    std::optional<Duration> idle_timeout;
  };
  struct Http {
    std::optional<int32_t> http1_max_pending_requests;
    std::optional<int32_t> http2_max_requests;
    std::optional<int32_t> max_requests_per_connection;
    std::optional<int32_t> max_retries;
    std::optional<Duration> idle_timeout;
    std::string h2_upgrade_policy;  // DEFAULT | DO_NOT_UPGRADE | UPGRADE
    bool use_client_protocol = false;
    std::optional<int32_t> max_concurrent_streams;
  };
  std::optional<Tcp> tcp;
  std::optional<Http> http;
};

struct OutlierDetection {
  std::optional<uint32_t> consecutive_5xx_errors;
  std::optional<uint32_t> consecutive_gateway_errors;
  std::optional<int32_t> consecutive_errors;  // deprecated
  std::optional<uint32_t> consecutive_local_origin_failures;
  bool split_external_local_origin_errors = false;
  std::optional<Duration> interval;
  std::optional<Duration> base_ejection_time;
  std::optional<int32_t> max_ejection_percent;
  std::optional<int32_t> min_health_percent;
};

// The four components that merge (ISTIO_BEHAVIOR.md §2.3).
struct PortTrafficPolicy {
  uint32_t port = 0;
  std::optional<LoadBalancerSettings> load_balancer;
  std::optional<ConnectionPoolSettings> connection_pool;
  std::optional<OutlierDetection> outlier_detection;
  std::optional<ClientTls> tls;
};

struct TrafficPolicy {
  std::optional<LoadBalancerSettings> load_balancer;
  std::optional<ConnectionPoolSettings> connection_pool;
  std::optional<OutlierDetection> outlier_detection;
  std::optional<ClientTls> tls;
  std::vector<PortTrafficPolicy> port_level_settings;
  bool proxy_protocol = false;
  bool tunnel = false;
};

struct Subset {
  std::string name;
  Labels labels;
  std::optional<TrafficPolicy> traffic_policy;
  Location location;
};

struct DestinationRule : Object {
  std::string host;
  std::optional<TrafficPolicy> traffic_policy;
  std::vector<Subset> subsets;
  std::vector<std::string> export_to;
  std::optional<WorkloadSelector> workload_selector;
};

struct StringMatch {
  enum class Type : uint8_t { kExact, kPrefix, kRegex };
  Type type = Type::kExact;
  std::string value;
};

struct HttpMatchRequest {
  std::string name;
  std::optional<StringMatch> uri, scheme, method, authority;
  std::map<std::string, StringMatch> headers, query_params, without_headers;
  std::optional<uint32_t> port;
  Labels source_labels;
  std::vector<std::string> gateways;
  bool ignore_uri_case = false;
  std::string source_namespace;
  // True if the match has no condition at all (matches every request).
  bool matches_everything() const;
};

struct Destination {
  std::string host;
  std::string subset;
  std::optional<uint32_t> port;
  Location location;
};

struct HeaderOperations {
  std::map<std::string, std::string> set, add;
  std::vector<std::string> remove;
};
struct Headers {
  HeaderOperations request, response;
};

struct HttpRouteDestination {
  Destination destination;
  int32_t weight = 0;
  std::optional<Headers> headers;
};

struct HttpRedirect {
  std::string uri, authority, scheme;
  std::string prefix_rewrite;  // instead of uri
  std::string derive_port;     // "", FROM_PROTOCOL_DEFAULT, FROM_REQUEST_PORT
  std::optional<uint32_t> port;
  uint32_t redirect_code = 301;
};
struct HttpDirectResponse {
  uint32_t status = 0;
  std::string body;
};
struct HttpRewrite {
  std::string uri, authority;
  std::optional<std::pair<std::string, std::string>> uri_regex_rewrite;  // match, rewrite
};
struct HttpRetry {
  int32_t attempts = 0;
  std::optional<Duration> per_try_timeout;
  std::optional<Duration> backoff;  // Envoy retry_back_off.base_interval
  std::string retry_on;
  std::optional<bool> retry_remote_localities;
};
struct HttpFaultInjection {
  struct Delay {
    std::optional<Duration> fixed_delay;
    std::optional<double> percentage;   // percentage.value
    std::optional<int32_t> percent;     // deprecated integer percent
    Location location;
  };
  struct Abort {
    std::optional<int32_t> http_status;
    std::string grpc_status;
    std::optional<double> percentage;
    Location location;
  };
  std::optional<Delay> delay;
  std::optional<Abort> abort;
};
struct CorsPolicy {
  std::vector<StringMatch> allow_origins;
  std::vector<std::string> allow_methods, allow_headers, expose_headers;
  std::optional<Duration> max_age;
  std::optional<bool> allow_credentials;
  std::string unmatched_preflights;  // FORWARD (default) | IGNORE
};
struct HttpMirrorPolicy {
  Destination destination;
  std::optional<double> percentage;
};

struct HttpRoute {
  std::string name;
  std::vector<HttpMatchRequest> match;
  std::vector<HttpRouteDestination> route;
  std::optional<HttpRedirect> redirect;
  std::optional<HttpDirectResponse> direct_response;
  std::optional<std::pair<std::string, std::string>> delegate;  // name, namespace
  std::optional<HttpRewrite> rewrite;
  std::optional<Duration> timeout;
  std::optional<HttpRetry> retries;
  std::optional<HttpFaultInjection> fault;
  std::optional<Destination> mirror;
  std::optional<double> mirror_percentage;
  std::vector<HttpMirrorPolicy> mirrors;
  std::optional<CorsPolicy> cors_policy;
  std::optional<Headers> headers;
  Location location;
};

struct L4MatchAttributes {
  std::vector<std::string> destination_subnets;
  std::optional<uint32_t> port;
  Labels source_labels;
  std::vector<std::string> gateways;
  std::string source_namespace;
};
struct RouteDestination {
  Destination destination;
  int32_t weight = 0;
};
struct TcpRoute {
  std::vector<L4MatchAttributes> match;
  std::vector<RouteDestination> route;
  Location location;
};
struct TlsMatchAttributes {
  std::vector<std::string> sni_hosts;
  std::vector<std::string> destination_subnets;
  std::optional<uint32_t> port;
  Labels source_labels;
  std::vector<std::string> gateways;
  std::string source_namespace;
};
struct TlsRoute {
  std::vector<TlsMatchAttributes> match;
  std::vector<RouteDestination> route;
  Location location;
};

struct VirtualService : Object {
  std::vector<std::string> hosts;
  std::vector<std::string> gateways;
  std::vector<HttpRoute> http;
  std::vector<TlsRoute> tls;
  std::vector<TcpRoute> tcp;
  std::vector<std::string> export_to;
};

struct GatewayPort {
  uint32_t number = 0;
  std::string protocol;  // upper-cased
  std::string name;
  uint32_t target_port = 0;
};
enum class ServerTlsMode : uint8_t { kPassthrough, kSimple, kMutual, kAutoPassthrough, kIstioMutual, kOptionalMutual };
struct ServerTls {
  bool https_redirect = false;
  ServerTlsMode mode = ServerTlsMode::kPassthrough;
  std::string server_certificate, private_key, ca_certificates, credential_name;
  std::vector<std::string> subject_alt_names, cipher_suites;
  std::string min_protocol_version, max_protocol_version;
};
struct GatewayServer {
  GatewayPort port;
  std::string bind;
  std::vector<std::string> hosts;
  std::optional<ServerTls> tls;
  std::string name;
  Location location;
};
struct Gateway : Object {
  Labels selector;
  std::vector<GatewayServer> servers;
  // Gateways translated from a Gateway API Gateway select their pods through
  // Services instead of a label selector (Istio's internal
  // `internal.istio.io/gateway-service` annotation): the pods behind these
  // Service hostnames in the Gateway's namespace; listener ports are the
  // Service ports, translated to their target ports (resolvePorts, not legacy).
  std::vector<std::string> gateway_services;
};

// ---- Gateway API (gateway.networking.k8s.io) ------------------------------------
// Decoded as written (mesh/decode_gateway_api.cc); mesh/gateway_api.h
// translates them into Gateways and VirtualServices as Istio's controller does.

struct GatewayClass : Object {
  std::string controller_name;
};
struct GwSecretRef {  // certificateRefs (a SecretObjectReference)
  std::string group, kind = "Secret", name, namespace_;
  Location location;
};
struct GwListener {
  std::string name, hostname, protocol;
  uint32_t port = 0;
  std::optional<std::string> tls_mode;  // Terminate (default when tls is set) | Passthrough
  std::vector<GwSecretRef> certificate_refs;
  std::string allowed_from = "Same";    // Same | All | Selector
  LabelSelector allowed_selector;
  std::vector<std::pair<std::string, std::string>> allowed_kinds;  // group, kind; empty = by protocol
  Location location;
};
struct K8sGateway : Object {
  std::string gateway_class_name;
  std::vector<GwListener> listeners;
  std::vector<std::pair<std::string, std::string>> addresses;  // type (default IPAddress), value
};
struct GwParentRef {
  std::string group = "gateway.networking.k8s.io", kind = "Gateway", namespace_, name, section_name;
  std::optional<uint32_t> port;
  Location location;
  // A core Service or an Istio ServiceEntry: the route binds to the mesh (GAMMA).
  bool is_service() const { return (group.empty() || group == "core") && kind == "Service"; }
  bool is_service_entry() const { return group == "networking.istio.io" && kind == "ServiceEntry"; }
};
struct GwHttpFilter;
struct GwBackendRef {
  std::string group, kind = "Service", namespace_, name;
  std::optional<uint32_t> port;
  int32_t weight = 1;
  std::vector<GwHttpFilter> filters;  // HTTPRoute/GRPCRoute backendRefs[].filters
  Location location;
};
struct GwHeaderModifier {
  std::vector<std::pair<std::string, std::string>> set, add;
  std::vector<std::string> remove;
};
struct GwHttpFilter {
  std::string type;  // RequestHeaderModifier | ResponseHeaderModifier | RequestRedirect | URLRewrite | RequestMirror | …
  GwHeaderModifier headers;
  // RequestRedirect / URLRewrite
  std::string scheme, hostname, path_type, path_value;
  std::optional<uint32_t> port, status_code;
  // RequestMirror
  GwBackendRef mirror;
  std::optional<double> mirror_percent;
  // CORS (HTTPCORSFilter)
  std::vector<std::string> cors_allow_origins, cors_allow_methods, cors_allow_headers, cors_expose_headers;
  bool cors_allow_credentials = false;
  int64_t cors_max_age = 0;  // seconds
  Location location;
};
struct GwRouteMatch {
  // HTTPRoute: path (type Exact | PathPrefix | RegularExpression; default PathPrefix "/");
  // GRPCRoute: method (type Exact | RegularExpression, service, method).
  std::string path_type, path_value;
  std::string grpc_type, grpc_service, grpc_method;
  struct Kv {
    std::string type = "Exact", name, value;
  };
  std::vector<Kv> headers, query_params;
  std::string method;
  bool has_path = false, has_grpc_method = false;
};
struct GwRouteRule {
  std::string name;
  std::vector<GwRouteMatch> matches;
  std::vector<GwHttpFilter> filters;
  std::vector<GwBackendRef> backend_refs;
  // HTTPRoute only: timeouts.request / timeouts.backendRequest and retry.
  std::optional<Duration> timeout_request, timeout_backend_request;
  struct Retry {
    std::optional<int32_t> attempts;
    std::optional<Duration> backoff;
    std::vector<uint32_t> codes;
  };
  std::optional<Retry> retry;
  Location location;
};
struct GatewayApiRoute : Object {  // HTTPRoute, GRPCRoute, TLSRoute, TCPRoute (by kind)
  std::vector<GwParentRef> parent_refs;
  std::vector<std::string> hostnames;
  std::vector<GwRouteRule> rules;
};
struct ReferenceGrant : Object {
  struct From {
    std::string group, kind, namespace_;
  };
  struct To {
    std::string group, kind, name;
  };
  std::vector<From> from;
  std::vector<To> to;
};

struct ServicePortSpec {  // ServiceEntry / Sidecar port
  uint32_t number = 0;
  std::string protocol;
  std::string name;
  uint32_t target_port = 0;
};

struct WorkloadEntrySpec {
  std::string address;
  std::map<std::string, uint32_t> ports;
  Labels labels;
  std::string network, locality, service_account;
  uint32_t weight = 0;
  Location location;
};

enum class ServiceEntryLocation : uint8_t { kMeshExternal, kMeshInternal };
enum class ServiceEntryResolution : uint8_t { kNone, kStatic, kDns, kDnsRoundRobin };
const char* resolution_name(ServiceEntryResolution r);

struct ServiceEntry : Object {
  std::vector<std::string> hosts;
  std::vector<std::string> addresses;
  std::vector<ServicePortSpec> ports;
  ServiceEntryLocation location = ServiceEntryLocation::kMeshExternal;
  ServiceEntryResolution resolution = ServiceEntryResolution::kNone;
  std::vector<WorkloadEntrySpec> endpoints;
  std::optional<WorkloadSelector> workload_selector;
  std::vector<std::string> export_to;
  std::vector<std::string> subject_alt_names;
};

struct WorkloadEntry : Object {
  WorkloadEntrySpec spec;
};

struct IstioIngressListener {
  ServicePortSpec port;
  std::string bind, capture_mode, default_endpoint;
};
struct IstioEgressListener {
  std::optional<ServicePortSpec> port;
  std::string bind, capture_mode;
  std::vector<std::string> hosts;
};
struct SidecarResource : Object {
  std::optional<WorkloadSelector> workload_selector;
  std::vector<IstioIngressListener> ingress;
  std::vector<IstioEgressListener> egress;
  std::string outbound_traffic_policy;  // "" | ALLOW_ANY | REGISTRY_ONLY
};

struct TelemetryTracing {
  std::vector<std::string> providers;
  std::optional<double> random_sampling_percentage;
  std::optional<bool> disable_span_reporting;
  std::optional<bool> use_request_id_for_trace_sampling;
  std::optional<bool> enable_istio_tags;
  std::optional<bool> disable_context_propagation;
  std::string match_mode;  // CLIENT_AND_SERVER | CLIENT | SERVER
  // customTags: the literal ones (name → value); header and environment tags
  // are named in `unsimulated_custom_tags` (the coverage report lists them).
  std::optional<std::vector<std::pair<std::string, std::string>>> custom_tags;
  std::vector<std::string> unsimulated_custom_tags;
};
struct TelemetryMetrics {
  std::vector<std::string> providers;
  struct Override {
    std::string metric, mode;
    std::optional<bool> disabled;
  };
  std::vector<Override> overrides;
  std::optional<Duration> reporting_interval;
};
struct TelemetryAccessLogging {
  std::vector<std::string> providers;
  std::optional<bool> disabled;
  std::string filter_expression;
};
struct Telemetry : Object {
  std::optional<WorkloadSelector> selector;
  std::vector<PolicyTargetReference> target_refs;
  std::vector<TelemetryTracing> tracing;
  std::vector<TelemetryMetrics> metrics;
  std::vector<TelemetryAccessLogging> access_logging;
};

// An IstioOperator; only spec.meshConfig is read (resolve_mesh_config()).
struct IstioOperator : Object {
  YamlNode mesh_config;  // spec.meshConfig (absent handle if none); kept alive by source.doc
  // Installation settings that change what istiod does: spec.profile, and
  // istiod's PILOT_TRACE_SAMPLING from spec.values.pilot.traceSampling or
  // spec.components.pilot.k8s.env.
  std::string profile;
  std::optional<double> values_trace_sampling;
  std::optional<std::string> env_trace_sampling;
};

// ---- the set --------------------------------------------------------------------

// Every loaded object, by kind, in load order. Pointers into the vectors are
// invalidated by adding objects; World/Snapshot copy what they need or index
// by position.
struct ResourceSet {
  std::vector<Namespace> namespaces;
  std::vector<Node> nodes;
  std::vector<Service> services;
  std::vector<ServiceAccount> service_accounts;
  std::vector<Pod> pods;
  std::vector<Workload> workloads;  // Deployment / StatefulSet / DaemonSet / ReplicaSet
  std::vector<Ingress> ingresses;
  std::vector<IngressClass> ingress_classes;
  std::vector<ConfigMap> config_maps;
  // Secrets are not modelled, but their names are kept ("namespace/name"):
  // Gateway credentialName references are checked against them.
  std::vector<std::string> secrets;
  // The data of those Secrets (base64-decoded; stringData as written): the TLS
  // material Gateway credentialNames refer to (tls.crt, tls.key, ca.crt).
  struct SecretData {
    std::string namespace_, name, type;
    std::map<std::string, std::string> data;
    std::map<std::string, Location> locations;  // where each key was written
    Location location;
  };
  std::vector<SecretData> secret_data;
  const SecretData* find_secret(std::string_view namespace_, std::string_view name) const;
  // Objects of kinds that change Istio's behaviour but that meshsim does not
  // decode (EnvoyFilter, WasmPlugin, Gateway API routes, …): kept for the
  // coverage report (mesh/coverage.h).
  struct Unmodelled {
    std::string kind, api_version, namespace_, name;
    Location location;
  };
  std::vector<Unmodelled> unmodelled;
  std::vector<PeerAuthentication> peer_authentications;
  std::vector<DestinationRule> destination_rules;
  std::vector<VirtualService> virtual_services;
  std::vector<AuthorizationPolicy> authorization_policies;
  std::vector<RequestAuthentication> request_authentications;
  std::vector<Gateway> gateways;
  std::vector<ServiceEntry> service_entries;
  std::vector<SidecarResource> sidecars;
  std::vector<WorkloadEntry> workload_entries;
  std::vector<Telemetry> telemetries;
  std::vector<GatewayClass> gateway_classes;
  std::vector<K8sGateway> k8s_gateways;
  std::vector<GatewayApiRoute> gateway_routes;  // every route kind, in load order
  std::vector<ReferenceGrant> reference_grants;
  // JWKS documents at RequestAuthentication jwksUri addresses, as istiod
  // would fetch them (uri → JSON). meshsim never reaches the network: only
  // what the user names (--jwks URI=FILE, a scenario's mesh.jwks) is known.
  std::map<std::string, std::string> jwks_documents;
  // Names outside the cluster and their IPv4 addresses, as the DNS beyond
  // the cluster answers them (a scenario's external servers declare them;
  // meshsim never reaches the network). DNS-resolution ServiceEntry clusters
  // resolve through it, as Envoy's STRICT_DNS clusters would.
  std::map<std::string, std::vector<std::string>> external_dns;
  // IstioOperator objects contribute only their spec.meshConfig (see mesh_config.h).
  std::vector<IstioOperator> istio_operators;

  size_t object_count() const;
  // Appends every object of `other` (load_order continues after this set's).
  void merge(ResourceSet&& other);
  // Removes the object of `kind` named ns/name; false if none.
  bool remove(Kind kind, std::string_view namespace_, std::string_view name);
  uint64_t next_load_order = 0;
};

// Locates a field of an object by path ("spec.ports[1].name", "metadata.labels.app").
// Falls back to the deepest existing ancestor, then to the object itself.
Location locate(const Object& obj, std::string_view path);

}  // namespace meshsim::mesh
