// The configuration of one sidecar proxy, shaped like Envoy's xDS resources
// (LDS listeners, CDS clusters, RDS route configurations, EDS endpoints, SDS
// secret names) and named the way istiod names them: `virtualInbound`,
// `0.0.0.0_9080`, `outbound|9080|v1|reviews.default.svc.cluster.local`,
// `inbound|80||`, `InboundPassthroughCluster` …
//
// mesh/'s control plane fills these structs; the engine (proxy/engine/sidecar.h)
// runs them; `meshsim proxy-config` prints them. They are plain immutable data:
// a pushed configuration is a new shared ProxyConfig snapshot, and connections
// that are already open keep the snapshot (and filter chain) they matched.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "proxy/base/duration.h"
#include "proxy/base/ip.h"

namespace meshsim::proxy {

enum class TrafficDirection : uint8_t { kUnspecified, kInbound, kOutbound };

// ---------------------------------------------------------------- TLS ------

enum class TlsVersion : uint8_t { kTls12, kTls13 };

// SDS secret names istiod uses for the workload identity and the mesh root.
inline constexpr const char* kSdsDefault = "default";
inline constexpr const char* kSdsRootCa = "ROOTCA";

// transport_socket of a filter chain: terminate TLS for the downstream.
struct DownstreamTlsContext {
  std::string certificate_secret = kSdsDefault;  // SDS name of the chain+key served
  std::string validation_secret = kSdsRootCa;    // SDS name of trusted roots ("" = no client validation)
  bool require_client_certificate = true;
  std::vector<std::string> alpn_protocols;  // server preference order
  TlsVersion min_version = TlsVersion::kTls12;
  TlsVersion max_version = TlsVersion::kTls13;
};

// transport_socket of a cluster: originate TLS to the upstream.
struct UpstreamTlsContext {
  std::string sni;
  std::vector<std::string> alpn_protocols;        // offered, in order
  std::string certificate_secret;                 // "" = no client certificate (SIMPLE)
  std::string validation_secret;                  // "" = do not verify the server
  std::vector<std::string> match_subject_alt_names;  // exact SAN matches (SPIFFE URIs or DNS names); empty = any
  TlsVersion min_version = TlsVersion::kTls12;
  TlsVersion max_version = TlsVersion::kTls13;
  // Istio's cluster_tls.go vocabulary, kept for explanations and proxy-config.
  std::string istio_mode;  // "ISTIO_MUTUAL", "MUTUAL", "SIMPLE"

