// Outlier detection and priority load, checked against Envoy's rules
// (outlier_detection_impl.cc, load_balancer_impl.cc) with hand-computed
// expectations; the whole-simulation checks are in tests/failover_e2e_test.cc.
#include "proxy/upstream/outlier_detection.h"

#include <gtest/gtest.h>

#include <vector>

#include "proxy/tests/fake_io.h"
#include "proxy/upstream/priority_set.h"

namespace meshsim::proxy::upstream {
namespace {

struct Recorder : UpstreamEventSink {
  std::vector<OutlierEvent> events;
  void on_outlier_event(const OutlierEvent& e) override { events.push_back(e); }
  void on_priority_load(const PriorityLoadEvent&) override {}
};

std::vector<LbEndpoint> hosts(int n, uint32_t priority = 0) {
  std::vector<LbEndpoint> v(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    v[static_cast<size_t>(i)].address = {Ipv4{static_cast<uint32_t>(0x0AF40000 + i + 1)}, 8080};
    v[static_cast<size_t>(i)].priority = priority;
  }
  return v;
}

std::vector<const LbEndpoint*> ptrs(const std::vector<LbEndpoint>& v) {
  std::vector<const LbEndpoint*> p;
  for (const auto& e : v) p.push_back(&e);
  return p;
}

struct OutlierDetectorTest : ::testing::Test {
  testing::FakeIo io;
  SidecarStats stats;
  Recorder sink;
  OutlierDetection cfg;
  std::vector<LbEndpoint> eps = hosts(3);
  OutlierDetectorTest() {
    cfg.max_ejection_percent = 100;
    cfg.interval = Duration::seconds(10);
    cfg.base_ejection_time = Duration::seconds(30);
  }
  uint64_t stat(const char* s) const { return stats.get(std::string("cluster.c.outlier_detection.") + s); }
};

TEST_F(OutlierDetectorTest, EjectsAfterExactlyFiveConsecutive5xxAndASuccessResetsTheCount) {
  OutlierDetector od("c", cfg, io, stats, &sink);
  od.sync_hosts(ptrs(eps));
  const SocketAddress h = eps[0].address;
  for (int i = 0; i < 4; ++i) EXPECT_FALSE(od.put_result(h, OutlierResult::kExtOriginRequestFailed, 500, Duration::zero()));
  od.put_result(h, OutlierResult::kExtOriginRequestSuccess, 200, Duration::zero());  // resets
  for (int i = 0; i < 4; ++i) EXPECT_FALSE(od.put_result(h, OutlierResult::kExtOriginRequestFailed, 500, Duration::zero()));
  EXPECT_TRUE(od.put_result(h, OutlierResult::kExtOriginRequestFailed, 500, Duration::zero()));
  EXPECT_TRUE(od.ejected(packed(h)));
  EXPECT_EQ(stat("ejections_enforced_consecutive_5xx"), 1u);
  EXPECT_EQ(stat("ejections_detected_consecutive_5xx"), 1u);
  EXPECT_EQ(stat("ejections_active"), 1u);
  ASSERT_EQ(sink.events.size(), 1u);
  EXPECT_EQ(sink.events[0].ejection_time, Duration::seconds(30));
}

TEST_F(OutlierDetectorTest, SecondEjectionLastsTwiceAsLongAndAHealthyIntervalLowersTheBackoff) {
  OutlierDetector od("c", cfg, io, stats, &sink);
  od.sync_hosts(ptrs(eps));
  const SocketAddress h = eps[1].address;
  auto fail5 = [&](Duration t) {
    for (int i = 0; i < 5; ++i) od.put_result(h, OutlierResult::kExtOriginRequestFailed, 503, t);
  };
  fail5(Duration::seconds(1));
  // Sweeps at 10, 20, 30 s: still out (29 s < 30 s); at 40 s: back.
  for (int s = 10; s <= 30; s += 10) EXPECT_FALSE(od.on_interval(Duration::seconds(s)));
  EXPECT_TRUE(od.on_interval(Duration::seconds(40)));
  EXPECT_FALSE(od.ejected(packed(h)));
  fail5(Duration::seconds(41));
  EXPECT_EQ(od.backoff(h), 2u);
  EXPECT_EQ(sink.events.back().ejection_time, Duration::seconds(60));
  EXPECT_FALSE(od.on_interval(Duration::seconds(100)));  // 59 s < 60 s
  EXPECT_TRUE(od.on_interval(Duration::seconds(110)));
  EXPECT_EQ(od.backoff(h), 2u);  // un-ejected in this sweep: no decrement yet
  od.on_interval(Duration::seconds(120));  // a whole healthy interval
  EXPECT_EQ(od.backoff(h), 1u);
  od.on_interval(Duration::seconds(130));
  EXPECT_EQ(od.backoff(h), 0u);
  EXPECT_EQ(od.num_ejections(h), 2u);
}

TEST_F(OutlierDetectorTest, EjectionTimeIsCappedAtMaxEjectionTime) {
  cfg.base_ejection_time = Duration::seconds(200);  // max = max(300 s, base)
  OutlierDetector od("c", cfg, io, stats, &sink);
  od.sync_hosts(ptrs(eps));
  const SocketAddress h = eps[0].address;
  Duration t = Duration::zero();
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 5; ++i) od.put_result(h, OutlierResult::kExtOriginRequestFailed, 500, t);
    t = t + Duration::seconds(1000);
    od.on_interval(t);
  }
  ASSERT_EQ(sink.events.size(), 6u);  // 3 ejections, 3 returns
  EXPECT_EQ(sink.events[0].ejection_time, Duration::seconds(200));
  EXPECT_EQ(sink.events[2].ejection_time, Duration::seconds(300));
  EXPECT_EQ(sink.events[4].ejection_time, Duration::seconds(300));
}

