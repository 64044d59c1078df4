// DecodeMemo makes OpenSSL 3.0's DER decoding on the TLS path cheap when the
// same bytes come back, which in a simulation they nearly always do: every
// full handshake between two workloads carries the same certificates, and every
// resumption decrypts a ticket the same process sealed a moment ago.
//
// Why: in OpenSSL 3.0 (Debian 12) d2i_X509 costs ~270 µs, almost all of it in
// OSSL_DECODER_CTX_new_for_pkey for the SubjectPublicKeyInfo; a full mTLS
// handshake parses four certificates and a resumed one decodes the peer
// certificate inside the ticket. That is about half of the CPU of a handshake.
//
// How: libssl calls d2i_X509, i2d_SSL_SESSION and d2i_SSL_SESSION through its
// PLT, so the executable can interpose them (like time(), see environment.h;
// exported with --export-dynamic-symbol). Only calls whose return address lies
// in libssl are memoized; everything else goes straight to libcrypto/libssl.
//  * d2i_X509: exact DER bytes -> the X509 parsed the first time (shared,
//    reference-counted; libssl never mutates peer certificates).
//  * i2d_SSL_SESSION (server sealing a ticket): remembers DER -> a copy of the
//    session; d2i_SSL_SESSION of exactly those bytes (the ticket decrypted
//    later) returns a fresh copy instead of parsing. TLS 1.3 entries are
//    dropped on use (tickets are single-use).
// Both caches are bounded (oldest entries evicted). The memo changes no byte
// on the wire and no decision: the objects are what decoding would produce
// (plus the peer chain, which a ticket does not carry). Disabling it is for
// measuring the bare-OpenSSL floor.
#pragma once

#include <cstddef>

namespace meshsim::tls {

struct DecodeMemoStats {
  std::size_t certificate_hits = 0;
  std::size_t certificate_misses = 0;
  std::size_t session_hits = 0;
  std::size_t session_misses = 0;
};

// Process-wide switch (default on).
void set_decode_memo_enabled(bool enabled);
bool decode_memo_enabled();
DecodeMemoStats decode_memo_stats();
// Drops every memoized object (tests).
void clear_decode_memo();

}  // namespace meshsim::tls