  bool operator==(const UpstreamTlsContext&) const = default;
};

// ---------------------------------------------------------- listeners ------

// Envoy's FilterChainMatch, the fields Istio uses, in Envoy's evaluation order.
struct FilterChainMatch {
  std::optional<uint16_t> destination_port;
  std::vector<Cidr> prefix_ranges;
  std::vector<std::string> server_names;          // exact or "*.suffix"
  std::string transport_protocol;                 // "", "raw_buffer", "tls"
  std::vector<std::string> application_protocols;
};

// A header to add (Envoy HeaderValueOption): `append` adds another value
// (APPEND_IF_EXISTS_OR_ADD, Istio's `add`), otherwise every existing value is
// replaced (OVERWRITE_IF_EXISTS_OR_ADD, Istio's `set`).
struct HeaderValueOption {
  std::string key;
  std::string value;
  bool append = false;
};

// request_headers_to_add/remove and response_headers_to_add/remove of one
// level (route or weighted cluster). Envoy removes first, then applies every
// overwrite, then every append (router/header_parser.cc).
struct HeaderMutations {
  std::vector<HeaderValueOption> request_add;
  std::vector<std::string> request_remove;
  std::vector<HeaderValueOption> response_add;
  std::vector<std::string> response_remove;
  bool empty() const {
    return request_add.empty() && request_remove.empty() && response_add.empty() && response_remove.empty();
  }
};

struct WeightedCluster {
  std::string name;
  uint32_t weight = 0;
  // Destination-level headers of a VirtualService with several destinations.
  HeaderMutations headers;
  std::string host_rewrite;  // host_rewrite_literal of this destination
};

// envoy.filters.network.tcp_proxy
struct TcpProxy {
  std::string stat_prefix;
  std::string cluster;                    // or weighted_clusters
  std::vector<WeightedCluster> weighted_clusters;
  Duration idle_timeout = Duration::hours(1);
  uint32_t max_connect_attempts = 1;
};

struct RouteConfiguration;

// istio.stats (HTTP filter and network filter): Istio's stats plugin config
// as istiod writes it (telemetry.go buildHTTPTelemetryFilter /
// buildTCPTelemetryFilter; docs/istio/telemetry.md §6). The reporter follows
// the listener's direction (inbound: destination, outbound: source).
struct IstioStatsConfig {
  // disable_host_header_fallback: true for sidecar inbound and gateways,
  // false for sidecar outbound (disableHostHeaderFallback).
  bool disable_host_header_fallback = false;
  // tcp_reporting_duration (Telemetry metrics[].reportingInterval, default 5 s).
  Duration tcp_reporting_duration = Duration::seconds(5);
};

struct RbacFilterConfig;
struct JwtAuthnConfig;
struct ExtAuthzConfig;

struct HttpFilter {
  std::string name;  // e.g. "istio.metadata_exchange", "envoy.filters.http.router"
  // typed_config of envoy.filters.http.rbac (proxy/rbac_config.h).
  std::shared_ptr<const RbacFilterConfig> rbac = nullptr;
  // typed_config of envoy.filters.http.jwt_authn (proxy/jwt_config.h).
  std::shared_ptr<const JwtAuthnConfig> jwt_authn = nullptr;
  // typed_config of envoy.filters.http.ext_authz (proxy/ext_authz_config.h).
  std::shared_ptr<const ExtAuthzConfig> ext_authz = nullptr;
  // typed_config of istio.stats.
  std::shared_ptr<const IstioStatsConfig> stats = nullptr;
};

// envoy.filters.network.rbac (its config in proxy/rbac_config.h).
struct NetworkRbac {
  std::shared_ptr<const RbacFilterConfig> config;
};

// istio.metadata_exchange as a listener network filter (inbound TCP chains):
// the istio-peer-exchange preamble when ALPN negotiated `protocol`.
struct NetworkMetadataExchange {
  std::string protocol = "istio-peer-exchange";
};

// istio.stats as a network filter before tcp_proxy.
struct NetworkIstioStats {
  std::shared_ptr<const IstioStatsConfig> config;
};

// The connection manager's `tracing` block and the tracer it names, as
// istiod writes them (mesh/telemetry.h; docs/istio/telemetry.md §2).
struct TracingConfig {
  // kNone: a tracing block without a tracer (Istio >= 1.22's default
  // install): the x-request-id decision is taken, no span is made.
  enum class Provider : uint8_t { kNone, kZipkin, kOpenTelemetry };
  Provider provider = Provider::kNone;
  std::string provider_name;      // meshConfig.extensionProviders[].name
  std::string collector_cluster;  // outbound|9411||zipkin.istio-system.svc.cluster.local
  std::string collector_path = "/api/v2/spans";
  bool trace_id_128bit = true;    // !enable64bitTraceId
  bool w3c_propagation = false;   // Zipkin trace_context_option USE_B3_WITH_W3C_PROPAGATION
  uint32_t random_sampling = 100;     // out of 10000: round(percent x 100)
  uint32_t client_sampling = 100;     // out of 100
  uint32_t overall_sampling = 10000;  // out of 10000
  uint32_t max_path_tag_length = 256;
  bool no_context_propagation = false;  // Telemetry disableContextPropagation
  bool use_request_id_for_trace_sampling = true;
  bool enable_istio_tags = true;
  // Literal custom tags (istio.canonical_service, …), sorted by name.
  std::vector<std::pair<std::string, std::string>> custom_tags;
  std::string sampling_source;  // where the percentage came from, for explanations
};

// envoy.filters.network.http_connection_manager
struct HttpConnectionManager {
  std::string stat_prefix;
  std::string route_config_name;                       // RDS name (outbound: the port, "9080")
  std::shared_ptr<const RouteConfiguration> route_config;  // inline (inbound) or resolved RDS
  std::vector<HttpFilter> http_filters;
  TrafficDirection direction = TrafficDirection::kUnspecified;
  // forward_client_cert_details: SANITIZE (Envoy's default: strip any incoming
  // x-forwarded-client-cert), APPEND_FORWARD (Istio inbound: append the
  // mTLS peer's By/Hash/Subject/URI element) or SANITIZE_SET (Istio gateways:
  // replace it with that element when the client presented a certificate).
  enum class ForwardClientCert : uint8_t { kSanitize, kAppendForward, kSanitizeSet };
  ForwardClientCert forward_client_cert = ForwardClientCert::kSanitize;
  Duration stream_idle_timeout;  // 0 = disabled (Istio sidecars)
  Duration request_timeout;      // 0 = disabled
  // server_header_transformation OVERWRITE with this name; "" = PASS_THROUGH.
  std::string server_name = "envoy";
  // http_protocol_options.accept_http_10 (Istio: only with PILOT_HTTP10).
  bool accept_http_10 = false;
  // :path normalization (proxy/http/path_normalization.h); Istio's default
  // meshConfig.pathNormalization BASE sets normalize_path only.
  bool normalize_path = false;
  bool merge_slashes = false;
  // common_http_protocol_options.idle_timeout: a downstream connection with
  // no active request for this long is closed. Envoy's default 1h; Istio
  // changes it only with the IDLE_TIMEOUT proxy metadata. 0 = disabled.
  Duration idle_timeout = Duration::hours(1);
  // The tracing block (nullptr: none — tracing disabled for this side, and
  // not even the x-request-id decision is taken).
  std::shared_ptr<const TracingConfig> tracing;
};

struct NetworkFilter {
  // envoy.filters.network.rbac | envoy.filters.network.tcp_proxy | envoy.filters.network.http_connection_manager
  std::string name;
  std::variant<TcpProxy, HttpConnectionManager, NetworkRbac, NetworkMetadataExchange, NetworkIstioStats> config;
};

struct FilterChain {
  std::string name;
  FilterChainMatch match;
  std::optional<DownstreamTlsContext> tls;  // transport_socket envoy.transport_sockets.tls
  std::vector<NetworkFilter> filters;       // terminal filter last
  // Why istiod built this chain, for explanations ("PERMISSIVE mTLS, TCP", …).
  std::string description;
};

// A listener filter is disabled for a connection whose destination port is in
// `ports` (or, with `invert`, is not in `ports`) — Istio's filter_disabled
// port predicates. `always_disabled` / empty predicate as named.
struct ListenerFilterPredicate {
  bool never_disabled = true;
  bool invert = false;
  std::vector<uint16_t> ports;
  bool disabled_for(uint16_t port) const;
};

inline constexpr const char* kOriginalDstFilter = "envoy.filters.listener.original_dst";
inline constexpr const char* kTlsInspectorFilter = "envoy.filters.listener.tls_inspector";
inline constexpr const char* kHttpInspectorFilter = "envoy.filters.listener.http_inspector";

struct ListenerFilter {
  std::string name;
  ListenerFilterPredicate disabled;
};

struct Listener {
  std::string name;
  SocketAddress address;
  TrafficDirection direction = TrafficDirection::kUnspecified;
  bool use_original_dst = false;  // virtualOutbound / virtualInbound hand-off
  bool bind_to_port = true;       // false for the per-port outbound listeners
  std::vector<ListenerFilter> listener_filters;
  Duration listener_filters_timeout;  // 0 = wait for the inspectors forever
  bool continue_on_listener_filters_timeout = true;
  std::vector<FilterChain> filter_chains;
  std::optional<FilterChain> default_filter_chain;

