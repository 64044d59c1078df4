#include "cli/metrics_server.h"

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <mutex>
#include <thread>

namespace meshsim::cli {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct MetricsServer::Impl {
  asio::io_context ioc;
  tcp::acceptor acceptor{ioc};
  std::thread thread;
  std::mutex mu;
  std::string text;
  std::atomic<uint64_t> scrapes{0};
  // The connection being served, so stopping can wake a blocked read (a
  // Prometheus keeps its scrape connection alive).
  std::mutex sock_mu;
  tcp::socket* current = nullptr;
  bool stopping = false;

  void accept() {
    acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec) return;  // closed: the server is stopping
      serve(std::move(socket));
      accept();
    });
  }

  // One connection, keep-alive until the client closes (synchronous: a
  // scrape is small and Prometheus scrapes one target at a time).
  void serve(tcp::socket socket) {
    beast::error_code ec;
    {
      std::lock_guard<std::mutex> l(sock_mu);
      if (stopping) return;
      current = &socket;
    }
    beast::flat_buffer buf;
    for (;;) {
      http::request<http::string_body> req;
      http::read(socket, buf, req, ec);
      if (ec) break;
      http::response<http::string_body> res;
      res.version(req.version());
      res.keep_alive(req.keep_alive());
      std::string_view target(req.target().data(), req.target().size());
      target = target.substr(0, target.find('?'));
      if (req.method() == http::verb::get && (target == "/metrics" || target == "/stats/prometheus")) {
        res.result(http::status::ok);
        res.set(http::field::content_type, "text/plain; version=0.0.4");
        std::lock_guard<std::mutex> l(mu);
        res.body() = text;
        ++scrapes;
      } else {
        res.result(http::status::not_found);
        res.set(http::field::content_type, "text/plain");
        res.body() = "not found: try /metrics or /stats/prometheus\n";
      }
      res.prepare_payload();
      http::write(socket, res, ec);
      if (ec || !res.keep_alive()) break;
    }
    std::lock_guard<std::mutex> l(sock_mu);
    current = nullptr;
    socket.shutdown(tcp::socket::shutdown_send, ec);
  }
};

MetricsServer::MetricsServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<MetricsServer>> MetricsServer::start(const std::string& host, uint16_t port) {
  auto impl = std::make_unique<Impl>();
  beast::error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  if (ec) return Error{"--serve: not an IP address: " + host};
  tcp::endpoint ep(addr, port);
  impl->acceptor.open(ep.protocol(), ec);
  if (!ec) impl->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(ep, ec);
  if (!ec) impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Error{"--serve: cannot listen on " + host + ":" + std::to_string(port) + ": " + ec.message()};
  Impl* raw = impl.get();
  raw->accept();
  raw->thread = std::thread([raw] { raw->ioc.run(); });
  return std::unique_ptr<MetricsServer>(new MetricsServer(std::move(impl)));
}

MetricsServer::~MetricsServer() {
  {
    std::lock_guard<std::mutex> l(impl_->sock_mu);
    impl_->stopping = true;
    beast::error_code ec;
    if (impl_->current) impl_->current->shutdown(tcp::socket::shutdown_both, ec);
  }
  asio::post(impl_->ioc, [this] {
    beast::error_code ec;
    impl_->acceptor.close(ec);
  });
  impl_->ioc.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

void MetricsServer::publish(std::string text) {
  std::lock_guard<std::mutex> l(impl_->mu);
  impl_->text = std::move(text);
}

uint16_t MetricsServer::port() const { return impl_->acceptor.local_endpoint().port(); }
uint64_t MetricsServer::scrapes() const { return impl_->scrapes.load(); }

}  // namespace meshsim::cli
