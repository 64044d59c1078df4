// OutlierDetector is Envoy's outlier detection for one cluster of one proxy
// (source/common/upstream/outlier_detection_impl.cc, DetectorImpl and
// DetectorHostMonitorImpl), with the consecutive detectors Istio configures:
// consecutive 5xx, consecutive gateway failures (502/503/504) and — with
// split_external_local_origin_errors — consecutive local-origin failures
// (connect failures, timeouts, resets). Success-rate and failure-percentage
// detection are off in Istio (enforcing 0) and not modelled.
//
// Results come in from the router and tcp_proxy (put_result); a detector
// reaching its threshold ejects the host at once (Envoy posts it to the main
// thread; with one thread that is the same moment), subject to
// max_ejection_percent checked as Envoy does it: 100·(active+1)/hosts ≤ max,
// or the first ejection when always_eject_one_host. The interval sweep
// (on_interval, every `interval` of virtual time) un-ejects a host once
// min(base · backoff, max_ejection_time) + jitter has passed since its
// ejection, and lowers the backoff of hosts that stayed healthy for a whole
// interval since their un-ejection. Counters are Envoy's
// cluster.<name>.outlier_detection.* in the sidecar's named stats; every
// ejection, overflow and un-ejection goes to the UpstreamEventSink.
//
// Single-threaded, deterministic: hosts are kept in endpoint order, random
// draws (only for enforcing percentages strictly between 0 and 100, and for a
// non-zero jitter) come from the proxy's Io. Never throws.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "proxy/config.h"
#include "proxy/engine/stats.h"
#include "proxy/io.h"

namespace meshsim::proxy::upstream {

// Upstream::Outlier::Result.
enum class OutlierResult : uint8_t {
  kExtOriginRequestSuccess,
  kExtOriginRequestFailed,
  kLocalOriginConnectSuccess,       // connection ready (HTTP: the request goes on)
  kLocalOriginConnectSuccessFinal,  // connection ready, nothing more to judge (tcp_proxy)
  kLocalOriginTimeout,
  kLocalOriginConnectFailed,
};

// envoy.data.cluster.v3.OutlierEjectionType (the consecutive ones).
enum class EjectionType : uint8_t { kConsecutive5xx, kConsecutiveGatewayFailure, kConsecutiveLocalOriginFailure };
const char* to_string(EjectionType t);  // "CONSECUTIVE_5XX", …

// One decision of a detector, as Envoy's outlier event log records it.
struct OutlierEvent {
  enum class Action : uint8_t { kEject, kUneject, kOverflow };
  Action action = Action::kEject;
  std::string_view cluster;
  SocketAddress host;
  std::string_view hostname;  // the pod, when the control plane named it
  EjectionType type = EjectionType::kConsecutive5xx;
  bool enforced = true;        // kEject: false when the enforcing percentage said no
  uint32_t num_ejections = 0;  // times this host has been ejected (including this one)
  uint32_t backoff = 0;        // the ejection-time multiplier after this decision
  Duration ejection_time;      // kEject: min(base · backoff, max) + jitter, the least time out
  Duration ejected_for;        // kUneject: how long the host was out
  uint32_t ejections_active = 0;
  uint32_t hosts = 0;
  uint32_t max_ejection_percent = 0;
};

// The load a priority-aware load balancer gives each priority of a cluster
// (LoadBalancerBase::recalculatePerPriorityState), published when it changes.
struct PriorityLoadEvent {
  std::string_view cluster;
  std::span<const uint32_t> load;     // percent per priority, sums to 100
  std::span<const uint32_t> hosts;    // hosts per priority
  std::span<const uint32_t> healthy;  // healthy (not ejected) hosts per priority
  std::span<const uint8_t> panic;     // per priority: in panic (all hosts used)
  bool total_panic = false;
};

class UpstreamEventSink {
 public:
  virtual ~UpstreamEventSink() = default;
  virtual void on_outlier_event(const OutlierEvent& e) = 0;
  virtual void on_priority_load(const PriorityLoadEvent& e) = 0;
};

class OutlierDetector {
 public:
  OutlierDetector(std::string cluster, const OutlierDetection& config, Io& io, SidecarStats& stats,
                  UpstreamEventSink* sink);

  const OutlierDetection& config() const { return config_; }

  // The cluster's hosts after an EDS update, in endpoint order: new hosts get
  // a monitor, hosts that left lose theirs (and their ejection).
  void sync_hosts(std::span<const LbEndpoint* const> endpoints);

  // A result for `host` (HTTP status `code` for ext-origin results, 0 = none).
  // Returns true when the host was ejected by it.
  bool put_result(const SocketAddress& host, OutlierResult r, uint32_t code, Duration now);

  // The interval sweep. Returns true when some host was un-ejected.
  bool on_interval(Duration now);

  bool ejected(uint64_t packed_host) const {
    auto it = index_.find(packed_host);
    return it != index_.end() && hosts_[it->second].ejected;
  }
  uint32_t ejections_active() const { return active_; }
  size_t hosts() const { return hosts_.size(); }
  // Times `host` has been ejected, and its current backoff multiplier.
  uint32_t num_ejections(const SocketAddress& host) const;
  uint32_t backoff(const SocketAddress& host) const;

 private:
  struct HostMonitor {
    SocketAddress address;
    std::string hostname;
    uint32_t consecutive_5xx = 0;
    uint32_t consecutive_gateway_failure = 0;
    uint32_t consecutive_local_origin_failure = 0;
    bool ejected = false;
    uint32_t num_ejections = 0;
    uint32_t backoff = 0;  // ejectTimeBackoff
    Duration jitter;
    Duration last_ejection;
    std::optional<Duration> last_unejection;
  };

  void put_http_code(HostMonitor& m, uint32_t code, Duration now);
  void local_origin_failure(HostMonitor& m, Duration now);
  void on_consecutive_error(HostMonitor& m, EjectionType type, Duration now);
  void eject(HostMonitor& m, EjectionType type, Duration now);
  void uneject(HostMonitor& m, Duration now);
  bool enforce(EjectionType type);
  Duration ejection_time(const HostMonitor& m) const;
  void count(std::string_view suffix, int64_t delta = 1);
  void publish(const HostMonitor& m, OutlierEvent::Action a, EjectionType type, bool enforced, Duration now);

  std::string cluster_;
  std::string prefix_;  // "cluster.<name>.outlier_detection."
  OutlierDetection config_;
  Io& io_;
  SidecarStats& stats_;
  UpstreamEventSink* sink_;
  std::vector<HostMonitor> hosts_;
  std::unordered_map<uint64_t, uint32_t> index_;  // packed address → hosts_ index
  uint32_t active_ = 0;
  std::string key_;  // scratch for counter names
};

}  // namespace meshsim::proxy::upstream
