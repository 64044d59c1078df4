#include "sim/random.h"

#include <cmath>

#include "proxy/base/hash.h"
#include "sim/detmath.h"

namespace meshsim::sim {
namespace {
constexpr uint64_t kGolden = 0x9e3779b97f4a7c15ULL;
__extension__ typedef unsigned __int128 u128;  // GCC/Clang 128-bit multiply
inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
}  // namespace

RandomStream RandomStream::derive(uint64_t scenario_seed, std::string_view name) {
  return RandomStream(mix64(scenario_seed) ^ fnv1a64(name));
}

RandomStream::RandomStream(uint64_t material) {
  for (uint64_t i = 0; i < 4; ++i) s_[i] = mix64(material + (i + 1) * kGolden);
  // xoshiro's state must not be all zero; mix64 is a bijection so this cannot
  // happen for four distinct inputs, but keep the invariant explicit.
  if ((s_[0] | s_[1] | s_[2] | s_[3]) == 0) s_[0] = kGolden;
}

RandomStream RandomStream::from_state(uint64_t s0, uint64_t s1, uint64_t s2, uint64_t s3) {
  RandomStream r(0);
  r.s_[0] = s0;
  r.s_[1] = s1;
  r.s_[2] = s2;
  r.s_[3] = s3;
  return r;
}

uint64_t RandomStream::next_u64() {
  const uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

uint64_t RandomStream::uniform_u64(uint64_t bound) {
  // Lemire, "Fast Random Integer Generation in an Interval" (2019).
  u128 m = static_cast<u128>(next_u64()) * bound;
  uint64_t low = static_cast<uint64_t>(m);
  if (low < bound) {
    uint64_t threshold = (0 - bound) % bound;
    while (low < threshold) {
      m = static_cast<u128>(next_u64()) * bound;
      low = static_cast<uint64_t>(m);
    }
  }
  return static_cast<uint64_t>(m >> 64);
}

int64_t RandomStream::uniform_int(int64_t lo, int64_t hi) {
  uint64_t span = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo);
  return static_cast<int64_t>(static_cast<uint64_t>(lo) + uniform_u64(span));
}

double RandomStream::uniform01() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }

double RandomStream::uniform(double lo, double hi) { return lo + (hi - lo) * uniform01(); }

bool RandomStream::bernoulli(double p) {
  if (p <= 0) return false;
  if (p >= 1) return true;
  return uniform01() < p;
}

double RandomStream::exponential(double mean) { return -mean * det_log(1.0 - uniform01()); }

double RandomStream::normal(double mean, double stddev) {
  if (has_spare_) {
    has_spare_ = false;
    return mean + stddev * spare_;
  }
  double u = 0, v = 0, s = 0;
  do {
    u = uniform(-1.0, 1.0);
    v = uniform(-1.0, 1.0);
    s = u * u + v * v;
  } while (s >= 1.0 || s == 0.0);
  double m = std::sqrt(-2.0 * det_log(s) / s);
  spare_ = v * m;
  has_spare_ = true;
  return mean + stddev * u * m;
}

double RandomStream::lognormal(double mu, double sigma) { return det_exp(normal(mu, sigma)); }

Duration RandomStream::uniform_duration(Duration lo, Duration hi) {
  if (hi <= lo) return lo;
  return Duration::nanos(uniform_int(lo.ns(), hi.ns()));
}

Duration RandomStream::exponential_duration(Duration mean) {
  return Duration::nanos(static_cast<int64_t>(std::llround(exponential(static_cast<double>(mean.ns())))));
}

void RandomStream::fill(unsigned char* out, std::size_t n) {
  // Little-endian byte order regardless of the host, so the bytes are portable.
  for (std::size_t i = 0; i < n; i += 8) {
    uint64_t v = next_u64();
    for (std::size_t b = 0; b < 8 && i + b < n; ++b) out[i + b] = static_cast<unsigned char>(v >> (8 * b));
  }
}

}  // namespace meshsim::sim
