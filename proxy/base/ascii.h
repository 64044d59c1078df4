// ASCII helpers for protocol names and tokens (header names, provider names):
// case folding without locale, no allocation.
#pragma once

#include <string_view>

namespace meshsim {

// c in lower case (A–Z only; every other byte as it is).
constexpr char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c | 0x20) : c; }

// a == b ignoring ASCII case (A–Z only; other bytes compare as they are).
inline bool ascii_iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    unsigned char x = static_cast<unsigned char>(a[i]), y = static_cast<unsigned char>(b[i]);
    if (x == y) continue;
    unsigned char lx = x | 0x20;  // the two differ only in the case bit, and are letters
    if ((x ^ y) != 0x20 || lx < 'a' || lx > 'z') return false;
  }
  return true;
}

}  // namespace meshsim
