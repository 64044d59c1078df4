// Diagnostics are how mesh/ reports what is wrong with a user's manifests:
// a severity, a stable code (MSxxxx, see docs/analyzers.md), the location of
// the offending object or field (file, 1-based line and column), the resource
// it belongs to ("DestinationRule default/reviews"), the field path
// ("spec.trafficPolicy.tls.mode") and a message.
//
// Locations are trivially copyable: the file name is interned for the life of
// the process (intern_file), so objects, fields and diagnostics can carry them
// freely. Plain data; no threading concerns beyond intern_file's own lock.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace meshsim::mesh {

// Returns a stable pointer to an interned copy of `path` (never freed).
const std::string* intern_file(std::string_view path);

struct Location {
  const std::string* file = nullptr;  // interned; nullptr = unknown
  uint32_t line = 0;                  // 1-based; 0 = unknown
  uint32_t column = 0;                // 1-based; 0 = unknown

  bool known() const { return file != nullptr; }
  // "reviews.yaml:14:7" (or "reviews.yaml" / "<unknown>" when parts are missing).
  std::string str() const;
};

enum class Severity : uint8_t { kError = 0, kWarning = 1, kInfo = 2 };

// "Error", "Warning", "Info".
const char* severity_name(Severity s);
// Parses "Error|Warning|Info" (case-insensitive); false on anything else.
bool parse_severity(std::string_view text, Severity* out);

struct Diagnostic {
  Severity severity = Severity::kError;
  std::string code;       // "MS0001"; see docs/analyzers.md
  Location location;
  std::string resource;   // "DestinationRule default/reviews"; empty for file-level problems
  std::string path;       // field path, "spec.trafficPolicy.tls.mode"; may be empty
  std::string message;    // what is wrong, what happens at runtime, how to fix

  // "reviews.yaml:14:7: DestinationRule default/reviews: spec.trafficPolicy.tls.mode: <message>"
  std::string format() const;
};

// Stable ordering for output: by file, line, column, then code and message.
void sort_diagnostics(std::vector<Diagnostic>& diags);

bool has_errors(const std::vector<Diagnostic>& diags);

}  // namespace meshsim::mesh
