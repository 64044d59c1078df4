#include "proxy/network/tcp_proxy.h"

#include "proxy/engine/context.h"
#include "proxy/engine/snapshot.h"
#include "proxy/upstream/cluster_manager.h"

namespace meshsim::proxy::network {

namespace {
constexpr uint32_t kDrainTimer = 1;
}

TcpProxyFilter::TcpProxyFilter(engine::EngineContext& ctx, Connection& connection, const TcpProxy& config)
    : ctx_(ctx), conn_(connection), config_(config) {}

TcpProxyFilter::~TcpProxyFilter() = default;

FilterStatus TcpProxyFilter::on_new_connection() {
  upstream::ClusterManager& cm = *ctx_.clusters;
  std::string cluster = config_.cluster;
  if (!config_.weighted_clusters.empty()) cluster = cm.pick_weighted(config_.weighted_clusters);
  cluster_ = cluster;
  const upstream::CompiledCluster* cc = conn_.snapshot()->cluster(cluster);
  if (!cc) {
    flags_ |= kNoClusterFound;
    termination_ = "cluster not found";
    finish(CloseType::kFin);
    return FilterStatus::kStopIteration;
  }
  cluster_config_ = cc->cluster;
  conn_.filter_state().upstream_cluster = cc->cluster;
  conn_.filter_state().upstream_cluster_name = cc->cluster->name;
  if (cluster == kBlackHoleCluster) {
    termination_ = "BlackHoleCluster";
    finish(CloseType::kFin);
    return FilterStatus::kStopIteration;
  }
  // max_connections reached: Envoy's tcp_proxy refuses at once rather than
  // queue (Filter::establishUpstreamConnection): UO, no byte proxied.
  if (cm.resources(*cc->cluster).connections >= cc->cluster->circuit_breakers.max_connections) {
    ++ctx_.stats.upstream_cx_overflow;
    flags_ |= kUpstreamOverflow;
    termination_ = "max_connections circuit breaker";
    finish(CloseType::kFin);
    return FilterStatus::kStopIteration;
  }
  const LbEndpoint* ep = cm.load_balancer().choose(*cc, {conn_.info().original_destination, nullptr, std::nullopt, 0});
  if (!ep) {
    flags_ |= kNoHealthyUpstream;
    termination_ = "no healthy upstream";
    finish(CloseType::kFin);
    return FilterStatus::kStopIteration;
  }
  upstream_host_ = to_string(ep->address);
  compiled_ = cc;
  upstream_address_ = ep->address;
  conn_.filter_state().upstream_endpoint = ep;
  up_ = cm.connect(conn_.snapshot(), *cc, *ep, {}, upstream::PoolKey{});
  up_->set_owner(this);
  return FilterStatus::kContinue;
}

FilterStatus TcpProxyFilter::on_data(std::string_view data) {
  bytes_received_ += data.size();
  if (!up_) return FilterStatus::kStopIteration;
  if (up_->established()) {
    up_->send(data);
    sync_upstream_peer();
  } else {
    pending_.append(data);
  }
  return FilterStatus::kStopIteration;
}

void TcpProxyFilter::on_remote_close(CloseType how) {
  if (how == CloseType::kReset) {
    termination_ = "downstream reset";
    finish(CloseType::kReset);
    return;
  }
  down_fin_ = true;
  conn_.set_peer_half_closed();
  if (up_ && up_->established()) {
    up_->half_close();
  } else if (up_) {
    pending_fin_ = true;
  } else {
    finish(CloseType::kFin);
    return;
  }
  if (up_fin_) finish(CloseType::kFin);
}

void TcpProxyFilter::on_transport_failure(std::string_view reason) {
  termination_ = "downstream TLS handshake failed: ";
  termination_.append(reason);
  finish(CloseType::kFin);
}

void TcpProxyFilter::on_drain(Duration drain_duration) {
  if (draining_) return;
  draining_ = true;
  conn_.arm_timer(drain_duration, kDrainTimer);
}

void TcpProxyFilter::on_timer(uint32_t which) {
  if (which != kDrainTimer || finished_) return;
  termination_ = "drained after a configuration change";
  finish(CloseType::kFin);
}

bool TcpProxyFilter::on_local_close(CloseType how, std::string_view details) {
  if (!finished_) {
    termination_.assign(details);
    finish(how);
  }
  return true;
}

// The upstream connection's metadata exchange result, as the stats filter
// reads it (Envoy: upstreamInfo()->upstreamFilterState()).
void TcpProxyFilter::sync_upstream_peer() {
  if (!up_) return;
  PeerInfo& mine = conn_.filter_state().upstream_peer;
  const PeerInfo& theirs = up_->peer();
  if (mine.state != theirs.state) mine = theirs;
}

void TcpProxyFilter::on_upstream_ready(upstream::UpstreamConnection& u) {
  // onGenericPoolReady: the connection is all tcp_proxy judges.
  if (compiled_) {
    ctx_.clusters->load_balancer().put_result(*compiled_, upstream_address_,
                                              upstream::OutlierResult::kLocalOriginConnectSuccessFinal);
  }
  upstream_tls_ = u.security();
  conn_.filter_state().upstream_tls = u.security();
  if (!pending_.empty()) {
    std::string p;
    p.swap(pending_);
    u.send(p);
  }
  sync_upstream_peer();
  if (pending_fin_) u.half_close();
}

void TcpProxyFilter::on_upstream_data(upstream::UpstreamConnection&, std::string_view data) {
  sync_upstream_peer();
  bytes_sent_ += data.size();
  conn_.write(data);
}

void TcpProxyFilter::on_upstream_closed(upstream::UpstreamConnection&, CloseType how) {
  if (how == CloseType::kReset) {
    termination_ = "upstream reset";
    flags_ |= kUpstreamRemoteReset;
    finish(CloseType::kReset);
    return;
  }
  up_fin_ = true;
  conn_.half_close();
  if (down_fin_) finish(CloseType::kFin);
}

void TcpProxyFilter::on_upstream_failed(upstream::UpstreamConnection& u, bool connect_failure,
                                        const std::string& reason, const std::string& transport) {
  flags_ |= connect_failure ? kUpstreamConnectionFailure : kUpstreamConnectionTermination;
  // onConnectTimeout / a remote close while connecting.
  if (connect_failure && compiled_) {
    ctx_.clusters->load_balancer().put_result(*compiled_, upstream_address_,
                                              reason == "connection timeout"
                                                  ? upstream::OutlierResult::kLocalOriginTimeout
                                                  : upstream::OutlierResult::kLocalOriginConnectFailed);
  }
  failure_reason_ = transport;
  upstream_tls_ = u.security();
  termination_ = reason;
  // Envoy keeps downstream reads disabled until the upstream connects; a
  // close with bytes the client sent still unread makes the kernel send RST.
  bool unread = connect_failure && bytes_received_ > 0;
  finish(unread ? CloseType::kReset : CloseType::kFin);
}

void TcpProxyFilter::finish(CloseType how) {
  if (finished_) return;
  finished_ = true;
  AccessLogEntry& e = conn_.access_log_entry();
  e.protocol = "tcp";
  e.cluster = cluster_;
  e.upstream_host = upstream_host_;
  if (flags_) e.response_flags = format_response_flags(flags_);
  e.upstream_transport_failure_reason = failure_reason_;
  e.connection_termination_details = termination_;
  e.bytes_received = bytes_received_;
  e.bytes_sent = bytes_sent_;
  if (ctx_.detailed_log()) {
    e.upstream_tls = up_ ? up_->security() : upstream_tls_;
    e.cluster_description.assign(cluster_config_ ? std::string_view(cluster_config_->description) : std::string_view());
  }
  sync_upstream_peer();
  conn_.filter_state().response_flags = flags_;
  if (up_) {
    upstream::UpstreamConnection* u = up_;
    up_ = nullptr;
    u->set_owner(nullptr);
    ctx_.clusters->close(*u, how);
  }
  ctx_.log(e);
  conn_.close(how);
}

}  // namespace meshsim::proxy::network
