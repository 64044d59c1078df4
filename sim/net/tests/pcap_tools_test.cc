// Captures checked with the real tools: tcpdump and tshark read what the
// capture writers produce, and what they report (conversations, byte counts,
// followed streams, TCP analysis flags, checksums) must agree with the
// simulation's own counters and with the bytes the virtual apps sent.
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "sim/net/capture_session.h"
#include "sim/net/net_demo.h"
#include "sim/net/network.h"
#include "sim/net/pcap_writer.h"
#include "sim/random.h"
#include "sim/simulator.h"

namespace meshsim::sim {
namespace {

struct Exec {
  int code = -1;
  std::string out;
  std::string err;
};

class ToolsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/meshsim-pcap-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    if (std::getenv("MESHSIM_KEEP_TEST_FILES")) {
      std::printf("kept %s\n", dir_.c_str());
      return;
    }
    (void)std::system(("rm -rf " + dir_).c_str());
  }

  std::string path(const std::string& name) const { return dir_ + "/" + name; }

  Exec run(const std::string& cmd) const {
    Exec e;
    std::string errf = path("stderr.txt");
    FILE* p = popen((cmd + " 2>" + errf).c_str(), "r");
    if (!p) return e;
    std::array<char, 65536> buf;
    size_t n;
    while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) e.out.append(buf.data(), n);
    int st = pclose(p);
    e.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    std::ifstream f(errf);
    std::stringstream ss;
    ss << f.rdbuf();
    e.err = ss.str();
    // tshark warns about running as root in containers; that is not about the file.
    std::string noise = "Running as user \"root\" and group \"root\". This could be dangerous.\n";
    for (size_t pos; (pos = e.err.find(noise)) != std::string::npos;) e.err.erase(pos, noise.size());
    return e;
  }
  // Runs tshark on a capture. A non-zero exit status (a filter or field tshark
  // rejects, a file it cannot read) is a test failure here, so that "no output"
  // can never pass for "nothing matched".
  Exec tshark(const std::string& file, const std::string& args) const {
    Exec e = run("tshark -n -r " + file + " " + args);
    EXPECT_EQ(e.code, 0) << "tshark -r " << file << " " << args << " failed:\n" << e.err;
    return e;
  }

  std::string dir_;
};

std::string random_text(size_t n, uint64_t seed) {
  RandomStream r(seed);
  std::string s(n, '\0');
  r.fill(reinterpret_cast<unsigned char*>(s.data()), n);
  return s;
}

std::string hex(const std::string& s) {
  static const char* d = "0123456789abcdef";
  std::string out;
  out.reserve(s.size() * 2);
  for (unsigned char c : s) {
    out.push_back(d[c >> 4]);
    out.push_back(d[c & 15]);
  }
  return out;
}

std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> v;
  std::stringstream ss(s);
  for (std::string l; std::getline(ss, l);) v.push_back(l);
  return v;
}

// A client pod and a server pod; each connection: the client writes
// `request` bytes in 3 writes, the server answers `response` bytes, both close.
struct Exchange {
  struct Conn {
    std::string request, response;
    std::string got_request, got_response;
    TcpSocket client, server;
    TcpCounters client_counters, server_counters;
    uint64_t id = 0;
    uint16_t client_port = 0;
  };
  std::vector<std::unique_ptr<Conn>> conns;
  uint64_t wire_frames[2][8] = {};
  uint64_t wire_bytes[2][8] = {};
};

struct ExchangeOptions {
  int connections = 2;
  size_t request = 20'000;
  size_t response = 70'000;
  double loss = 0;
  Duration jitter;
  uint64_t seed = 3;
  bool server_resets = false;  // the server resets instead of closing
  bool refused_extra = false;  // one more connection to a closed port
  Duration partition_from;     // partition client and server during [from, until)
  Duration partition_until;
};

