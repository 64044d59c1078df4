#include "proxy/upstream/consistent_hash.h"

#include <xxhash.h>

#include <algorithm>
#include <cmath>
#include <utility>

namespace meshsim::proxy::upstream {

uint64_t xxhash64(std::string_view bytes, uint64_t seed) { return XXH64(bytes.data(), bytes.size(), seed); }

std::string host_hash_key(const LbEndpoint& e) {
  auto it = e.metadata.find("envoy.lb/hash_key");
  if (it != e.metadata.end() && !it->second.empty()) return it->second;
  return to_string(e.address);
}

namespace {

struct NormalizedHosts {
  std::vector<std::pair<const LbEndpoint*, double>> hosts;
  double min_w = 1.0;
  double max_w = 0.0;
};

// ThreadAwareLoadBalancerBase::normalizeHostWeights without locality
// weighting (Istio sets no locality_weighted_lb_config for hash LBs).
NormalizedHosts normalize(const std::vector<const LbEndpoint*>& hosts) {
  NormalizedHosts out;
  double sum = 0;
  for (const LbEndpoint* h : hosts) sum += static_cast<double>(h->weight);
  for (const LbEndpoint* h : hosts) {
    double w = static_cast<double>(h->weight) * 1.0 / sum;
    out.hosts.emplace_back(h, w);
    out.min_w = std::min(out.min_w, w);
    out.max_w = std::max(out.max_w, w);
  }
  return out;
}

// ring_hash_lb.cc Ring::Ring and Ring::chooseHost.
class RingHashTable final : public ConsistentHashTable {
 public:
  RingHashTable(const NormalizedHosts& nh, uint64_t min_ring_size, uint64_t max_ring_size) {
    if (nh.hosts.empty()) return;
    const double scale = std::min(std::ceil(nh.min_w * static_cast<double>(min_ring_size)) / nh.min_w,
                                  static_cast<double>(max_ring_size));
    ring_.reserve(static_cast<size_t>(std::ceil(scale)));
    double current = 0.0;
    double target = 0.0;
    std::string key;
    for (const auto& [host, w] : nh.hosts) {
      const std::string base = host_hash_key(*host) + "_";
      target += scale * w;
      for (uint64_t i = 0; current < target; ++i, current += 1.0) {
        key = base;
        key += std::to_string(i);
        ring_.push_back({xxhash64(key), host});
      }
    }
    // Envoy: std::sort by hash alone. A stable sort keeps equal hashes (never
    // seen in practice) in build order, so runs are reproducible.
    std::stable_sort(ring_.begin(), ring_.end(), [](const Entry& a, const Entry& b) { return a.hash < b.hash; });
  }

  const LbEndpoint* choose(uint64_t h, uint32_t attempt) const override {
    if (ring_.empty()) return nullptr;
    // ketama_get_server; the indices are signed on purpose (Envoy's comment).
    const int64_t size = static_cast<int64_t>(ring_.size());
    int64_t lowp = 0;
    int64_t highp = size;
    int64_t midp = 0;
    while (true) {
      midp = (lowp + highp) / 2;
      if (midp == size) {
        midp = 0;
        break;
      }
      const uint64_t midval = ring_[static_cast<size_t>(midp)].hash;
      const uint64_t midval1 = midp == 0 ? 0 : ring_[static_cast<size_t>(midp - 1)].hash;
      if (h <= midval && h > midval1) break;
      if (midval < h) lowp = midp + 1;
      else highp = midp - 1;
      if (lowp > highp) {
        midp = 0;
        break;
      }
    }
    if (attempt > 0) midp = (midp + attempt) % size;
    return ring_[static_cast<size_t>(midp)].host;
  }
  size_t size() const override { return ring_.size(); }

 private:
  struct Entry {
    uint64_t hash;
    const LbEndpoint* host;
  };
  std::vector<Entry> ring_;
};

// maglev_lb.cc MaglevTable::constructMaglevTableInternal and
// OriginalMaglevTable::constructImplementationInternals / chooseHost.
class MaglevTable final : public ConsistentHashTable {
 public:
  MaglevTable(const NormalizedHosts& nh, uint64_t table_size) : size_(table_size) {
    if (nh.hosts.empty() || table_size < 2) return;
    struct Build {
      std::string key;
      const LbEndpoint* host;
      double weight;
      uint64_t offset = 0, skip = 0, next = 0;
      double target_weight = 0;
    };
    std::vector<Build> entries;
    entries.reserve(nh.hosts.size());
    for (const auto& [host, w] : nh.hosts) entries.push_back({host_hash_key(*host), host, w});
    std::sort(entries.begin(), entries.end(), [](const Build& a, const Build& b) { return a.key < b.key; });
    for (Build& e : entries) {
      e.offset = xxhash64(e.key, 0) % size_;
      e.skip = xxhash64(e.key, 1) % (size_ - 1) + 1;
    }
    table_.assign(size_, nullptr);
    uint64_t filled = 0;
    for (uint64_t iteration = 1; filled < size_; ++iteration) {
      for (size_t i = 0; i < entries.size() && filled < size_; ++i) {
        Build& e = entries[i];
        if (static_cast<double>(iteration) * e.weight < e.target_weight) continue;
        e.target_weight += nh.max_w;
        uint64_t c = (e.offset + e.skip * e.next) % size_;
        while (table_[c] != nullptr) {
          ++e.next;
          c = (e.offset + e.skip * e.next) % size_;
        }
        table_[c] = e.host;
        ++e.next;
        ++filled;
      }
    }
  }

  const LbEndpoint* choose(uint64_t h, uint32_t attempt) const override {
    if (table_.empty()) return nullptr;
    if (attempt > 0) h ^= ~0ULL - attempt + 1;
    return table_[h % size_];
  }
  size_t size() const override { return table_.size(); }

 private:
  uint64_t size_;
  std::vector<const LbEndpoint*> table_;
};

}  // namespace

std::unique_ptr<const ConsistentHashTable> build_consistent_hash_table(const Cluster& c,
                                                                       const std::vector<const LbEndpoint*>& hosts) {
  NormalizedHosts nh = normalize(hosts);
  if (c.lb_policy == LbPolicy::kRingHash) {
    RingHashLbConfig cfg = c.ring_hash_lb_config.value_or(RingHashLbConfig{});
    return std::make_unique<RingHashTable>(nh, cfg.minimum_ring_size.value_or(RingHashLbConfig::kDefaultMinimumRingSize),
                                           cfg.maximum_ring_size.value_or(RingHashLbConfig::kDefaultMaximumRingSize));
  }
  if (c.lb_policy == LbPolicy::kMaglev) {
    MaglevLbConfig cfg = c.maglev_lb_config.value_or(MaglevLbConfig{});
    return std::make_unique<MaglevTable>(nh, cfg.table_size.value_or(MaglevLbConfig::kDefaultTableSize));
  }
  return nullptr;
}

}  // namespace meshsim::proxy::upstream
