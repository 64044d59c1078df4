// The istio-iptables capture decision as the virtual network uses it. The
// decision itself — rule order, reasons, sources — lives in one place,
// mesh/interception.h (classify_outbound / classify_inbound), so that the
// control plane, the analyzers and the network can never disagree; this
// header only names it in meshsim::sim for sim/net/ and its users.
#pragma once

#include "mesh/interception.h"

namespace meshsim::sim {

using mesh::CaptureAction;
using mesh::CaptureDecision;
using mesh::CaptureReason;
using mesh::classify_ambient_inbound;
using mesh::classify_ambient_outbound;
using mesh::classify_inbound;
using mesh::classify_outbound;
using mesh::default_interception;
using mesh::kInboundPassthroughSource;
using mesh::kInboundTunnelPort;
using mesh::kProxyInboundPort;
using mesh::kProxyOutboundPort;
using mesh::OutboundConnection;

}  // namespace meshsim::sim
