// Test helpers for meshsim::tls: a seeded byte source (SplitMix64 — proxy/
// tests may not use sim/), a virtual clock, a mesh PKI, Istio-shaped contexts,
// and a pump that moves bytes between a client and a server session and keeps
// a transcript of what crossed the wire in each direction.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "proxy/tls/certificates.h"
#include "proxy/tls/environment.h"
#include "proxy/tls/tls_context.h"
#include "proxy/tls/tls_session.h"

namespace meshsim::tls::testing {

class SeededBytes {
 public:
  explicit SeededBytes(uint64_t seed) : state_(seed) {}
  void fill(unsigned char* out, std::size_t n) {
    while (n > 0) {
      uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
      z ^= z >> 31;
      for (int i = 0; i < 8 && n > 0; ++i, --n) *out++ = static_cast<unsigned char>(z >> (8 * i));
    }
  }

 private:
  uint64_t state_;
};

// Installs a seeded RandomSource and a settable virtual clock for its lifetime.
class SimEnvironment {
 public:
  explicit SimEnvironment(uint64_t seed, KeylogSink keylog = nullptr)
      : bytes_(seed),
        scope_(Environment{[this](unsigned char* p, std::size_t n) { bytes_.fill(p, n); },
                           [this] { return now_; }, std::move(keylog)}) {}
  void set_now(Duration t) { now_ = t; }
  void advance(Duration d) { now_ += d; }
  Duration now() const { return now_; }

 private:
  SeededBytes bytes_;
  Duration now_ = Duration::zero();
  EnvironmentScope scope_;
};

inline constexpr const char* kTrustDomain = "cluster.local";

// The mesh PKI of a small scenario: one root, workloads valid for a day.
struct MeshPki {
  CertificateAuthority ca = CertificateAuthority::create_self_signed();
  CertifiedKey workload(const std::string& ns, const std::string& sa, Duration not_before = Duration::zero(),
                        Duration not_after = Duration::hours(24)) {
    return ca.issue_workload(kTrustDomain, ns, sa, not_before, not_after);
  }
};

// Istio ISTIO_MUTUAL upstream: SNI outbound_.<port>_.<subset>_.<fqdn>, SAN = the
// destination service accounts, ALPN istio-peer-exchange,istio.
inline TlsContextConfig istio_client(const CertifiedKey& id, const Certificate& root,
                                     std::vector<std::string> sans,
                                     std::vector<std::string> alpn = {"istio-peer-exchange", "istio"}) {
  TlsContextConfig c;
  c.role = TlsRole::kClient;
  c.name = "outbound|9080||reviews.default.svc.cluster.local";
  c.identity = id;
  c.trusted_roots = {root};
  c.match_subject_alt_names = std::move(sans);
  c.alpn = std::move(alpn);
  c.sni = "outbound_.9080_._.reviews.default.svc.cluster.local";
  return c;
}

// Istio inbound mTLS chain: client certificate required, no SAN check.
inline TlsContextConfig istio_server(const CertifiedKey& id, const Certificate& root,
                                     std::vector<std::string> alpn = {"istio-peer-exchange", "h2", "http/1.1"}) {
  TlsContextConfig c;
  c.role = TlsRole::kServer;
  c.name = "virtualInbound/0.0.0.0_9080";
  c.identity = id;
  c.trusted_roots = {root};
  c.require_client_certificate = true;
  c.alpn = std::move(alpn);
  return c;
}

inline std::shared_ptr<TlsContext> make_context(TlsContextConfig config) {
  auto r = TlsContext::create(std::move(config));
  if (!r.ok()) return nullptr;
  return std::move(r).value();
}

// A client and a server session joined back to back.
struct Link {
  TlsSession client;
  TlsSession server;
  std::vector<uint8_t> c2s;  // every ciphertext byte the client sent
  std::vector<uint8_t> s2c;
  std::vector<uint8_t> client_plain;  // plaintext the client read
  std::vector<uint8_t> server_plain;
  bool client_closed = false;
  bool server_closed = false;

  Link(std::shared_ptr<TlsContext> c, std::shared_ptr<TlsContext> s, SessionOptions copt = {})
      : client(std::move(c), std::move(copt)), server(std::move(s)) {}

  // Moves bytes both ways (and reads plaintext on both ends) until nothing moves.
  void pump() {
    client.start();
    for (int round = 0; round < 64; ++round) {
      bool moved = false;
      if (auto out = client.pending_output(); !out.empty()) {
        c2s.insert(c2s.end(), out.begin(), out.end());
        std::vector<uint8_t> copy(out.begin(), out.end());
        client.consume_output(copy.size());
        server.feed(copy);
        moved = true;
      }
      if (auto out = server.pending_output(); !out.empty()) {
        s2c.insert(s2c.end(), out.begin(), out.end());
        std::vector<uint8_t> copy(out.begin(), out.end());
        server.consume_output(copy.size());
        client.feed(copy);
        moved = true;
      }
      moved |= drain(client, client_plain, client_closed);
      moved |= drain(server, server_plain, server_closed);
      if (!moved) break;
    }
  }

  static bool drain(TlsSession& s, std::vector<uint8_t>& sink, bool& closed) {
    bool got = false;
    uint8_t buf[4096];
    for (;;) {
      IoResult r = s.read(buf);
      if (r.status == IoStatus::kOk) {
        sink.insert(sink.end(), buf, buf + r.bytes);
        got = true;
        continue;
      }
      if (r.status == IoStatus::kClosed) closed = true;
      return got;
    }
  }
};

inline std::vector<uint8_t> bytes_of(std::string_view s) { return {s.begin(), s.end()}; }
inline std::string string_of(const std::vector<uint8_t>& v) { return {v.begin(), v.end()}; }

}  // namespace meshsim::tls::testing
