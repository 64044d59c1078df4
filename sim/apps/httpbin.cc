#include "sim/apps/httpbin.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "proxy/http/message.h"

namespace meshsim::sim::apps {

using proxy::http::Request;
using proxy::http::Response;
using Json = nlohmann::ordered_json;
// Go's url.Values and http.Header: keys sorted (Go's encoder sorts map keys),
// values in arrival order.
using Values = std::map<std::string, std::vector<std::string>>;

namespace {

constexpr std::string_view kJson = "application/json; charset=utf-8";
constexpr std::string_view kText = "text/plain; charset=utf-8";
constexpr Duration kMaxDuration = Duration::seconds(10);  // go-httpbin's DefaultMaxDuration

bool token_byte(unsigned char c) {
  // RFC 7230 tchar, as Go's httpguts.IsTokenRune.
  if (std::isalnum(c)) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
    case '-': case '.': case '^': case '_': case '`': case '|': case '~': return true;
    default: return false;
  }
}

// Go's url.QueryUnescape: '+' is a space, %XX must be two hex digits.
bool query_unescape(std::string_view in, std::string& out) {
  out.clear();
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '+') {
      out += ' ';
    } else if (c == '%') {
      if (i + 2 >= in.size()) return false;
      int v = 0;
      auto [p, ec] = std::from_chars(in.data() + i + 1, in.data() + i + 3, v, 16);
      if (ec != std::errc() || p != in.data() + i + 3) return false;
      out += static_cast<char>(v);
      i += 2;
    } else {
      out += c;
    }
  }
  return true;
}

// Go's url.ParseQuery as r.URL.Query() uses it: pairs with a ';' in the key or
// a bad escape are dropped (Query ignores the error).
Values parse_query(std::string_view qs) {
  Values v;
  while (!qs.empty()) {
    size_t amp = qs.find('&');
    std::string_view kv = qs.substr(0, amp);
    qs = amp == std::string_view::npos ? std::string_view() : qs.substr(amp + 1);
    if (kv.empty() || kv.find(';') != std::string_view::npos) continue;
    size_t eq = kv.find('=');
    std::string k, val;
    if (!query_unescape(kv.substr(0, eq), k)) continue;
    if (eq != std::string_view::npos && !query_unescape(kv.substr(eq + 1), val)) continue;
    v[k].push_back(val);
  }
  return v;
}

std::string_view query_of(const Request& req) {
  size_t q = req.target.find('?');
  return q == std::string::npos ? std::string_view() : std::string_view(req.target).substr(q + 1);
}

Json values_json(const Values& v) {
  Json o = Json::object();
  for (const auto& [k, vs] : v) o[k] = vs;
  return o;
}

// getRequestHeaders: every header as Go's http.Header holds it (canonical
// names, Host from r.Host, Transfer-Encoding as Go re-adds it).
Json headers_json(const Request& req) {
  Values h;
  for (proxy::http::Headers::Field f : req.headers) {
    std::string k = canonical_header_key(f.name);
    if (k == "Host") continue;
    h[k].emplace_back(f.value);
  }
  h["Host"] = {std::string(req.host())};
  return values_json(h);
}

std::string header_or_empty(const Request& req, std::string_view name) {
  auto v = req.headers.get(name);
  return v ? std::string(*v) : std::string();
}

// getClientIP: the platforms' headers, the first X-Forwarded-For entry, else r.RemoteAddr.
std::string client_ip(HttpbinPeer peer, const Request& req) {
  for (std::string_view h : {"Fly-Client-IP", "CF-Connecting-IP", "Fastly-Client-IP", "True-Client-IP"}) {
    if (std::string v = header_or_empty(req, h); !v.empty()) return v;
  }
  if (std::string xff = header_or_empty(req, "X-Forwarded-For"); !xff.empty()) {
    std::string first = xff.substr(0, xff.find(','));
    size_t b = first.find_first_not_of(" \t");
    size_t e = first.find_last_not_of(" \t");
    return b == std::string::npos ? std::string() : first.substr(b, e - b + 1);
  }
  return std::string(peer.ip) + ":" + std::to_string(peer.port);
}

// getURL: scheme from X-Forwarded-Proto / -Protocol / -Ssl (the sidecar sets
// x-forwarded-proto), host from r.Host, then the path and query as sent.
std::string request_url(const Request& req) {
  std::string scheme = header_or_empty(req, "X-Forwarded-Proto");
  if (scheme.empty()) scheme = header_or_empty(req, "X-Forwarded-Protocol");
  if (scheme.empty() && header_or_empty(req, "X-Forwarded-Ssl") == "on") scheme = "https";
  if (scheme.empty()) scheme = "http";
  std::string target = req.target;
  if (target.rfind("http://", 0) == 0 || target.rfind("https://", 0) == 0) {  // absolute-form
    size_t slash = target.find('/', target.find("//") + 2);
    target = slash == std::string::npos ? "/" : target.substr(slash);
  }
  return scheme + "://" + std::string(req.host()) + target;
}

