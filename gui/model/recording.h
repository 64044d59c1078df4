// Recording is the part of a run's event stream the graph is made of — the
// runner's request verdicts and timeline actions, in stream order — kept so
// that any virtual time can be shown again: model_at(t) replays the records
// published up to t into a fresh GraphModel. Because the run is deterministic
// and the model is a pure function of the records, seeking backwards by replay
// gives exactly the picture a live viewer had at t (tests check this).
//
// Records are kept in the order the model counts them (RequestRecord::at_ns),
// which does not depend on how the run was stepped.
//
// A Recording is filled live from the Simulator's stream (add(Observation)),
// or from a file written by `meshsim run --events` (load_jsonl). The file
// reader parses only the lines of the kinds it needs (it finds the "kind"
// field by its position in the line, where EventLog writes it), so replaying a
// million-event file is bounded by reading the file.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "gui/model/graph_model.h"
#include "proxy/base/result.h"

namespace meshsim::sim {
class Simulator;
struct Observation;
}  // namespace meshsim::sim

namespace meshsim::gui {

using Record = std::variant<RequestRecord, ActionRecord>;

class Recording {
 public:
  // Keeps the records of kinds scenario.request and scenario.action; returns
  // whether it kept one.
  bool add(const sim::Simulator& sim, const sim::Observation& o);
  void add(Record r);
  // Reads an --events JSONL file. Errors name the file and line.
  static Result<Recording> load_jsonl(const std::string& path);

  const std::vector<Record>& records() const { return records_; }
  // The last time the recording covers (the live run's clock, or the file's last line).
  int64_t horizon_ns() const { return horizon_ns_; }
  void set_horizon(int64_t t_ns) { horizon_ns_ = std::max(horizon_ns_, t_ns); }
  // Lines read by load_jsonl (every kind).
  uint64_t lines() const { return lines_; }

  // Applies the records counted in (model.now(), t] — from *cursor on — and
  // advances the model to t. Meaningful for t <= horizon_ns(): by then every
  // record counted at or before t has been published.
  void replay_into(GraphModel& model, int64_t t_ns, size_t* cursor) const;
  // A fresh model of `world` at virtual time t.
  GraphModel model_at(std::shared_ptr<const mesh::World> world, int64_t t_ns) const;

 private:
  void insert(Record r);
  std::vector<Record> records_;
  int64_t horizon_ns_ = 0;
  uint64_t lines_ = 0;
};

// When the model counts the record (RequestRecord::at_ns, ActionRecord::at_ns).
int64_t at_ns(const Record& r);

}  // namespace meshsim::gui
