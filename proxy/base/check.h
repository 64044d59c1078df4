// MESHSIM_CHECK is an always-on assertion for API misuse (scheduling in the
// past, cancelling from a foreign simulator, …): it prints the condition and a
// message to stderr and aborts. It is not for simulated failures — a reset, a
// timeout or a denied request is an ordinary outcome, never a CHECK.
#pragma once

namespace meshsim::detail {
[[noreturn]] void check_failed(const char* file, int line, const char* cond, const char* msg);
}  // namespace meshsim::detail

#define MESHSIM_CHECK(cond, msg)                                           \
  do {                                                                     \
    if (!(cond)) [[unlikely]]                                              \
      ::meshsim::detail::check_failed(__FILE__, __LINE__, #cond, (msg));   \
  } while (false)
