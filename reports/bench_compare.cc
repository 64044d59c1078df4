#include "reports/bench_compare.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <set>

#include "reports/bench_stats.h"

namespace meshsim::reports {

const char* to_string(Verdict v) {
  switch (v) {
    case Verdict::kImproved: return "improved";
    case Verdict::kRegressed: return "regressed";
    case Verdict::kUnchanged: return "unchanged";
    case Verdict::kNoisy: return "noisy";
    case Verdict::kMissing: return "missing";
  }
  return "unknown";
}

namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

double relative_spread(const std::vector<double>& v) {
  double m = median(v);
  if (m == 0) return 0;
  return (quantile(v, 0.75) - quantile(v, 0.25)) / std::fabs(m);
}

bool constant(const std::vector<double>& v) {
  return std::all_of(v.begin(), v.end(), [&](double x) { return x == v.front(); });
}

std::string percent(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g %%", x * 100);
  return buf;
}

}  // namespace

BenchComparison compare_benchmark(const std::string& name, const std::vector<double>& a, const std::vector<double>& b,
                                  const CompareOptions& o) {
  BenchComparison c;
  c.name = name;
  c.n_a = a.size();
  c.n_b = b.size();
  if (a.empty() || b.empty()) {
    c.verdict = Verdict::kMissing;
    c.note = a.empty() ? "only in B" : "only in A";
    if (!a.empty()) c.median_a = median(a);
    if (!b.empty()) c.median_b = median(b);
    return c;
  }
  c.median_a = median(a);
  c.median_b = median(b);
  c.ratio = c.median_a == 0 ? (c.median_b == 0 ? 1.0 : HUGE_VAL) : c.median_b / c.median_a;
  if (o.confidence_interval) {
    Interval ci = bootstrap_median_ratio(a, b);
    c.ci_low = ci.low;
    c.ci_high = ci.high;
  } else {
    c.ci_low = c.ci_high = c.ratio;
  }
  const bool worse = o.higher_is_better ? c.ratio < 1 : c.ratio > 1;
  const bool beyond = std::fabs(c.ratio - 1) > o.threshold;
  const Verdict changed = worse ? Verdict::kRegressed : Verdict::kImproved;
  // Deterministic: a deterministic metric, or both sides without any spread
  // over at least two samples each.
  if (o.deterministic_metric || (a.size() >= 2 && b.size() >= 2 && constant(a) && constant(b))) {
    c.verdict = beyond ? changed : Verdict::kUnchanged;
    c.note = "deterministic: no test needed";
    return c;
  }
  double min_p = mann_whitney_min_p(a.size(), b.size());
  if (min_p >= o.alpha) {
    c.verdict = Verdict::kNoisy;
    c.note = "too few samples (" + std::to_string(a.size()) + " vs " + std::to_string(b.size()) +
             "): the test cannot reach p < " + std::to_string(o.alpha).substr(0, 4);
    return c;
  }
  MannWhitneyResult mw = mann_whitney_u(a, b);
  c.tested = true;
  c.p_value = mw.p_value;
  bool significant = mw.p_value < o.alpha;
  if (significant && beyond) {
    c.verdict = changed;
    return c;
  }
  double spread = std::max(relative_spread(a), relative_spread(b));
  if (!significant && spread > 4 * o.threshold) {
    c.verdict = Verdict::kNoisy;
    c.note = "spread (IQR/median) " + percent(spread) + " exceeds four times the threshold";
    return c;
  }
  if (!significant && o.confidence_interval && c.ci_low < 1 - o.threshold && c.ci_high > 1 + o.threshold) {
    c.verdict = Verdict::kNoisy;
    c.note = "the 95 % interval admits both a regression and an improvement beyond the threshold";
    return c;
  }
  c.verdict = Verdict::kUnchanged;
  if (significant) c.note = "significant but within the threshold";
  return c;
}

std::vector<BenchComparison> compare_all(const std::map<std::string, std::vector<double>>& a,
                                         const std::map<std::string, std::vector<double>>& b,
                                         const CompareOptions& options) {
  std::set<std::string> names;
  for (const auto& [n, v] : a) names.insert(n);
  for (const auto& [n, v] : b) names.insert(n);
  static const std::vector<double> kNone;
  std::vector<BenchComparison> out;
  for (const std::string& n : names) {
    auto ia = a.find(n);
    auto ib = b.find(n);
    out.push_back(compare_benchmark(n, ia == a.end() ? kNone : ia->second, ib == b.end() ? kNone : ib->second, options));
  }
  return out;
}

