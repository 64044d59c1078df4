// The TLS environment is the one seam through which OpenSSL meets the
// simulation: every random byte OpenSSL draws (keys, client/server random,
// ECDHE shares, ECDSA nonces, ticket keys and IVs, serial numbers), the clock
// libssl reads for session timestamps and ticket ages, the time certificates
// are verified at, and the sink for NSS key-log lines.
//
// An EnvironmentScope installs an Environment on the current thread for its
// lifetime (RAII, nestable: the previous one comes back on destruction). While
// it is installed:
//   * OpenSSL's randomness comes from `random` (a process-wide RAND_METHOD
//     dispatches to the thread's scope), so the same byte stream gives
//     byte-identical keys, certificates and handshakes;
//   * time() — which libssl 3.0 calls for session times, ticket ages and
//     lifetimes — returns kEpochUnixSeconds + clock(), because this library
//     defines time() in the executable and exports it (see docs/model/tls.md);
//   * certificate verification uses kEpochUnixSeconds + clock().
// Outside any scope OpenSSL falls back to its own DRBG and time() to the wall
// clock; unscoped_random_bytes() counts the bytes drawn that way so a
// simulation can assert it never happened.
//
// Virtual time zero is 2026-01-01T00:00:00Z (kEpochUnixSeconds). Certificate
// validity windows and "now" are meshsim::Durations relative to it.
//
// Threading: scopes are per thread; OpenSSL objects created under one scope may
// be used under another (draws go to whatever scope is current at the draw).
// The RAND_METHOD is process-wide once this library initialises OpenSSL, so any
// other OpenSSL user in the process (e.g. real sockets in proxy/asio) without a
// scope gets OpenSSL's DRBG through it, counted by unscoped_random_bytes().
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "proxy/base/duration.h"

namespace meshsim::tls {

// Unix time of virtual time zero: 2026-01-01T00:00:00Z.
inline constexpr int64_t kEpochUnixSeconds = kVirtualEpochUnixSeconds;

// Fills out[0..n) with bytes (the simulator passes RandomStream::fill).
using RandomSource = std::function<void(unsigned char* out, std::size_t n)>;
// Virtual now, as a Duration since the epoch.
using VirtualClock = std::function<Duration()>;
// Receives one NSS key-log line (no trailing newline), e.g.
// "CLIENT_HANDSHAKE_TRAFFIC_SECRET <client_random hex> <secret hex>".
using KeylogSink = std::function<void(std::string_view line)>;

struct Environment {
  RandomSource random;  // empty: OpenSSL's own DRBG (counted as unscoped)
  VirtualClock clock;   // empty: virtual time stays at zero (the epoch)
  KeylogSink keylog;    // empty: key-log lines are dropped
};

class EnvironmentScope {
 public:
  // Owns a copy of env.
  explicit EnvironmentScope(Environment env);
  // Refers to an Environment the caller keeps alive for the scope's lifetime;
  // costs two pointer moves, so it can wrap every call into a session (e.g. to
  // give each connection its own random stream).
  explicit EnvironmentScope(const Environment* env);
  ~EnvironmentScope();
  EnvironmentScope(const EnvironmentScope&) = delete;
  EnvironmentScope& operator=(const EnvironmentScope&) = delete;

 private:
  Environment owned_;
  const Environment* previous_;
};

// True when an EnvironmentScope is installed on this thread.
bool has_environment();

// Virtual now of the innermost scope on this thread (zero without a clock).
Duration virtual_now();

// Unix seconds for a virtual instant: kEpochUnixSeconds + floor(t / 1s).
int64_t unix_seconds_at(Duration since_epoch);

// "2026-01-01T00:00:00Z" for a virtual instant (whole seconds, UTC).
std::string format_rfc3339(Duration since_epoch);

// Number of random bytes OpenSSL drew on any thread without a RandomSource
// installed (from its own DRBG). A deterministic run keeps this unchanged.
uint64_t unscoped_random_bytes();

// Fills out[0..n) from the current scope's RandomSource (or OpenSSL's DRBG
// outside a scope, counted as unscoped). Used for serial numbers and ticket keys.
void random_bytes(unsigned char* out, std::size_t n);

// Passes a line to the thread's key-log sink, if one is installed.
void emit_keylog_line(std::string_view line);
bool has_keylog_sink();

// Installs the RAND_METHOD and initialises OpenSSL once per process. Every
// entry point of this library calls it; calling it directly is harmless.
void ensure_initialized();

}  // namespace meshsim::tls
