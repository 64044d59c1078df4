// RetryState is Envoy's RetryStateImpl for one downstream request: which
// outcomes the route's retry policy retries (retry_on tokens, retriable
// status codes), how many retries are left, and the fully jittered
// exponential back-off between attempts (base 25 ms, cap 10 × base = 250 ms,
// drawn from the pod's random stream).
#pragma once

#include <cstdint>
#include <string_view>

#include "proxy/base/duration.h"
#include "proxy/config.h"

namespace meshsim::proxy::upstream {

bool retry_on_has(const RetryPolicy& p, std::string_view token);

class RetryState {
 public:
  void reset(const RetryPolicy* policy) {
    policy_ = policy ? policy : &kNoRetry;
    retries_left_ = policy ? policy->num_retries : 0;
  }
  const RetryPolicy& policy() const { return *policy_; }
  uint32_t retries_left() const { return retries_left_; }

  // Whether a response with `status` is retried (retriable-status-codes,
  // 5xx, gateway-error), retries permitting.
  bool should_retry_status(int status) const;
  // Whether an upstream reset is retried (Envoy wouldRetryFromReset):
  // connect-failure covers connection failures and timeouts,
  // reset-before-request any reset before the request went upstream, reset
  // and 5xx every reset, gateway-error connection failures.
  bool should_retry_reset(bool connect_failure, bool before_request) const;
  bool can_retry() const { return retries_left_ > 0; }

  // Consumes one retry and returns the back-off before the next attempt;
  // `attempts` is the number of attempts made so far (>= 1), `random` one draw.
  Duration consume(uint32_t attempts, uint64_t random);

 private:
  static inline const RetryPolicy kNoRetry{};
  const RetryPolicy* policy_ = &kNoRetry;
  uint32_t retries_left_ = 0;
};

}  // namespace meshsim::proxy::upstream