  bool has_listener_filter(std::string_view filter_name) const;
};

// ------------------------------------------------------------- routes ------

struct HeaderMatcher {
  enum class Kind : uint8_t { kExact, kPrefix, kSuffix, kRegex, kPresent };
  std::string name;
  Kind kind = Kind::kExact;
  std::string value;
  bool invert = false;
};

struct RouteMatch {
  enum class Kind : uint8_t { kPrefix, kPath, kRegex, kPathSeparatedPrefix };
  Kind kind = Kind::kPrefix;
  std::string value = "/";
  bool case_sensitive = true;
  std::vector<HeaderMatcher> headers;
  std::vector<HeaderMatcher> query_parameters;
};

struct RetryPolicy {
  std::string retry_on;  // comma list: connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes,5xx,…
  uint32_t num_retries = 0;
  Duration per_try_timeout;  // 0 = none
  std::vector<uint32_t> retriable_status_codes;
  // retry_back_off.base_interval; zero = Envoy's default 25 ms. The cap
  // (max_interval) is 10 × the base, Envoy's default when unset.
  Duration back_off_base_interval;
  bool previous_hosts_predicate = false;
  uint32_t host_selection_retry_max_attempts = 0;
};

struct FaultPolicy {
  std::optional<Duration> delay;
  uint32_t delay_per_million = 0;
  std::optional<uint32_t> abort_http_status;
  uint32_t abort_per_million = 0;
};

// regex_rewrite: every non-overlapping match of `pattern` (RE2) in the path
// (without the query) is replaced by `substitution` (\1…\9 back-references).
struct RegexRewrite {
  std::string pattern;
  std::string substitution;
};

// request_mirror_policies: a copy of the request goes to `cluster` for
// per_million of requests, fire and forget (the response is discarded, no
// retries). With the suffix enabled the copy's Host gets "-shadow" before
// its port (reviews:9080 → reviews-shadow:9080); Istio ≥ 1.28 disables it
// (DISABLE_SHADOW_HOST_SUFFIX, default true).
struct RequestMirrorPolicy {
  std::string cluster;
  uint32_t per_million = 1'000'000;
  bool disable_shadow_host_suffix = true;
};

// RouteAction.hash_policy entry (Istio's consistentHash, route.go
// ConsistentHashToHashPolicy): what the hash of a request is computed from
// for RING_HASH / MAGLEV clusters (docs/istio/http-traffic-management.md §7.2).
struct HashPolicy {
  enum class Kind : uint8_t { kHeader, kCookie, kSourceIp, kQueryParameter };
  struct CookieAttribute {
    std::string name, value;
    bool operator==(const CookieAttribute&) const = default;
  };
  Kind kind = Kind::kHeader;
  std::string name;                      // header_name, cookie name or query parameter name
  std::string path;                      // cookie: Path of a generated cookie
  std::optional<Duration> ttl;           // cookie: set = generate a cookie when absent (0 = session cookie)
  std::vector<CookieAttribute> attributes;  // cookie: appended to a generated Set-Cookie
  bool source_ip = true;                 // connection_properties.source_ip (false: Envoy ignores the entry)
  bool terminal = false;                 // stop at this entry when it produced a hash

