#include "sim/scenario/scenario.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "mesh/decoder.h"
#include "mesh/analyzers.h"
#include "mesh/loader.h"
#include "mesh/suggest.h"
#include "mesh/world.h"
#include "sim/runtime/probe.h"

namespace meshsim::sim {

using mesh::YamlNode;
using mesh::detail::Decoder;
using mesh::detail::PathSeg;

const char* to_string(Expectation::Kind k) {
  switch (k) {
    case Expectation::Kind::kRequests: return "requests";
    case Expectation::Kind::kClientError: return "clientError";
    case Expectation::Kind::kWire: return "wire";
    case Expectation::Kind::kIdentity: return "identity";
    case Expectation::Kind::kLatency: return "latency";
    case Expectation::Kind::kCertificates: return "certificates";
    case Expectation::Kind::kProbes: return "probes";
    case Expectation::Kind::kSidecar: return "sidecar";
    case Expectation::Kind::kFingerprint: return "fingerprint";
    case Expectation::Kind::kMetric: return "metric";
    case Expectation::Kind::kTraces: return "traces";
    case Expectation::Kind::kOutliers: return "outliers";
  }
  return "?";
}

const char* to_string(TimelineAction::Kind k) {
  switch (k) {
    case TimelineAction::Kind::kApply: return "apply";
    case TimelineAction::Kind::kDelete: return "delete";
    case TimelineAction::Kind::kKillPod: return "killPod";
    case TimelineAction::Kind::kRestartPod: return "restartPod";
    case TimelineAction::Kind::kNodeDown: return "nodeDown";
    case TimelineAction::Kind::kNodeUp: return "nodeUp";
    case TimelineAction::Kind::kPartition: return "partition";
    case TimelineAction::Kind::kHeal: return "heal";
    case TimelineAction::Kind::kLatency: return "latency";
    case TimelineAction::Kind::kClockJump: return "clockJump";
    case TimelineAction::Kind::kStopRenewal: return "stopRenewal";
    case TimelineAction::Kind::kZoneDown: return "zoneDown";
    case TimelineAction::Kind::kZoneUp: return "zoneUp";
    case TimelineAction::Kind::kAppFault: return "appFault";
    case TimelineAction::Kind::kKillZtunnel: return "killZtunnel";
    case TimelineAction::Kind::kRestartZtunnel: return "restartZtunnel";
  }
  return "?";
}

bool Comparison::holds(double x) const {
  double v = duration ? static_cast<double>(duration->ns()) : value;
  switch (op) {
    case Op::kEq: return std::fabs(x - v) < 1e-9;
    case Op::kNe: return std::fabs(x - v) >= 1e-9;
    case Op::kLt: return x < v;
    case Op::kLe: return x <= v + 1e-12;
    case Op::kGt: return x > v;
    case Op::kGe: return x >= v - 1e-12;
  }
  return false;
}

namespace {

struct Ctx {
  Decoder& d;
  std::string base_dir;
  std::shared_ptr<const mesh::YamlDocument> doc;
  std::vector<mesh::Diagnostic>& diags;
};

bool parse_comparison(Decoder& d, YamlNode n, const PathSeg& p, std::optional<Comparison>& out, bool duration) {
  std::string s;
  if (n.is_scalar() && n.plain() && n.scalar_type() != mesh::ScalarType::kString) s = std::string(n.scalar());
  else if (!d.str(n, p, s)) return false;
  std::string t = s;
  t.erase(0, t.find_first_not_of(' '));
  Comparison c;
  c.text = t;
  struct OpText {
    const char* text;
    Comparison::Op op;
  };
  static const OpText ops[] = {{">=", Comparison::Op::kGe}, {"<=", Comparison::Op::kLe}, {"==", Comparison::Op::kEq},
                               {"!=", Comparison::Op::kNe}, {">", Comparison::Op::kGt},  {"<", Comparison::Op::kLt},
                               {"=", Comparison::Op::kEq}};
  std::string rest = t;
  c.op = Comparison::Op::kEq;
  for (const auto& o : ops) {
    if (t.rfind(o.text, 0) == 0) {
      c.op = o.op;
      rest = t.substr(std::string(o.text).size());
      break;
    }
  }
  rest.erase(0, rest.find_first_not_of(' '));
  if (duration) {
    auto dur = parse_duration(rest);
    if (!dur.ok()) {
      d.error(n, p, "expected a comparison with a duration such as \"< 50ms\": " + dur.message());
      return false;
    }
    c.duration = *dur;
  } else {
    char* end = nullptr;
    double v = std::strtod(rest.c_str(), &end);
    bool pct = end && *end == '%';
    if (rest.empty() || !end || (*end != '\0' && !pct)) {
      d.error(n, p, "expected a comparison such as \">= 0.99\", \"== 0\" or \"> 10\", got \"" + s + "\"");
      return false;
    }
    c.value = pct ? v / 100.0 : v;
  }
  out = c;
  return true;
}

bool parse_duration_field(Decoder& d, YamlNode n, const PathSeg& p, Duration& out, bool allow_zero = true) {
  std::optional<Duration> v;
  if (!d.duration(n, p, v, allow_zero)) return false;
  out = *v;
  return true;
}

// "10/s", "600/m", "2/h" → interval; or a plain number per second.
bool parse_rate(Decoder& d, YamlNode n, const PathSeg& p, Duration& interval) {
  std::string s;
  if (n.is_scalar() && n.plain() && n.scalar_type() != mesh::ScalarType::kString) s = std::string(n.scalar());
  else if (!d.str(n, p, s)) return false;
  size_t slash = s.find('/');
  std::string num = s.substr(0, slash);
  std::string unit = slash == std::string::npos ? "s" : s.substr(slash + 1);
  char* end = nullptr;
  double v = std::strtod(num.c_str(), &end);
  int64_t per = unit == "s" ? 1'000'000'000LL : unit == "m" ? 60'000'000'000LL : unit == "h" ? 3'600'000'000'000LL : 0;
  if (num.empty() || !end || *end != '\0' || v <= 0 || per == 0) {
    d.error(n, p, "expected a rate such as \"10/s\", \"600/m\" or \"2/h\", got \"" + s + "\"");
    return false;
  }
  interval = Duration::nanos(static_cast<int64_t>(std::llround(static_cast<double>(per) / v)));
  if (interval.ns() <= 0) {
    d.error(n, p, "rate too high");
    return false;
  }
  return true;
}

void parse_window(Decoder& d, YamlNode n, const PathSeg& p, Expectation& e) {
  if (!d.is_seq(n, p)) return;
  if (n.size() != 2) {
    d.error(n, p, "expected [start, end], e.g. [0s, 60s]");
    return;
  }
  parse_duration_field(d, n.item(0), p.at(0), e.window_start);
  parse_duration_field(d, n.item(1), p.at(1), e.window_end);
  if (e.window_end < e.window_start) d.error(n, p, "the window ends before it starts");
}

Relation relation_of(std::string_view k, bool* ok) {
  *ok = true;
  if (k == "loopback") return Relation::kLoopback;
  if (k == "sameNode") return Relation::kSameNode;
  if (k == "sameZone") return Relation::kSameZone;
  if (k == "otherZone") return Relation::kOtherZone;
  if (k == "otherRegion") return Relation::kOtherRegion;
  *ok = false;
  return Relation::kSameZone;
}

const std::vector<std::string_view> kRelationNames = {"loopback", "sameNode", "sameZone", "otherZone", "otherRegion"};

void parse_relations(Decoder& d, YamlNode n, const PathSeg& p, std::map<Relation, Duration>& out) {
  d.fields(n, p, kRelationNames, [&](std::string_view k, YamlNode v, const PathSeg& cp) {
    bool ok = false;
    Relation r = relation_of(k, &ok);
    if (!ok) return false;
    Duration x;
    if (parse_duration_field(d, v, cp, x)) out[r] = x;
    return true;
  });
}

void parse_network(Ctx& c, YamlNode n, const PathSeg& p, LinkModel& links) {
  Decoder& d = c.d;
  d.fields(n, p, {"latency", "jitter", "loss", "bandwidth"}, [&](std::string_view k, YamlNode v, const PathSeg& cp) {
    if (k == "latency") {
      std::map<Relation, Duration> m;
      parse_relations(d, v, cp, m);
      for (auto [r, x] : m) {
        LinkProfile lp = links.profile(r);
        lp.latency = x;
        links.set_profile(r, lp);
      }
      return true;
    }
    if (k == "jitter") {
      std::map<Relation, Duration> m;
      parse_relations(d, v, cp, m);
      for (auto [r, x] : m) {
        LinkProfile lp = links.profile(r);
        lp.jitter = x;
        links.set_profile(r, lp);
      }
      return true;
    }
    if (k == "loss") {
      d.fields(v, cp, kRelationNames, [&](std::string_view rk, YamlNode rv, const PathSeg& rp) {
        bool ok = false;
        Relation r = relation_of(rk, &ok);
        if (!ok) return false;
        std::optional<double> x;
        if (d.opt_number(rv, rp, x, 0.0, 0.5)) {
          LinkProfile lp = links.profile(r);
          lp.loss = *x;
          links.set_profile(r, lp);
        }
        return true;
      });
      return true;
    }
    if (k == "bandwidth") {
      std::string s;
      if (!d.str(v, cp, s)) return true;
      double mult = 1;
      std::string num = s;
      for (auto [suffix, m] : {std::pair<const char*, double>{"Gbps", 1e9}, {"Mbps", 1e6}, {"Kbps", 1e3}, {"bps", 1}}) {
        std::string sf = suffix;
        if (s.size() > sf.size() && s.compare(s.size() - sf.size(), sf.size(), sf) == 0) {
          mult = m;
          num = s.substr(0, s.size() - sf.size());
          break;
        }
      }
      char* end = nullptr;
      double bps = std::strtod(num.c_str(), &end) * mult;
      if (num.empty() || !end || *end != '\0' || bps <= 0) {
        d.error(v, cp, "expected a bandwidth such as \"10Gbps\" or \"500Mbps\"");
        return true;
      }
      for (int r = 0; r < kRelationCount; ++r) {
        if (static_cast<Relation>(r) == Relation::kLoopback) continue;
        LinkProfile lp = links.profile(static_cast<Relation>(r));
        lp.bandwidth_bps = static_cast<uint64_t>(bps);
        links.set_profile(static_cast<Relation>(r), lp);
      }
      return true;
    }
    return false;
  });
}

// "host:port" with a port 1–65535 (the host is checked when the app resolves it).
bool valid_host_port(const std::string& t) {
  size_t colon = t.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 >= t.size()) return false;
  uint32_t port = 0;
  auto [e, ec] = std::from_chars(t.data() + colon + 1, t.data() + t.size(), port);
  return ec == std::errc() && e == t.data() + t.size() && port >= 1 && port <= 65535;
}

// The request fields HTTP and gRPC clients share: host, keepAlive, timeout,
// connectTimeout, headers. True when `k` was one of them.
bool parse_request_common_field(Decoder& d, std::string_view k, YamlNode v, const PathSeg& cp, ClientRequestSpec& r) {
    if (k == "host") return d.str(v, cp, r.host_header), true;
    if (k == "keepAlive") return d.boolean(v, cp, r.keep_alive), true;
    if (k == "timeout") return parse_duration_field(d, v, cp, r.timeout, false), true;
    if (k == "connectTimeout") return parse_duration_field(d, v, cp, r.connect_timeout), true;
    if (k == "headers") {
      mesh::Labels h;
      d.string_map(v, cp, h, false);
      for (const auto& [hk, hv] : h) r.headers.emplace_back(hk, hv);
      return true;
    }
    return false;
}

void parse_http_client(Decoder& d, YamlNode n, const PathSeg& p, ScenarioClient& cl) {
  ClientRequestSpec& r = cl.request;
  r.protocol = "http";
  bool https = false, tls_given = false;
  d.fields(n, p, {"url", "method", "paths", "body", "host", "keepAlive", "timeout", "connectTimeout", "headers", "tls", "via"}, [&](std::string_view k, YamlNode v, const PathSeg& cp) {
    if (k == "via") {
      // ingress, or the gateway Service NS/NAME.
      if (d.str(v, cp, cl.via) && cl.via != "ingress" && cl.via.find('/') == std::string::npos)
        d.error(v, cp, "unknown value \"" + cl.via + "\" (valid: ingress, or a gateway Service NS/NAME)");
      return true;
    }
    if (k == "url") {
      std::string url;
      if (!d.str(v, cp, url)) return true;
      std::string rest = url;
      if (rest.rfind("http://", 0) == 0) {
        rest = rest.substr(7);
      } else if (rest.rfind("https://", 0) == 0) {
        rest = rest.substr(8);
        https = true;
      } else {
        d.error(v, cp, "expected a URL starting with http:// or https://, got \"" + url + "\"");
        r.target = "-";  // reported; no follow-on "missing" error
        return true;
      }
      size_t slash = rest.find('/');
      r.target = rest.substr(0, slash);
      r.path = slash == std::string::npos ? "/" : rest.substr(slash);
      if (r.target.empty()) d.error(v, cp, "the URL names no host: \"" + url + "\"");
      else if (r.target.find(':') == std::string::npos) r.target += https ? ":443" : ":80";
      else if (!valid_host_port(r.target)) d.error(v, cp, "the URL's port is not a number from 1 to 65535: \"" + url + "\"");
      return true;
    }
    if (k == "method") return d.str(v, cp, r.method), true;
    if (k == "paths") {
      d.strings(v, cp, r.paths);
      for (const std::string& s : r.paths) {
        if (s.empty() || s[0] != '/') d.error(v, cp, "every path must start with '/', got \"" + s + "\"");
      }
      return true;
    }
    if (k == "body") return d.str(v, cp, r.body), true;
    if (parse_request_common_field(d, k, v, cp, r)) return true;
    if (k == "tls") return tls_given = true, d.enum_str(v, cp, cl.client_tls, {"plaintext", "tls", "mtls"}), true;
    return false;
  });
  if (!n.get("url").valid()) d.error(n, p.child("url"), "required field is missing");
  // https:// is the app's own TLS (like `curl -k https://…`), unless tls says otherwise.
  if (https && !tls_given) cl.client_tls = "tls";
}

void parse_tcp_client(Decoder& d, YamlNode n, const PathSeg& p, ScenarioClient& cl) {
  ClientRequestSpec& r = cl.request;
  r.protocol = "tcp";
  d.fields(n, p, {"target", "payload", "timeout", "connectTimeout", "tls"}, [&](std::string_view k, YamlNode v, const PathSeg& cp) {
    if (k == "target") return d.str(v, cp, r.target), true;
    if (k == "payload") return d.str(v, cp, r.tcp_payload), true;
    if (k == "timeout") return parse_duration_field(d, v, cp, r.timeout, false), true;
    if (k == "connectTimeout") return parse_duration_field(d, v, cp, r.connect_timeout), true;
    if (k == "tls") return d.enum_str(v, cp, cl.client_tls, {"plaintext", "tls", "mtls"}), true;
    return false;
  });
  if (r.target.empty()) d.error(n, p.child("target"), "required field is missing");
  else if (!valid_host_port(r.target)) {
    d.error(n.get("target"), p.child("target"), "expected HOST:PORT with a port from 1 to 65535, got \"" + r.target + "\"");
  }
}

// grpc: {target: "echo:9090", service: grpc.health.v1.Health, method: Check,
// message: "", headers, host, keepAlive, timeout, connectTimeout}: unary
// calls over h2c as grpc-go makes them.
void parse_grpc_client(Decoder& d, YamlNode n, const PathSeg& p, ScenarioClient& cl) {
  ClientRequestSpec& r = cl.request;
  r.protocol = "grpc";
  d.fields(n, p, {"target", "service", "method", "message", "headers", "host", "keepAlive", "timeout", "connectTimeout"}, [&](std::string_view k, YamlNode v, const PathSeg& cp) {
    if (k == "target") return d.str(v, cp, r.target), true;
    if (k == "service") return d.str(v, cp, r.grpc_service), true;
    if (k == "method") return d.str(v, cp, r.grpc_method), true;
    if (k == "message") return d.str(v, cp, r.grpc_message), true;
    if (parse_request_common_field(d, k, v, cp, r)) return true;
    return false;
  });
  if (r.target.empty()) d.error(n, p.child("target"), "required field is missing");
  else if (!valid_host_port(r.target)) {
    d.error(n.get("target"), p.child("target"), "expected HOST:PORT with a port from 1 to 65535, got \"" + r.target + "\"");
  }
  if (r.grpc_service.empty() || r.grpc_service.find('/') != std::string::npos) {
    d.error(n.get("service"), p.child("service"), "expected a fully qualified service name like grpc.health.v1.Health");
  }
  if (r.grpc_method.empty() || r.grpc_method.find('/') != std::string::npos) {
    d.error(n.get("method"), p.child("method"), "expected a method name like Check");
  }
}

void parse_mysql_client(Decoder& d, YamlNode n, const PathSeg& p, ScenarioClient& cl) {
  ClientRequestSpec& r = cl.request;
  r.protocol = "mysql";
  d.fields(n, p, {"target", "user", "password", "database", "query", "connectTimeout", "tls"}, [&](std::string_view k, YamlNode v, const PathSeg& cp) {
    if (k == "target") return d.str(v, cp, r.target), true;
    if (k == "user") return d.str(v, cp, r.mysql.user), true;
    if (k == "password") return d.str(v, cp, r.mysql.password), true;
    if (k == "database") return d.str(v, cp, r.mysql.database), true;
    if (k == "query") return d.str(v, cp, r.mysql.query), true;
    // The mysql client's connect timeout also bounds the wait for the greeting.
    if (k == "connectTimeout") return parse_duration_field(d, v, cp, r.timeout, false), true;
    if (k == "tls") return d.enum_str(v, cp, cl.client_tls, {"plaintext", "tls", "mtls"}), true;
    return false;
  });
  if (r.target.empty()) d.error(n, p.child("target"), "required field is missing");
  else if (r.target.find(':') == std::string::npos) r.target += ":3306";
  else if (!valid_host_port(r.target)) {
    d.error(n.get("target"), p.child("target"), "expected HOST or HOST:PORT with a port from 1 to 65535, got \"" + r.target + "\"");
  }
}

void parse_latency_model(Decoder& d, YamlNode n, const PathSeg& p, LatencyModel& m) {
  if (n.is_scalar()) {
    m.kind = LatencyModel::Kind::kFixed;
    parse_duration_field(d, n, p, m.a);
    return;
  }
  bool have_median = false, have_p99 = false;
  d.fields(n, p, {"fixed", "min", "max", "mean", "median", "p99"}, [&](std::string_view k, YamlNode v, const PathSeg& cp) {
    if (k == "fixed") {
      m.kind = LatencyModel::Kind::kFixed;
      return parse_duration_field(d, v, cp, m.a), true;
    }
    if (k == "min") return parse_duration_field(d, v, cp, m.a), (m.kind = LatencyModel::Kind::kUniform), true;
    if (k == "max") return parse_duration_field(d, v, cp, m.b), (m.kind = LatencyModel::Kind::kUniform), true;
    if (k == "mean") return parse_duration_field(d, v, cp, m.a), (m.kind = LatencyModel::Kind::kExponential), true;
    if (k == "median") return parse_duration_field(d, v, cp, m.a), (have_median = true), true;
    if (k == "p99") return parse_duration_field(d, v, cp, m.b), (have_p99 = true), true;
    return false;
  });
  if (have_median || have_p99) {
    m.kind = LatencyModel::Kind::kLognormal;
    if (!have_median || !have_p99) d.error(n, p, "a lognormal latency needs both median and p99");
    else if (m.b <= m.a) d.error(n, p, "p99 must be larger than the median");
  }
}

// calls: ["http://details:9080/details/0", {url, method, timeout, onError, attempts}, …]
void parse_server_calls(Decoder& d, YamlNode n, const PathSeg& p, std::vector<AppCall>& out) {
  out.clear();
  d.items(n, p, [&](YamlNode item, const PathSeg& ip) {
    AppCall c;
    bool have_url = false;
    auto url = [&](YamlNode v, const PathSeg& up) {
      std::string u;
      if (!d.str(v, up, u)) return;
      have_url = true;
      if (u.rfind("http://", 0) != 0) {
        d.error(v, up, "expected a URL starting with http:// (the app's calls are plaintext; its sidecar does mTLS), got \"" + u + "\"");
        return;
      }
      std::string rest = u.substr(7);
      size_t slash = rest.find('/');
      std::string hp = rest.substr(0, slash);
      c.path = slash == std::string::npos ? "/" : rest.substr(slash);
      if (hp.empty() || hp[0] == ':') {
        d.error(v, up, "the URL names no host: \"" + u + "\"");
        return;
      }
      if (hp.find(':') == std::string::npos) hp += ":80";
      if (!valid_host_port(hp)) {
        d.error(v, up, "the URL's port is not a number from 1 to 65535: \"" + u + "\"");
        return;
      }
      size_t colon = hp.rfind(':');
      c.host = hp.substr(0, colon);
      uint32_t port = 0;
      std::from_chars(hp.data() + colon + 1, hp.data() + hp.size(), port);  // validated above
      c.port = static_cast<uint16_t>(port);
    };
    if (item.is_scalar()) {
      url(item, ip);
    } else {
      d.fields(item, ip, {"url", "method", "timeout", "onError", "attempts"}, [&](std::string_view k, YamlNode v, const PathSeg& cp) {
        if (k == "url") return url(v, cp), true;
        if (k == "method") return d.str(v, cp, c.method), true;
        if (k == "timeout") return parse_duration_field(d, v, cp, c.timeout, false), true;
        if (k == "onError") {
          std::string e;
          if (d.enum_str(v, cp, e, {"ignore", "fail"})) c.on_error = e == "fail" ? AppCall::OnError::kFail : AppCall::OnError::kIgnore;
          return true;
        }
        if (k == "attempts") return d.integer(v, cp, c.attempts, 1, 10), true;
        return false;
      });
      if (!have_url && item.valid() && item.kind() == mesh::YamlKind::kMap) d.error(item, ip.child("url"), "required field is missing (e.g. http://ratings:9080/ratings/0)");
    }
    out.push_back(std::move(c));
  });
}

// propagate: none | all | productpage | [header, …]
void parse_propagate(Decoder& d, YamlNode n, const PathSeg& p, std::optional<apps::HeaderPropagation>& out) {
  if (n.is_sequence()) {
    std::vector<std::string> names;
    for (size_t i = 0; i < n.size(); ++i) {
      std::string h;
      if (!d.str(n.item(i), p.at(i), h)) continue;
      bool token = !h.empty() && std::all_of(h.begin(), h.end(), [](char ch) {
        return std::isalnum(static_cast<unsigned char>(ch)) || std::string_view("!#$%&'*+-.^_`|~").find(ch) != std::string_view::npos;
      });
      if (!token) d.error(n.item(i), p.at(i), "not an HTTP header name: \"" + h + "\"");
      else names.push_back(std::move(h));
    }
    out = apps::HeaderPropagation::list(std::move(names));
    return;
  }
  std::string mode;
  if (!d.enum_str(n, p, mode, {"none", "all", "productpage"})) return;
  out = mode == "all" ? apps::HeaderPropagation::all()
        : mode == "productpage" ? apps::HeaderPropagation::productpage()
                                : apps::HeaderPropagation::none();
}

// pki: [{name, dnsNames, uriNames, mount: {pod, cert, key, ca} | [..]}]
void parse_pki(Ctx& c, YamlNode n, const PathSeg& p, Scenario& s) {
  Decoder& d = c.d;
  d.items(n, p, [&](YamlNode item, const PathSeg& ip) {
    PkiCertificate pc;
    pc.location = item.location();
    auto mount = [&](YamlNode mv, const PathSeg& mp) {
      PkiCertificate::Mount m;
      d.fields(mv, mp, {"pod", "cert", "key", "ca"}, [&](std::string_view k, YamlNode v, const PathSeg& cp) {
        if (k == "pod") {
          std::string ref;
          if (d.str(v, cp, ref)) m.pod = {ref};
          return true;
        }
        if (k == "cert") return d.str(v, cp, m.cert), true;
        if (k == "key") return d.str(v, cp, m.key), true;
        if (k == "ca") return d.str(v, cp, m.ca), true;
        return false;
      });
      if (m.pod.text.empty()) d.error(mv, mp.child("pod"), "required field is missing");
      if (m.cert.empty() != m.key.empty()) d.error(mv, mp, "cert and key go together");
      if (m.cert.empty() && m.ca.empty()) d.error(mv, mp, "mount needs cert and key, or ca, or all three");
      pc.mounts.push_back(std::move(m));
    };
    d.fields(item, ip, {"name", "dnsNames", "uriNames", "mount"}, [&](std::string_view k, YamlNode v, const PathSeg& cp) {
      if (k == "name") return d.str(v, cp, pc.name), true;
      if (k == "dnsNames") return d.strings(v, cp, pc.dns_names), true;
      if (k == "uriNames") return d.strings(v, cp, pc.uri_names), true;
      if (k == "mount") {
        if (v.is_sequence()) d.items(v, cp, mount);
        else mount(v, cp);
        return true;
      }
      return false;
    });
    if (pc.name.empty()) d.error(item, ip.child("name"), "required field is missing");
    if (pc.dns_names.empty() && pc.uri_names.empty()) d.error(item, ip, "a certificate needs dnsNames or uriNames");
    for (const auto& other : s.pki) {
      if (other.name == pc.name && !pc.name.empty()) d.error(item, ip.child("name"), "duplicate certificate name \"" + pc.name + "\"");
    }
    s.pki.push_back(std::move(pc));
  });
}

void parse_app(Ctx& c, YamlNode n, const PathSeg& p, Scenario& s) {
  Decoder& d = c.d;
  bool is_client = n.get("client").valid() || n.get("from").valid();
  bool is_server = n.get("server").valid();
  if (is_client == is_server) {
    d.error(n, p, "an app is either a client (client/from + http|grpc|tcp|mysql) or a server (server + port)");
    return;
  }
  if (is_client) {
    ScenarioClient cl;
    cl.location = n.location();
    std::optional<double> rate;
    bool kinds = 0;
    int kind_count = 0;
    d.fields(n, p, {"client", "from", "http", "grpc", "tcp", "mysql", "rate", "interval", "concurrency", "count", "start", "stop"}, [&](std::string_view k, YamlNode v, const PathSeg& cp) {
      if (k == "client") return d.str(v, cp, cl.name), true;
      if (k == "from") return d.str(v, cp, cl.from.text), true;
      if (k == "http") return parse_http_client(d, v, cp, cl), ++kind_count, true;
      if (k == "tcp") return parse_tcp_client(d, v, cp, cl), ++kind_count, true;
      if (k == "grpc") return parse_grpc_client(d, v, cp, cl), ++kind_count, true;
      if (k == "mysql") return parse_mysql_client(d, v, cp, cl), ++kind_count, true;
      if (k == "rate") return parse_rate(d, v, cp, cl.schedule.interval), true;
      if (k == "interval") return parse_duration_field(d, v, cp, cl.schedule.interval), true;
      if (k == "concurrency") return d.integer(v, cp, cl.schedule.concurrency, 1, 10000), true;
      if (k == "count") return d.integer(v, cp, cl.schedule.count, 1, 100'000'000), true;
      if (k == "start") return parse_duration_field(d, v, cp, cl.schedule.start), true;
      if (k == "stop") return parse_duration_field(d, v, cp, cl.schedule.stop), true;
      return false;
    });
    (void)kinds;
    (void)rate;
    if (cl.from.text.empty()) d.error(n, p.child("from"), "required field is missing (a pod/workload like default/productpage, or external)");
    if (kind_count != 1) d.error(n, p, "a client needs exactly one of http, grpc, tcp or mysql");
    if (!n.get("count").valid()) cl.schedule.count = -1;
    if (cl.name.empty()) cl.name = cl.from.text + "→" + cl.request.target;
    s.clients.push_back(std::move(cl));
    return;
  }
  ScenarioServer sv;
  sv.location = n.location();
  int kind_count = 0;
  d.fields(n, p, {"server", "port", "kind", "http", "mysql", "tls", "calls", "propagate", "hostname", "address"}, [&](std::string_view k, YamlNode v, const PathSeg& cp) {
    if (k == "server") return d.str(v, cp, sv.pod.text), true;
    if (k == "hostname") return d.str(v, cp, sv.hostname), true;
    if (k == "address") {
      if (d.str(v, cp, sv.address) && !parse_ipv4(sv.address).ok())
        d.error(v, cp, "expected an IPv4 address, got \"" + sv.address + "\"");
      return true;
    }
    if (k == "calls") {
      sv.options.calls.emplace();
      parse_server_calls(d, v, cp, *sv.options.calls);
      return true;
    }
    if (k == "propagate") return parse_propagate(d, v, cp, sv.options.propagate), true;
    if (k == "port") {
      uint32_t port = 0;
      if (d.port(v, cp, port)) sv.port = static_cast<uint16_t>(port);
      return true;
    }
    if (k == "kind") {
      std::string kind;
      if (d.enum_str(v, cp, kind, {"echo", "http-echo", "tcp-echo", "mysql-server", "httpbin"})) {
        sv.options.kind = kind == "mysql-server" ? ServerAppKind::kMysql
                          : kind == "http-echo"  ? ServerAppKind::kHttpEcho
                          : kind == "httpbin"    ? ServerAppKind::kHttpbin
                          : kind == "tcp-echo"   ? ServerAppKind::kTcpEcho
                                                 : ServerAppKind::kEcho;
      }
      return true;
    }
    if (k == "http") {
      ++kind_count;
      sv.options.kind = ServerAppKind::kEcho;
      d.fields(v, cp, {"latency", "errorRate", "errorStatus", "bodySize"}, [&](std::string_view hk, YamlNode hv, const PathSeg& hp) {
        if (hk == "latency") return parse_latency_model(d, hv, hp, sv.options.latency), true;
        if (hk == "errorRate") {
          std::optional<double> x;
          if (d.opt_number(hv, hp, x, 0.0, 1.0)) sv.options.error_rate = *x;
          return true;
        }
        if (hk == "errorStatus") return d.integer(hv, hp, sv.options.error_status, 100, 599), true;
        if (hk == "bodySize") return d.integer(hv, hp, sv.options.body_bytes, 0, 64 * 1024 * 1024), true;
        return false;
      });
      return true;
    }
    if (k == "mysql") {
      ++kind_count;
      sv.options.kind = ServerAppKind::kMysql;
      d.fields(v, cp, {"users", "version"}, [&](std::string_view mk, YamlNode mv, const PathSeg& mp) {
        if (mk == "users") {
          mesh::Labels u;
          d.string_map(mv, mp, u, false);
          sv.options.mysql.users.clear();
          for (const auto& [user, pw] : u) sv.options.mysql.users[user] = pw;
          return true;
        }
        if (mk == "version") return d.str(mv, mp, sv.options.mysql.server_version), true;
        return false;
      });
      return true;
    }
    if (k == "tls") {
      d.fields(v, cp, {"dnsNames", "certificate", "requireClientCertificate", "alpn"}, [&](std::string_view tk, YamlNode tv, const PathSeg& tp) {
        if (tk == "dnsNames") return d.strings(tv, tp, sv.tls_dns_names), true;
        if (tk == "certificate") return d.str(tv, tp, sv.tls_certificate), true;
        if (tk == "requireClientCertificate") return d.boolean(tv, tp, sv.options.tls.require_client_certificate), true;
        if (tk == "alpn") return d.strings(tv, tp, sv.options.tls.alpn), true;
        return false;
      });
      sv.options.tls.enabled = true;
      if (sv.tls_dns_names.empty() == sv.tls_certificate.empty()) {
        d.error(v, cp, "tls needs either dnsNames (a certificate for these names) or certificate (one of pki)");
      }
      return true;
    }
    return false;
  });
  if (sv.pod.text.empty()) d.error(n, p.child("server"), "required field is missing");
  for (const char* f : {"hostname", "address"}) {
    if (n.get(f).valid() && !sv.pod.text.empty() && !sv.pod.external())
      d.error(n.get(f), p.child(f), std::string(f) + " is for a server outside the mesh (server: external/NAME), not a pod");
  }
  if (!sv.hostname.empty() && sv.address.empty()) d.error(n, p.child("address"), "required with hostname (what the name resolves to)");
  if (!sv.hostname.empty() && !sv.address.empty()) s.resources.external_dns[sv.hostname].push_back(sv.address);
  if (sv.port == 0) d.error(n, p.child("port"), "required field is missing");
  if (kind_count > 1) d.error(n, p, "a server is either http or mysql");
  bool http = is_http_server(sv.options.kind);
  for (const char* f : {"calls", "propagate"}) {
    if (!http && n.get(f).valid()) {
      d.error(n.get(f), p.child(f), std::string(f) + " needs an HTTP server (kind echo, http-echo or httpbin, or http:), not " +
                                         to_string(sv.options.kind));
    }
  }
  s.servers.push_back(std::move(sv));
}

void parse_objects(Ctx& c, YamlNode n, const PathSeg& p, mesh::ResourceSet& out) {
  c.d.items(n, p, [&](YamlNode item, const PathSeg&) { mesh::load_node(c.doc, item, out, c.diags); });
}

// `manifests:` — a path, or a list of paths and {path, namespace} entries
// (namespace works like `kubectl apply -n`).
void parse_manifest_files(Ctx& c, YamlNode n, const PathSeg& p, mesh::ResourceSet& out, std::vector<std::string>* paths) {
  struct Entry {
    std::string path, ns;
    YamlNode node;
    PathSeg seg;
  };
  std::vector<Entry> entries;
  auto entry = [&](YamlNode v, const PathSeg& vp) {
    Entry e{{}, {}, v, vp};
    if (v.is_map()) {
      c.d.fields(v, vp, {"path", "namespace"}, [&](std::string_view k, YamlNode x, const PathSeg& xp) {
        if (k == "path") return c.d.str(x, xp, e.path), true;
        if (k == "namespace") return c.d.str(x, xp, e.ns), true;
        return false;
      });
      if (e.path.empty()) c.d.error(v, vp.child("path"), "required field is missing");
    } else {
      c.d.str(v, vp, e.path);
    }
    if (!e.path.empty()) entries.push_back(std::move(e));
  };
  if (n.is_sequence()) {
    c.d.items(n, p, [&](YamlNode v, const PathSeg& vp) { entry(v, vp); });
  } else {
    entry(n, p);
  }
  for (const Entry& e : entries) {
    std::filesystem::path fp(e.path);
    if (fp.is_relative()) fp = std::filesystem::path(c.base_dir) / fp;
    if (!std::filesystem::exists(fp)) {
      c.d.error(e.node, e.seg, "no such file or directory: " + fp.string());
      continue;
    }
    std::string resolved = fp.lexically_normal().string();
    if (paths) paths->push_back(resolved);
    mesh::LoadResult lr = mesh::load_paths({resolved}, nullptr, e.ns);
    for (auto& dg : lr.diagnostics) c.diags.push_back(std::move(dg));
    out.merge(std::move(lr.resources));
  }
}

void parse_timeline(Ctx& c, YamlNode n, const PathSeg& p, Scenario& s) {
  Decoder& d = c.d;
  d.items(n, p, [&](YamlNode item, const PathSeg& ip) {
    TimelineAction a;
    a.location = item.location();
    bool have_at = false;
    int actions = 0;
    bool flap = false;
    Duration flap_down, flap_up, flap_until;
    auto pods = [&](YamlNode v, const PathSeg& vp, std::vector<WorkloadRef>& out) {
      std::vector<std::string> list;
      if (v.is_scalar()) {
        std::string x;
        if (d.str(v, vp, x)) list.push_back(x);
      } else {
        d.strings(v, vp, list);
      }
      for (auto& x : list) out.push_back({x});
    };
    d.fields(item, ip, {"at", "name", "apply", "delete", "killPod", "restartPod", "stopRenewal", "nodeDown", "nodeUp", "heal", "clockJump", "latency", "partition", "zoneDown", "zoneUp", "appFault", "flapPod", "killZtunnel", "restartZtunnel"}, [&](std::string_view k, YamlNode v, const PathSeg& cp) {
      if (k == "at") return parse_duration_field(d, v, cp, a.at), (have_at = true), true;
      if (k == "name") return d.str(v, cp, a.name), true;
      if (k == "apply") {
        ++actions;
        a.kind = TimelineAction::Kind::kApply;
        size_t first_new = c.diags.size();
        d.fields(v, cp, {"objects", "files", "file"}, [&](std::string_view ak, YamlNode av, const PathSeg& ap) {
          if (ak == "objects") return parse_objects(c, av, ap, a.objects), true;
          if (ak == "files" || ak == "file") return parse_manifest_files(c, av, ap, a.objects, nullptr), true;
          return false;
        });
        // A kind meshsim does not know is ignored when loading a mesh, but an
        // apply whose object is ignored would change nothing while the story
        // says "pushed": an error here (kind: PeerAuthenticaton).
        for (size_t i = first_new; i < c.diags.size(); ++i) {
          mesh::Diagnostic& dg = c.diags[i];
          if (dg.code == "MS0004" && dg.severity == mesh::Severity::kWarning && dg.message.rfind("unknown kind", 0) == 0) {
            dg.severity = mesh::Severity::kError;
            if (size_t at = dg.message.find("; ignored"); at != std::string::npos) dg.message.erase(at, 9);
            dg.message = "timeline apply: " + dg.message + " — the apply would change nothing";
          }
        }
        return true;
      }
      if (k == "delete") {
        ++actions;
        a.kind = TimelineAction::Kind::kDelete;
        d.items(v, cp, [&](YamlNode dv, const PathSeg& dp) {
          TimelineAction::DeleteRef ref{mesh::Kind::kPeerAuthentication, "default", ""};
          std::string kind;
          d.fields(dv, dp, {"kind", "namespace", "name"}, [&](std::string_view dk, YamlNode x, const PathSeg& xp) {
            if (dk == "kind") return d.str(x, xp, kind), true;
            if (dk == "namespace") return d.str(x, xp, ref.ns), true;
            if (dk == "name") return d.str(x, xp, ref.name), true;
            return false;
          });
          bool found = false;
          for (int ki = 0; ki <= static_cast<int>(mesh::Kind::kIstioOperator); ++ki) {
            if (kind == mesh::kind_name(static_cast<mesh::Kind>(ki))) {
              ref.kind = static_cast<mesh::Kind>(ki);
              found = true;
            }
          }
          if (!found) d.error(dv, dp.child("kind"), "unknown kind \"" + kind + "\"");
          if (ref.name.empty()) d.error(dv, dp.child("name"), "required field is missing");
          a.deletes.push_back(ref);
        });
        return true;
      }
      if (k == "killPod") return ++actions, (a.kind = TimelineAction::Kind::kKillPod), pods(v, cp, a.pods), true;
      if (k == "restartPod") return ++actions, (a.kind = TimelineAction::Kind::kRestartPod), pods(v, cp, a.pods), true;
      if (k == "stopRenewal") return ++actions, (a.kind = TimelineAction::Kind::kStopRenewal), pods(v, cp, a.pods), true;
      if (k == "nodeDown") return ++actions, (a.kind = TimelineAction::Kind::kNodeDown), d.str(v, cp, a.node), true;
      if (k == "nodeUp") return ++actions, (a.kind = TimelineAction::Kind::kNodeUp), d.str(v, cp, a.node), true;
      if (k == "heal") return ++actions, (a.kind = TimelineAction::Kind::kHeal), d.str(v, cp, a.partition), true;
      if (k == "killZtunnel") return ++actions, (a.kind = TimelineAction::Kind::kKillZtunnel), d.str(v, cp, a.node), true;
      if (k == "restartZtunnel") return ++actions, (a.kind = TimelineAction::Kind::kRestartZtunnel), d.str(v, cp, a.node), true;
      if (k == "zoneDown") return ++actions, (a.kind = TimelineAction::Kind::kZoneDown), d.str(v, cp, a.zone), true;
      if (k == "zoneUp") return ++actions, (a.kind = TimelineAction::Kind::kZoneUp), d.str(v, cp, a.zone), true;
      if (k == "appFault") {
        ++actions;
        a.kind = TimelineAction::Kind::kAppFault;
        bool any = false;
        d.fields(v, cp, {"pod", "port", "errorRate", "errorStatus", "latency"}, [&](std::string_view fk, YamlNode fv, const PathSeg& fp) {
          if (fk == "pod") return pods(fv, fp, a.pods), true;
          if (fk == "port") {
            int port = 0;
            if (d.integer(fv, fp, port, 1, 65535)) a.port = static_cast<uint16_t>(port);
            return true;
          }
          if (fk == "errorRate") {
            std::optional<double> x;
            if (d.opt_number(fv, fp, x, 0.0, 1.0)) a.error_rate = x, any = true;
            return true;
          }
          if (fk == "errorStatus") {
            int st = 503;
            if (d.integer(fv, fp, st, 100, 599)) a.error_status = st, any = true;
            return true;
          }
          if (fk == "latency") {
            LatencyModel m;
            parse_latency_model(d, fv, fp, m);
            a.app_latency = m;
            any = true;
            return true;
          }
          return false;
        });
        if (a.pods.empty()) d.error(v, cp.child("pod"), "required field is missing");
        if (!any) d.error(v, cp, "an appFault needs errorRate, errorStatus or latency");
        return true;
      }
      if (k == "flapPod") {
        // Expanded below into killPod / restartPod pairs.
        ++actions;
        a.kind = TimelineAction::Kind::kKillPod;
        flap = true;
        d.fields(v, cp, {"pod", "down", "up", "until"}, [&](std::string_view fk, YamlNode fv, const PathSeg& fp) {
          if (fk == "pod") return pods(fv, fp, a.pods), true;
          if (fk == "down") return parse_duration_field(d, fv, fp, flap_down, false), true;
          if (fk == "up") return parse_duration_field(d, fv, fp, flap_up, false), true;
          if (fk == "until") return parse_duration_field(d, fv, fp, flap_until, false), true;
          return false;
        });
        if (a.pods.empty()) d.error(v, cp.child("pod"), "required field is missing");
        if (flap_down <= Duration::zero()) d.error(v, cp.child("down"), "required: how long the pod stays down each time (> 0)");
        if (flap_up <= Duration::zero()) d.error(v, cp.child("up"), "required: how long the pod stays up each time (> 0)");
        if (flap_until <= Duration::zero()) d.error(v, cp.child("until"), "required: when the flapping stops (a virtual time)");
        return true;
      }
      if (k == "clockJump") return ++actions, (a.kind = TimelineAction::Kind::kClockJump), parse_duration_field(d, v, cp, a.jump, false), true;
      if (k == "latency") {
        ++actions;
        a.kind = TimelineAction::Kind::kLatency;
        parse_relations(d, v, cp, a.latency);
        return true;
      }
      if (k == "partition") {
        ++actions;
        a.kind = TimelineAction::Kind::kPartition;
        d.fields(v, cp, {"name", "a", "b"}, [&](std::string_view pk, YamlNode pv, const PathSeg& pp) {
          if (pk == "name") return d.str(pv, pp, a.partition), true;
          if (pk == "a" || pk == "b") {
            d.fields(pv, pp, {"nodes", "pods"}, [&](std::string_view sk, YamlNode sv, const PathSeg& sp) {
              if (sk == "nodes") return d.strings(sv, sp, pk == "a" ? a.a_nodes : a.b_nodes), true;
              if (sk == "pods") return pods(sv, sp, pk == "a" ? a.a_pods : a.b_pods), true;
              return false;
            });
            return true;
          }
          return false;
        });
        if (a.partition.empty()) a.partition = "partition-" + std::to_string(s.timeline.size() + 1);
        return true;
      }
      return false;
    });
    if (!have_at) d.error(item, ip.child("at"), "required field is missing");
    if (actions != 1) {
      d.error(item, ip,
              "a timeline entry needs exactly one action: apply, delete, killPod, restartPod, flapPod, nodeDown, "
              "nodeUp, zoneDown, zoneUp, appFault, killZtunnel, restartZtunnel, partition, heal, latency, clockJump or "
              "stopRenewal");
    }
    if (flap && actions == 1) {
      if (flap_until <= a.at && flap_until > Duration::zero()) d.error(item, ip.child("flapPod").child("until"), "must be after at");
      if (flap_down <= Duration::zero() || flap_up <= Duration::zero() || flap_until <= a.at) return;
      // Down for `down`, up for `up`, from `at` until `until` (the pod ends up).
      std::string base = a.name.empty() ? "flapPod" : a.name;
      for (Duration t = a.at; t < flap_until; t += flap_down + flap_up) {
        TimelineAction kill = a;
        kill.at = t;
        kill.kind = TimelineAction::Kind::kKillPod;
        kill.name = base + " (down)";
        TimelineAction up = a;
        up.at = t + flap_down;
        up.kind = TimelineAction::Kind::kRestartPod;
        up.name = base + " (up)";
        s.timeline.push_back(std::move(kill));
        s.timeline.push_back(std::move(up));
      }
      return;
    }
    if (a.name.empty()) a.name = to_string(a.kind);
    s.timeline.push_back(std::move(a));
  });
}

// The valid shape of each expectation kind, for messages about misplaced fields.
struct ExpectationShape {
  const char* kind;
  std::vector<std::string_view> inner;  // fields inside `kind:`
  const char* shape;
};
const std::vector<ExpectationShape>& expectation_shapes() {
  static const std::vector<ExpectationShape> shapes = {
      {"requests", {"from", "to", "window"},
       "{requests: {from: CLIENT, to: TARGET, window: [START, END]}, okRatio: \">= 0.99\"} (or count / outcomes beside requests)"},
      {"clientError", {"from", "to", "window", "contains", "every"},
       "{clientError: {from: CLIENT, to: TARGET, window: [START, END], contains: TEXT, every: true}}"},
      {"wire", {"from", "to", "window", "is", "alpn", "port", "sni"},
       "{wire: {from: NS/POD, to: NS/POD, is: mtls|tls|plaintext, port: N, alpn: A, sni: S, window: [START, END]}}"},
      {"identity", {"from", "to", "window", "principal"},
       "{identity: {from: NS/POD, to: NS/POD, principal: spiffe://…, window: [START, END]}}"},
      {"latency", {"from", "to", "window", "p50", "p90", "p99", "p999", "max"},
       "{latency: {from: CLIENT, to: TARGET, p99: \"< 50ms\", window: [START, END]}}"},
      {"certificates", {"pod", "ttl", "rotations"}, "{certificates: {pod: NS/POD, ttl: 24h, rotations: \">= 1\"}}"},
      {"probes", {"pod", "container", "window", "kind"},
       "{probes: {pod: NS/POD, kind: readiness|liveness|startup, container: C, window: [START, END]}, okRatio: \">= 0.99\"}"},
      {"sidecar", {"pod", "injected"}, "{sidecar: {pod: NS/POD, injected: true}}"},
      {"outliers", {"pod", "host", "cluster", "window"},
       "{outliers: {pod: NS/POD, host: NS/POD, cluster: TEXT, window: [START, END]}, ejections: \"== 2\", unejections: \">= 1\", overflows: \"== 0\", ejectionTimes: [30s, 60s]}"},
      {"metric", {"name", "labels", "value"},
       "{metric: {name: istio_requests_total, labels: {reporter: destination}, value: \">= 1\"}}"},
      {"traces", {"from", "window", "userRequests", "spans", "sampledSpans", "sampledRequests", "broken", "tracesPerRequest", "finding", "outboundOnly"},
       "{traces: {from: CLIENT, window: [START, END], broken: \"== 0\", sampledRequests: \">= 81\", finding: \"reviews-v2 did not forward\"}}"},
  };
  return shapes;
}
const ExpectationShape* shape_of(std::string_view kind) {
  for (const auto& sh : expectation_shapes())
    if (kind == sh.kind) return &sh;
  return nullptr;
}

void parse_expect(Ctx& c, YamlNode n, const PathSeg& p, Scenario& s) {
  Decoder& d = c.d;
  d.items(n, p, [&](YamlNode item, const PathSeg& ip) {
    Expectation e;
    e.location = item.location();
    int kinds = 0;
    // The kind this item is (the first kind key present), for shape hints.
    const ExpectationShape* item_shape = nullptr;
    if (item.is_map()) {
      for (uint32_t i = 0; i < item.size() && !item_shape; ++i) item_shape = shape_of(item.key(i).scalar());
    }
    // A field of the item level (okRatio, count, outcomes, name) written inside `kind:`.
    auto misplaced_inner = [&](std::string_view key, const PathSeg& kp, const char* kind) {
      if (key != "okRatio" && key != "count" && key != "outcomes" && key != "name") return false;
      const ExpectationShape* sh = shape_of(kind);
      bool beside = std::string_view(kind) == "requests" || std::string_view(kind) == "probes" || key == "name";
      d.unknown_field(kp.key_node, kp, key, {},
                      std::string(beside ? "it goes beside \"" + std::string(kind) + ":\", not inside it"
                                         : "a " + std::string(kind) + " expectation has no " + std::string(key)) +
                          " — valid shape: " + sh->shape);
      return true;
    };
    auto selector = [&](YamlNode v, const PathSeg& vp) {
      d.fields(v, vp, {"from", "to", "window"}, [&](std::string_view sk, YamlNode sv, const PathSeg& sp) {
        if (sk == "from") return d.str(sv, sp, e.from), true;
        if (sk == "to") return d.str(sv, sp, e.to), true;
        if (sk == "window") return parse_window(d, sv, sp, e), true;
        return misplaced_inner(sk, sp, "requests");
      });
    };
    d.fields(item, ip, {"name", "requests", "okRatio", "count", "outcomes", "clientError", "wire", "identity", "latency", "certificates", "probes", "sidecar", "metric", "traces", "outliers", "ejections", "unejections", "overflows", "ejectionTimes"}, [&](std::string_view k, YamlNode v, const PathSeg& cp) {
      if (k == "name") return d.str(v, cp, e.name), true;
      if (k == "requests") return ++kinds, (e.kind = Expectation::Kind::kRequests), selector(v, cp), true;
      if (k == "okRatio") return parse_comparison(d, v, cp, e.ok_ratio, false), true;
      if (k == "count") return parse_comparison(d, v, cp, e.count, false), true;
      if (k == "outcomes") {
        d.fields(v, cp, {"ok", "refused", "reset", "timeout", "tls_error", "http_error", "denied", "dns_error"},
                 [&](std::string_view ok, YamlNode ov, const PathSeg& op) {
          static const std::set<std::string, std::less<>> names = {"ok", "refused", "reset", "timeout",
                                                                    "tls_error", "http_error", "denied", "dns_error"};
          if (!names.count(ok)) return false;
          std::optional<Comparison> cmp;
          if (parse_comparison(d, ov, op, cmp, false)) e.outcomes[std::string(ok)] = *cmp;
          return true;
        });
        return true;
      }
      if (k == "clientError") {
        ++kinds;
        e.kind = Expectation::Kind::kClientError;
        d.fields(v, cp, {"from", "to", "window", "contains", "every"}, [&](std::string_view ck, YamlNode cv, const PathSeg& xp) {
          if (ck == "from" || ck == "to" || ck == "window") {
            if (ck == "window") parse_window(d, cv, xp, e);
            else d.str(cv, xp, ck == "from" ? e.from : e.to);
            return true;
          }
          if (ck == "contains") return d.str(cv, xp, e.error_contains), true;
          if (ck == "every") return d.boolean(cv, xp, e.every), true;
          return misplaced_inner(ck, xp, "clientError");
        });
        if (e.error_contains.empty()) d.error(v, cp.child("contains"), "required field is missing");
        return true;
      }
      if (k == "wire") {
        ++kinds;
        e.kind = Expectation::Kind::kWire;
        d.fields(v, cp, {"from", "to", "window", "is", "alpn", "port", "sni"}, [&](std::string_view wk, YamlNode wv, const PathSeg& wp) {
          if (wk == "from" || wk == "to") return d.str(wv, wp, wk == "from" ? e.from : e.to), true;
          if (wk == "window") return parse_window(d, wv, wp, e), true;
          if (wk == "is") return d.enum_str(wv, wp, e.wire, {"mtls", "tls", "plaintext"}), true;
          if (wk == "alpn") return d.str(wv, wp, e.alpn), true;
          if (wk == "port") return d.integer(wv, wp, e.port, 1, 65535), true;
          if (wk == "sni") return d.str(wv, wp, e.sni), true;
          return misplaced_inner(wk, wp, "wire");
        });
        if (!v.get("is").valid()) d.error(v, cp.child("is"), "required field is missing (mtls, tls or plaintext)");
        if (e.from.empty() || e.to.empty()) d.error(v, cp, "wire expectations need from and to (pods)");
        return true;
      }
      if (k == "identity") {
        ++kinds;
        e.kind = Expectation::Kind::kIdentity;
        d.fields(v, cp, {"from", "to", "window", "principal"}, [&](std::string_view wk, YamlNode wv, const PathSeg& wp) {
          if (wk == "from" || wk == "to") return d.str(wv, wp, wk == "from" ? e.from : e.to), true;
          if (wk == "window") return parse_window(d, wv, wp, e), true;
          if (wk == "principal") return d.str(wv, wp, e.principal), true;
          return misplaced_inner(wk, wp, "identity");
        });
        if (e.to.empty()) d.error(v, cp.child("to"), "required field is missing (the server pod)");
        return true;
      }
      if (k == "latency") {
        ++kinds;
        e.kind = Expectation::Kind::kLatency;
        d.fields(v, cp, {"from", "to", "window", "p50", "p90", "p99", "p999", "max"}, [&](std::string_view lk, YamlNode lv, const PathSeg& lp) {
          if (lk == "from" || lk == "to") return d.str(lv, lp, lk == "from" ? e.from : e.to), true;
          if (lk == "window") return parse_window(d, lv, lp, e), true;
          if (lk == "p50" || lk == "p90" || lk == "p99" || lk == "p999" || lk == "max") {
            e.percentile = lk == "p50" ? 50 : lk == "p90" ? 90 : lk == "p99" ? 99 : lk == "p999" ? 99.9 : 100;
            return parse_comparison(d, lv, lp, e.latency, true), true;
          }
          return misplaced_inner(lk, lp, "latency");
        });
        if (!e.latency) d.error(v, cp, "a latency expectation needs p50, p90, p99, p999 or max");
        return true;
      }
      if (k == "certificates") {
        ++kinds;
        e.kind = Expectation::Kind::kCertificates;
        d.fields(v, cp, {"pod", "ttl", "rotations"}, [&](std::string_view ck, YamlNode cv, const PathSeg& xp) {
          if (ck == "pod") return d.str(cv, xp, e.pod), true;
          if (ck == "ttl") return d.duration(cv, xp, e.ttl, false), true;
          if (ck == "rotations") return parse_comparison(d, cv, xp, e.rotations, false), true;
          return misplaced_inner(ck, xp, "certificates");
        });
 if (e.pod.empty()) d.error(v, cp.child("pod"), "required field is missing");
        return true;
      }
      if (k == "probes") {
        ++kinds;
        e.kind = Expectation::Kind::kProbes;
        d.fields(v, cp, {"pod", "container", "window", "kind"}, [&](std::string_view pk, YamlNode pv, const PathSeg& pp) {
          if (pk == "pod") return d.str(pv, pp, e.pod), true;
          if (pk == "container") return d.str(pv, pp, e.container), true;
          if (pk == "window") return parse_window(d, pv, pp, e), true;
          if (pk == "kind") return d.enum_str(pv, pp, e.probe_kind, {"readiness", "liveness", "startup"}), true;
          return misplaced_inner(pk, pp, "probes");
        });
        if (e.pod.empty()) d.error(v, cp.child("pod"), "required field is missing");
        return true;
      }
      if (k == "metric") {
        ++kinds;
        e.kind = Expectation::Kind::kMetric;
        d.fields(v, cp, {"name", "labels", "value"}, [&](std::string_view mk, YamlNode mv, const PathSeg& mp) {
          if (mk == "name") return d.str(mv, mp, e.metric_name), true;
          if (mk == "value") return parse_comparison(d, mv, mp, e.metric_value, false), true;
          if (mk == "labels") {
            d.fields(mv, mp, [&](std::string_view lk, YamlNode lv, const PathSeg& lp) {
              std::string value;
              d.str(lv, lp, value);
              e.metric_labels[std::string(lk)] = value;
              return true;
            });
            return true;
          }
          return misplaced_inner(mk, mp, "metric");
        });
        if (e.metric_name.empty()) d.error(v, cp.child("name"), "required field is missing");
        if (!e.metric_value) d.error(v, cp.child("value"), "required field is missing");
        return true;
      }
      if (k == "outliers") {
        ++kinds;
        e.kind = Expectation::Kind::kOutliers;
        d.fields(v, cp, {"pod", "host", "cluster", "window"}, [&](std::string_view sk, YamlNode sv, const PathSeg& sp) {
          if (sk == "pod") return d.str(sv, sp, e.pod), true;
          if (sk == "host") return d.str(sv, sp, e.host), true;
          if (sk == "cluster") return d.str(sv, sp, e.cluster), true;
          if (sk == "window") return parse_window(d, sv, sp, e), true;
          return misplaced_inner(sk, sp, "outliers");
        });
        return true;
      }
      if (k == "ejections") return parse_comparison(d, v, cp, e.ejections, false), true;
      if (k == "unejections") return parse_comparison(d, v, cp, e.unejections, false), true;
      if (k == "overflows") return parse_comparison(d, v, cp, e.overflows, false), true;
      if (k == "ejectionTimes") {
        d.items(v, cp, [&](YamlNode tv, const PathSeg& tp) {
          Duration t;
          parse_duration_field(d, tv, tp, t, false);
          e.ejection_times.push_back(t);
        });
        return true;
      }
      if (k == "sidecar") {
        ++kinds;
        e.kind = Expectation::Kind::kSidecar;
        d.fields(v, cp, {"pod", "injected"}, [&](std::string_view sk, YamlNode sv, const PathSeg& sp) {
          if (sk == "pod") return d.str(sv, sp, e.pod), true;
          if (sk == "injected") return d.boolean(sv, sp, e.injected), true;
          return misplaced_inner(sk, sp, "sidecar");
        });
        if (e.pod.empty()) d.error(v, cp.child("pod"), "required field is missing");
        return true;
      }
      if (k == "traces") {
        ++kinds;
        e.kind = Expectation::Kind::kTraces;
        bool any = false;
        d.fields(v, cp, {"from", "window", "userRequests", "spans", "sampledSpans", "sampledRequests", "broken", "tracesPerRequest", "finding", "outboundOnly"},
                 [&](std::string_view tk, YamlNode tv, const PathSeg& tp) {
          if (tk == "from") return d.str(tv, tp, e.from), true;
          if (tk == "window") return parse_window(d, tv, tp, e), true;
          if (tk == "finding") return any = true, d.str(tv, tp, e.finding), true;
          if (tk == "outboundOnly") return any = true, d.str(tv, tp, e.outbound_only), true;
          std::optional<Comparison>* cmp = tk == "userRequests" ? &e.user_requests : tk == "spans" ? &e.spans
                                       : tk == "sampledSpans" ? &e.sampled_spans : tk == "sampledRequests" ? &e.sampled_requests
                                       : tk == "broken" ? &e.broken : tk == "tracesPerRequest" ? &e.traces_per_request : nullptr;
          if (!cmp) return misplaced_inner(tk, tp, "traces");
          any = true;
          return parse_comparison(d, tv, tp, *cmp, false), true;
        });
        if (!any)
          d.error(v, cp, "a traces expectation needs userRequests, spans, sampledSpans, sampledRequests, broken, "
                         "tracesPerRequest, finding or outboundOnly — valid shape: " + std::string(shape_of("traces")->shape));
        return true;
      }
      // A field of some kind's inside written at the item level.
      if (item_shape && std::find(item_shape->inner.begin(), item_shape->inner.end(), k) != item_shape->inner.end()) {
        d.unknown_field(cp.key_node, cp, k, {},
                        "it goes inside \"" + std::string(item_shape->kind) + ":\" — valid shape: " + item_shape->shape);
        return true;
      }
      if (!item_shape) {
        for (const auto& sh : expectation_shapes()) {
          if (std::find(sh.inner.begin(), sh.inner.end(), k) == sh.inner.end()) continue;
          d.unknown_field(cp.key_node, cp, k, {},
                          "it goes inside the expectation's kind, e.g. " + std::string(sh.shape));
          return true;
        }
      }
      return false;
    });
    if (kinds != 1) {
      d.error(item, ip,
              std::string("an expectation needs exactly one of requests, clientError, wire, identity, latency, "
                          "certificates, probes, sidecar, outliers, traces") +
                  (kinds == 0 ? std::string(", e.g. ") + expectation_shapes()[0].shape : std::string()));
    }
    if ((e.kind == Expectation::Kind::kRequests || e.kind == Expectation::Kind::kProbes) && !item.get("okRatio").valid() && !item.get("count").valid() &&
        !item.get("outcomes").valid()) {
      d.error(item, ip, std::string("a ") + to_string(e.kind) + " expectation needs okRatio, count or outcomes beside \"" +
                            to_string(e.kind) + ":\" — valid shape: " + shape_of(to_string(e.kind))->shape);
    }
    if (e.kind == Expectation::Kind::kOutliers && !e.ejections && !e.unejections && !e.overflows && e.ejection_times.empty()) {
      d.error(item, ip, std::string("an outliers expectation needs ejections, unejections, overflows or ejectionTimes beside \"outliers:\" — valid shape: ") +
                            shape_of("outliers")->shape);
    }
    if (e.name.empty()) {
      e.name = std::string(to_string(e.kind)) + " " + (e.pod.empty() ? e.from : e.pod) + (e.to.empty() ? "" : " → " + e.to);
      if (e.kind == Expectation::Kind::kProbes) e.name += " " + e.probe_kind;
    }
    s.expectations.push_back(std::move(e));
  });
}

// Every pod, workload and node the scenario names must exist in its mesh; all
// misses are reported at once, each with what does exist.
void check_references(const Scenario& s, const std::string& display, std::vector<mesh::Diagnostic>& diags) {
  std::vector<mesh::Diagnostic> world_diags;
  mesh::World w = mesh::build_world(s.resources, s.mesh_config, world_diags);
  bool world_errors = mesh::has_errors(world_diags);
  for (auto& dg : world_diags) diags.push_back(std::move(dg));
  if (world_errors) return;
  // Pods without a sidecar only because their namespace has no Namespace
  // object (every Istio sample): `run` shows this without -v.
  for (auto& dg : mesh::analyze_world(w)) {
    if (dg.code != "MS0124") continue;
    dg.message += " Or run with --inject-namespace " + dg.resource.substr(dg.resource.find(' ') + 1) + ".";
    diags.push_back(std::move(dg));
  }
  // What a reference may name (NS/POD, NS/WORKLOAD, NS/APP), and the
  // workloads to list: "default/sleep (Deployment)".
  std::vector<std::string> ref_names, workloads;
  for (const auto& p : w.pods()) {
    std::string owner = p.namespace_ + "/" + (p.owner_name.empty() ? p.name : p.owner_name);
    std::string item = owner + " (" + mesh::kind_name(p.owner_kind) + ")";
    if (std::find(workloads.begin(), workloads.end(), item) == workloads.end()) workloads.push_back(item);
    ref_names.push_back(owner);
    ref_names.push_back(p.namespace_ + "/" + p.name);
    if (auto app = p.labels.find("app"); app != p.labels.end()) ref_names.push_back(p.namespace_ + "/" + app->second);
  }
  std::string known;
  for (size_t i = 0; i < workloads.size() && i < 20; ++i) known += (i ? ", " : "") + workloads[i];
  if (workloads.size() > 20) known += ", …";
  if (known.empty()) known = "none: the mesh has no pods";
  auto pod = [&](const WorkloadRef& r, const mesh::Location& at, const std::string& where) {
    if (r.text.empty() || r.external() || find_pod_ref(w, r.text)) return;
    std::string ref = r.text.find('/') == std::string::npos ? "default/" + r.text : r.text;
    diags.push_back({mesh::Severity::kError, "MS0002", at, display, where,
                     "no pod, workload or app \"" + r.text + "\" in the mesh" + mesh::did_you_mean(ref, ref_names) +
                         "; workloads: " + known});
  };
  auto node = [&](const std::string& n, const mesh::Location& at, const std::string& where) {
    if (n.empty()) return;
    std::vector<std::string> names;
    for (const auto& x : w.nodes()) {
      if (x.name == n) return;
      names.push_back(x.name);
    }
    std::string list;
    for (const auto& x : names) list += (list.empty() ? "" : ", ") + x;
    diags.push_back({mesh::Severity::kError, "MS0002", at, display, where,
                     "no node \"" + n + "\"" + mesh::did_you_mean(n, names) + " (nodes: " + (list.empty() ? "none" : list) + ")"});
  };
  for (const auto& sv : s.servers) pod(sv.pod, sv.location, "apps.server");
  for (const auto& cl : s.clients) pod(cl.from, cl.location, "apps.from");
  for (const auto& pc : s.pki)
    for (const auto& m : pc.mounts) pod(m.pod, pc.location, "pki.mount.pod");
  for (const auto& a : s.timeline) {
    std::string where = std::string("timeline.") + to_string(a.kind);
    for (const auto& r : a.pods) pod(r, a.location, where);
    for (const auto& r : a.a_pods) pod(r, a.location, where + ".a.pods");
    for (const auto& r : a.b_pods) pod(r, a.location, where + ".b.pods");
    if (a.kind == TimelineAction::Kind::kNodeDown || a.kind == TimelineAction::Kind::kNodeUp) node(a.node, a.location, where);
    if (a.kind == TimelineAction::Kind::kKillZtunnel || a.kind == TimelineAction::Kind::kRestartZtunnel) {
      node(a.node, a.location, where);
      bool ambient = std::any_of(w.pods().begin(), w.pods().end(), [](const mesh::WorldPod& p) { return p.ambient && p.scheduled(); });
      if (!ambient)
        diags.push_back({mesh::Severity::kError, "MS0002", a.location, display, where,
                         "the mesh has no ambient pod, so no ztunnel runs (label a namespace or pod "
                         "istio.io/dataplane-mode=ambient)"});
    }
    if (a.kind == TimelineAction::Kind::kZoneDown || a.kind == TimelineAction::Kind::kZoneUp) {
      std::vector<std::string> zones;
      for (const auto& x : w.nodes())
        if (!x.locality.zone.empty() && std::find(zones.begin(), zones.end(), x.locality.zone) == zones.end())
          zones.push_back(x.locality.zone);
      if (std::find(zones.begin(), zones.end(), a.zone) == zones.end()) {
        std::string list;
        for (const auto& z : zones) list += (list.empty() ? "" : ", ") + z;
        diags.push_back({mesh::Severity::kError, "MS0002", a.location, display, where,
                         "no node in zone \"" + a.zone + "\"" + mesh::did_you_mean(a.zone, zones) +
                             " (zones, from the nodes' topology.kubernetes.io/zone: " + (list.empty() ? "none" : list) + ")"});
      }
    }
    for (const auto& n : a.a_nodes) node(n, a.location, where + ".a.nodes");
    for (const auto& n : a.b_nodes) node(n, a.location, where + ".b.nodes");
  }
  for (const auto& e : s.expectations) {
    if (e.kind == Expectation::Kind::kOutliers && !e.host.empty()) {
      pod(WorkloadRef{e.host}, e.location, "expect.outliers.host");
    }
    if (e.kind == Expectation::Kind::kCertificates || e.kind == Expectation::Kind::kProbes ||
        e.kind == Expectation::Kind::kSidecar || (e.kind == Expectation::Kind::kOutliers && !e.pod.empty())) {
      pod(WorkloadRef{e.pod}, e.location, std::string("expect.") + to_string(e.kind) + ".pod");
    }
  }
}

ScenarioLoad decode(std::shared_ptr<const mesh::YamlDocument> doc, const std::string& file, const std::string& base_dir,
                    std::vector<mesh::Diagnostic> diags, const ScenarioLoadOptions& options) {
  ScenarioLoad out;
  Scenario s;
  s.file = file;
  std::string display = "Scenario " + std::filesystem::path(file).filename().string();
  Decoder d(diags, display);
  d.set_strict_unknown_fields(options.strict);
  Ctx c{d, base_dir, doc, diags};
  PathSeg top;
  YamlNode root = doc->root();
  bool have_duration = false;
  bool mesh_errors = false;  // the initial mesh (mesh.manifests, mesh.objects) has errors
  YamlNode mesh_config_node;
  d.fields(root, top, {"apiVersion", "kind", "name", "description", "profile", "skip", "seed", "duration", "fingerprint", "mesh", "meshConfig", "network", "apps", "pki", "timeline", "expect"}, [&](std::string_view k, YamlNode v, const PathSeg& cp) {
    if (k == "apiVersion" || k == "kind") return true;
    if (k == "name") return d.str(v, cp, s.name), true;
    if (k == "description") return d.str(v, cp, s.description), true;
    if (k == "profile") return d.str(v, cp, s.profile), true;
    if (k == "skip") return d.str(v, cp, s.skip), true;
    if (k == "seed") {
      int64_t seed = 0;
      if (d.int64(v, cp, seed, 0, INT64_MAX)) s.seed = static_cast<uint64_t>(seed);
      return true;
    }
    if (k == "duration") return parse_duration_field(d, v, cp, s.duration, false), (have_duration = true), true;
    if (k == "fingerprint") {
      std::string f;
      if (d.str(v, cp, f)) {
        s.pinned_fingerprint = f;
        s.fingerprint_location = v.location();
      }
      return true;
    }
    if (k == "mesh") {
      size_t first = diags.size();
      d.fields(v, cp, {"manifests", "objects", "jwks"}, [&](std::string_view mk, YamlNode mv, const PathSeg& mp) {
        if (mk == "manifests") return parse_manifest_files(c, mv, mp, s.resources, &s.manifest_paths), true;
        if (mk == "objects") return parse_objects(c, mv, mp, s.resources), true;
        if (mk == "jwks") {
          // {URI: FILE}: the JWKS documents a RequestAuthentication's jwksUri
          // serves (meshsim never fetches them), relative to the scenario.
          d.fields(mv, mp, [&](std::string_view uri, YamlNode fv, const PathSeg& fpth) {
            std::string jwks_file;
            if (!d.str(fv, fpth, jwks_file)) return true;
            std::filesystem::path fp(jwks_file);
            if (fp.is_relative()) fp = std::filesystem::path(c.base_dir) / fp;
            std::ifstream in(fp);
            if (!in) {
              d.error(fv, fpth, "no such file or directory: " + fp.string());
              return true;
            }
            s.resources.jwks_documents[std::string(uri)] =
                std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
            return true;
          });
          return true;
        }
        return false;
      });
      for (size_t i = first; i < diags.size(); ++i) mesh_errors = mesh_errors || diags[i].severity == mesh::Severity::kError;
      return true;
    }
    if (k == "meshConfig") return (mesh_config_node = v), true;
    if (k == "network") return parse_network(c, v, cp, s.links), true;
    if (k == "apps") return d.items(v, cp, [&](YamlNode a, const PathSeg& ap) { parse_app(c, a, ap, s); }), true;
    if (k == "pki") return parse_pki(c, v, cp, s), true;
    if (k == "timeline") return parse_timeline(c, v, cp, s), true;
    if (k == "expect") return parse_expect(c, v, cp, s), true;
    return false;
  });
  if (s.name.empty()) d.error(root, top.child("name"), "required field is missing");
  if (!have_duration) d.error(root, top.child("duration"), "required field is missing (e.g. 60s)");
  s.mesh_config = mesh::resolve_mesh_config(s.resources, diags);
  if (mesh_config_node.valid()) {
    size_t first = diags.size();
    mesh::apply_mesh_config(mesh_config_node, display, s.mesh_config, diags);
    // meshConfig is part of the scenario: strict applies to its fields too.
    for (size_t i = first; options.strict && i < diags.size(); ++i) {
      mesh::Diagnostic& dg = diags[i];
      if (dg.code != "MS0003" || dg.severity != mesh::Severity::kWarning) continue;
      dg.severity = mesh::Severity::kError;
      for (const char* ignored : {"ignored; ", " (ignored)"}) {
        if (size_t at = dg.message.find(ignored); at != std::string::npos) dg.message.erase(at, std::strlen(ignored));
      }
    }
  }
  s.mesh_config_overlay = mesh_config_node;
  s.mesh_config.inject_namespaces.insert(options.inject_namespaces.begin(), options.inject_namespaces.end());
  // Pods and Services are fixed for the run; the timeline changes configuration.
  for (const auto& a : s.timeline) {
    if (a.kind != TimelineAction::Kind::kApply) continue;
    const auto& o = a.objects;
    if (!o.pods.empty() || !o.workloads.empty() || !o.services.empty() || !o.nodes.empty() || !o.namespaces.empty()) {
      diags.push_back({mesh::Severity::kError, "MS0002", a.location, display, "timeline",
                       "apply may change configuration (Istio resources, ConfigMaps, IstioOperator) but not "
                       "Namespaces, Nodes, Services or workloads — the pods and services are fixed for the run; "
                       "use killPod/restartPod for pod lifecycle"});
    }
  }
  for (const auto& a : s.timeline) {
    if (have_duration && a.at > s.duration) diags.push_back({mesh::Severity::kError, "MS0002", a.location, display, "timeline",
                                            "at " + format_duration(a.at) + " is after the end of the run (" +
                                                format_duration(s.duration) + ")"});
  }
  std::stable_sort(s.timeline.begin(), s.timeline.end(), [](const auto& x, const auto& y) { return x.at < y.at; });
  for (const auto& sv : s.servers) {
    if (sv.tls_certificate.empty()) continue;
    bool found = std::any_of(s.pki.begin(), s.pki.end(), [&](const PkiCertificate& pc) { return pc.name == sv.tls_certificate; });
    if (!found) {
      diags.push_back({mesh::Severity::kError, "MS0002", sv.location, display, "apps",
                       "server tls.certificate \"" + sv.tls_certificate + "\" is not a certificate of pki"});
    }
  }
  std::set<std::string> names;
  for (const auto& cl : s.clients) {
    if (!names.insert(cl.name).second) {
      diags.push_back({mesh::Severity::kError, "MS0002", cl.location, display, "apps", "duplicate client name \"" + cl.name + "\""});
    }
  }
  // References are checked against the mesh whenever the mesh itself loaded
  // cleanly, so that a typo in a field and a misspelt pod come out together.
  if (!mesh_errors) check_references(s, display, diags);
  s.documents.push_back(doc);
  out.diagnostics = std::move(diags);
  if (!mesh::has_errors(out.diagnostics)) out.scenario = std::move(s);
  return out;
}

}  // namespace

