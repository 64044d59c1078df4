#include "proxy/asio/event_loop.h"

#include <chrono>

#include "proxy/asio/asio_internal.h"
#include "proxy/tls/environment.h"

namespace meshsim::proxy::asio {

namespace net = boost::asio;

EventLoop::EventLoop() : impl_(std::make_unique<Impl>()) {}
EventLoop::~EventLoop() = default;

Duration EventLoop::wall_since_epoch() {
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch());
  return Duration::nanos(ns.count() - tls::kEpochUnixSeconds * 1'000'000'000LL);
}

namespace {
tls::Environment real_environment(const std::function<void(std::string_view)>& keylog) {
  tls::Environment env;
  env.clock = [] { return EventLoop::wall_since_epoch(); };
  if (keylog) env.keylog = keylog;
  // env.random stays empty: OpenSSL's own DRBG, as a real proxy must use.
  return env;
}
}  // namespace

void EventLoop::run() {
  tls::EnvironmentScope scope(real_environment(impl_->keylog));
  auto guard = net::make_work_guard(impl_->ioc);
  impl_->ioc.run();
  impl_->ioc.restart();
}

void EventLoop::run_for(Duration d) {
  tls::EnvironmentScope scope(real_environment(impl_->keylog));
  impl_->ioc.run_for(std::chrono::nanoseconds(d.ns()));
  impl_->ioc.restart();
}

void EventLoop::stop() { impl_->ioc.stop(); }

void EventLoop::set_keylog_sink(std::function<void(std::string_view)> sink) { impl_->keylog = std::move(sink); }

void EventLoop::Impl::wait_signal() {
  signals->async_wait([this](const boost::system::error_code& ec, int signo) {
    if (ec) return;
    if (on_signal) on_signal(signo);
    wait_signal();
  });
}

void EventLoop::on_termination_signal(std::function<void(int)> on_signal) {
  impl_->on_signal = std::move(on_signal);
  if (!impl_->signals) {
    impl_->signals.emplace(impl_->ioc, SIGTERM, SIGINT);
    impl_->wait_signal();
  }
}

void EventLoop::after(Duration after, std::function<void()> fn) {
  auto t = std::make_shared<net::steady_timer>(impl_->ioc, std::chrono::nanoseconds(after.ns()));
  t->async_wait([t, fn = std::move(fn)](const boost::system::error_code& ec) {
    if (!ec) fn();
  });
}

}  // namespace meshsim::proxy::asio
