// Stable 64-bit hashing used for determinism: names of random streams, actors
// and event kinds are hashed with FNV-1a, and values are folded with the
// SplitMix64 finaliser. Both are fixed algorithms, so a hash computed today is
// the same on every machine, compiler and standard library, forever.
#pragma once

#include <cstdint>
#include <string_view>

namespace meshsim {

// FNV-1a, 64-bit (offset basis 0xcbf29ce484222325, prime 0x100000001b3).
constexpr uint64_t fnv1a64(std::string_view s, uint64_t h = 0xcbf29ce484222325ULL) {
  for (char c : s) {
    h ^= static_cast<uint8_t>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

// SplitMix64 finaliser (Steele, Lea, Flood 2014): a bijective avalanche mix.
constexpr uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Order-sensitive combination of a running hash with one more value.
constexpr uint64_t hash_combine(uint64_t h, uint64_t v) {
  return mix64(h ^ (v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2)));
}

}  // namespace meshsim
