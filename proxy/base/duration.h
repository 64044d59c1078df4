// Duration is meshsim's one vocabulary type for time: a signed 64-bit count of
// nanoseconds. Simulated time is a Duration since the start of a run (see
// sim/time.h), configuration timeouts are Durations, and the proxy engine's Io
// seam speaks Durations. Integer arithmetic only, so every run is reproducible.
//
// parse_duration() reads durations as Istio and Kubernetes users write them
// (Go's time.ParseDuration grammar: "150ms", "2s", "1h30m", "0.5s", "0"), and
// format_duration() prints them back the way Go does ("1h30m0s", "150ms").
//
// This header is deliberately tiny and dependency-free: every folder uses it.
#pragma once

#include <compare>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "proxy/base/result.h"

namespace meshsim {

class Duration {
 public:
  constexpr Duration() = default;

  static constexpr Duration nanos(int64_t n) { return Duration(n); }
  static constexpr Duration micros(int64_t n) { return Duration(n * 1'000); }
  static constexpr Duration millis(int64_t n) { return Duration(n * 1'000'000); }
  static constexpr Duration seconds(int64_t n) { return Duration(n * 1'000'000'000); }
  static constexpr Duration minutes(int64_t n) { return seconds(n * 60); }
  static constexpr Duration hours(int64_t n) { return seconds(n * 3600); }
  static constexpr Duration zero() { return Duration(0); }
  static constexpr Duration max() { return Duration(std::numeric_limits<int64_t>::max()); }

  constexpr int64_t ns() const { return ns_; }
  constexpr double to_seconds() const { return static_cast<double>(ns_) / 1e9; }
  constexpr double to_millis() const { return static_cast<double>(ns_) / 1e6; }
  constexpr bool is_zero() const { return ns_ == 0; }

  constexpr auto operator<=>(const Duration&) const = default;

  constexpr Duration operator+(Duration o) const { return Duration(ns_ + o.ns_); }
  constexpr Duration operator-(Duration o) const { return Duration(ns_ - o.ns_); }
  constexpr Duration operator-() const { return Duration(-ns_); }
  constexpr Duration operator*(int64_t k) const { return Duration(ns_ * k); }
  constexpr Duration operator/(int64_t k) const { return Duration(ns_ / k); }
  constexpr int64_t operator/(Duration o) const { return ns_ / o.ns_; }
  constexpr Duration operator%(Duration o) const { return Duration(ns_ % o.ns_); }
  constexpr Duration& operator+=(Duration o) { ns_ += o.ns_; return *this; }
  constexpr Duration& operator-=(Duration o) { ns_ -= o.ns_; return *this; }

 private:
  constexpr explicit Duration(int64_t ns) : ns_(ns) {}
  int64_t ns_ = 0;
};

// Scales a duration by a real factor, rounding to the nearest nanosecond
// (used for ratios such as the certificate grace period).
Duration scale(Duration d, double factor);

// Parses Go duration syntax: an optional sign, then one or more
// <decimal number><unit> pairs with units ns, us (also µs/μs), ms, s, m, h;
// the bare string "0" is also accepted. Errors name the offending text.
Result<Duration> parse_duration(std::string_view text);

// Unix time of virtual time zero, 2026-01-01T00:00:00Z: the simulation's
// clocks (certificates, Date headers) are Durations since it.
inline constexpr int64_t kVirtualEpochUnixSeconds = 1'767'225'600;
// An HTTP Date (IMF-fixdate, RFC 9110 §5.6.7) of `since_epoch` after virtual
// time zero: "Thu, 01 Jan 2026 00:00:00 GMT".
std::string format_http_date(Duration since_epoch);

// Formats like Go's time.Duration.String(): "0s", "1.5s", "150ms", "2us",
// "1h30m0s". parse_duration(format_duration(d)) == d for every d.
std::string format_duration(Duration d);

namespace literals {
constexpr Duration operator""_ns(unsigned long long n) { return Duration::nanos(static_cast<int64_t>(n)); }
constexpr Duration operator""_us(unsigned long long n) { return Duration::micros(static_cast<int64_t>(n)); }
constexpr Duration operator""_ms(unsigned long long n) { return Duration::millis(static_cast<int64_t>(n)); }
constexpr Duration operator""_s(unsigned long long n) { return Duration::seconds(static_cast<int64_t>(n)); }
constexpr Duration operator""_min(unsigned long long n) { return Duration::minutes(static_cast<int64_t>(n)); }
constexpr Duration operator""_h(unsigned long long n) { return Duration::hours(static_cast<int64_t>(n)); }
}  // namespace literals

}  // namespace meshsim
