#include "proxy/http/filters/fault/fault_filter.h"

#include "proxy/access_log.h"
#include "proxy/engine/context.h"

namespace meshsim::proxy::http {

FilterHeadersStatus FaultFilter::decode_headers(Request&, bool) {
  const Route* route = callbacks_->route();
  if (!route || !route->fault || !callbacks_->route_entry()) return FilterHeadersStatus::kContinue;
  engine::EngineContext& ctx = callbacks_->engine();
  const FaultPolicy& f = *route->fault;
  if (f.abort_http_status && ctx.io.random() % 1'000'000 < f.abort_per_million) {
    callbacks_->send_local_reply(static_cast<int>(*f.abort_http_status), "fault filter abort", "fault_filter_abort",
                                 kFaultInjected);
    return FilterHeadersStatus::kStopIteration;
  }
  if (f.delay && ctx.io.random() % 1'000'000 < f.delay_per_million) {
    callbacks_->stream_info().response_flags |= kDelayInjected;
    delay_ = ctx.timers.arm(*f.delay, [this] {
      delay_ = engine::Timer{};
      callbacks_->continue_decoding();
    });
    return FilterHeadersStatus::kStopIteration;
  }
  return FilterHeadersStatus::kContinue;
}

void FaultFilter::on_stream_end() {
  if (delay_.armed()) callbacks_->engine().timers.disarm(delay_);
}

}  // namespace meshsim::proxy::http
