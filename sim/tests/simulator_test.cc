#include "sim/simulator.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace meshsim::sim {
namespace {

class SimulatorTest : public ::testing::Test {
 protected:
  Simulator sim{42};
  ActorId a = sim.actor("a");
  EventKindId k = sim.kind("test");
};

TEST_F(SimulatorTest, FiresInTimeOrder) {
  std::vector<int> order;
  sim.schedule_at(30_ms, a, k, [&] { order.push_back(3); });
  sim.schedule_at(10_ms, a, k, [&] { order.push_back(1); });
  sim.schedule_at(20_ms, a, k, [&] { order.push_back(2); });
  auto stats = sim.run();
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(stats.events_executed, 3u);
  EXPECT_EQ(stats.reason, StopReason::kNoMoreEvents);
  EXPECT_EQ(sim.now(), 30_ms);
}

TEST_F(SimulatorTest, FiresEqualTimesInInsertionOrder) {
  std::vector<int> order;
  for (int i = 0; i < 1000; ++i) sim.schedule_at(5_ms, a, k, [&order, i] { order.push_back(i); });
  // Interleave other times so the heap actually reorders entries.
  for (int i = 0; i < 100; ++i) sim.schedule_at(Duration::micros(4990 + i * 3), a, k, [] {});
  sim.run();
  ASSERT_EQ(order.size(), 1000u);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(order[i], i);
}

TEST_F(SimulatorTest, EventsScheduledForNowFromACallbackRunAfterEarlierOnes) {
  std::vector<std::string> order;
  sim.schedule_at(1_ms, a, k, [&] {
    order.push_back("first");
    sim.schedule_after(Duration::zero(), a, k, [&] { order.push_back("nested"); });
  });
  sim.schedule_at(1_ms, a, k, [&] { order.push_back("second"); });
  sim.run();
  EXPECT_EQ(order, (std::vector<std::string>{"first", "second", "nested"}));
}

TEST_F(SimulatorTest, CancelPreventsFiringAndIsIdempotent) {
  int fired = 0;
  EventId id = sim.schedule_at(1_s, a, k, [&] { ++fired; });
  EXPECT_TRUE(sim.is_pending(id));
  EXPECT_TRUE(sim.cancel(id));
  EXPECT_FALSE(sim.is_pending(id));
  EXPECT_FALSE(sim.cancel(id));
  sim.run();
  EXPECT_EQ(fired, 0);
  EXPECT_EQ(sim.events_executed(), 0u);
}

TEST_F(SimulatorTest, CancelAfterFiringReturnsFalseEvenWhenTheSlotIsReused) {
  EventId first = sim.schedule_at(1_ms, a, k, [] {});
  sim.run();
  int fired = 0;
  EventId second = sim.schedule_at(2_ms, a, k, [&] { ++fired; });  // reuses first's slot
  EXPECT_FALSE(sim.cancel(first));
  EXPECT_TRUE(sim.is_pending(second));
  sim.run();
  EXPECT_EQ(fired, 1);
}

TEST_F(SimulatorTest, CancellingTheRunningEventIsANoOp) {
  EventId self;
  int fired = 0;
  self = sim.schedule_at(1_ms, a, k, [&] {
    ++fired;
    EXPECT_FALSE(sim.cancel(self));
  });
  sim.run();
  EXPECT_EQ(fired, 1);
}

TEST_F(SimulatorTest, ManyCancellationsCompactTheHeapWithoutLosingEvents) {
  std::vector<EventId> ids;
  std::vector<int> fired;
  for (int i = 0; i < 10000; ++i) {
    ids.push_back(sim.schedule_at(Duration::micros(i), a, k, [&fired, i] { fired.push_back(i); }));
  }
  for (int i = 0; i < 10000; ++i) {
    if (i % 3 != 0) {
      EXPECT_TRUE(sim.cancel(ids[i]));
    }
  }
  EXPECT_EQ(sim.pending_events(), 3334u);
  sim.run();
  ASSERT_EQ(fired.size(), 3334u);
  for (size_t j = 0; j < fired.size(); ++j) EXPECT_EQ(fired[j], static_cast<int>(j * 3));
}

TEST_F(SimulatorTest, CancelInsideACallbackThatAlsoSchedules) {
  // Exercises the replace-root path together with cancellation and compaction.
  std::vector<EventId> timers;
  for (int i = 0; i < 600; ++i) timers.push_back(sim.schedule_at(10_s, a, k, [] { FAIL() << "cancelled timer fired"; }));
  int ticks = 0;
  sim.schedule_at(1_ms, a, k, [&] {
    for (EventId t : timers) sim.cancel(t);  // triggers compaction while the root is executing
    sim.schedule_after(1_ms, a, k, [&] { ++ticks; });
    sim.schedule_after(2_ms, a, k, [&] { ++ticks; });
  });
  sim.run();
  EXPECT_EQ(ticks, 2);
  EXPECT_EQ(sim.now(), 3_ms);
  EXPECT_EQ(sim.pending_events(), 0u);
}

TEST_F(SimulatorTest, StopReturnsAfterTheCurrentEventAndRunResumes) {
  std::vector<int> order;
  sim.schedule_at(1_ms, a, k, [&] { order.push_back(1); sim.stop(); });
  sim.schedule_at(2_ms, a, k, [&] { order.push_back(2); });
  auto first = sim.run();
  EXPECT_EQ(first.reason, StopReason::kStopped);
  EXPECT_EQ(order, std::vector<int>{1});
  EXPECT_EQ(sim.now(), 1_ms);
  auto second = sim.run();
  EXPECT_EQ(second.reason, StopReason::kNoMoreEvents);
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
}

TEST_F(SimulatorTest, RunUntilIncludesEventsAtTheLimitAndAdvancesTheClock) {
  std::vector<int> order;
  sim.schedule_at(5_ms, a, k, [&] { order.push_back(5); });
  sim.schedule_at(10_ms, a, k, [&] { order.push_back(10); });
  sim.schedule_at(11_ms, a, k, [&] { order.push_back(11); });
  auto stats = sim.run_until(10_ms);
  EXPECT_EQ(stats.reason, StopReason::kTimeLimit);
  EXPECT_EQ(order, (std::vector<int>{5, 10}));
  EXPECT_EQ(sim.now(), 10_ms);
  sim.run_until(1_s);
  EXPECT_EQ(order, (std::vector<int>{5, 10, 11}));
  EXPECT_EQ(sim.now(), 1_s);  // advanced to the limit even with nothing left
}

TEST_F(SimulatorTest, SchedulingInThePastIsRefused) {
  sim.schedule_at(10_ms, a, k, [] {});
  sim.run();
  EXPECT_DEATH(sim.schedule_at(5_ms, a, k, [] {}), "event scheduled in the past");
}

TEST_F(SimulatorTest, SmallCapturesDoNotAllocate) {
  uint64_t before = InlineCallback::heap_fallbacks();
  int counter = 0;
  struct Big {
    char bytes[64];
  } big{};
  for (int i = 0; i < 100; ++i) {
    sim.schedule_after(Duration::micros(i), a, k, [&counter, i, p = this, q = &sim] { counter += i; (void)p; (void)q; });
  }
  EXPECT_EQ(InlineCallback::heap_fallbacks(), before);
  sim.schedule_after(1_ms, a, k, [big, &counter] { counter += big.bytes[0]; });
  EXPECT_EQ(InlineCallback::heap_fallbacks(), before + 1);
  sim.run();
  EXPECT_EQ(counter, 4950);
}

// A fixed little workload whose fingerprint we compare across runs.
uint64_t run_workload(uint64_t seed, bool perturb) {
  Simulator s(seed);
  ActorId x = s.actor("x");
  ActorId y = s.actor("y");
  EventKindId ping = s.kind("ping");
  EventKindId obs = s.kind("obs");
  RandomStream r = s.rng("workload");
  for (int i = 0; i < 200; ++i) {
    Duration at = r.uniform_duration(Duration::zero(), 1_s);
    ActorId who = (perturb && i == 137) ? y : x;
    s.schedule_at(at, who, ping, [&s, y, obs, i] { s.publish(y, obs, static_cast<uint64_t>(i)); });
  }
  s.run();
  return s.fingerprint();
}

TEST(Fingerprint, EqualAcrossTwoRunsOfTheSameWorkload) {
  EXPECT_EQ(run_workload(7, false), run_workload(7, false));
}

TEST(Fingerprint, DiffersWhenOneEventDiffers) {
  EXPECT_NE(run_workload(7, false), run_workload(7, true));
}

TEST(Fingerprint, DiffersWithTheSeed) { EXPECT_NE(run_workload(7, false), run_workload(8, false)); }

TEST(Fingerprint, DiffersWhenOnlyAPayloadDigestDiffers) {
  auto run = [](uint64_t digest) {
    Simulator s(1);
    ActorId x = s.actor("x");
    EventKindId k = s.kind("k");
    s.schedule_at(1_ms, x, k, [&s, x, k, digest] { s.publish(x, k, digest); });
    s.run();
    return s.fingerprint();
  };
  EXPECT_EQ(run(5), run(5));
  EXPECT_NE(run(5), run(6));
}

TEST(Fingerprint, ViewKindsAreNotFolded) {
  auto run = [](bool with_views) {
    Simulator s(1);
    ActorId x = s.actor("x");
    EventKindId k = s.kind("k");
    EventKindId v = s.view_kind("view");
    int seen = 0;
    s.subscribe([&](const Observation&) { ++seen; });
    s.schedule_at(1_ms, x, k, [&s, x, k] { s.publish(x, k, 7); });
    if (with_views) {
      s.schedule_at(2_ms, x, v, [&s, x, v] { s.publish(x, v, 99); });
    }
    s.run_until(5_ms);
    EXPECT_EQ(seen, with_views ? 2 : 1);  // views still reach subscribers
    return s.fingerprint();
  };
  EXPECT_EQ(run(false), run(true));
}

TEST(EventStream, SubscribersSeeObservationsInOrderWithVirtualTime) {
  Simulator s(1);
  ActorId x = s.actor("x");
  EventKindId k = s.kind("note");
  std::vector<std::pair<Time, std::string>> seen;
  int token = s.subscribe([&](const Observation& o) {
    seen.emplace_back(o.time, std::string(std::get<Note>(o.payload).text));
  });
  s.schedule_at(2_ms, x, k, [&] { s.publish(x, k, 0, Note{"second"}); });
  s.schedule_at(1_ms, x, k, [&] { s.publish(x, k, 0, Note{"first"}); });
  s.run();
  s.unsubscribe(token);
  s.schedule_after(1_ms, x, k, [&] { s.publish(x, k, 0, Note{"unseen"}); });
  s.run();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0], std::make_pair(1_ms, std::string("first")));
  EXPECT_EQ(seen[1], std::make_pair(2_ms, std::string("second")));
}

TEST(ActorRegistry, NamesAreInternedAndStable) {
  Simulator s;
  ActorId p = s.actor("productpage");
  EXPECT_EQ(s.actor("productpage"), p);
  EXPECT_EQ(s.actor_name(p), "productpage");
  EXPECT_EQ(s.actor_name(0), "kernel");
}

}  // namespace
}  // namespace meshsim::sim
