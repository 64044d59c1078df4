#include "proxy/http/hbone.h"

#include "proxy/http/nghttp2_session.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <deque>
#include <map>

namespace meshsim::proxy::http {

class HboneSession {
 public:
  friend nghttp2_session* h2::new_session<HboneSession>(bool, HboneSession*);  // reads the callbacks

  struct Stream {
    std::string out;        // tunnel bytes waiting for the data provider
    bool end_out = false;   // END_STREAM once `out` is drained
    bool deferred = false;  // the provider said DEFERRED: resume on write
    bool provider = false;  // a data provider is attached
    int status = 0;
    std::string authority, method;
    std::vector<std::pair<std::string, std::string>> headers;
  };

  HboneSession(bool server, const HboneSettings& st) : session_(h2::new_session(server, this)), server_(server) {
    const nghttp2_settings_entry iv[4] = {
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, st.initial_stream_window_size},
        {NGHTTP2_SETTINGS_MAX_FRAME_SIZE, st.max_frame_size},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, st.max_header_list_size},
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, st.max_concurrent_streams},
    };
    h2::submit_settings(session_, std::span(iv, server ? 4 : 3), st.initial_connection_window_size);
  }
  ~HboneSession() { nghttp2_session_del(session_); }

  bool recv(std::string_view bytes) {
    if (failed_) return false;
    ssize_t n = nghttp2_session_mem_recv(session_, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    if (n < 0) {
      failed_ = true;
      error_ = nghttp2_strerror(static_cast<int>(n));
      nghttp2_session_terminate_session(session_, NGHTTP2_PROTOCOL_ERROR);
      return false;
    }
    return true;
  }

  void send(std::string& out) { h2::drain(session_, out); }

  static nghttp2_nv nv(std::string_view n, std::string_view v) { return h2::nv(n, v); }

  nghttp2_data_provider provider(int32_t) {
    nghttp2_data_provider p;
    p.source.ptr = this;
    p.read_callback = &read_tunnel;
    return p;
  }

  uint32_t open(std::string_view authority, const std::vector<std::pair<std::string, std::string>>& headers,
                std::string& out) {
    if (goaway_ || !nghttp2_session_check_request_allowed(session_)) return 0;
    std::vector<nghttp2_nv> list;
    list.push_back(nv(":method", "CONNECT"));
    list.push_back(nv(":authority", authority));
    for (const auto& [k, v] : headers) list.push_back(nv(k, v));
    nghttp2_data_provider p = provider(0);
    int32_t id = nghttp2_submit_request(session_, nullptr, list.data(), list.size(), &p, nullptr);
    if (id <= 0) return 0;
    Stream& s = streams_[id];
    s.provider = true;
    s.authority.assign(authority);
    s.method = "CONNECT";
    send(out);
    return static_cast<uint32_t>(id);
  }

  void respond(uint32_t id, int status, std::string& out) {
    auto it = streams_.find(static_cast<int32_t>(id));
    if (it == streams_.end()) return send(out);
    char buf[8];
    auto [e, ec] = std::to_chars(buf, buf + sizeof buf, status);
    (void)ec;
    nghttp2_nv list[1] = {nv(":status", std::string_view(buf, static_cast<size_t>(e - buf)))};
    if (status == 200) {
      nghttp2_data_provider p = provider(static_cast<int32_t>(id));
      it->second.provider = true;
      nghttp2_submit_response(session_, static_cast<int32_t>(id), list, 1, &p);
    } else {
      nghttp2_submit_response(session_, static_cast<int32_t>(id), list, 1, nullptr);
    }
    send(out);
  }

  void write(uint32_t id, std::string_view bytes, std::string& out) {
    auto it = streams_.find(static_cast<int32_t>(id));
    if (it == streams_.end() || it->second.end_out) return send(out);
    it->second.out.append(bytes);
    resume(it);
    send(out);
  }

  void close_stream(uint32_t id, std::string& out) {
    auto it = streams_.find(static_cast<int32_t>(id));
    if (it == streams_.end()) return send(out);
    it->second.end_out = true;
    resume(it);
    send(out);
  }

  void reset(uint32_t id, uint32_t code, std::string& out) {
    nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, static_cast<int32_t>(id), code);
    send(out);
  }

  void goaway(std::string& out) {
    nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(session_),
                          NGHTTP2_NO_ERROR, nullptr, 0);
    send(out);
  }

  nghttp2_session* session_ = nullptr;
  bool server_;
  bool failed_ = false;
  bool goaway_ = false;
  std::string error_;
  std::map<int32_t, Stream> streams_;
  std::deque<HboneConnection::Event> events_;

 private:
  void resume(std::map<int32_t, Stream>::iterator it) {
    if (it->second.deferred) {
      it->second.deferred = false;
      nghttp2_session_resume_data(session_, it->first);
    }
  }

  static ssize_t read_tunnel(nghttp2_session*, int32_t id, uint8_t* buf, size_t length, uint32_t* flags,
                             nghttp2_data_source* source, void*) {
    auto& self = *static_cast<HboneSession*>(source->ptr);
    auto it = self.streams_.find(id);
    if (it == self.streams_.end()) return NGHTTP2_ERR_DEFERRED;
    Stream& s = it->second;
    size_t n = std::min(length, s.out.size());
    if (n == 0 && !s.end_out) {
      s.deferred = true;
      return NGHTTP2_ERR_DEFERRED;
    }
    if (n) {
      std::memcpy(buf, s.out.data(), n);
      s.out.erase(0, n);
    }
    if (s.out.empty() && s.end_out) *flags |= NGHTTP2_DATA_FLAG_EOF;
    return static_cast<ssize_t>(n);
  }

  static int on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    auto& self = *static_cast<HboneSession*>(user);
    if (frame->hd.type == NGHTTP2_HEADERS && self.server_ && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
      self.streams_[frame->hd.stream_id] = Stream{};
    }
    return 0;
  }

  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name, size_t namelen,
                       const uint8_t* value, size_t valuelen, uint8_t, void* user) {
    auto& self = *static_cast<HboneSession*>(user);
    auto it = self.streams_.find(frame->hd.stream_id);
    if (it == self.streams_.end()) return 0;
    std::string_view n(reinterpret_cast<const char*>(name), namelen);
    std::string_view v(reinterpret_cast<const char*>(value), valuelen);
    Stream& s = it->second;
    if (n == ":authority") s.authority.assign(v);
    else if (n == ":method") s.method.assign(v);
    else if (n == ":status") std::from_chars(v.data(), v.data() + v.size(), s.status);
    else if (!n.empty() && n[0] != ':') s.headers.emplace_back(std::string(n), std::string(v));
    return 0;
  }

  static int on_data_chunk(nghttp2_session*, uint8_t, int32_t id, const uint8_t* data, size_t len, void* user) {
    auto& self = *static_cast<HboneSession*>(user);
    if (!self.streams_.count(id)) return 0;
    // Consecutive chunks of one stream become one event.
    if (!self.events_.empty() && self.events_.back().kind == HboneConnection::Event::Kind::kData &&
        self.events_.back().stream == static_cast<uint32_t>(id)) {
      self.events_.back().data.append(reinterpret_cast<const char*>(data), len);
      return 0;
    }
    HboneConnection::Event e;
    e.kind = HboneConnection::Event::Kind::kData;
    e.stream = static_cast<uint32_t>(id);
    e.data.assign(reinterpret_cast<const char*>(data), len);
    self.events_.push_back(std::move(e));
    return 0;
  }

  static int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    auto& self = *static_cast<HboneSession*>(user);
    using K = HboneConnection::Event::Kind;
    if (frame->hd.type == NGHTTP2_GOAWAY) {
      self.goaway_ = true;
      return 0;
    }
    auto it = self.streams_.find(frame->hd.stream_id);
    if (it == self.streams_.end()) return 0;
    Stream& s = it->second;
    if (frame->hd.type == NGHTTP2_HEADERS) {
      HboneConnection::Event e;
      e.stream = static_cast<uint32_t>(frame->hd.stream_id);
      if (self.server_ && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
        e.kind = K::kConnect;
        e.authority = s.authority;
        e.method = s.method;
        e.headers = s.headers;
        self.events_.push_back(std::move(e));
      } else if (!self.server_ && frame->headers.cat == NGHTTP2_HCAT_RESPONSE && s.status >= 200) {
        e.kind = K::kResponse;
        e.status = s.status;
        self.events_.push_back(std::move(e));
      }
    }
    if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
        (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
      HboneConnection::Event e;
      e.kind = K::kEnd;
      e.stream = static_cast<uint32_t>(frame->hd.stream_id);
      self.events_.push_back(std::move(e));
    }
    return 0;
  }

  static int on_stream_close(nghttp2_session*, int32_t id, uint32_t code, void* user) {
    auto& self = *static_cast<HboneSession*>(user);
    auto it = self.streams_.find(id);
    if (it == self.streams_.end()) return 0;
    self.streams_.erase(it);
    if (code != NGHTTP2_NO_ERROR) {
      HboneConnection::Event e;
      e.kind = HboneConnection::Event::Kind::kReset;
      e.stream = static_cast<uint32_t>(id);
      e.error_code = code;
      self.events_.push_back(std::move(e));
    }
    return 0;
  }
};

