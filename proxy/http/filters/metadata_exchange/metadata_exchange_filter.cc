#include "proxy/http/filters/metadata_exchange/metadata_exchange_filter.h"

#include "proxy/engine/context.h"

namespace meshsim::proxy::http {

FilterHeadersStatus MetadataExchangeFilter::decode_headers(Request& req, bool) {
  TrafficDirection dir = callbacks_->manager_config().direction;
  if (dir == TrafficDirection::kOutbound) {
    const std::string& node_id = callbacks_->engine().node_id;
    if (!node_id.empty()) req.headers.set("x-envoy-peer-metadata-id", node_id);
  } else if (dir == TrafficDirection::kInbound) {
    req.headers.remove("x-envoy-peer-metadata-id");
    req.headers.remove("x-envoy-peer-metadata");
  }
  return FilterHeadersStatus::kContinue;
}

}  // namespace meshsim::proxy::http
