#include "sim/runtime/sidecar_host.h"

#include <algorithm>

#include "proxy/base/hash.h"
#include "sim/observations/runtime.h"

namespace meshsim::sim {

namespace {
constexpr uint32_t kProxyUid = 1337;
constexpr uint16_t kListenPorts[] = {15001, 15006, 15021, 15090};

proxy::ConnectFailure to_failure(ConnectError e) {
  switch (e) {
    case ConnectError::kRefused: return proxy::ConnectFailure::kRefused;
    case ConnectError::kTimeout: return proxy::ConnectFailure::kTimeout;
    default: return proxy::ConnectFailure::kUnreachable;
  }
}
}  // namespace

SidecarHost::SidecarHost(Simulator& sim, Network& net, HostId host, std::string pod_label, std::string node_id)
    : sim_(sim),
      net_(net),
      host_(host),
      pod_(std::move(pod_label)),
      actor_(sim.actor("sidecar/" + pod_)),
      k_timer_(sim.kind("proxy.timer")),
      k_access_log_(sim.kind("proxy.access_log")),
      k_push_(sim.kind("proxy.config_push")),
      k_span_(sim.kind("proxy.span")),
      k_outlier_(sim.kind("proxy.outlier")),
      k_priority_(sim.kind("proxy.priority_load")),
      rng_(sim.rng("proxy/" + pod_)),
      transport_(secrets_) {
  options_.name = pod_;
  options_.transport = &transport_;
  options_.access_log = this;
  options_.spans = this;
  options_.upstream_events = this;
  options_.node_id = std::move(node_id);
  sidecar_ = std::make_unique<proxy::Sidecar>(*this, options_);
}

SidecarHost::~SidecarHost() = default;

bool SidecarHost::start() {
  if (running_) return true;
  // A restarted Envoy is a new process: no connections, pools, streams or
  // configuration of the one that died (the next push configures it).
  if (stopped_) sidecar_ = std::make_unique<proxy::Sidecar>(*this, options_);
  for (uint16_t port : kListenPorts) {
    if (router_ && (port == 15001 || port == 15006)) continue;  // a gateway has no capture listeners
    if (!listen_on(port)) return false;
  }
  running_ = true;
  return true;
}

bool SidecarHost::listen_on(uint16_t port) {
  if (std::find(listening_.begin(), listening_.end(), port) != listening_.end()) return true;
  ListenerId l = net_.listen(host_, {Ipv4::any(), port}, [this, port](TcpSocket s, const ConnectionInfo& info) {
    proxy::DownstreamInfo d;
    d.listener_port = port;
    d.remote = info.remote;
    d.original_destination = info.original_dst.value_or(info.local);
    uint64_t id = s.id;
    if (running_) sidecar_->on_downstream_accepted(id, d);
    return callbacks_for(id, false);
  });
  if (!l) return false;
  listeners_.push_back(l);
  listening_.push_back(port);
  return true;
}

void SidecarHost::stop() {
  for (ListenerId l : listeners_) net_.close_listener(l);
  listeners_.clear();
  listening_.clear();
  for (auto& [h, ev] : timers_) sim_.cancel(ev);
  timers_.clear();
  running_ = false;
  stopped_ = true;
}

void SidecarHost::apply_config(std::shared_ptr<const proxy::ProxyConfig> cfg, std::string_view version) {
  if (router_ && running_) {
    // Envoy binds a listener's port when the listener arrives (LDS). A port
    // another process holds stays unbound (the listener is not served).
    for (const proxy::Listener& l : cfg->listeners)
      if (l.bind_to_port && !l.use_original_dst) (void)listen_on(l.address.port);
  }
  sidecar_->apply_config(std::move(cfg));
  sim_.publish(actor_, k_push_, fnv1a64(version), ConfigPushObservation{pod_, version});
}

TcpCallbacks SidecarHost::callbacks_for(uint64_t id, bool upstream) {
  TcpCallbacks cb;
  cb.on_data = [this, id](std::span<const uint8_t> b) {
    if (running_) sidecar_->on_data(id, b);
  };
  cb.on_peer_fin = [this, id] {
    if (running_) sidecar_->on_peer_closed(id, proxy::CloseType::kFin);
  };
  cb.on_reset = [this, id](ResetReason) {
    if (running_) sidecar_->on_peer_closed(id, proxy::CloseType::kReset);
  };
  if (upstream) {
    cb.on_connected = [this, id] {
      if (running_) sidecar_->on_upstream_connected(id);
    };
    cb.on_connect_failed = [this, id](ConnectError e) {
      if (running_) sidecar_->on_upstream_connect_failed(id, to_failure(e));
    };
  }
  return cb;
}

Duration SidecarHost::now() const { return sim_.now(); }

proxy::ConnId SidecarHost::connect(const SocketAddress& to, Duration timeout, std::optional<Ipv4> source) {
  ConnectOptions o;
  o.uid = kProxyUid;
  o.source_ip = source;
  o.connect_timeout = timeout;
  TcpSocket s = net_.connect(host_, to, o, {});
  net_.set_callbacks(s, callbacks_for(s.id, true));
  return s.id;
}

void SidecarHost::send(proxy::ConnId id, std::span<const uint8_t> bytes) { net_.send(TcpSocket{id}, bytes); }

void SidecarHost::shutdown_write(proxy::ConnId id) { net_.shutdown_write(TcpSocket{id}); }

void SidecarHost::close(proxy::ConnId id, proxy::CloseType how) {
  if (how == proxy::CloseType::kReset) net_.reset(TcpSocket{id});
  else net_.close(TcpSocket{id});
}

uint64_t SidecarHost::arm_timer(Duration after, proxy::TimerToken token) {
  uint64_t handle = next_timer_++;
  timers_[handle] = sim_.schedule_after(after, actor_, k_timer_, [this, handle, token] {
    timers_.erase(handle);
    if (running_) sidecar_->on_timer(token);
  });
  return handle;
}

void SidecarHost::cancel_timer(uint64_t handle) {
  auto it = timers_.find(handle);
  if (it == timers_.end()) return;
  sim_.cancel(it->second);
  timers_.erase(it);
}

uint64_t SidecarHost::random() { return rng_.next_u64(); }

void SidecarHost::on_access_log(const proxy::AccessLogEntry& e) {
  uint64_t digest = hash_combine(fnv1a64(e.listener), fnv1a64(e.filter_chain));
  digest = hash_combine(digest, fnv1a64(e.cluster));
  digest = hash_combine(digest, fnv1a64(e.response_flags));
  digest = hash_combine(digest, static_cast<uint64_t>(e.response_code));
  sim_.publish(actor_, k_access_log_, digest, AccessLogObservation{pod_, &e, network_connection(e.connection)});
}

uint64_t SidecarHost::network_connection(proxy::ConnId id) const {
  if (id == 0) return 0;
  auto info = net_.info(TcpSocket{id});
  return info ? info->connection : 0;
}

void SidecarHost::on_span(const proxy::tracing::FinishedSpan& f) {
  const proxy::tracing::SpanContext& c = f.span.context;
  uint64_t digest = hash_combine(c.trace_id ^ c.trace_id_high, c.span_id);
  digest = hash_combine(digest, static_cast<uint64_t>(c.sampled) | (static_cast<uint64_t>(f.span.client) << 1));
  sim_.publish(actor_, k_span_, digest,
               SpanObservation{pod_, &f, network_connection(f.downstream), network_connection(f.upstream)});
}

}  // namespace meshsim::sim

