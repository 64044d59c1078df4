#include "proxy/http/filters/alpn/alpn_filter.h"

namespace meshsim::proxy::http {

namespace {
const std::vector<std::string> kAlpn11 = {"istio-http/1.1", "istio", "http/1.1"};
const std::vector<std::string> kAlpn10 = {"istio-http/1.0", "istio", "http/1.0"};
}  // namespace

FilterHeadersStatus AlpnFilter::decode_headers(Request& req, bool) {
  callbacks_->stream_info().upstream_alpn = req.version >= 11 ? &kAlpn11 : &kAlpn10;
  return FilterHeadersStatus::kContinue;
}

}  // namespace meshsim::proxy::http
