#include "proxy/tracing/propagation.h"

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

#include "proxy/http/message.h"

namespace meshsim::proxy::tracing {

namespace {

constexpr size_t kB3MaxLength = 32 + 1 + 16 + 3 + 16;  // traceid128-spanid-1-parentid

bool valid_sampling_flag(char c) { return c == '1' || c == '0' || c == 'd'; }

}  // namespace

std::optional<uint64_t> atoull16(std::string_view s) {
  // Fast path: 1..16 plain hex digits (every id Envoy writes).
  if (!s.empty() && s.size() <= 16) {
    uint64_t v = 0;
    bool plain = true;
    for (char c : s) {
      unsigned d;
      if (c >= '0' && c <= '9') d = static_cast<unsigned>(c - '0');
      else if (c >= 'a' && c <= 'f') d = static_cast<unsigned>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') d = static_cast<unsigned>(c - 'A' + 10);
      else {
        plain = false;
        break;
      }
      v = (v << 4) | d;
    }
    if (plain) return v;
  }
  char buf[72];
  if (s.empty() || s.size() >= sizeof buf || std::memchr(s.data(), '\0', s.size())) return std::nullopt;
  std::memcpy(buf, s.data(), s.size());
  buf[s.size()] = '\0';
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(buf, &end, 16);
  if (end == buf || (v == ULLONG_MAX && errno == ERANGE) || *end != '\0') return std::nullopt;
  return static_cast<uint64_t>(v);
}

void hex16(uint64_t v, char* out) {
  static const char* d = "0123456789abcdef";
  for (int i = 15; i >= 0; --i, v >>= 4) out[i] = d[v & 0xf];
}

std::optional<bool> b3_sampled(const http::Headers& h) {
  if (auto b3 = h.get("b3")) {
    size_t pos = 0;
    switch (b3->size()) {
      case 1: pos = 0; break;
      case 35: pos = 34; break;  // traceid64-spanid-s
      case 51: pos = 50; break;  // traceid128-spanid-s
      case 52: pos = 34; break;  // traceid64-spanid-s-parent
      case 68: pos = 50; break;  // traceid128-spanid-s-parent
      default: return std::nullopt;
    }
    char c = (*b3)[pos];
    if (!valid_sampling_flag(c)) return std::nullopt;
    return c != '0';
  }
  auto s = h.get("x-b3-sampled");
  if (!s) return std::nullopt;
  return *s == "1" || *s == "true";
}

Extracted b3_context(const http::Headers& h, bool sampled, SpanContext* out) {
  *out = SpanContext{};
  out->sampled = sampled;
  if (auto single = h.get("b3")) {
    std::string_view b3 = *single;
    if (b3.empty()) return Extracted::kInvalid;
    if (b3.size() == 1) return valid_sampling_flag(b3[0]) ? Extracted::kNone : Extracted::kInvalid;
    if (b3.size() < 16 + 1 + 16 || b3.size() > kB3MaxLength) return Extracted::kInvalid;
    size_t pos = 0;
    if (b3.size() > 32 && b3[32] == '-') {
      auto hi = atoull16(b3.substr(0, 16));
      auto lo = atoull16(b3.substr(16, 16));
      if (!hi || !lo) return Extracted::kInvalid;
      out->trace_id_high = *hi, out->trace_id = *lo;
      pos = 32;
    } else {
      auto lo = atoull16(b3.substr(0, 16));
      if (!lo) return Extracted::kInvalid;
      out->trace_id = *lo;
      pos = 16;
    }
    if (pos >= b3.size() || b3[pos++] != '-') return Extracted::kInvalid;
    auto span = atoull16(b3.substr(pos, 16));
    if (!span) return Extracted::kInvalid;
    out->span_id = *span;
    pos += 16;
    if (b3.size() > pos) {
      if (b3.size() == pos + 1) return Extracted::kInvalid;
      if (b3[pos++] != '-') return Extracted::kInvalid;
      if (b3.size() == pos + 1 || (b3.size() >= pos + 2 && b3[pos + 1] == '-')) {
        if (!valid_sampling_flag(b3[pos])) return Extracted::kInvalid;
        ++pos;
      } else {
        return Extracted::kInvalid;
      }
      if (b3.size() > pos) {
        if (b3.size() != pos + 17) return Extracted::kInvalid;
        ++pos;
        auto parent = atoull16(b3.substr(pos));
        if (!parent) return Extracted::kInvalid;
        out->parent_id = *parent;
        out->has_parent = true;
      }
    }
    return Extracted::kContext;
  }
  auto tid = h.get("x-b3-traceid");
  auto sid = h.get("x-b3-spanid");
  if (!tid || !sid) return Extracted::kNone;
  if (tid->size() == 32) {
    auto hi = atoull16(tid->substr(0, 16));
    auto lo = atoull16(tid->substr(16, 16));
    if (!hi || !lo) return Extracted::kInvalid;
    out->trace_id_high = *hi, out->trace_id = *lo;
  } else {
    auto lo = atoull16(*tid);
    if (!lo) return Extracted::kInvalid;
    out->trace_id = *lo;
  }
  auto span = atoull16(*sid);
  if (!span) return Extracted::kInvalid;
  out->span_id = *span;
  auto pid = h.get("x-b3-parentspanid");
  if (pid && !pid->empty()) {
    auto parent = atoull16(*pid);
    if (!parent) return Extracted::kInvalid;
    out->parent_id = *parent;
    out->has_parent = true;
  }
  return Extracted::kContext;
}

void inject_b3(const SpanContext& s, bool trace_128bit, http::Headers& h) {
  char buf[32];
  if (trace_128bit && s.trace_id_high) {
    hex16(s.trace_id_high, buf);
    hex16(s.trace_id, buf + 16);
    h.set("x-b3-traceid", std::string_view(buf, 32));
  } else {
    hex16(s.trace_id, buf);
    h.set("x-b3-traceid", std::string_view(buf, 16));
  }
  hex16(s.span_id, buf);
  h.set("x-b3-spanid", std::string_view(buf, 16));
  if (s.has_parent) {
    hex16(s.parent_id, buf);
    h.set("x-b3-parentspanid", std::string_view(buf, 16));
  }
  h.set("x-b3-sampled", s.sampled ? "1" : "0");
}

namespace {

bool is_hex(std::string_view s) {
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) return false;
  return true;
}

}  // namespace

