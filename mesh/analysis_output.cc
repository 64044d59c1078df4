#include "mesh/analysis_output.h"

#include <nlohmann/json.hpp>

#include <map>

#include "mesh/analyzers.h"

namespace meshsim::mesh {

namespace {

struct Counts {
  size_t errors = 0, warnings = 0, infos = 0;
};
Counts count(const std::vector<Diagnostic>& diags) {
  Counts c;
  for (const auto& d : diags) {
    if (d.severity == Severity::kError) ++c.errors;
    else if (d.severity == Severity::kWarning) ++c.warnings;
    else ++c.infos;
  }
  return c;
}

}  // namespace

std::string format_log(const std::vector<Diagnostic>& diags, size_t files) {
  std::string out;
  for (const auto& d : diags) {
    out += severity_name(d.severity);
    out += " [" + d.code + "] " + d.format() + "\n";
  }
  Counts c = count(diags);
  if (diags.empty()) {
    out += "No validation issues found when analyzing " + std::to_string(files) + " file" + (files == 1 ? "" : "s") + ".\n";
  } else {
    out += std::to_string(c.errors) + " error" + (c.errors == 1 ? "" : "s") + ", " + std::to_string(c.warnings) +
           " warning" + (c.warnings == 1 ? "" : "s") + ", " + std::to_string(c.infos) + " info in " +
           std::to_string(files) + " file" + (files == 1 ? "" : "s") + ". Codes are explained in docs/analyzers.md.\n";
  }
  return out;
}

std::string format_json(const std::vector<Diagnostic>& diags) {
  nlohmann::ordered_json findings = nlohmann::ordered_json::array();
  for (const auto& d : diags) {
    const AnalyzerCode* c = find_analyzer_code(d.code);
    nlohmann::ordered_json f;
    f["level"] = severity_name(d.severity);
    f["code"] = d.code;
    f["istioCode"] = c && c->istio_code[0] ? c->istio_code : "";
    f["name"] = c ? c->name : "";
    f["file"] = d.location.file ? *d.location.file : "";
    f["line"] = d.location.line;
    f["column"] = d.location.column;
    f["resource"] = d.resource;
    f["path"] = d.path;
    f["message"] = d.message;
    findings.push_back(std::move(f));
  }
  Counts c = count(diags);
  nlohmann::ordered_json root;
  root["findings"] = std::move(findings);
  root["summary"] = {{"errors", c.errors}, {"warnings", c.warnings}, {"infos", c.infos}};
  return root.dump(2) + "\n";
}

std::string format_sarif(const std::vector<Diagnostic>& diags, const std::string& tool_version) {
  using J = nlohmann::ordered_json;
  std::map<std::string, size_t> rule_index;
  J rules = J::array();
  for (const auto& d : diags) {
    if (rule_index.count(d.code)) continue;
    rule_index[d.code] = rule_index.size();
    const AnalyzerCode* c = find_analyzer_code(d.code);
    J r;
    r["id"] = d.code;
    r["name"] = c ? c->name : d.code;
    r["shortDescription"] = {{"text", c ? c->summary : d.code}};
    r["helpUri"] = "docs/analyzers.md#" + [&] {
      std::string a = d.code;
      for (char& ch : a) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      return a;
    }();
    r["defaultConfiguration"] = {{"level", !c ? "warning" : c->severity == Severity::kError ? "error"
                                                        : c->severity == Severity::kWarning ? "warning" : "note"}};
    if (c && c->istio_code[0]) r["properties"] = {{"istioCode", c->istio_code}};
    rules.push_back(std::move(r));
  }
  J results = J::array();
  for (const auto& d : diags) {
    J res;
    res["ruleId"] = d.code;
    res["ruleIndex"] = rule_index[d.code];
    res["level"] = d.severity == Severity::kError ? "error" : d.severity == Severity::kWarning ? "warning" : "note";
    std::string text;
    if (!d.resource.empty()) text += d.resource + ": ";
    if (!d.path.empty()) text += d.path + ": ";
    text += d.message;
    res["message"] = {{"text", text}};
    if (d.location.file) {
      J phys;
      phys["artifactLocation"] = {{"uri", *d.location.file}};
      if (d.location.line > 0) {
        J region;
        region["startLine"] = d.location.line;
        if (d.location.column > 0) region["startColumn"] = d.location.column;
        phys["region"] = std::move(region);
      }
      res["locations"] = J::array({J{{"physicalLocation", std::move(phys)}}});
    }
    results.push_back(std::move(res));
  }
  J run;
  run["tool"] = {{"driver",
                  {{"name", "meshsim"},
                   {"version", tool_version},
                   {"informationUri", "https://github.com/meshsim/meshsim"},
                   {"rules", std::move(rules)}}}};
  run["columnKind"] = "unicodeCodePoints";
  run["results"] = std::move(results);
  J root;
  root["$schema"] = "https://json.schemastore.org/sarif-2.1.0.json";
  root["version"] = "2.1.0";
  root["runs"] = J::array({std::move(run)});
  return root.dump(2) + "\n";
}

}  // namespace meshsim::mesh
