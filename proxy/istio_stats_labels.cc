#include "proxy/istio_stats_labels.h"

namespace meshsim::proxy {

namespace {

constexpr std::string_view kUnknown = "unknown";
constexpr std::string_view kLatest = "latest";

std::string_view or_else(std::string_view v, std::string_view fallback) { return v.empty() ? fallback : v; }

// The fields of an EDS endpoint's istio.workload metadata.
struct EndpointWorkload {
  std::string_view workload, namespace_, canonical_name, canonical_revision, cluster_id;
  bool present = false;
};

EndpointWorkload endpoint_workload(const LbEndpoint* ep) {
  EndpointWorkload w;
  if (!ep) return w;
  auto it = ep->metadata.find("workload");
  if (it == ep->metadata.end()) return w;
  std::string_view s = it->second;
  std::string_view* fields[] = {&w.workload, &w.namespace_, &w.canonical_name, &w.canonical_revision, &w.cluster_id};
  size_t k = 0;
  while (k < 5) {
    size_t semi = s.find(';');
    *fields[k++] = s.substr(0, semi);
    if (semi == std::string_view::npos) break;
    s.remove_prefix(semi + 1);
  }
  // extractEndpointMetadata wants all five parts.
  w.present = k == 5;
  return w;
}

bool special_cluster(std::string_view c) {
  return c == kBlackHoleCluster || c == kPassthroughCluster || c == kInboundPassthroughCluster ||
         c == "InboundPassthroughClusterIpv4" || c == "InboundPassthroughClusterIpv6";
}

}  // namespace

std::string_view spiffe_namespace(std::string_view san) {
  size_t at = san.find("/ns/");
  if (at == std::string_view::npos) return {};
  std::string_view rest = san.substr(at + 4);
  return rest.substr(0, rest.find('/'));
}

std::string_view compute_peer_labels(const StatsLabelInputs& in, PeerLabels& out) {
  static const NodeMetadata kNoNode;
  const NodeMetadata& local = in.node ? *in.node : kNoNode;
  static const SecurityInfo kNoTls;
  const SecurityInfo& tls = in.tls ? *in.tls : kNoTls;

  // The peer object: exchanged metadata, else (client) the endpoint's EDS metadata.
  std::string_view p_workload, p_namespace, p_canonical, p_revision, p_cluster, p_app, p_version, p_identity;
  bool have_peer = false;
  if (in.peer && in.peer->found()) {
    const WorkloadMetadata& m = in.peer->md;
    have_peer = true;
    p_workload = m.workload_name, p_namespace = m.namespace_, p_canonical = m.canonical_name;
    p_revision = m.canonical_revision, p_cluster = m.cluster_id, p_app = m.app, p_version = m.version;
    p_identity = m.identity;
  } else if (in.outbound) {
    EndpointWorkload w = endpoint_workload(in.endpoint);
    if (w.present) {
      have_peer = true;
      p_workload = w.workload, p_namespace = w.namespace_, p_canonical = w.canonical_name;
      p_revision = w.canonical_revision, p_cluster = w.cluster_id;
    }
  }
  (void)have_peer;
  std::string_view peer_san = tls.peer_uri_sans.empty() ? std::string_view() : std::string_view(tls.peer_uri_sans.front());
  std::string_view local_san = tls.local_uri_san;

  // destination_service / _name / _namespace (§6.4).
  std::string_view service_host, service_host_name, service_namespace;
  if (!in.disable_host_header_fallback) service_host = service_host_name = in.host;
  if (in.route_name == "block_all") {
    service_host_name = kBlackHoleCluster;
  } else if (in.route_name == "allow_any") {
    service_host_name = kPassthroughCluster;
  } else if (special_cluster(in.cluster_name)) {
    service_host_name = in.cluster_name;
  } else if (in.cluster && !in.cluster->service.empty()) {
    service_host = in.cluster->service;
    service_namespace = in.cluster->service_namespace;
    service_host_name = in.cluster->service_name;
    if (service_host_name.empty()) service_host_name = service_host.substr(0, service_host.find('.'));
  }

  out[0] = in.outbound ? "source" : "destination";
  if (in.outbound) {
    out[1] = local.workload_name;
    out[2] = local.canonical_service();
    out[3] = local.canonical_revision();
    out[4] = local.namespace_;
    out[5] = or_else(local_san, kUnknown);
    out[6] = local.label("app");
    out[7] = local.label("version");
    out[8] = local.cluster_id;
    out[9] = or_else(p_workload, kUnknown);
    out[10] = or_else(spiffe_namespace(peer_san), or_else(p_namespace, kUnknown));
    out[11] = or_else(peer_san, or_else(p_identity, kUnknown));
    out[12] = or_else(p_app, kUnknown);
    out[13] = or_else(p_version, kUnknown);
    out[14] = or_else(service_host, kUnknown);
    out[15] = or_else(p_canonical, kUnknown);
    out[16] = or_else(p_revision, kLatest);
    out[17] = or_else(service_host_name, kUnknown);
    out[18] = or_else(service_namespace, or_else(p_namespace, kUnknown));
    out[19] = or_else(p_cluster, kUnknown);
    return kUnknown;
  }
  out[1] = or_else(p_workload, kUnknown);
  out[2] = or_else(p_canonical, kUnknown);
  out[3] = or_else(p_revision, kLatest);
  out[4] = or_else(spiffe_namespace(peer_san), or_else(p_namespace, kUnknown));
  out[5] = or_else(peer_san, kUnknown);
  out[6] = or_else(p_app, kUnknown);
  out[7] = or_else(p_version, kUnknown);
  out[8] = or_else(p_cluster, kUnknown);
  out[9] = local.workload_name;
  out[10] = local.namespace_;
  out[11] = or_else(local_san, kUnknown);
  out[12] = local.label("app");
  out[13] = local.label("version");
  out[14] = or_else(service_host, local.canonical_service());
  out[15] = local.canonical_service();
  out[16] = local.canonical_revision();
  out[17] = or_else(service_host_name, local.canonical_service());
  out[18] = local.namespace_;
  out[19] = local.cluster_id;
  return !peer_san.empty() && !local_san.empty() ? "mutual_tls" : "none";
}

}  // namespace meshsim::proxy
