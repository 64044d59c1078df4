// Istio's load-balancing translation (see load_balancing.h).
#include "mesh/load_balancing.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <string>

namespace meshsim::mesh {

using proxy::Cluster;
using proxy::ClusterLoadAssignment;
using proxy::DiscoveryType;
using proxy::LbEndpoint;

namespace {

// util.LocalityMatch: "region/zone/subzone" with "*" and missing parts matching anything.
bool locality_match(const proxy::Locality& l, std::string_view rule) {
  std::string parts[3];
  size_t i = 0;
  for (char ch : rule) {
    if (ch == '/') {
      if (++i == 3) break;
    } else {
      parts[i] += ch;
    }
  }
  bool region = parts[0] == "*" || l.region == parts[0];
  bool zone = parts[1] == "*" || parts[1].empty() || l.zone == parts[1];
  bool subzone = parts[2] == "*" || parts[2].empty() || l.subzone == parts[2];
  return region && zone && subzone;
}

// Priorities renumbered 0..N in order, without gaps.
void compact(std::vector<uint32_t>& prio) {
  std::vector<uint32_t> seen(prio);
  std::sort(seen.begin(), seen.end());
  seen.erase(std::unique(seen.begin(), seen.end()), seen.end());
  for (uint32_t& p : prio) p = static_cast<uint32_t>(std::lower_bound(seen.begin(), seen.end(), p) - seen.begin());
}

}  // namespace

// ------------------------------------------------ outlier detection --
// applyOutlierDetection (cluster_traffic_policy.go): the consecutive
// detectors Istio sets, enforcing 100 when non-zero, success rate off;
// healthy_panic_threshold = minHealthPercent (0 unless set: panic off).
// Unset fields keep Envoy's defaults (proxy::OutlierDetection).
void apply_outlier_detection(Cluster& c, const OutlierDetection& in) {
  proxy::OutlierDetection od;
  if (in.consecutive_5xx_errors) {
    od.consecutive_5xx = *in.consecutive_5xx_errors;
    od.enforcing_consecutive_5xx = od.consecutive_5xx > 0 ? 100 : 0;
  }
  if (in.consecutive_gateway_errors) {
    od.consecutive_gateway_failure = *in.consecutive_gateway_errors;
    od.enforcing_consecutive_gateway_failure = od.consecutive_gateway_failure > 0 ? 100 : 0;
  }
  if (in.interval) od.interval = *in.interval;
  if (in.base_ejection_time) od.base_ejection_time = *in.base_ejection_time;
  if (in.max_ejection_percent && *in.max_ejection_percent > 0) od.max_ejection_percent = static_cast<uint32_t>(*in.max_ejection_percent);
  if (in.split_external_local_origin_errors) {
    od.split_external_local_origin_errors = true;
    if (in.consecutive_local_origin_failures && *in.consecutive_local_origin_failures > 0) {
      od.consecutive_local_origin_failure = *in.consecutive_local_origin_failures;
      od.enforcing_consecutive_local_origin_failure = 100;
    }
  }
  c.outlier_detection = od;
  c.healthy_panic_threshold = in.min_health_percent ? std::max(0, *in.min_health_percent) : 0;
}

// ---------------------------------------------------- locality LB --
// The endpoint labels failoverPriority compares (AugmentLabels): the
// endpoint's own plus its node's topology.
Labels with_topology_labels(Labels l, const Locality& loc) {
  if (!loc.region.empty()) l.emplace("topology.kubernetes.io/region", loc.region);
  if (!loc.zone.empty()) l.emplace("topology.kubernetes.io/zone", loc.zone);
  if (!loc.subzone.empty()) l.emplace("topology.istio.io/subzone", loc.subzone);
  return l;
}


// GetEffectiveLbSetting: the DR's localityLbSetting replaces the mesh's;
// enabled: false at either level turns locality LB off.
const LocalityLbSetting* effective_locality_setting(const std::optional<TrafficPolicy>& tp, const MeshConfig& mc) {
  if (tp && tp->load_balancer && tp->load_balancer->locality_lb_setting) {
    const LocalityLbSetting& l = *tp->load_balancer->locality_lb_setting;
    return l.enabled.value_or(true) ? &l : nullptr;
  }
  return mc.locality_lb_setting.enabled.value_or(true) ? &mc.locality_lb_setting : nullptr;
}

// LocalityLBSettings.ApplyToCluster + ApplyLocalityLoadBalancer
// (loadbalancer.go): every locality's weight is the sum of its endpoints'
// weights; `distribute` re-weighs localities relative to this proxy's
// (dropping unmatched ones); otherwise, only with outlier detection
// ("failover needs outlier detection, otherwise Envoy will never drop down
// to a lower priority"), failoverPriority labels then region/zone/subzone
// priorities (failover[] moves unmatched other regions to 4), compacted.
void apply_locality_lb(Cluster& c, const LocalityLbSetting* l, ClusterLoadAssignment& cla,
                       const std::vector<Labels>& ep_labels, const Locality& me_m, const Labels& client_labels) {
  // Locality weights (createClusterLoadAssignment): Σ endpoint weights.
  std::map<proxy::Locality, uint32_t> sums;
  for (const LbEndpoint& e : cla.endpoints) sums[e.locality] += e.weight;
  for (LbEndpoint& e : cla.endpoints) e.locality_weight = sums[e.locality];
  if (!l || c.type == DiscoveryType::kOriginalDst) return;
  const proxy::Locality me{me_m.region, me_m.zone, me_m.subzone};
  const bool failover = c.outlier_detection.has_value();
  if (!l->distribute.empty() || (failover && (!l->failover.empty() || !l->failover_priority.empty()))) {
    c.locality_weighted_lb = true;
  }
  if (!l->distribute.empty()) {
    for (const auto& d : l->distribute) {
      if (!locality_match(me, d.from)) continue;
      std::vector<bool> matched(cla.endpoints.size(), false);
      for (const auto& [to, weight] : d.to) {
        // Localities (not endpoints) matched by this entry and not before.
        std::map<proxy::Locality, uint32_t> dest;
        uint32_t total = 0;
        for (size_t i = 0; i < cla.endpoints.size(); ++i) {
          const LbEndpoint& e = cla.endpoints[i];
          if (matched[i] || !locality_match(e.locality, to)) continue;
          if (!dest.count(e.locality)) {
            dest[e.locality] = sums[e.locality];
            total += sums[e.locality];
          }
        }
        for (size_t i = 0; i < cla.endpoints.size(); ++i) {
          LbEndpoint& e = cla.endpoints[i];
          auto it = dest.find(e.locality);
          if (it == dest.end()) continue;
          matched[i] = true;
          double w = total ? static_cast<double>(it->second) * weight / total : 0;
          if (w > 0) e.locality_weight = static_cast<uint32_t>(std::ceil(w));
        }
      }
      std::vector<LbEndpoint> kept;
      for (size_t i = 0; i < cla.endpoints.size(); ++i) {
        if (matched[i]) kept.push_back(std::move(cla.endpoints[i]));
      }
      cla.endpoints = std::move(kept);
      break;
    }
    return;
  }
  if (!failover) return;
  std::vector<uint32_t> prio(cla.endpoints.size(), 0);
  if (!l->failover_priority.empty()) {
    // applyFailoverPriorityPerLocality: the first label that differs from
    // the proxy's decides (n − j); "label=value" overrides the proxy's value.
    Labels mine = with_topology_labels(client_labels, me_m);
    const uint32_t n = static_cast<uint32_t>(l->failover_priority.size());
    for (size_t i = 0; i < cla.endpoints.size(); ++i) {
      uint32_t p = 0;
      for (uint32_t j = 0; j < n; ++j) {
        const std::string& spec = l->failover_priority[j];
        size_t eq = spec.find('=');
        std::string key = spec.substr(0, eq);
        std::string want;
        if (eq != std::string::npos) want = spec.substr(eq + 1);
        else if (auto it = mine.find(key); it != mine.end()) want = it->second;
        auto have = ep_labels[i].find(key);
        if ((have == ep_labels[i].end() ? std::string() : have->second) != want) {
          if (j == 0 && key == "topology.istio.io/network") continue;  // network is ignored here
          p = n - j;
          break;
        }
      }
      prio[i] = p;
    }
    compact(prio);
    if (l->failover.empty()) {
      for (size_t i = 0; i < cla.endpoints.size(); ++i) cla.endpoints[i].priority = prio[i];
      return;
    }
  }
  // applyLocalityFailover: 0 same subzone, 1 same zone, 2 same region, 3
  // other; 4 for other regions that are not this region's failover target.
  for (size_t i = 0; i < cla.endpoints.size(); ++i) {
    const proxy::Locality& e = cla.endpoints[i].locality;
    uint32_t p = 3;
    if (e.region == me.region) p = e.zone == me.zone ? (e.subzone == me.subzone ? 0 : 1) : 2;
    if (p == 3) {
      for (const auto& f : l->failover) {
        if (f.from == me.region) {
          if (e.region != f.to) p = 4;
          break;
        }
      }
    }
    prio[i] = prio[i] * 5 + p;
  }
  compact(prio);
  for (size_t i = 0; i < cla.endpoints.size(); ++i) cla.endpoints[i].priority = prio[i];
}

}  // namespace meshsim::mesh
