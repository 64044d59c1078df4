// Virtual network benchmarks: simulated payload through one virtual TCP
// stream, without and with a pcap capture, and the memory of many concurrent
// connections. Floors measured in this binary: memcpy of the same bytes (the
// one copy the network must make) and raw pcap_dump of prebuilt frames (what
// writing a capture costs at least); counters report the ratios.
//
//   build/default/bench/net_bench
//   build/default/bench/net_bench --benchmark_filter=Stream
#include <benchmark/benchmark.h>
#include <pcap/pcap.h>
#include <malloc.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bench/alloc_counter.h"
#include "sim/net/capture_session.h"
#include "sim/net/network.h"
#include "sim/simulator.h"

using meshsim::bench::g_allocations;

namespace {

using meshsim::Duration;
using meshsim::Ipv4;
using meshsim::SocketAddress;
namespace sim = meshsim::sim;

std::map<std::string, double>& floors() {
  static std::map<std::string, double> f;
  return f;
}

struct Timer {
  std::chrono::steady_clock::time_point t0 = std::chrono::steady_clock::now();
  double seconds() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); }
};

// ---- floors ------------------------------------------------------------------------------------
// The network copies every byte once (send() must keep them until delivery).
void BM_MemcpyFloor(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  std::vector<uint8_t> src(n + 64, 7), dst(n + 64);
  Timer t;
  for (auto _ : state) {
    std::memcpy(dst.data() + 64, src.data(), n);  // offset: no 4 KiB aliasing of src and dst
    benchmark::DoNotOptimize(dst.data());
    benchmark::ClobberMemory();
  }
  const double bytes = static_cast<double>(state.iterations()) * static_cast<double>(n);
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  floors()["memcpy/" + std::to_string(n)] = bytes / t.seconds();
}
BENCHMARK(BM_MemcpyFloor)->Arg(16384)->Arg(65536)->Arg(1 << 20)->UseRealTime();

// Writing a capture costs at least a pcap_dump of every frame.
void BM_PcapDumpFloor(benchmark::State& state) {
  pcap_t* p = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, 262144, PCAP_TSTAMP_PRECISION_NANO);
  pcap_dumper_t* d = pcap_dump_open(p, "/dev/null");
  std::vector<char> iobuf(1 << 20);
  std::setvbuf(pcap_dump_file(d), iobuf.data(), _IOFBF, iobuf.size());
  std::vector<uint8_t> frame(1514, 0x42);
  pcap_pkthdr h{};
  h.caplen = h.len = 1514;
  int64_t frames = 0;
  Timer t;
  for (auto _ : state) {
    for (int i = 0; i < 1024; ++i) {
      h.ts.tv_usec = i;
      pcap_dump(reinterpret_cast<u_char*>(d), &h, frame.data());
    }
    frames += 1024;
  }
  state.SetBytesProcessed(frames * 1448);  // payload equivalent
  floors()["pcap_dump"] = static_cast<double>(frames) * 1448 / t.seconds();
  pcap_dump_close(d);
  pcap_close(p);
}
BENCHMARK(BM_PcapDumpFloor)->UseRealTime();

// ---- one stream --------------------------------------------------------------------------------
struct Stream {
  explicit Stream(bool capture) : net(simulator) {
    (void)net.add_node({"a", "r", "z", ""});
    (void)net.add_node({"b", "r", "z", ""});
    sim::HostSpec h;
    h.ns = "bench";
    h.name = "client";
    h.ip = Ipv4::of(10, 0, 0, 1);
    h.node = "a";
    client = *net.add_host(h);
    h.name = "server";
    h.ip = Ipv4::of(10, 0, 1, 1);
    h.node = "b";
    server = *net.add_host(h);
    if (capture) {
      sim::CaptureOptions o;
      o.pcap = "/dev/null";
      auto started = sim::CaptureSession::start(o, simulator, net);
      session = std::move(started).value();
    }
    net.listen(server, {Ipv4::any(), 80}, [this](sim::TcpSocket, const sim::ConnectionInfo&) {
      sim::TcpCallbacks cb;
      cb.on_data = [this](std::span<const uint8_t> b) { received += b.size(); };
      return cb;
    });
    sock = net.connect(client, {Ipv4::of(10, 0, 1, 1), 80}, {}, {});
    simulator.run();
  }
  sim::Simulator simulator{1};
  sim::Network net;
  sim::HostId client = 0, server = 0;
  sim::TcpSocket sock;
  uint64_t received = 0;
  std::unique_ptr<sim::CaptureSession> session;
};

