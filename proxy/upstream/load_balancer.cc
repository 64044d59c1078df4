#include "proxy/upstream/load_balancer.h"

#include <algorithm>

#include "proxy/engine/context.h"
#include "proxy/engine/snapshot.h"

namespace meshsim::proxy::upstream {

LoadBalancer::LoadBalancer(engine::EngineContext& ctx) : ctx_(ctx), io_(ctx.io) {}

std::vector<const LbEndpoint*> LoadBalancer::priority_hosts(const CompiledCluster& cc) {
  std::vector<const LbEndpoint*> pool;
  uint32_t prio = UINT32_MAX;
  for (const LbEndpoint* e : cc.endpoints) {
    if (!e->healthy) continue;
    if (e->priority < prio) {
      prio = e->priority;
      pool.clear();
    }
    if (e->priority == prio) pool.push_back(e);
  }
  return pool;
}

ClusterLbState& LoadBalancer::lookup(const CompiledCluster& cc) {
  if (cc.lb_state) return *cc.lb_state;
  auto it = states_.find(cc.cluster->name);
  if (it == states_.end()) {
    auto st = std::make_unique<ClusterLbState>();
    st->name = cc.cluster->name;
    it = states_.emplace(cc.cluster->name, std::move(st)).first;
  }
  cc.lb_state = it->second.get();
  return *cc.lb_state;
}

void LoadBalancer::refresh(ClusterLbState& st, const CompiledCluster& cc) {
  if (st.bound == &cc && !st.dirty) return;
  st.bound = &cc;
  st.dirty = false;
  st.set.build(cc, st.outliers.get());
  // Publish the per-priority load when it changed, for clusters where it can
  // (outlier detection or more than one priority).
  if (!ctx_.upstream_events) return;
  const auto& prios = st.set.priorities();
  if (!st.outliers && prios.size() <= 1 && !st.published) return;
  std::vector<uint8_t> panic(prios.size());
  for (size_t i = 0; i < prios.size(); ++i) panic[i] = prios[i].panic ? 1 : 0;
  if (st.published && st.published_load == st.set.load() && st.published_panic == panic) return;
  st.published = true;
  st.published_load = st.set.load();
  st.published_panic = panic;
  std::vector<uint32_t> hosts(prios.size()), healthy(prios.size());
  for (size_t i = 0; i < prios.size(); ++i) {
    hosts[i] = static_cast<uint32_t>(prios[i].hosts.size());
    healthy[i] = static_cast<uint32_t>(prios[i].healthy.size());
  }
  PriorityLoadEvent e;
  e.cluster = st.name;
  e.load = st.published_load;
  e.hosts = hosts;
  e.healthy = healthy;
  e.panic = st.published_panic;
  e.total_panic = st.set.total_panic();
  ctx_.upstream_events->on_priority_load(e);
}

const ClusterLbState* LoadBalancer::state(const CompiledCluster& cc) {
  if (cc.cluster->type == DiscoveryType::kOriginalDst) return nullptr;
  ClusterLbState& st = lookup(cc);
  refresh(st, cc);
  return &st;
}

const OutlierDetector* LoadBalancer::outliers(std::string_view cluster) const {
  auto it = states_.find(std::string(cluster));
  return it == states_.end() ? nullptr : it->second->outliers.get();
}

void LoadBalancer::sync_clusters(const engine::Snapshot& snap) {
  // Clusters gone from the configuration lose their detector.
  for (auto& [name, st] : states_) {
    if (st->outliers && !snap.cluster(name)) {
      st->outliers.reset();
      if (st->sweep.armed()) ctx_.timers.disarm(st->sweep);
      st->dirty = true;
    }
  }
  for (const Cluster& c : snap.config().clusters) {
    const CompiledCluster* cc = snap.cluster(c.name);
    if (!cc || c.type == DiscoveryType::kOriginalDst) continue;
    ClusterLbState& st = lookup(*cc);
    st.dirty = true;
    if (!c.outlier_detection) {
      if (st.outliers) {
        st.outliers.reset();
        if (st.sweep.armed()) ctx_.timers.disarm(st.sweep);
      }
      continue;
    }
    if (!st.outliers || !(st.outliers->config() == *c.outlier_detection)) {
      // A new (or changed) cluster: a new detector, its interval timer armed now.
      if (st.sweep.armed()) ctx_.timers.disarm(st.sweep);
      st.outliers = std::make_unique<OutlierDetector>(c.name, *c.outlier_detection, io_, ctx_.stats, ctx_.upstream_events);
      arm_sweep(st);
    }
    st.outliers->sync_hosts(cc->endpoints);
  }
}

void LoadBalancer::arm_sweep(ClusterLbState& st) {
  ClusterLbState* p = &st;
  st.sweep = ctx_.timers.arm(st.outliers->config().interval, [this, p] {
    p->sweep = engine::Timer{};
    on_sweep(*p);
  });
}

void LoadBalancer::on_sweep(ClusterLbState& st) {
  if (!st.outliers) return;
  if (st.outliers->on_interval(io_.now())) {
    st.dirty = true;
    if (st.bound && ctx_.current && ctx_.current->cluster(st.name) == st.bound) refresh(st, *st.bound);
  }
  arm_sweep(st);
}

void LoadBalancer::put_result(const CompiledCluster& cc, const SocketAddress& host, OutlierResult r, uint32_t code) {
  ClusterLbState* st = cc.lb_state;
  if (!st) {
    if (cc.cluster->type == DiscoveryType::kOriginalDst) return;
    st = &lookup(cc);
  }
  if (!st->outliers) return;
  if (st->outliers->put_result(host, r, code, io_.now())) {
    st->dirty = true;
    refresh(*st, cc);
  }
}

const LbEndpoint* LoadBalancer::choose(const CompiledCluster& cc, const Context& ctx) {
  const Cluster& c = *cc.cluster;
  const std::vector<SocketAddress>* avoid = ctx.avoid;
  if (c.type == DiscoveryType::kOriginalDst) {
    original_dst_endpoint_.address = ctx.original_destination;
    return &original_dst_endpoint_;
  }
  ClusterLbState& st = lookup(cc);
  refresh(st, cc);
  const PrioritySet& ps = st.set;
  if (ps.priorities().empty()) return nullptr;
  const bool hashing = c.lb_policy == LbPolicy::kRingHash || c.lb_policy == LbPolicy::kMaglev;
  if (hashing) {
    // No hash: a random point of the table (effectively random balancing).
    const uint64_t h = ctx.hash ? *ctx.hash : io_.random();
    const uint32_t prio = ps.sole_priority() >= 0 ? static_cast<uint32_t>(ps.sole_priority()) : ps.choose_priority(h);
    if (ps.priorities()[prio].panic) ctx_.stats.inc("cluster." + c.name + ".lb_healthy_panic");
    const ConsistentHashTable* table = ps.table(cc, prio);
    if (!table) return nullptr;
    const uint32_t max_attempts = ctx.host_selection_retry_max_attempts + 1;
    const LbEndpoint* host = nullptr;
    for (uint32_t i = 0; i < max_attempts; ++i) {
      host = table->choose(h, i);
      if (!host || !avoid || std::find(avoid->begin(), avoid->end(), host->address) == avoid->end()) return host;
    }
    return host;
  }
  const uint32_t prio =
      ps.sole_priority() >= 0 ? static_cast<uint32_t>(ps.sole_priority()) : ps.choose_priority(io_.random());
  const HostsPerPriority& hp = ps.priorities()[prio];
  const std::vector<const LbEndpoint*>* source = &hp.healthy;
  if (hp.panic) {
    ctx_.stats.inc("cluster." + c.name + ".lb_healthy_panic");
    source = &hp.hosts;
  } else if (c.locality_weighted_lb && hp.effective_weight_total > 0) {
    // chooseHealthyLocality by effective weight.
    const LocalityHosts* pick = nullptr;
    size_t candidates = 0;
    for (const LocalityHosts& l : hp.localities) {
      if (l.effective_weight > 0) {
        ++candidates;
        pick = &l;
      }
    }
    if (candidates > 1) {
      const double r = static_cast<double>(io_.random() % 1'000'000) / 1'000'000.0 * hp.effective_weight_total;
      double sum = 0;
      for (const LocalityHosts& l : hp.localities) {
        if (l.effective_weight <= 0) continue;
        sum += l.effective_weight;
        pick = &l;
        if (r < sum) break;
      }
    }
    if (pick) source = &pick->healthy;
  }
  if (source->empty()) return nullptr;
  const std::vector<const LbEndpoint*>* pool = source;
  if (avoid && !avoid->empty()) {
    fresh_.clear();
    for (const LbEndpoint* e : *source) {
      if (std::find(avoid->begin(), avoid->end(), e->address) == avoid->end()) fresh_.push_back(e);
    }
    if (!fresh_.empty()) pool = &fresh_;
  }
  const auto& p = *pool;
  switch (c.lb_policy) {
    case LbPolicy::kRoundRobin: return p[st.rr++ % p.size()];
    case LbPolicy::kLeastRequest: {
      // Envoy: power of two choices among equally weighted hosts.
      const LbEndpoint* a = p[io_.random() % p.size()];
      const LbEndpoint* b = p[io_.random() % p.size()];
      auto load = [&](const LbEndpoint* e) {
        auto it = active_rq_.find(packed(e->address));
        return it == active_rq_.end() ? 0u : it->second;
      };
      return load(b) < load(a) ? b : a;
    }
    default: return p[io_.random() % p.size()];
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
