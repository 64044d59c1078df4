// What-if runs in the results database (schema version 3,
// docs/formats/results-db.md): `meshsim whatif --db FILE` records the table it
// computed (or the head of a comparison, with each cell's symbol before the
// change), so `meshsim report` can draw the connectivity heatmap. Plain
// strings: reports/ knows nothing of the simulation. One transaction per run.
#pragma once

#include <string>
#include <vector>

#include "proxy/base/result.h"

namespace meshsim::reports {

struct WhatifCellRecord {
  std::string source, destination;
  std::string symbol;   // "M", "P", "D", …
  std::string before;   // comparisons: the symbol before the change ("" = same, "-" = absent)
  std::string outcome;  // "ok" for M/P, else the symbol's meaning
  std::string reason;
};

struct WhatifRunRecord {
  std::string started_at, git_revision, command;
  bool comparison = false;
  size_t broken = 0, fixed = 0, changed = 0;
  std::vector<WhatifCellRecord> cells;
};

// Appends the run; returns its id.
Result<int64_t> record_whatif(const std::string& db_path, const WhatifRunRecord& run);

}  // namespace meshsim::reports
