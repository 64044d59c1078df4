// Vocabulary of the TLS layer: roles, versions, the facts a finished handshake
// reports (negotiated ALPN, version, cipher, SNI, peer identity, resumption),
// the structured reason a handshake failed for (with the alert on the wire),
// and per-connection byte/record counters. Plain data, no OpenSSL types, cheap
// to include anywhere.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace meshsim::tls {

enum class TlsRole : uint8_t { kClient, kServer };

enum class TlsVersion : uint8_t { kTls12, kTls13 };

// "TLSv1.2" / "TLSv1.3" (OpenSSL's and Envoy's spelling).
std::string_view to_string(TlsVersion v);

enum class HandshakeState : uint8_t {
  kInProgress,  // handshake messages still to exchange
  kEstablished, // application data may flow
  kFailed,      // fatal error; failure() says why, output may hold an alert
  kClosed,      // close_notify sent or received after establishment
};

std::string_view to_string(HandshakeState s);

// Why a handshake (or an established session) failed. The reason is ours; the
// alert codes are what crossed the wire.
enum class TlsFailureReason : uint8_t {
  kNone,
  kNoPeerCertificate,       // server required a client certificate, none came
  kUnknownCa,               // peer chain does not lead to a trusted root
  kCertificateExpired,      // peer certificate notAfter < verification time
  kCertificateNotYetValid,  // peer certificate notBefore > verification time
  kSanMismatch,             // peer certificate SANs match none of the expected
  kBadCertificate,          // other certificate verification error
  kProtocolVersion,         // no common TLS version
  kHandshakeFailure,        // no shared cipher/group/signature algorithm, …
  kPeerAlert,               // the peer sent a fatal alert (alert_received)
  kNotTls,                  // the first bytes cannot be TLS (plaintext, other protocol)
  kUnexpectedMessage,       // a valid record of the wrong type/order
  kDecodeError,             // malformed TLS message or record
  kDecryptError,            // record MAC / AEAD failure
  kUnexpectedEof,           // transport closed in the middle of the handshake/record
  kInternalError,
};

std::string_view to_string(TlsFailureReason r);

// IANA name of a TLS alert description ("bad_certificate", "unknown_ca", …);
// "alert_<n>" for unknown codes.
std::string_view alert_name(uint8_t alert);

struct TlsFailure {
  TlsFailureReason reason = TlsFailureReason::kNone;
  std::optional<uint8_t> alert_sent;      // fatal alert this side wrote
  std::optional<uint8_t> alert_received;  // fatal alert the peer wrote
  int verify_error = 0;                   // X509_V_ERR_* of our verification (0 = none)
  // Human-readable detail: OpenSSL's error string, or for SAN checks the
  // Envoy-style "verify cert failed: SAN matcher".
  std::string detail;
};

struct HandshakeInfo {
  TlsVersion version = TlsVersion::kTls13;
  std::string cipher;     // "TLS_AES_128_GCM_SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256"
  std::string alpn;       // negotiated protocol; empty when none was agreed
  std::string sni;        // client: what it sent; server: what it saw (empty: none)
  bool resumed = false;   // session resumed (ticket / PSK), no certificates exchanged
  // The peer's certificate (also after resumption: it is kept in the session).
  bool peer_certificate_presented = false;
  std::vector<std::string> peer_uri_sans;  // e.g. spiffe://cluster.local/ns/default/sa/bookinfo
  std::vector<std::string> peer_dns_sans;
  std::string peer_subject;                // RFC 2253, e.g. "O=cluster.local"
  // Lower-case hex SHA-256 of the peer certificate's DER (Envoy's XFCC "Hash=").
  std::string peer_certificate_sha256;
};

// Byte and record counters of one session. Overhead of the record layer =
// ciphertext_out - plaintext_out (handshake bytes are counted as ciphertext).
struct TlsStats {
  uint64_t plaintext_in = 0;     // application bytes returned by read()
  uint64_t plaintext_out = 0;    // application bytes accepted by write()
  uint64_t ciphertext_in = 0;    // bytes fed from the wire
  uint64_t ciphertext_out = 0;   // bytes produced for the wire
  uint64_t records_out = 0;      // TLS records produced (OpenSSL writes one per BIO write)
  uint64_t handshake_bytes_out = 0;  // ciphertext produced before establishment
  uint64_t handshake_bytes_in = 0;   // ciphertext consumed before establishment
};

}  // namespace meshsim::tls
