// Same seed => byte-identical TLS; different seed => different bytes; libssl's
// clock is the virtual clock; no randomness escapes the seeded source.
#include <openssl/ssl.h>

#include <gtest/gtest.h>

#include <chrono>
#include <ctime>
#include <string>
#include <vector>

#include "proxy/tls/decode_memo.h"
#include "proxy/tls/environment.h"
#include "proxy/tls/tests/tls_test_util.h"
#include "proxy/tls/tls_session.h"

namespace meshsim::tls {
namespace {

using testing::bytes_of;
using testing::istio_client;
using testing::istio_server;
using testing::Link;
using testing::make_context;
using testing::MeshPki;
using testing::SimEnvironment;

struct Capture {
  std::vector<uint8_t> wire;  // every byte in both directions, in order of sessions
  std::vector<std::string> keylog;
};

// A whole mini-run: PKI, contexts, a full mTLS handshake with a request and a
// response, then a resumed connection an hour of virtual time later (its
// obfuscated_ticket_age depends on libssl's clock) and a TLS 1.2 connection.
Capture run(uint64_t seed) {
  Capture cap;
  SimEnvironment env(seed, [&](std::string_view l) { cap.keylog.emplace_back(l); });
  MeshPki pki;
  CertifiedKey c = pki.workload("default", "productpage");
  CertifiedKey s = pki.workload("default", "reviews");
  auto client = make_context(istio_client(c, pki.ca.root(), {"spiffe://cluster.local/ns/default/sa/reviews"}));
  auto server = make_context(istio_server(s, pki.ca.root()));
  auto record = [&](Link& l) {
    cap.wire.insert(cap.wire.end(), l.c2s.begin(), l.c2s.end());
    cap.wire.insert(cap.wire.end(), l.s2c.begin(), l.s2c.end());
  };
  {
    Link l(client, server);
    l.pump();
    l.client.write(bytes_of("GET / HTTP/1.1\r\n\r\n"));
    l.pump();
    l.server.write(bytes_of("HTTP/1.1 200 OK\r\n\r\n"));
    l.pump();
    l.client.close();
    l.pump();
    record(l);
  }
  env.advance(Duration::hours(1) + Duration::millis(1234));
  {
    Link l(client, server);
    l.pump();
    l.client.write(bytes_of("again"));
    l.pump();
    EXPECT_TRUE(l.client.info().resumed);
    record(l);
  }
  {
    TlsContextConfig cc = istio_client(c, pki.ca.root(), {"spiffe://cluster.local/ns/default/sa/reviews"});
    cc.max_version = TlsVersion::kTls12;
    Link l(make_context(cc), server);
    l.pump();
    l.client.write(bytes_of("tls12"));
    l.pump();
    record(l);
  }
  return cap;
}

TEST(Determinism, SameSeedGivesByteIdenticalHandshakesAndKeys) {
  uint64_t unscoped_before = unscoped_random_bytes();
  Capture a = run(2026);
  Capture b = run(2026);
  ASSERT_GT(a.wire.size(), 3000u);
  EXPECT_EQ(a.wire, b.wire);
  EXPECT_EQ(a.keylog, b.keylog);
  EXPECT_FALSE(a.keylog.empty());
  // Nothing was drawn from OpenSSL's own DRBG.
  EXPECT_EQ(unscoped_random_bytes(), unscoped_before);
}

// The decode memo (decode_memo.h) is an optimisation only: the same run with
// it off produces the same bytes, and with it on it is actually used.
TEST(Determinism, DecodeMemoChangesNoByte) {
  clear_decode_memo();
  set_decode_memo_enabled(false);
  Capture plain = run(31337);
  DecodeMemoStats off = decode_memo_stats();
  set_decode_memo_enabled(true);
  Capture memoized = run(31337);
  DecodeMemoStats on = decode_memo_stats();
  EXPECT_EQ(plain.wire, memoized.wire);
  EXPECT_EQ(plain.keylog, memoized.keylog);
  EXPECT_EQ(off.certificate_hits + off.session_hits, 0u);
  // Run: a full handshake (4 certificates parsed), a resumption (1 ticket), a
  // TLS 1.2 full handshake (the same 4 certificates again: hits).
  EXPECT_GE(on.certificate_hits, 4u);
  EXPECT_GE(on.session_hits, 1u);
}

TEST(Determinism, DifferentSeedGivesDifferentBytes) {
  Capture a = run(1);
  Capture b = run(2);
  EXPECT_NE(a.wire, b.wire);
  EXPECT_NE(a.keylog, b.keylog);
}

// The executable's time() is ours, and libssl binds to it: SSL_SESSION_new()
// stamps sessions with time(NULL) inside libssl.so.
TEST(Determinism, LibsslReadsTheVirtualClock) {
  SimEnvironment env(3);
  env.set_now(Duration::hours(5) + Duration::millis(999));
  EXPECT_EQ(time(nullptr), kEpochUnixSeconds + 5 * 3600);
  SSL_SESSION* session = SSL_SESSION_new();
  ASSERT_NE(session, nullptr);
  EXPECT_EQ(SSL_SESSION_get_time(session), kEpochUnixSeconds + 5 * 3600);
  SSL_SESSION_free(session);
}

TEST(Determinism, OutsideAScopeTimeIsTheWallClock) {
  ASSERT_FALSE(has_environment());
  int64_t wall = std::chrono::duration_cast<std::chrono::seconds>(
                     std::chrono::system_clock::now().time_since_epoch()).count();
  int64_t t = time(nullptr);
  EXPECT_LE(std::abs(t - wall), 2);
}

TEST(Determinism, ScopesNestAndRestore) {
  SimEnvironment outer(1);
  outer.set_now(Duration::seconds(10));
  {
    SimEnvironment inner(2);
    inner.set_now(Duration::seconds(20));
    EXPECT_EQ(virtual_now(), Duration::seconds(20));
  }
  EXPECT_EQ(virtual_now(), Duration::seconds(10));
  {
    Environment borrowed{nullptr, [] { return Duration::seconds(30); }, nullptr};
    EnvironmentScope scope(&borrowed);
    EXPECT_EQ(virtual_now(), Duration::seconds(30));
  }
  EXPECT_EQ(virtual_now(), Duration::seconds(10));
  EXPECT_EQ(format_rfc3339(Duration::hours(36)), "2026-01-02T12:00:00Z");
  EXPECT_EQ(unix_seconds_at(-Duration::millis(1)), kEpochUnixSeconds - 1);
}

}  // namespace
}  // namespace meshsim::tls
