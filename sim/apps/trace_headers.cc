#include "sim/apps/trace_headers.h"

#include <algorithm>
#include <array>
#include <cctype>

namespace meshsim::sim::apps {

namespace {

// details.rb get_forward_headers and LibertyRestEndpoint.java
// headers_to_propagate (docs/istio/telemetry.md §9), in source order.
constexpr std::array<std::string_view, 20> kBookinfoForwarded = {
    "x-request-id",  "x-ot-span-context", "x-datadog-trace-id", "x-datadog-parent-id", "x-datadog-sampling-priority",
    "traceparent",   "tracestate",        "x-cloud-trace-context", "grpc-trace-bin",   "x-b3-traceid",
    "x-b3-spanid",   "x-b3-parentspanid", "x-b3-sampled",       "x-b3-flags",          "sw8",
    "end-user",      "user-agent",        "cookie",             "authorization",       "jwt",
};

// productpage.py getForwardHeaders: incoming_headers (the x-b3-* entries are
// commented out there — "handled by opentelemetry above").
constexpr std::array<std::string_view, 14> kProductpageVerbatim = {
    "x-request-id", "x-ot-span-context",     "x-datadog-trace-id", "x-datadog-parent-id", "x-datadog-sampling-priority",
    "traceparent",  "tracestate",            "x-cloud-trace-context", "grpc-trace-bin",   "sw8",
    "user-agent",   "cookie",                "authorization",      "jwt",
};

std::string lower(std::string_view s) {
  std::string o(s);
  for (char& c : o) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return o;
}

bool all_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; });
}

bool contains(const std::vector<std::string>& v, std::string_view name) {
  return std::any_of(v.begin(), v.end(), [&](const std::string& x) { return proxy::http::iequals(x, name); });
}

// Python's str.split("-", 4): at most 5 fields.
std::vector<std::string_view> split_dash(std::string_view s) {
  std::vector<std::string_view> out;
  while (out.size() < 4) {
    size_t d = s.find('-');
    if (d == std::string_view::npos) break;
    out.push_back(s.substr(0, d));
    s.remove_prefix(d + 1);
  }
  out.push_back(s);
  return out;
}

}  // namespace

std::span<const std::string_view> bookinfo_forwarded_headers() { return kBookinfoForwarded; }
std::span<const std::string_view> productpage_verbatim_headers() { return kProductpageVerbatim; }

bool is_trace_context_header(std::string_view name) {
  if (proxy::http::iequals(name, "b3")) return true;
  return std::any_of(kBookinfoForwarded.begin(), kBookinfoForwarded.end(),
                     [&](std::string_view n) { return proxy::http::iequals(n, name); });
}

HeaderPropagation HeaderPropagation::none() { return {}; }

HeaderPropagation HeaderPropagation::all() {
  HeaderPropagation p;
  p.kind = Kind::kList;
  p.names.assign(kBookinfoForwarded.begin(), kBookinfoForwarded.end());
  p.text = "all";
  return p;
}

HeaderPropagation HeaderPropagation::productpage() {
  HeaderPropagation p;
  p.kind = Kind::kProductpage;
  p.text = "productpage";
  return p;
}

HeaderPropagation HeaderPropagation::list(std::vector<std::string> names) {
  HeaderPropagation p;
  p.kind = Kind::kList;
  p.text = "[";
  for (std::string& n : names) {
    n = lower(n);
    if (contains(p.names, n)) continue;
    if (p.text.size() > 1) p.text += ", ";
    p.text += n;
    p.names.push_back(std::move(n));
  }
  p.text += "]";
  return p;
}

std::optional<B3Injection> productpage_b3(const proxy::http::Headers& in) {
  std::string_view trace_id, span_id, sampled = "0";
  std::optional<std::string_view> flags;
  std::optional<std::string_view> single = in.get("b3");
  if (single && !single->empty()) {
    sampled = "1";  // B3 "deferred" is recorded as sampled by otel-py
    std::vector<std::string_view> f = split_dash(*single);
    if (f.size() == 1) {
      sampled = f[0];
    } else if (f.size() >= 2 && f.size() <= 4) {
      trace_id = f[0];
      span_id = f[1];
      if (f.size() >= 3) sampled = f[2];
    }
  } else {
    if (auto v = in.get("x-b3-traceid"); v && !v->empty()) trace_id = *v;
    if (auto v = in.get("x-b3-spanid"); v && !v->empty()) span_id = *v;
    if (auto v = in.get("x-b3-sampled"); v && !v->empty()) sampled = *v;
    if (auto v = in.get("x-b3-flags"); v && !v->empty()) flags = *v;
  }
  if ((trace_id.size() != 16 && trace_id.size() != 32) || !all_hex(trace_id)) return std::nullopt;
  if (span_id.size() != 16 || !all_hex(span_id)) return std::nullopt;
  B3Injection b;
  b.trace_id = std::string(32 - trace_id.size(), '0') + lower(trace_id);
  b.span_id = lower(span_id);
  bool on = sampled == "1" || sampled == "True" || sampled == "true" || sampled == "d" || (flags && *flags == "1");
  b.sampled = on ? "1" : "0";
  return b;
}

PropagatedHeaders propagate_headers(const HeaderPropagation& policy, const proxy::http::Headers& in) {
  PropagatedHeaders out;
  auto copy = [&](std::string_view name) {
    if (contains(out.forwarded, name)) return;
    if (auto v = in.get(name)) {
      out.headers.emplace_back(std::string(name), std::string(*v));
      out.forwarded.emplace_back(name);
    }
  };
  switch (policy.kind) {
    case HeaderPropagation::Kind::kNone: break;
    case HeaderPropagation::Kind::kList:
      for (const std::string& n : policy.names) copy(n);
      break;
    case HeaderPropagation::Kind::kProductpage:
      if (auto b3 = productpage_b3(in)) {
        out.headers.emplace_back("x-b3-traceid", b3->trace_id);
        out.headers.emplace_back("x-b3-spanid", b3->span_id);
        out.headers.emplace_back("x-b3-sampled", b3->sampled);
        out.forwarded.insert(out.forwarded.end(), {"x-b3-traceid", "x-b3-spanid", "x-b3-sampled"});
      }
      for (std::string_view n : kProductpageVerbatim) copy(n);
      break;
  }
  for (proxy::http::Headers::Field f : in) {
    bool counted = is_trace_context_header(f.name) ||
                   (policy.kind == HeaderPropagation::Kind::kList && contains(policy.names, f.name));
    if (!counted || contains(out.carried, f.name)) continue;
    out.carried.push_back(lower(f.name));
    if (!contains(out.forwarded, f.name)) out.dropped.push_back(lower(f.name));
  }
  return out;
}

}  // namespace meshsim::sim::apps
