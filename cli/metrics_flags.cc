#include "cli/metrics_flags.h"

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <thread>

#include "cli/metrics_server.h"

namespace meshsim::cli {

void add_metrics_flags(CLI::App* app, MetricsFlags& f) {
  app->add_option("--metrics", f.file,
                  "Write Istio's standard metrics (istio_requests_total, …) of every sidecar as Prometheus text to\n"
                  "FILE at the end of the run; each series gets the namespace/pod labels a kubernetes-pods scrape adds");
  app->add_option("--metrics-interval", f.interval,
                  "With --metrics: one sample of every series each D of virtual time (e.g. 5s), stamped in ms");
  app->add_option("--serve", f.serve,
                  "Serve the live metrics over HTTP at ADDR:PORT (/metrics, /stats/prometheus) for a real\n"
                  "Prometheus while the run paces itself to the wall clock (see --pace)");
  app->add_option("--pace", f.pace, "Virtual seconds per wall-clock second (default with --serve: 1)");
  app->add_option("--serve-linger", f.linger, "With --serve: keep serving the final metrics this long (wall time)");
}

Result<std::unique_ptr<MetricsSession>> MetricsSession::start(const MetricsFlags& f) {
  std::unique_ptr<MetricsSession> s(new MetricsSession());
  sim::MetricsOptions mo;
  mo.file = f.file;
  if (!f.interval.empty()) {
    if (f.file.empty()) return Error{"--metrics-interval needs --metrics FILE"};
    auto d = parse_duration(f.interval);
    if (!d.ok() || d->ns() <= 0) return Error{"--metrics-interval: " + (d.ok() ? std::string("must be positive") : d.message())};
    mo.interval = *d;
  }
  if (f.pace < 0) return Error{"--pace must be positive"};
  mo.pace = f.pace;
  if (!f.linger.empty()) {
    if (f.serve.empty()) return Error{"--serve-linger needs --serve"};
    auto d = parse_duration(f.linger);
    if (!d.ok() || d->ns() < 0) return Error{"--serve-linger: " + (d.ok() ? std::string("must not be negative") : d.message())};
    s->linger_ = *d;
  }
  if (!f.serve.empty()) {
    size_t colon = f.serve.rfind(':');
    if (colon == std::string::npos) return Error{"--serve: expected ADDR:PORT, got " + f.serve};
    int port = 0;
    try {
      port = std::stoi(f.serve.substr(colon + 1));
    } catch (...) {
      port = -1;
    }
    if (port < 0 || port > 65535) return Error{"--serve: bad port in " + f.serve};
    s->host_ = f.serve.substr(0, colon);
    auto srv = MetricsServer::start(s->host_, static_cast<uint16_t>(port));
    if (!srv.ok()) return Error{srv.message()};
    s->server_ = std::move(*srv);
    if (mo.pace == 0) mo.pace = 1;
    MetricsServer* raw = s->server_.get();
    mo.publish = [raw](std::string text) { raw->publish(std::move(text)); };
    std::fprintf(stderr, "meshsim: serving metrics at http://%s/metrics\n", s->endpoint().c_str());
  }
  s->recorder_ = std::make_unique<sim::MetricsRecorder>(std::move(mo));
  return s;
}

MetricsSession::~MetricsSession() = default;

std::string MetricsSession::endpoint() const {
  return server_ ? host_ + ":" + std::to_string(server_->port()) : std::string();
}

void MetricsSession::linger() {
  if (!server_ || linger_.ns() <= 0) return;
  std::this_thread::sleep_for(std::chrono::nanoseconds(linger_.ns()));
}

}  // namespace meshsim::cli
