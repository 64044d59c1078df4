// Statistics for benchmark comparisons, all deterministic: the same samples
// give the same numbers on every machine (the bootstrap draws from a fixed
// seed). The Mann–Whitney U test follows R's wilcox.test and scipy's
// mannwhitneyu: two-sided; the exact null distribution when both samples have
// fewer than 50 values and no ties, otherwise the normal approximation with
// tie correction and continuity correction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace meshsim::reports {

// Quantile q in [0, 1] by linear interpolation between order statistics
// (R's type 7, numpy's default). Precondition: values not empty.
double quantile(std::vector<double> values, double q);
double median(const std::vector<double>& values);

enum class MannWhitneyMethod { kAuto, kExact, kAsymptotic };

struct MannWhitneyResult {
  double u = 0;        // U of the first sample: #{(a, b) : a > b} + #{a == b} / 2
  double p_value = 1;  // two-sided
  bool exact = false;
};

// Preconditions: both samples non-empty. kExact with ties falls back to the
// asymptotic method (the exact distribution assumes no ties).
MannWhitneyResult mann_whitney_u(const std::vector<double>& a, const std::vector<double>& b,
                                 MannWhitneyMethod method = MannWhitneyMethod::kAuto);
// Two-sided exact p-value of U = u for samples of sizes n1, n2 without ties.
double mann_whitney_exact_p(double u, size_t n1, size_t n2);
// The smallest two-sided p-value samples of these sizes can reach: 2 / C(n1 + n2, n1).
double mann_whitney_min_p(size_t n1, size_t n2);

struct Interval {
  double low = 0;
  double high = 0;
};

// Percentile bootstrap interval for median(b) / median(a): `resamples` draws
// with replacement from each sample, from a fixed-seed generator.
Interval bootstrap_median_ratio(const std::vector<double>& a, const std::vector<double>& b, double confidence = 0.95,
                                int resamples = 2000, uint64_t seed = 0x6d65736873696dull);

}  // namespace meshsim::reports
