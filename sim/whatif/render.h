// Outputs of `meshsim whatif`: a cyclonus-style text table (rows grouped by
// namespace), Markdown for a pull-request comment, JSON, CSV, and SARIF 2.1.0
// whose results point at the manifest lines of the change behind each broken
// edge. docs/cli/whatif.md shows each.
#pragma once

#include <string>

#include "sim/whatif/diff.h"
#include "sim/whatif/truth_table.h"

namespace meshsim::whatif {

struct RenderOptions {
  bool changed_only = false;  // text/markdown tables: only rows with a changed cell
  std::string tool_version;   // SARIF driver version
};

// One table (no change given).
std::string table_text(const Table& t, const RenderOptions& o = {});
std::string table_json(const Table& t);
std::string table_csv(const Table& t);
std::string table_markdown(const Table& t);

// Before and after.
std::string comparison_text(const Comparison& c, const RenderOptions& o = {});
std::string comparison_markdown(const Comparison& c, const RenderOptions& o = {});
std::string comparison_json(const Comparison& c);
std::string comparison_csv(const Comparison& c);
std::string comparison_sarif(const Comparison& c, const RenderOptions& o = {});

}  // namespace meshsim::whatif
