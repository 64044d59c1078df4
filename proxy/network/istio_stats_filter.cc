#include "proxy/network/istio_stats_filter.h"

#include "proxy/engine/context.h"
#include "proxy/engine/snapshot.h"
#include "proxy/istio_stats_labels.h"

namespace meshsim::proxy::network {

namespace {
constexpr uint32_t kReportTimer = 0x15710;
}

FilterStatus IstioTcpStatsFilter::on_new_connection() {
  if (config_.tcp_reporting_duration > Duration::zero())
    conn_.arm_filter_timer(config_.tcp_reporting_duration, *this, kReportTimer);
  return FilterStatus::kContinue;
}

FilterStatus IstioTcpStatsFilter::on_data(std::string_view data) {
  received_ += data.size();
  return FilterStatus::kContinue;
}

FilterStatus IstioTcpStatsFilter::on_write(std::string_view data) {
  sent_ += data.size();
  return FilterStatus::kContinue;
}

void IstioTcpStatsFilter::on_timer(uint32_t which) {
  if (which != kReportTimer || closed_) return;
  report(false);
  conn_.arm_filter_timer(config_.tcp_reporting_duration, *this, kReportTimer);
}

void IstioTcpStatsFilter::on_connection_closed() {
  if (closed_) return;
  report(true);
  closed_ = true;
}

void IstioTcpStatsFilter::report(bool closing) {
  if (!ctx_.metrics) return;
  const ConnectionFilterState& fs = conn_.filter_state();
  bool outbound = conn_.listener().direction == TrafficDirection::kOutbound;
  const PeerInfo& peer = outbound ? fs.upstream_peer : fs.downstream_peer;
  bool open_now = !opened_ && (peer.known() || closing);
  if (!opened_ && !open_now) return;  // nothing is reported before the peer is known

  StatsLabelInputs in;
  in.outbound = outbound;
  in.node = &conn_.snapshot()->config().node;
  in.peer = &peer;
  in.tls = outbound ? &fs.upstream_tls : &conn_.security();
  in.cluster = fs.upstream_cluster;
  in.cluster_name = fs.upstream_cluster_name;
  in.endpoint = fs.upstream_endpoint;
  in.disable_host_header_fallback = config_.disable_host_header_fallback;
  std::array<std::string_view, kTcpLabelCount> labels;
  PeerLabels p;
  std::string_view security = compute_peer_labels(in, p);
  for (size_t i = 0; i < kPeerLabelCount; ++i) labels[i] = p[i];
  labels[20] = "tcp";
  std::string flags = fs.response_flags ? format_response_flags(fs.response_flags) : std::string("-");
  labels[21] = flags;
  labels[22] = security;
  IstioMetrics::TcpSeries& s = ctx_.metrics->tcp(labels);
  if (open_now) {
    ++s.opened;
    opened_ = true;
  }
  s.received_bytes += received_ - reported_received_;
  s.sent_bytes += sent_ - reported_sent_;
  reported_received_ = received_;
  reported_sent_ = sent_;
  if (closing) ++s.closed;
}

}  // namespace meshsim::proxy::network
