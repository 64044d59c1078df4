#include "sim/net/resolver.h"

#include <gtest/gtest.h>

#include "sim/net/link_model.h"
#include "sim/net/topology.h"

namespace meshsim::sim {
namespace {

class ResolverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(r.add_service("bookinfo", "reviews", Ipv4::of(10, 96, 0, 20)).ok());
    ASSERT_TRUE(r.add_service("default", "reviews", Ipv4::of(10, 96, 0, 21)).ok());
    ASSERT_TRUE(r.add_headless_service("db", "mysql", {Ipv4::of(10, 244, 1, 3), Ipv4::of(10, 244, 2, 4)}).ok());
    ASSERT_TRUE(r.add_pod_hostname("db", "mysql", "mysql-0", Ipv4::of(10, 244, 1, 3)).ok());
    ASSERT_TRUE(r.add_headless_service("db", "empty", {}).ok());
  }
  NameResolver r;
};

TEST_F(ResolverTest, ShortNameResolvesInTheClientsNamespace) {
  auto a = r.resolve("reviews", "bookinfo");
  ASSERT_TRUE(a.found);
  EXPECT_EQ(a.fqdn, "reviews.bookinfo.svc.cluster.local");
  EXPECT_EQ(a.addresses, std::vector<Ipv4>{Ipv4::of(10, 96, 0, 20)});
  EXPECT_EQ(r.resolve("reviews", "default").addresses, std::vector<Ipv4>{Ipv4::of(10, 96, 0, 21)});
  EXPECT_FALSE(r.resolve("reviews", "other").found);
}

TEST_F(ResolverTest, ServiceDotNamespaceAndFullNamesResolveFromAnywhere) {
  EXPECT_EQ(r.resolve("reviews.bookinfo", "default").fqdn, "reviews.bookinfo.svc.cluster.local");
  EXPECT_EQ(r.resolve("reviews.bookinfo.svc", "x").fqdn, "reviews.bookinfo.svc.cluster.local");
  EXPECT_EQ(r.resolve("reviews.bookinfo.svc.cluster.local", "x").addresses[0], Ipv4::of(10, 96, 0, 20));
  EXPECT_EQ(r.resolve("reviews.bookinfo.svc.cluster.local.", "x").addresses[0], Ipv4::of(10, 96, 0, 20));
}

TEST_F(ResolverTest, NamesAreCaseInsensitive) {
  EXPECT_TRUE(r.resolve("Reviews.BookInfo", "default").found);
}

TEST_F(ResolverTest, SearchListIsTriedBeforeTheAbsoluteName) {
  // "reviews.default" from bookinfo: bookinfo's suffix first (no match), then
  // svc.cluster.local (match).
  EXPECT_EQ(r.resolve("reviews.default", "bookinfo").addresses[0], Ipv4::of(10, 96, 0, 21));
}

TEST_F(ResolverTest, TrailingDotMeansAbsolute) {
  EXPECT_FALSE(r.resolve("reviews.", "bookinfo").found);
}

TEST_F(ResolverTest, HeadlessServiceResolvesToEveryPodIpInOrder) {
  auto a = r.resolve("mysql.db", "default");
  ASSERT_TRUE(a.found);
  EXPECT_EQ(a.addresses, (std::vector<Ipv4>{Ipv4::of(10, 244, 1, 3), Ipv4::of(10, 244, 2, 4)}));
  EXPECT_EQ(r.resolve("mysql-0.mysql", "db").addresses, std::vector<Ipv4>{Ipv4::of(10, 244, 1, 3)});
}

TEST_F(ResolverTest, HeadlessServiceWithoutEndpointsIsNotFound) { EXPECT_FALSE(r.resolve("empty.db", "db").found); }

TEST_F(ResolverTest, IpLiteralsResolveToThemselves) {
  EXPECT_EQ(r.resolve("10.1.2.3", "x").addresses, std::vector<Ipv4>{Ipv4::of(10, 1, 2, 3)});
}

TEST_F(ResolverTest, DuplicateNameIsAnError) {
  EXPECT_FALSE(r.add_service("bookinfo", "reviews", Ipv4::of(10, 96, 9, 9)).ok());
}

TEST_F(ResolverTest, CustomClusterDomain) {
  NameResolver c("corp.example");
  ASSERT_TRUE(c.add_service("ns", "svc", Ipv4::of(10, 0, 0, 1)).ok());
  EXPECT_EQ(c.resolve("svc", "ns").fqdn, "svc.ns.svc.corp.example");
}

