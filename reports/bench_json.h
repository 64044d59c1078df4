// Reads Google Benchmark's JSON output (--benchmark_format=json or
// --benchmark_out) from any project: the "context" object and every entry of
// "benchmarks" — iteration rows (one per repetition, repetition_index), aggregate
// rows (mean/median/stddev/cv, aggregate_name), times in any time_unit
// (converted to nanoseconds) and every other numeric field as a user counter.
// Errored benchmarks and BigO/RMS rows are skipped with a warning. Errors name
// the file and, for malformed JSON, its line:column.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "proxy/base/result.h"
#include "reports/bench_model.h"

namespace meshsim::reports {

struct BenchJsonFile {
  std::string context_json;  // the "context" object, re-serialised
  // Scalar fields of "context" as text ("num_cpus" → "2", "library_build_type" → "release").
  std::vector<std::pair<std::string, std::string>> context;
  std::vector<BenchSample> samples;  // in file order; source = `source`
  std::vector<std::string> warnings;

  std::string context_value(const std::string& key) const;
};

// `file` names the input in messages ("results.json:3:14: …"); `source` is
// stored as each sample's source.
Result<BenchJsonFile> parse_benchmark_json(std::string_view text, const std::string& file, const std::string& source);
Result<BenchJsonFile> read_benchmark_json(const std::string& path);

// 1-based line and column of a byte offset into text.
std::pair<size_t, size_t> line_column(std::string_view text, size_t offset);

}  // namespace meshsim::reports