TEST_F(OutlierDetectorTest, MaxEjectionPercentIsCheckedBeforeEjecting) {
  cfg.max_ejection_percent = 10;  // Istio's default: with 3 hosts, 33 % > 10 %
  OutlierDetector od("c", cfg, io, stats, &sink);
  od.sync_hosts(ptrs(eps));
  for (int i = 0; i < 5; ++i) od.put_result(eps[0].address, OutlierResult::kExtOriginRequestFailed, 500, Duration::zero());
  EXPECT_FALSE(od.ejected(packed(eps[0].address)));
  EXPECT_EQ(stat("ejections_overflow"), 1u);
  // With always_eject_one_host (Istio never sets it) the first one goes.
  cfg.always_eject_one_host = true;
  OutlierDetector one("c", cfg, io, stats, &sink);
  one.sync_hosts(ptrs(eps));
  for (int i = 0; i < 5; ++i) one.put_result(eps[0].address, OutlierResult::kExtOriginRequestFailed, 500, Duration::zero());
  for (int i = 0; i < 5; ++i) one.put_result(eps[1].address, OutlierResult::kExtOriginRequestFailed, 500, Duration::zero());
  EXPECT_TRUE(one.ejected(packed(eps[0].address)));
  EXPECT_FALSE(one.ejected(packed(eps[1].address)));
}

