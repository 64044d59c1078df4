#include "mesh/suggest.h"

#include <algorithm>
#include <cctype>

namespace meshsim::mesh {

size_t edit_distance(std::string_view a, std::string_view b) {
  auto lower = [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); };
  const size_t n = a.size(), m = b.size();
  // Three rows: i-2, i-1, i (optimal string alignment distance).
  std::vector<size_t> prev2(m + 1), prev(m + 1), cur(m + 1);
  for (size_t j = 0; j <= m; ++j) prev[j] = j;
  for (size_t i = 1; i <= n; ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= m; ++j) {
      size_t cost = lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1;
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) && lower(a[i - 2]) == lower(b[j - 1])) {
        cur[j] = std::min(cur[j], prev2[j - 2] + 1);
      }
    }
    std::swap(prev2, prev);
    std::swap(prev, cur);
  }
  return prev[m];
}

namespace {

size_t max_edits(size_t len) { return len <= 4 ? 1 : len <= 8 ? 2 : 3; }

template <typename S>
std::string closest(std::string_view typed, const std::vector<S>& candidates) {
  std::string best;
  size_t best_d = max_edits(typed.size()) + 1;
  for (const auto& c : candidates) {
    std::string_view cv(c);
    if (cv == typed) return "";
    size_t d = edit_distance(typed, cv);
    if (d < best_d && d <= max_edits(std::max(typed.size(), cv.size()))) {
      best_d = d;
      best = std::string(cv);
    }
  }
  return best;
}

}  // namespace

std::string closest_match(std::string_view typed, const std::vector<std::string_view>& candidates) {
  return closest(typed, candidates);
}
std::string closest_match(std::string_view typed, const std::vector<std::string>& candidates) {
  return closest(typed, candidates);
}

std::string did_you_mean(std::string_view typed, const std::vector<std::string_view>& candidates) {
  std::string m = closest_match(typed, candidates);
  return m.empty() ? "" : " (did you mean \"" + m + "\"?)";
}
std::string did_you_mean(std::string_view typed, const std::vector<std::string>& candidates) {
  std::string m = closest_match(typed, candidates);
  return m.empty() ? "" : " (did you mean \"" + m + "\"?)";
}

}  // namespace meshsim::mesh
