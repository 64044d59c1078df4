#include "proxy/tracing/request_id.h"

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

namespace meshsim::proxy::tracing {

std::string_view to_string(Reason r) {
  switch (r) {
    case Reason::kNotTraceable: return "not traceable";
    case Reason::kHealthCheck: return "health check";
    case Reason::kSampling: return "sampled";
    case Reason::kServiceForced: return "forced by x-envoy-force-trace";
    case Reason::kClientForced: return "forced by x-client-trace-id";
  }
  return "?";
}

// RFC 4122 version 4 layout: the version nibble (4) is string index 14, the
// variant bits (10xx) lead index 19.
std::string_view format_uuid(uint64_t a, uint64_t b, char (&buf)[kUuidLength]) {
  a = (a & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;
  b = (b & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;
  static const char* d = "0123456789abcdef";
  int pos = 0;
  auto put = [&](uint64_t v, int nibbles) {
    for (int i = nibbles - 1; i >= 0; --i) buf[pos++] = d[(v >> (i * 4)) & 0xf];
  };
  put(a >> 32, 8);
  buf[pos++] = '-';
  put((a >> 16) & 0xffff, 4);
  buf[pos++] = '-';
  put(a & 0xffff, 4);
  buf[pos++] = '-';
  put(b >> 48, 4);
  buf[pos++] = '-';
  put(b & 0xffffffffffffULL, 12);
  return std::string_view(buf, kUuidLength);
}

Reason trace_reason(std::string_view id) {
  if (id.size() != kUuidLength) return Reason::kNotTraceable;
  switch (id[kTraceByte]) {
    case '9': return Reason::kSampling;
    case 'a': return Reason::kServiceForced;
    case 'b': return Reason::kClientForced;
    default: return Reason::kNotTraceable;
  }
}

std::optional<std::string_view> with_trace_reason(std::string_view id, Reason r, char (&buf)[kUuidLength]) {
  if (id.size() != kUuidLength) return std::nullopt;
  std::memcpy(buf, id.data(), kUuidLength);
  char c = '4';
  if (r == Reason::kSampling) c = '9';
  else if (r == Reason::kServiceForced) c = 'a';
  else if (r == Reason::kClientForced) c = 'b';
  buf[kTraceByte] = c;
  return std::string_view(buf, kUuidLength);
}

std::optional<uint64_t> request_id_integer(std::string_view id) {
  // Fast path: eight hex digits (every UUID).
  if (id.size() >= 8) {
    uint64_t v = 0;
    bool plain = true;
    for (size_t i = 0; i < 8 && plain; ++i) {
      char c = id[i];
      if (c >= '0' && c <= '9') v = (v << 4) | static_cast<uint64_t>(c - '0');
      else if (c >= 'a' && c <= 'f') v = (v << 4) | static_cast<uint64_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') v = (v << 4) | static_cast<uint64_t>(c - 'A' + 10);
      else plain = false;
    }
    if (plain) return v;
  }
  // UUIDRequestIDExtension::getInteger → StringUtil::atoull(first 8, 16):
  // empty fails, every character must be consumed by strtoull.
  char s[9];
  size_t n = id.size() < 8 ? id.size() : 8;
  std::memcpy(s, id.data(), n);
  s[n] = '\0';
  if (n == 0 || std::memchr(s, '\0', n)) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(s, &end, 16);
  if (end == s || (v == ULLONG_MAX && errno == ERANGE) || *end != '\0') return std::nullopt;
  return static_cast<uint64_t>(v);
}

}  // namespace meshsim::proxy::tracing
