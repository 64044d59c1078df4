#include "proxy/http/grpc.h"

#include <charconv>

namespace meshsim::proxy::http::grpc {

bool is_grpc_content_type(std::string_view ct) {
  constexpr std::string_view kGrpc = "application/grpc";
  if (ct.size() < kGrpc.size() || !iequals(ct.substr(0, kGrpc.size()), kGrpc)) return false;
  if (ct.size() == kGrpc.size()) return true;
  char next = ct[kGrpc.size()];
  if (next == ';') return true;
  if (next != '+') return false;
  // application/grpc-web… never matches here ('-'); "+proto", "+json" do.
  return true;
}

bool is_grpc_request(const Request& r) {
  auto ct = r.headers.get("content-type");
  return ct && is_grpc_content_type(*ct);
}

const char* status_name(int s) {
  static const char* kNames[] = {"OK",
                                 "CANCELLED",
                                 "UNKNOWN",
                                 "INVALID_ARGUMENT",
                                 "DEADLINE_EXCEEDED",
                                 "NOT_FOUND",
                                 "ALREADY_EXISTS",
                                 "PERMISSION_DENIED",
                                 "RESOURCE_EXHAUSTED",
                                 "FAILED_PRECONDITION",
                                 "ABORTED",
                                 "OUT_OF_RANGE",
                                 "UNIMPLEMENTED",
                                 "INTERNAL",
                                 "UNAVAILABLE",
                                 "DATA_LOSS",
                                 "UNAUTHENTICATED"};
  return s >= 0 && s <= 16 ? kNames[s] : "UNKNOWN";
}

int http_to_grpc_status(int http_status) {
  switch (http_status) {
    case 400: return kInternal;
    case 401: return kUnauthenticated;
    case 403: return kPermissionDenied;
    case 404: return kUnimplemented;
    case 429:
    case 502:
    case 503:
    case 504: return kUnavailable;
    default: return kUnknown;
  }
}

std::string percent_encode(std::string_view text) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    if (c < ' ' || c > '~' || c == '%') {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    } else {
      out.push_back(ch);
    }
  }
  return out;
}

std::string percent_decode(std::string_view text) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      int h = hex(text[i + 1]), l = hex(text[i + 2]);
      if (h >= 0 && l >= 0) {
        out.push_back(static_cast<char>(h * 16 + l));
        i += 2;
        continue;
      }
    }
    out.push_back(text[i]);
  }
  return out;
}

std::optional<CallStatus> call_status(const Response& r) {
  auto s = r.trailers.get("grpc-status");
  const Headers* where = &r.trailers;
  if (!s) {
    s = r.headers.get("grpc-status");
    where = &r.headers;
  }
  if (!s) return std::nullopt;
  CallStatus c;
  int v = 0;
  auto [p, ec] = std::from_chars(s->data(), s->data() + s->size(), v);
  c.code = ec == std::errc() && p == s->data() + s->size() ? v : kUnknown;
  if (auto m = where->get("grpc-message")) c.message = percent_decode(*m);
  return c;
}

void append_frame(std::string_view message, std::string& out) {
  auto n = static_cast<uint32_t>(message.size());
  out.push_back('\0');
  out.push_back(static_cast<char>(n >> 24));
  out.push_back(static_cast<char>(n >> 16));
  out.push_back(static_cast<char>(n >> 8));
  out.push_back(static_cast<char>(n));
  out.append(message);
}

bool split_frames(std::string_view body, std::vector<std::string_view>& out) {
  while (!body.empty()) {
    if (body.size() < 5) return false;
    uint32_t n = (uint32_t{static_cast<unsigned char>(body[1])} << 24) |
                 (uint32_t{static_cast<unsigned char>(body[2])} << 16) |
                 (uint32_t{static_cast<unsigned char>(body[3])} << 8) | uint32_t{static_cast<unsigned char>(body[4])};
    if (body.size() - 5 < n) return false;
    out.push_back(body.substr(5, n));
    body.remove_prefix(5 + n);
  }
  return true;
}

namespace {

void append_varint(uint64_t v, std::string& out) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

bool read_varint(std::string_view& in, uint64_t& v) {
  v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (in.empty()) return false;
    auto b = static_cast<unsigned char>(in.front());
    in.remove_prefix(1);
    v |= uint64_t{b & 0x7fu} << shift;
    if (!(b & 0x80)) return true;
  }
  return false;
}

// Walks the fields; calls f(number, wire_type, varint, bytes) until it returns true.
template <typename F>
bool walk(std::string_view in, F f) {
  while (!in.empty()) {
    uint64_t key = 0;
    if (!read_varint(in, key)) return false;
    auto number = static_cast<uint32_t>(key >> 3);
    unsigned type = key & 7;
    uint64_t v = 0;
    std::string_view bytes;
    if (type == 0) {
      if (!read_varint(in, v)) return false;
    } else if (type == 2) {
      if (!read_varint(in, v) || v > in.size()) return false;
      bytes = in.substr(0, v);
      in.remove_prefix(v);
    } else if (type == 1) {
      if (in.size() < 8) return false;
      in.remove_prefix(8);
    } else if (type == 5) {
      if (in.size() < 4) return false;
      in.remove_prefix(4);
    } else {
      return false;
    }
    if (f(number, type, v, bytes)) return true;
  }
  return false;
}

}  // namespace

void append_varint_field(uint32_t number, uint64_t value, std::string& out) {
  append_varint(uint64_t{number} << 3, out);
  append_varint(value, out);
}

void append_bytes_field(uint32_t number, std::string_view value, std::string& out) {
  append_varint((uint64_t{number} << 3) | 2, out);
  append_varint(value.size(), out);
  out.append(value);
}

std::optional<uint64_t> varint_field(std::string_view message, uint32_t number) {
  std::optional<uint64_t> r;
  walk(message, [&](uint32_t n, unsigned type, uint64_t v, std::string_view) {
    if (n != number || type != 0) return false;
    r = v;
    return true;
  });
  return r;
}

std::optional<std::string_view> bytes_field(std::string_view message, uint32_t number) {
  std::optional<std::string_view> r;
  walk(message, [&](uint32_t n, unsigned type, uint64_t, std::string_view b) {
    if (n != number || type != 2) return false;
    r = b;
    return true;
  });
  return r;
}

}  // namespace meshsim::proxy::http::grpc
