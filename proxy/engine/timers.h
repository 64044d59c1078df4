// TimerManager hands out the engine's one-shot timers over Io::arm_timer. A
// Timer is a value the owner keeps (handle + token); disarm() cancels it in
// the world and forgets its callback, fire() (Sidecar::on_timer) runs and
// forgets it. Callbacks capture connection ids, not pointers, and look the
// object up again, so a timer that outlives its owner does nothing.
// Single-threaded; arm order is the order of Io::arm_timer calls, which the
// simulator's tie-breaking (insertion order) relies on for determinism.
#pragma once

#include <cstdint>
#include <functional>
#include <unordered_map>

#include "proxy/io.h"

namespace meshsim::proxy::engine {

struct Timer {
  uint64_t handle = 0;  // Io's handle; 0 = not armed
  TimerToken token = 0;
  bool armed() const { return handle != 0; }
};

class TimerManager {
 public:
  explicit TimerManager(Io& io) : io_(io) {}

  Timer arm(Duration after, std::function<void()> fn) {
    Timer t;
    t.token = ++next_token_;
    callbacks_.emplace(t.token, std::move(fn));
    t.handle = io_.arm_timer(after, t.token);
    return t;
  }
  // Fire-and-forget: a timer nobody cancels (its callback re-checks state).
  void arm_unowned(Duration after, std::function<void()> fn) { (void)arm(after, std::move(fn)); }

  // Cancels `t` if armed; safe on a timer that already fired.
  void disarm(Timer& t) {
    if (t.handle) io_.cancel_timer(t.handle);
    if (t.token) callbacks_.erase(t.token);
    t = Timer{};
  }

  void fire(TimerToken token) {
    auto it = callbacks_.find(token);
    if (it == callbacks_.end()) return;
    auto fn = std::move(it->second);
    callbacks_.erase(it);
    fn();
  }

 private:
  Io& io_;
  std::unordered_map<TimerToken, std::function<void()>> callbacks_;
  TimerToken next_token_ = 0;
};

}  // namespace meshsim::proxy::engine
