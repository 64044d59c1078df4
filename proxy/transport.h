// TransportSocket is what sits between a connection's network bytes and its
// network filters, as in Envoy: raw_buffer (bytes pass through untouched) or
// tls (OpenSSL over memory BIOs, proxy/tls/). TransportFactory creates them
// from the TLS contexts of the proxy config, with the proxy's current secrets,
// and inspects ClientHellos for the tls_inspector listener filter.
//
// All calls are synchronous and non-blocking; output bytes are appended to the
// caller's buffers. A failed handshake is an outcome (kFailed + reason), never
// an exception.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/config.h"

namespace meshsim::proxy {

// What a connection's transport established; empty/false for raw_buffer.
struct SecurityInfo {
  bool tls = false;
  bool handshake_complete = false;
  std::string version;   // "TLSv1.3"
  std::string cipher;
  std::string alpn;      // negotiated application protocol, "" if none
  std::string sni;       // server side: SNI the client sent; client side: SNI we sent
  bool peer_certificate = false;
  std::vector<std::string> peer_uri_sans;  // e.g. spiffe://cluster.local/ns/default/sa/bookinfo-reviews
  std::vector<std::string> peer_dns_sans;
  std::string local_uri_san;
  std::string peer_subject;             // RFC 2253 subject of the peer cert ("" for Istio workload certs)
  std::string peer_certificate_sha256;  // lower-hex SHA-256 of the peer cert (DER), for XFCC Hash=
  bool resumed = false;
  std::string failure_reason;  // set when the handshake failed, Envoy-style text
  // Upstream connections: the transport socket the engine chose for the
  // endpoint — the cluster's transport_socket_matches entry ("tlsMode-istio",
  // "tlsMode-disabled") or its own socket ("tls", "raw_buffer") — and that
  // socket's TLS mode in Istio's words ("ISTIO_MUTUAL", "SIMPLE", "MUTUAL";
  // "" for raw_buffer). Empty on the downstream side.
  std::string transport_socket;
  std::string tls_mode;

  // The SPIFFE principal of the peer ("" when none): first URI SAN.
  std::string peer_principal() const { return peer_uri_sans.empty() ? std::string() : peer_uri_sans.front(); }
};

enum class TransportResult : uint8_t {
  kOk,           // progress (maybe application bytes were produced)
  kEstablished,  // the handshake completed during this call
  kFailed,       // the handshake or a record failed; the connection must close
  kPeerClosed,   // the peer sent close_notify
};

class TransportSocket {
 public:
  virtual ~TransportSocket() = default;
  virtual bool is_tls() const = 0;
  // Client side: produces the first flight (ClientHello). Server side: no-op.
  virtual void start(std::string& to_network) = 0;
  // Network bytes in; application bytes out to `plaintext`; handshake records,
  // alerts and other replies to `to_network`.
  virtual TransportResult on_network(std::string_view in, std::string& plaintext, std::string& to_network) = 0;
  // Application bytes to send; ciphertext appended to `to_network`. Bytes
  // written before the handshake completes are queued and flushed by it.
  virtual void write(std::string_view plaintext, std::string& to_network) = 0;
  // Orderly shutdown (close_notify for TLS).
  virtual void shutdown(std::string& to_network) = 0;
  const SecurityInfo& security() const { return info_; }
  // The engine records which transport socket it chose (upstream side).
  void set_choice(std::string_view transport_socket, std::string_view tls_mode) {
    info_.transport_socket.assign(transport_socket);
    info_.tls_mode.assign(tls_mode);
  }

 protected:
  SecurityInfo info_;
};

// What the tls_inspector learned from the first bytes of a connection.
struct ClientHelloInfo {
  enum class Status : uint8_t { kNeedMoreBytes, kNotTls, kClientHello };
  Status status = Status::kNeedMoreBytes;
  std::string server_name;
  std::vector<std::string> alpn;
};

class TransportFactory {
 public:
  virtual ~TransportFactory() = default;
  // A server-side TLS socket terminating per `ctx`.
  virtual std::unique_ptr<TransportSocket> make_server(const DownstreamTlsContext& ctx) = 0;
  // A client-side TLS socket originating per `ctx`; `alpn_override`, when not
  // empty, replaces the context's ALPN list (Istio's istio.alpn filter sets it
  // per request for HTTP); `session_key` groups connections that may resume
  // each other's sessions (Envoy: one cache per cluster transport socket).
  virtual std::unique_ptr<TransportSocket> make_client(const UpstreamTlsContext& ctx,
                                                       const std::vector<std::string>& alpn_override,
                                                       std::string_view session_key) = 0;
  virtual ClientHelloInfo inspect_client_hello(std::string_view first_bytes) = 0;
};

// raw_buffer: bytes pass through unchanged.
class RawTransportSocket final : public TransportSocket {
 public:
  bool is_tls() const override { return false; }
  void start(std::string&) override {}
  TransportResult on_network(std::string_view in, std::string& plaintext, std::string&) override {
    plaintext.append(in);
    return TransportResult::kOk;
  }
  void write(std::string_view plaintext, std::string& to_network) override { to_network.append(plaintext); }
  void shutdown(std::string&) override {}
};

}  // namespace meshsim::proxy
