// The metrics flags of `meshsim run` (docs/cli/run.md): --metrics FILE,
// --metrics-interval D, --serve ADDR:PORT, --pace FACTOR, --serve-linger D.
// MetricsSession validates them, owns the sim::MetricsRecorder the runner
// drives and, with --serve, the HTTP endpoint (cli/metrics_server.h) that a
// real Prometheus scrapes (/metrics and /stats/prometheus).
#pragma once

#include <memory>
#include <string>

#include "proxy/base/result.h"
#include "sim/scenario/metrics_output.h"

namespace CLI {
class App;
}

namespace meshsim::cli {

struct MetricsFlags {
  std::string file;
  std::string interval;
  std::string serve;   // "127.0.0.1:9464"
  double pace = 0;     // 0: 1 with --serve, as fast as possible without
  std::string linger;  // wall time to keep serving after the run
  bool any() const { return !file.empty() || !serve.empty() || pace > 0; }
};

void add_metrics_flags(CLI::App* app, MetricsFlags& flags);

class MetricsServer;

class MetricsSession {
 public:
  // Errors: bad durations, --metrics-interval without --metrics, a --serve
  // address that does not parse or cannot be bound.
  static Result<std::unique_ptr<MetricsSession>> start(const MetricsFlags& flags);
  ~MetricsSession();
  sim::MetricsRecorder* recorder() { return recorder_.get(); }
  // After the run: keeps serving the final exposition for --serve-linger.
  void linger();
  std::string endpoint() const;

 private:
  MetricsSession() = default;
  std::unique_ptr<sim::MetricsRecorder> recorder_;
  std::unique_ptr<MetricsServer> server_;
  Duration linger_;
  std::string host_;
};

}  // namespace meshsim::cli