  bool operator==(const HashPolicy&) const = default;
};

struct RouteAction {
  std::string cluster;
  std::vector<WeightedCluster> weighted_clusters;
  Duration timeout;  // 0 = disabled (Istio's default)
  std::optional<RetryPolicy> retry_policy;
  std::string prefix_rewrite;                // replaces the matched prefix (the whole path for exact/regex routes)
  std::optional<RegexRewrite> regex_rewrite;
  std::string host_rewrite;                  // host_rewrite_literal
  std::vector<RequestMirrorPolicy> mirrors;
  std::vector<HashPolicy> hash_policy;       // in order; combined as Envoy's HashPolicyImpl::generateHash
  // cluster_not_found_response_code: the answer when the cluster does not
  // exist (Envoy's default 503; Istio sets 500 for Gateway API routes).
  uint16_t cluster_not_found_response_code = 503;
};

struct DirectResponse {
  uint32_t status = 200;
  std::string body;
};

// Envoy's RedirectAction (Istio's HTTPRedirect, route.go ApplyRedirect).
struct RedirectAction {
  std::string scheme_redirect;   // "" = the request's scheme
  std::string host_redirect;     // "" = the request's host (port handling: docs/istio/http-traffic-management.md §2)
  uint32_t port_redirect = 0;    // 0 = none
  std::string path_redirect;     // "" = the request's path
  std::string prefix_rewrite;    // instead of path_redirect: replaces the matched prefix
  uint32_t response_code = 301;  // 301, 302, 303, 307, 308
  bool strip_query = false;
};

// Envoy's CorsPolicy for one route (typed_per_filter_config of
// envoy.filters.http.cors), from Istio's corsPolicy (route.go TranslateCORSPolicy).
struct CorsPolicy {
  struct OriginMatcher {
    enum class Kind : uint8_t { kExact, kPrefix, kSuffix, kRegex };
    Kind kind = Kind::kExact;
    std::string value;
  };
  std::vector<OriginMatcher> allow_origins;
  std::string allow_methods;   // comma-joined, "" = header omitted
  std::string allow_headers;
  std::string expose_headers;
  std::string max_age;         // whole seconds, "" = omitted
  std::optional<bool> allow_credentials;
  bool forward_not_matching_preflights = true;  // unmatchedPreflights FORWARD (default) vs IGNORE
};

struct Route {
  std::string name;
  RouteMatch match;
  std::variant<RouteAction, DirectResponse, RedirectAction> action;
  std::string decorator_operation;  // tracing span name
  std::optional<FaultPolicy> fault;
  std::optional<CorsPolicy> cors;
  HeaderMutations headers;  // route level (and a single destination's)
  // The VirtualService istiod took this route from, as istioctl names it
  // ("reviews.default"); "" for a generated default route.
  std::string source;
};

struct VirtualHost {
  std::string name;
  std::vector<std::string> domains;  // "reviews.default.svc.cluster.local", "reviews", "10.96.0.30", "*"
  std::vector<Route> routes;
  // require_tls ALL: a request that did not arrive over TLS is answered with a
  // 301 to https://<host><path> (Envoy's SslRedirectRoute; Istio's httpsRedirect).
  bool require_tls = false;
  bool include_request_attempt_count = false;  // x-envoy-attempt-count on upstream requests
};

struct RouteConfiguration {
  std::string name;
  std::vector<VirtualHost> virtual_hosts;
  // Match the Host header without its ":port" (Istio sets this on sidecars).
  bool ignore_port_in_host_matching = false;
};

// ----------------------------------------------------------- clusters ------

enum class DiscoveryType : uint8_t { kEds, kStatic, kStrictDns, kOriginalDst };
enum class LbPolicy : uint8_t { kRoundRobin, kLeastRequest, kRandom, kClusterProvided, kRingHash, kMaglev };

// ring_hash_lb_config; unset fields take Envoy's defaults (ring_hash_lb.h
// DefaultMinRingSize, DefaultMaxRingSize). The hash function is XX_HASH.
struct RingHashLbConfig {
  static constexpr uint64_t kDefaultMinimumRingSize = 1024;
  static constexpr uint64_t kDefaultMaximumRingSize = 1024 * 1024 * 8;
  std::optional<uint64_t> minimum_ring_size;
  std::optional<uint64_t> maximum_ring_size;
  bool operator==(const RingHashLbConfig&) const = default;
};

// maglev_lb_config; table_size must be prime (Envoy default 65537).
struct MaglevLbConfig {
  static constexpr uint64_t kDefaultTableSize = 65537;
  std::optional<uint64_t> table_size;
  bool operator==(const MaglevLbConfig&) const = default;
};

struct TransportSocketMatch {
  std::string name;                                  // "tlsMode-istio", "tlsMode-disabled"
  std::map<std::string, std::string> match;          // endpoint metadata that selects it ({} = any)
  std::optional<UpstreamTlsContext> tls;             // nullopt = raw_buffer

