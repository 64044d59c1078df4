// NetDemo is the small built-in exchange behind `meshsim net-demo`: a client
// pod (default/client, 10.244.0.5 on node-a) opens connections to an echo
// server pod (default/echo, 10.244.1.7 on node-b, port 7 — the echo
// protocol's port, which Wireshark decodes without complaint), writes a number of
// bytes in a few writes, reads them back, then closes with FIN; the server
// closes when it sees the FIN. It is the smallest end-to-end check that the
// virtual network and the captures work.
//
// Options add a ClusterIP service in front of the server (10.96.0.10:7; the
// client resolves "echo" through the NameResolver and kube-proxy picks the
// pod), and
// sidecars: both pods injected, each with a minimal TCP relay on 15001 /
// 15006 standing in for the proxy (it forwards to the original destination;
// inbound it connects to the app from 127.0.0.6), so the capture rules and the
// app↔sidecar loopback hops show up in --pcap-pod captures.
//
// Usage: construct, install captures on simulator()/network(), run().
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "proxy/base/ip.h"
#include "sim/observations/net.h"
#include "sim/net/tcp_socket.h"
#include "sim/time.h"

namespace meshsim::sim {

class Simulator;
class Network;

struct NetDemoOptions {
  uint64_t seed = 1;
  uint64_t bytes = 100'000;      // per connection, each way
  int writes = 4;                // the client's bytes go out in this many writes
  int connections = 1;           // opened 1 ms apart
  bool sidecars = false;
  bool service = false;          // connect to the ClusterIP service "echo" instead of the pod IP
  std::optional<Duration> latency;    // overrides every non-loopback relation
  std::optional<uint64_t> bandwidth_bps;
  std::optional<Duration> jitter;
  std::optional<double> loss;
};

struct NetDemoConnection {
  uint64_t connection = 0;    // network connection number of the client's socket
  SocketAddress client;
  SocketAddress server;       // as the client addressed it
  bool loopback = false;      // the connection never left the pod (sidecar capture)
  std::string outcome;        // "ok", "echo mismatch", "reset (peer-reset)", "connect failed (refused)" …
  bool ok = false;
  TcpCounters counters;       // the client's
  Time started;
  Time finished;              // the client saw the server's FIN (or the failure)
};

struct NetDemoResult {
  std::vector<NetDemoConnection> connections;
  Time virtual_time;
  uint64_t events = 0;
  uint64_t fingerprint = 0;
  bool all_ok = false;
};

class NetDemo {
 public:
  explicit NetDemo(const NetDemoOptions& options);
  ~NetDemo();
  NetDemo(const NetDemo&) = delete;
  NetDemo& operator=(const NetDemo&) = delete;

  Simulator& simulator();
  Network& network();
  // Runs the exchange to completion (until no event is left).
  NetDemoResult run();

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace meshsim::sim