Extracted w3c_context(const http::Headers& h, SpanContext* out, std::string_view* tracestate) {
  *out = SpanContext{};
  *tracestate = {};
  auto tp = h.get("traceparent");
  if (!tp) return Extracted::kNone;
  std::string_view v = *tp;
  // version(2)-trace(32)-parent(16)-flags(2)
  if (v.size() != 55 || v[2] != '-' || v[35] != '-' || v[52] != '-') return Extracted::kInvalid;
  std::string_view version = v.substr(0, 2), trace = v.substr(3, 32), parent = v.substr(36, 16),
                   flags = v.substr(53, 2);
  if (!is_hex(version) || !is_hex(trace) || !is_hex(parent) || !is_hex(flags)) return Extracted::kInvalid;
  if (trace == "00000000000000000000000000000000" || parent == "0000000000000000") return Extracted::kInvalid;
  out->trace_id_high = *atoull16(trace.substr(0, 16));
  out->trace_id = *atoull16(trace.substr(16, 16));
  out->span_id = *atoull16(parent);
  out->sampled = (*atoull16(flags) & 1) != 0;
  if (auto ts = h.get("tracestate")) *tracestate = *ts;
  return Extracted::kContext;
}

void inject_w3c(const SpanContext& s, std::string_view tracestate, http::Headers& h) {
  char buf[55];
  std::memcpy(buf, "00-", 3);
  hex16(s.trace_id_high, buf + 3);
  hex16(s.trace_id, buf + 19);
  buf[35] = '-';
  hex16(s.span_id, buf + 36);
  buf[52] = '-';
  buf[53] = '0';
  buf[54] = s.sampled ? '1' : '0';
  h.set("traceparent", std::string_view(buf, 55));
  h.set("tracestate", tracestate);
}

}  // namespace meshsim::proxy::tracing
