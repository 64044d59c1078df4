#include "reports/conformance_report.h"

#include <map>
#include <vector>

#include "reports/junit.h"

namespace meshsim::reports {
namespace {

std::string yaml_quote(std::string_view s) {
  std::string o = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\';
    if (c == '\n') {
      o += "\\n";
      continue;
    }
    o += c;
  }
  return o + "\"";
}

}  // namespace

std::string render_conformance_report(const RunRecord& run) {
  std::map<std::string, std::vector<const CaseResult*>> profiles;
  for (const CaseResult& c : run.cases) profiles[c.profile.empty() ? "MESH-CORE" : c.profile].push_back(&c);
  std::string y;
  y += "apiVersion: meshsim.io/v1alpha1\n";
  y += "kind: ConformanceReport\n";
  if (!run.started_at.empty()) y += "date: " + yaml_quote(run.started_at) + "\n";
  y += "implementation:\n";
  y += "  organization: meshsim\n";
  y += "  project: meshsim\n";
  y += "  version: " + yaml_quote(run.meshsim_version) + "\n";
  y += "  revision: " + yaml_quote(run.git_revision) + "\n";
  y += "mode: default\n";
  if (!run.shard.empty()) y += "shard: " + yaml_quote(run.shard) + "\n";
  y += "profiles:\n";
  for (const auto& [name, cases] : profiles) {
    size_t passed = 0, failed = 0, skipped = 0;
    std::vector<std::string> failed_names, skipped_names;
    for (const CaseResult* c : cases) {
      if (c->status == CaseStatus::kPassed) ++passed;
      else if (c->status == CaseStatus::kSkipped) {
        ++skipped;
        skipped_names.push_back(c->classname + (c->message.empty() ? "" : " (" + c->message + ")"));
      } else {
        ++failed;
        failed_names.push_back(c->classname);
      }
    }
    std::string result = failed > 0 ? "failure" : (skipped > 0 ? "partial" : "success");
    y += "- name: " + name + "\n";
    y += "  core:\n";
    y += "    result: " + result + "\n";
    y += "    statistics:\n";
    y += "      Failed: " + std::to_string(failed) + "\n";
    y += "      Passed: " + std::to_string(passed) + "\n";
    y += "      Skipped: " + std::to_string(skipped) + "\n";
    y += "    failedTests:" + std::string(failed_names.empty() ? " []\n" : "\n");
    for (const std::string& n : failed_names) y += "    - " + yaml_quote(n) + "\n";
    y += "    skippedTests:" + std::string(skipped_names.empty() ? " []\n" : "\n");
    for (const std::string& n : skipped_names) y += "    - " + yaml_quote(n) + "\n";
    // Cases whose mesh holds something meshsim does not simulate: their
    // verdict does not account for it (mesh/coverage.h).
    std::vector<const CaseResult*> partial;
    for (const CaseResult* c : cases) {
      if (!c->not_modelled.empty()) partial.push_back(c);
    }
    y += "    notModelled:" + std::string(partial.empty() ? " []\n" : "\n");
    for (const CaseResult* c : partial) {
      y += "    - test: " + yaml_quote(c->classname) + "\n      inputs:\n";
      for (const std::string& n : c->not_modelled) y += "      - " + yaml_quote(n) + "\n";
    }
  }
  return y;
}

Status write_conformance_report(const RunRecord& run, const std::string& path) {
  return write_file_atomically(path, render_conformance_report(run));
}

}  // namespace meshsim::reports
