#include "reports/junit.h"

#include <cstdio>
#include <fstream>
#include <map>
#include <vector>

namespace meshsim::reports {
namespace {

std::string seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", s);
  return buf;
}

std::string failure_text(const CaseResult& c) {
  std::string t;
  for (const ExpectationResult& e : c.expectations) {
    if (e.passed) continue;
    t += "expectation \"" + e.name + "\" (" + e.kind + "): expected " + e.expected + ", actual " + e.actual;
    if (!e.message.empty()) t += " — " + e.message;
    t += "\n";
  }
  if (t.empty()) t = c.message;
  return t;
}

}  // namespace

std::string xml_escape(std::string_view s) {
  std::string o;
  o.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      case '\'': o += "&apos;"; break;
      default:
        // XML 1.0 forbids most control characters, even escaped.
        if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t' && c != '\r') {
          o += "?";
        } else {
          o += c;
        }
    }
  }
  return o;
}

std::string render_junit(const RunRecord& run) {
  std::map<std::string, std::vector<const CaseResult*>> suites;
  for (const CaseResult& c : run.cases) suites[c.suite].push_back(&c);
  auto tally = [](const std::vector<const CaseResult*>& cs, CaseStatus s) {
    size_t n = 0;
    for (const CaseResult* c : cs) n += c->status == s;
    return n;
  };
  std::string x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  double total_time = 0;
  for (const CaseResult& c : run.cases) total_time += c.wall_seconds;
  x += "<testsuites name=\"meshsim conformance\" tests=\"" + std::to_string(run.cases.size()) + "\" failures=\"" +
       std::to_string(run.count(CaseStatus::kFailed)) + "\" errors=\"" + std::to_string(run.count(CaseStatus::kError)) +
       "\" skipped=\"" + std::to_string(run.count(CaseStatus::kSkipped)) + "\" time=\"" + seconds(total_time) + "\">\n";
  for (const auto& [suite, cases] : suites) {
    double t = 0;
    for (const CaseResult* c : cases) t += c->wall_seconds;
    x += "  <testsuite name=\"" + xml_escape(suite) + "\" tests=\"" + std::to_string(cases.size()) + "\" failures=\"" +
         std::to_string(tally(cases, CaseStatus::kFailed)) + "\" errors=\"" +
         std::to_string(tally(cases, CaseStatus::kError)) + "\" skipped=\"" +
         std::to_string(tally(cases, CaseStatus::kSkipped)) + "\" time=\"" + seconds(t) + "\"";
    if (!run.started_at.empty()) x += " timestamp=\"" + xml_escape(run.started_at) + "\"";
    x += ">\n";
    x += "    <properties>\n";
    x += "      <property name=\"meshsim.version\" value=\"" + xml_escape(run.meshsim_version) + "\"/>\n";
    x += "      <property name=\"meshsim.git\" value=\"" + xml_escape(run.git_revision) + "\"/>\n";
    if (!run.shard.empty()) x += "      <property name=\"shard\" value=\"" + xml_escape(run.shard) + "\"/>\n";
    x += "    </properties>\n";
    for (const CaseResult* c : cases) {
      x += "    <testcase classname=\"" + xml_escape(c->classname) + "\" name=\"" + xml_escape(c->name) +
           "\" file=\"" + xml_escape(c->file) + "\" time=\"" + seconds(c->wall_seconds) + "\"";
      std::string props = "      <properties>\n        <property name=\"seed\" value=\"" + std::to_string(c->seed) +
                          "\"/>\n        <property name=\"fingerprint\" value=\"" + xml_escape(c->fingerprint) +
                          "\"/>\n        <property name=\"profile\" value=\"" + xml_escape(c->profile) +
                          "\"/>\n      </properties>\n";
      switch (c->status) {
        case CaseStatus::kPassed:
          x += ">\n" + props + "    </testcase>\n";
          break;
        case CaseStatus::kSkipped:
          x += ">\n" + props + "      <skipped message=\"" + xml_escape(c->message) + "\"/>\n    </testcase>\n";
          break;
        case CaseStatus::kFailed: {
          std::string text = failure_text(*c);
          std::string first = text.substr(0, text.find('\n'));
          x += ">\n" + props + "      <failure type=\"expectation\" message=\"" + xml_escape(first) + "\">" +
               xml_escape(text) + "</failure>\n    </testcase>\n";
          break;
        }
        case CaseStatus::kError:
          x += ">\n" + props + "      <error type=\"error\" message=\"" + xml_escape(c->message) + "\">" +
               xml_escape(c->message) + "</error>\n    </testcase>\n";
          break;
      }
    }
    x += "  </testsuite>\n";
  }
  x += "</testsuites>\n";
  return x;
}

Status write_file_atomically(const std::string& path, const std::string& content) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) return Error{"cannot write " + path + ": cannot create " + tmp};
    f.write(content.data(), static_cast<std::streamsize>(content.size()));
    f.flush();
    if (!f) {
      std::remove(tmp.c_str());
      return Error{"cannot write " + path};
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return Error{"cannot write " + path + ": rename failed"};
  }
  return Status::Ok();
}

Status write_junit(const RunRecord& run, const std::string& path) {
  return write_file_atomically(path, render_junit(run));
}

}  // namespace meshsim::reports
