#include "sim/scenario/trace_recorder.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "proxy/access_log.h"
#include "proxy/tracing/tracer.h"
#include "sim/net/pcap_writer.h"

namespace meshsim::sim {

namespace {

std::string hex16(uint64_t v) {
  char b[16];
  proxy::tracing::hex16(v, b);
  return std::string(b, 16);
}

int64_t epoch_us(int64_t virtual_ns) { return kCaptureEpochSeconds * 1'000'000 + virtual_ns / 1000; }

// The pod's workload-ish name for messages: "default/reviews-v2-5f6b7c-0" → "reviews-v2".
std::string short_pod(std::string_view pod) {
  size_t slash = pod.find('/');
  return std::string(slash == std::string_view::npos ? pod : pod.substr(slash + 1));
}

}  // namespace

std::string RecordedSpan::trace_id_hex() const {
  return trace_id_high ? hex16(trace_id_high) + hex16(trace_id) : hex16(trace_id);
}

void TraceRecorder::on_observation(const Observation& o) {
  if (const auto* s = std::get_if<SpanObservation>(&o.payload)) {
    const proxy::tracing::FinishedSpan& f = *s->span;
    RecordedSpan r;
    r.pod.assign(s->pod);
    r.trace_id_high = f.span.context.trace_id_high;
    r.trace_id = f.span.context.trace_id;
    r.span_id = f.span.context.span_id;
    r.parent_id = f.span.context.parent_id;
    r.has_parent = f.span.context.has_parent;
    r.sampled = f.span.context.sampled;
    r.client = f.span.client;
    r.name = f.span.name;
    r.start_ns = f.span.start.ns();
    r.end_ns = f.end.ns();
    r.service_name.assign(f.service_name);
    r.local_ip.assign(f.local_ip);
    if (keep_tags_) r.tags = f.tags;
    r.downstream_connection = s->downstream_connection;
    r.downstream_request = f.downstream_request;
    r.upstream_connection = s->upstream_connection;
    r.upstream_request = f.upstream_request;
    spans_.push_back(std::move(r));
    return;
  }
  if (const auto* a = std::get_if<AppOutcomeObservation>(&o.payload)) {
    if (a->protocol != "http" || a->connection == 0) return;
    ++outcome_ordinal_[a->connection];  // counted from the start: ordinals must match the sidecar's
    if (spans_.empty()) return;
    Outcome out;
    out.client.assign(a->client);
    out.target.assign(a->target);
    out.connection = a->connection;
    out.ordinal = outcome_ordinal_[a->connection];
    out.request_index = a->request_index;
    out.at_ns = o.time.ns() - a->latency_ns;
    outcomes_.push_back(std::move(out));
    return;
  }
  if (const auto* c = std::get_if<AppCallObservation>(&o.payload)) {
    if (spans_.empty()) return;
    AppCall call;
    call.pod.assign(c->pod);
    call.workload.assign(c->workload);
    call.target.assign(c->target);
    call.inbound_connection = c->inbound_connection;
    call.inbound_request = c->inbound_connection_request;
    call.outbound_connection = c->connection;
    call.outbound_request = c->connection_request;
    // Only the headers that carry trace context or the sampling decision.
    static constexpr std::string_view kContext[] = {
        "x-b3-traceid", "x-b3-spanid", "x-b3-parentspanid", "x-b3-sampled", "x-b3-flags", "b3", "traceparent",
        "tracestate", "x-request-id", "x-ot-span-context", "x-cloud-trace-context", "grpc-trace-bin", "sw8",
        "x-datadog-trace-id", "x-datadog-parent-id", "x-datadog-sampling-priority"};
    for (std::string_view want : kContext)
      for (std::string_view h : c->dropped)
        if (h == want) call.dropped.emplace_back(h);
    calls_.push_back(std::move(call));
    return;
  }
  if (const auto* l = std::get_if<AccessLogObservation>(&o.payload)) {
    if (spans_.empty()) return;
    const proxy::AccessLogEntry& e = *l->entry;
    if (e.http || e.direction != proxy::TrafficDirection::kInbound || l->downstream_connection == 0) return;
    std::string what = std::string(l->pod) + " received it on the TCP filter chain " + e.filter_chain;
    if (!e.filter_chain_description.empty()) what += " (" + e.filter_chain_description + ")";
    tcp_inbound_.emplace(l->downstream_connection, std::move(what));
  }
}

uint64_t TraceRecorder::sampled_spans() const {
  uint64_t n = 0;
  for (const RecordedSpan& s : spans_) n += s.sampled;
  return n;
}

TraceReport TraceRecorder::report(size_t keep) const {
  TraceReport rep;
  rep.spans = spans_.size();
  rep.sampled_spans = sampled_spans();
  // Joins by (connection, request ordinal on it).
  using Key = std::pair<uint64_t, uint64_t>;
  std::map<Key, size_t> by_downstream;  // a span by the request that reached its sidecar
  for (size_t i = 0; i < spans_.size(); ++i)
    if (spans_[i].downstream_connection) by_downstream.emplace(Key{spans_[i].downstream_connection, spans_[i].downstream_request}, i);
  std::map<Key, std::vector<size_t>> calls_by_inbound;  // calls an app made while serving a request
  for (size_t i = 0; i < calls_.size(); ++i)
    calls_by_inbound[Key{calls_[i].inbound_connection, calls_[i].inbound_request}].push_back(i);

  std::map<std::string, uint64_t> findings, outbound_only;
  std::vector<TraceTree> broken, whole;
  for (const Outcome& out : outcomes_) {
    auto first = by_downstream.find(Key{out.connection, out.ordinal});
    if (first == by_downstream.end()) continue;
    TraceTree t;
    t.client = out.client;
    t.target = out.target;
    t.request_index = out.request_index;
    t.at_ns = out.at_ns;
    // Walk the hops the request caused: span → (CLIENT) the server sidecar's
    // span of the same connection; (SERVER) the calls its app made, each
    // reaching its own client sidecar span.
    std::vector<std::pair<size_t, std::string>> stack = {{first->second, std::string()}};
    while (!stack.empty()) {
      auto [i, came_from] = stack.back();
      stack.pop_back();
      const RecordedSpan& s = spans_[i];
      ++t.spans;
      t.sampled_spans += s.sampled;
      t.sampled_any = t.sampled_any || s.sampled;
      std::string id = s.trace_id_hex();
      if (std::find(t.trace_ids.begin(), t.trace_ids.end(), id) == t.trace_ids.end()) t.trace_ids.push_back(id);
      if (!came_from.empty()) {
        t.breaks.push_back(came_from + ": new trace " + id);
        findings[came_from]++;
      }
      if (s.client) {
        if (s.upstream_connection == 0) continue;
        auto next = by_downstream.find(Key{s.upstream_connection, s.upstream_request});
        if (next != by_downstream.end()) {
          stack.push_back({next->second, std::string()});
        } else if (auto tcp = tcp_inbound_.find(s.upstream_connection); tcp != tcp_inbound_.end()) {
          std::string f = "spans only on the outbound side of " + s.name + ": " + tcp->second;
          outbound_only[f]++;
        }
        continue;
      }
      auto calls = calls_by_inbound.find(Key{s.upstream_connection, s.upstream_request});
      if (calls == calls_by_inbound.end()) continue;
      for (auto it = calls->second.rbegin(); it != calls->second.rend(); ++it) {
        const AppCall& c = calls_[*it];
        auto next = by_downstream.find(Key{c.outbound_connection, c.outbound_request});
        if (next == by_downstream.end()) continue;
        const RecordedSpan& n = spans_[next->second];
        std::string why;
        if (n.trace_id != s.trace_id || n.trace_id_high != s.trace_id_high) {
          why = (c.workload.empty() ? short_pod(c.pod) : c.workload) + " (" + c.pod + ") did not forward ";
          if (c.dropped.empty()) {
            why += "the trace context";
          } else {
            for (size_t k = 0; k < c.dropped.size(); ++k) why += (k ? ", " : "") + c.dropped[k];
          }
          why += " to " + c.target;
        }
        stack.push_back({next->second, why});
      }
    }
    ++rep.user_requests;
    rep.all.push_back({t.client, t.at_ns, static_cast<uint32_t>(t.spans), t.sampled_spans,
                       static_cast<uint32_t>(t.trace_ids.size())});
    if (t.trace_ids.size() > 1) {
      ++rep.broken;
      if (broken.size() < keep) broken.push_back(std::move(t));
    } else if (whole.size() < keep) {
      whole.push_back(std::move(t));
    }
  }
  rep.trees = std::move(broken);
  for (auto& t : whole) {
    if (rep.trees.size() >= keep) break;
    rep.trees.push_back(std::move(t));
  }
  rep.findings.assign(findings.begin(), findings.end());
  rep.outbound_only.assign(outbound_only.begin(), outbound_only.end());
  auto by_count = [](const auto& a, const auto& b) { return a.second != b.second ? a.second > b.second : a.first < b.first; };
  std::sort(rep.findings.begin(), rep.findings.end(), by_count);
  std::sort(rep.outbound_only.begin(), rep.outbound_only.end(), by_count);
  return rep;
}

std::string TraceRecorder::zipkin_json() const {
  // JsonV2Serializer: one object per span, Envoy's field order.
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const RecordedSpan& s : spans_) {
    if (!s.sampled) continue;
    nlohmann::ordered_json j;
    j["traceId"] = s.trace_id_hex();
    if (s.has_parent) j["parentId"] = hex16(s.parent_id);
    j["id"] = hex16(s.span_id);
    if (!s.name.empty()) j["name"] = s.name;
    j["kind"] = s.client ? "CLIENT" : "SERVER";
    j["timestamp"] = epoch_us(s.start_ns);
    // The schema wants >= 1 µs (Envoy may write 0 for a sub-µs span).
    j["duration"] = std::max<int64_t>(1, (s.end_ns - s.start_ns) / 1000);
    nlohmann::ordered_json ep;
    if (!s.local_ip.empty()) ep["ipv4"] = s.local_ip;
    ep["port"] = 0;
    if (!s.service_name.empty()) ep["serviceName"] = s.service_name;
    j["localEndpoint"] = std::move(ep);
    j["annotations"] = nlohmann::ordered_json::array(
        {{{"timestamp", epoch_us(s.end_ns)}, {"value", s.client ? "cr" : "ss"}}});
    nlohmann::ordered_json tags = nlohmann::ordered_json::object();
    for (const auto& [k, v] : s.tags) tags[k] = v;
    j["tags"] = std::move(tags);
    list.push_back(std::move(j));
  }
  return list.dump() + "\n";
}

