// TlsSession is one TLS connection over memory buffers, sans I/O: the caller
// feeds ciphertext that arrived from the peer, takes ciphertext to send, writes
// plaintext to encrypt and reads plaintext that was decrypted. It never blocks,
// never throws and never touches a socket or a clock of its own.
//
//   client                                   server
//   TlsSession c(client_ctx);                TlsSession s(server_ctx);
//   c.start();  // ClientHello -> output
//   send(c.pending_output()); c.consume_output(n);
//                                             s.feed(bytes) -> handshake runs
//   ...                                       s.read(buf) -> plaintext / kWouldBlock
//
// Driving rules:
//  * feed() buffers ciphertext and, while the handshake is in progress, runs
//    it; new output (handshake flights, alerts) appears in pending_output().
//  * read() decrypts; it also processes post-handshake messages (TLS 1.3
//    session tickets, close_notify, alerts), so a client that wants its session
//    cached must read() after the server's first flight following the handshake.
//  * write() before establishment returns kWouldBlock and consumes nothing.
//  * After kFailed, failure() says why; pending_output() may hold the alert
//    this side sent (send it: the peer reports it as kPeerAlert).
//
// Key-log lines of the session go to the key-log sink of the EnvironmentScope
// installed when the session is created (none: nothing is formatted).
//
// Performance: no allocation per record in steady state (input/output buffers
// are reused vectors), no copies beyond OpenSSL's own.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "proxy/tls/tls_context.h"
#include "proxy/tls/tls_types.h"

namespace meshsim::tls {

// Per-connection overrides of the context (Envoy's TransportSocketOptions).
struct SessionOptions {
  std::string sni;                        // client: overrides config.sni when non-empty
  std::vector<std::string> alpn;          // client: overrides config.alpn when non-empty
                                          // (Istio's per-request istio-http/1.1 list);
                                          // names of 1..255 bytes (else API misuse)
  std::vector<std::string> match_subject_alt_names;  // client: overrides when non-empty
  // Client: session cache slot inside the context. Empty = Envoy's default of
  // one cache per context; per-host caching uses the upstream address.
  std::string session_cache_key;
  // Verification time override; unset = virtual_now() of the current scope.
  std::optional<Duration> verify_time;
};

enum class IoStatus : uint8_t {
  kOk,          // bytes were transferred
  kWouldBlock,  // nothing now: feed more ciphertext (read) or finish the handshake (write)
  kClosed,      // close_notify received (read) / session closed (write)
  kError,       // fatal: see failure()
};

struct IoResult {
  std::size_t bytes = 0;
  IoStatus status = IoStatus::kOk;
};

class TlsSession {
 public:
  struct Impl;

  explicit TlsSession(std::shared_ptr<TlsContext> context, SessionOptions options = {});
  ~TlsSession();
  TlsSession(TlsSession&&) noexcept;
  TlsSession& operator=(TlsSession&&) noexcept;

  TlsRole role() const;

  // Client: writes the ClientHello into the output. Server: no-op (the server
  // starts when the ClientHello is fed). Idempotent.
  void start();

  // Ciphertext from the wire. Runs the handshake while it is in progress.
  void feed(std::span<const uint8_t> ciphertext);
  // The transport delivered FIN: a handshake in progress fails (kUnexpectedEof),
  // an established session reads kClosed once buffered data is drained.
  void feed_eof();

  // Decrypted application data into out.
  IoResult read(std::span<uint8_t> out);
  // Encrypts plaintext (all of it once established; records of at most 16 KiB).
  IoResult write(std::span<const uint8_t> plaintext);
  // Sends close_notify (once); state becomes kClosed.
  void close();

  // Ciphertext waiting to be sent, oldest first; valid until the next call
  // that produces output. consume_output(n) drops the first n bytes.
  std::span<const uint8_t> pending_output() const;
  void consume_output(std::size_t n);
  // Appends the pending output to out and consumes it (convenience).
  std::size_t take_output(std::vector<uint8_t>& out);

  HandshakeState state() const;
  bool established() const { return state() == HandshakeState::kEstablished; }
  // Valid once established (and kept after close).
  const HandshakeInfo& info() const;
  // The ALPN protocol selected so far: on a server, known as soon as it
  // processed the ClientHello, before the handshake completes (what Envoy's
  // nextProtocol() returns then); "" when none.
  std::string_view selected_alpn() const;
  const TlsFailure& failure() const;
  const TlsStats& stats() const;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace meshsim::tls
