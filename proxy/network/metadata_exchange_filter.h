// MetadataExchangeNetworkFilter is istio.metadata_exchange as a listener
// network filter on inbound TCP chains (istio/proxy
// filters/network/metadata_exchange; docs/istio/telemetry.md §7.2). On the
// connection's first read or write it checks the negotiated ALPN: anything
// but `istio-peer-exchange` (plaintext, or a client that did not offer it)
// marks the downstream peer not found and the filter passes bytes through.
// Otherwise it writes this proxy's preamble (magic 0x3D230467, length,
// Any{Struct}) before any other byte to the client, then reads the client's
// preamble from the first bytes, drains it and stores the peer in the
// connection's filter state; a wrong magic or an unparsable Any marks the peer
// not found and the bytes continue unchanged. Bytes after the preamble go on
// to the next filter (continue_reading).
#pragma once

#include <string>

#include "proxy/config.h"
#include "proxy/network/filter.h"

namespace meshsim::proxy::engine {
struct EngineContext;
}

namespace meshsim::proxy::network {

inline constexpr const char* kMetadataExchangeNetworkFilterName = "istio.metadata_exchange";

class MetadataExchangeNetworkFilter final : public ReadFilter, public WriteFilter {
 public:
  MetadataExchangeNetworkFilter(engine::EngineContext& ctx, Connection& connection,
                                const NetworkMetadataExchange& config)
      : ctx_(ctx), conn_(connection), config_(config) {}

  FilterStatus on_new_connection() override { return FilterStatus::kContinue; }
  FilterStatus on_data(std::string_view data) override;
  void on_remote_close(CloseType) override {}
  void on_transport_failure(std::string_view) override {}
  void on_drain(Duration) override {}
  FilterStatus on_write(std::string_view data) override;

 private:
  void start();
  enum class State : uint8_t { kPending, kReading, kDone };
  engine::EngineContext& ctx_;
  Connection& conn_;
  const NetworkMetadataExchange& config_;
  State state_ = State::kPending;
  std::string buf_;  // the peer's preamble until complete
};

}  // namespace meshsim::proxy::network
