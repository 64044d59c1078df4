#include "proxy/prometheus_text.h"

#include <algorithm>
#include <charconv>
#include <vector>

namespace meshsim::proxy {

namespace {

struct FamilyInfo {
  std::string_view name, type, help;
};

FamilyInfo info(MetricFamily f) {
  switch (f) {
    case MetricFamily::kRequestsTotal:
      return {"istio_requests_total", "counter", "Requests handled by an Istio proxy (meshsim)."};
    case MetricFamily::kTcpConnectionsClosed:
      return {"istio_tcp_connections_closed_total", "counter", "TCP connections closed (meshsim)."};
    case MetricFamily::kTcpConnectionsOpened:
      return {"istio_tcp_connections_opened_total", "counter", "TCP connections opened (meshsim)."};
    case MetricFamily::kTcpReceivedBytes:
      return {"istio_tcp_received_bytes_total", "counter", "Bytes received from the downstream of TCP connections (meshsim)."};
    case MetricFamily::kTcpSentBytes:
      return {"istio_tcp_sent_bytes_total", "counter", "Bytes sent to the downstream of TCP connections (meshsim)."};
    case MetricFamily::kBuild:
      return {"istio_build", "gauge", "Istio component build info (meshsim)."};
    case MetricFamily::kRequestBytes:
      return {"istio_request_bytes", "histogram", "HTTP request sizes on the wire, headers and body (meshsim)."};
    case MetricFamily::kRequestDuration:
      return {"istio_request_duration_milliseconds", "histogram", "HTTP request durations in whole ms (meshsim)."};
    case MetricFamily::kResponseBytes:
      return {"istio_response_bytes", "histogram", "HTTP response sizes on the wire, headers and body (meshsim)."};
  }
  return {};
}

bool is_http(MetricFamily f) {
  return f == MetricFamily::kRequestsTotal || f == MetricFamily::kRequestBytes ||
         f == MetricFamily::kRequestDuration || f == MetricFamily::kResponseBytes;
}

void append_uint(uint64_t v, std::string& out) {
  char b[24];
  auto [e, ec] = std::to_chars(b, b + sizeof b, v);
  (void)ec;
  out.append(b, static_cast<size_t>(e - b));
}

// Envoy's {:.32g}: printf %.32g (shortest for the bounds Istio uses).
void append_double(double v, std::string& out) {
  char b[64];
  auto [e, ec] = std::to_chars(b, b + sizeof b, v, std::chars_format::general, 32);
  if (ec != std::errc()) {
    out.append("NaN");
    return;
  }
  out.append(b, static_cast<size_t>(e - b));
}

// `{<labels>[,<extra>]` — the closing brace is the caller's (buckets add le).
void open_labels(std::string_view labels, std::string_view extra, std::string& out) {
  out.push_back('{');
  out.append(labels);
  if (!extra.empty()) {
    if (!labels.empty()) out.push_back(',');
    out.append(extra);
  }
}

void end_sample(std::string& out, const int64_t* ts) {
  if (ts) {
    out.push_back(' ');
    char b[24];
    auto [e, ec] = std::to_chars(b, b + sizeof b, *ts);
    (void)ec;
    out.append(b, static_cast<size_t>(e - b));
  }
  out.push_back('\n');
}

template <typename Series>
std::vector<const Series*> sorted(const std::vector<std::unique_ptr<Series>>& all) {
  std::vector<const Series*> v;
  v.reserve(all.size());
  for (const auto& s : all) v.push_back(s.get());
  std::sort(v.begin(), v.end(), [](const Series* a, const Series* b) { return a->labels < b->labels; });
  return v;
}

void write_histogram(std::string_view name, const Histogram& h, std::string_view labels, std::string_view extra,
                     const std::vector<std::string>& bounds, std::string& out, const int64_t* ts) {
  uint64_t cumulative = 0;
  for (size_t i = 0; i < bounds.size(); ++i) {
    cumulative += h.counts[i];
    out.append(name).append("_bucket");
    open_labels(labels, extra, out);
    if (!labels.empty() || !extra.empty()) out.push_back(',');
    out.append("le=\"").append(bounds[i]).append("\"} ");
    append_uint(cumulative, out);
    end_sample(out, ts);
  }
  out.append(name).append("_bucket");
  open_labels(labels, extra, out);
  if (!labels.empty() || !extra.empty()) out.push_back(',');
  out.append("le=\"+Inf\"} ");
  append_uint(h.count, out);
  end_sample(out, ts);
  out.append(name).append("_sum");
  open_labels(labels, extra, out);
  out.append("} ");
  append_double(h.sum, out);
  end_sample(out, ts);
  out.append(name).append("_count");
  open_labels(labels, extra, out);
  out.append("} ");
  append_uint(h.count, out);
  end_sample(out, ts);
}

}  // namespace

std::string_view family_name(MetricFamily f) { return info(f).name; }

bool family_present(MetricFamily f, std::span<const MetricsSource> sources) {
  for (const MetricsSource& s : sources) {
    if (!s.metrics) continue;
    if (f == MetricFamily::kBuild) return true;
    if (is_http(f) ? !s.metrics->http_series().empty() : !s.metrics->tcp_series().empty()) return true;
  }
  return false;
}

void write_family_header(MetricFamily f, std::string& out, bool help) {
  FamilyInfo i = info(f);
  if (help) out.append("# HELP ").append(i.name).append(" ").append(i.help).push_back('\n');
  out.append("# TYPE ").append(i.name).append(" ").append(i.type).push_back('\n');
}

void write_family_samples(MetricFamily f, std::span<const MetricsSource> sources, std::string& out,
                          const int64_t* ts) {
  std::string_view name = info(f).name;
  for (const MetricsSource& src : sources) {
    if (!src.metrics) continue;
    const IstioMetrics& m = *src.metrics;
    std::string_view extra = src.extra_labels;
    if (f == MetricFamily::kBuild) {
      out.append(name);
      out.append("{component=\"proxy\",tag=\"");
      append_escaped_label_value(m.istio_version(), out);
      out.push_back('"');
      if (!extra.empty()) out.append(",").append(extra);
      out.append("} 1");
      end_sample(out, ts);
      continue;
    }
    if (is_http(f)) {
      if (m.http_series().empty()) continue;
      std::vector<std::string> bounds;
      if (f != MetricFamily::kRequestsTotal) {
        bounds.reserve(m.buckets().size());
        for (double b : m.buckets()) {
          std::string s;
          append_double(b, s);
          bounds.push_back(std::move(s));
        }
      }
      for (const IstioMetrics::HttpSeries* s : sorted(m.http_series())) {
        switch (f) {
          case MetricFamily::kRequestsTotal:
            out.append(name);
            open_labels(s->labels, extra, out);
            out.append("} ");
            append_uint(s->requests, out);
            end_sample(out, ts);
            break;
          case MetricFamily::kRequestBytes: write_histogram(name, s->request_bytes, s->labels, extra, bounds, out, ts); break;
          case MetricFamily::kRequestDuration: write_histogram(name, s->duration_ms, s->labels, extra, bounds, out, ts); break;
          case MetricFamily::kResponseBytes: write_histogram(name, s->response_bytes, s->labels, extra, bounds, out, ts); break;
          default: break;
        }
      }
      continue;
    }
    for (const IstioMetrics::TcpSeries* s : sorted(m.tcp_series())) {
      uint64_t v = 0;
      switch (f) {
        case MetricFamily::kTcpConnectionsClosed: v = s->closed; break;
        case MetricFamily::kTcpConnectionsOpened: v = s->opened; break;
        case MetricFamily::kTcpReceivedBytes: v = s->received_bytes; break;
        case MetricFamily::kTcpSentBytes: v = s->sent_bytes; break;
        default: break;
      }
      out.append(name);
      open_labels(s->labels, extra, out);
      out.append("} ");
      append_uint(v, out);
      end_sample(out, ts);
    }
  }
}

void write_prometheus(std::span<const MetricsSource> sources, std::string& out, bool help) {
  for (MetricFamily f : kAllFamilies) {
    if (!family_present(f, sources)) continue;
    write_family_header(f, out, help);
    write_family_samples(f, sources, out);
  }
}

}  // namespace meshsim::proxy
