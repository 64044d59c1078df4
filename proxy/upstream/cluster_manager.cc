#include "proxy/upstream/cluster_manager.h"

#include <algorithm>

#include "proxy/engine/snapshot.h"

namespace meshsim::proxy::upstream {

const WeightedCluster& ClusterManager::pick_weighted_entry(const std::vector<WeightedCluster>& w) {
  uint64_t total = 0;
  for (const auto& c : w) total += c.weight;
  if (total == 0) return w.front();
  uint64_t r = ctx_.io.random() % total;
  for (const auto& c : w) {
    if (r < c.weight) return c;
    r -= c.weight;
  }
  return w.back();
}

UpstreamConnection* ClusterManager::connect(const std::shared_ptr<const engine::Snapshot>& snap,
                                            const CompiledCluster& cc, const LbEndpoint& ep,
                                            const std::vector<std::string>& alpn_override, const PoolKey& key) {
  std::unique_ptr<TransportSocket> transport;
  LoadBalancer::TransportChoice choice = LoadBalancer::transport_for(*cc.cluster, ep);
  const UpstreamTlsContext* tls = choice.tls;
  if (tls && ctx_.transport) {
    bool istio = tls->istio_mode == "ISTIO_MUTUAL";
    transport = ctx_.transport->make_client(*tls, istio ? alpn_override : std::vector<std::string>{},
                                            cc.cluster->name);
  } else {
    transport = std::make_unique<RawTransportSocket>();
  }
  transport->set_choice(choice.name, tls ? std::string_view(tls->istio_mode) : std::string_view());
  auto c = std::make_unique<UpstreamConnection>(ctx_, snap, *cc.cluster, ep.address, std::move(transport), key);
  ConnId id = ctx_.io.connect(ep.address, cc.cluster->connect_timeout, cc.cluster->upstream_bind);
  ++ctx_.stats.upstream_cx_total;
  ++resources(*cc.cluster).connections;
  ++open_[key];
  return ctx_.conns.add(id, std::move(c));
}

UpstreamConnection* ClusterManager::h2_connection(const std::shared_ptr<const engine::Snapshot>& snap,
                                                  const CompiledCluster& cc, const LbEndpoint& ep,
                                                  const std::vector<std::string>& alpn_override, const PoolKey& key,
                                                  bool& opened) {
  opened = false;
  auto it = h2_.find(key);
  if (it != h2_.end()) {
    std::vector<ConnId>& ids = h2_scratch_;  // current_cluster() may re-key entries
    ids.assign(it->second.begin(), it->second.end());
    for (ConnId id : ids) {
      engine::Connection* c = ctx_.conns.find(id);
      if (!c || !c->is_upstream()) continue;
      auto& u = static_cast<UpstreamConnection&>(*c);
      if (u.closed() || u.draining()) continue;
      if (!current_cluster(u)) {
        u.set_draining();  // its cluster changed: no new streams, closes when the last ends
        continue;
      }
      uint32_t max_rq = u.cluster().max_requests_per_connection;
      if (max_rq != 0 && u.requests_served() >= max_rq) {
        u.set_draining();
        ++ctx_.stats.upstream_cx_max_requests;
        continue;
      }
      uint32_t limit = u.established() ? u.h2()->peer_max_concurrent_streams() : 100u;
      if (u.streams() >= limit) continue;
      return &u;
    }
  }
  UpstreamConnection* u = connect(snap, cc, ep, alpn_override, key);
  u->enable_http2();
  h2_[key].push_back(u->id());
  opened = true;
  return u;
}

void ClusterManager::h2_idle(UpstreamConnection& u) {
  if (u.closed()) return;
  if (u.draining() || !current_cluster(u)) {
    close(u, CloseType::kFin);
    return;
  }
  u.idle_ = true;
  u.idle_since_ = ctx_.io.now();
  arm_idle(u, u.cluster_->idle_timeout);
}

UpstreamConnection* ClusterManager::take_idle(const PoolKey& key, ConnectionOwner& owner) {
  auto it = idle_.find(key);
  if (it == idle_.end() || it->second.empty()) return nullptr;
  ConnId uid = it->second.back();
  it->second.pop_back();
  auto& u = static_cast<UpstreamConnection&>(*ctx_.conns.find(uid));
  u.idle_ = false;
  u.set_owner(&owner);
  return &u;
}

void ClusterManager::release(UpstreamConnection& u) {
  u.set_owner(nullptr);
  if (!current_cluster(u)) {  // its cluster changed: drained
    close(u, CloseType::kFin);
    return;
  }
  // A request queued for this pool takes the connection at once.
  auto w = waiters_.find(u.pool_key_);
  if (w != waiters_.end() && !w->second.empty()) {
    ConnectionOwner* next = w->second.front();
    w->second.erase(w->second.begin());
    u.set_owner(next);
    next->on_upstream_ready(u);
    return;
  }
  idle_[u.pool_key_].push_back(u.id());
  u.idle_ = true;
  u.idle_since_ = ctx_.io.now();
  arm_idle(u, u.cluster_->idle_timeout);
}

void ClusterManager::close(UpstreamConnection& u, CloseType how) {
  if (u.closed()) return;
  if (u.http2()) {
    auto it = h2_.find(u.pool_key_);
    if (it != h2_.end()) {
      auto& v = it->second;
      v.erase(std::remove(v.begin(), v.end(), u.id()), v.end());
      if (v.empty()) h2_.erase(it);
    }
    u.idle_ = false;
  }
  if (u.idle_) {
    auto it = idle_.find(u.pool_key_);
    if (it != idle_.end()) {
      auto& v = it->second;
      v.erase(std::remove(v.begin(), v.end(), u.id()), v.end());
    }
  }
  ctx_.io.close(u.id(), how);
  ctx_.conns.remove(u.id());
  ClusterResources& res = resources(*u.cluster_);
  if (res.connections > 0) --res.connections;
  auto o = open_.find(u.pool_key_);
  if (o != open_.end() && o->second > 0 && --o->second == 0) open_.erase(o);
  // A slot is free: the first request waiting for this pool opens a connection.
  auto w = waiters_.find(u.pool_key_);
  if (w != waiters_.end() && !w->second.empty()) {
    ConnectionOwner* next = w->second.front();
    w->second.erase(w->second.begin());
    next->on_pool_capacity();
  }
}

bool ClusterManager::has_connections(const PoolKey& key) const {
  auto it = open_.find(key);
  return it != open_.end() && it->second > 0;
}

void ClusterManager::cancel(const PoolKey& key, ConnectionOwner& waiter) {
  auto w = waiters_.find(key);
  if (w == waiters_.end()) return;
  auto& v = w->second;
  v.erase(std::remove(v.begin(), v.end(), &waiter), v.end());
}

bool ClusterManager::current_cluster(UpstreamConnection& u) {
  if (!ctx_.current || u.snap_ == ctx_.current) return true;
  const CompiledCluster* cc = ctx_.current->cluster(u.cluster_->name);
  if (!cc || !(*cc->cluster == *u.cluster_)) return false;
  u.snap_ = ctx_.current;
  u.cluster_ = cc->cluster;
  auto o = open_.find(u.pool_key_);
  if (o != open_.end() && o->second > 0 && --o->second == 0) open_.erase(o);
  PoolKey old = u.pool_key_;
  u.pool_key_.cluster = cc->cluster;
  ++open_[u.pool_key_];
  if (u.http2()) {
    auto it = h2_.find(old);
    if (it != h2_.end()) {
      auto& v = it->second;
      v.erase(std::remove(v.begin(), v.end(), u.id()), v.end());
      if (v.empty()) h2_.erase(it);
    }
    h2_[u.pool_key_].push_back(u.id());
  }
  return true;
}

void ClusterManager::repool_idle() {
  // HTTP/2 connections: unchanged clusters keep theirs; a changed cluster's
  // connection closes when idle, or drains (no new stream) until its last
  // stream ends.
  std::vector<ConnId> h2;
  for (auto& [key, ids] : h2_) h2.insert(h2.end(), ids.begin(), ids.end());
  std::sort(h2.begin(), h2.end());
  for (ConnId id : h2) {
    engine::Connection* c = ctx_.conns.find(id);
    if (!c || !c->is_upstream()) continue;
    auto& u = static_cast<UpstreamConnection&>(*c);
    if (current_cluster(u)) continue;
    if (u.streams() == 0) close(u, CloseType::kFin);
    else u.set_draining();
  }
  std::vector<ConnId> idle;
  for (auto& [key, ids] : idle_) idle.insert(idle.end(), ids.begin(), ids.end());
  std::sort(idle.begin(), idle.end());  // deterministic order
  idle_.clear();
  for (ConnId id : idle) {
    engine::Connection* c = ctx_.conns.find(id);
    if (!c || !c->is_upstream()) continue;
    auto& u = static_cast<UpstreamConnection&>(*c);
    if (current_cluster(u)) {
      idle_[u.pool_key_].push_back(u.id());
    } else {
      u.idle_ = false;
      close(u, CloseType::kFin);
    }
  }
}

void ClusterManager::arm_idle(UpstreamConnection& u, Duration after) {
  if (u.idle_timer_armed_ || u.cluster_->idle_timeout <= Duration::zero()) return;
  u.idle_timer_armed_ = true;
  ConnId id = u.id();
  ctx_.timers.arm_unowned(after, [this, id] { idle_check(id); });
}

void ClusterManager::idle_check(ConnId id) {
  engine::Connection* c = ctx_.conns.find(id);
  if (!c || !c->is_upstream()) return;
  auto& u = static_cast<UpstreamConnection&>(*c);
  u.idle_timer_armed_ = false;
  if (!u.idle_) return;  // busy again; armed anew when it next becomes idle
  if (u.http2() && u.streams() > 0) return;
  Duration timeout = u.cluster_->idle_timeout;
  Duration idle_for = ctx_.io.now() - u.idle_since_;
  if (idle_for >= timeout) {
    close(u, CloseType::kFin);
    return;
  }
  arm_idle(u, timeout - idle_for);
}

}  // namespace meshsim::proxy::upstream