// Go's encoder with SetIndent("", "  ") and SetEscapeHTML(false), then '\n'.
void write_json(Response& r, int status, const Json& j) {
  r.status = status;
  r.headers.set("Content-Type", kJson);
  r.body = j.dump(2, ' ', false, Json::error_handler_t::replace);
  r.body += '\n';
}

void write_error(Response& r, int status, const std::string& detail) {
  Json j = Json::object();
  j["status_code"] = status;
  j["error"] = std::string(proxy::http::reason_phrase(status));
  if (!detail.empty()) j["detail"] = detail;
  write_json(r, status, j);
}

// Go's ServeMux answers: 404 and 405 with http.Error's text.
void mux_error(Response& r, int status, std::string_view allow = {}) {
  r.status = status;
  r.headers.set("Content-Type", kText);
  r.headers.set("X-Content-Type-Options", "nosniff");
  if (!allow.empty()) r.headers.set("Allow", allow);
  r.body = status == 404 ? "404 page not found\n" : std::string(proxy::http::reason_phrase(status)) + "\n";
}

std::string go_quote(std::string_view s) {  // %q for the ASCII strings these errors carry
  std::string o = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\';
    o += c;
  }
  return o + "\"";
}

// strconv.Atoi, with its error text.
bool go_atoi(std::string_view s, int64_t& out, std::string& err) {
  std::string_view digits = s;
  bool negative = false;
  if (!digits.empty() && (digits[0] == '+' || digits[0] == '-')) {
    negative = digits[0] == '-';
    digits.remove_prefix(1);
  }
  long long v = 0;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  bool syntax = digits.empty() || (ec != std::errc() && ec != std::errc::result_out_of_range) ||
                p != digits.data() + digits.size() || digits[0] == '-' || digits[0] == '+';
  if (syntax || ec == std::errc::result_out_of_range) {
    err = "strconv.Atoi: parsing " + go_quote(s) + (syntax ? ": invalid syntax" : ": value out of range");
    return false;
  }
  out = negative ? -v : v;
  return true;
}

bool go_parse_float(std::string_view s, double& out, std::string& err) {
  std::string str(s);
  char* end = nullptr;
  out = std::strtod(str.c_str(), &end);
  if (str.empty() || end != str.c_str() + str.size() || std::isspace(static_cast<unsigned char>(str[0]))) {
    err = "strconv.ParseFloat: parsing " + go_quote(s) + ": invalid syntax";
    return false;
  }
  return true;
}

// /delay/{duration}: Go duration syntax, else seconds as a float.
bool parse_bounded_duration(std::string_view in, Duration& d, std::string& err) {
  auto parsed = parse_duration(in);
  if (parsed.ok()) {
    d = *parsed;
  } else {
    double secs = 0;
    if (!go_parse_float(in, secs, err)) return false;
    d = Duration::millis(static_cast<int64_t>(secs * 1000));
  }
  if (d > kMaxDuration) {
    err = "duration " + format_duration(d) + " longer than " + format_duration(kMaxDuration);
    return false;
  }
  if (d < Duration::zero()) {
    err = "duration " + format_duration(d) + " shorter than 0s";
    return false;
  }
  return true;
}

double random_float(uint64_t (*random)(void*), void* ctx) {
  uint64_t x = random ? random(ctx) : 0;
  return static_cast<double>(x >> 11) * (1.0 / 9007199254740992.0);  // [0, 1), 53 bits
}

