#include "proxy/tls/tls_session.h"

#include <gtest/gtest.h>

#include <cctype>
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
using testing::Link;
using testing::make_context;
using testing::MeshPki;
using testing::SimEnvironment;
using testing::string_of;

constexpr uint8_t kAlertHandshakeFailure = 40;
constexpr uint8_t kAlertCertificateExpired = 45;
constexpr uint8_t kAlertCertificateUnknown = 46;
constexpr uint8_t kAlertUnknownCa = 48;
constexpr uint8_t kAlertProtocolVersion = 70;
constexpr uint8_t kAlertCertificateRequired = 116;

const std::string kProductpage = "spiffe://cluster.local/ns/default/sa/bookinfo-productpage";
const std::string kReviews = "spiffe://cluster.local/ns/default/sa/bookinfo-reviews";

class TlsSessionTest : public ::testing::Test {
 protected:
  SimEnvironment env{7};
  MeshPki pki;
  CertifiedKey client_id = pki.workload("default", "bookinfo-productpage");
  CertifiedKey server_id = pki.workload("default", "bookinfo-reviews");
};

TEST_F(TlsSessionTest, MutualTlsExchangesSpiffeIdentitiesBothWays) {
  auto client = make_context(istio_client(client_id, pki.ca.root(), {kReviews}));
  auto server = make_context(istio_server(server_id, pki.ca.root()));
  ASSERT_TRUE(client && server);
  Link link(client, server);
  link.pump();
  ASSERT_TRUE(link.client.established()) << link.client.failure().detail;
  ASSERT_TRUE(link.server.established()) << link.server.failure().detail;

  const HandshakeInfo& c = link.client.info();
  const HandshakeInfo& s = link.server.info();
  EXPECT_EQ(c.version, TlsVersion::kTls13);
  EXPECT_EQ(c.cipher, "TLS_AES_128_GCM_SHA256");
  EXPECT_EQ(c.alpn, "istio-peer-exchange");
  EXPECT_EQ(s.alpn, "istio-peer-exchange");
  EXPECT_EQ(s.sni, "outbound_.9080_._.reviews.default.svc.cluster.local");
  EXPECT_FALSE(c.resumed);
  EXPECT_TRUE(c.peer_certificate_presented);
  EXPECT_EQ(c.peer_uri_sans, std::vector<std::string>{kReviews});
  EXPECT_TRUE(s.peer_certificate_presented);
  EXPECT_EQ(s.peer_uri_sans, std::vector<std::string>{kProductpage});

  // XFCC's Hash= is the SHA-256 of the DER; `openssl x509 -fingerprint -sha256` is the oracle.
  std::string pem_path = ::testing::TempDir() + "/client_leaf.pem";
  std::ofstream(pem_path) << client_id.certificate.to_pem();
  FILE* p = popen(("openssl x509 -in " + pem_path + " -noout -fingerprint -sha256").c_str(), "r");
  ASSERT_NE(p, nullptr);
  char line[256] = {};
  ASSERT_NE(fgets(line, sizeof line, p), nullptr);
  pclose(p);
  std::string fingerprint;  // "sha256 Fingerprint=AB:CD:..." -> "abcd..."
  for (const char* ch = std::strchr(line, '=') + 1; *ch != '\0' && *ch != '\n'; ++ch) {
    if (*ch != ':') fingerprint += static_cast<char>(std::tolower(static_cast<unsigned char>(*ch)));
  }
  EXPECT_EQ(s.peer_certificate_sha256, fingerprint);

  ASSERT_EQ(link.client.write(bytes_of("GET / HTTP/1.1\r\nHost: reviews\r\n\r\n")).status, IoStatus::kOk);
  link.pump();
  EXPECT_EQ(string_of(link.server_plain), "GET / HTTP/1.1\r\nHost: reviews\r\n\r\n");
  ASSERT_EQ(link.server.write(bytes_of("HTTP/1.1 200 OK\r\n\r\n")).status, IoStatus::kOk);
  link.pump();
  EXPECT_EQ(string_of(link.client_plain), "HTTP/1.1 200 OK\r\n\r\n");
}

