// SidecarHost runs one pod's proxy engine (proxy::Sidecar) on the virtual
// network: it is the engine's Io. It listens where istio-iptables sends
// traffic (15001 outbound, 15006 inbound) and where Envoy itself listens
// (15021 readiness, 15090 Prometheus), hands every accepted connection to the
// engine with its original destination, opens the engine's upstream
// connections as the proxy user (uid 1337, never captured again), and maps
// the engine's timers onto the simulator. Access-log entries become
// AccessLogObservations on the event stream.
//
// Single-threaded, deterministic: timers and random numbers come from the
// Simulator (stream "proxy/<ns>/<pod>").
#pragma once

#include <memory>
#include <string>
#include <unordered_map>

#include "proxy/engine/sidecar.h"
#include "proxy/tls_transport.h"
#include "proxy/tracing/tracer.h"
#include "proxy/upstream/outlier_detection.h"
#include "sim/net/network.h"
#include "sim/random.h"
#include "sim/simulator.h"

namespace meshsim::sim {

class SidecarHost final : public proxy::Io,
                          public proxy::AccessLogSink,
                          public proxy::tracing::SpanSink,
                          public proxy::upstream::UpstreamEventSink {
 public:
  SidecarHost(Simulator& sim, Network& net, HostId host, std::string pod_label, std::string node_id);
  ~SidecarHost() override;

  // A gateway proxy (`proxy router`): no traffic capture, so besides 15021
  // and 15090 it listens on the ports of its configuration's listeners
  // (bind_to_port), opened as configurations arrive. Call before start().
  void set_router(bool router) { router_ = router; }
  bool router() const { return router_; }

  // Starts listening. Returns false if a port is taken.
  bool start();
  // The pod went away: listeners close, connections are dropped.
  void stop();
  bool running() const { return running_; }

  void apply_config(std::shared_ptr<const proxy::ProxyConfig> cfg, std::string_view version);
  proxy::Sidecar& sidecar() { return *sidecar_; }
  proxy::SecretStore& secrets() { return secrets_; }
  const proxy::SidecarStats& stats() const { return sidecar_->stats(); }
  HostId host() const { return host_; }
  const std::string& pod() const { return pod_; }

  // proxy::Io
  Duration now() const override;
  proxy::ConnId connect(const SocketAddress& to, Duration timeout, std::optional<Ipv4> source) override;
  void send(proxy::ConnId id, std::span<const uint8_t> bytes) override;
  void shutdown_write(proxy::ConnId id) override;
  void close(proxy::ConnId id, proxy::CloseType how) override;
  uint64_t arm_timer(Duration after, proxy::TimerToken token) override;
  void cancel_timer(uint64_t handle) override;
  uint64_t random() override;

  // proxy::AccessLogSink
  void on_access_log(const proxy::AccessLogEntry& entry) override;
  // Details matter only when someone subscribes to the event stream; the
  // fingerprint digest uses the fields the engine always fills.
  bool wants_details() const override { return sim_.has_subscribers(); }
  // proxy::tracing::SpanSink: every finished span becomes a SpanObservation.
  void on_span(const proxy::tracing::FinishedSpan& span) override;
  // proxy::upstream::UpstreamEventSink: ejections and priority loads become
  // OutlierObservation / PriorityLoadObservation.
  void on_outlier_event(const proxy::upstream::OutlierEvent& e) override;
  void on_priority_load(const proxy::upstream::PriorityLoadEvent& e) override;

 private:
  TcpCallbacks callbacks_for(uint64_t id, bool upstream);

  Simulator& sim_;
  Network& net_;
  HostId host_;
  std::string pod_;
  ActorId actor_;
  EventKindId k_timer_, k_access_log_, k_push_, k_span_, k_outlier_, k_priority_;
  uint64_t network_connection(proxy::ConnId id) const;
  RandomStream rng_;
  proxy::SecretStore secrets_;
  proxy::TlsTransportFactory transport_;
  proxy::Sidecar::Options options_;
  std::unique_ptr<proxy::Sidecar> sidecar_;
  std::vector<ListenerId> listeners_;
  std::unordered_map<uint64_t, EventId> timers_;  // handle → event
  uint64_t next_timer_ = 1;
  bool listen_on(uint16_t port);
  bool router_ = false;
  std::vector<uint16_t> listening_;  // ports with a listener
  bool running_ = false;
  bool stopped_ = false;  // stopped once: the next start is a new process
};

}  // namespace meshsim::sim