// "5%", "5 %" → 0.05; "0.05" → 0.05; "5" → 0.05 (a bare number ≥ 1 is a percentage).
Result<double> parse_threshold(const std::string& text) {
  std::string t = text;
  bool pct = false;
  while (!t.empty() && (t.back() == '%' || t.back() == ' ')) pct |= t.back() == '%', t.pop_back();
  try {
    size_t used = 0;
    double v = std::stod(t, &used);
    if (used != t.size() || v < 0) throw std::invalid_argument("bad");
    if (pct || v >= 1) v /= 100;
    if (v >= 1) throw std::invalid_argument("too big");
    return v;
  } catch (...) {
    return Error{"--threshold: expected a percentage such as 5% (or a fraction such as 0.05), got \"" + text + "\""};
  }
}

bool metric_is_time(const std::string& metric) { return metric == "real_time" || metric == "cpu_time"; }

bool metric_higher_is_better(const std::string& metric) {
  std::string m = lower(metric);
  return ends_with(m, "_per_s") || m.find("per_second") != std::string::npos || ends_with(m, "_rate") ||
         m.find("throughput") != std::string::npos || m.rfind("vs_", 0) == 0;
}

std::map<std::string, std::vector<double>> metric_values(const std::vector<BenchSample>& samples,
                                                         const std::string& metric) {
  std::map<std::string, std::vector<double>> reps, medians;
  const std::string want = lower(metric);
  for (const BenchSample& s : samples) {
    std::optional<double> v;
    if (metric == "real_time") v = s.real_time_ns;
    else if (metric == "cpu_time") v = s.cpu_time_ns;
    else {
      for (const auto& [k, x] : s.metrics) {
        if (lower(k) == want) v = x;
      }
    }
    if (!v) continue;
    if (s.run_type == "aggregate") {
      if (s.aggregate == "median") medians[s.name].push_back(*v);
    } else {
      reps[s.name].push_back(*v);
    }
  }
  for (auto& [name, v] : medians) {
    if (!reps.count(name)) reps[name] = v;
  }
  return reps;
}

std::vector<std::string> metric_names(const std::vector<BenchSample>& samples) {
  std::set<std::string> names;
  for (const BenchSample& s : samples) {
    if (s.real_time_ns) names.insert("real_time");
    if (s.cpu_time_ns) names.insert("cpu_time");
    for (const auto& [k, x] : s.metrics) names.insert(k);
  }
  return {names.begin(), names.end()};
}

std::string format_metric_value(double v, bool is_time) {
  char buf[48];
  if (!is_time) {
    std::snprintf(buf, sizeof buf, "%.4g", v);
    return buf;
  }
  const char* unit = "ns";
  double x = v;
  if (std::fabs(v) >= 1e9) x = v / 1e9, unit = "s";
  else if (std::fabs(v) >= 1e6) x = v / 1e6, unit = "ms";
  else if (std::fabs(v) >= 1e3) x = v / 1e3, unit = "us";
  std::snprintf(buf, sizeof buf, "%.4g %s", x, unit);
  return buf;
}

namespace {

std::string fixed(double x, const char* fmt = "%.3f") {
  if (std::isinf(x)) return "inf";
  char buf[48];
  std::snprintf(buf, sizeof buf, fmt, x);
  return buf;
}

std::string p_text(const BenchComparison& c) {
  if (!c.tested) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, c.p_value < 0.001 ? "%.1e" : "%.3f", c.p_value);
  return buf;
}

nlohmann::json number_or_null(double x) { return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(); }

}  // namespace

