// The HTTP filter interface, in Envoy's shape (envoy/http/filter.h). An HTTP
// connection manager runs, for every stream, the chain of filters its config
// lists (http_filters, in the order istiod wrote them): decode_* in order on
// the request, encode_* in reverse order on the response. A filter is a
// per-stream object made by a FilterFactory, which holds the filter's shared
// immutable config and is built once per configuration snapshot.
//
// A filter returns Continue (the next filter runs) or StopIteration (the
// chain waits until the filter calls continue_decoding(), e.g. after an
// injected delay), or ends the stream with send_local_reply(). It reaches the
// stream only through its callbacks: the request and response, the route the
// connection manager resolved, StreamInfo, the downstream connection, timers,
// the pod's random stream and the engine's shared services (the router uses
// the cluster manager). Messages are fully buffered: decode_headers is called
// with end_stream = (no body), then decode_data once with the whole body.
//
// Stream objects and their filters are recycled across the requests of one
// connection (reset()); a filter must disarm its timers in on_stream_end(),
// which is called when its stream completes or is abandoned.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/config.h"
#include "proxy/http/message.h"
#include "proxy/http/stream_info.h"

namespace meshsim::proxy {
class CompiledRoutes;
}
namespace meshsim::proxy::engine {
struct EngineContext;
class Snapshot;
}  // namespace meshsim::proxy::engine
namespace meshsim::proxy::network {
class Connection;
}

namespace meshsim::proxy::http {

enum class FilterHeadersStatus : uint8_t { kContinue, kStopIteration };
enum class FilterDataStatus : uint8_t { kContinue, kStopIteration };

class StreamDecoderFilterCallbacks {
 public:
  virtual ~StreamDecoderFilterCallbacks() = default;
  virtual network::Connection& connection() = 0;
  virtual const HttpConnectionManager& manager_config() const = 0;
  virtual StreamInfo& stream_info() = 0;
  // The route the connection manager resolved for this stream (nullptr:
  // none matched) and its action (nullptr for a direct response).
  virtual const Route* route() const = 0;
  virtual const RouteAction* route_entry() const = 0;
  virtual const VirtualHost* virtual_host() const = 0;
  // The weighted-cluster entry chosen for this stream (nullptr: a single cluster).
  virtual const WeightedCluster* weighted_cluster() const = 0;
  // The configuration the stream was routed with (its clusters; RDS routes
  // are current per request, inline routes the connection's).
  virtual const engine::Snapshot& route_snapshot() const = 0;
  // The compiled route configuration the route came from (its regexes).
  virtual const CompiledRoutes* route_table() const = 0;
  virtual const std::shared_ptr<const engine::Snapshot>& route_snapshot_ptr() const = 0;
  virtual Request& request() = 0;
  virtual Response& response() = 0;
  // Resumes the decoder chain after this filter returned StopIteration.
  virtual void continue_decoding() = 0;
  // Ends the stream with a locally generated response (Envoy's
  // sendLocalReply); `flags` are response flags to add.
  virtual void send_local_reply(int code, std::string_view body, std::string_view details, uint32_t flags) = 0;
  // The same with headers added to the reply (Envoy's modify_headers), e.g.
  // jwt_authn's www-authenticate.
  virtual void send_local_reply_with_headers(int code, std::string_view body, std::string_view details, uint32_t flags,
                                             const std::vector<std::pair<std::string, std::string>>& headers) = 0;
  // The response in response() is complete (the router got it from the
  // upstream): run the encoder filters and send it downstream. The stream
  // ends; the caller must not touch stream state afterwards.
  virtual void encode_response(std::string_view details) = 0;
  virtual engine::EngineContext& engine() = 0;
  // Whether this stream's request keeps the downstream connection open.
  virtual bool keep_alive() const = 0;
};

class StreamFilter {
 public:
  virtual ~StreamFilter() = default;
  virtual void set_decoder_callbacks(StreamDecoderFilterCallbacks& cb) { callbacks_ = &cb; }
  // A new request on a recycled stream object: forget the previous one.
  virtual void reset() {}
  virtual FilterHeadersStatus decode_headers(Request& req, bool end_stream) = 0;
  virtual FilterDataStatus decode_data(std::string&, bool /*end_stream*/) { return FilterDataStatus::kContinue; }
  virtual FilterHeadersStatus encode_headers(Response&, bool /*end_stream*/) { return FilterHeadersStatus::kContinue; }
  // The stream completed or was abandoned: disarm timers, release upstreams.
  virtual void on_stream_end() {}
  // The stream is logged (Envoy's access-log callback of a filter, after the
  // response went out or the stream was reset): StreamInfo is final.
  virtual void on_log() {}

 protected:
  StreamDecoderFilterCallbacks* callbacks_ = nullptr;
};

// One filter of one HTTP connection manager config: the shared config and the
// per-stream object's constructor.
class FilterFactory {
 public:
  virtual ~FilterFactory() = default;
  virtual std::unique_ptr<StreamFilter> create() const = 0;
  // Whether the filter's encode_headers / reset / on_stream_end do anything
  // (the connection manager skips the calls otherwise).
  virtual bool encodes() const { return true; }
  virtual bool has_stream_state() const { return true; }
  // Whether on_log does anything.
  virtual bool logs() const { return false; }
};

// The filter chain of one HTTP connection manager, built by the registry
// (http/filter_registry.h) from http_filters.
class FilterChainFactory {
 public:
  struct Entry {
    std::string name;
    std::unique_ptr<FilterFactory> factory;
  };
  std::vector<Entry> filters;
  // http_filters whose effect the engine does not simulate (no filter object
  // runs for them); outputs name them.
  std::vector<std::string> not_modelled;
  // True when the chain ends in envoy.filters.http.router.
  bool has_router = false;
};

}  // namespace meshsim::proxy::http
