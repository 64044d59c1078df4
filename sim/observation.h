// Observation is one record of the event stream: something that happened in
// the simulated world at a virtual time, attributed to an actor. The stream is
// the single source of truth of a run — pcap, traces, metrics, the GUI, the
// JSONL event log and the conformance verdicts are all subscribers; none of
// them recomputes what happened.
//
// Payloads are plain structs in one std::variant. Views inside a payload
// (string_view, span) are valid only for the duration of the subscriber call;
// a subscriber that keeps data copies it.
#pragma once

#include <cstdint>
#include <string_view>
#include <variant>

#include "sim/observations/net.h"
#include "sim/observations/runtime.h"
#include "sim/time.h"

namespace meshsim::sim {

using ActorId = uint32_t;
using EventKindId = uint32_t;

// A free-form note from a component (kernel demo, scenario markers).
struct Note {
  std::string_view text;
};

using ObservationPayload =
    std::variant<std::monostate, Note,
                 // virtual network (sim/observations/net.h)
                 TcpConnectionObservation, TcpDataObservation, TcpSegmentObservation, NodeStateObservation,
                 PartitionObservation, KeyLogLine,
                 // mesh runtime (sim/observations/runtime.h)
                 AccessLogObservation, AppOutcomeObservation, ConfigPushObservation, CertificateObservation,
                 SpanObservation, AppCallObservation, TraceFindingObservation, OutlierObservation,
                 PriorityLoadObservation, ZtunnelObservation, PodHealthObservation,
                 // scenario runner (sim/scenario/runner.h), view kinds
                 RequestVerdictObservation, ScenarioActionObservation>;

struct Observation {
  Time time;
  ActorId actor = 0;
  EventKindId kind = 0;
  uint64_t digest = 0;  // folded into the run fingerprint
  ObservationPayload payload;
};

}  // namespace meshsim::sim