// A TLS 1.3 client may send its first request right behind its Finished; a
// real socket then hands both to the server in one read. With read-ahead the
// handshake pulls the request record into OpenSSL's buffer, and the server
// must still read it from that same input (it hung until more bytes came:
// found with real curl through `meshsim proxy`).
TEST_F(TlsSessionTest, RequestSentWithTheClientFinishedIsReadFromTheSameInput) {
  auto client_ctx = make_context(istio_client(client_id, pki.ca.root(), {kReviews}));
  auto server_ctx = make_context(istio_server(server_id, pki.ca.root()));
  ASSERT_TRUE(client_ctx && server_ctx);
  TlsSession client(client_ctx, {});
  TlsSession server(server_ctx);
  auto move_bytes = [](TlsSession& from, TlsSession& to) {
    auto out = from.pending_output();
    std::vector<uint8_t> copy(out.begin(), out.end());
    from.consume_output(copy.size());
    to.feed(copy);
  };
  client.start();
  move_bytes(client, server);  // ClientHello
  move_bytes(server, client);  // ServerHello … server Finished
  ASSERT_TRUE(client.established()) << client.failure().detail;
  const std::string request = "GET / HTTP/1.1\r\nHost: reviews\r\n\r\n";
  ASSERT_EQ(client.write(bytes_of(request)).status, IoStatus::kOk);
  move_bytes(client, server);  // client Finished + the request, in one feed
  ASSERT_TRUE(server.established()) << server.failure().detail;
  uint8_t buf[4096];
  IoResult r = server.read({buf, sizeof buf});
  ASSERT_EQ(r.status, IoStatus::kOk);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(buf), r.bytes), request);
}

TEST_F(TlsSessionTest, StrictServerRejectsClientWithoutCertificateTls13) {
  TlsContextConfig cc = istio_client(client_id, pki.ca.root(), {kReviews});
  cc.identity.reset();  // a plain TLS client (no mesh certificate)
  Link link(make_context(cc), make_context(istio_server(server_id, pki.ca.root())));
  link.pump();
  EXPECT_EQ(link.server.state(), HandshakeState::kFailed);
  EXPECT_EQ(link.server.failure().reason, TlsFailureReason::kNoPeerCertificate);
  EXPECT_EQ(link.server.failure().alert_sent, kAlertCertificateRequired);
  // In TLS 1.3 the client finishes first and learns of the rejection on read.
  EXPECT_EQ(link.client.state(), HandshakeState::kFailed);
  EXPECT_EQ(link.client.failure().reason, TlsFailureReason::kPeerAlert);
  EXPECT_EQ(link.client.failure().alert_received, kAlertCertificateRequired);
}

TEST_F(TlsSessionTest, StrictServerRejectsClientWithoutCertificateTls12) {
  TlsContextConfig cc = istio_client(client_id, pki.ca.root(), {kReviews});
  cc.identity.reset();
  cc.max_version = TlsVersion::kTls12;
  Link link(make_context(cc), make_context(istio_server(server_id, pki.ca.root())));
  link.pump();
  EXPECT_EQ(link.server.failure().reason, TlsFailureReason::kNoPeerCertificate);
  EXPECT_EQ(link.server.failure().alert_sent, kAlertHandshakeFailure);
  EXPECT_EQ(link.client.failure().reason, TlsFailureReason::kPeerAlert);
  EXPECT_EQ(link.client.failure().alert_received, kAlertHandshakeFailure);
  EXPECT_FALSE(link.client.established());
}

TEST_F(TlsSessionTest, ClientRejectsServerWhoseSanIsNotADestinationServiceAccount) {
  auto client = make_context(istio_client(client_id, pki.ca.root(), {"spiffe://cluster.local/ns/default/sa/ratings"}));
  Link link(client, make_context(istio_server(server_id, pki.ca.root())));
  link.pump();
  EXPECT_EQ(link.client.failure().reason, TlsFailureReason::kSanMismatch);
  EXPECT_EQ(link.client.failure().alert_sent, kAlertCertificateUnknown);  // Envoy's default validator
  EXPECT_NE(link.client.failure().detail.find("SAN matcher"), std::string::npos);
  EXPECT_EQ(link.server.failure().reason, TlsFailureReason::kPeerAlert);
  EXPECT_EQ(link.server.failure().alert_received, kAlertCertificateUnknown);
}