Exchange run_exchange(const ExchangeOptions& o, const CaptureOptions& capture, std::string* error = nullptr) {
  Exchange ex;
  Simulator sim(o.seed);
  Network net(sim);
  for (int r = 1; r < kRelationCount; ++r) {
    LinkProfile p = net.links().profile(static_cast<Relation>(r));
    p.loss = o.loss;
    p.jitter = o.jitter;
    net.links().set_profile(static_cast<Relation>(r), p);
  }
  (void)net.add_node({"node-a", "r", "z", ""});
  (void)net.add_node({"node-b", "r", "z", ""});
  HostSpec h;
  h.ns = "default";
  h.name = "client";
  h.ip = Ipv4::of(10, 244, 0, 5);
  h.node = "node-a";
  HostId c = *net.add_host(h);
  h.name = "server";
  h.ip = Ipv4::of(10, 244, 1, 7);
  h.node = "node-b";
  HostId s = *net.add_host(h);
  auto session = CaptureSession::start(capture, sim, net);
  if (!session.ok()) {
    if (error) *error = session.message();
    return ex;
  }
  std::map<uint16_t, Exchange::Conn*> by_port;
  net.listen(s, {Ipv4::any(), 9000}, [&](TcpSocket sock, const ConnectionInfo& info) {
    Exchange::Conn* cn = by_port[info.remote.port];
    cn->server = sock;
    TcpCallbacks cb;
    cb.on_data = [&, cn](std::span<const uint8_t> b) {
      cn->got_request.append(reinterpret_cast<const char*>(b.data()), b.size());
      if (cn->got_request.size() == cn->request.size()) {
        net.send(cn->server, {reinterpret_cast<const uint8_t*>(cn->response.data()), cn->response.size()});
        if (o.server_resets) {
          cn->server_counters = *net.counters(cn->server);
          net.reset(cn->server);
        }
      }
    };
    cb.on_peer_fin = [&, cn] {
      cn->server_counters = *net.counters(cn->server);
      net.close(cn->server);
    };
    return cb;
  });
  for (int i = 0; i < o.connections; ++i) {
    auto cn = std::make_unique<Exchange::Conn>();
    cn->request = random_text(o.request, o.seed * 100 + i);
    cn->response = random_text(o.response, o.seed * 100 + i + 50);
    Exchange::Conn* p = cn.get();
    ex.conns.push_back(std::move(cn));
    sim.schedule_at(Duration::millis(2 * i), sim.actor("test"), sim.kind("open"), [&, p] {
      TcpCallbacks cb;
      cb.on_connected = [&, p] {
        size_t third = p->request.size() / 3;
        for (int w = 0; w < 3; ++w) {
          size_t off = w * third, len = w == 2 ? p->request.size() - off : third;
          net.send(p->client, {reinterpret_cast<const uint8_t*>(p->request.data()) + off, len});
        }
      };
      cb.on_data = [&, p](std::span<const uint8_t> b) {
        p->got_response.append(reinterpret_cast<const char*>(b.data()), b.size());
        if (p->got_response.size() == p->response.size()) net.shutdown_write(p->client);
      };
      cb.on_peer_fin = [&, p] {
        p->client_counters = *net.counters(p->client);
        net.close(p->client);
      };
      cb.on_reset = [&, p](ResetReason) { p->client_counters = *net.counters(p->client); };
      p->client = net.connect(c, {Ipv4::of(10, 244, 1, 7), 9000}, {}, cb);
      p->id = net.info(p->client)->connection;
      p->client_port = net.info(p->client)->local.port;
      by_port[p->client_port] = p;
    });
  }
  if (o.partition_until > o.partition_from) {
    sim.schedule_at(o.partition_from, sim.actor("test"), sim.kind("partition"), [&net, c, s, &o, &sim] {
      uint32_t id = net.partition({{}, {c}}, {{}, {s}});
      sim.schedule_at(o.partition_until, sim.actor("test"), sim.kind("heal"), [&net, id] { net.heal(id); });
    });
  }
  if (o.refused_extra) {
    sim.schedule_at(Duration::millis(2 * o.connections), sim.actor("test"), sim.kind("open"),
                    [&] { net.connect(c, {Ipv4::of(10, 244, 1, 7), 9999}, {}, {}); });
  }
  sim.run();
  for (size_t i = 0; i < ex.conns.size() && i < 8; ++i) {
    auto up = net.wire_counts(ex.conns[i]->id, true);
    auto down = net.wire_counts(ex.conns[i]->id, false);
    ex.wire_frames[0][i] = up.frames;
    ex.wire_frames[1][i] = down.frames;
    ex.wire_bytes[0][i] = up.bytes;
    ex.wire_bytes[1][i] = down.bytes;
  }
  Status st = (*session)->finish();
  if (!st && error) *error = st.message();
  return ex;
}

