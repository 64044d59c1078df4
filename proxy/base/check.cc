#include "proxy/base/check.h"

#include <cstdio>
#include <cstdlib>

namespace meshsim::detail {

void check_failed(const char* file, int line, const char* cond, const char* msg) {
  std::fprintf(stderr, "meshsim: internal check failed at %s:%d: %s (%s)\n", file, line, cond, msg);
  std::fflush(stderr);
  std::abort();
}

}  // namespace meshsim::detail
