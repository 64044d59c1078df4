// Statistics of benchmark comparisons against values from independent
// sources: scipy's and R's documented examples, the Mann–Whitney critical
// value table, and a tie-corrected normal approximation worked by hand.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "reports/bench_compare.h"
#include "reports/bench_stats.h"

namespace meshsim::reports {
namespace {

TEST(Quantile, InterpolatesLinearlyLikeRType7) {
  EXPECT_DOUBLE_EQ(quantile({4, 1, 3, 2}, 0.25), 1.75);
  EXPECT_DOUBLE_EQ(median({4, 1, 3, 2}), 2.5);
  EXPECT_DOUBLE_EQ(median({5}), 5);
  EXPECT_DOUBLE_EQ(quantile({1, 2, 3, 4, 5}, 0.75), 4);
}

// scipy.stats.mannwhitneyu documentation: ages of male and female faculty.
// U = 17; method="exact" gives p = 0.1111111111111111 (2 · 7/126: 7 of the 126
// splits have U <= 3); method="asymptotic" gives p = 0.11134688653314041.
TEST(MannWhitney, MatchesScipysDocumentedExample) {
  std::vector<double> males = {19, 22, 16, 29, 24}, females = {20, 11, 17, 12};
  MannWhitneyResult exact = mann_whitney_u(males, females, MannWhitneyMethod::kExact);
  EXPECT_DOUBLE_EQ(exact.u, 17);
  EXPECT_TRUE(exact.exact);
  EXPECT_NEAR(exact.p_value, 0.1111111111111111, 1e-12);
  MannWhitneyResult approx = mann_whitney_u(males, females, MannWhitneyMethod::kAsymptotic);
  EXPECT_FALSE(approx.exact);
  EXPECT_NEAR(approx.p_value, 0.11134688653314041, 1e-9);
  // U of the other sample: n1·n2 − U; the same two-sided p.
  EXPECT_DOUBLE_EQ(mann_whitney_u(females, males).u, 3);
  EXPECT_NEAR(mann_whitney_u(females, males).p_value, 0.1111111111111111, 1e-12);
}

// R's ?wilcox.test example (Hollander & Wolfe 1973, p. 69): W = 35 and, one-
// sided ("greater"), p = 0.1272; two-sided is twice that.
TEST(MannWhitney, MatchesRsWilcoxTestExample) {
  std::vector<double> x = {0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46};
  std::vector<double> y = {1.15, 0.88, 0.90, 0.74, 1.21};
  MannWhitneyResult r = mann_whitney_u(x, y);
  EXPECT_DOUBLE_EQ(r.u, 35);
  EXPECT_TRUE(r.exact);
  EXPECT_NEAR(r.p_value, 2 * 0.1272, 5e-4);
}

// Critical values of U, two-sided alpha = 0.05 (the textbook table): the test
// rejects at U <= critical and not at critical + 1.
TEST(MannWhitney, ExactDistributionReproducesTheCriticalValueTable) {
  struct Row {
    size_t n1, n2;
    double critical;
  };
  for (Row r : {Row{5, 5, 2}, Row{8, 8, 13}, Row{10, 10, 23}, Row{20, 20, 127}, Row{6, 9, 10}}) {
    EXPECT_LE(mann_whitney_exact_p(r.critical, r.n1, r.n2), 0.05) << r.n1 << "x" << r.n2;
    EXPECT_GT(mann_whitney_exact_p(r.critical + 1, r.n1, r.n2), 0.05) << r.n1 << "x" << r.n2;
  }
}

// By hand: x = 1 2 2 3, y = 2 3 4 5. Mid-ranks 1, 3, 3, 5.5 for x, so
// R = 12.5 and U = 12.5 − 10 = 2.5. Ties: a triple (3³−3 = 24) and a pair
// (2³−2 = 6). var = 16/12 · (9 − 30/56) = 11.285714; z = (13.5 − 8 − 0.5) /
// 3.359422 = 1.488351; p = 2 (1 − Φ(1.488351)) = 0.13666.
TEST(MannWhitney, CorrectsForTiesInTheNormalApproximation) {
  MannWhitneyResult r = mann_whitney_u({1, 2, 2, 3}, {2, 3, 4, 5});
  EXPECT_DOUBLE_EQ(r.u, 2.5);
  EXPECT_FALSE(r.exact);  // ties: never the exact distribution
  EXPECT_NEAR(r.p_value, 0.13666, 2e-4);
}

TEST(MannWhitney, IdenticalSamplesAreNotDifferent) {
  EXPECT_DOUBLE_EQ(mann_whitney_u({3, 3, 3}, {3, 3, 3}).p_value, 1);
}

TEST(MannWhitney, SmallestReachablePValue) {
  EXPECT_NEAR(mann_whitney_min_p(3, 3), 0.1, 1e-12);         // 2 / C(6, 3)
  EXPECT_NEAR(mann_whitney_min_p(4, 4), 2.0 / 70, 1e-12);    // 2 / C(8, 4)
  EXPECT_NEAR(mann_whitney_min_p(5, 4), 2.0 / 126, 1e-12);
}

TEST(Bootstrap, IsDeterministicAndBracketsTheRatio) {
  std::vector<double> a = {100, 102, 98, 101, 99, 100, 103};
  std::vector<double> b = {120, 118, 123, 121, 119, 122, 120};
  Interval i1 = bootstrap_median_ratio(a, b);
  Interval i2 = bootstrap_median_ratio(a, b);
  EXPECT_EQ(i1.low, i2.low);
  EXPECT_EQ(i1.high, i2.high);
  EXPECT_LT(i1.low, 1.2);
  EXPECT_GT(i1.high, 1.2);
  EXPECT_GT(i1.low, 1.1);
}

std::vector<double> noisy(std::mt19937_64& rng, double base, size_t n, double sd = 0.02) {
  std::normal_distribution<double> d(0, sd);
  std::vector<double> v;
  for (size_t i = 0; i < n; ++i) v.push_back(base * (1 + d(rng)));
  return v;
}

TEST(Compare, NamesATwentyPercentRegressionAndNotTheNoise) {
  CompareOptions o;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    std::mt19937_64 rng(seed);
    EXPECT_EQ(compare_benchmark("slow", noisy(rng, 1000, 10), noisy(rng, 1200, 10), o).verdict, Verdict::kRegressed);
    EXPECT_EQ(compare_benchmark("same", noisy(rng, 1000, 10), noisy(rng, 1000, 10), o).verdict, Verdict::kUnchanged);
    EXPECT_EQ(compare_benchmark("fast", noisy(rng, 1000, 10), noisy(rng, 800, 10), o).verdict, Verdict::kImproved);
  }
}

TEST(Compare, SmallSignificantChangesAreUnchanged) {
  CompareOptions o;
  std::mt19937_64 rng(7);
  // 2 % slower with almost no noise: significant, but under the 5 % threshold.
  BenchComparison c = compare_benchmark("x", noisy(rng, 1000, 12, 0.001), noisy(rng, 1020, 12, 0.001), o);
  EXPECT_LT(c.p_value, 0.05);
  EXPECT_EQ(c.verdict, Verdict::kUnchanged);
}

TEST(Compare, TooFewSamplesOrHugeSpreadIsNoisy) {
  CompareOptions o;
  EXPECT_EQ(compare_benchmark("x", {100, 101, 99}, {150, 151, 149}, o).verdict, Verdict::kNoisy);
  EXPECT_EQ(compare_benchmark("x", {100, 180, 60, 140, 90}, {110, 50, 170, 95, 130}, o).verdict, Verdict::kNoisy);
  EXPECT_EQ(compare_benchmark("x", {}, {1, 2}, o).verdict, Verdict::kMissing);
  // Five noisy samples a side: not significant, and the interval reaches past ±5 %.
  BenchComparison wide = compare_benchmark("x", {100, 112, 95, 104, 91}, {99, 108, 90, 115, 96}, o);
  EXPECT_LT(wide.ci_low, 0.95);
  EXPECT_GT(wide.ci_high, 1.05);
  EXPECT_EQ(wide.verdict, Verdict::kNoisy) << wide.note;
}

TEST(Compare, DeterministicMetricsNeedNoTest) {
  CompareOptions o;
  o.deterministic_metric = true;
  EXPECT_EQ(compare_benchmark("i", {1000000}, {1060000}, o).verdict, Verdict::kRegressed);
  EXPECT_EQ(compare_benchmark("i", {1000000}, {1040000}, o).verdict, Verdict::kUnchanged);
  // Identical repetitions on both sides are deterministic whatever the metric.
  CompareOptions plain;
  EXPECT_EQ(compare_benchmark("i", {50, 50}, {60, 60}, plain).verdict, Verdict::kRegressed);
}

TEST(Compare, HigherIsBetterFlipsTheDirection) {
  CompareOptions o;
  o.higher_is_better = true;
  std::mt19937_64 rng(3);
  EXPECT_EQ(compare_benchmark("events_per_s", noisy(rng, 1e6, 10), noisy(rng, 0.8e6, 10), o).verdict,
            Verdict::kRegressed);
  EXPECT_TRUE(metric_higher_is_better("events_per_s"));
  EXPECT_TRUE(metric_higher_is_better("items_per_second"));
  EXPECT_FALSE(metric_higher_is_better("real_time"));
  EXPECT_FALSE(metric_higher_is_better("allocs_per_event"));
}

TEST(Threshold, ParsesPercentagesAndFractions) {
  EXPECT_DOUBLE_EQ(*parse_threshold("5%"), 0.05);
  EXPECT_DOUBLE_EQ(*parse_threshold("0.05"), 0.05);
  EXPECT_DOUBLE_EQ(*parse_threshold("10"), 0.10);
  EXPECT_FALSE(parse_threshold("five").ok());
  EXPECT_FALSE(parse_threshold("-1%").ok());
  EXPECT_FALSE(parse_threshold("150%").ok());
}

}  // namespace
}  // namespace meshsim::reports