TEST_F(ToolsTest, TcpdumpReadsEveryCaptureWithoutWarnings) {
  CaptureOptions cap;
  cap.pcap = path("wire.pcap");
  cap.pcap_pods = {"default/client=" + path("client.pcap"), "default/server=" + path("server.pcap")};
  std::string err;
  run_exchange({}, cap, &err);
  ASSERT_EQ(err, "");
  const std::map<std::string, std::string> kinds = {{"wire.pcap", "EN10MB (Ethernet)"},
                                                    {"client.pcap", "LINUX_SLL (Linux cooked v1)"},
                                                    {"server.pcap", "LINUX_SLL (Linux cooked v1)"}};
  for (const auto& [name, link] : kinds) {
    Exec e = run("tcpdump -nn -r " + path(name));
    EXPECT_EQ(e.code, 0) << name;
    EXPECT_EQ(e.err, "reading from file " + path(name) + ", link-type " + link + ", snapshot length 262144\n") << name;
    EXPECT_GT(lines(e.out).size(), 50u) << name;
  }
  EXPECT_NE(access(path("wire.pcap.partial").c_str(), F_OK), 0);
}

TEST_F(ToolsTest, TsharkHelperFailsWhenTsharkRejectsTheFilter) {
  CaptureOptions cap;
  cap.pcap = path("wire.pcap");
  std::string err;
  run_exchange({}, cap, &err);
  ASSERT_EQ(err, "");
  // A misspelt field yields no output; the helper must report it, not pass.
  EXPECT_NONFATAL_FAILURE(tshark(path("wire.pcap"), "-Y 'tcp.flags.synn == 1' -T fields -e frame.len"),
                          "failed");
  EXPECT_NONFATAL_FAILURE(tshark(path("wire.pcap"), "-T fields -e frame.lenx"), "aren't valid");
  EXPECT_NONFATAL_FAILURE(tshark(path("missing.pcap"), "-q"), "failed");
  // …while a valid filter that matches nothing is not a failure.
  Exec none = tshark(path("wire.pcap"), "-Y 'tcp.port == 1' -T fields -e frame.len");
  EXPECT_EQ(none.code, 0);
  EXPECT_EQ(none.out, "");
}

