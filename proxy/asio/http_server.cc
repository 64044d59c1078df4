#include "proxy/asio/http_server.h"

#include <optional>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "proxy/asio/asio_internal.h"
#include "proxy/base/ascii.h"

namespace meshsim::proxy::asio {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

const std::string* HttpServerRequest::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (ascii_iequals(k, name)) return &v;
  return nullptr;
}

struct HttpServer::Impl : std::enable_shared_from_this<HttpServer::Impl> {
  explicit Impl(net::io_context& ioc) : acceptor(ioc) {}
  tcp::acceptor acceptor;
  HttpHandler handler;
  std::string server_header;
  uint64_t requests = 0;
  bool stopped = false;

  struct Session : std::enable_shared_from_this<Session> {
    Session(tcp::socket s, std::shared_ptr<Impl> srv) : sock(std::move(s)), server(std::move(srv)) {}
    tcp::socket sock;
    std::shared_ptr<Impl> server;
    beast::flat_buffer buf;
    http::request<http::string_body> req;
    http::response<http::string_body> res;
    std::optional<http::request_parser<http::string_body>> parser;

    void read() {
      // Bodies up to 64 MiB, as the engine's own parser takes (Beast's request
      // default is 1 MiB: an app that refused larger uploads would not be httpbin).
      parser.emplace();
      parser->body_limit(64u << 20);
      http::async_read(sock, buf, *parser, [self = shared_from_this()](beast::error_code ec, size_t) {
        if (ec || self->server->stopped) return;
        self->req = self->parser->release();
        self->answer();
      });
    }
    void answer() {
      HttpServerRequest in;
      in.method = std::string(req.method_string());
      in.target = std::string(req.target());
      in.version = req.version() == 10 ? "HTTP/1.0" : "HTTP/1.1";
      for (const auto& f : req) in.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
      in.body = std::move(req.body());
      beast::error_code ignored;
      auto ep = sock.remote_endpoint(ignored);
      if (ep.address().is_v4()) in.remote = {Ipv4{ep.address().to_v4().to_uint()}, ep.port()};
      HttpServerResponse out;
      server->handler(in, out);
      ++server->requests;
      res = {};
      res.version(req.version());
      res.result(static_cast<unsigned>(out.status));
      res.set(http::field::server, server->server_header);
      res.set(http::field::content_type, out.content_type);
      for (const auto& [k, v] : out.headers) res.set(k, v);
      res.keep_alive(req.keep_alive());
      res.body() = std::move(out.body);
      res.prepare_payload();
      http::async_write(sock, res, [self = shared_from_this()](beast::error_code ec, size_t) {
        if (ec) return;
        if (!self->res.keep_alive()) {
          beast::error_code e;
          self->sock.shutdown(tcp::socket::shutdown_send, e);
          return;
        }
        self->read();
      });
    }
  };

  void accept() {
    acceptor.async_accept([self = shared_from_this()](beast::error_code ec, tcp::socket s) {
      if (ec || self->stopped) return;
      beast::error_code ignored;
      s.set_option(tcp::no_delay(true), ignored);
      std::make_shared<Session>(std::move(s), self)->read();
      self->accept();
    });
  }
};

HttpServer::HttpServer(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() { stop(); }

Result<std::unique_ptr<HttpServer>> HttpServer::start(EventLoop& loop, const SocketAddress& at, HttpHandler handler,
                                                      std::string server_header, const SocketPlace& place) {
  auto impl = std::make_shared<Impl>(io_context_of(loop));
  impl->handler = std::move(handler);
  impl->server_header = std::move(server_header);
  beast::error_code ec;
  tcp::endpoint ep(net::ip::address_v4(at.ip.value), at.port);
  {
    SocketPlaceScope in(place);
    if (!in.error().empty()) return Error{"cannot listen on " + to_string(at) + ": " + in.error()};
    impl->acceptor.open(ep.protocol(), ec);
  }
  if (!ec) impl->acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(ep, ec);
  if (!ec) impl->acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return Error{"cannot listen on " + to_string(at) + ": " + ec.message()};
  impl->accept();
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

uint16_t HttpServer::port() const {
  beast::error_code ec;
  return impl_->acceptor.local_endpoint(ec).port();
}

void HttpServer::stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  beast::error_code ignored;
  impl_->acceptor.close(ignored);
}

uint64_t HttpServer::requests() const { return impl_->requests; }

}  // namespace meshsim::proxy::asio