std::string render_comparison(const std::vector<BenchComparison>& rows, const CompareHeader& h, CompareFormat format) {
  const bool is_time = metric_is_time(h.metric);
  if (format == CompareFormat::kJson) {
    nlohmann::json j;
    j["a"] = h.a;
    j["b"] = h.b;
    j["metric"] = h.metric;
    j["threshold"] = h.options.threshold;
    j["alpha"] = h.options.alpha;
    j["higher_is_better"] = h.options.higher_is_better;
    j["benchmarks"] = nlohmann::json::array();
    for (const auto& c : rows) {
      nlohmann::json r;
      r["name"] = c.name;
      r["verdict"] = to_string(c.verdict);
      r["n_a"] = c.n_a;
      r["n_b"] = c.n_b;
      r["median_a"] = c.n_a ? number_or_null(c.median_a) : nlohmann::json();
      r["median_b"] = c.n_b ? number_or_null(c.median_b) : nlohmann::json();
      bool both = c.verdict != Verdict::kMissing;
      r["ratio"] = both ? number_or_null(c.ratio) : nlohmann::json();
      r["ci95"] = both ? nlohmann::json::array({number_or_null(c.ci_low), number_or_null(c.ci_high)}) : nlohmann::json();
      r["p_value"] = c.tested ? nlohmann::json(c.p_value) : nlohmann::json();
      r["note"] = c.note;
      j["benchmarks"].push_back(r);
    }
    return j.dump(2) + "\n";
  }
  std::string out;
  size_t counts[5] = {};
  for (const auto& c : rows) ++counts[static_cast<int>(c.verdict)];
  std::string summary = std::to_string(rows.size()) + " benchmarks: " + std::to_string(counts[1]) + " regressed, " +
                        std::to_string(counts[0]) + " improved, " + std::to_string(counts[2]) + " unchanged, " +
                        std::to_string(counts[3]) + " noisy, " + std::to_string(counts[4]) + " missing";
  std::string rule = "threshold " + fixed(h.options.threshold * 100, "%.3g") + " %, alpha " +
                     fixed(h.options.alpha, "%.3g") + (h.options.higher_is_better ? ", higher is better" : "");
  if (format == CompareFormat::kMarkdown) {
    out += "**A** " + h.a + " · **B** " + h.b + " · metric `" + h.metric + "` · " + rule + "\n\n";
    out += "| benchmark | A median | B median | B/A | 95 % CI | p | verdict |\n";
    out += "|---|---:|---:|---:|---|---:|---|\n";
    for (const auto& c : rows) {
      bool both = c.verdict != Verdict::kMissing;
      std::string v = to_string(c.verdict);
      if (c.verdict == Verdict::kRegressed || c.verdict == Verdict::kImproved) v = "**" + v + "**";
      if (!c.note.empty()) v += " (" + c.note + ")";
      out += "| `" + c.name + "` | " + (c.n_a ? format_metric_value(c.median_a, is_time) : "-") + " | " +
             (c.n_b ? format_metric_value(c.median_b, is_time) : "-") + " | " + (both ? fixed(c.ratio) : "-") + " | " +
             (both ? "[" + fixed(c.ci_low) + ", " + fixed(c.ci_high) + "]" : "-") + " | " + p_text(c) + " | " + v +
             " |\n";
    }
    out += "\n" + summary + "\n";
    return out;
  }
  size_t w = 9;
  for (const auto& c : rows) w = std::max(w, c.name.size());
  out += "A: " + h.a + "\nB: " + h.b + "\nmetric " + h.metric + ", " + rule + "\n\n";
  char line[512];
  std::snprintf(line, sizeof line, "%-*s %6s %12s %12s %7s %17s %8s  %s\n", static_cast<int>(w), "BENCHMARK", "N A/B",
                "A MEDIAN", "B MEDIAN", "B/A", "95% CI", "P", "VERDICT");
  out += line;
  for (const auto& c : rows) {
    bool both = c.verdict != Verdict::kMissing;
    std::string n = std::to_string(c.n_a) + "/" + std::to_string(c.n_b);
    std::string ci = both ? "[" + fixed(c.ci_low) + ", " + fixed(c.ci_high) + "]" : "-";
    std::string v = to_string(c.verdict);
    if (!c.note.empty()) v += " (" + c.note + ")";
    std::snprintf(line, sizeof line, "%-*s %6s %12s %12s %7s %17s %8s  %s\n", static_cast<int>(w), c.name.c_str(),
                  n.c_str(), c.n_a ? format_metric_value(c.median_a, is_time).c_str() : "-",
                  c.n_b ? format_metric_value(c.median_b, is_time).c_str() : "-", both ? fixed(c.ratio).c_str() : "-",
                  ci.c_str(), p_text(c).c_str(), v.c_str());
    out += line;
  }
  out += "\n" + summary + "\n";
  return out;
}

}  // namespace meshsim::reports
