// ClientHelloInspector is the engine of Envoy's tls_inspector listener filter:
// given the first bytes a client sent on a connection it says "need more
// bytes", "not TLS", "TLS" (with SNI, ALPN and offered versions) or "ClientHello
// too large" — deciding exactly the way a TLS stack would, because it *is* one:
// the bytes go into a throwaway OpenSSL server SSL over a memory BIO, and the
// client-hello callback reads SNI/ALPN and aborts the handshake, as Envoy does
// with BoringSSL's select-certificate callback. Nothing is hand-parsed at the
// record or handshake level.
//
// Rules (Envoy source/extensions/filters/listener/tls_inspector/tls_inspector.cc):
//  * the TLS stack wants more bytes            -> kNeedMoreBytes
//    (unless max_client_hello_size bytes were already seen -> kClientHelloTooLarge,
//    on which Envoy closes the connection);
//  * the stack fails before a ClientHello was parsed -> kNotTls (Envoy's
//    tls_not_found: the connection continues without transport "tls"); with
//    OpenSSL this is decided as soon as the 5-byte record header is not a
//    TLS/SSLv2 hello header (e.g. "GET /", "POST ", a MySQL packet), or when the
//    first record/message is not a ClientHello;
//  * the ClientHello callback ran               -> kTls.
//
// Feed it the whole prefix seen so far each time (like Envoy's MSG_PEEK
// buffer); it processes only the bytes it has not seen. One inspector per
// connection; single-threaded; draws no randomness from the simulation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace meshsim::tls {

struct ClientHelloInfo {
  std::string sni;                 // empty: no server_name extension
  std::vector<std::string> alpn;   // empty: no ALPN extension (or a malformed one)
  uint16_t legacy_version = 0;     // ClientHello.legacy_version (0x0303 for TLS 1.2/1.3)
  std::vector<uint16_t> versions;  // supported_versions, else {legacy_version}
  std::vector<int> extensions;     // extension types present, in ClientHello order
};

enum class InspectResult : uint8_t { kNeedMoreBytes, kTls, kNotTls, kClientHelloTooLarge };

std::string_view to_string(InspectResult r);

class ClientHelloInspector {
 public:
  // Envoy's tls_inspector reads at most 64 KiB (TLS_MAX_CLIENT_HELLO).
  static constexpr std::size_t kDefaultMaxClientHelloSize = 64 * 1024;

  explicit ClientHelloInspector(std::size_t max_client_hello_size = kDefaultMaxClientHelloSize);
  ~ClientHelloInspector();
  ClientHelloInspector(ClientHelloInspector&&) noexcept;
  ClientHelloInspector& operator=(ClientHelloInspector&&) noexcept;

  // `peeked` = every byte received so far on the connection (a prefix that
  // only grows). Once a final result is reached it is returned unchanged.
  InspectResult inspect(std::span<const uint8_t> peeked);

  InspectResult result() const;
  // Valid when result() == kTls.
  const ClientHelloInfo& info() const;
  // Bytes handed to the TLS stack so far.
  std::size_t bytes_seen() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// One-shot form over a complete prefix.
InspectResult inspect_client_hello(std::span<const uint8_t> bytes, ClientHelloInfo* info = nullptr);

}  // namespace meshsim::tls