TEST_F(ToolsTest, ConversationsAndByteCountsMatchTheCounters) {
  CaptureOptions cap;
  cap.pcap = path("wire.pcap");
  ExchangeOptions o;
  o.connections = 3;
  Exchange ex = run_exchange(o, cap);
  ASSERT_EQ(ex.conns.size(), 3u);
  Exec e = tshark(path("wire.pcap"), "-q -z conv,tcp");
  ASSERT_EQ(e.code, 0) << e.err;
  // "10.244.0.5:32768 <-> 10.244.1.7:9000  <frames> <bytes> bytes  <frames> <bytes> bytes ..."
  // (the "<-" column counts frames towards the left address, "->" away from it).
  int rows = 0;
  for (const std::string& l : lines(e.out)) {
    if (l.find("<->") == std::string::npos) continue;
    ++rows;
    std::istringstream ls(l);
    std::string a, arrow, b;
    uint64_t f_in, b_in, f_out, b_out;
    std::string unit1, unit2;
    ls >> a >> arrow >> b >> f_in >> b_in >> unit1 >> f_out >> b_out >> unit2;
    ASSERT_EQ(b, "10.244.1.7:9000") << l;
    uint16_t port = static_cast<uint16_t>(std::stoi(a.substr(a.find(':') + 1)));
    bool found = false;
    for (size_t i = 0; i < ex.conns.size(); ++i) {
      if (ex.conns[i]->client_port != port) continue;
      found = true;
      EXPECT_EQ(f_out, ex.wire_frames[0][i]) << l;
      EXPECT_EQ(f_in, ex.wire_frames[1][i]) << l;
      // tshark prints "3484 bytes" or, truncated, "73 kB" (exact sums are checked below).
      auto same_bytes = [](uint64_t tool, const std::string& unit, uint64_t ours) {
        if (unit == "bytes") return tool == ours;
        if (unit == "kB") return tool == ours / 1000;
        return false;
      };
      EXPECT_TRUE(same_bytes(b_out, unit2, ex.wire_bytes[0][i])) << l << " vs " << ex.wire_bytes[0][i];
      EXPECT_TRUE(same_bytes(b_in, unit1, ex.wire_bytes[1][i])) << l << " vs " << ex.wire_bytes[1][i];
    }
    EXPECT_TRUE(found) << l;
  }
  EXPECT_EQ(rows, 3);

  // Payload bytes and payload segments per direction, from the segments themselves.
  Exec f = tshark(path("wire.pcap"), "-T fields -e tcp.srcport -e tcp.dstport -e tcp.len -e frame.len");
  ASSERT_EQ(f.code, 0);
  std::map<std::pair<int, int>, std::pair<uint64_t, uint64_t>> sums;  // (src, dst) → (bytes, segments)
  std::map<std::pair<int, int>, uint64_t> frame_bytes;
  for (const std::string& l : lines(f.out)) {
    std::istringstream ls(l);
    int sp, dp;
    uint64_t len, flen;
    ls >> sp >> dp >> len >> flen;
    frame_bytes[{sp, dp}] += flen;
    if (len > 0) {
      sums[{sp, dp}].first += len;
      sums[{sp, dp}].second += 1;
    }
  }
  for (size_t i = 0; i < ex.conns.size(); ++i) {
    EXPECT_EQ((frame_bytes[{ex.conns[i]->client_port, 9000}]), ex.wire_bytes[0][i]);
    EXPECT_EQ((frame_bytes[{9000, ex.conns[i]->client_port}]), ex.wire_bytes[1][i]);
  }
  for (auto& cn : ex.conns) {
    auto up = sums[{cn->client_port, 9000}];
    auto down = sums[{9000, cn->client_port}];
    EXPECT_EQ(up.first, cn->client_counters.bytes_sent);
    EXPECT_EQ(up.second, cn->client_counters.segments_sent);
    EXPECT_EQ(down.first, cn->server_counters.bytes_sent);
    EXPECT_EQ(down.second, cn->client_counters.segments_received);
    EXPECT_EQ(cn->client_counters.bytes_sent, cn->request.size());
    EXPECT_EQ(cn->client_counters.bytes_received, cn->response.size());
  }
}

TEST_F(ToolsTest, FollowingAStreamGivesExactlyTheBytesTheAppsSent) {
  CaptureOptions cap;
  cap.pcap = path("wire.pcap");
  ExchangeOptions o;
  o.connections = 2;
  Exchange ex = run_exchange(o, cap);
  for (int stream = 0; stream < 2; ++stream) {
    Exec e = tshark(path("wire.pcap"), "-q -z follow,tcp,raw," + std::to_string(stream));
    ASSERT_EQ(e.code, 0) << e.err;
    // Client → server lines start in column 0, server → client lines with a tab.
    std::string up, down;
    bool in_body = false;
    for (const std::string& l : lines(e.out)) {
      if (l.rfind("Node 1:", 0) == 0) {
        in_body = true;
        continue;
      }
      if (!in_body || l.empty() || l[0] == '=') continue;
      if (l[0] == '\t') down += l.substr(1);
      else up += l;
    }
    EXPECT_EQ(up, hex(ex.conns[stream]->request)) << "stream " << stream;
    EXPECT_EQ(down, hex(ex.conns[stream]->response)) << "stream " << stream;
  }
}

