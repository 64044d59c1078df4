#include "real/pod_proxy.h"

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "mesh/control_plane.h"
#include "mesh/mesh_config.h"
#include "proxy/asio/event_loop.h"
#include "proxy/prometheus_text.h"
#include "proxy/tls/certificates.h"
#include "proxy/tls_transport.h"
#include "sim/runtime/gateway_secrets.h"
#include "sim/runtime/proxy_config_render.h"

namespace meshsim::real {

using proxy::asio::EventLoop;
using proxy::asio::HttpServerRequest;
using proxy::asio::HttpServerResponse;

namespace {

// Wall time as Envoy's %START_TIME% prints it (RFC 3339, milliseconds, UTC).
std::string wall_rfc3339_ms() {
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

Status write_file(const std::filesystem::path& p, const std::string& text, bool secret) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  if (!f) return Error{"cannot write " + p.string()};
  f << text;
  f.close();
  if (!f) return Error{"cannot write " + p.string()};
  if (secret) std::filesystem::permissions(p, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  return Status::Ok();
}

}  // namespace

struct PodProxy::Sinks final : proxy::AccessLogSink {
  explicit Sinks(std::function<void(const std::string&)> log) : transport(secrets), log_line(std::move(log)) {}
  proxy::SecretStore secrets;
  proxy::TlsTransportFactory transport;
  std::function<void(const std::string&)> log_line;
  void on_access_log(const proxy::AccessLogEntry& e) override {
    if (log_line) log_line(proxy::istio_text_access_log(e, wall_rfc3339_ms()));
  }
  bool wants_details() const override { return static_cast<bool>(log_line); }
};

PodProxy::PodProxy(EventLoop& loop, std::shared_ptr<const mesh::World> world, const mesh::WorldPod& pod,
                   tls::CertificateAuthority& ca, PodProxyOptions options)
    : loop_(loop),
      world_(std::move(world)),
      pod_(pod),
      ca_(ca),
      options_(std::move(options)),
      name_(pod.namespace_ + "/" + pod.name),
      spiffe_(pod.spiffe_id(world_->mesh_config().trust_domain)),
      sinks_(std::make_unique<Sinks>(options_.access_log)) {
  proxy::asio::AsioHostOptions ho;
  ho.sidecar.name = pod.name + "." + pod.namespace_;
  ho.sidecar.transport = &sinks_->transport;
  ho.sidecar.access_log = sinks_.get();
  ho.sidecar.node_id = mesh::sidecar_node_id(pod, world_->mesh_config());
  ho.upstream_map = options_.upstream_map;
  ho.seed = options_.seed;
  ho.place = options_.place;
  host_ = std::make_unique<proxy::asio::AsioHost>(loop, std::move(ho));
}

PodProxy::~PodProxy() = default;

Status PodProxy::start() {
  // pilot-agent: the workload certificate (SDS "default") and the mesh root
  // (SDS "ROOTCA"), valid from now for the workload TTL in wall time.
  sinks_->secrets.set_roots({ca_.root()});
  issue_certificate(false);
  config_ = mesh::build_sidecar_config(*world_, pod_);
  host_->sidecar().apply_config(config_);
  ports_.clear();
  std::vector<proxy::asio::ListenSpec> specs = options_.listeners;
  if (options_.router_listen) {
    if (Status st = sim::install_gateway_secrets(*config_, *world_, pod_.namespace_, sinks_->secrets); !st.ok())
      return Error{name_ + ": " + st.message()};
    for (const proxy::Listener& l : config_->listeners)
      if (l.bind_to_port && !l.use_original_dst) specs.push_back(options_.router_listen(l.address.port));
  }
  for (const auto& spec : specs) {
    auto port = host_->listen(spec);
    if (!port.ok()) return Error{name_ + ": " + port.message()};
    ports_.push_back(*port);
    listened_.push_back(spec);
    listened_.back().bind.port = *port;
  }
  return Status::Ok();
}

void PodProxy::issue_certificate(bool rotation) {
  Duration now = EventLoop::wall_since_epoch();
  ttl_ = mesh::workload_cert_ttl(world_->mesh_config(), pod_.proxy_metadata);
  sinks_->secrets.set_identity(ca_.issue_workload(world_->mesh_config().trust_domain, pod_.namespace_,
                                                  pod_.service_account, now - Duration::minutes(1), now + ttl_));
  ++issued_;
  if (rotation) {
    const auto& id = sinks_->secrets.identity();
    std::fprintf(stderr, "meshsim proxy: %s: workload certificate renewed (serial %s, valid %s)\n", name_.c_str(),
                 id ? id->certificate.info().serial_hex.c_str() : "?", format_duration(ttl_).c_str());
    if (!certs_dir_.empty()) {
      if (Status s = write_certs(certs_dir_); !s.ok()) std::fprintf(stderr, "meshsim proxy: %s\n", s.message().c_str());
    }
  }
  // Renew when the remaining lifetime drops under the grace ratio (± jitter),
  // as pilot-agent does; the jitter is drawn from the pod's own stream.
  double u = static_cast<double>(host_->random() >> 11) / static_cast<double>(1ull << 53);
  double ratio = mesh::kSecretGracePeriodRatio + (2 * u - 1) * mesh::kSecretGracePeriodRatioJitter;
  Duration wait = scale(ttl_, 1.0 - ratio);
  loop_.after(wait, [this, guard = std::weak_ptr<int>(alive_)] {
    if (!guard.expired() && !draining_) issue_certificate(true);
  });
}

size_t PodProxy::open_connections() const { return host_->sidecar().open_connections(); }

void PodProxy::drain() {
  draining_ = true;
  host_->close_listeners();
}

Status PodProxy::write_certs(const std::string& dir) {
  certs_dir_ = dir;
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Error{"cannot create " + dir + ": " + ec.message()};
  const auto& id = sinks_->secrets.identity();
  if (!id) return Error{name_ + " has no certificate yet"};
  if (Status s = write_file(fs::path(dir) / "cert-chain.pem", id->chain_pem(), false); !s.ok()) return s;
  if (Status s = write_file(fs::path(dir) / "key.pem", id->key.to_pem(), true); !s.ok()) return s;
  std::string roots;
  for (const auto& r : sinks_->secrets.roots()) roots += r.to_pem();
  return write_file(fs::path(dir) / "root-cert.pem", roots, false);
}

std::string render_stats_text(const proxy::SidecarStats& s) {
  std::map<std::string, uint64_t> c = {
      {"downstream_cx_total", s.downstream_cx_total},
      {"downstream_cx_active", s.downstream_cx_active},
      {"listener.no_filter_chain_match", s.no_filter_chain_match},
      {"listener.downstream_pre_cx_timeout", s.listener_filter_timeouts},
      {"listener.ssl.handshake", s.ssl_handshake},
      {"listener.ssl.connection_error", s.ssl_connection_error},
      {"listener.ssl.session_reused", s.ssl_session_reused},
      {"cluster.upstream_cx_total", s.upstream_cx_total},
      {"cluster.upstream_cx_connect_fail", s.upstream_cx_connect_fail},
      {"cluster.upstream_cx_connect_timeout", s.upstream_cx_connect_timeout},
      {"cluster.ssl.handshake", s.upstream_ssl_handshake},
      {"cluster.ssl.connection_error", s.upstream_ssl_connection_error},
      {"cluster.ssl.session_reused", s.upstream_ssl_session_reused},
      {"cluster.upstream_rq_total", s.upstream_rq_total},
      {"cluster.upstream_rq_retry", s.upstream_rq_retry},
      {"cluster.upstream_cx_overflow", s.upstream_cx_overflow},
      {"cluster.upstream_rq_pending_overflow", s.upstream_rq_pending_overflow},
      {"cluster.upstream_rq_retry_overflow", s.upstream_rq_retry_overflow},
      {"cluster.upstream_cx_max_requests", s.upstream_cx_max_requests},
      {"http.downstream_rq_total", s.downstream_rq_total},
      {"http.downstream_rq_2xx", s.downstream_rq_2xx},
      {"http.downstream_rq_3xx", s.downstream_rq_3xx},
      {"http.downstream_rq_4xx", s.downstream_rq_4xx},
      {"http.downstream_rq_5xx", s.downstream_rq_5xx},
      {"http.downstream_cx_http2_total", s.downstream_cx_http2},
      {"http.downstream_rq_http2_total", s.downstream_rq_http2_total},
      {"http.downstream_rq_rx_reset", s.downstream_rq_rx_reset},
      {"http.downstream_cx_idle_timeout", s.downstream_cx_idle_timeout},
      {"http.codec_errors", s.http_codec_errors},
      {"cluster.upstream_cx_http2_total", s.upstream_cx_http2_total},
      {"cluster.upstream_rq_rx_reset", s.upstream_rq_rx_reset},
      {"cluster.upstream_rq_tx_reset", s.upstream_rq_tx_reset},
  };
  for (const auto& [k, v] : s.named) c[k] = v;
  std::string out;
  for (const auto& [k, v] : c) out += k + ": " + std::to_string(v) + "\n";
  return out;
}

std::string PodProxy::stats_text() const {
  std::string out = render_stats_text(host_->sidecar().stats());
  const auto& c = host_->counters();
  out += "meshsim.real.accepted: " + std::to_string(c.accepted) + "\n";
  out += "meshsim.real.bytes_in: " + std::to_string(c.bytes_in) + "\n";
  out += "meshsim.real.bytes_out: " + std::to_string(c.bytes_out) + "\n";
  out += "meshsim.real.connect_failures: " + std::to_string(c.connect_failures) + "\n";
  out += "meshsim.real.connects: " + std::to_string(c.connects) + "\n";
  out += "meshsim.real.read_pauses: " + std::to_string(c.read_pauses) + "\n";
  out += "meshsim.real.open_sockets: " + std::to_string(host_->open_sockets()) + "\n";
  return out;
}

std::string PodProxy::prometheus_text() const {
  std::string out;
  if (const proxy::IstioMetrics* m = host_->sidecar().metrics()) {
    proxy::MetricsSource src{m, ""};
    proxy::write_prometheus(std::span<const proxy::MetricsSource>(&src, 1), out);
  }
  return out;
}

std::string PodProxy::clusters_text() const {
  // Envoy's /clusters text: <cluster>::<host>::<stat or flag>::<value>.
  std::string out;
  if (!config_) return out;
  std::set<std::string> with_endpoints;
  for (const auto& cla : config_->endpoints) {
    with_endpoints.insert(cla.cluster_name);
    for (const auto& ep : cla.endpoints) {
      std::string prefix = cla.cluster_name + "::" + to_string(ep.address) + "::";
      out += prefix + "health_flags::" + (ep.healthy ? "healthy" : "/failed_eds_health") + "\n";
      out += prefix + "weight::" + std::to_string(ep.weight) + "\n";
      out += prefix + "region::" + ep.locality.region + "\n";
      out += prefix + "zone::" + ep.locality.zone + "\n";
      out += prefix + "priority::" + std::to_string(ep.priority) + "\n";
    }
  }
  for (const auto& c : config_->clusters) {
    if (!with_endpoints.count(c.name)) out += c.name + "::default_priority::max_connections::" +
                                              std::to_string(c.circuit_breakers.max_connections) + "\n";
  }
  return out;
}

std::string PodProxy::certs_json() const {
  // Envoy's /certs: per TLS context the CA and the chain, with serial, SANs
  // and validity (RFC 3339, days until expiration).
  nlohmann::ordered_json certs = nlohmann::ordered_json::array();
  Duration now = EventLoop::wall_since_epoch();
  auto detail = [&](const sim::SecretView& v) {
    nlohmann::ordered_json sans = nlohmann::ordered_json::array();
    for (const auto& u : v.uri_sans) sans.push_back({{"uri", u}});
    for (const auto& d : v.dns_sans) sans.push_back({{"dns", d}});
    return nlohmann::ordered_json{{"path", "<inline>"}, {"serial_number", v.serial}, {"subject_alt_names", sans},
                                  {"valid_from", v.not_before}, {"expiration_time", v.not_after}};
  };
  nlohmann::ordered_json ctx = {{"ca_cert", nlohmann::ordered_json::array()}, {"cert_chain", nlohmann::ordered_json::array()}};
  for (const sim::SecretView& v : sim::secret_views(sinks_->secrets, now))
    ctx[v.name == "ROOTCA" ? "ca_cert" : "cert_chain"].push_back(detail(v));
  if (const auto& id = sinks_->secrets.identity()) {
    int64_t days = (id->certificate.info().not_after - now).ns() / Duration::hours(24).ns();
    for (auto& c : ctx["cert_chain"]) c["days_until_expiration"] = std::to_string(days);
  }
  certs.push_back(std::move(ctx));
  return nlohmann::ordered_json{{"certificates", certs}}.dump(1);
}

std::string PodProxy::config_dump() const {
  if (!config_) return "{}";
  return sim::render_all_json(*config_, sim::secret_views(sinks_->secrets, EventLoop::wall_since_epoch()));
}

void PodProxy::admin(const HttpServerRequest& req, HttpServerResponse& res) {
  std::string path = req.target.substr(0, req.target.find('?'));
  if (path == "/ready") {
    bool ready = config_ && sinks_->secrets.identity() && !draining_;
    res.status = ready ? 200 : 503;
    res.body = draining_ ? "DRAINING\n" : ready ? "LIVE\n" : "PRE_INITIALIZING\n";
  } else if (path == "/stats") {
    res.body = stats_text();
  } else if (path == "/stats/prometheus") {
    res.content_type = "text/plain; version=0.0.4";
    res.body = prometheus_text();
  } else if (path == "/clusters") {
    res.body = clusters_text();
  } else if (path == "/certs") {
    res.content_type = "application/json";
    res.body = certs_json() + "\n";
  } else if (path == "/config_dump") {
    res.content_type = "application/json";
    res.body = config_dump() + "\n";
  } else if ((path == "/quitquitquit" || path == "/drain_listeners") && req.method == "POST") {
    drain();
    res.body = "OK\n";
    if (path == "/quitquitquit" && options_.on_quit) options_.on_quit();
  } else if (path == "/" || path == "/help") {
    res.body =
        "admin commands are:\n"
        "  /certs: print certs on machine\n"
        "  /clusters: upstream cluster status\n"
        "  /config_dump: dump current Envoy configs (meshsim's ProxyConfig, as proxy-config -o json)\n"
        "  /drain_listeners (POST): stop accepting connections\n"
        "  /quitquitquit (POST): drain, then exit\n"
        "  /ready: print server state, return 200 if LIVE, otherwise 503\n"
        "  /stats: print server stats\n"
        "  /stats/prometheus: print server stats in prometheus format\n";
  } else {
    res.status = 404;
    res.body = "invalid path. admin commands are listed at /help\n";
  }
}

}  // namespace meshsim::real