// doStatus with go-httpbin's special cases.
void do_status(Response& r, int code) {
  r.status = code;
  r.headers.set("Content-Type", kText);
  r.body.clear();
  switch (code) {
    case 300:
      r.headers.set("Location", "/image/jpeg");
      r.body =
          "<!doctype html>\n<head>\n<title>Multiple Choices</title>\n</head>\n<body>\n<ul>\n"
          "<li><a href=\"/image/jpeg\">/image/jpeg</a></li>\n<li><a href=\"/image/png\">/image/png</a></li>\n"
          "<li><a href=\"/image/svg\">/image/svg</a></li>\n</body>\n</html>";
      break;
    case 301: case 302: case 303: case 305: case 307: r.headers.set("Location", "/redirect/1"); break;
    case 308:
      r.headers.set("Location", "/image/jpeg");
      r.body =
          "<!doctype html>\n<head>\n<title>Permanent Redirect</title>\n</head>\n<body>Permanently redirected to "
          "<a href=\"/image/jpeg\">/image/jpeg</a>\n</body>\n</html>";
      break;
    case 401: r.headers.set("WWW-Authenticate", "Basic realm=\"Fake Realm\""); break;
    case 402:
      r.headers.set("X-More-Info", "http://vimeo.com/22053820");
      r.body = "Fuck you, pay me!";
      break;
    case 406:
      r.headers.set("Content-Type", kJson);
      r.body =
          "{\n  \"message\": \"Client did not request a supported media type\",\n  \"accept\": [\n"
          "    \"image/webp\",\n    \"image/svg+xml\",\n    \"image/jpeg\",\n    \"image/png\",\n"
          "    \"image/\"\n  ]\n}\n";
      break;
    case 407: r.headers.set("Proxy-Authenticate", "Basic realm=\"Fake Realm\""); break;
    case 418:
      r.headers.set("X-More-Info", "http://tools.ietf.org/html/rfc2324");
      r.body = "I'm a teapot!";
      break;
    default: break;
  }
}

void status_endpoint(std::string_view raw, Response& r, uint64_t (*random)(void*), void* ctx) {
  std::string err;
  auto parse_code = [&](std::string_view s, int& code) {
    int64_t v = 0;
    if (!go_atoi(s, v, err)) {
      err = "invalid status code: " + go_quote(s) + ": " + err;
      return false;
    }
    if (v < 100 || v > 599) {
      err = "invalid status code: " + std::to_string(v) + " not in range [100, 599]";
      return false;
    }
    code = static_cast<int>(v);
    return true;
  };
  if (raw.find(',') == std::string_view::npos) {
    int code = 0;
    if (!parse_code(raw, code)) return write_error(r, 400, err);
    return do_status(r, code);
  }
  struct Choice {
    int code;
    double weight;
  };
  std::vector<Choice> choices;
  size_t start = 0;
  for (size_t i = 0; i <= raw.size(); ++i) {
    if (i != raw.size() && raw[i] != ',') continue;
    std::string_view pair = raw.substr(start, i - start);
    start = i + 1;
    size_t colon = pair.find(':');
    Choice c{0, 1.0};
    if (colon != std::string_view::npos) {
      std::string ferr;
      if (!go_parse_float(pair.substr(colon + 1), c.weight, ferr)) {
        return write_error(r, 400, "invalid weight value: " + go_quote(pair.substr(colon + 1)));
      }
    }
    if (!parse_code(pair.substr(0, colon), c.code)) {
      return write_error(r, 400, "invalid choice value: " + go_quote(pair.substr(0, colon)));
    }
    choices.push_back(c);
  }
  double total = 0;
  for (const Choice& c : choices) total += c.weight;
  double pick = random_float(random, ctx) * total;
  double running = 0;
  for (const Choice& c : choices) {
    running += c.weight;
    if (pick < running) return do_status(r, c.code);
  }
  do_status(r, choices.back().code);  // go-httpbin panics here (all weights 0); Go's server answers 500 then
  r.status = 500;
}

// Go's encoder sorts the keys of the map[string]interface{} a JSON body
// decodes into; ordered_json keeps insertion order, so sort recursively.
Json sorted(const Json& j) {
  if (j.is_object()) {
    std::map<std::string, const Json*> keys;
    for (auto it = j.begin(); it != j.end(); ++it) keys[it.key()] = &it.value();
    Json o = Json::object();
    for (const auto& [k, v] : keys) o[k] = sorted(*v);
    return o;
  }
  if (j.is_array()) {
    Json a = Json::array();
    for (const Json& e : j) a.push_back(sorted(e));
    return a;
  }
  if (j.is_number_integer() || j.is_number_unsigned()) return Json(j.get<double>());  // Go decodes numbers as float64
  return j;
}

// The fields noBodyResponse and bodyResponse share, in their struct order.
Json request_fields(HttpbinPeer peer, const Request& req) {
  Json j = Json::object();
  j["args"] = values_json(parse_query(query_of(req)));
  j["headers"] = headers_json(req);
  j["method"] = req.method;
  j["origin"] = client_ip(peer, req);
  j["url"] = request_url(req);
  return j;
}

