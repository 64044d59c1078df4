#include "proxy/tls/client_hello_inspector.h"

#include <gtest/gtest.h>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "proxy/tls/tests/tls_test_util.h"

namespace meshsim::tls {
namespace {

using testing::bytes_of;
using testing::istio_client;
using testing::make_context;
using testing::MeshPki;
using testing::SimEnvironment;

std::vector<uint8_t> client_hello(const TlsContextConfig& config, SessionOptions options = {}) {
  TlsSession client(make_context(config), std::move(options));
  client.start();
  auto out = client.pending_output();
  return {out.begin(), out.end()};
}

class InspectorTest : public ::testing::Test {
 protected:
  SimEnvironment env{5};
  MeshPki pki;
  CertifiedKey id = pki.workload("default", "sleep");
};

TEST_F(InspectorTest, IstioClientHelloYieldsSniAlpnAndVersions) {
  auto hello = client_hello(istio_client(id, pki.ca.root(), {}));
  ClientHelloInfo info;
  ASSERT_EQ(inspect_client_hello(hello, &info), InspectResult::kTls);
  EXPECT_EQ(info.sni, "outbound_.9080_._.reviews.default.svc.cluster.local");
  EXPECT_EQ(info.alpn, (std::vector<std::string>{"istio-peer-exchange", "istio"}));
  EXPECT_EQ(info.legacy_version, 0x0303);
  EXPECT_EQ(info.versions, (std::vector<uint16_t>{0x0304, 0x0303}));
  EXPECT_FALSE(info.extensions.empty());
}

TEST_F(InspectorTest, PerRequestAlpnOverrideIsSeen) {
  SessionOptions o;
  o.alpn = {"istio-http/1.1", "istio", "http/1.1"};
  ClientHelloInfo info;
  ASSERT_EQ(inspect_client_hello(client_hello(istio_client(id, pki.ca.root(), {}), o), &info), InspectResult::kTls);
  EXPECT_EQ(info.alpn, (std::vector<std::string>{"istio-http/1.1", "istio", "http/1.1"}));
}

TEST_F(InspectorTest, ClientHelloWithoutSniOrAlpnIsStillTls) {
  TlsContextConfig c;
  c.role = TlsRole::kClient;
  c.max_version = TlsVersion::kTls12;
  ClientHelloInfo info;
  ASSERT_EQ(inspect_client_hello(client_hello(c), &info), InspectResult::kTls);
  EXPECT_EQ(info.sni, "");
  EXPECT_TRUE(info.alpn.empty());
  EXPECT_EQ(info.versions, (std::vector<uint16_t>{0x0303}));  // no supported_versions extension
}

TEST_F(InspectorTest, EveryStrictPrefixNeedsMoreBytesThenTheWholeHelloIsTls) {
  auto hello = client_hello(istio_client(id, pki.ca.root(), {}));
  ClientHelloInspector inspector;
  for (std::size_t n = 1; n < hello.size(); n += 7) {
    ASSERT_EQ(inspector.inspect(std::span(hello).first(n)), InspectResult::kNeedMoreBytes) << n;
  }
  EXPECT_EQ(inspector.inspect(hello), InspectResult::kTls);
  EXPECT_EQ(inspector.info().sni, "outbound_.9080_._.reviews.default.svc.cluster.local");
  EXPECT_EQ(inspector.bytes_seen(), hello.size());
  // Final: more bytes change nothing.
  std::vector<uint8_t> more = hello;
  more.push_back(0x17);
  EXPECT_EQ(inspector.inspect(more), InspectResult::kTls);
}

TEST_F(InspectorTest, PlaintextHttpIsNotTlsAfterTheFirstFiveBytes) {
  auto req = bytes_of("GET /productpage HTTP/1.1\r\nHost: productpage:9080\r\n\r\n");
  ClientHelloInspector inspector;
  EXPECT_EQ(inspector.inspect(std::span(req).first(4)), InspectResult::kNeedMoreBytes);
  EXPECT_EQ(inspector.inspect(std::span(req).first(5)), InspectResult::kNotTls);
  EXPECT_EQ(inspect_client_hello(bytes_of("POST /x HTTP/1.1\r\n")), InspectResult::kNotTls);
  EXPECT_EQ(inspect_client_hello(bytes_of("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")), InspectResult::kNotTls);
}

TEST_F(InspectorTest, MysqlHandshakeResponseIsNotTls) {
  // A MySQL client HandshakeResponse41 packet header: length 3 bytes, seq 1.
  std::vector<uint8_t> mysql = {0x55, 0x00, 0x00, 0x01, 0x8d, 0xa6, 0x0f, 0x00, 0x00, 0x00, 0x00, 0x01, 0x21};
  EXPECT_EQ(inspect_client_hello(mysql), InspectResult::kNotTls);
}

TEST_F(InspectorTest, TlsRecordThatIsNotAClientHelloIsNotTls) {
  // A well-formed TLS application_data record header: the TLS stack rejects it
  // as the first message, so no ClientHello was seen.
  std::vector<uint8_t> appdata = {0x17, 0x03, 0x03, 0x00, 0x05, 1, 2, 3, 4, 5};
  EXPECT_EQ(inspect_client_hello(appdata), InspectResult::kNotTls);
}

TEST_F(InspectorTest, HandshakeRecordHeaderAloneNeedsMoreBytes) {
  std::vector<uint8_t> header = {0x16, 0x03, 0x01, 0x02, 0x00};
  EXPECT_EQ(inspect_client_hello(header), InspectResult::kNeedMoreBytes);
}

TEST_F(InspectorTest, OversizedClientHelloIsTooLarge) {
  auto hello = client_hello(istio_client(id, pki.ca.root(), {}));
  ClientHelloInspector small(64);
  EXPECT_EQ(small.inspect(hello), InspectResult::kClientHelloTooLarge);
  EXPECT_EQ(small.bytes_seen(), 64u);
}

TEST_F(InspectorTest, InspectionDrawsNoSimulationRandomness) {
  auto hello = client_hello(istio_client(id, pki.ca.root(), {}));
  unsigned char a[16], b[16];
  {
    SimEnvironment e1(77);
    random_bytes(a, sizeof a);
  }
  {
    SimEnvironment e2(77);
    ClientHelloInspector inspector;
    ASSERT_EQ(inspector.inspect(hello), InspectResult::kTls);
    random_bytes(b, sizeof b);
  }
  EXPECT_EQ(std::vector<uint8_t>(a, a + 16), std::vector<uint8_t>(b, b + 16));
}

// A ClientHello written by another TLS client: `openssl s_client`, connected
// to us over a Unix-domain socket (no network).
TEST_F(InspectorTest, OpensslSClientHelloIsTls) {
  std::string path = ::testing::TempDir() + "/inspector-" + std::to_string(getpid()) + ".sock";
  unlink(path.c_str());
  int listener = socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  ASSERT_LT(path.size(), sizeof addr.sun_path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(listener, 1), 0);
  std::string cmd = "openssl s_client -unix " + path +
                    " -servername example.com -alpn h2,http/1.1 </dev/null >/dev/null 2>&1";
  FILE* child = popen(cmd.c_str(), "r");
  ASSERT_NE(child, nullptr);
  pollfd pfd{listener, POLLIN, 0};
  ASSERT_EQ(poll(&pfd, 1, 10000), 1) << "openssl s_client did not connect";
  int conn = accept(listener, nullptr, nullptr);
  ASSERT_GE(conn, 0);
  std::vector<uint8_t> bytes;
  ClientHelloInspector inspector;
  InspectResult r = InspectResult::kNeedMoreBytes;
  while (r == InspectResult::kNeedMoreBytes) {
    pollfd cfd{conn, POLLIN, 0};
    if (poll(&cfd, 1, 10000) != 1) break;
    uint8_t buf[4096];
    ssize_t n = ::read(conn, buf, sizeof buf);
    if (n <= 0) break;
    bytes.insert(bytes.end(), buf, buf + n);
    r = inspector.inspect(bytes);
  }
  close(conn);
  close(listener);
  pclose(child);
  unlink(path.c_str());
  ASSERT_EQ(r, InspectResult::kTls) << bytes.size() << " bytes";
  EXPECT_EQ(inspector.info().sni, "example.com");
  EXPECT_EQ(inspector.info().alpn, (std::vector<std::string>{"h2", "http/1.1"}));
  EXPECT_NE(std::find(inspector.info().versions.begin(), inspector.info().versions.end(), 0x0304),
            inspector.info().versions.end());
}

}  // namespace
}  // namespace meshsim::tls
