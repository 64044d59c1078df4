#include "proxy/upstream/retry_state.h"

#include <algorithm>

namespace meshsim::proxy::upstream {

bool retry_on_has(const RetryPolicy& p, std::string_view what) {
  std::string_view s = p.retry_on;
  while (!s.empty()) {
    size_t c = s.find(',');
    std::string_view t = s.substr(0, c);
    while (!t.empty() && t.front() == ' ') t.remove_prefix(1);
    while (!t.empty() && t.back() == ' ') t.remove_suffix(1);
    if (t == what) return true;
    if (c == std::string_view::npos) break;
    s.remove_prefix(c + 1);
  }
  return false;
}

bool RetryState::would_retry_status(int status) const {
  const RetryPolicy& p = *policy_;
  if (retry_on_has(p, "retriable-status-codes") &&
      std::find(p.retriable_status_codes.begin(), p.retriable_status_codes.end(), static_cast<uint32_t>(status)) !=
          p.retriable_status_codes.end()) {
    return true;
  }
  if (status >= 500 && retry_on_has(p, "5xx")) return true;
  if ((status == 502 || status == 503 || status == 504) && retry_on_has(p, "gateway-error")) return true;
  if (status == 409 && retry_on_has(p, "retriable-4xx")) return true;
  return false;
}

bool RetryState::would_retry_reset(bool connect_failure, bool before_request, bool refused_stream) const {
  const RetryPolicy& p = *policy_;
  if (refused_stream && retry_on_has(p, "refused-stream")) return true;
  if (retry_on_has(p, "5xx") || retry_on_has(p, "gateway-error") || retry_on_has(p, "reset")) return true;
  if (before_request && retry_on_has(p, "reset-before-request")) return true;
  return connect_failure && retry_on_has(p, "connect-failure");
}

Duration RetryState::consume(uint32_t attempts, uint64_t random) {
  --retries_left_;
  int64_t base = policy_->back_off_base_interval > Duration::zero() ? policy_->back_off_base_interval.ns() : 25'000'000;
  int64_t bound = std::min<int64_t>(base * ((int64_t{1} << std::min<uint32_t>(attempts, 10)) - 1), 10 * base);
  return Duration::nanos(static_cast<int64_t>(random % static_cast<uint64_t>(bound)));
}

}  // namespace meshsim::proxy::upstream
