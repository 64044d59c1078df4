// Kernel benchmarks: the classic hold model. P events are pending; each event,
// when it fires, schedules one new event at now + uniform[0, 1000) ns, so the
// pending set stays at P. The floor is the same loop on a bare
// std::priority_queue of (time, sequence) pairs — no callbacks, no slots, no
// fingerprint — measured in this binary; kernel runs report their rate as a
// ratio of it ("vs_bare_heap").
//
//   ci/bench                      # all suites, JSON in build/default/bench/
//   build/default/bench/kernel_bench --benchmark_filter=Hold
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <map>
#include <new>
#include <queue>
#include <utility>
#include <vector>

#include "bench/alloc_counter.h"
#include "sim/random.h"
#include "sim/simulator.h"

using meshsim::bench::g_allocations;

namespace {

using meshsim::Duration;
using meshsim::sim::EventId;
using meshsim::sim::RandomStream;
using meshsim::sim::Simulator;

std::map<int64_t, double>& floor_rates() {
  static std::map<int64_t, double> rates;
  return rates;
}

constexpr int64_t kBatch = 1 << 20;

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// ---- floor: bare binary heap ------------------------------------------------
void BM_BareHeapHold(benchmark::State& state) {
  const int64_t p = state.range(0);
  using Entry = std::pair<int64_t, uint64_t>;
  std::priority_queue<Entry, std::vector<Entry>, std::greater<>> heap;
  RandomStream rng(1);
  uint64_t seq = 0;
  for (int64_t i = 0; i < p; ++i) heap.emplace(static_cast<int64_t>(rng.uniform_u64(1000)), seq++);
  int64_t events = 0;
  auto t0 = std::chrono::steady_clock::now();
  for (auto _ : state) {
    Entry e = heap.top();
    heap.pop();
    heap.emplace(e.first + static_cast<int64_t>(rng.uniform_u64(1000)), seq++);
    ++events;
  }
  double rate = static_cast<double>(events) / seconds_since(t0);
  floor_rates()[p] = rate;
  state.counters["events_per_s"] = benchmark::Counter(static_cast<double>(events), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_BareHeapHold)->Arg(1000)->Arg(100000);

// ---- the kernel ---------------------------------------------------------------
struct Hold {
  Simulator* sim = nullptr;
  RandomStream rng{1};
  meshsim::sim::ActorId actor = 0;
  meshsim::sim::EventKindId kind = 0;
  int64_t remaining = 0;

  void fire() {
    if (--remaining == 0) sim->stop();
    sim->schedule_after(Duration::nanos(static_cast<int64_t>(rng.uniform_u64(1000))), actor, kind,
                        [this] { fire(); });
  }
};

void report(benchmark::State& state, int64_t events, double secs, uint64_t allocs, uint64_t fallbacks) {
  double rate = static_cast<double>(events) / secs;
  state.counters["events_per_s"] = benchmark::Counter(static_cast<double>(events), benchmark::Counter::kIsRate);
  auto it = floor_rates().find(state.range(0));
  if (it != floor_rates().end()) state.counters["vs_bare_heap"] = rate / it->second;
  state.counters["allocs_per_event"] = static_cast<double>(allocs) / static_cast<double>(events);
  state.counters["heap_fallbacks"] = static_cast<double>(fallbacks);
}

void BM_KernelHold(benchmark::State& state) {
  const int64_t p = state.range(0);
  Simulator sim(1);
  Hold hold;
  hold.sim = &sim;
  hold.actor = sim.actor("hold");
  hold.kind = sim.kind("hold");
  for (int64_t i = 0; i < p; ++i) {
    sim.schedule_at(Duration::nanos(static_cast<int64_t>(hold.rng.uniform_u64(1000))), hold.actor, hold.kind,
                    [h = &hold] { h->fire(); });
  }
  hold.remaining = p;  // warm-up: every slot and heap entry touched once
  sim.run();
  int64_t events = 0;
  uint64_t allocs0 = g_allocations;
  uint64_t fb0 = meshsim::sim::InlineCallback::heap_fallbacks();
  auto t0 = std::chrono::steady_clock::now();
  while (state.KeepRunningBatch(kBatch)) {
    hold.remaining = kBatch;
    sim.run();
    events += kBatch;
  }
  report(state, events, seconds_since(t0), g_allocations - allocs0,
         meshsim::sim::InlineCallback::heap_fallbacks() - fb0);
  state.counters["fingerprint_lo32"] = static_cast<double>(sim.fingerprint() & 0xffffffff);
}
BENCHMARK(BM_KernelHold)->Arg(1000)->Arg(100000);

// Cancel-heavy: every firing also re-arms a per-chain timeout (a timer that
// would fire 5 µs later); the previous one is cancelled first, so half of all
// scheduled events are cancelled before they fire — the shape of TCP and
// request timeouts in the proxy.
struct CancelHold {
  Simulator* sim = nullptr;
  RandomStream rng{2};
  meshsim::sim::ActorId actor = 0;
  meshsim::sim::EventKindId kind = 0;
  meshsim::sim::EventKindId timeout_kind = 0;
  std::vector<EventId> timers;
  int64_t remaining = 0;
  int64_t timeouts_fired = 0;

  void fire(uint32_t chain) {
    if (--remaining == 0) sim->stop();
    sim->cancel(timers[chain]);
    timers[chain] = sim->schedule_after(Duration::micros(5), actor, timeout_kind, [this] { ++timeouts_fired; });
    sim->schedule_after(Duration::nanos(static_cast<int64_t>(rng.uniform_u64(1000))), actor, kind,
                        [this, chain] { fire(chain); });
  }
};

void BM_KernelHoldCancelHeavy(benchmark::State& state) {
  const int64_t p = state.range(0);
  Simulator sim(1);
  CancelHold hold;
  hold.sim = &sim;
  hold.actor = sim.actor("hold");
  hold.kind = sim.kind("hold");
  hold.timeout_kind = sim.kind("timeout");
  hold.timers.resize(static_cast<size_t>(p));
  for (int64_t i = 0; i < p; ++i) {
    auto chain = static_cast<uint32_t>(i);
    sim.schedule_at(Duration::nanos(static_cast<int64_t>(hold.rng.uniform_u64(1000))), hold.actor, hold.kind,
                    [h = &hold, chain] { h->fire(chain); });
  }
  hold.remaining = p;
  sim.run();
  int64_t events = 0;
  uint64_t allocs0 = g_allocations;
  uint64_t fb0 = meshsim::sim::InlineCallback::heap_fallbacks();
  uint64_t executed0 = sim.events_executed();
  auto t0 = std::chrono::steady_clock::now();
  while (state.KeepRunningBatch(kBatch)) {
    hold.remaining = kBatch;
    sim.run();
    events += kBatch;
  }
  double secs = seconds_since(t0);
  report(state, events, secs, g_allocations - allocs0, meshsim::sim::InlineCallback::heap_fallbacks() - fb0);
  // Every hold firing schedules two events and cancels one.
  state.counters["scheduled_per_s"] = benchmark::Counter(2.0 * static_cast<double>(events), benchmark::Counter::kIsRate);
  state.counters["cancelled_fraction"] =
      1.0 - static_cast<double>(sim.events_executed() - executed0) / (2.0 * static_cast<double>(events));
}
BENCHMARK(BM_KernelHoldCancelHeavy)->Arg(1000)->Arg(100000);

}  // namespace

BENCHMARK_MAIN();
