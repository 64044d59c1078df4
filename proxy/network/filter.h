// The network filter interface, in Envoy's shape (envoy/network/filter.h): a
// filter chain of a listener is a list of network filters, the last one
// terminal (tcp_proxy, http_connection_manager). Each is a per-connection
// object built from the chain's immutable config; it sees the downstream
// connection only through network::Connection, and returns Continue or
// StopIteration on the data path — never throws.
//
// Events: on_new_connection() once the filter chain is selected (before any
// byte), on_data() for every plaintext chunk the transport produced,
// on_remote_close() when the client sends FIN (end of stream: Envoy's
// half-close) or RST, on_transport_failure() when the downstream TLS
// handshake failed, on_drain() when a push removed or changed the chain.
// Write filters see every chunk written to the client (on_write); returning
// StopIteration swallows it.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "proxy/access_log.h"
#include "proxy/config.h"
#include "proxy/engine/stats.h"
#include "proxy/io.h"
#include "proxy/peer_metadata.h"
#include "proxy/transport.h"

namespace meshsim::proxy::engine {
class Snapshot;
}

namespace meshsim::proxy::network {

enum class FilterStatus : uint8_t { kContinue, kStopIteration };

class ReadFilter;
class WriteFilter;

// Connection-level filter state the Istio filters share (Envoy's connection
// FilterState and the upstream info tcp_proxy records): what metadata
// exchange learnt about the downstream peer (listener filter) and the
// upstream peer (the upstream connection's cluster filter), and which
// upstream tcp_proxy chose. Read by the TCP istio.stats filter.
struct ConnectionFilterState {
  PeerInfo downstream_peer;
  PeerInfo upstream_peer;
  const Cluster* upstream_cluster = nullptr;  // views into the connection's snapshot
  std::string_view upstream_cluster_name;
  const LbEndpoint* upstream_endpoint = nullptr;
  SecurityInfo upstream_tls;    // once the upstream is established
  uint32_t response_flags = 0;  // tcp_proxy's, when the session ends
};

// The downstream connection as its network filters see it.
class Connection {
 public:
  virtual ~Connection() = default;
  virtual ConnId id() const = 0;
  virtual bool closed() const = 0;
  virtual const DownstreamInfo& info() const = 0;
  // The downstream transport's facts (TLS version, ALPN, peer identity…).
  virtual const SecurityInfo& security() const = 0;
  virtual const std::shared_ptr<const engine::Snapshot>& snapshot() const = 0;
  virtual const Listener& listener() const = 0;
  virtual const FilterChain& filter_chain() const = 0;
  // Whether the client half-closed (sent FIN).
  virtual bool peer_half_closed() const = 0;
  virtual void set_peer_half_closed() = 0;

  // Plaintext to the client, through the write filters and the transport.
  virtual void write(std::string_view plaintext) = 0;
  // Orderly half-close of the sending direction (close_notify, then FIN).
  virtual void half_close() = 0;
  // Closes the connection; the connection object is destroyed after the
  // current engine entry point returns (deferred deletion).
  virtual void close(CloseType how) = 0;
  // The reusable access-log entry, reset and filled with this connection's
  // facts (listener, chain, addresses, TLS). Valid until the next call.
  virtual AccessLogEntry& access_log_entry() = 0;
  // A one-shot timer for the connection's terminal filter: after `after`,
  // its on_timer(which) runs if the connection is still open. Not
  // cancellable (the filter re-checks its state), so it never outlives the
  // connection's filters.
  virtual void arm_timer(Duration after, uint32_t which) = 0;
  // A filter before the terminal one ends the connection (the network RBAC
  // filter's denial): the terminal filter ends its session — logs with
  // these termination details, closes its upstream — and the connection
  // closes. Envoy raises the connection's LocalClose event to every filter.
  virtual void close_by_filter(CloseType how, std::string_view details) = 0;
  // Connection-level filter state: what the network RBAC filters decided,
  // copied into every access-log entry of the connection.
  virtual std::vector<RbacVerdict>& rbac_verdicts() = 0;
  virtual ConnectionFilterState& filter_state() = 0;
  // Envoy's injectReadDataToFilterChain: `data` goes to the read filters
  // after `from` (a filter that buffered or drained its input resumes the
  // chain with what is left).
  virtual void continue_reading(const ReadFilter& from, std::string_view data) = 0;
  // Envoy's injectWriteDataToFilterChain: `data` goes to the write filters
  // after `from`, then to the transport (metadata exchange's preamble).
  virtual void inject_write(const WriteFilter& from, std::string_view data) = 0;
  // A one-shot timer for any read filter of the connection (arm_timer is the
  // terminal filter's): `filter.on_timer(which)` while the connection is open.
  virtual void arm_filter_timer(Duration after, const ReadFilter& filter, uint32_t which) = 0;
};

class ReadFilter {
 public:
  virtual ~ReadFilter() = default;
  virtual FilterStatus on_new_connection() = 0;
  virtual FilterStatus on_data(std::string_view data) = 0;
  virtual void on_remote_close(CloseType how) = 0;
  virtual void on_transport_failure(std::string_view reason) = 0;
  virtual void on_drain(Duration drain_duration) = 0;
  // A timer armed with Connection::arm_timer() fired while the connection
  // is still open (never after it closed).
  virtual void on_timer(uint32_t /*which*/) {}
  // A non-terminal filter closed the connection (Connection::close_by_filter):
  // the terminal filter finishes its session and returns true; false lets
  // the connection log and close by itself.
  virtual bool on_local_close(CloseType /*how*/, std::string_view /*details*/) { return false; }
  // The connection is closing (any reason, any side), once, after the
  // terminal filter finished: every read filter sees it (Envoy raises the
  // close event to all filters).
  virtual void on_connection_closed() {}
};

class WriteFilter {
 public:
  virtual ~WriteFilter() = default;
  virtual FilterStatus on_write(std::string_view data) = 0;
};

}  // namespace meshsim::proxy::network