TEST_F(OutlierDetectorTest, GatewayErrorsNeedIstiosEnforcingAndLocalOriginNeedsTheSplit) {
  // Envoy's default enforcing_consecutive_gateway_failure is 0: detected, not ejected.
  cfg.consecutive_5xx = 0;
  cfg.consecutive_gateway_failure = 3;
  OutlierDetector od("c", cfg, io, stats, &sink);
  od.sync_hosts(ptrs(eps));
  for (int i = 0; i < 3; ++i) od.put_result(eps[0].address, OutlierResult::kExtOriginRequestFailed, 502, Duration::zero());
  EXPECT_FALSE(od.ejected(packed(eps[0].address)));
  EXPECT_EQ(stat("ejections_detected_consecutive_gateway_failure"), 1u);
  ASSERT_FALSE(sink.events.empty());
  EXPECT_FALSE(sink.events.back().enforced);
  // Connect failures count as 503 without the split ...
  cfg.enforcing_consecutive_gateway_failure = 100;
  OutlierDetector gw("c", cfg, io, stats, &sink);
  gw.sync_hosts(ptrs(eps));
  for (int i = 0; i < 3; ++i) gw.put_result(eps[0].address, OutlierResult::kLocalOriginConnectFailed, 0, Duration::zero());
  EXPECT_TRUE(gw.ejected(packed(eps[0].address)));
  // ... and only as local-origin failures with it.
  cfg.split_external_local_origin_errors = true;
  cfg.consecutive_local_origin_failure = 2;
  OutlierDetector split("c", cfg, io, stats, &sink);
  split.sync_hosts(ptrs(eps));
  split.put_result(eps[0].address, OutlierResult::kLocalOriginConnectFailed, 0, Duration::zero());
  split.put_result(eps[0].address, OutlierResult::kLocalOriginConnectSuccess, 0, Duration::zero());  // resets
  split.put_result(eps[0].address, OutlierResult::kLocalOriginConnectFailed, 0, Duration::zero());
  EXPECT_FALSE(split.ejected(packed(eps[0].address)));
  split.put_result(eps[0].address, OutlierResult::kLocalOriginTimeout, 0, Duration::zero());
  EXPECT_TRUE(split.ejected(packed(eps[0].address)));
  EXPECT_EQ(stat("ejections_enforced_consecutive_local_origin_failure"), 1u);
}

TEST(PrioritySet, SpillsOverWithTheOverprovisioningFactorAndPanicsBelowTheThreshold) {
  Cluster c;
  c.name = "c";
  std::vector<LbEndpoint> eps = hosts(4, 0);
  auto p1 = hosts(4, 1);
  for (auto& e : p1) e.address.port = 9090;
  eps.insert(eps.end(), p1.begin(), p1.end());
  CompiledCluster cc;
  cc.cluster = &c;
  cc.endpoints = ptrs(eps);
  PrioritySet ps;
  ps.build(cc, nullptr);
  EXPECT_EQ(ps.load(), (std::vector<uint32_t>{100, 0}));
  EXPECT_EQ(ps.sole_priority(), 0);
  // 3 of 4 healthy: 140·3/4 = 105 → still 100 %.
  eps[0].healthy = false;
  ps.build(cc, nullptr);
  EXPECT_EQ(ps.load(), (std::vector<uint32_t>{100, 0}));
  // 2 of 4: 70 % / 30 %.
  eps[1].healthy = false;
  ps.build(cc, nullptr);
  EXPECT_EQ(ps.load(), (std::vector<uint32_t>{70, 30}));
  EXPECT_EQ(ps.choose_priority(69), 0u);  // 69 % 100 + 1 = 70
  EXPECT_EQ(ps.choose_priority(70), 1u);
  EXPECT_FALSE(ps.priorities()[0].panic);  // total health 100: no panic
  // Everything unhealthy with Envoy's default threshold (50): total panic, load by host count.
  for (auto& e : eps) e.healthy = false;
  ps.build(cc, nullptr);
  EXPECT_TRUE(ps.total_panic());
  EXPECT_EQ(ps.load(), (std::vector<uint32_t>{50, 50}));
  // Istio's threshold 0 with outlier detection: no panic, all on P0, no healthy host.
  c.healthy_panic_threshold = 0;
  ps.build(cc, nullptr);
  EXPECT_FALSE(ps.total_panic());
  EXPECT_EQ(ps.load(), (std::vector<uint32_t>{100, 0}));
  EXPECT_TRUE(ps.priorities()[0].healthy.empty());
}

}  // namespace
}  // namespace meshsim::proxy::upstream
