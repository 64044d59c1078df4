// RandomStream is a seeded pseudo-random generator (xoshiro256**) with the
// distributions the simulator needs, implemented here rather than taken from
// <random> so that a (seed, stream name) pair yields the same numbers with
// every compiler, standard library and machine.
//
// Derivation (documented in docs/model/determinism.md; never change it without
// changing every pinned fingerprint):
//   material = mix64(scenario_seed) XOR fnv1a64(stream_name)
//   s[i]     = mix64(material + (i + 1) * 0x9e3779b97f4a7c15), i = 0..3
// Each component asks the Simulator for its own stream by a stable name
// ("net.loss", "app/productpage-v1/arrivals", "tls/reviews-v1"), so adding a
// component never perturbs the numbers another one sees.
//
// Floating-point: only +, -, *, /, sqrt (IEEE-exact) and the deterministic
// det_log / det_exp of sim/detmath.h; the build disables FMA contraction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "proxy/base/duration.h"

namespace meshsim::sim {

class RandomStream {
 public:
  // A stream from (scenario seed, stream name) by the algorithm above.
  static RandomStream derive(uint64_t scenario_seed, std::string_view name);

  // A stream from raw seed material (tests, and derive()).
  explicit RandomStream(uint64_t material);
  // A stream with the exact xoshiro256** state given (for reference vectors).
  static RandomStream from_state(uint64_t s0, uint64_t s1, uint64_t s2, uint64_t s3);

  // The next raw 64-bit output of xoshiro256**.
  uint64_t next_u64();

  // Uniform integer in [0, bound), unbiased (Lemire's multiply-and-reject). bound > 0.
  uint64_t uniform_u64(uint64_t bound);
  // Uniform integer in [lo, hi). Requires lo < hi.
  int64_t uniform_int(int64_t lo, int64_t hi);
  // Uniform double in [0, 1) with 53 random bits.
  double uniform01();
  // Uniform double in [lo, hi).
  double uniform(double lo, double hi);
  // true with probability p (p <= 0 never, p >= 1 always).
  bool bernoulli(double p);
  // Exponential with the given mean (inverse transform).
  double exponential(double mean);
  // Normal(mean, stddev) by Marsaglia's polar method (the spare value is kept).
  double normal(double mean, double stddev);
  // exp(Normal(mu, sigma)).
  double lognormal(double mu, double sigma);

  // Duration helpers: uniform in [lo, hi) and exponential with the given mean,
  // both in whole nanoseconds.
  Duration uniform_duration(Duration lo, Duration hi);
  Duration exponential_duration(Duration mean);

  // Fills out[0..n) with random bytes (used to seed OpenSSL's DRBG).
  void fill(unsigned char* out, std::size_t n);

 private:
  uint64_t s_[4];
  double spare_ = 0;
  bool has_spare_ = false;
};

}  // namespace meshsim::sim
