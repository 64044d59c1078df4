// AsioHost runs one proxy engine (proxy::Sidecar) on real sockets: it is the
// engine's Io over Boost.Asio, the real-world twin of sim::SidecarHost. The
// engine, its configuration (ProxyConfig) and its TLS code (TlsTransportFactory
// over memory BIOs) are exactly the ones the simulation runs; only the world
// differs.
//
// Listeners stand for the engine's capture listeners. Without iptables a
// real client connects to the listener directly, so each ListenSpec says
// which engine listener it feeds (15001 virtualOutbound, 15006 virtualInbound)
// and which original destination the connection had — what SO_ORIGINAL_DST
// would return after istio-iptables' REDIRECT. With no fixed destination the
// host asks the kernel (SO_ORIGINAL_DST), so the same listener serves a pod
// whose traffic real iptables rules redirect.
//
// Upstream connections go where the engine says, except addresses in the
// upstream map (a pod IP:port of the mesh → the real address that stands for
// it, e.g. that pod's inbound listener or its application's port).
//
// Back-pressure: when the bytes queued towards one socket exceed the high
// watermark, the host stops reading from every socket of this engine until the
// queue drains below the low watermark (the Io seam has no per-stream
// watermark callbacks yet; see docs/model/real-sockets.md).
//
// Entry points into the engine are only ever called from loop handlers, never
// from inside an Io call (the Io contract); a socket the engine closes stays
// alive until its pending operations finish.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "proxy/base/result.h"
#include "proxy/engine/sidecar.h"
#include "proxy/io.h"
#include "proxy/asio/socket_place.h"

namespace meshsim::proxy::asio {

class EventLoop;

struct ListenSpec {
  SocketAddress bind;                                 // port 0: any free port
  uint16_t listener_port = 15006;                     // the engine listener it feeds (15001, 15006)
  std::optional<SocketAddress> original_destination;  // nullopt: SO_ORIGINAL_DST, else the local address
};

struct AsioHostOptions {
  Sidecar::Options sidecar;                          // name, transport, access log, node id
  std::map<SocketAddress, SocketAddress> upstream_map;
  uint64_t seed = 1;                                 // the engine's random stream (LB picks, request ids)
  size_t high_watermark = 1 << 20;                   // bytes queued towards one socket
  size_t low_watermark = 256 << 10;
  // Where listeners and upstream sockets are created (a pod's network
  // namespace, uid/gid 1337); default: this process's namespace and identity.
  SocketPlace place;
};

struct AsioHostCounters {
  uint64_t accepted = 0, connects = 0, connect_failures = 0, bytes_in = 0, bytes_out = 0;
  uint64_t read_pauses = 0;  // times back-pressure stopped reading
};

class AsioHost final : public Io {
 public:
  AsioHost(EventLoop& loop, AsioHostOptions options);
  ~AsioHost() override;
  AsioHost(const AsioHost&) = delete;
  AsioHost& operator=(const AsioHost&) = delete;

  // Opens a listener; returns the port it is bound to.
  Result<uint16_t> listen(const ListenSpec& spec);
  // Adds or replaces one upstream map entry (later connects use it).
  void map_upstream(const SocketAddress& engine_destination, const SocketAddress& real);
  // Stops accepting (drain): open connections finish on their own.
  void close_listeners();
  // Resets every open socket and cancels the engine's timers (shutdown).
  void abort_all();

  Sidecar& sidecar() { return *sidecar_; }
  size_t open_sockets() const;
  const AsioHostCounters& counters() const { return counters_; }

  // proxy::Io
  Duration now() const override;
  ConnId connect(const SocketAddress& to, Duration timeout, std::optional<Ipv4> source) override;
  void send(ConnId id, std::span<const uint8_t> bytes) override;
  void shutdown_write(ConnId id) override;
  void close(ConnId id, CloseType how) override;
  uint64_t arm_timer(Duration after, TimerToken token) override;
  void cancel_timer(uint64_t handle) override;
  uint64_t random() override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::unique_ptr<Sidecar> sidecar_;
  AsioHostCounters counters_;
};

}  // namespace meshsim::proxy::asio
