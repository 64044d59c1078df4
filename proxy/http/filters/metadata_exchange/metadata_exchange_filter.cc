#include "proxy/http/filters/metadata_exchange/metadata_exchange_filter.h"

#include "proxy/engine/context.h"

namespace meshsim::proxy::http {

namespace {
// Reads the two headers into `peer` (first discovery method: istio_headers).
void discover(const Headers& h, PeerInfo& peer, PeerMetadataCache& cache) {
  if (peer.found()) return;  // a peer is set once per stream
  auto md = h.get(kPeerMetadataHeader);
  if (!md) return;
  auto id = h.get(kPeerMetadataIdHeader);
  if (cache.parse(id.value_or(""), *md, peer.md)) peer.state = PeerInfo::State::kFound;
  else peer.md.clear();
}
}  // namespace

FilterHeadersStatus MetadataExchangeFilter::decode_headers(Request& req, bool) {
  TrafficDirection dir = callbacks_->manager_config().direction;
  StreamInfo& info = callbacks_->stream_info();
  const engine::EngineContext& ctx = callbacks_->engine();
  if (dir == TrafficDirection::kOutbound) {
    info.upstream_peer.clear();
    if (!ctx.node_id.empty()) req.headers.set(kPeerMetadataIdHeader, ctx.node_id);
    if (!ctx.peer_metadata_header.empty()) req.headers.set(kPeerMetadataHeader, ctx.peer_metadata_header);
  } else if (dir == TrafficDirection::kInbound) {
    info.downstream_peer.clear();
    received_id_ = req.headers.has(kPeerMetadataIdHeader);
    received_md_ = req.headers.has(kPeerMetadataHeader);
    discover(req.headers, info.downstream_peer, ctx.peer_metadata_cache);
    req.headers.remove(kPeerMetadataIdHeader);
    req.headers.remove(kPeerMetadataHeader);
  }
  return FilterHeadersStatus::kContinue;
}

FilterHeadersStatus MetadataExchangeFilter::encode_headers(Response& resp, bool) {
  TrafficDirection dir = callbacks_->manager_config().direction;
  const engine::EngineContext& ctx = callbacks_->engine();
  if (dir == TrafficDirection::kOutbound) {
    discover(resp.headers, callbacks_->stream_info().upstream_peer, ctx.peer_metadata_cache);
    resp.headers.remove(kPeerMetadataIdHeader);
    resp.headers.remove(kPeerMetadataHeader);
  } else if (dir == TrafficDirection::kInbound) {
    if (received_id_ && !ctx.node_id.empty()) resp.headers.set(kPeerMetadataIdHeader, ctx.node_id);
    if (received_md_ && !ctx.peer_metadata_header.empty()) resp.headers.set(kPeerMetadataHeader, ctx.peer_metadata_header);
  }
  return FilterHeadersStatus::kContinue;
}

}  // namespace meshsim::proxy::http
