// EventLog writes the event stream as JSON Lines (`--events FILE.jsonl`), one
// object per observation: {"t_ns", "t", "actor", "kind", "digest", ...payload}.
// It is a plain subscriber — it never recomputes anything — so the file is
// exactly what happened, in order; docs/formats/events.md lists the fields of
// every payload. Byte payloads are summarised (length and the first bytes in
// hex), not copied whole. Written to FILE.partial and renamed by finish().
#pragma once

#include <cstdio>
#include <memory>
#include <string>

#include "proxy/base/result.h"
#include "sim/simulator.h"

namespace meshsim::sim {

class EventLog {
 public:
  static Result<std::unique_ptr<EventLog>> open(const std::string& path, Simulator& sim);
  ~EventLog();
  Status finish();
  void abandon();
  uint64_t lines() const { return lines_; }

 private:
  EventLog(std::string path, Simulator& sim);
  void write(const Observation& o);
  std::string path_;
  Simulator& sim_;
  std::FILE* f_ = nullptr;
  int token_ = 0;
  uint64_t lines_ = 0;
  bool done_ = false;
};

}  // namespace meshsim::sim