TEST_F(TlsSessionTest, SanOverridePerSessionReplacesTheContextList) {
  auto client = make_context(istio_client(client_id, pki.ca.root(), {"spiffe://cluster.local/ns/x/sa/y"}));
  SessionOptions opt;
  opt.match_subject_alt_names = {kReviews};
  Link link(client, make_context(istio_server(server_id, pki.ca.root())), opt);
  link.pump();
  EXPECT_TRUE(link.client.established()) << link.client.failure().detail;
}

TEST_F(TlsSessionTest, ClientRejectsServerCertificateFromAnotherRoot) {
  MeshPki other;
  CertifiedKey foreign = other.workload("default", "bookinfo-reviews");
  Link link(make_context(istio_client(client_id, pki.ca.root(), {kReviews})),
            make_context(istio_server(foreign, pki.ca.root())));
  link.pump();
  EXPECT_EQ(link.client.failure().reason, TlsFailureReason::kUnknownCa);
  EXPECT_EQ(link.client.failure().alert_sent, kAlertUnknownCa);
  EXPECT_NE(link.client.failure().verify_error, 0);
  EXPECT_EQ(link.server.failure().alert_received, kAlertUnknownCa);
}

TEST_F(TlsSessionTest, ServerRejectsClientCertificateFromAnotherRoot) {
  MeshPki other;
  CertifiedKey foreign = other.workload("default", "bookinfo-productpage");
  Link link(make_context(istio_client(foreign, pki.ca.root(), {kReviews})),
            make_context(istio_server(server_id, pki.ca.root())));
  link.pump();
  EXPECT_EQ(link.server.failure().reason, TlsFailureReason::kUnknownCa);
  EXPECT_EQ(link.server.failure().alert_sent, kAlertUnknownCa);
  EXPECT_EQ(link.client.failure().reason, TlsFailureReason::kPeerAlert);
  EXPECT_EQ(link.client.failure().alert_received, kAlertUnknownCa);
}

TEST_F(TlsSessionTest, ExpiredServerCertificateFailsInVirtualTime) {
  // Valid [0h, 24h); the handshake happens at 24h + 1s of virtual time.
  env.set_now(Duration::hours(24) + Duration::seconds(1));
  Link link(make_context(istio_client(client_id, pki.ca.root(), {kReviews})),
            make_context(istio_server(server_id, pki.ca.root())));
  link.pump();
  EXPECT_EQ(link.client.failure().reason, TlsFailureReason::kCertificateExpired);
  EXPECT_EQ(link.client.failure().alert_sent, kAlertCertificateExpired);
}

TEST_F(TlsSessionTest, CertificateIsValidUpToItsLastSecond) {
  env.set_now(Duration::hours(24) - Duration::seconds(1));
  Link link(make_context(istio_client(client_id, pki.ca.root(), {kReviews})),
            make_context(istio_server(server_id, pki.ca.root())));
  link.pump();
  EXPECT_TRUE(link.client.established()) << link.client.failure().detail;
}

TEST_F(TlsSessionTest, NotYetValidClientCertificateFailsWithBoringsslAlert) {
  CertifiedKey future = pki.workload("default", "bookinfo-productpage", Duration::hours(1), Duration::hours(25));
  Link link(make_context(istio_client(future, pki.ca.root(), {kReviews})),
            make_context(istio_server(server_id, pki.ca.root())));
  link.pump();
  EXPECT_EQ(link.server.failure().reason, TlsFailureReason::kCertificateNotYetValid);
  // BoringSSL (Envoy) maps "not yet valid" to certificate_expired too.
  EXPECT_EQ(link.server.failure().alert_sent, kAlertCertificateExpired);
}

TEST_F(TlsSessionTest, SessionVerifyTimeOverridesTheScopeClock) {
  SessionOptions opt;
  opt.verify_time = Duration::hours(48);
  Link link(make_context(istio_client(client_id, pki.ca.root(), {kReviews})),
            make_context(istio_server(server_id, pki.ca.root())), opt);
  link.pump();
  EXPECT_EQ(link.client.failure().reason, TlsFailureReason::kCertificateExpired);
}

