// Flags and process plumbing shared by the real-socket verbs (`meshsim proxy`,
// `meshsim up`): the mesh CA (--ca-dir), key log, access log, admin address,
// drain on SIGTERM, a bounded --duration, and the ports file that tells
// scripts where every listener ended up.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mesh/world.h"
#include "proxy/asio/asio_host.h"
#include "proxy/base/result.h"

namespace CLI {
class App;
}
namespace meshsim::tls {
class CertificateAuthority;
}
namespace meshsim::proxy::asio {
class EventLoop;
}
namespace meshsim::real {
class PodProxy;
}

namespace meshsim::cli {

struct RealCommonOptions {
  std::string admin = "127.0.0.1:15000";
  std::string ca_dir, certs_dir, keylog, access_log = "-", ports_file;
  std::string drain_time = "5s", duration;
  uint64_t seed = 0;  // 0: random
};

void add_real_common_flags(CLI::App* sub, RealCommonOptions& o);

// "A.B.C.D:PORT" → address (port 0 allowed when `allow_port0`).
Result<SocketAddress> parse_address(const std::string& text, bool allow_port0);

// --listen-inbound / --listen-outbound values of one pod.
Result<std::vector<proxy::asio::ListenSpec>> parse_listen_specs(const mesh::World& w, const mesh::WorldPod& pod,
                                                                const std::vector<std::string>& inbound,
                                                                const std::vector<std::string>& outbound);
// --upstream-map IP:PORT=ADDR:PORT values.
Result<std::map<SocketAddress, SocketAddress>> parse_upstream_map(const std::vector<std::string>& values);

// One listener as the ready message and ports file show it.
struct ListenerLine {
  std::string pod, listener, bind, original_destination, purpose;
};
std::vector<ListenerLine> describe_listeners(const real::PodProxy& proxy,
                                             const std::vector<proxy::asio::ListenSpec>& specs);

class RealProcess {
 public:
  RealProcess();
  ~RealProcess();
  // The loop, the CA (from --ca-dir or fresh), key log and access log files.
  Status open(const RealCommonOptions& o, const std::string& trust_domain);
  proxy::asio::EventLoop& loop();
  tls::CertificateAuthority& ca();
  // The engine seed (--seed, or the random one drawn when it was 0).
  uint64_t seed() const;
  std::function<void(const std::string&)> access_log_sink();
  // For PodProxyOptions::on_quit: POST /quitquitquit drains and exits serve().
  std::function<void()> quit_hook();
  // Serves until SIGTERM/SIGINT, /quitquitquit or --duration, then drains.
  // The first proxy's admin is on --admin, the others' on free ports.
  // `extra` is merged into the ports file (e.g. `meshsim up`'s apps).
  int serve(const std::vector<real::PodProxy*>& proxies, const std::vector<ListenerLine>& listeners,
            const std::string& extra_json = "");

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace meshsim::cli
