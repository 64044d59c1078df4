// PRIVATE to proxy/tls/*.cc: TlsContext::Impl (the SSL_CTX, the client
// session cache and the server ticket keys), shared by tls_context.cc and
// tls_session.cc.
#pragma once

#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "proxy/tls/openssl_internal.h"
#include "proxy/tls/tls_context.h"

namespace meshsim::tls {

struct TicketKey {
  unsigned char name[16];
  unsigned char hmac_key[16];
  unsigned char aes_key[16];
  Duration next_rotation;
};

struct TlsContext::Impl {
  TlsContextConfig config;
  SSL_CTX* ctx = nullptr;
  std::vector<uint8_t> alpn_wire;  // length-prefixed ALPN list of the config

  // Client session cache: key -> sessions, most recent first (owned refs).
  std::map<std::string, std::deque<SSL_SESSION*>, std::less<>> sessions;

  // Server ticket keys (BoringSSL's rotation scheme).
  std::optional<TicketKey> ticket_current;
  std::optional<TicketKey> ticket_previous;
  std::size_t ticket_keys_created = 0;

  ~Impl();
  void rotate_ticket_keys(Duration now);
  // Takes the most recent cached session for key (popping it when it is
  // single-use); nullptr when none. The caller owns the returned reference.
  SSL_SESSION* take_session(std::string_view key);
  void store_session(const std::string& key, SSL_SESSION* session);
};

// ALPN protocols in wire format (1-byte length prefixes); empty names and
// names over 255 bytes are rejected.
Result<std::vector<uint8_t>> alpn_wire_format(const std::vector<std::string>& protocols);

}  // namespace meshsim::tls
