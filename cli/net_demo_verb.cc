// `meshsim net-demo` — runs the built-in two-pod TCP exchange (sim/net/net_demo.h)
// with optional captures, and prints one line per connection.
#include <CLI/CLI.hpp>

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <memory>
#include <string>

#include "cli/capture_flags.h"
#include "cli/verb.h"
#include "sim/net/link_model.h"
#include "sim/net/net_demo.h"
#include "sim/net/network.h"
#include "sim/simulator.h"

namespace meshsim::cli {
namespace {

struct NetDemoFlags {
  sim::NetDemoOptions demo;
  std::string latency, bandwidth, jitter;
  double loss = 0;
  sim::CaptureOptions capture;
};

constexpr const char* kHelp =
    "Run a built-in two-pod TCP exchange on the virtual network: default/client (10.244.0.5,\n"
    "node-a) connects to an echo server default/echo (10.244.1.7:7, node-b), writes N bytes\n"
    "in a few writes, reads them back and closes with FIN. Prints bytes, segments and duration\n"
    "per connection; exit code 1 if an echo did not come back intact.\n"
    "It is the quick check that captures work:\n"
    "  meshsim net-demo --pcap demo.pcap && tcpdump -nr demo.pcap\n"
    "  meshsim net-demo --sidecars --pcap-pod default/client=client.pcap   # shows the loopback hop\n"
    "  meshsim net-demo --loss 0.02 --connections 5 --pcap lossy.pcap --pcap-filter 'tcp[13] & 4 != 0'\n"
    "See docs/cli/net-demo.md.";

}  // namespace

void register_net_demo(CLI::App& app, VerbContext& ctx) {
  auto f = std::make_shared<NetDemoFlags>();
  CLI::App* sub = app.add_subcommand("net-demo", kHelp);
  sub->add_option("--seed", f->demo.seed, "Seed of every random stream (jitter, loss, ports, payload)")
      ->capture_default_str();
  sub->add_option("--bytes", f->demo.bytes, "Bytes the client sends (and gets back) per connection")
      ->check(CLI::Range(uint64_t{0}, uint64_t{64} << 20))
      ->capture_default_str();
  sub->add_option("--writes", f->demo.writes, "Number of writes the client splits its bytes into")
      ->check(CLI::Range(1, 10'000))
      ->capture_default_str();
  sub->add_option("--connections", f->demo.connections, "Connections, opened 1 ms apart")
      ->check(CLI::Range(1, 10'000))
      ->capture_default_str();
  sub->add_flag("--sidecars", f->demo.sidecars,
                "Inject both pods: iptables capture sends traffic through a minimal relay on 15001/15006");
  sub->add_flag("--service", f->demo.service,
                "Connect to the ClusterIP service \"echo\" (10.96.0.10:7) instead of the pod IP");
  sub->add_option("--latency", f->latency, "One-way latency between the pods (Go duration, e.g. 250us, 2ms)")
      ->group("Link");
  sub->add_option("--bandwidth", f->bandwidth, "Link bandwidth (e.g. 1Gbps, 100Mbps)")->group("Link");
  sub->add_option("--jitter", f->jitter, "Extra delay per write, uniform in [0, JITTER] (never reorders bytes)")
      ->group("Link");
  CLI::Option* loss_opt = sub->add_option("--loss", f->loss, "Probability that a segment transmission is lost (0 <= P < 1); costs time")
      ->group("Link");
  add_capture_flags(sub, f->capture);

  sub->callback([f, &ctx, loss_opt] {
    auto bad = [&ctx](const std::string& m) {
      print_error(m);
      ctx.exit_code = kExitBadInput;
    };
    sim::NetDemoOptions o = f->demo;
    if (!f->latency.empty()) {
      auto d = sim::parse_duration(f->latency);
      if (!d.ok() || d->ns() <= 0) return bad("--latency: " + (d.ok() ? std::string("must be positive") : d.message()));
      o.latency = *d;
    }
    if (!f->jitter.empty()) {
      auto d = sim::parse_duration(f->jitter);
      if (!d.ok() || d->ns() < 0) return bad("--jitter: " + (d.ok() ? std::string("must not be negative") : d.message()));
      o.jitter = *d;
    }
    if (!f->bandwidth.empty()) {
      auto b = sim::parse_bandwidth(f->bandwidth);
      if (!b.ok()) return bad("--bandwidth: " + b.message());
      o.bandwidth_bps = *b;
    }
    if (loss_opt->count() > 0) {
      if (!(f->loss >= 0 && f->loss < 1)) return bad("--loss: must be in [0, 1), got " + std::to_string(f->loss));
      o.loss = f->loss;
    }
    if (o.bytes * static_cast<uint64_t>(o.connections) > (uint64_t{512} << 20)) {
      return bad("--bytes x --connections: at most 512 MiB in total");
    }
    if (auto st = sim::validate_capture_options(f->capture); !st) return bad(st.message());

    sim::NetDemo demo(o);
    std::unique_ptr<sim::CaptureSession> session;
    if (f->capture.any()) {
      auto s = sim::CaptureSession::start(f->capture, demo.simulator(), demo.network());
      if (!s.ok()) return bad(s.message());
      session = std::move(*s);
    }
    auto start = std::chrono::steady_clock::now();
    sim::NetDemoResult r = demo.run();
    double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (session) {
      if (auto st = session->finish(); !st) {
        print_error(st.message());
        ctx.exit_code = kExitBadInput;
        return;
      }
    }

    std::printf("net-demo: %d connection%s, %" PRIu64 " bytes each way in %d write%s, seed %" PRIu64 "%s%s\n",
                o.connections, o.connections == 1 ? "" : "s", o.bytes, o.writes, o.writes == 1 ? "" : "s", o.seed,
                o.sidecars ? ", sidecars" : "", o.service ? ", via service echo" : "");
    std::printf("  client default/client 10.244.0.5 (node-a) -> server default/echo 10.244.1.7:7 (node-b)\n");
    std::printf("  %-5s %-21s %-21s %-10s %10s %10s %9s %9s %7s %12s\n", "conn", "client", "server", "outcome", "sent",
                "received", "segs-out", "segs-in", "retrans", "duration");
    const sim::Network& net = demo.network();
    for (const auto& c : r.connections) {
      std::printf("  %-5" PRIu64 " %-21s %-21s %-10s %10" PRIu64 " %10" PRIu64 " %9" PRIu64 " %9" PRIu64 " %7" PRIu64
                  " %12s\n",
                  c.connection, to_string(c.client).c_str(), to_string(c.server).c_str(), c.outcome.c_str(),
                  c.counters.bytes_sent, c.counters.bytes_received, c.counters.segments_sent,
                  c.counters.segments_received, c.counters.retransmitted_segments,
                  sim::format_duration(c.finished - c.started).c_str());
      if (net.wire_records_enabled() && !c.loopback) {
        auto up = net.wire_counts(c.connection, true);
        auto down = net.wire_counts(c.connection, false);
        std::printf("        wire: client->server %" PRIu64 " frames %" PRIu64 " bytes, server->client %" PRIu64
                    " frames %" PRIu64 " bytes\n",
                    up.frames, up.bytes, down.frames, down.bytes);
      }
    }
    std::printf("  virtual time   %s\n", sim::format_duration(r.virtual_time).c_str());
    std::printf("  events         %" PRIu64 " (wall %.3f s)\n", r.events, wall);
    std::printf("  fingerprint    %016" PRIx64 "\n", r.fingerprint);
    if (session) print_capture_summary(*session);
    ctx.exit_code = r.all_ok ? kExitOk : kExitCheckFailed;
  });
}

}  // namespace meshsim::cli
