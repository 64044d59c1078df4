// MetadataExchangeFilter is istio.metadata_exchange for HTTP (Istio's native
// peer_metadata filter since 1.19; docs/istio/telemetry.md §7.1):
//   outbound request   injects x-envoy-peer-metadata-id (the node id) and
//                      x-envoy-peer-metadata (base64 of the local workload's
//                      Struct, proxy/peer_metadata.h);
//   outbound response  reads both into StreamInfo::upstream_peer, then
//                      removes them so the application never sees them;
//   inbound request    reads both into StreamInfo::downstream_peer and
//                      removes them (before RBAC and the application);
//   inbound response   injects both only when the request carried them, so a
//                      client without a sidecar learns nothing.
// A header that does not parse yields no peer (Istio tries the next
// discovery method; workload discovery is not in a sidecar's bootstrap).
// The local values are precomputed per push in the engine context.
#pragma once

#include "proxy/http/filter.h"

namespace meshsim::proxy::http {

inline constexpr const char* kMetadataExchangeFilterName = "istio.metadata_exchange";
inline constexpr const char* kPeerMetadataIdHeader = "x-envoy-peer-metadata-id";
inline constexpr const char* kPeerMetadataHeader = "x-envoy-peer-metadata";

class MetadataExchangeFilter final : public StreamFilter {
 public:
  void reset() override { received_id_ = received_md_ = false; }
  FilterHeadersStatus decode_headers(Request& req, bool end_stream) override;
  FilterHeadersStatus encode_headers(Response& resp, bool end_stream) override;

 private:
  bool received_id_ = false, received_md_ = false;
};

class MetadataExchangeFilterFactory final : public FilterFactory {
 public:
  std::unique_ptr<StreamFilter> create() const override { return std::make_unique<MetadataExchangeFilter>(); }
};

}  // namespace meshsim::proxy::http
