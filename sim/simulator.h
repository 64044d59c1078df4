// Simulator is the discrete-event kernel every meshsim run executes on: a
// virtual clock, a pending-event set, named random streams, the run
// fingerprint and the event stream that outputs subscribe to.
//
// Determinism contract:
//  * Time is an integer number of nanoseconds (sim/time.h); the clock only
//    moves forward, to the time of the event being executed.
//  * Events scheduled for the same time run in the order they were scheduled
//    (FIFO by a global insertion sequence). Nothing else breaks ties.
//  * Every random draw comes from a stream named by its user and derived from
//    (seed, name) — see sim/random.h. There is no other source of randomness.
//  * Therefore (scenario, seed) ⇒ the same sequence of executed events, and the
//    same fingerprint: a 64-bit hash folded over every executed event's
//    (time, actor, kind) and over every published observation's
//    (time, actor, kind, payload digest).
//
// Performance: the pending set is a 4-ary min-heap of 16-byte entries over a
// slab of 64-byte event slots. Callbacks with captures up to
// InlineCallback::kInlineBytes are stored inline (no allocation). cancel() is
// O(1): the slot is released and its heap entry becomes a tombstone that is
// skipped when it surfaces (the heap is compacted when tombstones outnumber
// live events). When an executing event schedules a new one, the new entry
// replaces the heap root in place (one sift-down instead of a pop and a push).
//
// Threading: none. A Simulator and everything scheduled on it belong to one
// thread. Calling run() from inside a callback is API misuse.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sim/event_heap.h"
#include "sim/inline_callback.h"
#include "sim/observation.h"
#include "sim/random.h"
#include "sim/time.h"

namespace meshsim::sim {

// Handle of a scheduled event; 0 is "no event". Stays safe to cancel after the
// event fired or was cancelled (then cancel() returns false).
struct EventId {
  uint64_t value = 0;
  explicit operator bool() const { return value != 0; }
  friend bool operator==(EventId, EventId) = default;
};

enum class StopReason {
  kNoMoreEvents,  // the pending set ran empty
  kTimeLimit,     // run_until(t) reached t
  kStopped,       // stop() was called
};

struct RunStats {
  StopReason reason = StopReason::kNoMoreEvents;
  uint64_t events_executed = 0;  // during this call
};

class Simulator {
 public:
  using Subscriber = std::function<void(const Observation&)>;

  explicit Simulator(uint64_t seed = 0);
  ~Simulator();
  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;

  uint64_t seed() const { return seed_; }
  Time now() const { return now_; }

  // Registers (or finds) an actor / event kind by stable name. Ids are small
  // integers for storage; the fingerprint folds the names' hashes, so reordering
  // registrations does not change it. Actor 0 is "kernel".
  ActorId actor(std::string_view name);
  EventKindId kind(std::string_view name);
  // A kind whose events and observations are views of what happens rather than
  // behaviour (e.g. the per-segment wire records a capture turns on): they run
  // and are published like any other, but are not folded into the fingerprint,
  // so observing a run (--pcap) never changes its fingerprint.
  EventKindId view_kind(std::string_view name);
  std::string_view actor_name(ActorId id) const { return actors_[id].name; }
  std::string_view kind_name(EventKindId id) const { return kinds_[id].name; }

  // Schedules fn to run at time t (t >= now(); scheduling in the past aborts
  // with a MESHSIM_CHECK). Returns a handle for cancel().
  template <typename F>
  EventId schedule_at(Time t, ActorId actor, EventKindId kind, F&& fn) {
    uint32_t idx = acquire_slot();
    slot(idx).fn.emplace(std::forward<F>(fn));
    return commit(idx, t, actor, kind);
  }
  template <typename F>
  EventId schedule_after(Duration d, ActorId actor, EventKindId kind, F&& fn) {
    return schedule_at(now_ + d, actor, kind, std::forward<F>(fn));
  }

  // Cancels a pending event. Returns false if it already ran, was cancelled,
  // or is the event currently executing. O(1), never allocates.
  bool cancel(EventId id);
  bool is_pending(EventId id) const;