ScenarioLoad load_scenario_text(std::string_view text, const std::string& file_name, const std::string& base_dir,
                                const ScenarioLoadOptions& options) {
  const std::string* file = mesh::intern_file(file_name);
  std::vector<mesh::ParsedDocument> docs = mesh::parse_yaml_stream(text, file);
  std::vector<mesh::Diagnostic> diags;
  for (auto& pd : docs) {
    for (auto& e : pd.errors) diags.push_back(e);
  }
  if (docs.size() != 1 || !docs[0].doc) {
    if (docs.empty()) diags.push_back({mesh::Severity::kError, "MS0001", {file, 1, 1}, "", "", "the scenario file is empty"});
    else if (docs.size() > 1) diags.push_back({mesh::Severity::kError, "MS0001", {file, 1, 1}, "", "", "a scenario file holds exactly one YAML document"});
    ScenarioLoad out;
    out.diagnostics = std::move(diags);
    return out;
  }
  return decode(docs[0].doc, file_name, base_dir, std::move(diags), options);
}

ScenarioLoad load_scenario(const std::string& path, const ScenarioLoadOptions& options) {
  std::error_code ec;
  bool is_dir = std::filesystem::is_directory(path, ec);
  std::ifstream f;
  if (!is_dir) f.open(path, std::ios::binary);
  if (is_dir || !f) {
    int err = is_dir ? EISDIR : errno;
    ScenarioLoad out;
    out.diagnostics.push_back({mesh::Severity::kError, "MS0001", {mesh::intern_file(path), 0, 0}, "", "",
                               std::string("cannot read the scenario file: ") + std::strerror(err)});
    return out;
  }
  std::stringstream ss;
  ss << f.rdbuf();
  std::string base = std::filesystem::path(path).parent_path().string();
  if (base.empty()) base = ".";
  return load_scenario_text(ss.str(), path, base, options);
}

}  // namespace meshsim::sim
