#include "sim/net/packet.h"

#include <cstring>

namespace meshsim::sim {
namespace {

void put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
void put32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

bool is_stack_rst(const TcpSegmentObservation& seg) { return !seg.has_timestamps; }

}  // namespace

MacAddress mac_for(Ipv4 ip) {
  return {0x0a, 0x58, static_cast<uint8_t>(ip.value >> 24), static_cast<uint8_t>(ip.value >> 16),
          static_cast<uint8_t>(ip.value >> 8), static_cast<uint8_t>(ip.value)};
}

size_t tcp_header_bytes(const TcpSegmentObservation& seg) {
  if (is_stack_rst(seg)) return 20;
  if (seg.flags & kTcpSyn) return 40;  // MSS 4 + SACK_PERM 2 + TS 10 + NOP 1 + WS 3
  size_t n = 20 + 12;                  // NOP NOP TS
  if (seg.sack_right != seg.sack_left) n += 12;  // NOP NOP SACK(1 block)
  return n;
}

uint64_t checksum_add(uint64_t sum, const uint8_t* p, size_t n) {
  while (n >= 32) {
    uint64_t a, b, c, d;
    std::memcpy(&a, p, 8);
    std::memcpy(&b, p + 8, 8);
    std::memcpy(&c, p + 16, 8);
    std::memcpy(&d, p + 24, 8);
    // Add the 32-bit halves so that nothing overflows 64 bits.
    sum += (a & 0xffffffff) + (a >> 32) + (b & 0xffffffff) + (b >> 32) + (c & 0xffffffff) + (c >> 32) +
           (d & 0xffffffff) + (d >> 32);
    p += 32;
    n -= 32;
  }
  while (n >= 4) {
    uint32_t w;
    std::memcpy(&w, p, 4);
    sum += w;
    p += 4;
    n -= 4;
  }
  if (n >= 2) {
    uint16_t w;
    std::memcpy(&w, p, 2);
    sum += w;
    p += 2;
    n -= 2;
  }
  if (n) {
    uint8_t last[2] = {*p, 0};
    uint16_t w;
    std::memcpy(&w, last, 2);
    sum += w;
  }
  return sum;
}

uint16_t checksum_fold(uint64_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

size_t write_ipv4_tcp_headers(uint8_t* out, SocketAddress src, SocketAddress dst, const TcpSegmentObservation& seg) {
  const size_t thl = tcp_header_bytes(seg);
  const size_t total = kIpv4HeaderBytes + thl + seg.payload.size();
  uint8_t* ip = out;
  ip[0] = 0x45;
  ip[1] = 0;
  put16(ip + 2, static_cast<uint16_t>(total));
  put16(ip + 4, seg.ip_id);
  put16(ip + 6, 0x4000);  // DF
  ip[8] = 64;
  ip[9] = 6;
  ip[10] = ip[11] = 0;
  put32(ip + 12, src.ip.value);
  put32(ip + 16, dst.ip.value);
  uint16_t ipsum = checksum_fold(checksum_add(0, ip, kIpv4HeaderBytes));
  std::memcpy(ip + 10, &ipsum, 2);

  uint8_t* t = ip + kIpv4HeaderBytes;
  put16(t, src.port);
  put16(t + 2, dst.port);
  put32(t + 4, seg.seq);
  put32(t + 8, seg.ack);
  t[12] = static_cast<uint8_t>((thl / 4) << 4);
  t[13] = seg.flags;
  put16(t + 14, seg.window);
  t[16] = t[17] = 0;
  put16(t + 18, 0);  // urgent pointer
  uint8_t* o = t + 20;
  if (thl > 20) {
    if (seg.flags & kTcpSyn) {
      o[0] = 2; o[1] = 4; put16(o + 2, seg.syn_mss);              // MSS
      o[4] = 4; o[5] = 2;                                           // SACK permitted
      o[6] = 8; o[7] = 10; put32(o + 8, seg.tsval); put32(o + 12, seg.tsecr);  // timestamps
      o[16] = 1;                                                    // NOP
      o[17] = 3; o[18] = 3; o[19] = seg.syn_wscale;                 // window scale
    } else {
      o[0] = 1; o[1] = 1; o[2] = 8; o[3] = 10;
      put32(o + 4, seg.tsval);
      put32(o + 8, seg.tsecr);
      if (seg.sack_right != seg.sack_left) {
        o[12] = 1; o[13] = 1; o[14] = 5; o[15] = 10;
        put32(o + 16, seg.sack_left);
        put32(o + 20, seg.sack_right);
      }
    }
  }
  // Pseudo-header: source, destination, zero, protocol, TCP length.
  uint8_t pseudo[12];
  put32(pseudo, src.ip.value);
  put32(pseudo + 4, dst.ip.value);
  pseudo[8] = 0;
  pseudo[9] = 6;
  put16(pseudo + 10, static_cast<uint16_t>(thl + seg.payload.size()));
  uint64_t sum = checksum_add(0, pseudo, sizeof pseudo);
  sum = checksum_add(sum, t, thl);
  sum = checksum_add(sum, seg.payload.data(), seg.payload.size());
  uint16_t tcpsum = checksum_fold(sum);
  std::memcpy(t + 16, &tcpsum, 2);
  return kIpv4HeaderBytes + thl;
}

size_t write_ethernet(uint8_t* out, const MacAddress& dst, const MacAddress& src) {
  std::memcpy(out, dst.data(), 6);
  std::memcpy(out + 6, src.data(), 6);
  out[12] = 0x08;
  out[13] = 0x00;
  return kEthernetHeaderBytes;
}

size_t write_sll(uint8_t* out, const SllHeader& h) {
  put16(out, h.pkttype);
  put16(out + 2, h.hatype);
  put16(out + 4, 6);  // address length
  std::memcpy(out + 6, h.addr.data(), 6);
  out[12] = out[13] = 0;
  put16(out + 14, 0x0800);  // protocol: IPv4
  return kSllHeaderBytes;
}

bool ipv4_header_checksum_ok(const uint8_t* ip) {
  size_t ihl = static_cast<size_t>(ip[0] & 0x0f) * 4;
  return checksum_fold(checksum_add(0, ip, ihl)) == 0;
}

bool tcp_checksum_ok(const uint8_t* ip, size_t len) {
  size_t ihl = static_cast<size_t>(ip[0] & 0x0f) * 4;
  if (len < ihl + 20) return false;
  size_t tcp_len = len - ihl;
  uint8_t pseudo[12];
  std::memcpy(pseudo, ip + 12, 8);
  pseudo[8] = 0;
  pseudo[9] = 6;
  put16(pseudo + 10, static_cast<uint16_t>(tcp_len));
  uint64_t sum = checksum_add(0, pseudo, sizeof pseudo);
  sum = checksum_add(sum, ip + ihl, tcp_len);
  return checksum_fold(sum) == 0;
}

}  // namespace meshsim::sim
