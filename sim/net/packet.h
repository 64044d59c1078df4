// Packet synthesis for captures: turns a TcpSegmentObservation into the bytes
// a real Linux host would put on the wire — Ethernet or Linux "cooked" (SLL)
// link header, IPv4 header (DF, TTL 64, header checksum) and TCP header with
// options (MSS / SACK-permitted / timestamps / window scale on SYN, timestamps
// on every other segment, one SACK block on duplicate ACKs) and the TCP
// checksum over the pseudo-header. The layout is specified in
// docs/formats/pcap.md. No libpcap here: pure functions over byte buffers.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "proxy/base/ip.h"
#include "sim/observations/net.h"

namespace meshsim::sim {

using MacAddress = std::array<uint8_t, 6>;

// The MAC of a pod's eth0: 0a:58 followed by the four IP bytes (the
// convention of OVN-Kubernetes), so a capture shows who is who.
MacAddress mac_for(Ipv4 ip);

inline constexpr size_t kEthernetHeaderBytes = 14;
inline constexpr size_t kSllHeaderBytes = 16;
inline constexpr size_t kIpv4HeaderBytes = 20;
inline constexpr size_t kMaxTcpHeaderBytes = 60;
inline constexpr size_t kMaxLinkHeaderBytes = kSllHeaderBytes;

// TCP header length (20 + options, a multiple of 4) of this segment.
size_t tcp_header_bytes(const TcpSegmentObservation& seg);
// Length of the IPv4 packet (IP + TCP headers + payload).
inline size_t ipv4_packet_bytes(const TcpSegmentObservation& seg) {
  return kIpv4HeaderBytes + tcp_header_bytes(seg) + seg.payload.size();
}

// Writes the IPv4 + TCP headers of `seg` with the given addresses at `out`
// (room for kIpv4HeaderBytes + kMaxTcpHeaderBytes) and returns the header
// bytes written; the payload is not copied but is included in the checksum
// and the IP total length.
size_t write_ipv4_tcp_headers(uint8_t* out, SocketAddress src, SocketAddress dst, const TcpSegmentObservation& seg);

// 14 bytes: destination MAC, source MAC, EtherType 0x0800.
size_t write_ethernet(uint8_t* out, const MacAddress& dst, const MacAddress& src);

// LINUX_SLL (DLT 113) "cooked" header, 16 bytes, as libpcap writes it for
// the "any" device: packet type, ARPHRD type, address length, address (8
// bytes, 6 used), protocol.
struct SllHeader {
  uint16_t pkttype = 0;  // LINUX_SLL_HOST = 0 (incoming), LINUX_SLL_OUTGOING = 4
  uint16_t hatype = 1;   // ARPHRD_ETHER = 1 (eth0), ARPHRD_LOOPBACK = 772 (lo)
  MacAddress addr{};     // link-layer source address
};
size_t write_sll(uint8_t* out, const SllHeader& h);

// Internet checksum (RFC 1071) helpers. Sums are kept in the native byte
// order of 16-bit loads, which makes the result storable with memcpy.
uint64_t checksum_add(uint64_t sum, const uint8_t* data, size_t n);
uint16_t checksum_fold(uint64_t sum);  // ~(folded sum)
// Verifies a complete IPv4 header / TCP segment (for tests): true when the
// stored checksum is right.
bool ipv4_header_checksum_ok(const uint8_t* ip_header);
bool tcp_checksum_ok(const uint8_t* ip_packet, size_t len);

}  // namespace meshsim::sim
