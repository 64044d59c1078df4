#include "sim/detmath.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

namespace meshsim::sim {
namespace {

int64_t ulps_apart(double a, double b) {
  int64_t ia = 0, ib = 0;
  std::memcpy(&ia, &a, 8);
  std::memcpy(&ib, &b, 8);
  return ia > ib ? ia - ib : ib - ia;
}

TEST(DetMath, LogAgreesWithTheCLibraryToOneUlp) {
  for (double x = 1e-300; x < 1e300; x *= 1.37) EXPECT_LE(ulps_apart(det_log(x), std::log(x)), 1) << x;
  for (double x = 0.5; x < 2.0; x += 0.000731) EXPECT_LE(ulps_apart(det_log(x), std::log(x)), 1) << x;
  EXPECT_EQ(det_log(1.0), 0.0);
  EXPECT_LE(ulps_apart(det_log(4.9406564584124654e-324), std::log(4.9406564584124654e-324)), 1);
}

TEST(DetMath, ExpAgreesWithTheCLibraryToOneUlp) {
  for (double x = -745.0; x < 709.0; x += 0.0917) EXPECT_LE(ulps_apart(det_exp(x), std::exp(x)), 1) << x;
  EXPECT_EQ(det_exp(0.0), 1.0);
}

TEST(DetMath, SpecialValues) {
  EXPECT_TRUE(std::isnan(det_log(-1.0)));
  EXPECT_EQ(det_log(0.0), -std::numeric_limits<double>::infinity());
  EXPECT_EQ(det_log(std::numeric_limits<double>::infinity()), std::numeric_limits<double>::infinity());
  EXPECT_EQ(det_exp(1000.0), std::numeric_limits<double>::infinity());
  EXPECT_EQ(det_exp(-1000.0), 0.0);
  EXPECT_TRUE(std::isnan(det_exp(std::nan(""))));
}

}  // namespace
}  // namespace meshsim::sim
