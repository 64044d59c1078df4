// What the two nghttp2 users (the HTTP/2 codec, http2_codec.cc, and HBONE,
// hbone.cc) share: creating a session with their five callbacks and the
// options Envoy's codec sets, the initial SETTINGS with the connection
// window, and draining nghttp2's output. Included only by those two .cc files
// (it brings <nghttp2/nghttp2.h>).
#pragma once

#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <cstdint>
#include <span>
#include <string>

namespace meshsim::proxy::http::h2 {

// S has static on_begin_headers, on_header, on_data_chunk, on_frame_recv and
// on_stream_close with nghttp2's signatures; `user` is handed to them.
//
// Options as Envoy's ConnectionImpl::Http2Options sets them: until the
// peer's SETTINGS arrive nghttp2 assumes 100 concurrent streams; no closed
// streams are kept (Envoy ignores RFC 7540 priorities, so the dependency tree
// need not remember them); header values with leading or trailing whitespace
// are accepted (RFC 9113's stricter check "can break existing deployments").
// HTTP messaging checks (pseudo-headers, content-length) stay on.
template <typename S>
nghttp2_session* new_session(bool server, S* user) {
  nghttp2_session_callbacks* cb = nullptr;
  nghttp2_session_callbacks_new(&cb);
  nghttp2_session_callbacks_set_on_begin_headers_callback(cb, &S::on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(cb, &S::on_header);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, &S::on_data_chunk);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cb, &S::on_frame_recv);
  nghttp2_session_callbacks_set_on_stream_close_callback(cb, &S::on_stream_close);
  nghttp2_option* opt = nullptr;
  nghttp2_option_new(&opt);
  nghttp2_option_set_peer_max_concurrent_streams(opt, 100);
  nghttp2_option_set_no_closed_streams(opt, 1);
  nghttp2_option_set_no_rfc9113_leading_and_trailing_ws_validation(opt, 1);
  nghttp2_session* session = nullptr;
  if (server) nghttp2_session_server_new2(&session, cb, user, opt);
  else nghttp2_session_client_new2(&session, cb, user, opt);
  nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cb);
  return session;
}

// The initial SETTINGS frame; a connection window above the protocol's
// 65,535 is raised with a WINDOW_UPDATE on stream 0 (Envoy:
// initial_connection_window_size).
inline void submit_settings(nghttp2_session* s, std::span<const nghttp2_settings_entry> settings,
                            uint32_t connection_window) {
  nghttp2_submit_settings(s, NGHTTP2_FLAG_NONE, settings.data(), settings.size());
  if (connection_window > 65535) {
    nghttp2_session_set_local_window_size(s, NGHTTP2_FLAG_NONE, 0,
                                          static_cast<int32_t>(std::min<uint32_t>(connection_window, 2147483647u)));
  }
}

// Appends every frame nghttp2 has ready to `out`.
inline void drain(nghttp2_session* s, std::string& out) {
  for (;;) {
    const uint8_t* data = nullptr;
    ssize_t n = nghttp2_session_mem_send(s, &data);
    if (n <= 0) return;
    out.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
  }
}

inline nghttp2_nv nv(std::string_view n, std::string_view v) {
  return {const_cast<uint8_t*>(reinterpret_cast<const uint8_t*>(n.data())),
          const_cast<uint8_t*>(reinterpret_cast<const uint8_t*>(v.data())), n.size(), v.size(), NGHTTP2_NV_FLAG_NONE};
}

}  // namespace meshsim::proxy::http::h2
