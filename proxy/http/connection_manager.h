// ConnectionManager is envoy.filters.network.http_connection_manager, the
// terminal network filter of HTTP filter chains: it decodes requests with the
// connection's codec, and for each one runs a stream through the HCM-level
// steps Envoy takes before the filters (HTTP/1.0 refusal, route resolution —
// RDS routes current per request, inline routes the connection's —, request
// header mutation: hop-by-hop removal, x-request-id, x-forwarded-proto,
// x-forwarded-client-cert), then the HTTP filter chain built from
// http_filters (http/filter.h), then encodes the response, logs the stream,
// and applies keep-alive, connection: close, drain and the idle timeout.
//
// The codec is chosen on the first bytes as Envoy's codec_type AUTO does
// (ConnectionManagerImpl::createCodec → ConnectionManagerUtility::
// determineNextProtocol): HTTP/2 when TLS negotiated ALPN "h2" or the bytes
// start with the prior-knowledge preface "PRI * HTTP/2", else HTTP/1.1.
// HTTP/1.1: one stream at a time; pipelined requests wait in the codec.
// HTTP/2: every complete request starts a stream at once; a RST_STREAM from
// the client ends its stream (DR); drain sends GOAWAY and closes when the
// last stream is answered.
// Stream objects and their filters are recycled across the requests of a
// connection, so a keep-alive request allocates nothing once warmed up.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "proxy/config.h"
#include "proxy/http/codec.h"
#include "proxy/network/filter.h"

namespace meshsim::proxy {
class CompiledRoutes;
}
namespace meshsim::proxy::engine {
struct EngineContext;
class Snapshot;
}  // namespace meshsim::proxy::engine

namespace meshsim::proxy::http {

class FilterChainFactory;

class ConnectionManager final : public network::ReadFilter {
 public:
  ConnectionManager(engine::EngineContext& ctx, network::Connection& connection, const HttpConnectionManager& config);
  ~ConnectionManager() override;

  network::FilterStatus on_new_connection() override;
  network::FilterStatus on_data(std::string_view data) override;
  void on_remote_close(CloseType how) override;
  void on_transport_failure(std::string_view reason) override;
  void on_drain(Duration drain_duration) override;
  void on_timer(uint32_t which) override;

 private:
  class ActiveStream;
  friend class ActiveStream;

  void process(ParseStatus st);
  void process_next();
  void choose_codec(std::string_view first);
  bool http2() const { return h2_ != nullptr; }
  // HTTP/2: the codec's own frames to the connection; client resets.
  void flush_codec();
  void handle_resets();
  void retire(ActiveStream& s);
  ActiveStream& new_stream();
  void start_stream(ActiveStream& s);
  void resolve_route(ActiveStream& s);
  void mutate_request_headers(ActiveStream& s);
  void trace_request(ActiveStream& s);
  void trace_response(ActiveStream& s);
  void finish_span(ActiveStream& s, int code, uint64_t body_sent);
  void local_reply(ActiveStream& s, int status, std::string_view body, std::string_view details,
                   const std::vector<std::pair<std::string, std::string>>* extra_headers = nullptr);
  void redirect(ActiveStream& s, const RedirectAction& rd);
  void send_upstream_response(ActiveStream& s, std::string_view details);
  void send_response(ActiveStream& s, std::string_view details);
  void log_stream(ActiveStream& s, int code, std::string_view details, uint64_t body_sent);
  void abandon(ActiveStream& s);
  void arm_idle(Duration after);
  void idle_check();
  const CompiledRoutes* routes_for_request(std::shared_ptr<const engine::Snapshot>& snap);

  engine::EngineContext& ctx_;
  network::Connection& conn_;
  const HttpConnectionManager& config_;
  const FilterChainFactory* chain_ = nullptr;
  Http1ServerCodec h1_;
  std::unique_ptr<ServerCodec> h2_;
  ServerCodec* codec_ = &h1_;
  bool codec_chosen_ = false;
  const CompiledRoutes* inline_routes_ = nullptr;  // nullptr = RDS
  // RDS: the compiled route config of `rds_snap_` (re-resolved after a push).
  const engine::Snapshot* rds_snap_ = nullptr;
  const CompiledRoutes* rds_routes_ = nullptr;
  // Streams in flight (HTTP/1: at most one), in the order they started.
  std::vector<std::unique_ptr<ActiveStream>> active_;
  // Completed streams: retired while they may still be on the call stack,
  // spare (reusable) from the next downstream read on.
  std::vector<std::unique_ptr<ActiveStream>> retired_, spare_;
  bool continue_sent_ = false;  // HTTP/1: the interim 100 of the request being parsed went out
  bool close_after_ = false;
  uint64_t requests_ = 0;  // requests decoded on this connection
  // HCM idle timeout (common_http_protocol_options.idle_timeout): no active
  // stream for that long closes the connection. Lazily re-armed.
  Duration idle_since_;
  bool idle_timer_armed_ = false;
};

}  // namespace meshsim::proxy::http
