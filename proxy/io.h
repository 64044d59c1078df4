// Io is the one seam between a proxy engine and the world it runs in — the
// sans-I/O contract of ARCHITECTURE.md. The engine never touches a socket, a
// clock or a timer directly: it calls Io to connect, send, close and arm
// timers, and the world calls the engine back (Sidecar::on_*) when bytes
// arrive, connections open or fail, and timers fire. sim/ implements Io over
// virtual TCP and virtual time; proxy/asio/ will implement it over Boost.Asio.
//
// Contract: Io calls never call back into the engine synchronously (results are
// delivered later through the engine's on_* entry points), so the engine's
// state is never re-entered. All times are virtual (meshsim::Duration since the
// start of the run). The engine never throws.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "proxy/base/duration.h"
#include "proxy/base/ip.h"

namespace meshsim::proxy {

// Identifies one TCP connection the engine sees (downstream or upstream).
// Assigned by the Io implementation; never reused within a run.
using ConnId = uint64_t;
// Identifies one armed timer; assigned by the engine, echoed back on firing.
using TimerToken = uint64_t;

enum class CloseType : uint8_t {
  kFin,    // orderly: all sent data is delivered, then FIN
  kReset,  // abortive: RST, unsent data discarded
};

enum class ConnectFailure : uint8_t {
  kRefused,      // RST in answer to SYN: nothing listens (errno ECONNREFUSED, 111)
  kTimeout,      // no answer within the connect timeout (ETIMEDOUT, 110)
  kUnreachable,  // no route: partition or node down (EHOSTUNREACH, 113)
};

std::string_view to_string(ConnectFailure f);
std::string_view to_string(CloseType t);

class Io {
 public:
  virtual ~Io() = default;

  virtual Duration now() const = 0;

  // Opens an upstream connection from the proxy itself (its traffic is never
  // captured again by the pod's iptables rules), bound to `source` when given
  // (Envoy's upstream_bind_config, e.g. 127.0.0.6 for inbound clusters). The
  // outcome arrives later as Sidecar::on_upstream_connected(id) or
  // on_upstream_connect_failed(id, why).
  virtual ConnId connect(const SocketAddress& to, Duration timeout, std::optional<Ipv4> source) = 0;
  // Queues bytes on an open connection, in order.
  virtual void send(ConnId id, std::span<const uint8_t> bytes) = 0;
  // Half-closes the sending direction (FIN after queued bytes).
  virtual void shutdown_write(ConnId id) = 0;
  // Closes the connection; the engine forgets `id` after this call.
  virtual void close(ConnId id, CloseType how) = 0;

  // Arms a one-shot timer that calls Sidecar::on_timer(token) after `after`.
  // Returns an opaque handle for cancel_timer (0 is never returned).
  virtual uint64_t arm_timer(Duration after, TimerToken token) = 0;
  virtual void cancel_timer(uint64_t handle) = 0;

  // Deterministic randomness for load balancing, request ids and sampling.
  virtual uint64_t random() = 0;
};

inline std::span<const uint8_t> as_bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
inline std::string_view as_chars(std::span<const uint8_t> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

}  // namespace meshsim::proxy
