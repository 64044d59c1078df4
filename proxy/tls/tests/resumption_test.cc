// Session resumption as Envoy does it: stateless tickets on the server with
// rotating keys, a per-context client cache (max_session_keys, single-use TLS
// 1.3 tickets), and identity still known after resumption.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "proxy/tls/tests/tls_test_util.h"
#include "proxy/tls/tls_session.h"

namespace meshsim::tls {
// Named, not anonymous: in a unity build this file shares a translation unit with
// other tests whose file-local helpers have the same names.
namespace resumption_test {

using testing::bytes_of;
using testing::istio_client;
using testing::istio_server;
using testing::Link;
using testing::make_context;
using testing::MeshPki;
using testing::SimEnvironment;

const std::string kProductpage = "spiffe://cluster.local/ns/default/sa/bookinfo-productpage";
const std::string kReviews = "spiffe://cluster.local/ns/default/sa/bookinfo-reviews";

class ResumptionTest : public ::testing::Test {
 protected:
  SimEnvironment env{11};
  MeshPki pki;
  CertifiedKey client_id = pki.workload("default", "bookinfo-productpage", Duration::zero(), Duration::hours(24 * 10));
  CertifiedKey server_id = pki.workload("default", "bookinfo-reviews", Duration::zero(), Duration::hours(24 * 10));

