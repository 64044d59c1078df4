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
  if (h2_) {
    deliver_h2(bytes);
    return;
  }
  if (owner_) {
    owner_->on_upstream_data(*this, bytes);
    return;
  }
  // Data on an idle pooled connection: Envoy treats it as a protocol error.
  ctx_.clusters->close(*this, CloseType::kReset);
}

// ---------------------------------------------------------------- HTTP/2 --

void UpstreamConnection::enable_http2() {
  h2_ = std::make_unique<http::Http2ClientCodec>();
  ++ctx_.stats.upstream_cx_http2_total;
}

bool UpstreamConnection::draining() const { return draining_ || (h2_ && h2_->goaway_received()); }

void UpstreamConnection::attach_stream(ConnectionOwner& o) {
  idle_ = false;
  if (established_) {
    o.on_upstream_ready(*this);
    return;
  }
  waiting_.push_back(&o);
}

void UpstreamConnection::bind_stream(uint32_t id, ConnectionOwner& o) {
  idle_ = false;
  streams_.emplace_back(id, &o);
}

void UpstreamConnection::abandon_stream(ConnectionOwner& o) {
  for (size_t i = 0; i < waiting_.size(); ++i) {
    if (waiting_[i] != &o) continue;
    waiting_.erase(waiting_.begin() + static_cast<std::ptrdiff_t>(i));
    stream_done();
    return;
  }
  for (size_t i = 0; i < streams_.size(); ++i) {
    if (streams_[i].second != &o) continue;
    uint32_t id = streams_[i].first;
    streams_.erase(streams_.begin() + static_cast<std::ptrdiff_t>(i));
    // Envoy resets the upstream stream of a request it gives up (a timeout,
    // the client went away): RST_STREAM(CANCEL); the connection stays.
    ++ctx_.stats.upstream_rq_tx_reset;
    std::string& wire = ctx_.h2_out;
    wire.clear();
    h2_->reset_stream(id, http::kH2Cancel, wire);
    if (!wire.empty()) ctx_.write_through(*transport_, this->id(), wire);
    stream_done();
    return;
  }
}

// The last stream ended: the connection is idle (its cluster's idle timeout
// runs), or closes when it may take no new stream.
void UpstreamConnection::stream_done() {
  if (closed() || !streams_.empty() || !waiting_.empty()) return;
  ctx_.clusters->h2_idle(*this);
}

void UpstreamConnection::ready_h2() {
  std::vector<ConnectionOwner*> w;
  w.swap(waiting_);
  for (ConnectionOwner* o : w) {
    if (closed()) {
      // A stream's submit failed the connection: the rest learn it.
      o->on_upstream_failed(*this, false, "connection termination", "");
      continue;
    }
    o->on_upstream_ready(*this);
  }
  if (!closed() && w.empty()) stream_done();
}

void UpstreamConnection::deliver_h2(std::string_view bytes) {
  std::string& wire = ctx_.h2_out;
  wire.clear();
  bool ok = h2_->feed(bytes);
  h2_->drain_output(wire);  // SETTINGS ACK, WINDOW_UPDATE, PING ACK, GOAWAY on an error
  if (!wire.empty()) ctx_.write_through(*transport_, id(), wire);
  if (!ok) {
    // A connection-level protocol error: every stream is reset (Envoy's
    // reset reason "protocol error", UPE).
    fail_streams(false, "protocol error", "");
    if (!closed()) ctx_.clusters->close(*this, CloseType::kReset);
    return;
  }
  http::Http2ClientCodec::Event e;
  while (!closed() && h2_->next_event(e)) {
    ConnectionOwner* o = nullptr;
    for (size_t i = 0; i < streams_.size(); ++i) {
      if (streams_[i].first != e.stream) continue;
      o = streams_[i].second;
      streams_.erase(streams_.begin() + static_cast<std::ptrdiff_t>(i));
      break;
    }
    if (!o) {
      if (e.kind == http::Http2ClientCodec::Event::Kind::kResponse) {
        discard_.clear();
        h2_->take_response(e.stream, discard_);
      }
      continue;
    }
    if (e.kind == http::Http2ClientCodec::Event::Kind::kResponse) {
      o->on_stream_response(*this, e.stream);
    } else {
      ++ctx_.stats.upstream_rq_rx_reset;
      o->on_stream_reset(*this, e.stream, e.error_code);
    }
  }
  if (closed()) return;
  if (h2_->wants_close() || (h2_->goaway_received() && streams_.empty() && waiting_.empty())) {
    fail_streams(false, "connection termination", "");
    if (!closed()) ctx_.clusters->close(*this, CloseType::kFin);
    return;
  }
  stream_done();
}

void UpstreamConnection::fail_streams(bool connect_failure, const std::string& reason, const std::string& transport) {
  std::vector<ConnectionOwner*> all;
  for (auto& [id, o] : streams_) all.push_back(o);
  streams_.clear();
  all.insert(all.end(), waiting_.begin(), waiting_.end());
  waiting_.clear();
  for (ConnectionOwner* o : all) o->on_upstream_failed(*this, connect_failure, reason, transport);
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
  if (h2_) {
    ready_h2();
    return;
  }
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
  if (h2_) {
    fail_streams(connect_failure, reason, transport);
    if (!closed()) ctx_.clusters->close(*this, CloseType::kReset);
    return;
  }
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
    if (h2_) ready_h2();
    else if (owner_) owner_->on_upstream_ready(*this);
    if (closed()) return;
    if (!app.empty()) app_data(app);
  } else if (!plain.empty()) {
    app_data(plain);
  }
  if (r == TransportResult::kPeerClosed && !closed()) on_peer_closed(CloseType::kFin);
}

void UpstreamConnection::on_peer_closed(CloseType how) {
  if (h2_) {
    // Envoy's codec client: streams in flight end with "connection
    // termination" (UC), or "remote connection failure" before the
    // connection was established (UF).
    fail_streams(!established_, established_ ? "connection termination" : "remote connection failure", "");
    if (!closed()) ctx_.clusters->close(*this, how == CloseType::kReset ? CloseType::kReset : CloseType::kFin);
    return;
  }
  if (owner_) {
    owner_->on_upstream_closed(*this, how);
    return;
  }
  ctx_.clusters->close(*this, CloseType::kFin);  // idle pooled connection closed by the server
}

}  // namespace meshsim::proxy::upstream
