// UpstreamConnection is one connection the proxy opened to an upstream host:
// its transport socket (raw_buffer or TLS per the cluster's transport socket
// match), the HTTP/1 client codec when it serves HTTP, and its place in the
// cluster manager's connection pool. Whoever uses it now — a tcp_proxy
// session or a router's upstream request — is its ConnectionOwner and gets
// the connection's events; an idle pooled connection has no owner.
// A connection of a cluster with http2_protocol_options (Envoy's HTTP/2 pool)
// has no single owner: it multiplexes streams, each bound to the router that
// opened it; routers attached before the connection is ready wait on it.
//
// Closing goes through the cluster manager (which unlinks it from the pool);
// the object is destroyed after the current engine entry point returns.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "proxy/engine/connection.h"
#include "proxy/http/codec.h"
#include "proxy/http/http2_codec.h"
#include "proxy/peer_metadata.h"
#include "proxy/transport.h"

namespace meshsim::proxy::engine {
class Snapshot;
struct EngineContext;
}  // namespace meshsim::proxy::engine

namespace meshsim::proxy::upstream {

class UpstreamConnection;

class ConnectionOwner {
 public:
  virtual ~ConnectionOwner() = default;
  // Connected and, for TLS, handshake complete: bytes may flow.
  virtual void on_upstream_ready(UpstreamConnection& c) = 0;
  virtual void on_upstream_data(UpstreamConnection& c, std::string_view data) = 0;
  // The upstream sent FIN or RST (no connect or TLS failure).
  virtual void on_upstream_closed(UpstreamConnection& c, CloseType how) = 0;
  // Connect failure, connect timeout or TLS failure; `reason` is Envoy's
  // reset reason text, `transport` its transport failure reason.
  virtual void on_upstream_failed(UpstreamConnection& c, bool connect_failure, const std::string& reason,
                                  const std::string& transport) = 0;
  // A request queued for a connection (max_connections reached) may now
  // open one: a connection of its pool closed.
  virtual void on_pool_capacity() {}
  // HTTP/2: the response of the owner's stream is complete (take it with
  // c.h2()->take_response(stream, …)); or the stream was reset by the peer
  // (RST_STREAM, or refused by a GOAWAY). The stream is unbound first.
  virtual void on_stream_response(UpstreamConnection& /*c*/, uint32_t /*stream*/) {}
  virtual void on_stream_reset(UpstreamConnection& /*c*/, uint32_t /*stream*/, uint32_t /*h2_error_code*/) {}
};

// Envoy keeps one HTTP connection pool per (cluster, host, protocol): here
// the cluster object, the endpoint and the ALPN variant the connection was
// opened with.
struct PoolKey {
  const Cluster* cluster = nullptr;
  uint64_t addr = 0;
  bool http10 = false;
  bool operator==(const PoolKey&) const = default;
};
struct PoolKeyHash {
  size_t operator()(const PoolKey& k) const {
    uint64_t h = reinterpret_cast<uintptr_t>(k.cluster) * 0x9e3779b97f4a7c15ULL;
    h ^= (k.addr + 0x632be59bd9b4e019ULL + (h << 6) + (h >> 2)) ^ (k.http10 ? 0x85ebca6bULL : 0);
    return static_cast<size_t>(h);
  }
};

class UpstreamConnection final : public engine::Connection {
 public:
  UpstreamConnection(engine::EngineContext& ctx, std::shared_ptr<const engine::Snapshot> snap,
                     const Cluster& cluster, const SocketAddress& address, std::unique_ptr<TransportSocket> transport,
                     const PoolKey& key);
  ~UpstreamConnection() override;