struct AlpnCase {
  std::vector<std::string> client;
  std::vector<std::string> server;
  std::string negotiated;
};

class AlpnTest : public TlsSessionTest, public ::testing::WithParamInterface<AlpnCase> {};

TEST_P(AlpnTest, NegotiatesLikeEnvoy) {
  const AlpnCase& c = GetParam();
  Link link(make_context(istio_client(client_id, pki.ca.root(), {kReviews}, c.client)),
            make_context(istio_server(server_id, pki.ca.root(), c.server)));
  link.pump();
  ASSERT_TRUE(link.client.established()) << link.client.failure().detail;
  ASSERT_TRUE(link.server.established());
  EXPECT_EQ(link.client.info().alpn, c.negotiated);
  EXPECT_EQ(link.server.info().alpn, c.negotiated);
}

INSTANTIATE_TEST_SUITE_P(
    IstioLists, AlpnTest,
    ::testing::Values(
        // TCP cluster to an inbound TCP chain.
        AlpnCase{{"istio-peer-exchange", "istio"}, {"istio-peer-exchange", "h2", "http/1.1"}, "istio-peer-exchange"},
        // Per-request HTTP/1.1 override to an inbound HTTP chain.
        AlpnCase{{"istio-http/1.1", "istio", "http/1.1"}, {"h2", "http/1.1"}, "http/1.1"},
        AlpnCase{{"istio-http/1.1", "istio", "http/1.1"}, {"istio-peer-exchange", "h2", "http/1.1"}, "http/1.1"},
        AlpnCase{{"istio-h2", "istio", "h2"}, {"h2", "http/1.1"}, "h2"},
        // No overlap: the handshake succeeds without ALPN (Envoy returns NOACK).
        AlpnCase{{"istio"}, {"h2", "http/1.1"}, ""},
        AlpnCase{{"istio-peer-exchange", "istio"}, {"h2", "http/1.1"}, ""},
        // Server without an ALPN list ignores the client's.
        AlpnCase{{"istio-peer-exchange", "istio"}, {}, ""},
        // Client without ALPN.
        AlpnCase{{}, {"istio-peer-exchange", "h2", "http/1.1"}, ""}));

TEST_F(TlsSessionTest, PerSessionAlpnOverrideIsOffered) {
  SessionOptions opt;
  opt.alpn = {"istio-http/1.1", "istio", "http/1.1"};
  Link link(make_context(istio_client(client_id, pki.ca.root(), {kReviews})),
            make_context(istio_server(server_id, pki.ca.root(), {"h2", "http/1.1"})), opt);
  link.pump();
  EXPECT_EQ(link.server.info().alpn, "http/1.1");
}

TEST_F(TlsSessionTest, Tls12OnlyClientNegotiatesTls12WithBoringsslCipherOrder) {
  TlsContextConfig cc = istio_client(client_id, pki.ca.root(), {kReviews});
  cc.max_version = TlsVersion::kTls12;
  Link link(make_context(cc), make_context(istio_server(server_id, pki.ca.root())));
  link.pump();
  ASSERT_TRUE(link.client.established()) << link.client.failure().detail;
  EXPECT_EQ(link.server.info().version, TlsVersion::kTls12);
  EXPECT_EQ(link.server.info().cipher, "ECDHE-ECDSA-AES128-GCM-SHA256");
  EXPECT_EQ(link.server.info().peer_uri_sans, std::vector<std::string>{kProductpage});
  EXPECT_EQ(link.client.info().alpn, "istio-peer-exchange");
}

TEST_F(TlsSessionTest, Tls13OnlyServerRefusesTls12OnlyClient) {
  TlsContextConfig cc = istio_client(client_id, pki.ca.root(), {kReviews});
  cc.max_version = TlsVersion::kTls12;
  TlsContextConfig sc = istio_server(server_id, pki.ca.root());
  sc.min_version = TlsVersion::kTls13;
  Link link(make_context(cc), make_context(sc));
  link.pump();
  EXPECT_EQ(link.server.failure().reason, TlsFailureReason::kProtocolVersion);
  EXPECT_EQ(link.server.failure().alert_sent, kAlertProtocolVersion);
  EXPECT_EQ(link.client.failure().reason, TlsFailureReason::kPeerAlert);
  EXPECT_EQ(link.client.failure().alert_received, kAlertProtocolVersion);
}

