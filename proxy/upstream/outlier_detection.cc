#include "proxy/upstream/outlier_detection.h"

#include <algorithm>

namespace meshsim::proxy::upstream {

const char* to_string(EjectionType t) {
  switch (t) {
    case EjectionType::kConsecutive5xx: return "CONSECUTIVE_5XX";
    case EjectionType::kConsecutiveGatewayFailure: return "CONSECUTIVE_GATEWAY_FAILURE";
    case EjectionType::kConsecutiveLocalOriginFailure: return "CONSECUTIVE_LOCAL_ORIGIN_FAILURE";
  }
  return "?";
}

namespace {
const char* stat_suffix(EjectionType t) {
  switch (t) {
    case EjectionType::kConsecutive5xx: return "consecutive_5xx";
    case EjectionType::kConsecutiveGatewayFailure: return "consecutive_gateway_failure";
    case EjectionType::kConsecutiveLocalOriginFailure: return "consecutive_local_origin_failure";
  }
  return "?";
}
bool is_gateway_error(uint32_t code) { return code == 502 || code == 503 || code == 504; }
}  // namespace

OutlierDetector::OutlierDetector(std::string cluster, const OutlierDetection& config, Io& io, SidecarStats& stats,
                                 UpstreamEventSink* sink)
    : cluster_(std::move(cluster)),
      prefix_("cluster." + cluster_ + ".outlier_detection."),
      config_(config),
      io_(io),
      stats_(stats),
      sink_(sink) {}

void OutlierDetector::count(std::string_view suffix, int64_t delta) {
  key_.assign(prefix_);
  key_.append(suffix);
  auto it = stats_.named.find(key_);
  if (it == stats_.named.end()) it = stats_.named.emplace(key_, 0).first;
  if (delta >= 0) it->second += static_cast<uint64_t>(delta);
  else if (it->second > 0) --it->second;
}

void OutlierDetector::sync_hosts(std::span<const LbEndpoint* const> endpoints) {
  std::vector<HostMonitor> next;
  next.reserve(endpoints.size());
  std::unordered_map<uint64_t, uint32_t> index;
  index.reserve(endpoints.size());
  for (const LbEndpoint* e : endpoints) {
    uint64_t k = packed(e->address);
    if (index.count(k)) continue;  // one monitor per host address
    auto it = index_.find(k);
    if (it != index_.end()) {
      next.push_back(std::move(hosts_[it->second]));
    } else {
      HostMonitor m;
      m.address = e->address;
      next.push_back(std::move(m));
    }
    next.back().hostname = e->hostname;
    index.emplace(k, static_cast<uint32_t>(next.size() - 1));
  }
  // Hosts that left take their ejection with them.
  for (const HostMonitor& m : hosts_) {
    if (m.ejected && !index.count(packed(m.address)) && active_ > 0) {
      --active_;
      count("ejections_active", -1);
    }
  }
  hosts_ = std::move(next);
  index_ = std::move(index);
}

uint32_t OutlierDetector::num_ejections(const SocketAddress& host) const {
  auto it = index_.find(packed(host));
  return it == index_.end() ? 0 : hosts_[it->second].num_ejections;
}

uint32_t OutlierDetector::backoff(const SocketAddress& host) const {
  auto it = index_.find(packed(host));
  return it == index_.end() ? 0 : hosts_[it->second].backoff;
}

bool OutlierDetector::put_result(const SocketAddress& host, OutlierResult r, uint32_t code, Duration now) {
  auto it = index_.find(packed(host));
  if (it == index_.end()) return false;  // not (or no longer) a host of this cluster
  HostMonitor& m = hosts_[it->second];
  const bool was = m.ejected;
  if (!config_.split_external_local_origin_errors) {
    // putResultNoLocalExternalSplit: local-origin results become HTTP codes.
    switch (r) {
      case OutlierResult::kExtOriginRequestSuccess:
      case OutlierResult::kExtOriginRequestFailed:
        put_http_code(m, code ? code : (r == OutlierResult::kExtOriginRequestFailed ? 500 : 200), now);
        break;
      case OutlierResult::kLocalOriginConnectSuccessFinal: put_http_code(m, 200, now); break;
      case OutlierResult::kLocalOriginTimeout: put_http_code(m, 504, now); break;
      case OutlierResult::kLocalOriginConnectFailed: put_http_code(m, 503, now); break;
      case OutlierResult::kLocalOriginConnectSuccess: break;  // the HTTP layer will judge
    }
  } else {
    // putResultWithLocalExternalSplit.
    switch (r) {
      case OutlierResult::kLocalOriginConnectSuccess:
      case OutlierResult::kLocalOriginConnectSuccessFinal: m.consecutive_local_origin_failure = 0; break;
      case OutlierResult::kLocalOriginTimeout:
      case OutlierResult::kLocalOriginConnectFailed: local_origin_failure(m, now); break;
      case OutlierResult::kExtOriginRequestFailed: put_http_code(m, code ? code : 503, now); break;
      case OutlierResult::kExtOriginRequestSuccess: put_http_code(m, code ? code : 200, now); break;
    }
  }
  return !was && m.ejected;
}

void OutlierDetector::put_http_code(HostMonitor& m, uint32_t code, Duration now) {
  if (code >= 500 && code < 600) {
    if (is_gateway_error(code)) {
      if (++m.consecutive_gateway_failure == config_.consecutive_gateway_failure) {
        on_consecutive_error(m, EjectionType::kConsecutiveGatewayFailure, now);
      }
    } else {
      m.consecutive_gateway_failure = 0;
    }
    if (++m.consecutive_5xx == config_.consecutive_5xx) on_consecutive_error(m, EjectionType::kConsecutive5xx, now);
  } else {
    m.consecutive_5xx = 0;
    m.consecutive_gateway_failure = 0;
  }
}

void OutlierDetector::local_origin_failure(HostMonitor& m, Duration now) {
  if (++m.consecutive_local_origin_failure == config_.consecutive_local_origin_failure) {
    on_consecutive_error(m, EjectionType::kConsecutiveLocalOriginFailure, now);
  }
}

// DetectorImpl::onConsecutiveErrorWorker.
void OutlierDetector::on_consecutive_error(HostMonitor& m, EjectionType type, Duration now) {
  if (m.ejected) return;
  key_.assign("ejections_detected_");
  key_.append(stat_suffix(type));
  std::string name = key_;
  count(name);
  eject(m, type, now);
  switch (type) {
    case EjectionType::kConsecutive5xx:
      count("ejections_consecutive_5xx");  // deprecated counter, still emitted
      m.consecutive_5xx = 0;
      break;
    case EjectionType::kConsecutiveGatewayFailure: m.consecutive_gateway_failure = 0; break;
    case EjectionType::kConsecutiveLocalOriginFailure: m.consecutive_local_origin_failure = 0; break;
  }
}

bool OutlierDetector::enforce(EjectionType type) {
  uint32_t pct = 0;
  switch (type) {
    case EjectionType::kConsecutive5xx: pct = config_.enforcing_consecutive_5xx; break;
    case EjectionType::kConsecutiveGatewayFailure: pct = config_.enforcing_consecutive_gateway_failure; break;
    case EjectionType::kConsecutiveLocalOriginFailure: pct = config_.enforcing_consecutive_local_origin_failure; break;
  }
  if (pct == 0) return false;
  if (pct >= 100) return true;
  return io_.random() % 100 < pct;  // Runtime featureEnabled(percent)
}

Duration OutlierDetector::ejection_time(const HostMonitor& m) const {
  Duration t = config_.base_ejection_time * static_cast<int64_t>(m.backoff);
  return std::min(t, config_.effective_max_ejection_time()) + m.jitter;
}

// DetectorImpl::ejectHost.
void OutlierDetector::eject(HostMonitor& m, EjectionType type, Duration now) {
  const uint64_t max_pct = std::min<uint64_t>(100, config_.max_ejection_percent);
  const double ejected_pct = 100.0 * (active_ + 1) / static_cast<double>(hosts_.size());
  bool should_eject = ejected_pct <= static_cast<double>(max_pct);
  if (config_.always_eject_one_host) should_eject = active_ == 0 || should_eject;
  if (!should_eject) {
    count("ejections_overflow");
    publish(m, OutlierEvent::Action::kOverflow, type, false, now);
    return;
  }
  if (type == EjectionType::kConsecutive5xx) count("ejections_total");  // deprecated
  if (!enforce(type)) {
    publish(m, OutlierEvent::Action::kEject, type, false, now);
    return;
  }
  ++active_;
  count("ejections_active");
  count("ejections_enforced_total");
  key_.assign("ejections_enforced_");
  key_.append(stat_suffix(type));
  std::string name = key_;
  count(name);
  m.ejected = true;
  ++m.num_ejections;
  m.last_ejection = now;
  const int64_t jitter_ms = config_.max_ejection_time_jitter.ns() / 1'000'000;
  m.jitter = jitter_ms > 0 ? Duration::millis(static_cast<int64_t>(io_.random() % static_cast<uint64_t>(jitter_ms + 1)))
                           : Duration::zero();
  const Duration base = config_.base_ejection_time;
  if (base * static_cast<int64_t>(m.backoff) < config_.effective_max_ejection_time() + base) ++m.backoff;
  publish(m, OutlierEvent::Action::kEject, type, true, now);
}

void OutlierDetector::uneject(HostMonitor& m, Duration now) {
  if (active_ > 0) --active_;
  count("ejections_active", -1);
  m.ejected = false;
  m.consecutive_5xx = m.consecutive_gateway_failure = m.consecutive_local_origin_failure = 0;
  m.last_unejection = now;
  publish(m, OutlierEvent::Action::kUneject, EjectionType::kConsecutive5xx, true, now);
}

// DetectorImpl::onIntervalTimer (without the success-rate passes).
bool OutlierDetector::on_interval(Duration now) {
  bool changed = false;
  for (HostMonitor& m : hosts_) {
    if (m.ejected && ejection_time(m) <= now - m.last_ejection) {
      uneject(m, now);
      changed = true;
    }
  }
  for (HostMonitor& m : hosts_) {
    if (!m.ejected && m.last_unejection && now - *m.last_unejection >= config_.interval && m.backoff != 0) {
      --m.backoff;
    }
  }
  return changed;
}

void OutlierDetector::publish(const HostMonitor& m, OutlierEvent::Action a, EjectionType type, bool enforced,
                              Duration now) {
  if (!sink_) return;
  OutlierEvent e;
  e.action = a;
  e.cluster = cluster_;
  e.host = m.address;
  e.hostname = m.hostname;
  e.type = type;
  e.enforced = enforced;
  e.num_ejections = m.num_ejections;
  e.backoff = m.backoff;
  if (a == OutlierEvent::Action::kEject && enforced) e.ejection_time = ejection_time(m);
  if (a == OutlierEvent::Action::kUneject) e.ejected_for = now - m.last_ejection;
  e.ejections_active = active_;
  e.hosts = static_cast<uint32_t>(hosts_.size());
  e.max_ejection_percent = config_.max_ejection_percent;
  sink_->on_outlier_event(e);
}

}  // namespace meshsim::proxy::upstream