  const Cluster& cluster() const { return *cluster_; }
  const SocketAddress& address() const { return address_; }
  const PoolKey& pool_key() const { return pool_key_; }
  const SecurityInfo& security() const { return transport_->security(); }
  bool established() const { return established_; }
  // Requests this connection carried (max_requests_per_connection).
  uint32_t requests_served() const { return requests_served_; }
  void count_request() { ++requests_served_; }
  http::Http1ClientCodec& codec() { return codec_; }
  // ---- HTTP/2 (clusters with http2_protocol_options) ----
  bool http2() const { return h2_ != nullptr; }
  http::Http2ClientCodec* h2() { return h2_.get(); }
  // Makes this an HTTP/2 connection (before it is connected).
  void enable_http2();
  // `o` wants a stream: on_upstream_ready(o) now when the connection is
  // established, else when it is.
  void attach_stream(ConnectionOwner& o);
  // The owner's stream `id` (submitted on h2()) delivers to `o`.
  void bind_stream(uint32_t id, ConnectionOwner& o);
  // The owner gives up its stream (RST_STREAM CANCEL) or its wait.
  void abandon_stream(ConnectionOwner& o);
  // Streams bound plus owners waiting.
  size_t streams() const { return streams_.size() + waiting_.size(); }
  // No new stream may start here (GOAWAY from the peer, or its cluster changed).
  bool draining() const;
  void set_draining() { draining_ = true; }
  // The cluster network filter istio.metadata_exchange (Cluster::
  // metadata_exchange, docs/istio/telemetry.md §7.2): on the first write or
  // read after the connection is established, ALPN istio-peer-exchange ⇒ this
  // proxy's preamble goes first and the server's preamble is drained from the
  // first upstream bytes; any other ALPN ⇒ peer_not_found, bytes untouched.
  const PeerInfo& peer() const { return peer_; }

  ConnectionOwner* owner() const { return owner_; }
  void set_owner(ConnectionOwner* o) { owner_ = o; }

  // Plaintext to the upstream (through TLS when the transport is TLS).
  void send(std::string_view plaintext);
  // close_notify (TLS) then FIN.
  void half_close();

  // ---- the world's events ----
  void on_data(std::string_view bytes) override;
  void on_peer_closed(CloseType how) override;
  void on_connected();
  void on_connect_failed(ConnectFailure why);

 private:
  friend class ClusterManager;
  void fail(bool connect_failure, const std::string& reason, const std::string& transport);
  void start_exchange();
  // Upstream application bytes through the exchange; false: wait for more.
  bool exchange_read(std::string_view& data);
  void deliver(std::string_view bytes);
  void deliver_h2(std::string_view bytes);
  void ready_h2();
  // HTTP/2: every stream and waiter learns the connection ended.
  void fail_streams(bool connect_failure, const std::string& reason, const std::string& transport);
  void stream_done();

  engine::EngineContext& ctx_;
  std::shared_ptr<const engine::Snapshot> snap_;  // keeps cluster_ alive
  const Cluster* cluster_;
  SocketAddress address_;
  std::unique_ptr<TransportSocket> transport_;
  PoolKey pool_key_;
  http::Http1ClientCodec codec_;
  std::unique_ptr<http::Http2ClientCodec> h2_;
  std::vector<std::pair<uint32_t, ConnectionOwner*>> streams_;  // HTTP/2 streams in flight, by id
  std::vector<ConnectionOwner*> waiting_;                       // HTTP/2 owners waiting for the connection
  bool draining_ = false;
  http::Response discard_;  // a response whose stream's owner went away
  ConnectionOwner* owner_ = nullptr;
  bool connected_ = false;
  bool established_ = false;
  // HTTP/1 pool state: idle since when, and the lazily re-armed idle timer.
  bool idle_ = false;
  Duration idle_since_;
  bool idle_timer_armed_ = false;
  uint32_t requests_served_ = 0;
  enum class Exchange : uint8_t { kOff, kPending, kReading, kDone };
  Exchange mx_ = Exchange::kOff;
  PeerInfo peer_;
  std::string mx_buf_;
};

}  // namespace meshsim::proxy::upstream
