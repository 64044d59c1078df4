// EngineContext is what every room of one sidecar engine shares: the Io seam,
// the TLS transport factory, the access log, the counters, timers, the
// connection table with its deferred deleter, the cluster manager and the
// current configuration snapshot — plus scratch buffers reused on the hot
// path so a keep-alive request allocates nothing once warmed up. It is owned
// by the Sidecar facade; rooms keep a reference. Single-threaded.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "proxy/access_log.h"
#include "proxy/engine/connection.h"
#include "proxy/engine/deferred_deletion.h"
#include "proxy/engine/snapshot.h"
#include "proxy/engine/stats.h"
#include "proxy/engine/timers.h"
#include "proxy/io.h"
#include "proxy/istio_metrics.h"
#include "proxy/peer_metadata.h"
#include "proxy/transport.h"

namespace meshsim::proxy::upstream {
class ClusterManager;
class UpstreamEventSink;
}
namespace meshsim::proxy::tracing {
class SpanSink;
}

namespace meshsim::proxy::engine {

struct EngineContext {
  EngineContext(Io& io_in, TransportFactory* transport_in, AccessLogSink* access_log_in, std::string node_id_in)
      : io(io_in),
        transport(transport_in),
        access_log(access_log_in),
        node_id(std::move(node_id_in)),
        timers(io_in),
        conns(deleter) {}

  Io& io;
  TransportFactory* transport;
  AccessLogSink* access_log;
  tracing::SpanSink* spans = nullptr;  // finished spans (optional)
  upstream::UpstreamEventSink* upstream_events = nullptr;  // outlier ejections, priority loads (optional)
  std::string node_id;  // this proxy's identity for Istio's metadata exchange
  SidecarStats stats;
  TimerManager timers;
  DeferredDeleter deleter;
  ConnectionTable conns;
  upstream::ClusterManager* clusters = nullptr;
  std::shared_ptr<const Snapshot> current;  // the latest pushed configuration
  // Istio telemetry: this proxy's standard-metrics registry (created at the
  // first configuration, with its bootstrap histogram buckets; it lives as
  // long as the Envoy process), and what metadata exchange announces about
  // the local workload — precomputed per push (docs/istio/telemetry.md §6, §7).
  std::unique_ptr<IstioMetrics> metrics;
  WorkloadMetadata local_workload;
  std::string peer_metadata_header;    // x-envoy-peer-metadata value
  std::string peer_exchange_preamble;  // the istio-peer-exchange preamble
  // Peers' x-envoy-peer-metadata headers decoded before (a memo; filters
  // reach it through their const view of the context).
  mutable PeerMetadataCache peer_metadata_cache;

  // Whether the sink shows entries to anyone (else only the fields of the
  // run fingerprint's digest matter, and the TLS facts are not copied).
  bool detailed_log() const { return access_log && access_log->wants_details(); }
  void log(const AccessLogEntry& e) {
    if (access_log) access_log->on_access_log(e);
  }
  // Sends and clears `out`.
  void flush(ConnId id) {
    if (!out.empty()) {
      io.send(id, as_bytes(out));
      out.clear();
    }
  }
  // Plaintext out through a connection's transport (raw bytes pass as they are).
  void write_through(TransportSocket& t, ConnId id, std::string_view plaintext) {
    if (!t.is_tls()) {
      if (!plaintext.empty()) io.send(id, as_bytes(plaintext));
      return;
    }
    out.clear();
    t.write(plaintext, out);
    flush(id);
  }
  // The transport's orderly shutdown (close_notify for TLS) on the wire.
  void shutdown_through(TransportSocket& t, ConnId id) {
    out.clear();
    t.shutdown(out);
    flush(id);
  }
  // shutdown_through, then FIN.
  void half_close_through(TransportSocket& t, ConnId id) {
    shutdown_through(t, id);
    io.shutdown_write(id);
  }

  // Scratch buffers (each valid only within one call chain that owns it).
  AccessLogEntry entry;  // the reusable access-log entry
  std::string out;       // bytes to the network
  std::string plain;     // plaintext from a downstream transport
  std::string plain_up;  // plaintext from an upstream transport
  std::string wire;      // serialized HTTP messages
  std::string h2_out;    // frames an upstream HTTP/2 codec sends on its own (ACKs, WINDOW_UPDATE, RST_STREAM)
  std::string scratch;   // XFCC and other header values
  std::vector<std::pair<std::string, std::string>> span_tags;  // a finishing span's tags
};

// Back to a default SecurityInfo, keeping string/vector capacity.
void clear_security(SecurityInfo& s);

}  // namespace meshsim::proxy::engine
