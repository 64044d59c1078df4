// HTTP/2 codecs on nghttp2 (Envoy's own HTTP/2 library), behind the codec
// interface of proxy/http/codec.h: Http2ServerCodec for the connection
// manager (downstream h2c and h2 over TLS), Http2ClientCodec for upstream
// connections of clusters with http2_protocol_options. nghttp2 writes every
// frame (preface, SETTINGS and their ACKs, PING ACKs, WINDOW_UPDATE,
// HEADERS/CONTINUATION with HPACK, DATA split to the peer's flow-control
// window and max frame size, RST_STREAM, GOAWAY); these classes only map
// frames to the engine's Request/Response (pseudo-headers ⇄ method, target,
// host, status; trailers) and hand the bytes nghttp2 wants to send to the
// caller, who writes them to the connection.
//
// Sans-I/O and deterministic: bytes in, bytes out, no clock, no randomness.
// Never throws: a connection-level protocol error is kError with nghttp2's
// reason (nghttp2 has queued a GOAWAY; drain_output() yields it). nghttp2's
// types stay in http2_codec.cc.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "proxy/http/codec.h"

namespace meshsim::proxy::http {

// The SETTINGS both sides send: Envoy's defaults for Http2ProtocolOptions
// (api/envoy/config/core/v3/protocol.proto: max_concurrent_streams 2^31-1,
// initial_stream_window_size 256 MiB, initial_connection_window_size 256 MiB,
// hpack_table_size 4096), which Istio leaves as they are.
struct Http2Settings {
  uint32_t max_concurrent_streams = 2147483647u;
  uint32_t initial_stream_window_size = 268435456u;
  uint32_t initial_connection_window_size = 268435456u;
  uint32_t hpack_table_size = 4096u;
};

// RST_STREAM / GOAWAY error codes (RFC 9113 §7) the engine uses by name.
inline constexpr uint32_t kH2NoError = 0x0;
inline constexpr uint32_t kH2ProtocolError = 0x1;
inline constexpr uint32_t kH2InternalError = 0x2;
inline constexpr uint32_t kH2RefusedStream = 0x7;
inline constexpr uint32_t kH2Cancel = 0x8;
const char* h2_error_name(uint32_t code);

// The HTTP/2 client connection preface (RFC 9113 §3.4); Envoy's codec_type
// AUTO chooses HTTP/2 for a plaintext connection that starts with its first
// 12 bytes "PRI * HTTP/2" (Http::CodecClient / ConnectionManagerUtility::
// determineNextProtocol).
inline constexpr std::string_view kH2ClientPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
inline constexpr std::string_view kH2PrefacePrefix = "PRI * HTTP/2";

class Http2Session;  // nghttp2_session and the per-stream state (http2_codec.cc)

// Server side: feed the client's bytes, take complete requests (version 20,
// :authority as the host header) in the order their END_STREAM arrived,
// answer each stream with encode(). Requests and responses are buffered
// whole, like the HTTP/1 codec's.
class Http2ServerCodec final : public ServerCodec {
 public:
  explicit Http2ServerCodec(const Http2Settings& settings = {});
  ~Http2ServerCodec() override;

  void feed(std::string_view bytes) override;
  ParseStatus feed_next(std::string_view bytes) override;
  ParseStatus next() override;
  StreamId take_into(Request& out) override;
  const std::string& error() const override;
  // HEADERS (+ DATA, + trailers as a last HEADERS) for `stream`, then every
  // frame nghttp2 has queued, appended to `out`. A stream the peer reset is
  // skipped.
  void encode(StreamId stream, const Response& r, std::string& out) override;
  bool multiplexed() const override { return true; }
  uint64_t request_wire_bytes() const override { return last_wire_bytes_; }
  void drain_output(std::string& out) override;
  bool take_reset(StreamId& stream, uint32_t& error_code) override;
  void reset_stream(StreamId stream, uint32_t error_code, std::string& out) override;
  void shutdown(std::string& out) override;
  bool wants_close() const override;

 private:
  std::unique_ptr<Http2Session> s_;
  uint64_t last_wire_bytes_ = 0;
};

// Client side: one connection, many streams. submit() queues a request and
// returns its stream id; feed() the server's bytes, then take events until
// none is left. Responses carry status, headers, body and trailers; 1xx
// headers are skipped.
class Http2ClientCodec {
 public:
  explicit Http2ClientCodec(const Http2Settings& settings = {});
  ~Http2ClientCodec();
  Http2ClientCodec(const Http2ClientCodec&) = delete;
  Http2ClientCodec& operator=(const Http2ClientCodec&) = delete;

  // Queues `r` (scheme "https" over TLS, else "http"); appends the frames
  // (the connection preface and SETTINGS first) to `out`. 0 when the
  // session refuses a new stream (GOAWAY received, stream ids exhausted).
  StreamId submit(const Request& r, bool tls, std::string& out);
  // The server's bytes; false on a connection-level error (error() says why;
  // drain_output() yields the GOAWAY nghttp2 queued).
  bool feed(std::string_view bytes);
  void drain_output(std::string& out);
  // RST_STREAM(error_code) for a stream this side gives up (a timeout).
  void reset_stream(StreamId stream, uint32_t error_code, std::string& out);
  void shutdown(std::string& out);

  struct Event {
    enum class Kind : uint8_t { kResponse, kReset } kind = Kind::kResponse;
    StreamId stream = 0;
    uint32_t error_code = 0;  // kReset: the RST_STREAM code (or the GOAWAY's for refused streams)
    bool remote = true;       // kReset: the peer reset it (false: this side, e.g. a protocol error)
  };
  // The next complete response or reset; for kResponse, take_response()
  // moves the message out.
  bool next_event(Event& e);
  void take_response(StreamId stream, Response& out);

  size_t active_streams() const;
  // The peer sent GOAWAY: no new stream may start on this connection.
  bool goaway_received() const;
  // Streams above this id were not processed by the peer (GOAWAY).
  StreamId goaway_last_stream() const;
  uint32_t peer_max_concurrent_streams() const;
  bool wants_close() const;
  const std::string& error() const;

 private:
  std::unique_ptr<Http2Session> s_;
};

}  // namespace meshsim::proxy::http
