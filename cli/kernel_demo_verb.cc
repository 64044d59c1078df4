// `meshsim kernel-demo` — runs the built-in kernel workload and prints virtual
// time, event count, events per second and the run fingerprint.
#include <CLI/CLI.hpp>

#include <chrono>
#include <cinttypes>
#include <cstdio>

#include "cli/verb.h"
#include "sim/kernel_demo.h"

namespace meshsim::cli {

void register_kernel_demo(CLI::App& app, VerbContext& ctx) {
  auto opts = std::make_shared<sim::KernelDemoOptions>();
  auto duration = std::make_shared<std::string>("60s");
  CLI::App* sub = app.add_subcommand(
      "kernel-demo",
      "Run the built-in discrete-event kernel workload (clients, servers, timeouts) and print\n"
      "virtual time, events, events/s and the run fingerprint. Same seed => same fingerprint.");
  sub->add_option("--seed", opts->seed, "Scenario seed for every random stream")->capture_default_str();
  sub->add_option("--clients", opts->clients, "Number of client actors")->check(CLI::Range(1, 1'000'000))->capture_default_str();
  sub->add_option("--servers", opts->servers, "Number of server actors")->check(CLI::Range(1, 10'000))->capture_default_str();
  sub->add_option("--duration", *duration, "Virtual time to simulate (Go duration: 90s, 5m, 1h30m)")->capture_default_str();
  sub->callback([opts, duration, &ctx] {
    auto d = sim::parse_duration(*duration);
    if (!d.ok() || d->ns() <= 0) {
      print_error("--duration: " + (d.ok() ? std::string("must be positive") : d.message()));
      ctx.exit_code = kExitBadInput;
      return;
    }
    opts->duration = *d;
    auto start = std::chrono::steady_clock::now();
    sim::KernelDemoResult r = sim::run_kernel_demo(*opts);
    double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("kernel demo: %d clients, %d servers, seed %" PRIu64 "\n", opts->clients, opts->servers, opts->seed);
    std::printf("  virtual time   %s\n", sim::format_duration(r.virtual_time).c_str());
    std::printf("  events         %" PRIu64 "\n", r.events);
    std::printf("  events/s       %.3g (wall %.3f s, time compression %.0fx)\n", wall > 0 ? r.events / wall : 0.0,
                wall, wall > 0 ? r.virtual_time.to_seconds() / wall : 0.0);
    std::printf("  requests       %" PRIu64 " sent, %" PRIu64 " completed, %" PRIu64 " timed out\n", r.requests,
                r.completed, r.timed_out);
    std::printf("  observations   %" PRIu64 "\n", r.observations);
    std::printf("  fingerprint    %016" PRIx64 "\n", r.fingerprint);
    ctx.exit_code = kExitOk;
  });
}

}  // namespace meshsim::cli
