// ExtAuthzFilter is envoy.filters.http.ext_authz with an HTTP
// authorization service (Istio's CUSTOM action, envoyExtAuthzHttp; config in
// proxy/ext_authz_config.h). It runs only for requests the CUSTOM policies'
// shadow RBAC filter matched (filter_enabled_metadata on
// istio_ext_authz_shadow_effective_policy_id). For those it sends a check —
// the request's method, path_prefix + path, Host, the allowed headers and
// headers_to_add, no body — to the provider's cluster through the engine's
// async client and holds the request until the answer:
//   * 2xx: allowed; allowed_upstream_headers of the answer are set on the
//     request, which continues;
//   * any other status: denied with that status, the answer's body and its
//     allowed_client_headers (flag UAEX, details ext_authz_denied);
//   * no answer (no endpoint, connect failure, reset, timeout): status_on_error
//     (403 by default) with details ext_authz_error and flag UAEX, unless
//     failure_mode_allow lets the request through.
#pragma once

#include <memory>

#include "proxy/engine/timers.h"
#include "proxy/ext_authz_config.h"
#include "proxy/http/filter.h"
#include "proxy/upstream/shadow_writer.h"

namespace meshsim::proxy::http {

inline constexpr const char* kExtAuthzFilterName = "envoy.filters.http.ext_authz";

class ExtAuthzFilterFactory;

class ExtAuthzFilter final : public StreamFilter, public upstream::AsyncCallbacks {
 public:
  explicit ExtAuthzFilter(const ExtAuthzFilterFactory& f) : factory_(f) {}
  void reset() override;
  FilterHeadersStatus decode_headers(Request& req, bool end_stream) override;
  void on_stream_end() override;
  void on_async_response(Response& response) override;
  void on_async_failure(std::string_view reason) override;

 private:
  void cancel();
  void error(std::string_view reason);

  const ExtAuthzFilterFactory& factory_;
  upstream::ShadowRequest* pending_ = nullptr;
  engine::Timer timeout_;
};

class ExtAuthzFilterFactory final : public FilterFactory {
 public:
  explicit ExtAuthzFilterFactory(std::shared_ptr<const ExtAuthzConfig> config) : config_(std::move(config)) {}
  bool encodes() const override { return false; }
  std::unique_ptr<StreamFilter> create() const override { return std::make_unique<ExtAuthzFilter>(*this); }

 private:
  friend class ExtAuthzFilter;
  std::shared_ptr<const ExtAuthzConfig> config_;
};

}  // namespace meshsim::proxy::http
