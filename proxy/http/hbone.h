// HBONE on nghttp2: the HTTP/2 CONNECT tunnels ztunnel runs inside an mTLS
// connection to port 15008 (ISTIO_BEHAVIOR.md §11; ztunnel
// src/proxy/outbound.rs create_hbone_request, src/proxy/inbound.rs,
// src/proxy/h2/{client,server}.rs). One HboneConnection is one HTTP/2
// connection (client or server side) carrying any number of tunnel streams:
// the client opens a stream with a CONNECT request (:method CONNECT,
// :authority = the destination pod's IP:port, no :scheme/:path, HEADERS
// without END_STREAM); the server answers 200 (stream stays open) or an error
// status (END_STREAM); then both sides stream DATA frames until each sends
// END_STREAM (half-close) or RST_STREAM.
//
// The SETTINGS are ztunnel's (src/config.rs: HTTP2_STREAM_WINDOW_SIZE 4 MiB,
// HTTP2_CONNECTION_WINDOW_SIZE 16 MiB, HTTP2_FRAME_SIZE 1 MiB; h2/client.rs
// max_header_list_size 16 KiB), not Envoy's (proxy/http/http2_codec.h).
//
// Sans-I/O and deterministic: bytes in, bytes out, events to take. Never
// throws; a connection-level error makes feed() return false (nghttp2 queued
// a GOAWAY, drain_output() yields it). nghttp2 stays in hbone.cc.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace meshsim::proxy::http {

struct HboneSettings {
  uint32_t initial_stream_window_size = 4u * 1024 * 1024;
  uint32_t initial_connection_window_size = 16u * 1024 * 1024;
  uint32_t max_frame_size = 1024u * 1024;
  uint32_t max_header_list_size = 16u * 1024;
  uint32_t max_concurrent_streams = 100;  // ztunnel POOL_MAX_STREAMS_PER_CONNECTION
};

class HboneSession;  // nghttp2_session + stream table (hbone.cc)

class HboneConnection {
 public:
  enum class Role : uint8_t { kClient, kServer };
  explicit HboneConnection(Role role, const HboneSettings& settings = {});
  ~HboneConnection();
  HboneConnection(const HboneConnection&) = delete;
  HboneConnection& operator=(const HboneConnection&) = delete;

  // Client: a CONNECT stream to `authority` ("10.244.1.5:8080") with extra
  // header fields (lower-case names). The preface and SETTINGS come first on
  // a new connection. 0 when the session refuses a new stream.
  uint32_t open(std::string_view authority, const std::vector<std::pair<std::string, std::string>>& headers,
                std::string& out);
  // Server: answers a CONNECT. 200 keeps the stream open for DATA; any other
  // status ends it.
  void respond(uint32_t stream, int status, std::string& out);
  // Tunnel bytes as DATA frames (flow control permitting; the rest follows
  // as the peer's WINDOW_UPDATEs arrive).
  void write(uint32_t stream, std::string_view bytes, std::string& out);
  // END_STREAM after the queued bytes (the TCP half-close through the tunnel).
  void close_stream(uint32_t stream, std::string& out);
  void reset_stream(uint32_t stream, uint32_t error_code, std::string& out);
  // GOAWAY(NO_ERROR).
  void shutdown(std::string& out);

  // The peer's bytes; false on a connection-level protocol error (error()).
  bool feed(std::string_view bytes);
  void drain_output(std::string& out);

  struct Event {
    enum class Kind : uint8_t {
      kConnect,   // server: a CONNECT arrived (authority, headers)
      kResponse,  // client: the response status (200 = tunnel up)
      kData,      // tunnel bytes
      kEnd,       // the peer's END_STREAM
      kReset,     // the stream is gone (RST_STREAM, or the session ended)
    } kind = Kind::kData;
    uint32_t stream = 0;
    int status = 0;
    uint32_t error_code = 0;
    std::string authority;
    std::string method;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string data;
  };
  bool next_event(Event& e);

  size_t active_streams() const;
  // The stream is not closed yet (either direction may still send). A
  // client whose CONNECT was answered with an error keeps its own side open
  // until it resets the stream, as hyper's dropped stream does (CANCEL).
  bool stream_open(uint32_t stream) const;
  bool goaway_received() const;
  const std::string& error() const;

 private:
  std::unique_ptr<HboneSession> s_;
};

}  // namespace meshsim::proxy::http
