// The io_context behind an EventLoop, for the .cc files of proxy/asio (and
// code that adds its own Asio objects to the loop). Include only from .cc
// files: it pulls in Boost.Asio.
#pragma once

#include <boost/asio.hpp>
#include <functional>
#include <optional>
#include <string_view>

#include "proxy/asio/event_loop.h"

namespace meshsim::proxy::asio {

struct EventLoop::Impl {
  // One thread runs the loop and owns every socket on it (see event_loop.h):
  // no locking of each descriptor's state in the reactor, which would cost a
  // mutex lock and unlock on every start and completion of a socket
  // operation. The scheduler keeps its lock, so stop() and post() from
  // another thread stay safe.
  boost::asio::io_context ioc{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
  std::optional<boost::asio::signal_set> signals;
  std::function<void(int)> on_signal;
  std::function<void(std::string_view)> keylog;
  void wait_signal();
};

inline boost::asio::io_context& io_context_of(EventLoop& loop) { return loop.impl().ioc; }

}  // namespace meshsim::proxy::asio
