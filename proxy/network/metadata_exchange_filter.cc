#include "proxy/network/metadata_exchange_filter.h"

#include "proxy/engine/context.h"

namespace meshsim::proxy::network {

void MetadataExchangeNetworkFilter::start() {
  if (conn_.security().alpn != config_.protocol) {
    // alpn_protocol_not_found: no exchange on this connection.
    conn_.filter_state().downstream_peer.state = PeerInfo::State::kNotFound;
    ctx_.stats.inc("metadata_exchange.alpn_protocol_not_found");
    state_ = State::kDone;
    return;
  }
  state_ = State::kReading;
  conn_.inject_write(*this, ctx_.peer_exchange_preamble);
}

FilterStatus MetadataExchangeNetworkFilter::on_data(std::string_view data) {
  if (state_ == State::kPending) start();
  if (state_ == State::kDone) return FilterStatus::kContinue;
  buf_.append(data);
  size_t consumed = 0;
  PeerInfo& peer = conn_.filter_state().downstream_peer;
  PreambleStatus st = parse_peer_exchange_preamble(buf_, consumed, peer.md);
  if (st == PreambleStatus::kNeedMore) return FilterStatus::kStopIteration;
  state_ = State::kDone;
  if (st == PreambleStatus::kComplete) {
    peer.state = PeerInfo::State::kFound;
    ctx_.stats.inc("metadata_exchange.metadata_added");
  } else {
    peer.clear();
    peer.state = PeerInfo::State::kNotFound;
    ctx_.stats.inc("metadata_exchange.initial_header_not_found");
  }
  std::string rest = buf_.substr(consumed);
  buf_.clear();
  buf_.shrink_to_fit();
  if (!rest.empty()) conn_.continue_reading(*this, rest);
  return FilterStatus::kStopIteration;
}

FilterStatus MetadataExchangeNetworkFilter::on_write(std::string_view) {
  if (state_ == State::kPending) start();
  return FilterStatus::kContinue;
}

}  // namespace meshsim::proxy::network
