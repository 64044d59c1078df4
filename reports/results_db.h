// ResultsDb is the one connection to a meshsim results database (a SQLite file,
// docs/formats/results-db.md) that the stores of reports/ share: opening it
// creates the current schema in a new file, migrates an older one forward in a
// single transaction, refuses a newer one and refuses a foreign SQLite file.
// Writable databases run in WAL mode, so a reader never blocks a writer and a
// process killed mid-transaction leaves the last committed state intact.
// Statement wraps one prepared statement; both are single-threaded objects and
// keep SQLite's own types out of every header (sqlite3 is only forward-declared).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "proxy/base/result.h"

struct sqlite3;
struct sqlite3_stmt;

namespace meshsim::reports {

// Version 1: runs, cases, expectations, traces (conformance).
// Version 2: + recordings, bench_results, bench_metrics (benchmark history).
// Version 3: + whatif_runs, whatif_cells (meshsim whatif --db).
// Version 4: + case_edges, case_story (each case's per-edge summary and story).
// Version 5: + case_edges.latency_histogram (each edge's latency histograms).
inline constexpr int kResultsSchemaVersion = 5;

class ResultsDb {
 public:
  enum class Mode {
    kReadWrite,  // create or migrate as needed
    kReadOnly,   // never modifies the file: an older schema is read as it is
  };
  static Result<std::unique_ptr<ResultsDb>> open(const std::string& path, Mode mode = Mode::kReadWrite);
  ~ResultsDb();
  ResultsDb(const ResultsDb&) = delete;
  ResultsDb& operator=(const ResultsDb&) = delete;

  sqlite3* handle() const { return db_; }
  const std::string& path() const { return path_; }
  int schema_version() const;
  bool has_table(const std::string& name) const;

  // Runs `sql` (one or more statements); the error is "<path>: <what>: <sqlite message>".
  Status exec(const char* sql, const std::string& what = "SQL");
  // Abandons the open transaction (if any); keeps the error that caused it.
  void rollback();
  // The error "<path>: <what>: <SQLite's last error>", after rolling back the open transaction.
  Error abort(const std::string& what);
  // The last SQLite error message of this connection.
  std::string last_error() const;
  int64_t last_insert_rowid() const;

 private:
  ResultsDb(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  Status initialise(Mode mode);
  sqlite3* db_;
  std::string path_;
};

// One prepared statement. Bind indices are 1-based, column indices 0-based
// (SQLite's conventions). step() returns true while there is a row; done()
// tells whether the last step finished the statement without error.
class Statement {
 public:
  Statement(const ResultsDb& db, const char* sql);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  bool ok() const { return stmt_ != nullptr; }
  Statement& text(int i, const std::string& v);
  Statement& i64(int i, int64_t v);
  Statement& real(int i, double v);
  Statement& real_or_null(int i, const std::optional<double>& v);
  bool step();
  bool done() const { return done_; }
  // step() until the statement is done, then reset() it for the next bindings;
  // false on an error (the connection's last_error() says which).
  bool run();
  void reset();

  std::string col_text(int c) const;
  int64_t col_i64(int c) const;
  double col_real(int c) const;
  std::optional<double> col_real_or_null(int c) const;

 private:
  sqlite3_stmt* stmt_ = nullptr;
  bool done_ = false;
};

}  // namespace meshsim::reports
