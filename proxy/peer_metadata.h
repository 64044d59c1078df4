// Peer metadata is what Istio's metadata exchange tells one proxy about the
// workload at the other end of a connection or request: the workload's name,
// namespace, cluster, identity, owner and the four labels telemetry uses
// (istio/proxy extensions/common/metadata_object.h WorkloadMetadataObject).
// Both exchange mechanisms carry it as a google.protobuf.Struct:
//
//   HTTP  x-envoy-peer-metadata-id: <node id>
//         x-envoy-peer-metadata:    base64(Struct(workload))          (§7.1)
//   TCP   the istio-peer-exchange preamble after the mTLS handshake:
//         be32 0x3D230467, be32 N, N bytes of Any{type.googleapis.com/
//         google.protobuf.Struct, Struct{"x-envoy-peer-metadata": Struct,
//         "x-envoy-peer-metadata-id": id}}                           (§7.2)
//
// (section numbers: docs/istio/telemetry.md). The Struct/Any encoder and
// decoder here speak the protobuf wire format directly: map entries sorted by
// key (deterministic serialisation), Value.string_value = 3,
// Value.struct_value = 5; the decoder skips fields it does not know and never
// throws — malformed input is a failed parse. Pure functions, no state (the
// cache below memoises one of them).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "proxy/config.h"

namespace meshsim::proxy {

struct WorkloadMetadata {
  std::string id;  // the peer's node id (x-envoy-peer-metadata-id)
  std::string name, namespace_, workload_name, cluster_id, identity, owner, region, zone;
  // LABELS (only these four travel).
  std::string app, version, canonical_name, canonical_revision;

  void clear();
  bool operator==(const WorkloadMetadata&) const = default;
};

// What one side of a connection or stream learnt about its peer: nothing yet,
// the peer object, or Istio's peer_not_found marker (no exchange possible, or
// the peer's preamble/header was unusable).
struct PeerInfo {
  enum class State : uint8_t { kUnknown, kFound, kNotFound };
  State state = State::kUnknown;
  WorkloadMetadata md;
  bool found() const { return state == State::kFound; }
  bool known() const { return state != State::kUnknown; }
  void clear() {
    state = State::kUnknown;
    md.clear();
  }
};

// The local workload as metadata exchange announces it
// (convertWorkloadMetadataToStruct's input): from the bootstrap node.
WorkloadMetadata workload_metadata_of(const NodeMetadata& node, std::string_view node_id);

// The workload Struct (deterministic protobuf bytes), appended to `out`.
void encode_workload_struct(const WorkloadMetadata& md, std::string& out);
// Parses a workload Struct into `out` (the id is left as it is). False when
// the bytes are not a Struct.
bool decode_workload_struct(std::string_view bytes, WorkloadMetadata& out);

// Standard base64 with padding; the decoder accepts missing padding and
// returns false on any other character.
void base64_encode(std::string_view in, std::string& out);
bool base64_decode(std::string_view in, std::string& out);

// The x-envoy-peer-metadata header value of `md`.
std::string peer_metadata_header(const WorkloadMetadata& md);
// Reads the two headers' values into `out` (id copied as given). False when
// the metadata value does not decode.
bool parse_peer_metadata_header(std::string_view id, std::string_view value, WorkloadMetadata& out);

// parse_peer_metadata_header with a memo: a sidecar sees the same few peers'
// headers on every request, and decoding them (base64, then the Struct) is a
// pure function of the header text, so the last kCapacity distinct values
// are kept with their result (replaced round-robin). One per sidecar
// (EngineContext); single-threaded.
class PeerMetadataCache {
 public:
  bool parse(std::string_view id, std::string_view value, WorkloadMetadata& out);

 private:
  struct Entry {
    std::string value;  // the header text
    bool ok = false;
    WorkloadMetadata md;  // id left empty
  };
  static constexpr size_t kCapacity = 8;
  Entry entries_[kCapacity];
  size_t used_ = 0, next_ = 0;
};

// ---- TCP: istio-peer-exchange ----
inline constexpr uint32_t kPeerExchangeMagic = 0x3D230467;
inline constexpr const char* kPeerExchangeAlpn = "istio-peer-exchange";
inline constexpr const char* kStructTypeUrl = "type.googleapis.com/google.protobuf.Struct";

// The whole preamble (magic, length, Any) announcing `md`.
std::string peer_exchange_preamble(const WorkloadMetadata& md);

enum class PreambleStatus : uint8_t { kNeedMore, kComplete, kInvalid };
// Looks for a complete preamble at the start of `data`. kComplete: `consumed`
// bytes (8 + N) form it and `out` holds the peer; kNeedMore: fewer bytes than
// the header or the announced length; kInvalid: wrong magic or an Any that
// does not parse (Istio: peer_not_found, pass-through).
PreambleStatus parse_peer_exchange_preamble(std::string_view data, size_t& consumed, WorkloadMetadata& out);

}  // namespace meshsim::proxy
