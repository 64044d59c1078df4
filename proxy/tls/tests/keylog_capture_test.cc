// End-to-end oracle for the key log: the bytes of an mTLS connection go into a
// pcap (libpcap), the NSS key-log lines into a file, and tshark — an
// independent TLS implementation — must decrypt the HTTP request inside and
// see Istio's SNI and ALPN in the ClientHello.
#include <arpa/inet.h>
#include <pcap/pcap.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "proxy/tls/tests/tls_test_util.h"

namespace meshsim::tls {
namespace {

using testing::bytes_of;
using testing::istio_client;
using testing::istio_server;
using testing::make_context;
using testing::MeshPki;
using testing::SimEnvironment;

// Writes one TCP connection (client 10.0.0.1:40000 -> server 10.0.0.2:9080)
// as Ethernet/IPv4/TCP frames.
class PcapWriter {
 public:
  explicit PcapWriter(const std::string& path) {
    pcap_ = pcap_open_dead(DLT_EN10MB, 65535);
    dumper_ = pcap_dump_open(pcap_, path.c_str());
  }
  ~PcapWriter() { close(); }
  void close() {
    if (dumper_) pcap_dump_close(dumper_);
    if (pcap_) pcap_close(pcap_);
    dumper_ = nullptr;
    pcap_ = nullptr;
  }
  bool ok() const { return dumper_ != nullptr; }

  void handshake() {
    segment(true, 0x02, {});  // SYN
    segment(false, 0x12, {}); // SYN-ACK
    segment(true, 0x10, {});  // ACK
  }
  void data(bool from_client, const std::vector<uint8_t>& bytes) {
    for (std::size_t off = 0; off < bytes.size(); off += 1400) {
      std::size_t n = std::min<std::size_t>(1400, bytes.size() - off);
      segment(from_client, 0x18, std::vector<uint8_t>(bytes.begin() + off, bytes.begin() + off + n));
    }
  }

 private:
  void segment(bool from_client, uint8_t flags, const std::vector<uint8_t>& payload) {
    std::vector<uint8_t> f(14 + 20 + 20 + payload.size(), 0);
    // Ethernet
    uint8_t cmac[6] = {2, 0, 0, 0, 0, 1}, smac[6] = {2, 0, 0, 0, 0, 2};
    std::memcpy(&f[0], from_client ? smac : cmac, 6);
    std::memcpy(&f[6], from_client ? cmac : smac, 6);
    f[12] = 0x08;
    f[13] = 0x00;
    // IPv4
    uint8_t* ip = &f[14];
    ip[0] = 0x45;
    uint16_t total = static_cast<uint16_t>(20 + 20 + payload.size());
    ip[2] = total >> 8;
    ip[3] = total & 0xff;
    ip[8] = 64;
    ip[9] = 6;
    uint8_t ca[4] = {10, 0, 0, 1}, sa[4] = {10, 0, 0, 2};
    std::memcpy(&ip[12], from_client ? ca : sa, 4);
    std::memcpy(&ip[16], from_client ? sa : ca, 4);
    uint32_t sum = 0;
    for (int i = 0; i < 20; i += 2) sum += (ip[i] << 8) | ip[i + 1];
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    ip[10] = static_cast<uint8_t>(~sum >> 8);
    ip[11] = static_cast<uint8_t>(~sum & 0xff);
    // TCP
    uint8_t* tcp = &f[34];
    uint16_t sport = from_client ? 40000 : 9080, dport = from_client ? 9080 : 40000;
    tcp[0] = sport >> 8;
    tcp[1] = sport & 0xff;
    tcp[2] = dport >> 8;
    tcp[3] = dport & 0xff;
    uint32_t& my_seq = from_client ? cseq_ : sseq_;
    uint32_t peer_seq = from_client ? sseq_ : cseq_;
    put32(&tcp[4], my_seq);
    put32(&tcp[8], (flags & 0x10) ? peer_seq : 0);
    tcp[12] = 5 << 4;
    tcp[13] = flags;
    tcp[14] = 0xff;
    tcp[15] = 0xff;
    if (!payload.empty()) std::memcpy(&tcp[20], payload.data(), payload.size());
    my_seq += static_cast<uint32_t>(payload.size()) + ((flags & 0x02) ? 1 : 0);
    pcap_pkthdr h{};
    h.ts.tv_sec = kEpochUnixSeconds;
    h.ts.tv_usec = ++usec_;
    h.caplen = h.len = static_cast<bpf_u_int32>(f.size());
    pcap_dump(reinterpret_cast<u_char*>(dumper_), &h, f.data());
  }
  static void put32(uint8_t* p, uint32_t v) {
    p[0] = v >> 24;
    p[1] = (v >> 16) & 0xff;
    p[2] = (v >> 8) & 0xff;
    p[3] = v & 0xff;
  }