// RequestWithBody: bodyResponse (also /anything and /delay).
void body_response(HttpbinPeer peer, const Request& req, Response& r) {
  Json j = request_fields(peer, req);
  j["data"] = req.body;
  j["files"] = Json::object();
  j["form"] = Json::object();
  j["json"] = nullptr;
  if (!req.body.empty()) {
    std::string ct = header_or_empty(req, "Content-Type");
    ct = ct.substr(0, ct.find(';'));
    if (ct == "application/x-www-form-urlencoded") {
      j["form"] = values_json(parse_query(req.body));
    } else if (ct == "multipart/form-data") {
      r.status = 501;
      r.headers.set("Content-Type", kText);
      r.body = "meshsim: go-httpbin's multipart/form-data parsing is not simulated\n";
      return;
    } else if (ct == "application/json") {
      Json parsed = Json::parse(req.body, nullptr, false);
      if (parsed.is_discarded()) return write_error(r, 400, "error parsing request body: invalid JSON");
      j["json"] = sorted(parsed);
    }
  }
  write_json(r, 200, j);
}

// Get (and HEAD on /anything): noBodyResponse.
void no_body_response(HttpbinPeer peer, const Request& req, Response& r) { write_json(r, 200, request_fields(peer, req)); }

std::string uuid4(uint64_t (*random)(void*), void* ctx) {
  uint64_t a = random ? random(ctx) : 0, b = random ? random(ctx) : 0;
  a = (a & ~0xF000ull) | 0x4000ull;                         // version 4
  b = (b & 0x3FFFFFFFFFFFFFFFull) | 0x8000000000000000ull;  // RFC 4122 variant
  char s[37];
  std::snprintf(s, sizeof s, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>((a >> 16) & 0xFFFF), static_cast<unsigned>(a & 0xFFFF),
                static_cast<unsigned>(b >> 48), static_cast<unsigned long long>(b & 0xFFFFFFFFFFFFull));
  return s;
}

// go-httpbin endpoints (its mux) that meshsim does not answer.
bool unsimulated_endpoint(std::string_view path) {
  static constexpr std::string_view kExact[] = {
      "/encoding/utf8", "/forms/post", "/websocket/echo", "/bearer", "/cache", "/cookies",
      "/cookies/delete", "/cookies/set", "/deflate", "/deny", "/drip", "/dump/request", "/gzip", "/html",
      "/image",   "/json", "/redirect-to", "/robots.txt", "/sse", "/trailers", "/xml", "/brotli"};
  static constexpr std::string_view kPrefix[] = {
      "/absolute-redirect/", "/base64/", "/basic-auth/", "/bytes/", "/cache/", "/digest-auth/", "/etag/",
      "/hidden-basic-auth/", "/image/", "/links/", "/range/", "/redirect/", "/relative-redirect/",
      "/stream-bytes/", "/stream/"};
  for (std::string_view e : kExact)
    if (path == e) return true;
  for (std::string_view p : kPrefix)
    if (path.size() > p.size() && path.substr(0, p.size()) == p) return true;
  return false;
}

// The single path segment after `prefix`, or nullopt.
std::optional<std::string_view> segment_after(std::string_view path, std::string_view prefix) {
  if (path.size() <= prefix.size() || path.substr(0, prefix.size()) != prefix) return std::nullopt;
  std::string_view rest = path.substr(prefix.size());
  if (rest.find('/') != std::string_view::npos) return std::nullopt;
  return rest;
}