TEST(TopologyTest, RelationFollowsLocalityLabels) {
  Topology t;
  ASSERT_TRUE(t.add_node({"a", "r1", "z1", ""}).ok());
  ASSERT_TRUE(t.add_node({"b", "r1", "z1", ""}).ok());
  ASSERT_TRUE(t.add_node({"c", "r1", "z2", ""}).ok());
  ASSERT_TRUE(t.add_node({"d", "r2", "z1", ""}).ok());
  auto host = [&](const char* name, uint8_t last, const char* node) {
    HostSpec h;
    h.ns = "ns";
    h.name = name;
    h.ip = Ipv4::of(10, 244, 0, last);
    h.node = node;
    return *t.add_host(h);
  };
  HostId a1 = host("a1", 1, "a"), a2 = host("a2", 2, "a"), b1 = host("b1", 3, "b"), c1 = host("c1", 4, "c"),
         d1 = host("d1", 5, "d");
  EXPECT_EQ(t.relation(a1, a1), Relation::kLoopback);
  EXPECT_EQ(t.relation(a1, a2), Relation::kSameNode);
  EXPECT_EQ(t.relation(a1, b1), Relation::kSameZone);
  EXPECT_EQ(t.relation(a1, c1), Relation::kOtherZone);
  EXPECT_EQ(t.relation(a1, d1), Relation::kOtherRegion);
  EXPECT_EQ(t.find_host("ns/c1"), c1);
  EXPECT_EQ(t.host_by_ip(Ipv4::of(10, 244, 0, 5)), d1);
}

TEST(TopologyTest, RejectsDuplicatesAndUnknownNodes) {
  Topology t;
  ASSERT_TRUE(t.add_node({"a", "", "", ""}).ok());
  EXPECT_FALSE(t.add_node({"a", "", "", ""}).ok());
  HostSpec h;
  h.ns = "ns";
  h.name = "p";
  h.ip = Ipv4::of(10, 0, 0, 1);
  h.node = "nope";
  EXPECT_NE(t.add_host(h).message().find("unknown node"), std::string::npos);
  h.node = "a";
  ASSERT_TRUE(t.add_host(h).ok());
  h.name = "q";
  EXPECT_NE(t.add_host(h).message().find("already used"), std::string::npos);
  h.ip = Ipv4::loopback();
  EXPECT_FALSE(t.add_host(h).ok());
}

TEST(LinkModelTest, SerialisationDelayIsBytesOverBandwidth) {
  EXPECT_EQ(serialisation_delay(1514, 10'000'000'000ULL), Duration::nanos(1212));  // 1211.2 rounded up
  EXPECT_EQ(serialisation_delay(125, 1'000'000'000ULL), Duration::nanos(1000));
  EXPECT_EQ(serialisation_delay(1500, 0), Duration::zero());
}

TEST(LinkModelTest, ParsesBandwidths) {
  EXPECT_EQ(*parse_bandwidth("10Gbps"), 10'000'000'000ULL);
  EXPECT_EQ(*parse_bandwidth("1.5Gbit"), 1'500'000'000ULL);
  EXPECT_EQ(*parse_bandwidth("800kbps"), 800'000ULL);
  EXPECT_EQ(*parse_bandwidth("1000"), 1000ULL);
  EXPECT_NE(parse_bandwidth("10GB").message().find("unknown unit"), std::string::npos);
  EXPECT_FALSE(parse_bandwidth("fast").ok());
  EXPECT_FALSE(parse_bandwidth("0Mbps").ok());
  EXPECT_EQ(format_bandwidth(25'000'000'000ULL), "25Gbps");
}

TEST(LinkModelTest, NodePairOverrideWinsOverRelation) {
  Topology t;
  NodeId a = *t.add_node({"a", "r", "z", ""});
  NodeId b = *t.add_node({"b", "r", "z", ""});
  HostSpec h;
  h.ns = "n";
  h.name = "x";
  h.ip = Ipv4::of(10, 0, 0, 1);
  h.node = "a";
  HostId x = *t.add_host(h);
  h.name = "y";
  h.ip = Ipv4::of(10, 0, 0, 2);
  h.node = "b";
  HostId y = *t.add_host(h);
  LinkModel m;
  EXPECT_EQ(m.between(t, x, y).latency, Duration::micros(100));
  m.set_node_pair(b, a, {Duration::millis(7), 0, {}, 0});
  EXPECT_EQ(m.between(t, x, y).latency, Duration::millis(7));
  EXPECT_EQ(m.between(t, y, x).latency, Duration::millis(7));
  EXPECT_EQ(m.between(t, x, x).latency, Duration::micros(10));  // loopback unaffected
}

}  // namespace
}  // namespace meshsim::sim
