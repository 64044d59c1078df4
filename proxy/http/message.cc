#include "proxy/http/message.h"

#include <algorithm>

namespace meshsim::proxy::http {
namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

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
  for (const auto& f : h.fields()) {
    if (iequals(f.name, "transfer-encoding")) continue;  // bodies are buffered: re-framed below
    if (iequals(f.name, "content-length")) has_length = true;
    out.append(f.name).append(": ").append(f.value).append("\r\n");
  }
  if (!has_length && has_body_framing_needed) {
    out.append("content-length: ").append(std::to_string(body_size)).append("\r\n");
  }
  out.append("\r\n");
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

std::optional<std::string_view> Headers::get(std::string_view name) const {
  for (const auto& f : fields_) {
    if (iequals(f.name, name)) return std::string_view(f.value);
  }
  return std::nullopt;
}

void Headers::set(std::string_view name, std::string_view value) {
  auto it = std::find_if(fields_.begin(), fields_.end(), [&](const Field& f) { return iequals(f.name, name); });
  if (it == fields_.end()) {
    fields_.push_back({std::string(name), std::string(value)});
    return;
  }
  it->value.assign(value);
  fields_.erase(std::remove_if(it + 1, fields_.end(), [&](const Field& f) { return iequals(f.name, name); }),
                fields_.end());
}

void Headers::add(std::string_view name, std::string_view value) {
  fields_.push_back({std::string(name), std::string(value)});
}

size_t Headers::remove(std::string_view name) {
  size_t before = fields_.size();
  fields_.erase(std::remove_if(fields_.begin(), fields_.end(), [&](const Field& f) { return iequals(f.name, name); }),
                fields_.end());
  return before - fields_.size();
}

std::string_view Request::host() const { return headers.get("host").value_or(std::string_view()); }

std::string_view Request::path() const {
  std::string_view t = target;
  return t.substr(0, t.find('?'));
}

bool Request::keep_alive() const {
  if (version >= 11) return !connection_has(headers, "close");
  return connection_has(headers, "keep-alive");
}

bool Response::keep_alive() const {
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
  out.append(r.method).append(" ").append(r.target).append(r.version >= 11 ? " HTTP/1.1\r\n" : " HTTP/1.0\r\n");
  bool needs_length = !r.body.empty() || r.method == "POST" || r.method == "PUT" || r.method == "PATCH";
  write_headers(r.headers, needs_length, r.body.size(), out);
  out.append(r.body);
}

void serialize(const Response& r, std::string& out) {
  out.append(r.version >= 11 ? "HTTP/1.1 " : "HTTP/1.0 ").append(std::to_string(r.status)).append(" ");
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
