#include "reports/whatif_store.h"

#include "reports/results_db.h"

namespace meshsim::reports {

Result<int64_t> record_whatif(const std::string& db_path, const WhatifRunRecord& run) {
  auto db = ResultsDb::open(db_path);
  if (!db.ok()) return Error{db.message()};
  ResultsDb& d = **db;
  if (Status st = d.exec("BEGIN IMMEDIATE", "begin what-if run"); !st.ok()) return Error{st.message()};
  Statement r(d, "INSERT INTO whatif_runs (started_at, git_revision, command, kind, cells, broken, fixed, changed) "
                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  r.text(1, run.started_at).text(2, run.git_revision).text(3, run.command).text(4, run.comparison ? "comparison" : "table");
  r.i64(5, static_cast<int64_t>(run.cells.size())).i64(6, static_cast<int64_t>(run.broken));
  r.i64(7, static_cast<int64_t>(run.fixed)).i64(8, static_cast<int64_t>(run.changed));
  if (!r.ok() || !r.run()) return d.abort("insert what-if run");
  int64_t id = d.last_insert_rowid();
  Statement c(d, "INSERT INTO whatif_cells (run_id, source, destination, outcome, symbol, before, reason) VALUES (?, ?, ?, ?, ?, ?, ?)");
  if (!c.ok()) return d.abort("prepare what-if cells");
  for (const WhatifCellRecord& cell : run.cells) {
    c.i64(1, id).text(2, cell.source).text(3, cell.destination).text(4, cell.outcome).text(5, cell.symbol);
    c.text(6, cell.before).text(7, cell.reason);
    if (!c.run()) return d.abort("insert what-if cell " + cell.source + " → " + cell.destination);
  }
  if (Status st = d.exec("COMMIT", "commit what-if run"); !st.ok()) return d.abort("commit what-if run");
  return id;
}

}  // namespace meshsim::reports
