// The applications of `meshsim up`: real local servers standing for a pod's
// containers. An HTTP echo app (Beast) answers every request with what it
// received, as Istio's samples' echo/httpbin do; MySQL ports get a real
// MariaDB server (mariadbd in a throwaway data directory) when the machine has
// one. Each listens on 127.0.0.1 on a free port; the pod's sidecar reaches it
// through its upstream map.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "proxy/asio/socket_place.h"
#include "proxy/base/ip.h"
#include "proxy/base/result.h"

namespace meshsim::proxy::asio {
class EventLoop;
class HttpServer;
}  // namespace meshsim::proxy::asio

namespace meshsim::real {

// 200 with a JSON body: the pod, the port, the request line and headers
// (httpbin's /anything shape: {"method","url","headers","pod"}).
// It listens on `bind` (default 127.0.0.1, any free port) in `place` (a pod's
// network namespace with `up --netns`: 0.0.0.0:<the container port>).
Result<std::unique_ptr<proxy::asio::HttpServer>> start_echo_app(proxy::asio::EventLoop& loop, const std::string& pod,
                                                                uint16_t port, SocketAddress bind = {Ipv4::loopback(), 0},
                                                                const proxy::asio::SocketPlace& place = {});

// A MariaDB server on 127.0.0.1:<free port>, root without a password
// (--skip-grant-tables), data under `dir`; stopped (SIGTERM, waited for) on
// destruction. In a network namespace (`netns` non-empty: started through
// `ip netns exec`), it listens on 0.0.0.0:`port` there; `place` is that
// namespace, for the readiness check.
struct MariaDbPlacement {
  std::string netns;
  uint16_t port = 3306;
  proxy::asio::SocketPlace place;
};
class MariaDbServer {
 public:
  static bool available();  // mariadbd and mariadb-install-db are on PATH
  static Result<std::unique_ptr<MariaDbServer>> start(const std::string& dir, const MariaDbPlacement* in = nullptr);
  ~MariaDbServer();
  SocketAddress address() const { return address_; }

 private:
  MariaDbServer() = default;
  int pid_ = -1;
  SocketAddress address_;
};

// A free TCP port on 127.0.0.1 (bound and released: racy by nature, used only
// for programs that must be told their port up front).
Result<uint16_t> pick_free_port();

}  // namespace meshsim::real
