#include "proxy/upstream/upstream_connection.h"

#include "proxy/engine/context.h"
#include "proxy/upstream/cluster_manager.h"

namespace meshsim::proxy::upstream {

UpstreamConnection::UpstreamConnection(engine::EngineContext& ctx, std::shared_ptr<const engine::Snapshot> snap,
                                       const Cluster& cluster, const SocketAddress& address,
                                       std::unique_ptr<TransportSocket> transport, const PoolKey& key)
    : engine::Connection(/*upstream=*/true),
      ctx_(ctx),
      snap_(std::move(snap)),
      cluster_(&cluster),
      address_(address),
      transport_(std::move(transport)),
      pool_key_(key),
      mx_(cluster.metadata_exchange ? Exchange::kPending : Exchange::kOff) {}

UpstreamConnection::~UpstreamConnection() { ++ctx_.stats.deferred_deleted; }

void UpstreamConnection::send(std::string_view plaintext) {
  if (mx_ == Exchange::kPending) start_exchange();
  ctx_.write_through(*transport_, id(), plaintext);
}

void UpstreamConnection::start_exchange() {
  if (transport_->security().alpn != kPeerExchangeAlpn) {
    peer_.state = PeerInfo::State::kNotFound;  // alpn_protocol_not_found
    mx_ = Exchange::kDone;
    return;
  }
  mx_ = Exchange::kReading;
  ctx_.write_through(*transport_, id(), ctx_.peer_exchange_preamble);
}

void UpstreamConnection::deliver(std::string_view bytes) {
  if (mx_ == Exchange::kPending) start_exchange();
  std::string rest;
  if (mx_ == Exchange::kReading) {
    mx_buf_.append(bytes);
    size_t consumed = 0;
    PreambleStatus st = parse_peer_exchange_preamble(mx_buf_, consumed, peer_.md);
    if (st == PreambleStatus::kNeedMore) return;
    mx_ = Exchange::kDone;
    if (st == PreambleStatus::kComplete) {
      peer_.state = PeerInfo::State::kFound;
    } else {
      peer_.clear();
      peer_.state = PeerInfo::State::kNotFound;
    }
    rest = mx_buf_.substr(consumed);
    mx_buf_.clear();
    mx_buf_.shrink_to_fit();
    if (rest.empty()) return;
    bytes = rest;
  }
  if (owner_) {
    owner_->on_upstream_data(*this, bytes);
    return;
  }
  // Data on an idle pooled connection: Envoy treats it as a protocol error.
  ctx_.clusters->close(*this, CloseType::kReset);
}

void UpstreamConnection::half_close() { ctx_.half_close_through(*transport_, id()); }

void UpstreamConnection::on_connected() {
  connected_ = true;
  if (transport_->is_tls()) {
    ctx_.out.clear();
    transport_->start(ctx_.out);
    ctx_.flush(id());
    return;
  }
  established_ = true;
  if (owner_) owner_->on_upstream_ready(*this);
}

void UpstreamConnection::on_connect_failed(ConnectFailure why) {
  ++ctx_.stats.upstream_cx_connect_fail;
  if (why == ConnectFailure::kTimeout) ++ctx_.stats.upstream_cx_connect_timeout;
  std::string reason = why == ConnectFailure::kTimeout ? "connection timeout" : "remote connection failure";
  std::string transport =
      why == ConnectFailure::kTimeout ? "" : "delayed connect error: " + std::string(to_string(why));
  fail(/*connect_failure=*/true, reason, transport);
}

void UpstreamConnection::fail(bool connect_failure, const std::string& reason, const std::string& transport) {
  if (owner_) {
    owner_->on_upstream_failed(*this, connect_failure, reason, transport);
    return;
  }
  ctx_.clusters->close(*this, CloseType::kReset);
}

void UpstreamConnection::on_data(std::string_view data) {
  auto app_data = [this](std::string_view bytes) { deliver(bytes); };
  if (!transport_->is_tls()) {
    app_data(data);
    return;
  }
  std::string& plain = ctx_.plain_up;
  plain.clear();
  ctx_.out.clear();
  TransportResult r = transport_->on_network(data, plain, ctx_.out);
  ctx_.flush(id());
  if (r == TransportResult::kFailed) {
    ++ctx_.stats.upstream_ssl_connection_error;
    // Envoy: the transport asks to close from the read path, which the
    // connection raises as RemoteClose — before the handshake completed
    // that is "remote connection failure" (codec_client.cc onEvent), with
    // the TLS error as the transport failure reason.
    fail(/*connect_failure=*/!established_, established_ ? "connection termination" : "remote connection failure",
         "TLS_error:|" + transport_->security().failure_reason + ":TLS_error_end");
    return;
  }
  if (r == TransportResult::kEstablished) {
    ++ctx_.stats.upstream_ssl_handshake;
    if (transport_->security().resumed) ++ctx_.stats.upstream_ssl_session_reused;
    established_ = true;
    std::string app;
    app.swap(plain);  // the owner may send (and a TLS 1.3 server may answer at once)
    if (owner_) owner_->on_upstream_ready(*this);
    if (closed()) return;
    if (!app.empty()) app_data(app);
  } else if (!plain.empty()) {
    app_data(plain);
  }
  if (r == TransportResult::kPeerClosed && !closed()) on_peer_closed(CloseType::kFin);
}

void UpstreamConnection::on_peer_closed(CloseType how) {
  if (owner_) {
    owner_->on_upstream_closed(*this, how);
    return;
  }
  ctx_.clusters->close(*this, CloseType::kFin);  // idle pooled connection closed by the server
}

}  // namespace meshsim::proxy::upstream
