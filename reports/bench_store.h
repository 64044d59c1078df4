// BenchStore keeps benchmark recordings in the results database (schema
// version 2, docs/formats/results-db.md): one row per recording, one per
// sample (every repetition), one per metric of a sample. A recording is
// written in one transaction that sets recordings.complete = 1 last, and every
// query reads complete recordings only — so a recording killed part-way is
// never seen. References name what to compare: a recording id, a git revision
// prefix (every recording at that revision, pooled), "latest" or "previous".
// Single-threaded; one connection per store.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "proxy/base/result.h"
#include "reports/bench_model.h"
#include "reports/results_db.h"

namespace meshsim::reports {

struct RecordingSummary {
  int64_t id = 0;
  std::string recorded_at;
  std::string git_revision;
  bool git_dirty = false;
  std::string machine_id;
  std::string cpu_model;
  std::string host_name;
  int64_t samples = 0;
};

struct ResolvedRef {
  std::vector<int64_t> recording_ids;  // ascending
  std::string machine_id;
  std::string description;  // "recording 7 (3f2a9c1d0e4b, 2026-12-01T10:00:00Z)" or "revision 3f2a9c1 (3 recordings)"
  std::vector<std::string> notes;  // recordings left out (other machines)
};

class BenchStore {
 public:
  static Result<std::unique_ptr<BenchStore>> open(const std::string& path,
                                                   ResultsDb::Mode mode = ResultsDb::Mode::kReadWrite);
  ~BenchStore();

  // Writes the recording and all its samples in one transaction; returns its id.
  Result<int64_t> record(const BenchRecording& recording);

  // Complete recordings, oldest first; only those of `machine_id` when it is not empty.
  std::vector<RecordingSummary> recordings(const std::string& machine_id = "") const;
  // Every sample of the given recordings, in recording order.
  std::vector<BenchSample> samples(const std::vector<int64_t>& recording_ids) const;

  // Resolves a reference. `machine_id` (may be empty) picks the machine when a
  // revision was recorded on several, and scopes "latest"/"previous";
  // "previous" is the last recording before `before_id` (0: before the latest).
  Result<ResolvedRef> resolve(const std::string& ref, const std::string& machine_id = "", int64_t before_id = 0) const;

  ResultsDb& db() { return *db_; }

 private:
  explicit BenchStore(std::unique_ptr<ResultsDb> db) : db_(std::move(db)) {}
  std::unique_ptr<ResultsDb> db_;
};

}  // namespace meshsim::reports