  // One request/response, so the client reads the server's post-handshake
  // tickets (as a real client does when it reads the response).
  static void exchange(Link& link) {
    link.pump();
    ASSERT_TRUE(link.client.established()) << link.client.failure().detail;
    ASSERT_EQ(link.client.write(bytes_of("ping")).status, IoStatus::kOk);
    link.pump();
    ASSERT_EQ(link.server.write(bytes_of("pong")).status, IoStatus::kOk);
    link.pump();
  }
};

TEST_F(ResumptionTest, SecondConnectionResumesAndKeepsPeerIdentities) {
  auto client = make_context(istio_client(client_id, pki.ca.root(), {kReviews}));
  auto server = make_context(istio_server(server_id, pki.ca.root()));
  Link first(client, server);
  exchange(first);
  EXPECT_FALSE(first.client.info().resumed);
  EXPECT_EQ(client->cached_sessions(), 1u);

  Link second(client, server);
  exchange(second);
  ASSERT_TRUE(second.client.established());
  EXPECT_TRUE(second.client.info().resumed);
  EXPECT_TRUE(second.server.info().resumed);
  // Istio semantics survive resumption: both sides still know who the peer is.
  EXPECT_EQ(second.client.info().peer_uri_sans, std::vector<std::string>{kReviews});
  EXPECT_EQ(second.server.info().peer_uri_sans, std::vector<std::string>{kProductpage});
  EXPECT_EQ(second.server.info().peer_certificate_sha256, first.server.info().peer_certificate_sha256);
  EXPECT_EQ(second.server.info().alpn, "istio-peer-exchange");
  EXPECT_EQ(second.server.info().sni, "outbound_.9080_._.reviews.default.svc.cluster.local");
  // No certificates on the wire: the resumed handshake is far smaller.
  EXPECT_LT(second.s2c.size() * 2, first.s2c.size());
}

TEST_F(ResumptionTest, Tls13TicketsAreSingleUse) {
  auto client = make_context(istio_client(client_id, pki.ca.root(), {kReviews}));
  auto server = make_context(istio_server(server_id, pki.ca.root()));
  Link first(client, server);
  exchange(first);
  ASSERT_EQ(client->cached_sessions(), 1u);
  // A connection that takes the ticket but never completes leaves the cache empty.
  TlsSession taker(client);
  EXPECT_EQ(client->cached_sessions(), 0u);
  Link fresh(client, server);
  exchange(fresh);
  EXPECT_FALSE(fresh.client.info().resumed);
}

TEST_F(ResumptionTest, Tls12SessionsResumeRepeatedly) {
  TlsContextConfig cc = istio_client(client_id, pki.ca.root(), {kReviews});
  cc.max_version = TlsVersion::kTls12;
  auto client = make_context(cc);
  auto server = make_context(istio_server(server_id, pki.ca.root()));
  Link first(client, server);
  exchange(first);
  for (int i = 0; i < 3; ++i) {
    Link again(client, server);
    exchange(again);
    EXPECT_TRUE(again.client.info().resumed) << i;
    EXPECT_EQ(again.server.info().version, TlsVersion::kTls12);
    EXPECT_EQ(again.server.info().peer_uri_sans, std::vector<std::string>{kProductpage});
  }
  EXPECT_EQ(client->cached_sessions(), 1u);  // reusable: not consumed
}

TEST_F(ResumptionTest, CacheKeysSeparateUpstreamHosts) {
  auto client = make_context(istio_client(client_id, pki.ca.root(), {kReviews}));
  auto server = make_context(istio_server(server_id, pki.ca.root()));
  SessionOptions host_a;
  host_a.session_cache_key = "10.0.0.1:9080";
  SessionOptions host_b;
  host_b.session_cache_key = "10.0.0.2:9080";
  Link a(client, server, host_a);
  exchange(a);
  EXPECT_EQ(client->cached_sessions("10.0.0.1:9080"), 1u);
  EXPECT_EQ(client->cached_sessions("10.0.0.2:9080"), 0u);
  Link b(client, server, host_b);
  exchange(b);
  EXPECT_FALSE(b.client.info().resumed);
  Link a2(client, server, host_a);
  exchange(a2);
  EXPECT_TRUE(a2.client.info().resumed);
}

TEST_F(ResumptionTest, AnotherServerContextCannotDecryptTheTicketAndFallsBackToFullHandshake) {
  auto client = make_context(istio_client(client_id, pki.ca.root(), {kReviews}));
  auto server1 = make_context(istio_server(server_id, pki.ca.root()));
  auto server2 = make_context(istio_server(server_id, pki.ca.root()));
  Link first(client, server1);
  exchange(first);
  Link other(client, server2);
  exchange(other);
  ASSERT_TRUE(other.client.established()) << other.client.failure().detail;
  EXPECT_FALSE(other.client.info().resumed);
  EXPECT_EQ(other.server.info().peer_uri_sans, std::vector<std::string>{kProductpage});
}

// libssl ages tickets with time(); the lifetime must run out in virtual time.
TEST_F(ResumptionTest, Tls13TicketExpiresAfterFortyEightVirtualHours) {
  auto client = make_context(istio_client(client_id, pki.ca.root(), {kReviews}));
  auto server = make_context(istio_server(server_id, pki.ca.root()));
  Link first(client, server);
  exchange(first);
  env.advance(Duration::hours(47));
  Link within(client, server);
  exchange(within);
  EXPECT_TRUE(within.client.info().resumed);
  env.advance(Duration::hours(48) + Duration::seconds(1));  // the ticket from `within` is now too old
  Link late(client, server);
  exchange(late);
  ASSERT_TRUE(late.client.established());
  EXPECT_FALSE(late.client.info().resumed);
}

TEST_F(ResumptionTest, Tls12SessionExpiresAfterTwoVirtualHours) {
  TlsContextConfig cc = istio_client(client_id, pki.ca.root(), {kReviews});
  cc.max_version = TlsVersion::kTls12;
  auto client = make_context(cc);
  auto server = make_context(istio_server(server_id, pki.ca.root()));
  Link first(client, server);
  exchange(first);
  env.advance(Duration::hours(2) - Duration::seconds(1));
  Link within(client, server);
  exchange(within);
  EXPECT_TRUE(within.client.info().resumed);
  env.advance(Duration::seconds(2));
  Link late(client, server);
  exchange(late);
  EXPECT_FALSE(late.client.info().resumed);
}

TEST_F(ResumptionTest, TicketKeysRotateEveryFortyEightHoursAndThePreviousKeyStillResumes) {
  TlsContextConfig sc = istio_server(server_id, pki.ca.root());
  sc.session_timeout = Duration::hours(24 * 7);  // long enough to outlive a rotation
  auto server = make_context(sc);
  TlsContextConfig cc = istio_client(client_id, pki.ca.root(), {kReviews});
  cc.max_version = TlsVersion::kTls12;  // reusable sessions: the same ticket is offered again
  auto client = make_context(cc);
  Link first(client, server);
  exchange(first);
  EXPECT_EQ(server->ticket_keys_created(), 1u);
  env.advance(Duration::hours(49));  // rotation: the ticket's key is now the previous key
  Link rotated(client, server);
  exchange(rotated);
  EXPECT_TRUE(rotated.client.info().resumed);
  EXPECT_EQ(server->ticket_keys_created(), 2u);
  // Sessions renewed under the new key; a ticket only under a key two
  // rotations old would be refused — the cache now holds the renewed one.
  env.advance(Duration::hours(49));
  Link later(client, server);
  exchange(later);
  EXPECT_TRUE(later.client.info().resumed);
}

TEST_F(ResumptionTest, ResumptionCanBeDisabled) {
  TlsContextConfig sc = istio_server(server_id, pki.ca.root());
  sc.session_resumption = false;
  auto client = make_context(istio_client(client_id, pki.ca.root(), {kReviews}));
  auto server = make_context(sc);
  Link first(client, server);
  exchange(first);
  Link second(client, server);
  exchange(second);
  EXPECT_FALSE(second.client.info().resumed);
  EXPECT_EQ(server->ticket_keys_created(), 0u);
}

}  // namespace resumption_test
}  // namespace meshsim::tls