  bool operator==(const TransportSocketMatch&) const = default;
};

struct CircuitBreakers {
  uint32_t max_connections = 4294967295u;
  uint32_t max_pending_requests = 4294967295u;
  uint32_t max_requests = 4294967295u;
  uint32_t max_retries = 4294967295u;

  bool operator==(const CircuitBreakers&) const = default;
};

// outlier_detection (envoy.config.cluster.v3.OutlierDetection) as istiod
// writes it (applyOutlierDetection); unset fields take Envoy's defaults
// (outlier_detection_impl.h DEFAULT_*). Success-rate and failure-percentage
// detection are always off in Istio (enforcing_success_rate: 0) and not
// modelled. docs/model/failover.md.
struct OutlierDetection {
  uint32_t consecutive_5xx = 5;
  uint32_t enforcing_consecutive_5xx = 100;
  uint32_t consecutive_gateway_failure = 5;
  uint32_t enforcing_consecutive_gateway_failure = 0;
  bool split_external_local_origin_errors = false;
  uint32_t consecutive_local_origin_failure = 5;
  uint32_t enforcing_consecutive_local_origin_failure = 100;
  Duration interval = Duration::seconds(10);
  Duration base_ejection_time = Duration::seconds(30);
  // Unset: max(300 s, base_ejection_time) (DEFAULT_MAX_EJECTION_TIME_MS).
  std::optional<Duration> max_ejection_time;
  Duration max_ejection_time_jitter = Duration::zero();
  uint32_t max_ejection_percent = 10;
  bool always_eject_one_host = false;  // Istio never sets it