void stream_bench(benchmark::State& state, bool capture) {
  const size_t write = static_cast<size_t>(state.range(0));
  Stream s(capture);
  // The app's buffer; offset by 64 bytes so that it is not 4 KiB-aliased with
  // the network's buffer (see docs/benchmarks.md: glibc's rep-movsb memcpy is
  // several times slower on this CPU when source and destination are).
  std::vector<uint8_t> storage(write + 64, 0x5a);
  std::span<const uint8_t> payload(storage.data() + 64, write);
  for (int warm = 0; warm < 16; ++warm) {  // buffers reach their steady size
    s.net.send(s.sock, payload);
    s.simulator.run();
  }
  const uint64_t received0 = s.received;
  const double virtual0 = s.simulator.now().to_seconds();
  const uint64_t allocs0 = g_allocations;
  Timer t;
  for (auto _ : state) {
    s.net.send(s.sock, payload);
    s.simulator.run();
  }
  const double secs = t.seconds();
  state.counters["allocs_per_write"] =
      static_cast<double>(g_allocations - allocs0) / static_cast<double>(state.iterations());
  if (s.received - received0 != static_cast<uint64_t>(state.iterations()) * write) state.SkipWithError("bytes lost");
  const double bytes = static_cast<double>(state.iterations()) * static_cast<double>(write);
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  const double r = bytes / secs;
  state.counters["payload_GB_per_s"] = r / 1e9;
  state.counters["virtual_s_per_wall_s"] = (s.simulator.now().to_seconds() - virtual0) / secs;
  if (!capture) {
    auto it = floors().find("memcpy/" + std::to_string(write));
    if (it != floors().end()) state.counters["vs_memcpy"] = r / it->second;
  } else {
    auto it = floors().find("pcap_dump");
    if (it != floors().end()) state.counters["vs_pcap_dump"] = r / it->second;
    state.counters["packets_per_s"] = static_cast<double>(s.session->summary()[0].records) / secs;
  }
  if (s.session) (void)s.session->finish();
}

void BM_TcpStream(benchmark::State& state) { stream_bench(state, false); }
BENCHMARK(BM_TcpStream)->Arg(16384)->Arg(65536)->Arg(1 << 20)->UseRealTime();

void BM_TcpStreamPcap(benchmark::State& state) { stream_bench(state, true); }
BENCHMARK(BM_TcpStreamPcap)->Arg(16384)->Arg(65536)->Arg(1 << 20)->UseRealTime();

// ---- many connections ----------------------------------------------------------------------------
// Bytes the allocator has handed out and not got back (heap + mmapped chunks).
size_t heap_in_use() {
  struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
}

size_t rss_bytes() {
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return 0;
  unsigned long size = 0, resident = 0;
  if (std::fscanf(f, "%lu %lu", &size, &resident) != 2) resident = 0;
  std::fclose(f);
  return resident * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

void BM_ConcurrentConnections(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  double per_conn = 0, rss_growth = 0;
  for (auto _ : state) {
    state.PauseTiming();
    const size_t rss0 = rss_bytes();
    const size_t heap0 = heap_in_use();
    auto simulator = std::make_unique<sim::Simulator>(1);
    auto net = std::make_unique<sim::Network>(*simulator);
    (void)net->add_node({"a", "r", "z", ""});
    (void)net->add_node({"b", "r", "z", ""});
    sim::HostSpec h;
    h.ns = "bench";
    h.node = "b";
    h.name = "server";
    h.ip = Ipv4::of(10, 1, 0, 1);
    sim::HostId server = *net->add_host(h);
    std::vector<sim::HostId> clients;
    h.node = "a";
    for (int i = 0; i < 10; ++i) {
      h.name = "client-" + std::to_string(i);
      h.ip = Ipv4::of(10, 0, 0, static_cast<uint8_t>(i + 1));
      clients.push_back(*net->add_host(h));
    }
    net->listen(server, {Ipv4::any(), 80}, [](sim::TcpSocket, const sim::ConnectionInfo&) {
      sim::TcpCallbacks cb;
      cb.on_data = [](std::span<const uint8_t>) {};
      return cb;
    });
    state.ResumeTiming();
    for (int i = 0; i < n; ++i) {
      sim::TcpCallbacks cb;
      cb.on_data = [](std::span<const uint8_t>) {};
      net->connect(clients[static_cast<size_t>(i) % clients.size()], {Ipv4::of(10, 1, 0, 1), 80}, {}, std::move(cb));
    }
    simulator->run();
    state.PauseTiming();
    if (net->open_connections() != static_cast<size_t>(n)) state.SkipWithError("connections missing");
    rss_growth = static_cast<double>(rss_bytes()) - static_cast<double>(rss0);
    per_conn = (static_cast<double>(heap_in_use()) - static_cast<double>(heap0)) / n;
    net.reset();
    simulator.reset();
    state.ResumeTiming();
  }
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  state.counters["connections"] = n;
  state.counters["rss_growth_MB"] = rss_growth / 1e6;
  state.counters["heap_bytes_per_connection"] = per_conn;
  state.counters["peak_rss_MB"] = static_cast<double>(ru.ru_maxrss) / 1e3;
  state.counters["sizeof_connection"] = static_cast<double>(sim::Network::connection_footprint_bytes());
  state.counters["connections_per_s"] =
      benchmark::Counter(static_cast<double>(n) * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ConcurrentConnections)->Arg(100000)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