TEST_F(ToolsTest, CleanRunHasNoTcpAnalysisProblemsAndGoodChecksums) {
  CaptureOptions cap;
  cap.pcap = path("wire.pcap");
  cap.pcap_pods = {"default/client=" + path("client.pcap"), "default/server=" + path("server.pcap")};
  ExchangeOptions o;
  o.connections = 4;
  o.jitter = 50_us;
  run_exchange(o, cap);
  for (const char* name : {"wire.pcap", "client.pcap", "server.pcap"}) {
    Exec flags = tshark(path(name), "-Y 'tcp.analysis.flags && !tcp.analysis.window_update'");
    EXPECT_EQ(flags.code, 0) << flags.err;
    EXPECT_EQ(flags.out, "") << name;
    Exec sums = tshark(path(name),
                       "-o tcp.check_checksum:TRUE -o ip.check_checksum:TRUE "
                       "-Y 'tcp.checksum.status != 1 || ip.checksum.status != 1'");
    EXPECT_EQ(sums.out, "") << name;
    Exec expert = tshark(path(name), "-q -z expert,warn");
    EXPECT_EQ(expert.out.find("Warns"), std::string::npos) << name << "\n" << expert.out;
    EXPECT_EQ(expert.out.find("Errors"), std::string::npos) << name << "\n" << expert.out;
  }
}

std::vector<std::string> flag_sequence(const std::string& fields_out) {
  std::vector<std::string> v;
  for (const std::string& l : lines(fields_out)) v.push_back(l);
  return v;
}

TEST_F(ToolsTest, HandshakeAndFinSequencesLookRight) {
  CaptureOptions cap;
  cap.pcap = path("wire.pcap");
  ExchangeOptions o;
  o.connections = 1;
  run_exchange(o, cap);
  Exec e = tshark(path("wire.pcap"), "-T fields -e tcp.srcport -e tcp.flags.str -e tcp.seq -e tcp.ack -e tcp.len");
  auto v = flag_sequence(e.out);
  ASSERT_GT(v.size(), 6u);
  EXPECT_NE(v[0].find("··········S·"), std::string::npos) << v[0];
  EXPECT_NE(v[0].find("\t0\t0\t0"), std::string::npos) << v[0];  // relative seq 0, no ack
  EXPECT_NE(v[1].find("·······A··S·"), std::string::npos) << v[1];
  EXPECT_NE(v[1].find("\t0\t1\t0"), std::string::npos) << v[1];
  EXPECT_NE(v[2].find("·······A····"), std::string::npos) << v[2];
  EXPECT_NE(v[2].find("\t1\t1\t0"), std::string::npos) << v[2];
  // Close: client FIN (after its request and the response), server FIN, final ACK.
  const size_t n = v.size();
  EXPECT_NE(v[n - 3].find("·······A···F"), std::string::npos) << v[n - 3];
  EXPECT_EQ(v[n - 3].rfind("32768", 0), 0u) << v[n - 3];
  EXPECT_NE(v[n - 3].find("\t20001\t70001\t0"), std::string::npos) << v[n - 3];
  EXPECT_NE(v[n - 2].find("·······A···F"), std::string::npos) << v[n - 2];
  EXPECT_NE(v[n - 2].find("\t70001\t20002\t0"), std::string::npos) << v[n - 2];
  EXPECT_NE(v[n - 1].find("\t20002\t70002\t0"), std::string::npos) << v[n - 1];
}

TEST_F(ToolsTest, ResetAndRefusalLookRight) {
  CaptureOptions cap;
  cap.pcap = path("wire.pcap");
  ExchangeOptions o;
  o.connections = 1;
  o.server_resets = true;
  o.refused_extra = true;
  run_exchange(o, cap);
  Exec rst = tshark(path("wire.pcap"), "-Y tcp.flags.reset==1 -T fields -e tcp.srcport -e tcp.dstport -e tcp.flags.str -e tcp.seq -e tcp.ack");
  auto v = lines(rst.out);
  ASSERT_EQ(v.size(), 2u) << rst.out;
  // The server's reset after its response: RST|ACK from the end of its data.
  EXPECT_EQ(v[0].rfind("9000\t32768\t·······A·R··\t70001\t20001", 0), 0u) << v[0];
  // The refused SYN: RST|ACK, seq 0, ack = SYN + 1.
  EXPECT_EQ(v[1].rfind("9999\t32769\t·······A·R··\t1\t1", 0), 0u) << v[1];
  Exec flags = tshark(path("wire.pcap"), "-Y 'tcp.analysis.flags && !tcp.analysis.window_update'");
  EXPECT_EQ(flags.out, "");
}

