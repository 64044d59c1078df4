#include "mesh/diagnostics.h"

#include <algorithm>
#include <mutex>
#include <set>
#include <tuple>

namespace meshsim::mesh {

const std::string* intern_file(std::string_view path) {
  static std::mutex mu;
  static std::set<std::string, std::less<>>* files = new std::set<std::string, std::less<>>();
  std::lock_guard<std::mutex> lock(mu);
  auto it = files->find(path);
  if (it == files->end()) it = files->emplace(path).first;
  return &*it;
}

std::string Location::str() const {
  if (!file) return "<unknown>";
  std::string s = *file;
  if (line > 0) {
    s += ':' + std::to_string(line);
    if (column > 0) s += ':' + std::to_string(column);
  }
  return s;
}

const char* severity_name(Severity s) {
  switch (s) {
    case Severity::kError: return "Error";
    case Severity::kWarning: return "Warning";
    case Severity::kInfo: return "Info";
  }
  return "Error";
}

bool parse_severity(std::string_view text, Severity* out) {
  std::string lower;
  for (char c : text) lower += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  if (lower == "error") *out = Severity::kError;
  else if (lower == "warning") *out = Severity::kWarning;
  else if (lower == "info") *out = Severity::kInfo;
  else return false;
  return true;
}

std::string Diagnostic::format() const {
  std::string s = location.str();
  s += ": ";
  if (!resource.empty()) s += resource + ": ";
  if (!path.empty()) s += path + ": ";
  s += message;
  return s;
}

void sort_diagnostics(std::vector<Diagnostic>& diags) {
  std::stable_sort(diags.begin(), diags.end(), [](const Diagnostic& a, const Diagnostic& b) {
    std::string_view fa = a.location.file ? std::string_view(*a.location.file) : std::string_view();
    std::string_view fb = b.location.file ? std::string_view(*b.location.file) : std::string_view();
    return std::tie(fa, a.location.line, a.location.column, a.code, a.message) <
           std::tie(fb, b.location.line, b.location.column, b.code, b.message);
  });
}

bool has_errors(const std::vector<Diagnostic>& diags) {
  return std::any_of(diags.begin(), diags.end(), [](const Diagnostic& d) { return d.severity == Severity::kError; });
}

}  // namespace meshsim::mesh
