#include "sim/runtime/event_log.h"

#include <cinttypes>
#include <nlohmann/json.hpp>

#include "proxy/access_log.h"
#include "proxy/tracing/tracer.h"

namespace meshsim::sim {

namespace {

std::string hex_prefix(std::span<const uint8_t> b, size_t max = 32) {
  static const char* d = "0123456789abcdef";
  std::string o;
  for (size_t i = 0; i < b.size() && i < max; ++i) {
    o.push_back(d[b[i] >> 4]);
    o.push_back(d[b[i] & 15]);
  }
  return o;
}

void put_tls(nlohmann::ordered_json& j, const char* key, const proxy::SecurityInfo& s) {
  if (!s.tls) return;
  nlohmann::ordered_json t;
  t["handshake"] = s.handshake_complete;
  if (!s.version.empty()) t["version"] = s.version;
  if (!s.alpn.empty()) t["alpn"] = s.alpn;
  if (!s.sni.empty()) t["sni"] = s.sni;
  if (!s.peer_principal().empty()) t["peer"] = s.peer_principal();
  if (s.resumed) t["resumed"] = true;
  if (!s.failure_reason.empty()) t["failure"] = s.failure_reason;
  j[key] = t;
}

}  // namespace

Result<std::unique_ptr<EventLog>> EventLog::open(const std::string& path, Simulator& sim) {
  std::unique_ptr<EventLog> l(new EventLog(path, sim));
  l->f_ = std::fopen((path + ".partial").c_str(), "wb");
  if (!l->f_) return Error{"--events: cannot write " + path};
  l->token_ = sim.subscribe([p = l.get()](const Observation& o) { p->write(o); });
  return l;
}

EventLog::EventLog(std::string path, Simulator& sim) : path_(std::move(path)), sim_(sim) {}

EventLog::~EventLog() {
  if (!done_) abandon();
}

Status EventLog::finish() {
  if (done_) return Status::Ok();
  done_ = true;
  sim_.unsubscribe(token_);
  bool ok = std::fclose(f_) == 0;
  f_ = nullptr;
  if (!ok || std::rename((path_ + ".partial").c_str(), path_.c_str()) != 0) {
    std::remove((path_ + ".partial").c_str());
    return Error{"--events: cannot write " + path_};
  }
  return Status::Ok();
}

void EventLog::abandon() {
  if (done_) return;
  done_ = true;
  sim_.unsubscribe(token_);
  if (f_) std::fclose(f_);
  f_ = nullptr;
  std::remove((path_ + ".partial").c_str());
}

void EventLog::write(const Observation& o) {
  nlohmann::ordered_json j;
  j["t_ns"] = o.time.ns();
  j["t"] = format_duration(o.time);
  j["actor"] = std::string(sim_.actor_name(o.actor));
  j["kind"] = std::string(sim_.kind_name(o.kind));
  char digest[20];
  std::snprintf(digest, sizeof digest, "%016" PRIx64, o.digest);
  j["digest"] = digest;
  std::visit(
      [&](const auto& p) {
        using T = std::decay_t<decltype(p)>;
        if constexpr (std::is_same_v<T, Note>) {
          j["note"] = std::string(p.text);
        } else if constexpr (std::is_same_v<T, TcpConnectionObservation>) {
          j["event"] = to_string(p.event);
          j["connection"] = p.connection;
          j["side"] = p.client_side ? "client" : "server";
          j["local"] = to_string(p.local);
          j["remote"] = to_string(p.remote);
          if (p.redirected) j["original_dst"] = to_string(p.original_dst);
        } else if constexpr (std::is_same_v<T, TcpDataObservation>) {
          j["connection"] = p.connection;
          j["direction"] = p.to_client ? "to_client" : "to_server";
          j["offset"] = p.stream_offset;
          j["bytes"] = p.bytes.size();
          j["head"] = hex_prefix(p.bytes);
        } else if constexpr (std::is_same_v<T, TcpSegmentObservation>) {
          j["connection"] = p.connection;
          j["point"] = p.point == TcpSegmentObservation::Point::kDeparted ? "departed" : "arrived";
          j["from_client"] = p.from_client;
          j["flags"] = p.flags;
          j["seq"] = p.seq;
          j["ack"] = p.ack;
          j["len"] = p.payload.size();
          if (p.lost) j["lost"] = true;
          if (p.retransmission) j["retransmission"] = true;
        } else if constexpr (std::is_same_v<T, NodeStateObservation>) {
          j["node"] = std::string(p.name);
          j["up"] = p.up;
        } else if constexpr (std::is_same_v<T, PartitionObservation>) {
          j["partition"] = p.partition;
          j["active"] = p.active;
        } else if constexpr (std::is_same_v<T, KeyLogLine>) {
          j["keylog"] = std::string(p.line.substr(0, p.line.find(' ')));
        } else if constexpr (std::is_same_v<T, AccessLogObservation>) {
          const proxy::AccessLogEntry& e = *p.entry;
          j["pod"] = std::string(p.pod);
          j["direction"] = e.direction == proxy::TrafficDirection::kInbound ? "inbound" : "outbound";
          j["listener"] = e.listener;
          j["filter_chain"] = e.filter_chain;
          if (e.http) {
            j["method"] = e.method;
            j["path"] = e.path;
            j["authority"] = e.authority;
            j["code"] = e.response_code;
            j["details"] = e.response_code_details;
            j["route"] = e.route;
            if (!e.mirrored_to.empty()) j["mirrored_to"] = e.mirrored_to;
          } else {
            j["details"] = e.connection_termination_details;
          }
          j["cluster"] = e.cluster;
          j["upstream_host"] = e.upstream_host;
          j["flags"] = e.response_flags;
          j["downstream"] = to_string(e.downstream_remote);
          j["duration_ns"] = e.duration.ns();
          if (!e.upstream_transport_failure_reason.empty()) j["transport_failure"] = e.upstream_transport_failure_reason;
          put_tls(j, "downstream_tls", e.downstream_tls);
          put_tls(j, "upstream_tls", e.upstream_tls);
          if (!e.rbac.empty()) {
            nlohmann::ordered_json a = nlohmann::ordered_json::array();
            for (const auto& v : e.rbac)
              a.push_back({{"filter", v.filter}, {"action", v.istio_action}, {"shadow", v.shadow}, {"denied", v.denied},
                           {"policy", v.policy}, {"reasons", v.reasons}});
            j["rbac"] = a;
          }
        } else if constexpr (std::is_same_v<T, AppOutcomeObservation>) {
          j["client"] = std::string(p.client);
          j["target"] = std::string(p.target);
          j["protocol"] = std::string(p.protocol);
          j["outcome"] = to_string(p.outcome);
          if (p.http_status) j["status"] = p.http_status;
          if (p.grpc_status >= 0) j["grpc_status"] = p.grpc_status;
          if (!p.error.empty()) j["error"] = std::string(p.error);
          j["latency_ns"] = p.latency_ns;
          j["connection"] = p.connection;
        } else if constexpr (std::is_same_v<T, AppCallObservation>) {
          auto names = [](std::span<const std::string_view> v) {
            nlohmann::ordered_json a = nlohmann::ordered_json::array();
            for (std::string_view n : v) a.push_back(std::string(n));
            return a;
          };
          j["pod"] = std::string(p.pod);
          j["workload"] = std::string(p.workload);
          j["port"] = p.server_port;
          j["inbound_request"] = p.inbound_request;
          j["inbound_method"] = std::string(p.inbound_method);
          j["inbound_path"] = std::string(p.inbound_path);
          j["inbound_request_id"] = std::string(p.inbound_request_id);
          j["target"] = std::string(p.target);
          j["path"] = std::string(p.path);
          j["call"] = p.call_index;
          j["attempt"] = p.attempt;
          j["propagation"] = std::string(p.propagation);
          j["carried"] = names(p.carried);
          j["forwarded"] = names(p.forwarded);
          j["dropped"] = names(p.dropped);
          j["outcome"] = to_string(p.outcome);
          if (p.http_status) j["status"] = p.http_status;
          if (!p.error.empty()) j["error"] = std::string(p.error);
          j["latency_ns"] = p.latency_ns;
          j["connection"] = p.connection;
          if (!p.local.empty()) j["local"] = std::string(p.local);
        } else if constexpr (std::is_same_v<T, ConfigPushObservation>) {
          j["pod"] = std::string(p.pod);
          j["version"] = std::string(p.version);
        } else if constexpr (std::is_same_v<T, TraceFindingObservation>) {
          j["finding_kind"] = p.kind == TraceFindingObservation::Kind::kOutboundOnly ? "outbound_only" : "broken_propagation";
          j["finding"] = std::string(p.finding);
          j["count"] = p.count;
        } else if constexpr (std::is_same_v<T, SpanObservation>) {
          const proxy::tracing::FinishedSpan& f = *p.span;
          const proxy::tracing::SpanContext& c = f.span.context;
          char id[33];
          j["pod"] = std::string(p.pod);
          if (c.trace_id_high) {
            std::snprintf(id, sizeof id, "%016" PRIx64 "%016" PRIx64, c.trace_id_high, c.trace_id);
          } else {
            std::snprintf(id, sizeof id, "%016" PRIx64, c.trace_id);
          }
          j["trace_id"] = id;
          std::snprintf(id, sizeof id, "%016" PRIx64, c.span_id);
          j["span_id"] = id;
          if (c.has_parent) {
            std::snprintf(id, sizeof id, "%016" PRIx64, c.parent_id);
            j["parent_id"] = id;
          }
          j["span_kind"] = f.span.client ? "CLIENT" : "SERVER";
          j["name"] = f.span.name;
          j["sampled"] = c.sampled;
          j["decision"] = std::string(proxy::tracing::to_string(f.span.reason));
          j["duration_ns"] = (f.end - f.span.start).ns();
          j["downstream_connection"] = p.downstream_connection;
          if (p.upstream_connection) j["upstream_connection"] = p.upstream_connection;
        } else if constexpr (std::is_same_v<T, OutlierObservation>) {
          j["pod"] = std::string(p.pod);
          j["cluster"] = std::string(p.cluster);
          j["action"] = to_string(p.action);
          j["host"] = std::string(p.host);
          if (!p.hostname.empty()) j["hostname"] = std::string(p.hostname);
          j["type"] = std::string(p.type);
          j["enforced"] = p.enforced;
          j["num_ejections"] = p.num_ejections;
          if (p.action == OutlierObservation::Action::kEject && p.enforced) j["ejection_time_ns"] = p.ejection_time_ns;
          if (p.action == OutlierObservation::Action::kUneject) j["ejected_for_ns"] = p.ejected_for_ns;
          j["ejections_active"] = p.ejections_active;
          j["hosts"] = p.hosts;
          j["max_ejection_percent"] = p.max_ejection_percent;
        } else if constexpr (std::is_same_v<T, PriorityLoadObservation>) {
          j["pod"] = std::string(p.pod);
          j["cluster"] = std::string(p.cluster);
          j["load"] = std::vector<uint32_t>(p.load.begin(), p.load.end());
          j["hosts"] = std::vector<uint32_t>(p.hosts.begin(), p.hosts.end());
          j["healthy"] = std::vector<uint32_t>(p.healthy.begin(), p.healthy.end());
          std::vector<bool> panic;
          for (uint8_t x : p.panic) panic.push_back(x != 0);
          j["panic"] = panic;
          j["total_panic"] = p.total_panic;
        } else if constexpr (std::is_same_v<T, PodHealthObservation>) {
          j["pod"] = std::string(p.pod);
          j["container"] = std::string(p.container);
          j["probe"] = std::string(p.probe);
          j["event"] = to_string(p.event);
          j["consecutive"] = p.consecutive;
          if (!p.last_error.empty()) j["last_error"] = std::string(p.last_error);
        } else if constexpr (std::is_same_v<T, ZtunnelObservation>) {
          j["ztunnel"] = std::string(p.ztunnel);
          j["node"] = std::string(p.node);
          j["event"] = to_string(p.event);
          if (!p.pod.empty()) j["pod"] = std::string(p.pod);
          if (!p.protocol.empty()) j["protocol"] = std::string(p.protocol);
          if (!p.peer.empty()) j["peer"] = std::string(p.peer);
          if (!p.identity.empty()) j["identity"] = std::string(p.identity);
          if (!p.detail.empty()) j["detail"] = std::string(p.detail);
          if (p.connection) j["connection"] = p.connection;
        } else if constexpr (std::is_same_v<T, RequestVerdictObservation>) {
          j["source"] = p.source == RequestVerdictObservation::Source::kClient ? "client" : "call";
          if (!p.client.empty()) j["client"] = std::string(p.client);
          j["from"] = std::string(p.from);
          j["target"] = std::string(p.target);
          j["protocol"] = std::string(p.protocol);
          j["outcome"] = to_string(p.outcome);
          if (p.http_status) j["status"] = p.http_status;
          if (!p.error.empty()) j["error"] = std::string(p.error);
          j["latency_ns"] = p.latency_ns;
          j["end_ns"] = p.end_ns;
          j["connection"] = p.connection;
          j["wire"] = to_string(p.wire);
          if (p.transition != RequestVerdictObservation::Transition::kNone) j["transition"] = to_string(p.transition);
          if (!p.why.empty()) j["why"] = std::string(p.why);
        } else if constexpr (std::is_same_v<T, ScenarioActionObservation>) {
          j["name"] = std::string(p.name);
          j["category"] = p.category == ScenarioActionObservation::Category::kConfig ? "config" : "fault";
          nlohmann::ordered_json d = nlohmann::ordered_json::array();
          for (const std::string& line : p.details) d.push_back(line);
          j["details"] = d;
        } else if constexpr (std::is_same_v<T, CertificateObservation>) {
          j["pod"] = std::string(p.pod);
          j["spiffe"] = std::string(p.spiffe_id);
          j["not_before_ns"] = p.not_before_ns;
          j["not_after_ns"] = p.not_after_ns;
          j["rotation"] = p.rotation;
        }
      },
      o.payload);
  std::string line = j.dump();
  line.push_back('\n');
  std::fwrite(line.data(), 1, line.size(), f_);
  ++lines_;
}

}  // namespace meshsim::sim
