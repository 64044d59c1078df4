// A scripted Io for engine tests: the test plays the network (accepts,
// bytes, connects, closes, timers) and reads what the engine sent, closed
// and armed; plus an access-log sink that keeps every entry.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "proxy/access_log.h"
#include "proxy/engine/sidecar.h"
#include "proxy/io.h"

namespace meshsim::proxy::testing {

class FakeIo : public Io {
 public:
  struct Connect {
    ConnId id;
    SocketAddress to;
    Duration timeout;
  };
  struct Timer {
    Duration at;
    TimerToken token;
    bool cancelled = false;
  };

  Duration now() const override { return now_; }
  ConnId connect(const SocketAddress& to, Duration timeout, std::optional<Ipv4>) override {
    ConnId id = next_id_++;
    connects.push_back({id, to, timeout});
    return id;
  }
  void send(ConnId id, std::span<const uint8_t> bytes) override { sent[id].append(as_chars(bytes)); }
  void shutdown_write(ConnId id) override { fins.push_back(id); }
  void close(ConnId id, CloseType how) override { closed[id] = how; }
  uint64_t arm_timer(Duration after, TimerToken token) override {
    timers.push_back({now_ + after, token});
    return timers.size();
  }
  void cancel_timer(uint64_t handle) override { timers[handle - 1].cancelled = true; }
  uint64_t random() override { return rng_ = rng_ * 6364136223846793005ULL + 1442695040888963407ULL; }

  // Fires every live timer due at or before t, advancing the clock.
  void advance(Sidecar& s, Duration t) {
    for (size_t i = 0; i < timers.size(); ++i) {
      if (!timers[i].cancelled && timers[i].at <= t) {
        timers[i].cancelled = true;
        now_ = timers[i].at;
        s.on_timer(timers[i].token);
        i = static_cast<size_t>(-1);  // restart: firing may arm more
      }
    }
    now_ = t;
  }
  std::string take(ConnId id) {
    std::string s = std::move(sent[id]);
    sent[id].clear();
    return s;
  }
  size_t live_timers() const {
    size_t n = 0;
    for (const auto& t : timers) n += !t.cancelled;
    return n;
  }

  std::vector<Connect> connects;
  std::map<ConnId, std::string> sent;
  std::map<ConnId, CloseType> closed;
  std::vector<ConnId> fins;
  std::vector<Timer> timers;

 private:
  Duration now_;
  ConnId next_id_ = 1000;
  uint64_t rng_ = 1;
};

class Log : public AccessLogSink {
 public:
  void on_access_log(const AccessLogEntry& e) override { entries.push_back(e); }
  std::vector<AccessLogEntry> entries;
};

inline std::span<const uint8_t> bytes(std::string_view s) { return as_bytes(s); }

}  // namespace meshsim::proxy::testing
