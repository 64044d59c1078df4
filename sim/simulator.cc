#include "sim/simulator.h"

#include <algorithm>

#include "proxy/base/check.h"
#include "proxy/base/hash.h"

namespace meshsim::sim {
namespace {

constexpr uint64_t kKindMul = 0x9e3779b97f4a7c15ULL;


}  // namespace

Simulator::Simulator(uint64_t seed) : seed_(seed), fingerprint_(mix64(seed ^ 0x6d65736873696dULL)) {
  actor("kernel");
  kind("kernel");
}

Simulator::~Simulator() = default;

ActorId Simulator::actor(std::string_view name) {
  auto it = actor_index_.find(std::string(name));
  if (it != actor_index_.end()) return it->second;
  auto id = static_cast<ActorId>(actors_.size());
  actors_.push_back({std::string(name), fnv1a64(name)});
  actor_index_.emplace(std::string(name), id);
  return id;
}

EventKindId Simulator::kind(std::string_view name) {
  auto it = kind_index_.find(std::string(name));
  if (it != kind_index_.end()) return it->second;
  auto id = static_cast<EventKindId>(kinds_.size());
  kinds_.push_back({std::string(name), fnv1a64(name), true});
  kind_index_.emplace(std::string(name), id);
  return id;
}

EventKindId Simulator::view_kind(std::string_view name) {
  EventKindId id = kind(name);
  kinds_[id].folded = false;
  return id;
}

uint32_t Simulator::acquire_slot() {
  if (!free_slots_.empty()) {
    uint32_t idx = free_slots_.back();
    free_slots_.pop_back();
    return idx;
  }
  if ((slots_used_ >> kBlockBits) == blocks_.size()) {
    MESHSIM_CHECK(slots_used_ <= kSlotMask, "more than 16M events pending at once");
    blocks_.push_back(std::make_unique<Slot[]>(size_t{1} << kBlockBits));
  }
  return slots_used_++;
}

void Simulator::release_slot(uint32_t idx) {
  Slot& s = slot(idx);
  s.fn.reset();
  s.seq = 0;
  free_slots_.push_back(idx);
}

EventId Simulator::commit(uint32_t idx, Time t, ActorId actor, EventKindId kind) {
  if (t < now_) [[unlikely]] {
    release_slot(idx);
    MESHSIM_CHECK(t >= now_, "event scheduled in the past");
  }
  MESHSIM_CHECK(actor < actors_.size() && kind < kinds_.size(), "unregistered actor or event kind");
  uint64_t seq = next_seq_++;
  Slot& s = slot(idx);
  s.seq = seq;
  s.actor = actor;
  s.kind = kind;
  ++live_;
  const uint64_t low = (seq << kSlotBits) | idx;
  const HeapKey key = make_heap_key(t.ns(), low);
  if (root_firing_) {
    root_firing_ = false;
    heap_.replace_top(key);
  } else {
    heap_.push(key);
  }
  return EventId{low};
}

bool Simulator::cancel(EventId id) {
  uint64_t idx = id.value & kSlotMask;
  uint64_t seq = id.value >> kSlotBits;
  if (seq == 0 || idx >= slots_used_) return false;
  Slot& s = slot(static_cast<uint32_t>(idx));
  if (s.seq != seq) return false;
  release_slot(static_cast<uint32_t>(idx));
  --live_;
  ++tombstones_;
  if (tombstones_ > 256 && tombstones_ > live_) compact();
  return true;
}

bool Simulator::is_pending(EventId id) const {
  uint64_t idx = id.value & kSlotMask;
  uint64_t seq = id.value >> kSlotBits;
  return seq != 0 && idx < slots_used_ && slot(static_cast<uint32_t>(idx)).seq == seq;
}

void Simulator::fold(uint64_t value) { fingerprint_ = mix64(fingerprint_ ^ value); }

RunStats Simulator::run() { return run_loop(false, Time::max()); }

RunStats Simulator::run_until(Time limit) {
  MESHSIM_CHECK(limit >= now_, "run_until() into the past");
  return run_loop(true, limit);
}

RunStats Simulator::run_loop(bool bounded, Time limit) {
  MESHSIM_CHECK(!running_, "Simulator::run() called from inside an event");
  running_ = true;
  stop_requested_ = false;
  const uint64_t start = executed_;
  RunStats stats;
  const int64_t limit_ns = limit.ns();
  for (;;) {
    if (stop_requested_) {
      stats.reason = StopReason::kStopped;
      break;
    }
    if (heap_.empty()) {
      stats.reason = StopReason::kNoMoreEvents;
      break;
    }
    const HeapKey top = heap_.top();
    const uint64_t low = heap_key_low(top);
    const int64_t time = heap_key_time(top);
    const auto idx = static_cast<uint32_t>(low & kSlotMask);
    Slot& s = slot(idx);
    if (s.seq != (low >> kSlotBits)) {  // tombstone of a cancelled event
      heap_.pop();
      --tombstones_;
      continue;
    }
    if (bounded && time > limit_ns) {
      stats.reason = StopReason::kTimeLimit;
      break;
    }
    // The next event is almost always the smallest child of the root: start
    // loading its slot now, so the miss overlaps with this event's work.
    __builtin_prefetch(&slot(static_cast<uint32_t>(heap_key_low(heap_.likely_next()) & kSlotMask)));
    now_ = Time::nanos(time);
    const Named& k = kinds_[s.kind];
    if (k.folded) [[likely]] {
      fingerprint_ = mix64(fingerprint_ ^ static_cast<uint64_t>(time)) ^ (actors_[s.actor].hash + k.hash * kKindMul);
      if (tracer_) [[unlikely]] tracer_({now_, s.actor, s.kind, 0, false, fingerprint_});
    }
    ++executed_;
    s.seq = 0;  // no longer pending: cancel() of the running event is a no-op
    --live_;
    root_firing_ = true;
    s.fn();
    s.fn.reset();
    free_slots_.push_back(idx);
    if (root_firing_) {
      root_firing_ = false;
      heap_.pop();
    }
  }
  if (bounded && stats.reason != StopReason::kStopped && now_ < limit) now_ = limit;
  if (bounded && stats.reason == StopReason::kNoMoreEvents) stats.reason = StopReason::kTimeLimit;
  running_ = false;
  stats.events_executed = executed_ - start;
  return stats;
}

void Simulator::compact() {
  // Drops tombstones (and the root of the executing event, whose slot is no
  // longer pending) and re-heapifies. O(n), triggered only when tombstones
  // outnumber live events, so amortised O(1) per cancel.
  heap_.filter([this](HeapKey k) {
    uint64_t low = heap_key_low(k);
    return slot(static_cast<uint32_t>(low & kSlotMask)).seq == (low >> kSlotBits);
  });
  tombstones_ = 0;
  root_firing_ = false;
}

int Simulator::subscribe(Subscriber fn) {
  int token = next_token_++;
  subscribers_.emplace_back(token, std::move(fn));
  return token;
}

void Simulator::unsubscribe(int token) {
  std::erase_if(subscribers_, [token](const auto& p) { return p.first == token; });
}

void Simulator::publish(ActorId actor, EventKindId kind, uint64_t digest, ObservationPayload payload) {
  if (kinds_[kind].folded) {
    fingerprint_ = mix64(mix64(fingerprint_ ^ static_cast<uint64_t>(now_.ns())) ^
                         (actors_[actor].hash + kinds_[kind].hash * kKindMul) ^ 0x7075626c697368ULL) ^
                   digest;
    if (tracer_) tracer_({now_, actor, kind, digest, true, fingerprint_});
  }
  if (subscribers_.empty()) return;
  Observation obs{now_, actor, kind, digest, std::move(payload)};
  for (auto& [token, fn] : subscribers_) fn(obs);
}

}  // namespace meshsim::sim
