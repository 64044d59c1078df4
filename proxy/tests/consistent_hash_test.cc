// Ring hash and Maglev host choice, and the request hash, against the
// independent oracle tests/oracles/consistent_hash.py (a Python transcription
// of docs/istio/http-traffic-management.md §7.2–7.3 over python3-xxhash).
// The strings below are its output; rerun it to regenerate them.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "proxy/http/hash_policy.h"
#include "proxy/upstream/consistent_hash.h"

namespace meshsim::proxy {
namespace {

using upstream::build_consistent_hash_table;
using upstream::xxhash64;

std::vector<LbEndpoint> hosts(std::vector<uint32_t> weights) {
  std::vector<LbEndpoint> out;
  for (size_t i = 0; i < weights.size(); ++i) {
    LbEndpoint e;
    e.address = {Ipv4::of(10, 1, 0, static_cast<uint8_t>(7 + i)), 9080};
    e.weight = weights[i];
    out.push_back(e);
  }
  return out;
}

std::vector<const LbEndpoint*> ptrs(const std::vector<LbEndpoint>& v) {
  std::vector<const LbEndpoint*> out;
  for (const auto& e : v) out.push_back(&e);
  return out;
}

// The host index (0 = 10.1.0.7) chosen for "user-0" … "user-23".
std::string choices(const upstream::ConsistentHashTable& t, uint32_t attempt) {
  std::string out;
  for (int i = 0; i < 24; ++i) {
    const LbEndpoint* e = t.choose(xxhash64("user-" + std::to_string(i)), attempt);
    out += static_cast<char>('0' + (e->address.ip.value & 0xff) - 7);
  }
  return out;
}

Cluster cluster(LbPolicy p) {
  Cluster c;
  c.lb_policy = p;
  return c;
}

TEST(ConsistentHash, Xxh64MatchesTheReferenceValues) {
  // XXH64 test vectors of the xxHash specification.
  EXPECT_EQ(xxhash64(""), 0xEF46DB3751D8E999ULL);
  EXPECT_EQ(xxhash64("", 1), 0xD5AFBA1336A3BE4BULL);
}

TEST(ConsistentHash, RingHashMatchesOracle) {
  auto hs = hosts({1, 1, 1});
  auto t = build_consistent_hash_table(cluster(LbPolicy::kRingHash), ptrs(hs));
  ASSERT_TRUE(t);
  EXPECT_EQ(t->size(), 1026u);  // ceil(1024/3)·3
  EXPECT_EQ(choices(*t, 0), "222210010110201102200220");
  EXPECT_EQ(choices(*t, 1), "002222002011122221102021");
}

TEST(ConsistentHash, WeightedRingHashMatchesOracle) {
  auto hs = hosts({1, 2, 3});
  Cluster c = cluster(LbPolicy::kRingHash);
  c.ring_hash_lb_config = RingHashLbConfig{16, std::nullopt};
  auto t = build_consistent_hash_table(c, ptrs(hs));
  EXPECT_EQ(t->size(), 18u);
  EXPECT_EQ(choices(*t, 0), "111001202111022011012101");
}

TEST(ConsistentHash, MaglevMatchesOracle) {
  auto hs = hosts({1, 1, 1});
  auto t = build_consistent_hash_table(cluster(LbPolicy::kMaglev), ptrs(hs));
  EXPECT_EQ(t->size(), 65537u);
  EXPECT_EQ(choices(*t, 0), "201000210010011110010000");
  EXPECT_EQ(choices(*t, 1), "112021210000222222222202");
}

TEST(ConsistentHash, WeightedMaglevMatchesOracle) {
  auto hs = hosts({1, 2, 3});
  Cluster c = cluster(LbPolicy::kMaglev);
  c.maglev_lb_config = MaglevLbConfig{251};
  auto t = build_consistent_hash_table(c, ptrs(hs));
  EXPECT_EQ(choices(*t, 0), "212120222112100011201221");
  // Slots per host: 42, 84, 125 of 251.
  int counts[3] = {0, 0, 0};
  for (uint64_t h = 0; h < 251; ++h) ++counts[(t->choose(h, 0)->address.ip.value & 0xff) - 7];
  EXPECT_EQ(counts[0], 42);
  EXPECT_EQ(counts[1], 84);
  EXPECT_EQ(counts[2], 125);
}

TEST(HashPolicy, CombinesEntriesByRotateAndXor) {
  http::Request req;
  req.headers.add("x-user", "user-1");
  std::vector<HashPolicy> hp(2);
  hp[0].kind = HashPolicy::Kind::kHeader;
  hp[0].name = "x-user";
  hp[1].kind = HashPolicy::Kind::kSourceIp;
  http::HashInputs in{&req, {Ipv4::of(10, 1, 0, 5), 41234}, {Ipv4::of(10, 96, 0, 30), 9080}};
  EXPECT_EQ(http::generate_hash(hp, in).hash, 0xbf853b5fe158298fULL);
  hp[0].terminal = true;  // the header produced a hash: source_ip is not consulted
  EXPECT_EQ(http::generate_hash(hp, in).hash, xxhash64("user-1"));
  req.headers.remove("x-user");  // absent header: no hash from it, the terminal does not stop
  EXPECT_EQ(http::generate_hash(hp, in).hash, xxhash64("10.1.0.5"));
  hp.pop_back();
  EXPECT_FALSE(http::generate_hash(hp, in).hash);
}

TEST(HashPolicy, CookieWithTtlIsGeneratedFromTheConnectionAddresses) {
  http::Request req;
  HashPolicy c;
  c.kind = HashPolicy::Kind::kCookie;
  c.name = "session";
  c.path = "/";
  c.ttl = Duration::seconds(60);
  c.attributes = {{"SameSite", "Lax"}, {"Secure", ""}};
  http::HashInputs in{&req, {Ipv4::of(10, 1, 0, 5), 41234}, {Ipv4::of(10, 96, 0, 30), 9080}};
  http::HashResult r = http::generate_hash({c}, in);
  EXPECT_EQ(r.hash, xxhash64("38319355f4297cf2"));
  ASSERT_EQ(r.set_cookies.size(), 1u);
  EXPECT_EQ(r.set_cookies[0], "session=\"38319355f4297cf2\"; Max-Age=60; Path=/; SameSite=Lax; Secure; HttpOnly");
  // The cookie sent back is hashed, nothing is generated.
  req.headers.add("cookie", "a=b; session=\"38319355f4297cf2\"");
  r = http::generate_hash({c}, in);
  EXPECT_EQ(r.hash, xxhash64("38319355f4297cf2"));
  EXPECT_TRUE(r.set_cookies.empty());
  // Without ttl and without the cookie: no hash.
  req.headers.remove("cookie");
  c.ttl.reset();
  EXPECT_FALSE(http::generate_hash({c}, in).hash);
}

TEST(HashPolicy, QueryParameterIsTakenUndecodedFromTheFirstOccurrence) {
  http::Request req;
  req.target = "/p?a=1&user=b%20c&user=z";
  HashPolicy q;
  q.kind = HashPolicy::Kind::kQueryParameter;
  q.name = "user";
  http::HashInputs in{&req, {}, {}};
  EXPECT_EQ(http::generate_hash({q}, in).hash, xxhash64("b%20c"));
  req.target = "/p?a=1";
  EXPECT_FALSE(http::generate_hash({q}, in).hash);
}

}  // namespace
}  // namespace meshsim::proxy
