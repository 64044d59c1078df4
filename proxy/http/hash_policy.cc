#include "proxy/http/hash_policy.h"

#include "proxy/base/ascii.h"

#include <algorithm>
#include <cstdio>
#include <string_view>

#include "proxy/upstream/consistent_hash.h"

namespace meshsim::proxy::http {

namespace {

using upstream::xxhash64;


std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// HeaderHashMethod: every value of the header, sorted, hashed as one stream
// (HashUtil::xxHash64 over a span is XXH64 of the concatenation).
std::optional<uint64_t> header_hash(const Request& req, std::string_view name) {
  std::vector<std::string_view> values;
  for (const Headers::Field f : req.headers)
    if (ascii_iequals(f.name, name)) values.push_back(f.value);
  if (values.empty()) return std::nullopt;
  std::sort(values.begin(), values.end());
  std::string all;
  for (std::string_view v : values) all += v;
  return xxhash64(all);
}

// QueryParameterHashMethod: the first value of the parameter in the
// undecoded query.
std::optional<uint64_t> query_hash(const Request& req, std::string_view name) {
  std::string_view t = req.target;
  size_t q = t.find('?');
  if (q == std::string_view::npos) return std::nullopt;
  std::string_view query = t.substr(q + 1);
  if (size_t h = query.find('#'); h != std::string_view::npos) query = query.substr(0, h);
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view kv = query.substr(0, amp);
    size_t eq = kv.find('=');
    std::string_view k = kv.substr(0, eq);
    if (k == name) return xxhash64(eq == std::string_view::npos ? std::string_view() : kv.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

// SourceIpHashMethod hashes the stream's downstream remote address. On a
// sidecar (use_remote_address false, xff_num_trusted_hops 0) the HCM takes it
// from the last x-forwarded-for entry when that is an IP, else from the
// connection. [inference, docs/istio/http-traffic-management.md §7.2]
std::string source_ip(const HashInputs& in) {
  std::optional<std::string_view> xff = in.request->headers.get("x-forwarded-for");
  if (xff) {
    std::string_view last = *xff;
    if (size_t c = last.rfind(','); c != std::string_view::npos) last = last.substr(c + 1);
    last = trim(last);
    if (parse_ipv4(last).ok()) return std::string(last);
  }
  return to_string(in.downstream_remote.ip);
}

std::string hex64(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return std::string(buf, 16);
}

}  // namespace

std::string cookie_value(const Request& req, std::string_view name) {
  for (const Headers::Field f : req.headers) {
    if (!ascii_iequals(f.name, "cookie")) continue;
    std::string_view rest = f.value;
    while (!rest.empty()) {
      size_t semi = rest.find(';');
      std::string_view part = trim(rest.substr(0, semi));
      size_t eq = part.find('=');
      if (eq != std::string_view::npos && part.substr(0, eq) == name) {
        std::string_view v = part.substr(eq + 1);
        if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
        return std::string(v);
      }
      if (semi == std::string_view::npos) break;
      rest.remove_prefix(semi + 1);
    }
  }
  return "";
}

std::string make_set_cookie_value(std::string_view name, std::string_view value, std::string_view path,
                                  int64_t max_age_s, const std::vector<HashPolicy::CookieAttribute>& attributes) {
  std::string out;
  out.append(name).append("=\"").append(value).append("\"");
  if (max_age_s != 0) out.append("; Max-Age=").append(std::to_string(max_age_s));
  if (!path.empty()) out.append("; Path=").append(path);
  for (const auto& a : attributes) {
    out.append("; ").append(a.name);
    if (!a.value.empty()) out.append("=").append(a.value);
  }
  out.append("; HttpOnly");
  return out;
}

HashResult generate_hash(const std::vector<HashPolicy>& policies, const HashInputs& in) {
  HashResult out;
  for (const HashPolicy& p : policies) {
    std::optional<uint64_t> h;
    switch (p.kind) {
      case HashPolicy::Kind::kHeader: h = header_hash(*in.request, p.name); break;
      case HashPolicy::Kind::kQueryParameter: h = query_hash(*in.request, p.name); break;
      case HashPolicy::Kind::kSourceIp:
        if (p.source_ip) h = xxhash64(source_ip(in));
        break;
      case HashPolicy::Kind::kCookie: {
        std::string v = cookie_value(*in.request, p.name);
        if (v.empty() && p.ttl) {
          // Router::Filter::addDownstreamSetCookie: the value is the same for
          // every stream of the connection.
          v = hex64(xxhash64(to_string(in.downstream_remote) + to_string(in.downstream_local)));
          out.set_cookies.push_back(make_set_cookie_value(p.name, v, p.path, p.ttl->ns() / 1'000'000'000, p.attributes));
        }
        if (!v.empty()) h = xxhash64(v);
        break;
      }
    }
    if (h) out.hash = out.hash ? (((*out.hash << 1) | (*out.hash >> 63)) ^ *h) : *h;
    if (p.terminal && out.hash) break;
  }
  return out;
}

}  // namespace meshsim::proxy::http