  // Executes events in (time, insertion) order until none is left or stop().
  RunStats run();
  // Executes events with time <= limit, then sets now() = limit (unless
  // stopped earlier). Events at exactly `limit` do run.
  RunStats run_until(Time limit);
  // Makes run()/run_until() return after the current event. A later run()
  // resumes where it stopped.
  void stop() { stop_requested_ = true; }

  uint64_t events_executed() const { return executed_; }
  size_t pending_events() const { return live_; }
  uint64_t fingerprint() const { return fingerprint_; }
  // Folds an extra value (e.g. a digest of bytes produced) into the fingerprint.
  void fold(uint64_t value);

  // The random stream `name`, derived from (seed, name). Each call returns a
  // fresh copy positioned at the start of the stream; components keep theirs.
  RandomStream rng(std::string_view name) const { return RandomStream::derive(seed_, name); }

  // Per-event trace (for naming the first event where two runs diverge): when
  // set, the tracer sees every executed event and every publication, with the
  // fingerprint after folding it. View kinds are not traced.
  struct TraceEntry {
    Time time;
    ActorId actor;
    EventKindId kind;
    uint64_t digest;       // payload digest (0 for executed events)
    bool publication;
    uint64_t fingerprint;  // after this entry
  };
  void set_tracer(std::function<void(const TraceEntry&)> tracer) { tracer_ = std::move(tracer); }

  // Event stream. publish() stamps now(), folds (time, actor, kind, digest)
  // into the fingerprint and hands the observation to every subscriber in
  // subscription order.
  int subscribe(Subscriber fn);
  void unsubscribe(int token);
  bool has_subscribers() const { return !subscribers_.empty(); }
  void publish(ActorId actor, EventKindId kind, uint64_t digest, ObservationPayload payload = {});

 private:
  struct Slot {
    uint64_t seq = 0;  // insertion sequence of the event in this slot; 0 = free
    uint32_t actor = 0;
    uint32_t kind = 0;
    InlineCallback fn;
  };
  struct Named {
    std::string name;
    uint64_t hash;
    bool folded = true;  // false for view kinds
  };
  static constexpr int kSlotBits = 24;
  static constexpr uint64_t kSlotMask = (uint64_t{1} << kSlotBits) - 1;
  static constexpr uint32_t kBlockBits = 10;  // slots live in stable 1024-slot blocks

  Slot& slot(uint32_t idx) { return blocks_[idx >> kBlockBits][idx & ((1u << kBlockBits) - 1)]; }
  const Slot& slot(uint32_t idx) const { return blocks_[idx >> kBlockBits][idx & ((1u << kBlockBits) - 1)]; }
  uint32_t acquire_slot();
  EventId commit(uint32_t idx, Time t, ActorId actor, EventKindId kind);
  void release_slot(uint32_t idx);
  RunStats run_loop(bool bounded, Time limit);

  void compact();

  uint64_t seed_;
  Time now_;
  uint64_t next_seq_ = 1;
  uint64_t executed_ = 0;
  uint64_t fingerprint_;
  size_t live_ = 0;        // pending, not cancelled
  size_t tombstones_ = 0;  // cancelled entries still in heap_
  bool running_ = false;
  bool root_firing_ = false;  // heap_[0] is the executing event, not yet removed
  bool stop_requested_ = false;

  // Keys are (time << 64) | (seq << kSlotBits) | slot index.
  EventHeap heap_;
  std::vector<std::unique_ptr<Slot[]>> blocks_;
  std::vector<uint32_t> free_slots_;
  uint32_t slots_used_ = 0;

  std::vector<Named> actors_;
  std::vector<Named> kinds_;
  std::unordered_map<std::string, ActorId> actor_index_;
  std::unordered_map<std::string, EventKindId> kind_index_;

  std::vector<std::pair<int, Subscriber>> subscribers_;
  std::function<void(const TraceEntry&)> tracer_;
  int next_token_ = 1;
};

}  // namespace meshsim::sim
