// The peer half of an Istio standard-metrics label set — reporter, the 8
// source labels and the 11 destination labels — as istio_stats.cc
// populatePeerInfo computes them (docs/istio/telemetry.md §6.3, §6.4): local
// values from this proxy's node metadata (a missing local label is ""), peer
// values from metadata exchange (missing: "unknown", a missing canonical
// revision: "latest"), the client's EDS endpoint-metadata fallback
// (`istio.workload` = "wl;ns;canonical;rev;cluster", no app/version), the
// namespace from the peer's SPIFFE SAN, destination_service from the Host
// header (unless disabled), the special route/cluster names or the cluster's
// istio.services metadata; and connection_security_policy.
//
// Shared by the HTTP and TCP istio.stats filters. One pure function; every
// output is a view into its inputs (or a literal), nothing is allocated.
#pragma once

#include <array>
#include <string_view>

#include "proxy/config.h"
#include "proxy/peer_metadata.h"
#include "proxy/transport.h"

namespace meshsim::proxy {

struct StatsLabelInputs {
  bool outbound = false;  // reporter source (client sidecar) vs destination (server sidecar)
  const NodeMetadata* node = nullptr;
  // Inbound: the downstream peer; outbound: the upstream peer.
  const PeerInfo* peer = nullptr;
  // Inbound: the downstream connection's TLS; outbound: the upstream's.
  const SecurityInfo* tls = nullptr;
  const Cluster* cluster = nullptr;  // the upstream cluster (nullptr: none)
  std::string_view cluster_name;
  std::string_view route_name;
  const LbEndpoint* endpoint = nullptr;  // the upstream host chosen (client fallback)
  std::string_view host;                 // Host header ("" for TCP)
  bool disable_host_header_fallback = false;
};

// reporter, 8 source labels, 11 destination labels (Envoy's tag order).
inline constexpr size_t kPeerLabelCount = 20;
using PeerLabels = std::array<std::string_view, kPeerLabelCount>;

// Fills `out` and returns connection_security_policy ("unknown" on the
// client, "mutual_tls" / "none" on the server).
std::string_view compute_peer_labels(const StatsLabelInputs& in, PeerLabels& out);

// The namespace of a SPIFFE id "spiffe://<td>/ns/<ns>/sa/<sa>" ("" if none).
std::string_view spiffe_namespace(std::string_view san);

}  // namespace meshsim::proxy
