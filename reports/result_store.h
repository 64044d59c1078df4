// ResultStore records conformance runs in a results database so that results,
// fingerprints and timings can be compared across runs and commits
// (docs/formats/results-db.md specifies the schema; ResultsDb creates and
// migrates it). Each run is written in one transaction: a failed write leaves
// nothing behind. Single-threaded; one connection per store.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "proxy/base/result.h"
#include "reports/results_db.h"
#include "reports/run_record.h"

namespace meshsim::reports {

class ResultStore {
 public:
  // Creates or migrates the file (read-write), or reads it as it is
  // (read-only: a shard database being merged is never modified).
  static Result<std::unique_ptr<ResultStore>> open(const std::string& path,
                                                    ResultsDb::Mode mode = ResultsDb::Mode::kReadWrite);
  ~ResultStore();

  // Inserts the run, its cases and expectations; returns the run id.
  Result<int64_t> record(const RunRecord& run);
  int schema_version() const;

  // Run ids, oldest first.
  std::vector<int64_t> run_ids() const;
  // A recorded run with its cases (in recording order) and their
  // expectations; the not_modelled lists are not stored and come back empty.
  Result<RunRecord> load_run(int64_t run_id) const;

  // The fingerprint recorded for (suite, case name) by the most recent run
  // before `before_run_id` (0 = the latest), or "" if none.
  std::string previous_fingerprint(const std::string& suite, const std::string& name, int64_t before_run_id = 0);

  // Reference event traces: the per-event trace of a run whose fingerprint a
  // scenario pins, kept so that a later run with a different fingerprint can
  // name the first event where the two diverge. One trace per (suite, case,
  // fingerprint).
  Status store_trace(const std::string& suite, const std::string& name, const std::string& fingerprint,
                     const std::string& trace);
  std::optional<std::string> load_trace(const std::string& suite, const std::string& name,
                                        const std::string& fingerprint);

 private:
  explicit ResultStore(std::unique_ptr<ResultsDb> db) : db_(std::move(db)) {}
  std::unique_ptr<ResultsDb> db_;
};

}  // namespace meshsim::reports
