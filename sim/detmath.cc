#include "sim/detmath.h"

#include <cmath>
#include <limits>

namespace meshsim::sim {
namespace {

constexpr double kLn2Hi = 6.93147180369123816490e-01;  // high bits of ln 2
constexpr double kLn2Lo = 1.90821492927058770002e-10;  // ln 2 - kLn2Hi
constexpr double kInvLn2 = 1.44269504088896338700e+00;
constexpr double kSqrtHalf = 0.70710678118654752440;

// Minimax coefficients of the log(1+f) series in s = f/(2+f).
constexpr double kLg1 = 6.666666666666735130e-01;
constexpr double kLg2 = 3.999999999940941908e-01;
constexpr double kLg3 = 2.857142874366239149e-01;
constexpr double kLg4 = 2.222219843214978396e-01;
constexpr double kLg5 = 1.818357216161805012e-01;
constexpr double kLg6 = 1.531383769920937332e-01;
constexpr double kLg7 = 1.479819860511658591e-01;

// Remez coefficients of the rational approximation of exp on [-ln2/2, ln2/2].
constexpr double kP1 = 1.66666666666666019037e-01;
constexpr double kP2 = -2.77777777770155933842e-03;
constexpr double kP3 = 6.61375632143793436117e-05;
constexpr double kP4 = -1.65339022054652515390e-06;
constexpr double kP5 = 4.13813679705723846039e-08;

}  // namespace

double det_log(double x) {
  if (std::isnan(x) || x < 0) return std::numeric_limits<double>::quiet_NaN();
  if (x == 0) return -std::numeric_limits<double>::infinity();
  if (std::isinf(x)) return x;
  // x = m * 2^k with m in [sqrt(1/2), sqrt(2)). frexp and ldexp are exact.
  int k = 0;
  double m = std::frexp(x, &k);  // m in [0.5, 1)
  if (m < kSqrtHalf) {
    m *= 2;
    k -= 1;
  }
  double f = m - 1.0;  // exact (Sterbenz)
  double dk = k;
  double s = f / (2.0 + f);
  double z = s * s;
  double w = z * z;
  double t1 = w * (kLg2 + w * (kLg4 + w * kLg6));
  double t2 = z * (kLg1 + w * (kLg3 + w * (kLg5 + w * kLg7)));
  double r = t2 + t1;
  double hfsq = 0.5 * f * f;
  return dk * kLn2Hi - ((hfsq - (s * (hfsq + r) + dk * kLn2Lo)) - f);
}

double det_exp(double x) {
  if (std::isnan(x)) return x;
  if (x > 7.09782712893383973096e+02) return std::numeric_limits<double>::infinity();
  if (x < -7.45133219101941108420e+02) return 0.0;
  if (std::fabs(x) < 3.7252902984e-09) return 1.0 + x;  // |x| < 2^-28
  // x = k*ln2 + r, |r| <= ln2/2.
  double kd = std::floor(x * kInvLn2 + 0.5);
  int k = static_cast<int>(kd);
  double hi = x - kd * kLn2Hi;
  double lo = kd * kLn2Lo;
  double r = hi - lo;
  double t = r * r;
  double c = r - t * (kP1 + t * (kP2 + t * (kP3 + t * (kP4 + t * kP5))));
  double y = 1.0 - ((lo - (r * c) / (2.0 - c)) - hi);
  return std::ldexp(y, k);
}

}  // namespace meshsim::sim