TEST_F(ToolsTest, PodCaptureShowsTheLoopbackHopAndWireCaptureDoesNot) {
  NetDemoOptions o;
  o.sidecars = true;
  o.bytes = 5000;
  NetDemo demo(o);
  CaptureOptions cap;
  cap.pcap = path("wire.pcap");
  cap.pcap_pods = {"default/client=" + path("client.pcap"), "default/echo=" + path("echo.pcap")};
  auto session = CaptureSession::start(cap, demo.simulator(), demo.network());
  ASSERT_TRUE(session.ok()) << session.message();
  NetDemoResult r = demo.run();
  ASSERT_TRUE((*session)->finish().ok());
  ASSERT_TRUE(r.all_ok);
  auto convs = [&](const std::string& f) {
    Exec e = tshark(path(f), "-q -z conv,tcp");
    std::vector<std::string> out;
    for (const std::string& l : lines(e.out)) {
      if (l.find("<->") == std::string::npos) continue;
      std::istringstream ls(l);
      std::string a, arrow, b;
      ls >> a >> arrow >> b;
      out.push_back(a + " " + b);
    }
    std::sort(out.begin(), out.end());
    return out;
  };
  // Client pod: app → its sidecar on lo (post-REDIRECT destination), sidecar → echo on eth0.
  EXPECT_EQ(convs("client.pcap"),
            (std::vector<std::string>{"10.244.0.5:32768 127.0.0.1:15001", "10.244.0.5:32769 10.244.1.7:7"}));
  // Echo pod: the peer sidecar arrives on eth0 (pre-REDIRECT port 7), its sidecar → app from 127.0.0.6.
  EXPECT_EQ(convs("echo.pcap"),
            (std::vector<std::string>{"10.244.0.5:32769 10.244.1.7:7", "127.0.0.6:32768 10.244.1.7:7"}));
  EXPECT_EQ(convs("wire.pcap"), (std::vector<std::string>{"10.244.0.5:32769 10.244.1.7:7"}));
  // Loopback packets carry ARPHRD_LOOPBACK, eth0 packets ARPHRD_ETHER with a direction.
  Exec lo = tshark(path("client.pcap"), "-Y 'sll.hatype == 772' -T fields -e ip.dst");
  for (const std::string& l : lines(lo.out)) EXPECT_TRUE(l == "127.0.0.1" || l == "10.244.0.5") << l;
  EXPECT_FALSE(lo.out.empty());
  Exec out = tshark(path("client.pcap"), "-Y 'sll.hatype == 1 && sll.pkttype == 4' -T fields -e ip.src");
  for (const std::string& l : lines(out.out)) EXPECT_EQ(l, "10.244.0.5");
  for (const char* f : {"client.pcap", "echo.pcap", "wire.pcap"}) {
    Exec flags = tshark(path(f), "-Y 'tcp.analysis.flags && !tcp.analysis.window_update'");
    EXPECT_EQ(flags.out, "") << f;
  }
}

TEST_F(ToolsTest, BpfFilterSelectsWhatIsWritten) {
  CaptureOptions all;
  all.pcap = path("all.pcap");
  run_exchange({}, all);
  CaptureOptions filtered;
  filtered.pcap = path("ctl.pcap");
  filtered.pcap_pods = {"default/server=" + path("server-in.pcap")};
  filtered.filter = "tcp[tcpflags] & (tcp-syn|tcp-fin) != 0";
  run_exchange({}, filtered);
  Exec want = tshark(path("all.pcap"), "-Y 'tcp.flags.syn==1 || tcp.flags.fin==1' -T fields -e frame.len");
  Exec got = tshark(path("ctl.pcap"), "-T fields -e frame.len");
  EXPECT_EQ(lines(got.out).size(), 8u);  // 2 connections × (SYN, SYN-ACK, FIN, FIN)
  EXPECT_EQ(got.out, want.out);
  // The same expression, compiled for the cooked link type of a pod capture.
  EXPECT_EQ(lines(tshark(path("server-in.pcap"), "-T fields -e frame.len").out).size(), 8u);
}

