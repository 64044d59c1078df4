// MetricsServer serves Prometheus text over HTTP/1.1 on a real socket with
// Boost.Beast (kept out of this header): GET /metrics and /stats/prometheus
// answer the latest published exposition (`text/plain; version=0.0.4`),
// anything else 404. One thread accepts and answers connections one at a
// time; publish() may be called from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "proxy/base/result.h"

namespace meshsim::cli {

class MetricsServer {
 public:
  // Binds `host:port` (port 0: any free port) and starts serving.
  static Result<std::unique_ptr<MetricsServer>> start(const std::string& host, uint16_t port);
  ~MetricsServer();
  void publish(std::string text);
  uint16_t port() const;
  uint64_t scrapes() const;

 private:
  struct Impl;
  explicit MetricsServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace meshsim::cli
