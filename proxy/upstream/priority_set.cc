#include "proxy/upstream/priority_set.h"

#include <algorithm>

#include "proxy/upstream/load_balancer.h"
#include "proxy/upstream/outlier_detection.h"

namespace meshsim::proxy::upstream {

void PrioritySet::build(const CompiledCluster& cc, const OutlierDetector* outliers) {
  const Cluster& c = *cc.cluster;
  uint32_t max_prio = 0;
  for (const LbEndpoint* e : cc.endpoints) max_prio = std::max(max_prio, e->priority);
  priorities_.assign(cc.endpoints.empty() ? 0 : max_prio + 1, HostsPerPriority{});
  for (const LbEndpoint* e : cc.endpoints) {
    HostsPerPriority& p = priorities_[e->priority];
    const bool healthy = e->healthy && !(outliers && outliers->ejected(packed(e->address)));
    p.hosts.push_back(e);
    if (healthy) p.healthy.push_back(e);
    if (c.locality_weighted_lb) {
      auto it = std::find_if(p.localities.begin(), p.localities.end(),
                             [&](const LocalityHosts& l) { return l.locality == e->locality; });
      if (it == p.localities.end()) {
        p.localities.push_back({e->locality, e->locality_weight, {}, {}, 0});
        it = p.localities.end() - 1;
      }
      it->hosts.push_back(e);
      if (healthy) it->healthy.push_back(e);
    }
  }
  const uint64_t factor = c.overprovisioning_factor;
  uint32_t total = 0;
  for (HostsPerPriority& p : priorities_) {
    p.health = p.hosts.empty() ? 0 : static_cast<uint32_t>(std::min<uint64_t>(100, factor * p.healthy.size() / p.hosts.size()));
    total += p.health;
    p.effective_weight_total = 0;
    for (LocalityHosts& l : p.localities) {
      double ratio = l.hosts.empty() ? 0 : static_cast<double>(l.healthy.size()) / static_cast<double>(l.hosts.size());
      l.effective_weight = l.weight * std::min(1.0, static_cast<double>(factor) / 100.0 * ratio);
      p.effective_weight_total += l.effective_weight;
    }
  }
  total = std::min<uint32_t>(100, total);
  load_.assign(priorities_.size(), 0);
  total_panic_ = false;
  if (priorities_.empty()) {
    sole_ = -1;
    return;
  }
  if (total > 0) {
    // distributeLoad, then the rounding rest to the first available priority.
    uint32_t left = 100;
    int32_t first = -1;
    for (size_t i = 0; i < priorities_.size(); ++i) {
      const uint32_t h = priorities_[i].health;
      if (left > 0 && h > 0 && first < 0) first = static_cast<int32_t>(i);
      load_[i] = std::min<uint32_t>(left, h * 100 / total);
      left -= load_[i];
    }
    if (left > 0 && first >= 0) load_[static_cast<size_t>(first)] += left;
  }
  // recalculatePerPriorityPanic.
  const double threshold = std::min(100.0, c.healthy_panic_threshold);
  if (threshold <= 0 && total == 0) {
    load_[0] = 100;
  } else {
    bool all = true;
    for (HostsPerPriority& p : priorities_) {
      const double healthy_pct =
          p.hosts.empty() ? 0.0 : 100.0 * static_cast<double>(p.healthy.size()) / static_cast<double>(p.hosts.size());
      p.panic = total == 100 ? false : healthy_pct < threshold;
      all = all && p.panic;
    }
    if (all) {
      // recalculateLoadInTotalPanic: by host count, the rest to priority 0.
      total_panic_ = true;
      size_t hosts = 0;
      for (const HostsPerPriority& p : priorities_) hosts += p.hosts.size();
      if (hosts > 0) {
        uint32_t left = 100;
        for (size_t i = 0; i < priorities_.size(); ++i) {
          load_[i] = static_cast<uint32_t>(100 * priorities_[i].hosts.size() / hosts);
          left -= load_[i];
        }
        load_[0] += left;
      }
    }
  }
  sole_ = -1;
  for (size_t i = 0; i < load_.size(); ++i) {
    if (load_[i] == 100) sole_ = static_cast<int32_t>(i);
  }
}

uint32_t PrioritySet::choose_priority(uint64_t hash) const {
  const uint64_t h = hash % 100 + 1;
  uint64_t sum = 0;
  for (size_t i = 0; i < load_.size(); ++i) {
    sum += load_[i];
    if (h <= sum) return static_cast<uint32_t>(i);
  }
  return 0;
}

const ConsistentHashTable* PrioritySet::table(const CompiledCluster& cc, uint32_t p) const {
  if (p >= priorities_.size()) return nullptr;
  const HostsPerPriority& hp = priorities_[p];
  if (!hp.table_built) {
    hp.table_built = true;
    const std::vector<const LbEndpoint*>& hosts = hp.panic ? hp.hosts : hp.healthy;
    // The snapshot built the table of the lowest healthy priority already.
    if (cc.hash_table && hosts == LoadBalancer::priority_hosts(cc)) {
      hp.table = cc.hash_table;
    } else if (!hosts.empty()) {
      hp.table = build_consistent_hash_table(*cc.cluster, hosts);
    }
  }
  return hp.table.get();
}

}  // namespace meshsim::proxy::upstream