namespace meshsim::sim {

void SidecarHost::on_outlier_event(const proxy::upstream::OutlierEvent& e) {
  using A = proxy::upstream::OutlierEvent::Action;
  OutlierObservation o;
  o.pod = pod_;
  o.cluster = e.cluster;
  std::string host = to_string(e.host);
  o.host = host;
  o.hostname = e.hostname;
  o.type = proxy::upstream::to_string(e.type);
  o.action = e.action == A::kEject     ? OutlierObservation::Action::kEject
             : e.action == A::kUneject ? OutlierObservation::Action::kUneject
                                       : OutlierObservation::Action::kOverflow;
  o.enforced = e.enforced;
  o.num_ejections = e.num_ejections;
  o.ejection_time_ns = e.ejection_time.ns();
  o.ejected_for_ns = e.ejected_for.ns();
  o.ejections_active = e.ejections_active;
  o.hosts = e.hosts;
  o.max_ejection_percent = e.max_ejection_percent;
  uint64_t digest = fnv1a64(e.cluster) ^ (packed(e.host) * 0x9E3779B97F4A7C15ull) ^
                    (static_cast<uint64_t>(o.action) << 56) ^ (static_cast<uint64_t>(e.num_ejections) << 40);
  sim_.publish(actor_, k_outlier_, digest, o);
}

void SidecarHost::on_priority_load(const proxy::upstream::PriorityLoadEvent& e) {
  PriorityLoadObservation o{pod_, e.cluster, e.load, e.hosts, e.healthy, e.panic, e.total_panic};
  uint64_t digest = fnv1a64(e.cluster);
  for (uint32_t l : e.load) digest = digest * 1099511628211ull ^ l;
  sim_.publish(actor_, k_priority_, digest, o);
}

const char* to_string(PodHealthObservation::Event e) {
  switch (e) {
    case PodHealthObservation::Event::kNotReady: return "not-ready";
    case PodHealthObservation::Event::kReady: return "ready";
    case PodHealthObservation::Event::kRestarted: return "restart";
  }
  return "?";
}

const char* to_string(OutlierObservation::Action a) {
  switch (a) {
    case OutlierObservation::Action::kEject: return "eject";
    case OutlierObservation::Action::kUneject: return "uneject";
    case OutlierObservation::Action::kOverflow: return "overflow";
  }
  return "?";
}

}  // namespace meshsim::sim
