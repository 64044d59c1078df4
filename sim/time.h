// Simulated time. A Time is a Duration since the start of the run (t = 0):
// an integer count of nanoseconds, so a run never depends on floating point
// rounding or on the wall clock. Durations are parsed and printed the way Istio
// writes them; see proxy/base/duration.h for the grammar.
#pragma once

#include "proxy/base/duration.h"

namespace meshsim::sim {

using meshsim::Duration;
using meshsim::format_duration;
using meshsim::parse_duration;
using Time = meshsim::Duration;
using namespace meshsim::literals;  // NOLINT(google-build-using-namespace): 5_ms, 2_s …

}  // namespace meshsim::sim
