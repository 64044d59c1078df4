#include "proxy/engine/sidecar.h"

#include <algorithm>
#include <vector>

#include "proxy/engine/context.h"
#include "proxy/engine/downstream_connection.h"
#include "proxy/upstream/cluster_manager.h"

namespace meshsim::proxy {

class Sidecar::Impl {
 public:
  Impl(Io& io, Options o) : ctx_(io, o.transport, o.access_log, o.node_id), cm_(ctx_), name_(std::move(o.name)) {
    ctx_.spans = o.spans;
    ctx_.upstream_events = o.upstream_events;
    ctx_.clusters = &cm_;
  }

  void apply_config(std::shared_ptr<const ProxyConfig> config) {
    bool had = ctx_.current != nullptr;
    ctx_.current = std::make_shared<engine::Snapshot>(std::move(config));
    const ProxyConfig& pc = ctx_.current->config();
    if (!ctx_.metrics) ctx_.metrics = std::make_unique<IstioMetrics>(pc.stats_histogram_buckets, pc.node.istio_version);
    WorkloadMetadata local = workload_metadata_of(pc.node, ctx_.node_id.empty() ? std::string_view(pc.node_id) : ctx_.node_id);
    if (!had || !(local == ctx_.local_workload)) {
      ctx_.local_workload = std::move(local);
      ctx_.peer_metadata_header = peer_metadata_header(ctx_.local_workload);
      ctx_.peer_exchange_preamble = peer_exchange_preamble(ctx_.local_workload);
    }
    // Drain the connections whose filter chain the push removed or changed,
    // in connection order (deterministic).
    std::vector<ConnId> ids;
    ctx_.conns.for_each([&](ConnId id, const engine::Connection& c) {
      if (!c.is_upstream()) ids.push_back(id);
    });
    std::sort(ids.begin(), ids.end());
    for (ConnId id : ids) {
      engine::Connection* c = ctx_.conns.find(id);
      if (c) static_cast<engine::DownstreamConnection*>(c)->on_config_changed(*ctx_.current);
    }
    cm_.load_balancer().sync_clusters(*ctx_.current);
    if (had) cm_.repool_idle();
    ctx_.deleter.clear();
  }

  const ProxyConfig* config() const { return ctx_.current ? &ctx_.current->config() : nullptr; }

  void on_downstream_accepted(ConnId id, const DownstreamInfo& info) {
    auto* d = ctx_.conns.add(id, std::make_unique<engine::DownstreamConnection>(ctx_, info));
    d->start();
    ctx_.deleter.clear();
  }

  void on_data(ConnId id, std::span<const uint8_t> bytes) {
    if (engine::Connection* c = ctx_.conns.find(id)) c->on_data(as_chars(bytes));
    ctx_.deleter.clear();
  }

  void on_peer_closed(ConnId id, CloseType how) {
    if (engine::Connection* c = ctx_.conns.find(id)) c->on_peer_closed(how);
    ctx_.deleter.clear();
  }

  void on_upstream_connected(ConnId id) {
    engine::Connection* c = ctx_.conns.find(id);
    if (c && c->is_upstream()) static_cast<upstream::UpstreamConnection*>(c)->on_connected();
    ctx_.deleter.clear();
  }

  void on_upstream_connect_failed(ConnId id, ConnectFailure why) {
    engine::Connection* c = ctx_.conns.find(id);
    if (c && c->is_upstream()) static_cast<upstream::UpstreamConnection*>(c)->on_connect_failed(why);
    ctx_.deleter.clear();
  }

  void on_timer(TimerToken token) {
    ctx_.timers.fire(token);
    ctx_.deleter.clear();
  }

  const SidecarStats& stats() const { return ctx_.stats; }
  const IstioMetrics* metrics() const { return ctx_.metrics.get(); }
  size_t open_connections() const { return ctx_.conns.size(); }

 private:
  engine::EngineContext ctx_;
  upstream::ClusterManager cm_;
  std::string name_;
};

Sidecar::Sidecar(Io& io, Options options) : impl_(std::make_unique<Impl>(io, std::move(options))) {}
Sidecar::~Sidecar() = default;
void Sidecar::apply_config(std::shared_ptr<const ProxyConfig> config) { impl_->apply_config(std::move(config)); }
const ProxyConfig* Sidecar::config() const { return impl_->config(); }
void Sidecar::on_downstream_accepted(ConnId id, const DownstreamInfo& info) { impl_->on_downstream_accepted(id, info); }
void Sidecar::on_data(ConnId id, std::span<const uint8_t> bytes) { impl_->on_data(id, bytes); }
void Sidecar::on_peer_closed(ConnId id, CloseType how) { impl_->on_peer_closed(id, how); }
void Sidecar::on_upstream_connected(ConnId id) { impl_->on_upstream_connected(id); }
void Sidecar::on_upstream_connect_failed(ConnId id, ConnectFailure why) { impl_->on_upstream_connect_failed(id, why); }
void Sidecar::on_timer(TimerToken token) { impl_->on_timer(token); }
const SidecarStats& Sidecar::stats() const { return impl_->stats(); }
const IstioMetrics* Sidecar::metrics() const { return impl_->metrics(); }
size_t Sidecar::open_connections() const { return impl_->open_connections(); }

}  // namespace meshsim::proxy