TEST_F(ToolsTest, InvalidFilterIsRejectedBeforeAnyFileExists) {
  CaptureOptions cap;
  cap.pcap = path("x.pcap");
  cap.filter = "tcp port eighty";
  Status st = validate_capture_options(cap);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("--pcap-filter"), std::string::npos);
  std::string err;
  run_exchange({}, cap, &err);
  EXPECT_FALSE(err.empty());
  EXPECT_NE(access(path("x.pcap").c_str(), F_OK), 0);
  EXPECT_NE(access(path("x.pcap.partial").c_str(), F_OK), 0);
}

TEST_F(ToolsTest, UnknownPodIsRejectedAndNothingIsWritten) {
  CaptureOptions cap;
  cap.pcap = path("x.pcap");
  cap.pcap_pods = {"default/nobody=" + path("p.pcap")};
  std::string err;
  run_exchange({}, cap, &err);
  EXPECT_NE(err.find("no pod default/nobody"), std::string::npos) << err;
  EXPECT_NE(access(path("x.pcap").c_str(), F_OK), 0);
  EXPECT_NE(access(path("x.pcap.partial").c_str(), F_OK), 0);
}

TEST_F(ToolsTest, LossShowsUpAsRetransmissionsAndTheStreamIsStillExact) {
  CaptureOptions cap;
  cap.pcap = path("lossy.pcap");
  ExchangeOptions o;
  o.connections = 2;
  o.loss = 0.05;
  o.response = 200'000;
  Exchange ex = run_exchange(o, cap);
  uint64_t retrans = 0;
  for (auto& cn : ex.conns) retrans += cn->client_counters.retransmitted_segments + cn->server_counters.retransmitted_segments;
  ASSERT_GT(retrans, 0u);
  Exec r = tshark(path("lossy.pcap"),
                  "-Y '(tcp.analysis.retransmission || tcp.analysis.fast_retransmission || tcp.analysis.out_of_order)"
                  " && !(tcp.flags.syn==1 && tcp.flags.ack==1)' "
                  "-T fields -e frame.number");
  EXPECT_EQ(lines(r.out).size(), retrans);
  Exec dup = tshark(path("lossy.pcap"), "-Y tcp.analysis.duplicate_ack -T fields -e frame.number");
  EXPECT_FALSE(dup.out.empty());
  Exec e = tshark(path("lossy.pcap"), "-q -z follow,tcp,raw,1");
  std::string down;
  for (const std::string& l : lines(e.out)) {
    if (!l.empty() && l[0] == '\t') down += l.substr(1);
  }
  EXPECT_EQ(down, hex(ex.conns[1]->response));
}

TEST_F(ToolsTest, SynIntoAPartitionIsRetransmittedUntilItHeals) {
  CaptureOptions cap;
  cap.pcap = path("part.pcap");
  ExchangeOptions o;
  o.connections = 1;
  o.partition_until = 2500_ms;
  Exchange ex = run_exchange(o, cap);
  ASSERT_EQ(ex.conns[0]->got_response, ex.conns[0]->response);
  // SYNs at 0, 1 s and 3 s; the third gets through.
  Exec syns = tshark(path("part.pcap"), "-Y 'tcp.flags.syn==1 && tcp.flags.ack==0' -T fields -e frame.time_relative "
                                        "-e tcp.analysis.retransmission");
  EXPECT_EQ(syns.out, "0.000000000\t\n1.000000000\t1\n3.000000000\t1\n");
  Exec flags = tshark(path("part.pcap"), "-Y 'tcp.analysis.flags && !tcp.analysis.retransmission'");
  EXPECT_EQ(flags.out, "");
}

