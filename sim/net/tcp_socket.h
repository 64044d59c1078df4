// The vocabulary of the virtual TCP socket API (sim/net/network.h): socket
// and listener handles, the per-connection callbacks, connect options and the
// connection info an accepted socket carries (including the original
// destination when the istio-iptables capture rules redirected it).
//
// Callbacks are plain std::function values owned by the Network; they are
// invoked from simulator events (never re-entrantly from inside the API call
// that caused them), one at a time, on the simulator's thread. A callback may
// call any Network method, including close() on its own socket.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>

#include "proxy/base/duration.h"
#include "proxy/base/ip.h"
#include "sim/net/capture_rules.h"
#include "sim/observations/net.h"
#include "sim/net/topology.h"

namespace meshsim::sim {

// Handle of one endpoint (socket) of a virtual TCP connection. 0 = none.
// Handles are never reused: a handle whose connection is gone is simply
// rejected (the API returns false / empty values).
struct TcpSocket {
  uint64_t id = 0;
  explicit operator bool() const { return id != 0; }
  friend bool operator==(TcpSocket, TcpSocket) = default;
};

struct ListenerId {
  uint32_t value = 0;
  explicit operator bool() const { return value != 0; }
  friend bool operator==(ListenerId, ListenerId) = default;
};

enum class ConnectError : uint8_t {
  kRefused,       // RST in answer to the SYN: nothing listens there (or a ClusterIP without endpoints)
  kTimeout,       // no SYN-ACK before the connect timeout (partition, node down, black hole)
  kUnreachable,   // no route: the destination is no known host, ClusterIP or local address
  kAddressInUse,  // the requested source port is in use
  kHostDown,      // the connecting host itself is down
};
const char* to_string(ConnectError e);

enum class ResetReason : uint8_t {
  kPeerReset,  // an RST arrived from the peer
  kTimeout,    // retransmissions exhausted (tcp_retries2): the peer is gone
};
const char* to_string(ResetReason r);

struct TcpCallbacks {
  // Client only: the handshake completed (SYN-ACK arrived); data may flow.
  std::function<void()> on_connected;
  // In-order bytes from the peer. The span is valid during the call only.
  std::function<void(std::span<const uint8_t>)> on_data;
  // The peer shut down its sending side (FIN); no more on_data will follow.
  // This side may keep sending (half-close).
  std::function<void()> on_peer_fin;
  // The connection is gone (RST received, or retransmissions exhausted). The
  // socket is released; no further callbacks.
  std::function<void(ResetReason)> on_reset;
  // Client only: the connection could not be established. The socket is
  // released; no further callbacks.
  std::function<void(ConnectError)> on_connect_failed;
};

// The Linux default for how long connect() keeps retransmitting SYNs
// (tcp_syn_retries = 6: 1+2+4+8+16+32+64 s).
inline constexpr Duration kKernelConnectTimeout = Duration::seconds(127);

struct ConnectOptions {
  // Owner of the socket. The sidecar's own connections use 1337 and are never
  // captured by its outbound rules again.
  uint32_t uid = 0;
  // bind() before connect(): e.g. 127.0.0.6 for the sidecar's inbound
  // upstream connections. Empty: the route decides (pod IP, or 127.0.0.1 for
  // loopback destinations).
  std::optional<Ipv4> source_ip;
  // 0: an ephemeral port from the host's deterministic allocator.
  uint16_t source_port = 0;
  // Zero: the kernel default (127 s of SYN retransmissions).
  Duration connect_timeout;
};

struct ConnectionInfo {
  uint64_t connection = 0;  // network-wide connection number, 1-based
  HostId host = kNoHost;    // the host this endpoint lives on
  bool client_side = true;
  SocketAddress local;      // getsockname()
  SocketAddress remote;     // getpeername()
  // SO_ORIGINAL_DST: set when the capture rules redirected the connection to
  // this (sidecar) listener.
  std::optional<SocketAddress> original_dst;
  // Which capture rule applied at the client (outbound) and at the server
  // (inbound) pods; kNotInjected when a pod has no sidecar.
  CaptureDecision outbound_capture;
  CaptureDecision inbound_capture;
  Relation relation = Relation::kSameZone;  // client host vs. server host
};

// Called when a handshake to a listener completes. Returns the callbacks of
// the accepted socket (they may be empty and set later with set_callbacks();
// bytes that arrive meanwhile are held). The handler may send() right away.
using AcceptHandler = std::function<TcpCallbacks(TcpSocket, const ConnectionInfo&)>;

}  // namespace meshsim::sim