  pcap_t* pcap_ = nullptr;
  pcap_dumper_t* dumper_ = nullptr;
  uint32_t cseq_ = 1000, sseq_ = 5000;
  long usec_ = 0;
};

std::string run_command(const std::string& cmd, int* status) {
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  if (p == nullptr) return out;
  char buf[1024];
  while (fgets(buf, sizeof buf, p)) out += buf;
  *status = pclose(p);
  return out;
}

TEST(KeylogCapture, TsharkDecryptsTheCaptureWithOurKeyLog) {
  std::string dir = ::testing::TempDir();
  std::string pcap_path = dir + "/mtls.pcap", keys_path = dir + "/mtls.keys";
  std::ofstream keys(keys_path);
  SimEnvironment env(99, [&](std::string_view line) { keys << line << '\n'; });
  MeshPki pki;
  auto client_ctx = make_context(istio_client(pki.workload("default", "sleep"), pki.ca.root(),
                                              {"spiffe://cluster.local/ns/default/sa/productpage"},
                                              {"istio-http/1.1", "istio", "http/1.1"}));
  auto server_ctx = make_context(istio_server(pki.workload("default", "productpage"), pki.ca.root(), {"h2", "http/1.1"}));
  TlsSession client(client_ctx), server(server_ctx);
  PcapWriter pcap(pcap_path);
  ASSERT_TRUE(pcap.ok());
  pcap.handshake();

  auto flush = [&](TlsSession& from, TlsSession& to, bool from_client) {
    std::vector<uint8_t> bytes;
    from.take_output(bytes);
    if (bytes.empty()) return false;
    pcap.data(from_client, bytes);
    to.feed(bytes);
    return true;
  };
  client.start();
  for (int i = 0; i < 10 && (flush(client, server, true) | flush(server, client, false)); ++i) {}
  ASSERT_TRUE(client.established()) << client.failure().detail;
  client.write(bytes_of("GET /productpage HTTP/1.1\r\nHost: productpage:9080\r\nUser-Agent: meshsim\r\n\r\n"));
  flush(client, server, true);
  uint8_t buf[1024];
  ASSERT_EQ(server.read(buf).status, IoStatus::kOk);
  server.write(bytes_of("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"));
  flush(server, client, false);
  keys.close();
  pcap.close();

  int status = 0;
  std::string errors = dir + "/tshark.err";
  std::string base = "tshark -n -r " + pcap_path + " -o tls.keylog_file:" + keys_path + " -d tcp.port==9080,tls ";
  std::string requests = run_command(
      base + "-Y http.request -T fields -e http.request.method -e http.request.uri -e http.host 2>" + errors, &status);
  ASSERT_EQ(status, 0) << requests << std::ifstream(errors).rdbuf();
  EXPECT_EQ(requests, "GET\t/productpage\tproductpage:9080\n");
  // Control: without the key log tshark sees no HTTP at all.
  std::string blind = run_command("tshark -n -r " + pcap_path + " -d tcp.port==9080,tls -Y http.request 2>" + errors,
                                  &status);
  EXPECT_EQ(blind, "");
  std::string responses = run_command(base + "-Y http.response -T fields -e http.response.code 2>" + errors, &status);
  EXPECT_EQ(responses, "200\n");
  std::string hello = run_command(
      base + "-Y tls.handshake.type==1 -T fields -e tls.handshake.extensions_server_name "
             "-e tls.handshake.extensions_alpn_str 2>" + errors,
      &status);
  EXPECT_EQ(hello, "outbound_.9080_._.reviews.default.svc.cluster.local\tistio-http/1.1,istio,http/1.1\n");
}

}  // namespace
}  // namespace meshsim::tls
