#include "proxy/http/message.h"

#include "proxy/base/ascii.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>

namespace meshsim::proxy::http {
namespace {

bool connection_has(const Headers& h, std::string_view token) {
  auto v = h.get("connection");
  if (!v) return false;
  std::string_view s = *v;
  while (!s.empty()) {
    size_t comma = s.find(',');
    std::string_view t = s.substr(0, comma);
    while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.remove_prefix(1);
    while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.remove_suffix(1);
    if (iequals(t, token)) return true;
    if (comma == std::string_view::npos) break;
    s.remove_prefix(comma + 1);
  }
  return false;
}

void write_headers(const Headers& h, bool has_body_framing_needed, size_t body_size, std::string& out) {
  bool has_length = false;
  size_t total = 2;
  for (Headers::Field f : h) total += f.name.size() + f.value.size() + 4;
  size_t pos = out.size();
  out.resize(pos + total);
  char* p = out.data() + pos;
  for (Headers::Field f : h) {
    if (f.name.size() == 17 && iequals(f.name, "transfer-encoding")) continue;  // bodies are buffered: re-framed below
    if (f.name.size() == 14 && iequals(f.name, "content-length")) has_length = true;
    std::memcpy(p, f.name.data(), f.name.size());
    p += f.name.size();
    *p++ = ':';
    *p++ = ' ';
    std::memcpy(p, f.value.data(), f.value.size());
    p += f.value.size();
    *p++ = '\r';
    *p++ = '\n';
  }
  out.resize(static_cast<size_t>(p - out.data()));
  if (!has_length && has_body_framing_needed) {
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, body_size);
    (void)ec;
    out.append("content-length: ").append(buf, static_cast<size_t>(end - buf)).append("\r\n");
  }
  out.append("\r\n");
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) { return ascii_iequals(a, b); }

bool Headers::name_is(const Slot& s, std::string_view name) const {
  return s.name_len == name.size() && iequals(std::string_view(arena_.data() + s.name_off, s.name_len), name);
}

size_t Headers::find(std::string_view name, size_t from) const {
  for (size_t i = from; i < slots_.size(); ++i) {
    if (name_is(slots_[i], name)) return i;
  }
  return kNone;
}

void Headers::lowercase_names() {
  for (const Slot& sl : slots_) {
    char* n = arena_.data() + sl.name_off;
    for (uint32_t i = 0; i < sl.name_len; ++i)
      if (n[i] >= 'A' && n[i] <= 'Z') n[i] = static_cast<char>(n[i] | 0x20);
  }
}

uint32_t Headers::append(std::string_view bytes) {
  uint32_t off = static_cast<uint32_t>(arena_.size());
  arena_.append(bytes);
  return off;
}

std::optional<std::string_view> Headers::get(std::string_view name) const {
  size_t i = find(name);
  if (i == kNone) return std::nullopt;
  return (*this)[i].value;
}

void Headers::set(std::string_view name, std::string_view value) {
  size_t i = find(name);
  if (i == kNone) {
    add(name, value);
    return;
  }
  Slot& s = slots_[i];
  if (value.size() <= s.value_len) {
    // Overwrite in place (the arena keeps the unused tail).
    if (!value.empty()) std::memmove(arena_.data() + s.value_off, value.data(), value.size());
    s.value_len = static_cast<uint32_t>(value.size());
  } else {
    s.value_off = append(value);
    s.value_len = static_cast<uint32_t>(value.size());
  }
  size_t out = i + 1;
  for (size_t j = i + 1; j < slots_.size(); ++j) {
    if (!name_is(slots_[j], name)) slots_[out++] = slots_[j];
  }
  slots_.resize(out);
}

void Headers::add(std::string_view name, std::string_view value) {
  Slot s;
  s.name_off = append(name);
  s.name_len = static_cast<uint32_t>(name.size());
  s.value_off = append(value);
  s.value_len = static_cast<uint32_t>(value.size());
  slots_.push_back(s);
}

void Headers::add_block(std::string_view block, const Field* fields, size_t n) {
  uint32_t base = append(block);
  const char* b = block.data();
  for (size_t i = 0; i < n; ++i) {
    Slot s;
    s.name_off = base + static_cast<uint32_t>(fields[i].name.data() - b);
    s.name_len = static_cast<uint32_t>(fields[i].name.size());
    s.value_off = base + static_cast<uint32_t>(fields[i].value.data() - b);
    s.value_len = static_cast<uint32_t>(fields[i].value.size());
    slots_.push_back(s);
  }
}

size_t Headers::remove(std::string_view name) {
  size_t out = 0;
  for (size_t j = 0; j < slots_.size(); ++j) {
    if (!name_is(slots_[j], name)) slots_[out++] = slots_[j];
  }
  size_t removed = slots_.size() - out;
  slots_.resize(out);
  return removed;
}

std::string_view Request::host() const { return headers.get("host").value_or(std::string_view()); }

std::string_view Request::path() const {
  std::string_view t = target;
  return t.substr(0, t.find('?'));
}

bool Request::keep_alive() const {
  if (version >= 20) return true;  // HTTP/2: a stream ends, not the connection
  if (version >= 11) return !connection_has(headers, "close");
  return connection_has(headers, "keep-alive");
}

void Request::clear() {
  method.assign("GET");
  target.assign("/");
  version = 11;
  headers.clear();
  body.clear();
  trailers.clear();
}

void Response::clear() {
  status = 200;
  reason.clear();
  version = 11;
  headers.clear();
  body.clear();
  trailers.clear();
}

bool Response::keep_alive() const {
  if (version >= 20) return true;
  if (version >= 11) return !connection_has(headers, "close");
  return connection_has(headers, "keep-alive");
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 418: return "I'm a teapot";
    case 426: return "Upgrade Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

void serialize(const Request& r, std::string& out) {
  out.reserve(out.size() + r.method.size() + r.target.size() + 64 + r.headers.size() * 32 + r.body.size());
  out.append(r.method).append(" ").append(r.target).append(r.version >= 11 ? " HTTP/1.1\r\n" : " HTTP/1.0\r\n");
  bool needs_length = !r.body.empty() || r.method == "POST" || r.method == "PUT" || r.method == "PATCH";
  write_headers(r.headers, needs_length, r.body.size(), out);
  out.append(r.body);
}

void serialize(const Response& r, std::string& out, int version) {
  out.reserve(out.size() + 64 + r.headers.size() * 32 + r.body.size());
  char code[16];
  auto [end, ec] = std::to_chars(code, code + sizeof code, r.status);
  (void)ec;
  out.append((version ? version : r.version) >= 11 ? "HTTP/1.1 " : "HTTP/1.0 ").append(code, static_cast<size_t>(end - code)).append(" ");
  out.append(r.reason.empty() ? reason_phrase(r.status) : std::string_view(r.reason)).append("\r\n");
  bool bodiless = r.status < 200 || r.status == 204 || r.status == 304;
  write_headers(r.headers, !bodiless, r.body.size(), out);
  out.append(r.body);
}

std::string serialize(const Request& r) {
  std::string s;
  serialize(r, s);
  return s;
}

std::string serialize(const Response& r) {
  std::string s;
  serialize(r, s);
  return s;
}

}  // namespace meshsim::proxy::http
