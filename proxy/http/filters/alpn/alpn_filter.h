// AlpnFilter is istio.alpn: it chooses the ALPN the upstream ISTIO_MUTUAL
// TLS connection offers from the downstream request's protocol
// (pilot/pkg/xds/filters/filters.go Alpn, mtlsHTTP*ALPN): HTTP/1.1 →
// istio-http/1.1, istio, http/1.1; HTTP/1.0 → istio-http/1.0, istio,
// http/1.0; HTTP/2 → istio-h2, istio, h2. The protocol is the upstream one
// (istio/proxy alpn_filter.cc: the cluster's upstreamHttpProtocol for the
// downstream protocol), so a cluster with http2_protocol_options gets the
// HTTP/2 list whatever the client spoke. The choice is filter state on the
// stream (StreamInfo) that the router passes to the cluster manager.
#pragma once

#include "proxy/http/filter.h"

namespace meshsim::proxy::http {

inline constexpr const char* kAlpnFilterName = "istio.alpn";

class AlpnFilter final : public StreamFilter {
 public:
  FilterHeadersStatus decode_headers(Request& req, bool end_stream) override;
};

class AlpnFilterFactory final : public FilterFactory {
 public:
  bool encodes() const override { return false; }
  bool has_stream_state() const override { return false; }
  std::unique_ptr<StreamFilter> create() const override { return std::make_unique<AlpnFilter>(); }
};

}  // namespace meshsim::proxy::http