  Duration effective_max_ejection_time() const {
    return max_ejection_time ? *max_ejection_time : std::max(Duration::seconds(300), base_ejection_time);
  }
  bool operator==(const OutlierDetection&) const = default;
};

struct Cluster {
  std::string name;
  DiscoveryType type = DiscoveryType::kEds;
  Duration connect_timeout = Duration::seconds(10);
  LbPolicy lb_policy = LbPolicy::kLeastRequest;
  std::optional<RingHashLbConfig> ring_hash_lb_config;  // with kRingHash
  std::optional<MaglevLbConfig> maglev_lb_config;       // with kMaglev
  std::optional<UpstreamTlsContext> tls;             // transport_socket (when no matches)
  std::vector<TransportSocketMatch> transport_socket_matches;
  CircuitBreakers circuit_breakers;
  bool http2 = false;                                // upstream protocol for HTTP
  uint32_t max_requests_per_connection = 0;          // 0 = unlimited
  std::optional<OutlierDetection> outlier_detection;
  // common_lb_config.healthy_panic_threshold, percent: Envoy's 50 unless
  // istiod wrote it (outlierDetection.minHealthPercent, default 0 = never panic).
  double healthy_panic_threshold = 50;
  // common_lb_config.locality_weighted_lb_config: hosts are chosen by
  // locality weight first (LbEndpoint::locality_weight).
  bool locality_weighted_lb = false;
  // The EDS overprovisioning factor (Envoy's default 140 = 1.4).
  uint32_t overprovisioning_factor = 140;
  Duration idle_timeout = Duration::hours(1);
  // upstream_bind_config: source address of upstream connections (Istio binds
  // inbound clusters to 127.0.0.6 so the pod's iptables let them through).
  std::optional<Ipv4> upstream_bind;
  // istio metadata: the service and subset this cluster stands for.
  std::string service;  // FQDN, "" for special clusters
  // filter_metadata istio.services[0] name and namespace (telemetry's
  // destination_service_name / _namespace; addTelemetryMetadata).
  std::string service_name, service_namespace;
  std::string subset;
  // Cluster (upstream) network filter istio.metadata_exchange (TCPClusterMx):
  // the istio-peer-exchange preamble on upstream connections whose ALPN
  // negotiated istio-peer-exchange.
  bool metadata_exchange = false;
  uint16_t port = 0;
  std::string description;  // why: "auto mTLS (PERMISSIVE at destination)", …

