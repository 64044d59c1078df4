// EventLoop is the one Boost.Asio io_context of a real-socket process
// (`meshsim proxy`, `meshsim up`): every AsioHost, admin server and local app
// of the process runs on it, on the thread that calls run(). Boost stays out
// of this header; code that needs the io_context includes
// proxy/asio/asio_internal.h.
//
// The thread that runs the loop installs a TLS environment
// (proxy/tls/environment.h) whose clock is the wall clock (seconds since the
// simulation epoch), so certificates minted "now" verify now, and whose
// randomness is OpenSSL's own DRBG: real sockets are not deterministic and
// their keys must not be either.
#pragma once

#include <functional>
#include <memory>
#include <string_view>

#include "proxy/base/duration.h"

namespace meshsim::proxy::asio {

class EventLoop {
 public:
  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Runs handlers until stop() (or nothing is left to do).
  void run();
  // Runs handlers for at most `for_how_long` of wall time (tests).
  void run_for(Duration for_how_long);
  void stop();
  // Calls `on_signal(signo)` on the loop for SIGTERM and SIGINT (once each
  // time the signal arrives).
  void on_termination_signal(std::function<void(int)> on_signal);
  // Runs `fn` on the loop after `after` (wall time).
  void after(Duration after, std::function<void()> fn);
  // Receives every NSS key-log line of the TLS sessions on this loop
  // (SSLKEYLOGFILE format, no trailing newline). Set before run().
  void set_keylog_sink(std::function<void(std::string_view)> sink);

  // Wall time since the simulation epoch (2026-01-01T00:00:00Z), the clock
  // certificates are written in.
  static Duration wall_since_epoch();

  struct Impl;
  Impl& impl() { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace meshsim::proxy::asio