TEST_F(ToolsTest, DataIntoAPartitionIsRetransmittedAfterTheHeal) {
  CaptureOptions cap;
  cap.pcap = path("part.pcap");
  cap.pcap_pods = {"default/server=" + path("server.pcap")};
  ExchangeOptions o;
  o.connections = 1;
  o.partition_from = 150_us;  // after the SYN-ACK left, before the client's ACK and request
  o.partition_until = 1_s;
  Exchange ex = run_exchange(o, cap);
  ASSERT_EQ(ex.conns[0]->got_request, ex.conns[0]->request);
  ASSERT_EQ(ex.conns[0]->got_response, ex.conns[0]->response);
  EXPECT_GT(ex.conns[0]->client_counters.retransmitted_segments, 0u);
  Exec r = tshark(path("part.pcap"), "-Y tcp.analysis.retransmission -T fields -e frame.number");
  EXPECT_FALSE(r.out.empty());
  // The server never saw the dropped copies: its capture has no retransmission flags,
  // only data that arrives after the heal.
  Exec srv = tshark(path("server.pcap"), "-Y 'tcp.len > 0 && ip.src == 10.244.0.5' -T fields -e frame.time_relative");
  for (const std::string& l : lines(srv.out)) EXPECT_GT(std::stod(l), 0.9) << l;
  Exec e = tshark(path("part.pcap"), "-q -z follow,tcp,raw,0");
  std::string up;
  for (const std::string& l : lines(e.out)) {
    if (!l.empty() && std::isxdigit(static_cast<unsigned char>(l[0])) && l.find(':') == std::string::npos) up += l;
  }
  EXPECT_EQ(up, hex(ex.conns[0]->request));
}

TEST_F(ToolsTest, SameSeedGivesAByteIdenticalPcap) {
  auto read = [](const std::string& p) {
    std::ifstream f(p, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  };
  ExchangeOptions o;
  o.jitter = 200_us;
  o.loss = 0.01;
  CaptureOptions a, b, c;
  a.pcap = path("a.pcap");
  b.pcap = path("b.pcap");
  c.pcap = path("c.pcap");
  run_exchange(o, a);
  run_exchange(o, b);
  o.seed = 4;
  run_exchange(o, c);
  std::string ra = read(path("a.pcap")), rb = read(path("b.pcap")), rc = read(path("c.pcap"));
  EXPECT_GT(ra.size(), 10'000u);
  EXPECT_TRUE(ra == rb);
  EXPECT_FALSE(ra == rc);
}

TEST_F(ToolsTest, TimestampsStartAtTheCaptureEpochWithNanoseconds) {
  CaptureOptions cap;
  cap.pcap = path("wire.pcap");
  ExchangeOptions o;
  o.connections = 1;
  run_exchange(o, cap);
  Exec e = tshark(path("wire.pcap"), "-T fields -e frame.time_epoch -c 2");
  auto v = lines(e.out);
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0], "1767225600.000000000");
  EXPECT_EQ(v[1], "1767225600.000100000");  // the SYN-ACK leaves the server 100 us later
}

TEST_F(ToolsTest, KeyLogLinesAreWrittenInNssFormat) {
  CaptureOptions cap;
  cap.keylog = path("keys.log");
  Simulator sim(1);
  Network net(sim);
  auto session = CaptureSession::start(cap, sim, net);
  ASSERT_TRUE(session.ok());
  const std::string line = "CLIENT_RANDOM " + std::string(64, 'a') + " " + std::string(96, 'b');
  sim.publish(sim.actor("tls"), sim.kind("tls.keylog"), 1, KeyLogLine{line});
  (*session)->keylog()->add_line("CLIENT_HANDSHAKE_TRAFFIC_SECRET " + std::string(64, 'c') + " " + std::string(64, 'd') + "\n");
  (*session)->keylog()->add_line("garbage");
  EXPECT_EQ((*session)->keylog()->rejected(), 1u);
  ASSERT_TRUE((*session)->finish().ok());
  std::ifstream f(path("keys.log"));
  std::string l1, l2, l3;
  std::getline(f, l1);
  std::getline(f, l2);
  EXPECT_EQ(l1, line);
  EXPECT_EQ(l2.rfind("CLIENT_HANDSHAKE_TRAFFIC_SECRET cccc", 0), 0u);
  EXPECT_FALSE(std::getline(f, l3));
}

}  // namespace
}  // namespace meshsim::sim
