// KernelDemo is the small built-in workload `meshsim kernel-demo` runs: a
// closed queueing network of clients sending requests to a few servers with
// exponential think and service times. It exercises the whole kernel —
// scheduling, cancellation (request timeouts that are usually cancelled),
// named random streams, the event stream and the fingerprint — and is the
// smallest end-to-end check that a build works.
#pragma once

#include <cstdint>

#include "sim/time.h"

namespace meshsim::sim {

struct KernelDemoOptions {
  uint64_t seed = 1;
  int clients = 200;
  int servers = 4;
  Duration duration = Duration::seconds(60);
  Duration mean_think = Duration::millis(20);
  Duration mean_service = Duration::micros(800);
  Duration timeout = Duration::millis(250);
};

struct KernelDemoResult {
  Time virtual_time;
  uint64_t events = 0;
  uint64_t requests = 0;
  uint64_t completed = 0;
  uint64_t timed_out = 0;
  uint64_t observations = 0;
  uint64_t fingerprint = 0;
};

KernelDemoResult run_kernel_demo(const KernelDemoOptions& options);

}  // namespace meshsim::sim