TEST_F(TlsSessionTest, PlaintextHttpToTlsServerIsNotTlsAndGetsNoAlert) {
  TlsSession server(make_context(istio_server(server_id, pki.ca.root())));
  server.feed(bytes_of("GET /productpage HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_EQ(server.state(), HandshakeState::kFailed);
  EXPECT_EQ(server.failure().reason, TlsFailureReason::kNotTls);
  EXPECT_FALSE(server.failure().alert_sent.has_value());
  EXPECT_TRUE(server.pending_output().empty());
}

TEST_F(TlsSessionTest, TlsClientReceivingPlaintextReportsNotTls) {
  TlsSession client(make_context(istio_client(client_id, pki.ca.root(), {kReviews})));
  client.start();
  EXPECT_FALSE(client.pending_output().empty());  // the ClientHello
  client.consume_output(client.pending_output().size());
  client.feed(bytes_of("HTTP/1.1 400 Bad Request\r\n\r\n"));
  EXPECT_EQ(client.failure().reason, TlsFailureReason::kNotTls);
}

TEST_F(TlsSessionTest, EofDuringHandshakeIsUnexpectedEof) {
  TlsSession client(make_context(istio_client(client_id, pki.ca.root(), {kReviews})));
  client.start();
  client.feed_eof();
  EXPECT_EQ(client.state(), HandshakeState::kFailed);
  EXPECT_EQ(client.failure().reason, TlsFailureReason::kUnexpectedEof);
}

TEST_F(TlsSessionTest, WriteBeforeEstablishmentWouldBlock) {
  TlsSession client(make_context(istio_client(client_id, pki.ca.root(), {kReviews})));
  IoResult r = client.write(bytes_of("early"));
  EXPECT_EQ(r.status, IoStatus::kWouldBlock);
  EXPECT_EQ(r.bytes, 0u);
}

TEST_F(TlsSessionTest, CloseNotifyReachesThePeer) {
  Link link(make_context(istio_client(client_id, pki.ca.root(), {kReviews})),
            make_context(istio_server(server_id, pki.ca.root())));
  link.pump();
  ASSERT_TRUE(link.client.established());
  link.client.close();
  EXPECT_EQ(link.client.state(), HandshakeState::kClosed);
  EXPECT_EQ(link.client.write(bytes_of("x")).status, IoStatus::kClosed);
  link.pump();
  EXPECT_TRUE(link.server_closed);
  EXPECT_EQ(link.server.state(), HandshakeState::kClosed);
}

TEST_F(TlsSessionTest, RecordOverheadIsCounted) {
  Link link(make_context(istio_client(client_id, pki.ca.root(), {kReviews})),
            make_context(istio_server(server_id, pki.ca.root())));
  link.pump();
  const TlsStats before = link.client.stats();
  std::vector<uint8_t> kib(1024, 'x');
  ASSERT_EQ(link.client.write(kib).bytes, 1024u);
  const TlsStats& after = link.client.stats();
  EXPECT_EQ(after.records_out - before.records_out, 1u);
  // TLS 1.3 AES-GCM: 5-byte header + 1 content-type byte + 16-byte tag.
  EXPECT_EQ(after.ciphertext_out - before.ciphertext_out, 1024u + 22u);
  EXPECT_EQ(after.plaintext_out - before.plaintext_out, 1024u);
  EXPECT_GT(after.handshake_bytes_out, 0u);
  link.pump();
  EXPECT_EQ(link.server.stats().plaintext_in, 1024u);
}

TEST_F(TlsSessionTest, LargeWritesAreSplitIntoMaximumSizeRecords) {
  Link link(make_context(istio_client(client_id, pki.ca.root(), {kReviews})),
            make_context(istio_server(server_id, pki.ca.root())));
  link.pump();
  std::vector<uint8_t> big(40000, 'y');
  uint64_t before = link.client.stats().records_out;
  ASSERT_EQ(link.client.write(big).bytes, big.size());
  EXPECT_EQ(link.client.stats().records_out - before, 3u);  // 16384 + 16384 + 7232
  link.pump();
  EXPECT_EQ(link.server_plain.size(), big.size());
}

// App-TLS / DestinationRule SIMPLE: a server with a user-supplied certificate
// and no client verification; the client checks DNS SANs against its own CA.
TEST_F(TlsSessionTest, SimpleTlsWithUserSuppliedCertificateAndWildcardSan) {
  auto user_ca = CertificateAuthority::create_self_signed({.organization = "Example", .common_name = "Example CA"});
  LeafOptions o;
  o.common_name = "httpbin.example.com";
  o.dns_sans = {"*.example.com"};
  o.not_before = Duration::zero();
  o.not_after = Duration::hours(24 * 90);
  TlsContextConfig sc;
  sc.role = TlsRole::kServer;
  sc.identity = user_ca.issue(o);
  sc.alpn = {"h2", "http/1.1"};
  TlsContextConfig cc;
  cc.role = TlsRole::kClient;
  cc.trusted_roots = {user_ca.root()};
  cc.match_subject_alt_names = {"httpbin.example.com"};
  cc.sni = "httpbin.example.com";
  cc.alpn = {"http/1.1"};
  Link link(make_context(cc), make_context(sc));
  link.pump();
  ASSERT_TRUE(link.client.established()) << link.client.failure().detail;
  EXPECT_EQ(link.client.info().peer_dns_sans, std::vector<std::string>{"*.example.com"});
  EXPECT_FALSE(link.server.info().peer_certificate_presented);
  EXPECT_EQ(link.server.info().sni, "httpbin.example.com");

  // The wildcard covers one label only.
  cc.match_subject_alt_names = {"a.b.example.com"};
  Link deep(make_context(cc), make_context(sc));
  deep.pump();
  EXPECT_EQ(deep.client.failure().reason, TlsFailureReason::kSanMismatch);
}

TEST_F(TlsSessionTest, ClientWithoutTrustedRootsSkipsVerification) {
  MeshPki other;
  TlsContextConfig cc;
  cc.role = TlsRole::kClient;
  TlsContextConfig sc;
  sc.role = TlsRole::kServer;
  sc.identity = other.workload("x", "y");
  Link link(make_context(cc), make_context(sc));
  link.pump();
  EXPECT_TRUE(link.client.established()) << link.client.failure().detail;
}

TEST_F(TlsSessionTest, ContextCreationErrorsAreResults) {
  TlsContextConfig sc;
  sc.role = TlsRole::kServer;
  auto no_cert = TlsContext::create(sc);
  ASSERT_FALSE(no_cert.ok());
  EXPECT_NE(no_cert.message().find("certificate"), std::string::npos);
  TlsContextConfig cc;
  cc.alpn = {""};
  EXPECT_FALSE(TlsContext::create(cc).ok());
  TlsContextConfig req;
  req.role = TlsRole::kServer;
  req.identity = server_id;
  req.require_client_certificate = true;
  EXPECT_FALSE(TlsContext::create(req).ok());
}

TEST_F(TlsSessionTest, KeylogSinkReceivesNssLines) {
  std::vector<std::string> lines;
  SimEnvironment keyed(9, [&](std::string_view l) { lines.emplace_back(l); });
  Link link(make_context(istio_client(client_id, pki.ca.root(), {kReviews})),
            make_context(istio_server(server_id, pki.ca.root())));
  link.pump();
  ASSERT_TRUE(link.client.established());
  int client_hs = 0, server_hs = 0, client_app = 0, server_app = 0;
  for (const auto& l : lines) {
    client_hs += l.rfind("CLIENT_HANDSHAKE_TRAFFIC_SECRET ", 0) == 0;
    server_hs += l.rfind("SERVER_HANDSHAKE_TRAFFIC_SECRET ", 0) == 0;
    client_app += l.rfind("CLIENT_TRAFFIC_SECRET_0 ", 0) == 0;
    server_app += l.rfind("SERVER_TRAFFIC_SECRET_0 ", 0) == 0;
  }
  // Both endpoints log each secret.
  EXPECT_EQ(client_hs, 2);
  EXPECT_EQ(server_hs, 2);
  EXPECT_EQ(client_app, 2);
  EXPECT_EQ(server_app, 2);
}

}  // namespace
}  // namespace meshsim::tls