HboneConnection::HboneConnection(Role role, const HboneSettings& settings)
    : s_(std::make_unique<HboneSession>(role == Role::kServer, settings)) {}
HboneConnection::~HboneConnection() = default;

uint32_t HboneConnection::open(std::string_view authority,
                               const std::vector<std::pair<std::string, std::string>>& headers, std::string& out) {
  return s_->open(authority, headers, out);
}
void HboneConnection::respond(uint32_t stream, int status, std::string& out) { s_->respond(stream, status, out); }
void HboneConnection::write(uint32_t stream, std::string_view bytes, std::string& out) { s_->write(stream, bytes, out); }
void HboneConnection::close_stream(uint32_t stream, std::string& out) { s_->close_stream(stream, out); }
void HboneConnection::reset_stream(uint32_t stream, uint32_t error_code, std::string& out) {
  s_->reset(stream, error_code, out);
}
void HboneConnection::shutdown(std::string& out) { s_->goaway(out); }
bool HboneConnection::feed(std::string_view bytes) { return s_->recv(bytes); }
void HboneConnection::drain_output(std::string& out) { s_->send(out); }
bool HboneConnection::next_event(Event& e) {
  if (s_->events_.empty()) return false;
  e = std::move(s_->events_.front());
  s_->events_.pop_front();
  return true;
}
size_t HboneConnection::active_streams() const { return s_->streams_.size(); }
bool HboneConnection::stream_open(uint32_t stream) const { return s_->streams_.count(static_cast<int32_t>(stream)) != 0; }
bool HboneConnection::goaway_received() const { return s_->goaway_; }
const std::string& HboneConnection::error() const { return s_->error_; }

}  // namespace meshsim::proxy::http
