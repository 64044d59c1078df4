#include "reports/bench_json.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace meshsim::reports {
namespace {

using nlohmann::json;

// Fields of a benchmark entry that are not user counters.
const std::set<std::string>& known_fields() {
  static const std::set<std::string> k = {
      "name", "family_index", "per_family_instance_index", "run_name", "run_type", "repetitions",
      "repetition_index", "threads", "iterations", "real_time", "cpu_time", "time_unit", "aggregate_name",
      "aggregate_unit", "error_occurred", "error_message", "label", "big_o", "rms", "complexity",
      "cpu_coefficient", "real_coefficient"};
  return k;
}

Result<double> unit_factor(const std::string& unit) {
  if (unit == "ns") return 1.0;
  if (unit == "us") return 1e3;
  if (unit == "ms") return 1e6;
  if (unit == "s") return 1e9;
  return Error{"unknown time_unit \"" + unit + "\" (expected ns, us, ms or s)"};
}

// Older Google Benchmark versions write no run_type: aggregates are then
// recognisable only by their name suffix.
std::string aggregate_suffix(const std::string& name) {
  for (const char* s : {"_mean", "_median", "_stddev", "_cv"}) {
    std::string suffix = s;
    if (name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      return suffix.substr(1);
    }
  }
  return "";
}

std::string scalar_text(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

}  // namespace

std::string BenchJsonFile::context_value(const std::string& key) const {
  for (const auto& [k, v] : context) {
    if (k == key) return v;
  }
  return "";
}

std::pair<size_t, size_t> line_column(std::string_view text, size_t offset) {
  offset = std::min(offset, text.size());
  size_t line = 1, line_start = 0;
  for (size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  return {line, offset - line_start + 1};
}

Result<BenchJsonFile> parse_benchmark_json(std::string_view text, const std::string& file, const std::string& source) {
  json doc;
  try {
    doc = json::parse(text.begin(), text.end());
  } catch (const json::parse_error& e) {
    // e.byte counts the bytes read, up to the end of the offending token. A
    // parser error ("unexpected string literal") points at a whole token:
    // step back to where it starts. Lexer errors point at the bad byte.
    std::string what = e.what();
    size_t offset = e.byte == 0 ? 0 : std::min<size_t>(e.byte - 1, text.empty() ? 0 : text.size() - 1);
    if (what.find("unexpected") != std::string::npos && offset < text.size()) {
      auto literal = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '+' || c == '-'; };
      if (text[offset] == '"') {
        size_t open = offset;
        while (open > 0 && !(text[open - 1] == '"' && (open < 2 || text[open - 2] != '\\'))) --open;
        if (open > 0) offset = open - 1;
      } else if (literal(text[offset])) {
        while (offset > 0 && literal(text[offset - 1])) --offset;
      }
    }
    auto [line, col] = line_column(text, offset);
    size_t at = what.find("column");
    size_t colon = at == std::string::npos ? std::string::npos : what.find(": ", at);
    std::string detail = colon == std::string::npos ? what : what.substr(colon + 2);
    return Error{file + ":" + std::to_string(line) + ":" + std::to_string(col) + ": malformed JSON: " + detail};
  }
  auto bad = [&](const std::string& where, const std::string& what) {
    return Error{file + ": " + where + ": " + what + " (expected Google Benchmark JSON: --benchmark_format=json)"};
  };
  if (!doc.is_object()) return bad("top level", "not an object");
  if (!doc.contains("benchmarks") || !doc["benchmarks"].is_array()) return bad("benchmarks", "missing or not an array");
  BenchJsonFile out;
  if (doc.contains("context")) {
    if (!doc["context"].is_object()) return bad("context", "not an object");
    out.context_json = doc["context"].dump();
    for (const auto& [k, v] : doc["context"].items()) {
      if (v.is_primitive()) out.context.emplace_back(k, scalar_text(v));
    }
  } else {
    out.context_json = "{}";
  }
  std::map<std::string, int64_t> next_repetition;
  const json& list = doc["benchmarks"];
  for (size_t i = 0; i < list.size(); ++i) {
    const json& b = list[i];
    std::string where = "benchmarks[" + std::to_string(i) + "]";
    if (!b.is_object()) return bad(where, "not an object");
    if (!b.contains("name") || !b["name"].is_string()) return bad(where + ".name", "missing or not a string");
    std::string name = b["name"].get<std::string>();
    if (b.value("error_occurred", false)) {
      out.warnings.push_back(file + ": " + name + " reported an error (" + b.value("error_message", std::string()) +
                             "); not recorded");
      continue;
    }
    BenchSample s;
    s.source = source;
    s.name = b.contains("run_name") && b["run_name"].is_string() ? b["run_name"].get<std::string>() : name;
    if (b.contains("run_type") && b["run_type"].is_string()) {
      s.run_type = b["run_type"].get<std::string>();
      if (s.run_type != "iteration" && s.run_type != "aggregate") {
        return bad(where + ".run_type", "\"" + s.run_type + "\" is neither iteration nor aggregate");
      }
      if (s.run_type == "aggregate") s.aggregate = b.value("aggregate_name", std::string());
    } else if (std::string agg = aggregate_suffix(name); !agg.empty() && !b.contains("run_name")) {
      s.run_type = "aggregate";
      s.aggregate = agg;
      s.name = name.substr(0, name.size() - agg.size() - 1);
    }
    if (s.aggregate == "BigO" || s.aggregate == "RMS" || b.contains("big_o") || b.contains("rms")) {
      out.warnings.push_back(file + ": " + name + ": complexity rows are not recorded");
      continue;
    }
    for (const char* f : {"real_time", "cpu_time"}) {
      if (!b.contains(f) || !b[f].is_number()) return bad(where + "." + f, "missing or not a number");
    }
    for (const char* f : {"iterations", "threads", "repetition_index"}) {
      if (b.contains(f) && !b[f].is_number_integer()) return bad(where + "." + f, "not an integer");
    }
    std::string unit = b.value("time_unit", std::string("ns"));
    auto factor = unit_factor(unit);
    if (!factor.ok()) return bad(where + ".time_unit", factor.message());
    // cv aggregates are fractions, not times.
    double scale = b.value("aggregate_unit", std::string("time")) == "time" ? *factor : 1.0;
    s.real_time_ns = b["real_time"].get<double>() * scale;
    s.cpu_time_ns = b["cpu_time"].get<double>() * scale;
    s.iterations = b.value("iterations", int64_t{0});
    s.threads = b.value("threads", int64_t{1});
    s.label = b.contains("label") && b["label"].is_string() ? b["label"].get<std::string>() : "";
    if (s.run_type == "iteration") {
      int64_t& next = next_repetition[s.name];
      s.repetition = b.value("repetition_index", next);
      next = s.repetition + 1;
    }
    for (const auto& [k, v] : b.items()) {
      if (known_fields().count(k) || !v.is_number()) continue;
      s.metrics.emplace_back(k, v.get<double>());
    }
    out.samples.push_back(std::move(s));
  }
  return out;
}

Result<BenchJsonFile> read_benchmark_json(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return Error{path + ": cannot read"};
  std::stringstream ss;
  ss << f.rdbuf();
  return parse_benchmark_json(ss.str(), path, std::filesystem::path(path).filename().string());
}

}  // namespace meshsim::reports
