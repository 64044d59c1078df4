// MetadataExchangeFilter is istio.metadata_exchange for HTTP: on outbound
// connection managers it announces this proxy to the peer with the
// x-envoy-peer-metadata-id header (the node id); on inbound ones it consumes
// (removes) x-envoy-peer-metadata-id and x-envoy-peer-metadata so the
// application never sees them. The peer's labels it would carry for
// telemetry (x-envoy-peer-metadata, base64 protobuf) are not generated yet.
#pragma once

#include "proxy/http/filter.h"

namespace meshsim::proxy::http {

inline constexpr const char* kMetadataExchangeFilterName = "istio.metadata_exchange";

class MetadataExchangeFilter final : public StreamFilter {
 public:
  FilterHeadersStatus decode_headers(Request& req, bool end_stream) override;
};

class MetadataExchangeFilterFactory final : public FilterFactory {
 public:
  bool encodes() const override { return false; }
  bool has_stream_state() const override { return false; }
  std::unique_ptr<StreamFilter> create() const override { return std::make_unique<MetadataExchangeFilter>(); }
};

}  // namespace meshsim::proxy::http
