// IPv4 addresses, socket addresses and CIDR ranges — the address vocabulary
// shared by the mesh model (pod and service IPs, annotation ranges), the proxy
// configuration (listener addresses, endpoints, prefix ranges) and the virtual
// network. Addresses are held in host byte order; parse/format use dotted quads.
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "proxy/base/result.h"

namespace meshsim {

struct Ipv4 {
  uint32_t value = 0;  // host byte order: 10.0.0.1 == 0x0a000001

  static constexpr Ipv4 of(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
    return Ipv4{(uint32_t{a} << 24) | (uint32_t{b} << 16) | (uint32_t{c} << 8) | d};
  }
  static constexpr Ipv4 any() { return Ipv4{0}; }
  static constexpr Ipv4 loopback() { return of(127, 0, 0, 1); }
  constexpr bool is_loopback() const { return (value >> 24) == 127; }
  constexpr bool is_any() const { return value == 0; }
  constexpr auto operator<=>(const Ipv4&) const = default;
};

// "10.1.2.3" → Ipv4; rejects anything that is not exactly four decimal octets.
Result<Ipv4> parse_ipv4(std::string_view text);
std::string to_string(Ipv4 ip);

struct SocketAddress {
  Ipv4 ip;
  uint16_t port = 0;
  constexpr auto operator<=>(const SocketAddress&) const = default;
};
// "10.1.2.3:80"
std::string to_string(const SocketAddress& a);
// The address as one integer (ip << 16 | port), for hash keys.
constexpr uint64_t packed(const SocketAddress& a) { return (static_cast<uint64_t>(a.ip.value) << 16) | a.port; }

struct Cidr {
  Ipv4 base;            // network address (host bits cleared)
  uint8_t prefix_len = 32;

  constexpr bool contains(Ipv4 ip) const {
    if (prefix_len == 0) return true;
    uint32_t mask = prefix_len >= 32 ? 0xffffffffu : ~(0xffffffffu >> prefix_len);
    return (ip.value & mask) == (base.value & mask);
  }
  constexpr auto operator<=>(const Cidr&) const = default;
};

// "10.0.0.0/8" or a bare address ("10.1.2.3" = /32). Host bits set below the
// prefix are an error, as in Kubernetes validation ("10.0.0.1/8" is rejected).
Result<Cidr> parse_cidr(std::string_view text);
std::string to_string(const Cidr& c);

}  // namespace meshsim
