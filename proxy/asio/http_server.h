// HttpServer is a small HTTP/1.1 server on the EventLoop, parsed and written
// by Boost.Beast: the Envoy-like admin endpoint of `meshsim proxy` and the
// local applications of `meshsim up` (an echo app) use it. Keep-alive as the
// client asks; one request at a time per connection; the handler answers
// synchronously.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "proxy/base/ip.h"
#include "proxy/base/result.h"
#include "proxy/asio/socket_place.h"

namespace meshsim::proxy::asio {

class EventLoop;

struct HttpServerRequest {
  std::string method;
  std::string target;  // path and query, as sent
  std::string version; // "HTTP/1.1"
  std::vector<std::pair<std::string, std::string>> headers;  // in arrival order
  std::string body;
  SocketAddress remote;
  const std::string* header(std::string_view name) const;  // case-insensitive, first
};

struct HttpServerResponse {
  int status = 200;
  std::string content_type = "text/plain";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

using HttpHandler = std::function<void(const HttpServerRequest&, HttpServerResponse&)>;

class HttpServer {
 public:
  // Binds `at` (port 0: any free port) and serves until destroyed or stop();
  // the listening socket is created in `place` (e.g. a pod's network namespace).
  static Result<std::unique_ptr<HttpServer>> start(EventLoop& loop, const SocketAddress& at, HttpHandler handler,
                                                   std::string server_header = "meshsim", const SocketPlace& place = {});
  ~HttpServer();
  uint16_t port() const;
  void stop();
  uint64_t requests() const;

  struct Impl;

 private:
  explicit HttpServer(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace meshsim::proxy::asio
