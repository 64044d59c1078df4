#include "proxy/http/filters/alpn/alpn_filter.h"

#include "proxy/engine/snapshot.h"
#include "proxy/upstream/cluster.h"

namespace meshsim::proxy::http {

namespace {
const std::vector<std::string> kAlpn11 = {"istio-http/1.1", "istio", "http/1.1"};
const std::vector<std::string> kAlpn10 = {"istio-http/1.0", "istio", "http/1.0"};
const std::vector<std::string> kAlpn2 = {"istio-h2", "istio", "h2"};
}  // namespace

FilterHeadersStatus AlpnFilter::decode_headers(Request& req, bool) {
  StreamInfo& info = callbacks_->stream_info();
  const upstream::CompiledCluster* cc = info.cluster.empty() ? nullptr : callbacks_->route_snapshot().cluster(info.cluster);
  if (cc && cc->cluster->http2) {
    info.upstream_alpn = &kAlpn2;
    return FilterHeadersStatus::kContinue;
  }
  info.upstream_alpn = req.version >= 11 ? &kAlpn11 : &kAlpn10;
  return FilterHeadersStatus::kContinue;
}

}  // namespace meshsim::proxy::http
