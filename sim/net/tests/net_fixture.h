// Shared test fixture for sim/net tests: a small cluster (two nodes in one
// zone, one in another zone, one in another region) and recorders for socket
// callbacks.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sim/net/capture_rules.h"
#include "sim/net/network.h"
#include "sim/simulator.h"

namespace meshsim::sim::testing {

// Records what one socket's callbacks saw.
struct Recorder {
  std::string data;
  bool connected = false;
  bool fin = false;
  std::optional<ResetReason> reset;
  std::optional<ConnectError> failed;
  Time connected_at = Time::max();
  Time fin_at = Time::max();
  Time reset_at = Time::max();
  Time failed_at = Time::max();
  Time last_data_at = Time::max();
  int data_calls = 0;

  TcpCallbacks callbacks(Simulator& sim) {
    TcpCallbacks cb;
    cb.on_connected = [this, &sim] {
      connected = true;
      connected_at = sim.now();
    };
    cb.on_data = [this, &sim](std::span<const uint8_t> b) {
      data.append(reinterpret_cast<const char*>(b.data()), b.size());
      last_data_at = sim.now();
      ++data_calls;
    };
    cb.on_peer_fin = [this, &sim] {
      fin = true;
      fin_at = sim.now();
    };
    cb.on_reset = [this, &sim](ResetReason r) {
      reset = r;
      reset_at = sim.now();
    };
    cb.on_connect_failed = [this, &sim](ConnectError e) {
      failed = e;
      failed_at = sim.now();
    };
    return cb;
  }
};

inline std::span<const uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

class NetFixture : public ::testing::Test {
 protected:
  explicit NetFixture(uint64_t seed = 7) : sim(seed), net(sim) {}

  void SetUp() override {
    ASSERT_TRUE(net.add_node({"node-a", "r1", "z1", ""}).ok());
    ASSERT_TRUE(net.add_node({"node-b", "r1", "z1", ""}).ok());
    ASSERT_TRUE(net.add_node({"node-c", "r1", "z2", ""}).ok());
    ASSERT_TRUE(net.add_node({"node-d", "r2", "z9", ""}).ok());
    client = add("client", Ipv4::of(10, 244, 0, 5), "node-a");
    server = add("server", Ipv4::of(10, 244, 1, 7), "node-b");
    neighbour = add("neighbour", Ipv4::of(10, 244, 0, 6), "node-a");
    other_zone = add("other-zone", Ipv4::of(10, 244, 2, 9), "node-c");
    far = add("far", Ipv4::of(10, 244, 3, 11), "node-d");
  }

  HostId add(const std::string& name, Ipv4 ip, const std::string& node, bool injected = false) {
    HostSpec h;
    h.ns = "default";
    h.name = name;
    h.ip = ip;
    h.node = node;
    h.injected = injected;
    h.interception = default_interception();
    auto r = net.add_host(h);
    EXPECT_TRUE(r.ok()) << r.message();
    return r.ok() ? *r : kNoHost;
  }

  // An echo server: sends back what it receives; closes when the peer does.
  ListenerId echo_server(HostId host, uint16_t port) {
    return net.listen(host, {Ipv4::any(), port}, [this](TcpSocket s, const ConnectionInfo& info) {
      accepted.push_back(info);
      TcpCallbacks cb;
      cb.on_data = [this, s](std::span<const uint8_t> b) { net.send(s, b); };
      cb.on_peer_fin = [this, s] { net.close(s); };
      return cb;
    });
  }

  Ipv4 ip(HostId h) const { return net.topology().host(h).ip; }

  Simulator sim;
  Network net;
  HostId client = kNoHost, server = kNoHost, neighbour = kNoHost, other_zone = kNoHost, far = kNoHost;
  std::vector<ConnectionInfo> accepted;
};

}  // namespace meshsim::sim::testing
