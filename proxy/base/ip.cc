#include "proxy/base/ip.h"

namespace meshsim {

Result<Ipv4> parse_ipv4(std::string_view text) {
  uint32_t value = 0;
  int octets = 0;
  size_t i = 0;
  while (octets < 4) {
    if (i >= text.size() || text[i] < '0' || text[i] > '9') {
      return Error{"invalid IPv4 address \"" + std::string(text) + "\""};
    }
    uint32_t octet = 0;
    size_t start = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      octet = octet * 10 + static_cast<uint32_t>(text[i] - '0');
      if (i - start >= 3 || octet > 255) return Error{"invalid IPv4 address \"" + std::string(text) + "\": octet out of range"};
      ++i;
    }
    if (i - start > 1 && text[start] == '0') {
      return Error{"invalid IPv4 address \"" + std::string(text) + "\": leading zero"};
    }
    value = (value << 8) | octet;
    ++octets;
    if (octets < 4) {
      if (i >= text.size() || text[i] != '.') return Error{"invalid IPv4 address \"" + std::string(text) + "\""};
      ++i;
    }
  }
  if (i != text.size()) return Error{"invalid IPv4 address \"" + std::string(text) + "\""};
  return Ipv4{value};
}

std::string to_string(Ipv4 ip) {
  return std::to_string(ip.value >> 24) + "." + std::to_string((ip.value >> 16) & 255) + "." +
         std::to_string((ip.value >> 8) & 255) + "." + std::to_string(ip.value & 255);
}

std::string to_string(const SocketAddress& a) { return to_string(a.ip) + ":" + std::to_string(a.port); }

Result<Cidr> parse_cidr(std::string_view text) {
  size_t slash = text.find('/');
  auto ip = parse_ipv4(text.substr(0, slash));
  if (!ip.ok()) return Error{"invalid CIDR \"" + std::string(text) + "\": " + ip.message()};
  int len = 32;
  if (slash != std::string_view::npos) {
    std::string_view p = text.substr(slash + 1);
    if (p.empty() || p.size() > 2) return Error{"invalid CIDR \"" + std::string(text) + "\": bad prefix length"};
    len = 0;
    for (char c : p) {
      if (c < '0' || c > '9') return Error{"invalid CIDR \"" + std::string(text) + "\": bad prefix length"};
      len = len * 10 + (c - '0');
    }
    if (len > 32) return Error{"invalid CIDR \"" + std::string(text) + "\": prefix length above 32"};
  }
  Cidr c{*ip, static_cast<uint8_t>(len)};
  uint32_t mask = len == 0 ? 0 : (len >= 32 ? 0xffffffffu : ~(0xffffffffu >> len));
  if ((ip->value & ~mask) != 0) {
    return Error{"invalid CIDR \"" + std::string(text) + "\": host bits set (did you mean " +
                 to_string(Ipv4{ip->value & mask}) + "/" + std::to_string(len) + "?)"};
  }
  return c;
}

std::string to_string(const Cidr& c) { return to_string(c.base) + "/" + std::to_string(c.prefix_len); }

}  // namespace meshsim
