#include "proxy/access_log.h"

#include <utility>

namespace meshsim::proxy {

std::string format_response_flags(uint32_t flags) {
  // Envoy's order (source/common/stream_info/utility.h).
  static const std::pair<uint32_t, const char*> kOrder[] = {
      {kFailedLocalHealthCheck, "LH"}, {kNoHealthyUpstream, "UH"},
      {kUpstreamRequestTimeout, "UT"}, {kLocalReset, "LR"},
      {kUpstreamRemoteReset, "UR"}, {kUpstreamConnectionFailure, "UF"},
      {kUpstreamConnectionTermination, "UC"}, {kUpstreamOverflow, "UO"},
      {kNoRouteFound, "NR"}, {kDelayInjected, "DI"},
      {kFaultInjected, "FI"}, {kRateLimited, "RL"},
      {kUnauthorizedExternalService, "UAEX"}, {kRateLimitServiceError, "RLSE"},
      {kDownstreamConnectionTermination, "DC"}, {kUpstreamRetryLimitExceeded, "URX"},
      {kStreamIdleTimeout, "SI"}, {kInvalidEnvoyRequestHeaders, "IH"},
      {kDownstreamProtocolError, "DPE"}, {kUpstreamMaxStreamDurationReached, "UMSDR"},
      {kNoFilterConfigFound, "NFCF"}, {kDurationTimeout, "DT"},
      {kUpstreamProtocolError, "UPE"}, {kNoClusterFound, "NC"},
  };
  std::string out;
  for (const auto& [bit, name] : kOrder) {
    if (flags & bit) {
      if (!out.empty()) out += ',';
      out += name;
    }
  }
  return out.empty() ? "-" : out;
}

}  // namespace meshsim::proxy
