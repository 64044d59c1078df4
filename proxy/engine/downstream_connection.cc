#include "proxy/engine/downstream_connection.h"

#include "proxy/http_inspector.h"
#include "proxy/network/registry.h"

namespace meshsim::proxy::engine {

void clear_security(SecurityInfo& s) {
  s.tls = s.handshake_complete = s.peer_certificate = s.resumed = false;
  s.version.clear();
  s.cipher.clear();
  s.alpn.clear();
  s.sni.clear();
  s.peer_uri_sans.clear();
  s.peer_dns_sans.clear();
  s.local_uri_san.clear();
  s.peer_subject.clear();
  s.peer_certificate_sha256.clear();
  s.failure_reason.clear();
  s.transport_socket.clear();
  s.tls_mode.clear();
}

namespace {
const SecurityInfo kNoSecurity;
}

DownstreamConnection::DownstreamConnection(EngineContext& ctx, const DownstreamInfo& info)
    : engine::Connection(/*upstream=*/false), ctx_(ctx), info_(info), snap_(ctx.current), start_(ctx.io.now()) {}

DownstreamConnection::~DownstreamConnection() { ++ctx_.stats.deferred_deleted; }

const SecurityInfo& DownstreamConnection::security() const {
  return transport_ ? transport_->security() : kNoSecurity;
}

void DownstreamConnection::start() {
  ++ctx_.stats.downstream_cx_total;
  ++ctx_.stats.downstream_cx_active;
  if (!snap_) {
    reject("no configuration");
    return;
  }
  listener_ = snap_->pick_listener(info_.listener_port, info_.original_destination);
  if (!listener_) {
    reject("no listener");
    return;
  }
  match_.destination = info_.original_destination;
  // Listener filters: which inspectors run for this destination port.
  uint16_t port = info_.original_destination.port;
  for (const ListenerFilter& f : listener_->listener_filters) {
    if (f.disabled.disabled_for(port)) continue;
    if (f.name == kTlsInspectorFilter) tls_pending_ = true;
    if (f.name == kHttpInspectorFilter) http_pending_ = true;
  }
  if (!tls_pending_) match_.transport_protocol = "raw_buffer";
  if (tls_pending_ || http_pending_) {
    if (listener_->listener_filters_timeout > Duration::zero()) {
      ConnId cid = id();
      EngineContext* ctx = &ctx_;
      inspect_timer_ = ctx_.timers.arm(listener_->listener_filters_timeout, [ctx, cid] {
        auto* c = ctx->conns.find(cid);
        if (c && !c->is_upstream()) static_cast<DownstreamConnection*>(c)->inspect_timeout();
      });
    }
    return;  // wait for the client's first bytes
  }
  finish_inspection();
}

void DownstreamConnection::on_data(std::string_view data) {
  if (inspecting_) {
    peeked_.append(data);
    run_inspectors();
    return;
  }
  transport_data(data);
}

// ----------------------------------------------------------- inspection --

void DownstreamConnection::run_inspectors() {
  if (tls_pending_) {
    ClientHelloInfo hello;
    if (ctx_.transport) hello = ctx_.transport->inspect_client_hello(peeked_);
    else hello.status = ClientHelloInfo::Status::kNotTls;
    if (hello.status == ClientHelloInfo::Status::kNeedMoreBytes) return;
    tls_pending_ = false;
    if (hello.status == ClientHelloInfo::Status::kClientHello) {
      match_.transport_protocol = "tls";
      match_.server_name = hello.server_name;
      match_.application_protocols = hello.alpn;
      http_pending_ = false;  // the HTTP inspector only looks at plaintext
    } else {
      match_.transport_protocol = "raw_buffer";
    }
  }
  if (http_pending_) {
    HttpInspection h = inspect_http(peeked_);
    if (h.status == HttpInspection::Status::kNeedMoreBytes) return;
    http_pending_ = false;
    if (!h.protocol.empty()) match_.application_protocols = {h.protocol};
  }
  finish_inspection();
}

void DownstreamConnection::inspect_timeout() {
  inspect_timer_ = Timer{};
  if (!inspecting_) return;
  ++ctx_.stats.listener_filter_timeouts;
  if (!listener_->continue_on_listener_filters_timeout) {
    reject("listener filters timed out");
    return;
  }
  // Continue with whatever was detected: nothing, i.e. plaintext, no ALPN.
  if (tls_pending_) match_.transport_protocol = "raw_buffer";
  tls_pending_ = http_pending_ = false;
  finish_inspection();
}

void DownstreamConnection::finish_inspection() {
  inspecting_ = false;
  if (inspect_timer_.armed()) ctx_.timers.disarm(inspect_timer_);
  if (match_.transport_protocol.empty()) match_.transport_protocol = "raw_buffer";
  std::string why_not;
  FilterChainSelection sel = select_filter_chain(*listener_, match_, ctx_.detailed_log() ? &why_not : nullptr);
  if (!sel.chain) {
    ++ctx_.stats.no_filter_chain_match;
    reject("filter_chain_not_found", why_not);
    return;
  }
  chain_ = sel.chain;
  if (chain_->tls) {
    if (!ctx_.transport) {
      reject("no TLS support");
      return;
    }
    transport_ = ctx_.transport->make_server(*chain_->tls);
  } else {
    transport_ = std::make_unique<RawTransportSocket>();
  }
  if (chain_->filters.empty()) {
    reject("filter chain has no network filter");
    return;
  }
  for (const NetworkFilter& f : chain_->filters) {
    auto filter = network::create_filter(f, ctx_, *this);
    if (filter) read_filters_.push_back(std::move(filter));
  }
  if (read_filters_.empty()) {
    reject("filter chain has no network filter the engine runs");
    return;
  }
  // Write filters run in the reverse order of the read filters (Envoy).
  for (size_t i = read_filters_.size(); i-- > 0;) {
    if (auto* w = dynamic_cast<network::WriteFilter*>(read_filters_[i].get())) write_filters_.push_back(w);
  }
  for (auto& f : read_filters_) {
    if (closed() || f->on_new_connection() == network::FilterStatus::kStopIteration) break;
  }
  // Whatever the inspectors peeked is the first input of the transport. The
  // filters may have closed the connection already (tcp_proxy to a cluster
  // that does not exist): this object stays valid until the entry returns.
  if (closed()) return;
  std::string first;
  first.swap(peeked_);
  if (!first.empty()) transport_data(first);
}

// Closes a connection that never reached a network filter and logs it. The
// listener filters only peeked at the client's bytes (MSG_PEEK), so if the
// client sent any, they are still unread in the socket and the kernel
// answers the close with RST (curl: "(56) Recv failure: Connection reset").
void DownstreamConnection::reject(std::string_view why, std::string_view chain_miss) {
  AccessLogEntry& e = access_log_entry();
  e.filter_chain_miss.assign(chain_miss);
  e.response_flags = format_response_flags(kNoRouteFound);
  e.connection_termination_details = std::string(why);
  e.protocol = "tcp";
  ctx_.log(e);
  close(peeked_.empty() ? CloseType::kFin : CloseType::kReset);
}

// --------------------------------------------------------------- bytes --

void DownstreamConnection::transport_data(std::string_view data) {
  network::ReadFilter& terminal = *read_filters_.back();
  if (!transport_->is_tls()) {
    // raw_buffer: the bytes are the application's (no copy).
    for (auto& f : read_filters_) {
      if (f->on_data(data) == network::FilterStatus::kStopIteration || closed()) break;
    }
    return;
  }
  std::string& plain = ctx_.plain;
  plain.clear();
  ctx_.out.clear();
  TransportResult r = transport_->on_network(data, plain, ctx_.out);
  ctx_.flush(id());
  if (r == TransportResult::kFailed) {
    ++ctx_.stats.ssl_connection_error;
    terminal.on_transport_failure(transport_->security().failure_reason);
    return;
  }
  if (r == TransportResult::kEstablished) {
    ++ctx_.stats.ssl_handshake;
    if (transport_->security().resumed) ++ctx_.stats.ssl_session_reused;
  }
  if (!plain.empty()) {
    // Processed in place: nothing on this path reads from a downstream
    // transport again before it returns (Io never calls back synchronously).
    std::string_view app(plain);
    for (auto& f : read_filters_) {
      if (f->on_data(app) == network::FilterStatus::kStopIteration || closed()) break;
    }
  }
  if (r == TransportResult::kPeerClosed && !closed()) on_peer_closed(CloseType::kFin);
}

void DownstreamConnection::write(std::string_view plaintext) {
  for (network::WriteFilter* f : write_filters_) {
    if (f->on_write(plaintext) == network::FilterStatus::kStopIteration) return;
  }
  ctx_.write_through(*transport_, id(), plaintext);
}

void DownstreamConnection::continue_reading(const network::ReadFilter& from, std::string_view data) {
  size_t i = 0;
  while (i < read_filters_.size() && read_filters_[i].get() != &from) ++i;
  for (++i; i < read_filters_.size(); ++i) {
    if (closed() || read_filters_[i]->on_data(data) == network::FilterStatus::kStopIteration) break;
  }
}

void DownstreamConnection::inject_write(const network::WriteFilter& from, std::string_view data) {
  size_t i = 0;
  while (i < write_filters_.size() && write_filters_[i] != &from) ++i;
  for (++i; i < write_filters_.size(); ++i) {
    if (write_filters_[i]->on_write(data) == network::FilterStatus::kStopIteration) return;
  }
  if (!closed()) ctx_.write_through(*transport_, id(), data);
}

void DownstreamConnection::half_close() { ctx_.half_close_through(*transport_, id()); }

void DownstreamConnection::on_peer_closed(CloseType how) {
  if (inspecting_) {
    if (inspect_timer_.armed()) ctx_.timers.disarm(inspect_timer_);
    AccessLogEntry& e = access_log_entry();
    e.connection_termination_details = kClosedDuringListenerFilters;
    e.response_flags = format_response_flags(kDownstreamConnectionTermination);
    e.protocol = "tcp";
    ctx_.log(e);
    forget();
    return;
  }
  if (!read_filters_.empty()) {
    read_filters_.back()->on_remote_close(how);
    return;
  }
  close(CloseType::kFin);
}

void DownstreamConnection::close(CloseType how) {
  if (closed()) return;
  closing_ = true;  // the filters see a closed connection from here on
  for (auto& f : read_filters_) f->on_connection_closed();
  if (how == CloseType::kFin && transport_ && transport_->is_tls() && transport_->security().handshake_complete) {
    ctx_.shutdown_through(*transport_, id());
  }
  ctx_.io.close(id(), how);
  forget();
}

void DownstreamConnection::forget() {
  if (forgotten_) return;
  forgotten_ = true;
  if (inspect_timer_.armed()) ctx_.timers.disarm(inspect_timer_);
  if (ctx_.stats.downstream_cx_active > 0) --ctx_.stats.downstream_cx_active;
  ctx_.conns.remove(id());
}

// ---------------------------------------------------------------- drain --

// Envoy drains the connections of a filter chain that a push removed or
// changed (Istio runs sidecars with --drain-strategy immediate); connections
// on unchanged chains are untouched. What draining means is the terminal
// filter's business (HTTP: close after the current response; TCP: close when
// the drain period ends).
void DownstreamConnection::on_config_changed(const Snapshot& current) {
  if (inspecting_ || closed() || !chain_ || !listener_ || read_filters_.empty()) return;
  if (current.has_chain(listener_->name, Snapshot::chain_signature(*chain_))) return;
  read_filters_.back()->on_drain(current.config().drain_duration);
}

void DownstreamConnection::close_by_filter(CloseType how, std::string_view details) {
  if (closed()) return;
  if (!read_filters_.empty() && read_filters_.back()->on_local_close(how, details)) {
    close(how);  // no-op when the terminal filter closed it already
    return;
  }
  AccessLogEntry& e = access_log_entry();
  e.connection_termination_details = std::string(details);
  e.protocol = "tcp";
  ctx_.log(e);
  close(how);
}

void DownstreamConnection::arm_filter_timer(Duration after, const network::ReadFilter& filter, uint32_t which) {
  size_t index = 0;
  while (index < read_filters_.size() && read_filters_[index].get() != &filter) ++index;
  if (index == read_filters_.size()) return;
  ConnId cid = id();
  EngineContext* ctx = &ctx_;
  ctx_.timers.arm_unowned(after, [ctx, cid, which, index] {
    auto* c = ctx->conns.find(cid);
    if (!c || c->is_upstream()) return;
    auto* d = static_cast<DownstreamConnection*>(c);
    if (!d->closed() && index < d->read_filters_.size()) d->read_filters_[index]->on_timer(which);
  });
}

void DownstreamConnection::arm_timer(Duration after, uint32_t which) {
  ConnId cid = id();
  EngineContext* ctx = &ctx_;
  ctx_.timers.arm_unowned(after, [ctx, cid, which] {
    auto* c = ctx->conns.find(cid);
    if (!c || c->is_upstream()) return;
    auto* d = static_cast<DownstreamConnection*>(c);
    if (!d->closed() && !d->read_filters_.empty()) d->read_filters_.back()->on_timer(which);
  });
}

// ----------------------------------------------------------------- logs --

AccessLogEntry& DownstreamConnection::access_log_entry() {
  AccessLogEntry& e = ctx_.entry;
  e.connection = id();
  e.start_time = start_;
  e.duration = ctx_.io.now() - start_;
  e.direction = listener_ ? listener_->direction : TrafficDirection::kUnspecified;
  e.listener.assign(listener_ ? std::string_view(listener_->name) : std::string_view());
  e.filter_chain.assign(chain_ ? std::string_view(chain_->name) : std::string_view());
  e.route_config.clear();
  e.virtual_host.clear();
  e.route.clear();
  e.cluster.clear();
  e.cluster_description.clear();
  e.filter_chain_miss.clear();
  e.filter_chain_description.assign(chain_ && ctx_.detailed_log() ? std::string_view(chain_->description) : std::string_view());
  e.upstream_host.clear();
  e.downstream_remote = info_.remote;
  e.downstream_local = info_.original_destination;
  e.response_flags.assign("-");
  e.upstream_transport_failure_reason.clear();
  e.connection_termination_details.clear();
  e.http = false;
  e.protocol.clear();
  e.method.clear();
  e.path.clear();
  e.authority.clear();
  e.request_id.clear();
  e.response_code = 0;
  e.response_code_details.clear();
  e.attempts = 0;
  e.mirrored_to.clear();
  e.rbac = rbac_;
  e.request_auth.clear();
  e.bytes_received = e.bytes_sent = 0;
  clear_security(e.downstream_tls);
  clear_security(e.upstream_tls);
  if (ctx_.detailed_log()) {
    if (transport_) e.downstream_tls = transport_->security();
    e.downstream_tls.sni = match_.server_name;
  }
  e.transport_protocol.assign(!inspecting_ ? std::string_view(match_.transport_protocol) : std::string_view());
  if (chain_) {
    if (chain_->tls) e.tls_termination.assign(chain_->tls->require_client_certificate ? "mtls" : "tls");
    else e.tls_termination.assign(match_.transport_protocol == "tls" ? "passthrough" : "none");
  } else {
    e.tls_termination.clear();
  }
  return e;
}

}  // namespace meshsim::proxy::engine