// The mux after the middleware: returns the delay.
Duration route(HttpbinPeer peer, const Request& req, Response& r, uint64_t (*random)(void*), void* ctx) {
  std::string_view path = req.path();
  const std::string& m = req.method;
  bool get_like = m == "GET" || m == "HEAD";
  auto only = [&](bool ok, std::string_view allow) {
    if (!ok) mux_error(r, 405, allow);
    return ok;
  };
  if (path == "/") {
    // GET /{$}: go-httpbin's HTML index. Status and type as go-httpbin's;
    // the page itself (its template) is not reproduced, and says so.
    if (only(get_like, "GET, HEAD")) {
      r.status = 200;
      r.headers.set("Content-Type", "text/html; charset=utf-8");
      r.body = "<!DOCTYPE html>\n<html><head><title>go-httpbin</title></head><body>"
               "<p>meshsim: go-httpbin's index page (its content is not simulated)</p></body></html>\n";
    }
  } else if (path == "/get") {
    if (only(get_like, "GET, HEAD")) no_body_response(peer, req, r);
  } else if (path == "/head") {
    if (only(m == "HEAD", "HEAD")) no_body_response(peer, req, r);
  } else if (path == "/post" || path == "/put" || path == "/patch" || path == "/delete") {
    std::string want(path.substr(1));
    for (char& c : want) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (only(m == want, want)) body_response(peer, req, r);
  } else if (path == "/anything" || path.rfind("/anything/", 0) == 0) {
    if (m == "HEAD") no_body_response(peer, req, r);
    else body_response(peer, req, r);
  } else if (path == "/headers") {
    Json j = Json::object();
    j["headers"] = headers_json(req);
    write_json(r, 200, j);
  } else if (path == "/ip") {
    Json j = Json::object();
    j["origin"] = client_ip(peer, req);
    write_json(r, 200, j);
  } else if (path == "/user-agent") {
    Json j = Json::object();
    j["user-agent"] = header_or_empty(req, "User-Agent");
    write_json(r, 200, j);
  } else if (path == "/hostname") {
    Json j = Json::object();
    j["hostname"] = "go-httpbin";  // the sample does not pass -use-real-hostname
    write_json(r, 200, j);
  } else if (path == "/uuid") {
    Json j = Json::object();
    j["uuid"] = uuid4(random, ctx);
    write_json(r, 200, j);
  } else if (path == "/response-headers") {
    Values args = parse_query(query_of(req));
    for (const auto& [k, vs] : args)
      for (const std::string& v : vs) r.headers.add(canonical_header_key(k), v);
    if (!r.headers.has("Content-Type")) r.headers.set("Content-Type", kJson);
    r.status = 200;
    r.body = values_json(args).dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
  } else if (path == "/unstable") {
    Values q = parse_query(query_of(req));
    double rate = 0.5;
    if (auto it = q.find("failure_rate"); it != q.end() && !it->second.front().empty()) {
      std::string err;
      if (!go_parse_float(it->second.front(), rate, err)) {
        write_error(r, 400, "invalid failure rate: " + err);
        return Duration::zero();
      }
      if (rate < 0 || rate > 1) {
        write_error(r, 400, "invalid failure rate: %!d(<nil>) not in range [0, 1]");  // go-httpbin's own format bug
        return Duration::zero();
      }
    }
    r.status = random_float(random, ctx) < rate ? 500 : 200;
    r.headers.set("Content-Type", kText);
  } else if (auto code = segment_after(path, "/status/")) {
    status_endpoint(*code, r, random, ctx);
  } else if (auto d = segment_after(path, "/delay/")) {
    Duration delay;
    std::string err;
    if (!parse_bounded_duration(*d, delay, err)) {
      write_error(r, 400, "invalid duration: " + err);
      return Duration::zero();
    }
    char timing[96];
    std::snprintf(timing, sizeof timing, "initial_delay;dur=%0.2f;desc=\"initial delay\"",
                  static_cast<double>(delay.ns()) / 1e6);
    r.headers.set("Server-Timing", timing);
    body_response(peer, req, r);
    return delay;
  } else if (unsimulated_endpoint(path)) {
    r.status = 501;
    r.headers.set("Content-Type", kText);
    r.body = "meshsim: go-httpbin's " + std::string(path) + " endpoint is not simulated\n";
  } else {
    mux_error(r, 404);
  }
  return Duration::zero();
}

}  // namespace

std::string canonical_header_key(std::string_view name) {
  for (char c : name)
    if (!token_byte(static_cast<unsigned char>(c))) return std::string(name);
  std::string k(name);
  bool upper = true;
  for (char& c : k) {
    if (upper && c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    else if (!upper && c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    upper = c == '-';
  }
  return k;
}

Duration answer_httpbin(HttpbinPeer peer, const Request& req, Response& r, uint64_t (*random)(void*),
                        void* random_ctx) {
  r.status = 200;
  r.body.clear();
  r.headers.clear();
  // preflight middleware: CORS on every answer; OPTIONS answered here.
  std::string origin = header_or_empty(req, "Origin");
  r.headers.set("Access-Control-Allow-Origin", origin.empty() ? "*" : origin);
  r.headers.set("Access-Control-Allow-Credentials", "true");
  if (req.method == "OPTIONS") {
    r.headers.set("Access-Control-Allow-Methods", "GET, POST, HEAD, PUT, DELETE, PATCH, OPTIONS");
    r.headers.set("Access-Control-Max-Age", "3600");
    if (std::string h = header_or_empty(req, "Access-Control-Request-Headers"); !h.empty())
      r.headers.set("Access-Control-Allow-Headers", h);
    return Duration::zero();
  }
  Duration delay = route(peer, req, r, random, random_ctx);
  if (req.method == "HEAD") r.body.clear();  // autohead
  return delay;
}

}  // namespace meshsim::sim::apps
