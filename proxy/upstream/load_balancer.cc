#include "proxy/upstream/load_balancer.h"

#include <algorithm>

namespace meshsim::proxy::upstream {

namespace {
// Healthy hosts of the lowest priority level that has any (locality failover).
void collect_priority_hosts(const CompiledCluster& cc, std::vector<const LbEndpoint*>& pool) {
  pool.clear();
  uint32_t prio = UINT32_MAX;
  for (const LbEndpoint* e : cc.endpoints) {
    if (!e->healthy) continue;
    if (e->priority < prio) {
      prio = e->priority;
      pool.clear();
    }
    if (e->priority == prio) pool.push_back(e);
  }
}
}  // namespace

std::vector<const LbEndpoint*> LoadBalancer::priority_hosts(const CompiledCluster& cc) {
  std::vector<const LbEndpoint*> pool;
  collect_priority_hosts(cc, pool);
  return pool;
}

const LbEndpoint* LoadBalancer::choose(const CompiledCluster& cc, const Context& ctx) {
  const Cluster& c = *cc.cluster;
  const std::vector<SocketAddress>* avoid = ctx.avoid;
  if (c.type == DiscoveryType::kOriginalDst) {
    original_dst_endpoint_.address = ctx.original_destination;
    return &original_dst_endpoint_;
  }
  if (c.lb_policy == LbPolicy::kRingHash || c.lb_policy == LbPolicy::kMaglev) {
    if (!cc.hash_table) return nullptr;
    // No hash: a random point of the table (effectively random balancing).
    const uint64_t h = ctx.hash ? *ctx.hash : io_.random();
    const uint32_t max_attempts = ctx.host_selection_retry_max_attempts + 1;
    const LbEndpoint* host = nullptr;
    for (uint32_t i = 0; i < max_attempts; ++i) {
      host = cc.hash_table->choose(h, i);
      if (!host || !avoid || std::find(avoid->begin(), avoid->end(), host->address) == avoid->end()) return host;
    }
    return host;
  }
  std::vector<const LbEndpoint*>& pool = pool_;
  collect_priority_hosts(cc, pool);
  if (pool.empty()) return nullptr;
  if (avoid && !avoid->empty()) {
    std::vector<const LbEndpoint*>& fresh = fresh_;
    fresh.clear();
    for (const LbEndpoint* e : pool) {
      if (std::find(avoid->begin(), avoid->end(), e->address) == avoid->end()) fresh.push_back(e);
    }
    if (!fresh.empty()) pool.swap(fresh);
  }
  switch (c.lb_policy) {
    case LbPolicy::kRoundRobin: {
      uint64_t& next = rr_[c.name];
      return pool[next++ % pool.size()];
    }
    case LbPolicy::kLeastRequest: {
      // Envoy: power of two choices among equally weighted hosts.
      const LbEndpoint* a = pool[io_.random() % pool.size()];
      const LbEndpoint* b = pool[io_.random() % pool.size()];
      auto load = [&](const LbEndpoint* e) {
        auto it = active_rq_.find(packed(e->address));
        return it == active_rq_.end() ? 0u : it->second;
      };
      return load(b) < load(a) ? b : a;
    }
    default:
      return pool[io_.random() % pool.size()];
  }
}

void LoadBalancer::request_started(const SocketAddress& host) { ++active_rq_[packed(host)]; }

void LoadBalancer::request_finished(const SocketAddress& host) {
  auto it = active_rq_.find(packed(host));
  if (it != active_rq_.end() && it->second > 0) --it->second;
}

LoadBalancer::TransportChoice LoadBalancer::transport_for(const Cluster& c, const LbEndpoint& e) {
  if (!c.transport_socket_matches.empty()) {
    for (const TransportSocketMatch& m : c.transport_socket_matches) {
      bool ok = true;
      for (const auto& [k, v] : m.match) {
        auto it = e.metadata.find(k);
        if (it == e.metadata.end() || it->second != v) ok = false;
      }
      if (ok) return {m.tls ? &*m.tls : nullptr, m.name};
    }
    // No entry matched: Envoy falls back to the cluster's default socket,
    // which Istio leaves as raw_buffer when it uses matches.
    return {nullptr, "raw_buffer"};
  }
  return c.tls ? TransportChoice{&*c.tls, "tls"} : TransportChoice{nullptr, "raw_buffer"};
}

}  // namespace meshsim::proxy::upstream
