// RetryState is Envoy's RetryStateImpl for one downstream request: which
// outcomes the route's retry policy retries (retry_on tokens, retriable
// status codes), how many retries are left, and the fully jittered
// exponential back-off between attempts (base: the route's retry_back_off
// base_interval, else Envoy's 25 ms; cap 10 × base, 250 ms by default;
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

  // Whether the policy retries a response with `status`
  // (retriable-status-codes, 5xx, gateway-error; retriable-4xx is 409),
  // whatever the budget (Envoy wouldRetryFromHeaders).
  bool would_retry_status(int status) const;
  // Whether the policy retries an upstream reset, whatever the budget
  // (Envoy wouldRetryFromReset): 5xx, gateway-error and reset retry every
  // reset (a per-try timeout too), reset-before-request one before any
  // request byte went upstream, connect-failure connection failures and
  // connect timeouts.
  // refused-stream retries an HTTP/2 REFUSED_STREAM reset.
  bool would_retry_reset(bool connect_failure, bool before_request, bool refused_stream = false) const;
  // The same, retries permitting.
  bool should_retry_status(int status) const { return retries_left_ > 0 && would_retry_status(status); }
  bool should_retry_reset(bool connect_failure, bool before_request) const {
    return retries_left_ > 0 && would_retry_reset(connect_failure, before_request);
  }
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
