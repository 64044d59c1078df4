// Event-stream payloads of the virtual network (sim/net/network.h). They are
// alternatives of sim::ObservationPayload (sim/observation.h), published by the
// Network through Simulator::publish(); pcap writers, traces, the GUI and the
// conformance verdicts all subscribe to them.
//
//  * TcpConnectionObservation — something happened to one endpoint of a
//    virtual TCP connection (connect, established, accepted, refused, timed
//    out, FIN sent/received, reset, closed). Always published.
//  * TcpDataObservation — a piece of an ordered byte stream was delivered to
//    the receiving application. Always published; `bytes` is a view.
//  * TcpSegmentObservation — one TCP segment left a host (kDeparted) or
//    reached one (kArrived), with every header field the wire would carry.
//    Published only while wire records are enabled (Network::enable_wire_records(),
//    done by the capture writers), so a run without a capture pays nothing for them.
//  * NodeStateObservation, PartitionObservation — fault injection.
//  * KeyLogLine — one NSS key log line from a TLS engine (for --keylog).
//
// Views (string_view, span, pointers) are valid only during the subscriber
// call. Plain data: no behaviour, no allocation.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "proxy/base/ip.h"

namespace meshsim::sim {

// Per-endpoint counters of a virtual TCP connection. Payload bytes only;
// `segments_*` count payload-carrying segments (first transmissions), so they
// do not depend on whether a capture is running. Pure ACKs, SYN, FIN and RST
// are not counted there; `retransmitted_segments` counts every retransmission
// this endpoint sent (data, SYN, FIN).
struct TcpCounters {
  uint64_t bytes_sent = 0;
  uint64_t bytes_received = 0;
  uint64_t segments_sent = 0;
  uint64_t segments_received = 0;
  uint64_t retransmitted_segments = 0;
};

enum class TcpEvent : uint8_t {
  kConnect,         // client: connect() called (SYN about to leave)
  kEstablished,     // client: SYN-ACK received, on_connected
  kAccepted,        // server: handshake completed, handed to the listener
  kRefused,         // client: RST in answer to the SYN (no listener)
  kTimedOut,        // client: connect timeout expired
  kUnreachable,     // client: no route to the destination
  kAddressInUse,    // client: the requested source port is taken
  kFinSent,         // endpoint: shutdown_write() / close() sent FIN
  kFinReceived,     // endpoint: the peer's FIN was delivered (on_peer_fin)
  kResetSent,       // endpoint: reset() or the stack answered with RST
  kResetReceived,   // endpoint: RST from the peer (on_reset)
  kAborted,         // endpoint: retransmissions exhausted (on_reset, timeout)
  kClosed,          // endpoint: released by close()
};

const char* to_string(TcpEvent e);

struct TcpConnectionObservation {
  TcpEvent event = TcpEvent::kConnect;
  uint64_t connection = 0;  // network-wide connection number, 1-based
  bool client_side = true;  // which endpoint this is about
  uint32_t host = 0;        // HostId of that endpoint
  SocketAddress local;      // as that endpoint sees it
  SocketAddress remote;
  // Set when the capture rules (istio-iptables) redirected the connection;
  // what SO_ORIGINAL_DST would return on the accepted socket.
  bool redirected = false;
  SocketAddress original_dst;
  TcpCounters counters;     // of that endpoint, at the time of the event
};

struct TcpDataObservation {
  uint64_t connection = 0;
  bool to_client = false;     // direction: server → client when true
  uint32_t host = 0;          // receiving HostId
  uint64_t stream_offset = 0; // offset of bytes[0] in the direction's byte stream
  std::span<const uint8_t> bytes;
};

// The addresses of one connection as each place sees them. They differ when
// kube-proxy DNATs a ClusterIP (the client's network namespace sees the
// ClusterIP, the wire and the server see the pod) and on the loopback hop of
// an outbound redirect (iptables REDIRECT rewrites the destination to
// 127.0.0.1:15001 before the packet reaches `lo`).
struct TcpFlowAddresses {
  SocketAddress client;
  SocketAddress server_at_client;  // destination in the client's netns
  SocketAddress server_on_wire;    // destination between hosts and at the server
  uint32_t client_host = 0;
  uint32_t server_host = 0;
  bool loopback = false;           // both ends in one network namespace (lo)
};

// TCP header flag bits, as on the wire.
enum TcpFlag : uint8_t {
  kTcpFin = 0x01,
  kTcpSyn = 0x02,
  kTcpRst = 0x04,
  kTcpPsh = 0x08,
  kTcpAck = 0x10,
};

struct TcpSegmentObservation {
  enum class Point : uint8_t { kDeparted, kArrived };
  Point point = Point::kDeparted;
  uint64_t connection = 0;
  const TcpFlowAddresses* flow = nullptr;
  bool from_client = true;
  bool lost = false;            // departed, but the network drops it (no kArrived follows)
  bool retransmission = false;
  uint8_t flags = 0;            // TcpFlag bits
  uint32_t seq = 0;
  uint32_t ack = 0;
  uint16_t window = 0;          // the 16-bit header field (scaled except on SYN)
  uint16_t ip_id = 0;
  uint32_t tsval = 0;           // TCP timestamps option (RFC 7323)
  uint32_t tsecr = 0;
  bool has_timestamps = true;
  // SYN / SYN-ACK options: MSS, SACK permitted, window scale.
  uint16_t syn_mss = 0;
  uint8_t syn_wscale = 0;
  // One SACK block (left, right) on duplicate ACKs; zero when absent.
  uint32_t sack_left = 0;
  uint32_t sack_right = 0;
  std::span<const uint8_t> payload;
  // Sender-side departure time and receiver-side arrival time of this
  // transmission (the observation itself is stamped with the time of `point`).
  int64_t departed_ns = 0;
  int64_t arrives_ns = 0;
};

struct NodeStateObservation {
  uint32_t node = 0;
  std::string_view name;
  bool up = true;
};

struct PartitionObservation {
  uint32_t partition = 0;
  bool active = true;  // false: healed
};

// One line of the NSS key log format ("CLIENT_RANDOM <hex> <hex>", TLS 1.3
// "CLIENT_HANDSHAKE_TRAFFIC_SECRET …" etc.), without the newline.
struct KeyLogLine {
  std::string_view line;
};

}  // namespace meshsim::sim
