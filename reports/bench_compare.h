// Benchmark comparisons the way asv decides them: per benchmark, the ratio of
// medians B/A with a bootstrap confidence interval, and a verdict — a change
// counts only when it is statistically significant (two-sided Mann–Whitney U,
// alpha 0.05) AND larger than the threshold (default 5 %). For a deterministic
// metric (instructions retired) the test is not needed: any change beyond the
// threshold counts. "noisy" says the samples cannot tell: too few for the test
// to ever reach alpha, or — without a significant difference — a spread
// (interquartile range / median) above four times the threshold, or a 95 %
// interval of the ratio that reaches beyond the threshold on both sides.
// Pure functions of the samples.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "proxy/base/result.h"
#include "reports/bench_model.h"

namespace meshsim::reports {

enum class Verdict { kImproved, kRegressed, kUnchanged, kNoisy, kMissing };
const char* to_string(Verdict v);

struct CompareOptions {
  double threshold = 0.05;  // relative effect size
  double alpha = 0.05;
  bool higher_is_better = false;      // times, instructions: lower is better
  bool deterministic_metric = false;  // every run of the same code gives the same value
  bool confidence_interval = true;    // bootstrap (the report skips it)
};

struct BenchComparison {
  std::string name;
  size_t n_a = 0, n_b = 0;
  double median_a = 0, median_b = 0;
  double ratio = 0;                 // median_b / median_a
  double ci_low = 0, ci_high = 0;   // 95 % bootstrap interval of the ratio
  double p_value = 1;               // Mann–Whitney, two-sided (1 when not tested)
  bool tested = false;
  Verdict verdict = Verdict::kUnchanged;
  std::string note;                 // why noisy / missing / deterministic
};

BenchComparison compare_benchmark(const std::string& name, const std::vector<double>& a, const std::vector<double>& b,
                                  const CompareOptions& options);
// Every benchmark of either side, by name.
std::vector<BenchComparison> compare_all(const std::map<std::string, std::vector<double>>& a,
                                         const std::map<std::string, std::vector<double>>& b,
                                         const CompareOptions& options);

// The values of `metric` per benchmark: "real_time" and "cpu_time" (ns) or a
// counter/measure by name (case-insensitive: "instructions" finds Google
// Benchmark's INSTRUCTIONS perf counter too). Repetitions and whole-process
// rows count; a benchmark recorded with aggregates only contributes its median.
std::map<std::string, std::vector<double>> metric_values(const std::vector<BenchSample>& samples,
                                                         const std::string& metric);
// Every metric name present in the samples (for "did you mean" messages).
std::vector<std::string> metric_names(const std::vector<BenchSample>& samples);
// "…_per_s", "…per_second", "…_rate", "throughput", "vs_…" (a rate relative
// to a floor) are better when higher; times, counts and everything else lower.
bool metric_higher_is_better(const std::string& metric);
bool metric_is_time(const std::string& metric);

enum class CompareFormat { kTable, kMarkdown, kJson };
struct CompareHeader {
  std::string a, b;  // what was compared ("recording 3 (…)", "base.json")
  std::string metric;
  CompareOptions options;
};
std::string render_comparison(const std::vector<BenchComparison>& rows, const CompareHeader& header,
                              CompareFormat format);
// "5%", "5 %", "0.05" and "5" (a bare number >= 1 is a percentage) → 0.05.
Result<double> parse_threshold(const std::string& text);
// "1.23 ms" for a time metric, "%.4g" for others.
std::string format_metric_value(double v, bool is_time);

}  // namespace meshsim::reports
