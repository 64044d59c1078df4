#include "proxy/http/filters/istio_stats/istio_stats_filter.h"

#include <charconv>

#include "proxy/engine/context.h"
#include "proxy/engine/snapshot.h"
#include "proxy/istio_stats_labels.h"
#include "proxy/network/filter.h"

namespace meshsim::proxy::http {

void IstioStatsFilter::on_log() {
  engine::EngineContext& ctx = callbacks_->engine();
  if (!ctx.metrics) return;
  network::Connection& conn = callbacks_->connection();
  const StreamInfo& info = callbacks_->stream_info();
  const Request& req = callbacks_->request();
  bool outbound = callbacks_->manager_config().direction == TrafficDirection::kOutbound;
  const engine::Snapshot& snap =
      callbacks_->route_snapshot_ptr() ? callbacks_->route_snapshot() : *conn.snapshot();

  StatsLabelInputs in;
  in.outbound = outbound;
  in.node = &snap.config().node;
  in.peer = outbound ? &info.upstream_peer : &info.downstream_peer;
  in.tls = outbound ? &info.upstream_tls : &conn.security();
  in.cluster_name = info.cluster;
  in.route_name = info.route_name;
  const upstream::CompiledCluster* cc = info.cluster.empty() ? nullptr : snap.cluster(info.cluster);
  if (cc) in.cluster = cc->cluster;
  if (cc && info.has_upstream) {
    for (const LbEndpoint* ep : cc->endpoints) {
      if (ep->address == info.upstream_host) {
        in.endpoint = ep;
        break;
      }
    }
  }
  in.host = req.host();
  in.disable_host_header_fallback = config_->disable_host_header_fallback;

  std::array<std::string_view, kHttpLabelCount> labels;
  PeerLabels peer;
  std::string_view security = compute_peer_labels(in, peer);
  for (size_t i = 0; i < kPeerLabelCount; ++i) labels[i] = peer[i];
  std::string_view content_type = req.headers.get("content-type").value_or("");
  bool grpc = content_type.substr(0, 16) == "application/grpc";
  labels[20] = grpc ? "grpc" : "http";
  char code[12];
  auto [e, ec] = std::to_chars(code, code + sizeof code, info.response_code);
  (void)ec;
  labels[21] = std::string_view(code, static_cast<size_t>(e - code));
  labels[22] = "";  // grpc_response_status: gRPC is not modelled
  std::string flags = info.response_flags ? format_response_flags(info.response_flags) : std::string("-");
  labels[23] = flags;
  labels[24] = security;

  IstioMetrics& m = *ctx.metrics;
  // requestComplete() in whole milliseconds (absl integer division truncates).
  Duration d = ctx.io.now() - info.start;
  uint64_t ms = d.ns() > 0 ? static_cast<uint64_t>(d.ns()) / 1'000'000 : 0;
  m.record_request(m.http(labels), ms, info.wire_bytes_received, info.wire_bytes_sent);
}

}  // namespace meshsim::proxy::http
