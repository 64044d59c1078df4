// The capture flags every verb that simulates traffic offers (net-demo now;
// run, probe and conformance later): --pcap, --pcap-pod, --pcap-filter and
// --keylog. add_capture_flags() declares them on a CLI11 subcommand;
// sim::validate_capture_options() checks them before anything runs and
// sim::CaptureSession installs the writers (sim/net/capture_session.h).
// print_capture_summary() prints "wrote FILE (N packets, …)" per file, on stderr.
#pragma once

#include "sim/net/capture_session.h"

namespace CLI {
class App;
}

namespace meshsim::cli {

void add_capture_flags(CLI::App* app, sim::CaptureOptions& options);
void print_capture_summary(const sim::CaptureSession& session);

}  // namespace meshsim::cli
