// Counts every global C++ allocation so a benchmark can report allocations
// per operation (allocs_per_event, allocs_per_op, …). Replaces the global
// operator new/delete: include it in exactly one translation unit of each
// benchmark binary. OpenSSL's own malloc calls are not counted.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <new>

namespace meshsim::bench {
inline uint64_t g_allocations = 0;
}  // namespace meshsim::bench

void* operator new(std::size_t n) {
  ++meshsim::bench::g_allocations;
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
// GCC pairs the replaced operator new with free() below on purpose.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#pragma GCC diagnostic pop