std::string TraceRecorder::otlp_json() const {
  // ExportTraceServiceRequest: one resourceSpans per service.
  std::map<std::string, std::vector<const RecordedSpan*>> by_service;
  for (const RecordedSpan& s : spans_)
    if (s.sampled) by_service[s.service_name].push_back(&s);
  nlohmann::ordered_json rs = nlohmann::ordered_json::array();
  for (const auto& [service, spans] : by_service) {
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const RecordedSpan* s : spans) {
      nlohmann::ordered_json j;
      j["traceId"] = hex16(s->trace_id_high) + hex16(s->trace_id);
      j["spanId"] = hex16(s->span_id);
      if (s->has_parent) j["parentSpanId"] = hex16(s->parent_id);
      j["name"] = s->name;
      j["kind"] = s->client ? 3 : 2;  // SPAN_KIND_CLIENT = 3, SPAN_KIND_SERVER = 2
      j["startTimeUnixNano"] = std::to_string((kCaptureEpochSeconds * 1'000'000'000LL) + s->start_ns);
      j["endTimeUnixNano"] = std::to_string((kCaptureEpochSeconds * 1'000'000'000LL) + s->end_ns);
      nlohmann::ordered_json attrs = nlohmann::ordered_json::array();
      for (const auto& [k, v] : s->tags) attrs.push_back({{"key", k}, {"value", {{"stringValue", v}}}});
      j["attributes"] = std::move(attrs);
      list.push_back(std::move(j));
    }
    nlohmann::ordered_json res;
    res["resource"] = {{"attributes", nlohmann::ordered_json::array({{{"key", "service.name"}, {"value", {{"stringValue", service}}}}})}};
    res["scopeSpans"] = nlohmann::ordered_json::array({{{"scope", {{"name", "envoy"}}}, {"spans", std::move(list)}}});
    rs.push_back(std::move(res));
  }
  nlohmann::ordered_json root;
  root["resourceSpans"] = std::move(rs);
  return root.dump() + "\n";
}

Status TraceRecorder::write(const std::string& path) const {
  std::string body = format_ == Format::kOtlp ? otlp_json() : zipkin_json();
  std::string tmp = path + ".partial";
  std::ofstream f(tmp, std::ios::binary);
  f << body;
  f.close();
  if (!f || std::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    std::remove(tmp.c_str());
    return Error{"--trace: cannot write " + path + ": " + std::strerror(err)};
  }
  return {};
}

}  // namespace meshsim::sim
