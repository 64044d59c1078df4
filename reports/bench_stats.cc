#include "reports/bench_stats.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <map>

namespace meshsim::reports {

double quantile(std::vector<double> v, double q) {
  assert(!v.empty());
  std::sort(v.begin(), v.end());
  double h = (static_cast<double>(v.size()) - 1) * std::clamp(q, 0.0, 1.0);
  size_t lo = static_cast<size_t>(std::floor(h));
  size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (h - static_cast<double>(lo)) * (v[hi] - v[lo]);
}

double median(const std::vector<double>& values) { return quantile(values, 0.5); }

namespace {

// Frequencies of U = 0 … n1·n2 under the null hypothesis: the coefficients of
// the Gaussian binomial [n1 + n2 choose n1]_q, built with
// [i + j choose i] = [i + j - 1 choose i - 1] + q^i [i + j - 1 choose i].
std::vector<double> u_frequencies(size_t n1, size_t n2) {
  std::vector<std::vector<double>> prev(n2 + 1, std::vector<double>{1.0}), cur(n2 + 1);
  for (size_t i = 1; i <= n1; ++i) {
    cur[0] = {1.0};
    for (size_t j = 1; j <= n2; ++j) {
      std::vector<double> t(i * j + 1, 0.0);
      for (size_t k = 0; k < prev[j].size(); ++k) t[k] += prev[j][k];
      for (size_t k = 0; k < cur[j - 1].size(); ++k) t[k + i] += cur[j - 1][k];
      cur[j] = std::move(t);
    }
    std::swap(prev, cur);
  }
  return prev[n2];
}

}  // namespace

double mann_whitney_exact_p(double u, size_t n1, size_t n2) {
  std::vector<double> f = u_frequencies(n1, n2);
  double total = 0;
  for (double x : f) total += x;
  double mn = static_cast<double>(n1 * n2);
  double upper = std::max(u, mn - u);
  double tail = 0;
  for (size_t k = static_cast<size_t>(std::ceil(upper)); k < f.size(); ++k) tail += f[k];
  return std::min(1.0, 2 * tail / total);
}

double mann_whitney_min_p(size_t n1, size_t n2) {
  // C(n1 + n2, n1) as a product of ratios.
  double c = 1;
  for (size_t i = 1; i <= n1; ++i) c = c * static_cast<double>(n2 + i) / static_cast<double>(i);
  return std::min(1.0, 2 / c);
}

MannWhitneyResult mann_whitney_u(const std::vector<double>& a, const std::vector<double>& b, MannWhitneyMethod method) {
  assert(!a.empty() && !b.empty());
  const size_t n1 = a.size(), n2 = b.size(), n = n1 + n2;
  // Mid-ranks of the pooled sample.
  std::vector<std::pair<double, int>> pooled;
  pooled.reserve(n);
  for (double x : a) pooled.emplace_back(x, 0);
  for (double x : b) pooled.emplace_back(x, 1);
  std::sort(pooled.begin(), pooled.end(), [](const auto& l, const auto& r) { return l.first < r.first; });
  double rank_sum_a = 0, tie_term = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && pooled[j].first == pooled[i].first) ++j;
    double t = static_cast<double>(j - i);
    double mid = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2;
    for (size_t k = i; k < j; ++k) {
      if (pooled[k].second == 0) rank_sum_a += mid;
    }
    tie_term += t * t * t - t;
    i = j;
  }
  MannWhitneyResult r;
  const double dn1 = static_cast<double>(n1), dn2 = static_cast<double>(n2), dn = static_cast<double>(n);
  r.u = rank_sum_a - dn1 * (dn1 + 1) / 2;
  bool ties = tie_term > 0;
  bool exact = method == MannWhitneyMethod::kExact ||
               (method == MannWhitneyMethod::kAuto && n1 < 50 && n2 < 50);
  if (exact && !ties) {
    r.exact = true;
    r.p_value = mann_whitney_exact_p(r.u, n1, n2);
    return r;
  }
  double mu = dn1 * dn2 / 2;
  double var = dn1 * dn2 / 12 * ((dn + 1) - tie_term / (dn * (dn - 1)));
  if (var <= 0) {
    r.p_value = 1;  // every value equal
    return r;
  }
  double z = (std::max(r.u, dn1 * dn2 - r.u) - mu - 0.5) / std::sqrt(var);
  r.p_value = std::clamp(std::erfc(z / std::sqrt(2.0)), 0.0, 1.0);
  return r;
}

Interval bootstrap_median_ratio(const std::vector<double>& a, const std::vector<double>& b, double confidence,
                                int resamples, uint64_t seed) {
  assert(!a.empty() && !b.empty() && resamples > 0);
  uint64_t state = seed;
  auto next = [&state] {  // splitmix64: the same stream on every platform
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  };
  std::vector<double> ra(a.size()), rb(b.size()), ratios;
  ratios.reserve(static_cast<size_t>(resamples));
  auto resample_median = [&](const std::vector<double>& src, std::vector<double>& dst) {
    for (double& x : dst) x = src[next() % src.size()];
    size_t mid = dst.size() / 2;
    std::nth_element(dst.begin(), dst.begin() + static_cast<std::ptrdiff_t>(mid), dst.end());
    double m = dst[mid];
    if (dst.size() % 2 == 0) m = (m + *std::max_element(dst.begin(), dst.begin() + static_cast<std::ptrdiff_t>(mid))) / 2;
    return m;
  };
  for (int i = 0; i < resamples; ++i) {
    double ma = resample_median(a, ra);
    double mb = resample_median(b, rb);
    ratios.push_back(ma == 0 ? (mb == 0 ? 1.0 : HUGE_VAL) : mb / ma);
  }
  std::sort(ratios.begin(), ratios.end());
  double tail = (1 - confidence) / 2;
  double last = static_cast<double>(ratios.size() - 1);
  return {ratios[static_cast<size_t>(std::floor(tail * last))], ratios[static_cast<size_t>(std::ceil((1 - tail) * last))]};
}

}  // namespace meshsim::reports
