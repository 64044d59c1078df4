#include "sim/random.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "proxy/base/hash.h"

namespace meshsim::sim {
namespace {

TEST(StableHash, MatchesPublishedFnv1aVectors) {
  EXPECT_EQ(fnv1a64(""), 0xcbf29ce484222325ULL);
  EXPECT_EQ(fnv1a64("a"), 0xaf63dc4c8601ec8cULL);
  EXPECT_EQ(fnv1a64("foobar"), 0x85944171f73967e8ULL);
}

TEST(RandomStream, MatchesTheXoshiro256StarStarReferenceVector) {
  // Published reference outputs for state {1, 2, 3, 4}.
  RandomStream r = RandomStream::from_state(1, 2, 3, 4);
  const uint64_t expected[] = {11520ULL, 0ULL, 1509978240ULL, 1215971899390074240ULL, 1216172134540287360ULL,
                               607988272756665600ULL};
  for (uint64_t e : expected) EXPECT_EQ(r.next_u64(), e);
}

TEST(RandomStream, DerivationIsTheDocumentedAlgorithm) {
  // Golden values from an independent Python transcription of the algorithm
  // documented in random.h (mix64, fnv1a64, xoshiro256**), not from this code.
  RandomStream r = RandomStream::derive(42, "net.loss");
  EXPECT_EQ(r.next_u64(), 0xb14641ac22b4d41fULL);
  EXPECT_EQ(r.next_u64(), 0xd2c95b9f0e94df95ULL);
  EXPECT_EQ(r.next_u64(), 0x4f787a4835c5ba44ULL);
  EXPECT_EQ(r.next_u64(), 0x339c69ac0df5d4f3ULL);
  RandomStream z = RandomStream::derive(0, "");
  EXPECT_EQ(z.next_u64(), 0x21382ef092ed7068ULL);
  EXPECT_EQ(z.next_u64(), 0x5b54c052757adf62ULL);
}

// Golden values of every distribution, bit for bit, from an independent
// Python transcription (IEEE doubles, no FMA) of xoshiro256**, the documented
// uniform01, fdlibm's log/exp and the polar method — so a change in any of
// them, or a compiler contracting a*b+c into an FMA, fails here.
TEST(RandomStream, DistributionsMatchGoldenValuesBitForBit) {
  RandomStream g = RandomStream::from_state(0x9e3779b97f4a7c15ULL, 0xbf58476d1ce4e5b9ULL, 0x94d049bb133111ebULL,
                                            0x2545f4914f6cdd1dULL);
  EXPECT_EQ(g.uniform01(), 0x1.091c5c2878c30p-2);
  EXPECT_EQ(g.uniform01(), 0x1.4ffd2d9815e8ep-2);
  EXPECT_EQ(g.uniform01(), 0x1.4f97725bc09ccp-2);
  EXPECT_EQ(g.exponential(2.5), 0x1.7182df76fc8cep-1);
  EXPECT_EQ(g.exponential(2.5), 0x1.36b48be16e036p+2);
  EXPECT_EQ(g.exponential(2.5), 0x1.584dff4aa1abap+0);
  EXPECT_EQ(g.normal(10.0, 3.0), 0x1.8c667ceb6c9eep+1);
  EXPECT_EQ(g.normal(10.0, 3.0), 0x1.44e7b5922344ep+3);  // the pair's spare
  EXPECT_EQ(g.normal(10.0, 3.0), 0x1.72afbbd514b00p+3);
  EXPECT_EQ(g.normal(10.0, 3.0), 0x1.0684bae563456p+3);
  EXPECT_EQ(g.lognormal(1.0, 0.5), 0x1.4e5d16571e46ep+1);
  EXPECT_EQ(g.lognormal(1.0, 0.5), 0x1.7da80de2adfd7p+2);
  EXPECT_EQ(g.lognormal(1.0, 0.5), 0x1.76e0559ed1298p+1);
  const bool expected[] = {false, false, false, false, true, false, false, false};
  for (bool e : expected) EXPECT_EQ(g.bernoulli(0.3), e);
}

TEST(RandomStream, SameSeedAndNameReproduceTheSameSequence) {
  RandomStream a = RandomStream::derive(7, "app/reviews-v1");
  RandomStream b = RandomStream::derive(7, "app/reviews-v1");
  for (int i = 0; i < 1000; ++i) {
    ASSERT_EQ(a.next_u64(), b.next_u64());
    ASSERT_EQ(a.normal(0, 1), b.normal(0, 1));
    ASSERT_EQ(a.lognormal(1, 0.5), b.lognormal(1, 0.5));
  }
}

TEST(RandomStream, StreamsWithDifferentNamesOrSeedsAreIndependent) {
  RandomStream a = RandomStream::derive(7, "a");
  RandomStream b = RandomStream::derive(7, "b");
  RandomStream c = RandomStream::derive(8, "a");
  int equal_ab = 0, equal_ac = 0;
  double sum_ab = 0;
  const int n = 100000;
  for (int i = 0; i < n; ++i) {
    double x = a.uniform01(), y = b.uniform01(), z = c.uniform01();
    equal_ab += x == y;
    equal_ac += x == z;
    sum_ab += (x - 0.5) * (y - 0.5);
  }
  EXPECT_EQ(equal_ab, 0);
  EXPECT_EQ(equal_ac, 0);
  // Correlation of independent U(0,1): covariance ~ N(0, 1/144/n); 6 sigma.
  EXPECT_LT(std::fabs(sum_ab / n), 6.0 / 12.0 / std::sqrt(n));
}

TEST(RandomStream, UniformIntegersStayInRangeAndCoverIt) {
  RandomStream r(1);
  std::vector<int> counts(10);
  for (int i = 0; i < 100000; ++i) {
    int64_t v = r.uniform_int(-5, 5);
    ASSERT_GE(v, -5);
    ASSERT_LT(v, 5);
    ++counts[static_cast<size_t>(v + 5)];
  }
  for (int c : counts) EXPECT_NEAR(c, 10000, 600);  // ~6 sigma
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(r.uniform_u64(1), 0u);
}

struct Moments {
  double mean = 0, var = 0;
};
template <typename F>
Moments moments(F draw, int n) {
  double s = 0, s2 = 0;
  for (int i = 0; i < n; ++i) {
    double x = draw();
    s += x;
    s2 += x * x;
  }
  Moments m;
  m.mean = s / n;
  m.var = s2 / n - m.mean * m.mean;
  return m;
}

TEST(RandomStream, DistributionsHaveTheRightMoments) {
  RandomStream r = RandomStream::derive(99, "moments");
  const int n = 200000;
  Moments u = moments([&] { return r.uniform(2, 4); }, n);
  EXPECT_NEAR(u.mean, 3.0, 0.01);
  EXPECT_NEAR(u.var, 1.0 / 3.0, 0.01);
  Moments e = moments([&] { return r.exponential(5.0); }, n);
  EXPECT_NEAR(e.mean, 5.0, 0.07);
  EXPECT_NEAR(e.var, 25.0, 1.0);
  Moments g = moments([&] { return r.normal(10.0, 2.0); }, n);
  EXPECT_NEAR(g.mean, 10.0, 0.03);
  EXPECT_NEAR(g.var, 4.0, 0.1);
  // lognormal(mu, sigma): mean = exp(mu + sigma^2/2).
  Moments l = moments([&] { return r.lognormal(0.0, 0.5); }, n);
  EXPECT_NEAR(l.mean, std::exp(0.125), 0.01);
  Moments b = moments([&] { return r.bernoulli(0.3) ? 1.0 : 0.0; }, n);
  EXPECT_NEAR(b.mean, 0.3, 0.006);
  EXPECT_FALSE(r.bernoulli(0.0));
  EXPECT_TRUE(r.bernoulli(1.0));
}

TEST(RandomStream, DurationsAreWholeNanosecondsInRange) {
  RandomStream r(3);
  for (int i = 0; i < 1000; ++i) {
    Duration d = r.uniform_duration(Duration::millis(1), Duration::millis(2));
    ASSERT_GE(d, Duration::millis(1));
    ASSERT_LT(d, Duration::millis(2));
  }
  Moments e = moments([&] { return static_cast<double>(r.exponential_duration(Duration::millis(10)).ns()); }, 100000);
  EXPECT_NEAR(e.mean, 1e7, 2e5);
}

TEST(RandomStream, FillIsDeterministicAndUsesTheWholeBuffer) {
  RandomStream a(5), b(5);
  unsigned char x[37] = {}, y[37] = {};
  a.fill(x, sizeof x);
  b.fill(y, sizeof y);
  EXPECT_EQ(0, std::memcmp(x, y, sizeof x));
  int zeros = 0;
  for (unsigned char c : x) zeros += c == 0;
  EXPECT_LT(zeros, 4);
}

}  // namespace
}  // namespace meshsim::sim