  // Same configuration (a CDS update that changes nothing: Envoy keeps the
  // cluster and its connection pools).
  bool operator==(const Cluster&) const = default;
};

struct Locality {
  std::string region, zone, subzone;
  auto operator<=>(const Locality&) const = default;
};

struct LbEndpoint {
  SocketAddress address;
  // "tlsMode" → "istio" | "disabled"; "workload" → Istio's telemetry label
  // "<workload>;<namespace>;<canonical name>;<canonical revision, "" = latest>;<cluster id>".
  std::map<std::string, std::string> metadata;
  Locality locality;
  uint32_t weight = 1;
  uint32_t priority = 0;
  // load_balancing_weight of the endpoint's LocalityLbEndpoints (0 = unset;
  // used with Cluster::locality_weighted_lb).
  uint32_t locality_weight = 0;
  bool healthy = true;
  std::string hostname;  // pod name, for display
};

struct ClusterLoadAssignment {
  std::string cluster_name;
  std::vector<LbEndpoint> endpoints;
};

// ------------------------------------------------------------- bundle ------

// Names of the special clusters istiod always creates.
inline constexpr const char* kPassthroughCluster = "PassthroughCluster";
inline constexpr const char* kInboundPassthroughCluster = "InboundPassthroughCluster";
inline constexpr const char* kBlackHoleCluster = "BlackHoleCluster";

// What the proxy knows about itself (Envoy's bootstrap node: id, cluster and
// the ISTIO_META_* metadata the injector sets), read by tracing (span tags,
// localEndpoint), the stats filter (the local half of every label set) and
// metadata exchange (what a peer learns about this proxy).
// docs/istio/telemetry.md §2.5, §6.3, §7.1.
struct NodeMetadata {
  std::string cluster;        // service cluster: <app>.<ns>, else <workload>.<ns>, else istio-proxy.<ns>
  std::string name;           // NAME: the pod
  std::string namespace_;     // NAMESPACE
  std::string workload_name;  // WORKLOAD_NAME: the owning workload (the pod for bare pods)
  std::string owner;          // OWNER: kubernetes://apis/apps/v1/namespaces/<ns>/deployments/<name> ("" unknown)
  std::string cluster_id = "Kubernetes";  // CLUSTER_ID
  std::string mesh_id = "cluster.local";  // MESH_ID (global.meshID, else the trust domain)
  std::string identity;       // the workload's SPIFFE id
  std::string istio_version;  // ISTIO_VERSION
  std::string ip;             // the pod IP (INSTANCE_IPS)
  std::string region, zone, subzone;  // locality of the node
  // LABELS as metadata exchange carries them: app, version,
  // service.istio.io/canonical-name, service.istio.io/canonical-revision
  // (only those present; app/version from app.kubernetes.io/* when set).
  std::vector<std::pair<std::string, std::string>> labels;
  std::string_view label(std::string_view key) const {
    for (const auto& [k, v] : labels)
      if (k == key) return v;
    return {};
  }
  std::string_view canonical_service() const { return label("service.istio.io/canonical-name"); }
  std::string_view canonical_revision() const { return label("service.istio.io/canonical-revision"); }
};

struct ProxyConfig {
  std::string node_id;  // sidecar~<ip>~<pod>.<ns>~<ns>.svc.cluster.local
  NodeMetadata node;
  // Bootstrap histogram_bucket_settings for Istio's histograms (the pod's
  // sidecar.istio.io/statsHistogramBuckets); empty = Envoy's defaults.
  std::vector<double> stats_histogram_buckets;
  std::string version;  // push version, e.g. "2026-01-01T00:01:00Z/3"
  // proxyConfig.drainDuration (Istio default 45s): how long connections of a
  // removed or changed filter chain may live on after a push.
  Duration drain_duration = Duration::seconds(45);
  std::vector<Listener> listeners;
  std::vector<Cluster> clusters;
  std::vector<std::shared_ptr<const RouteConfiguration>> routes;
  std::vector<ClusterLoadAssignment> endpoints;

  const Listener* find_listener(std::string_view name) const;
  const Cluster* find_cluster(std::string_view name) const;
  const ClusterLoadAssignment* find_endpoints(std::string_view cluster) const;
  std::shared_ptr<const RouteConfiguration> find_route(std::string_view name) const;
};

}  // namespace meshsim::proxy
