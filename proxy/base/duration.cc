#include "proxy/base/duration.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace meshsim {
namespace {

constexpr uint64_t kMaxNs = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());

struct Unit {
  std::string_view name;
  uint64_t ns;
};
constexpr Unit kUnits[] = {
    {"ns", 1},
    {"us", 1'000},
    {"\xC2\xB5s", 1'000},  // U+00B5 micro sign
    {"\xCE\xBCs", 1'000},  // U+03BC Greek mu
    {"ms", 1'000'000},
    {"s", 1'000'000'000},
    {"m", 60ULL * 1'000'000'000},
    {"h", 3600ULL * 1'000'000'000},
};

bool is_digit(char c) { return c >= '0' && c <= '9'; }

Error invalid(std::string_view text, std::string_view why) {
  return Error{"invalid duration \"" + std::string(text) + "\": " + std::string(why)};
}

// Formats v/10^prec with trailing zeros of the fraction removed (Go's fmtFrac).
std::string frac(uint64_t v, int prec, uint64_t* int_part) {
  std::string digits;
  bool printed = false;
  for (int i = 0; i < prec; ++i) {
    uint64_t digit = v % 10;
    printed = printed || digit != 0;
    if (printed) digits.insert(digits.begin(), static_cast<char>('0' + digit));
    v /= 10;
  }
  *int_part = v;
  return printed ? "." + digits : "";
}

}  // namespace

Duration scale(Duration d, double factor) {
  return Duration::nanos(static_cast<int64_t>(std::llround(static_cast<double>(d.ns()) * factor)));
}

Result<Duration> parse_duration(std::string_view text) {
  std::string_view s = text;
  bool neg = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return Duration::zero();
  if (s.empty()) return invalid(text, "empty (write e.g. \"150ms\", \"2s\", \"1h30m\")");

  uint64_t total = 0;
  while (!s.empty()) {
    if (!(s[0] == '.' || is_digit(s[0]))) {
      return invalid(text, "expected a number at \"" + std::string(s) + "\"");
    }
    // Integer part.
    uint64_t v = 0;
    size_t i = 0;
    bool overflow = false;
    for (; i < s.size() && is_digit(s[i]); ++i) {
      uint64_t digit = static_cast<uint64_t>(s[i] - '0');
      if (v > (kMaxNs - digit) / 10) overflow = true;
      v = v * 10 + digit;
    }
    if (overflow) return invalid(text, "value out of range");
    bool pre = i > 0;
    s.remove_prefix(i);
    // Fraction.
    uint64_t f = 0;
    double fscale = 1;
    bool post = false;
    if (!s.empty() && s[0] == '.') {
      s.remove_prefix(1);
      size_t j = 0;
      for (; j < s.size() && is_digit(s[j]); ++j) {
        if (f < kMaxNs / 10) {  // excess digits are dropped, as Go does
          f = f * 10 + static_cast<uint64_t>(s[j] - '0');
          fscale *= 10;
        }
      }
      post = j > 0;
      s.remove_prefix(j);
    }
    if (!pre && !post) return invalid(text, "a '.' needs digits around it");
    // Unit.
    size_t k = 0;
    while (k < s.size() && s[k] != '.' && !is_digit(s[k])) ++k;
    if (k == 0) return invalid(text, "missing unit (valid units: ns, us, ms, s, m, h)");
    std::string_view unit_name = s.substr(0, k);
    s.remove_prefix(k);
    uint64_t unit = 0;
    for (const Unit& u : kUnits) {
      if (u.name == unit_name) unit = u.ns;
    }
    if (unit == 0) {
      return invalid(text, "unknown unit \"" + std::string(unit_name) + "\" (valid units: ns, us, ms, s, m, h)");
    }
    if (v > kMaxNs / unit) return invalid(text, "value out of range");
    v *= unit;
    if (f > 0) {
      v += static_cast<uint64_t>(static_cast<double>(f) * (static_cast<double>(unit) / fscale));
      if (v > kMaxNs) return invalid(text, "value out of range");
    }
    if (total > kMaxNs - v) return invalid(text, "value out of range");
    total += v;
  }
  int64_t ns = static_cast<int64_t>(total);
  return Duration::nanos(neg ? -ns : ns);
}

std::string format_duration(Duration d) {
  int64_t ns = d.ns();
  if (ns == 0) return "0s";
  bool neg = ns < 0;
  uint64_t u = neg ? 0 - static_cast<uint64_t>(ns) : static_cast<uint64_t>(ns);
  std::string out;
  if (u < 1'000'000'000ULL) {
    int prec = 0;
    std::string unit;
    if (u < 1'000ULL) {
      unit = "ns";
    } else if (u < 1'000'000ULL) {
      prec = 3;
      unit = "us";
    } else {
      prec = 6;
      unit = "ms";
    }
    uint64_t ip = 0;
    std::string f = frac(u, prec, &ip);
    out = std::to_string(ip) + f + unit;
  } else {
    uint64_t secs = 0;
    std::string f = frac(u, 9, &secs);
    std::string s = std::to_string(secs % 60) + f + "s";
    uint64_t mins = secs / 60;
    if (mins > 0) {
      s = std::to_string(mins % 60) + "m" + s;
      uint64_t hours = mins / 60;
      if (hours > 0) s = std::to_string(hours) + "h" + s;
    }
    out = s;
  }
  return neg ? "-" + out : out;
}

}  // namespace meshsim

namespace meshsim {

std::string format_http_date(Duration since_epoch) {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  int64_t secs = kVirtualEpochUnixSeconds + since_epoch.ns() / 1'000'000'000;
  // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
  int64_t days = secs / 86400, rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  int weekday = static_cast<int>((days % 7 + 11) % 7);  // 1970-01-01 was a Thursday
  int64_t z = days + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  int64_t day = doy - (153 * mp + 2) / 5 + 1;
  int64_t month = mp < 10 ? mp + 3 : mp - 9;
  int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[weekday], static_cast<int>(day),
                kMonths[month - 1], static_cast<int>(year), static_cast<int>(rem / 3600), static_cast<int>(rem / 60 % 60),
                static_cast<int>(rem % 60));
  return buf;
}

}  // namespace meshsim
