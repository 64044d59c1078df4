#include "proxy/http_inspector.h"

namespace meshsim::proxy {
namespace {

constexpr std::string_view kH2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
constexpr size_t kMaxInspect = 64 * 1024;

// RFC 9110 token characters.
bool is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+': case '-': case '.':
    case '^': case '_': case '`': case '|': case '~':
      return true;
    default:
      return false;
  }
}

HttpInspection done(std::string protocol) { return {HttpInspection::Status::kDone, std::move(protocol)}; }

}  // namespace

HttpInspection inspect_http(std::string_view b) {
  // HTTP/2 prior knowledge.
  size_t n = std::min(b.size(), kH2Preface.size());
  if (b.substr(0, n) == kH2Preface.substr(0, n)) {
    if (b.size() >= kH2Preface.size()) return done("h2c");
    return {};
  }
  // method SP request-target SP HTTP-version CRLF
  size_t i = 0;
  while (i < b.size() && is_tchar(b[i])) ++i;
  if (i == b.size()) return b.size() >= kMaxInspect ? done("") : HttpInspection{};
  if (i == 0 || b[i] != ' ') return done("");
  size_t target_start = ++i;
  while (i < b.size() && b[i] != ' ' && b[i] != '\r' && b[i] != '\n' && static_cast<unsigned char>(b[i]) > 0x20) ++i;
  if (i == b.size()) return b.size() >= kMaxInspect ? done("") : HttpInspection{};
  if (i == target_start || b[i] != ' ') return done("");
  std::string_view rest = b.substr(i + 1);
  constexpr std::string_view kHttp10 = "HTTP/1.0\r\n";
  constexpr std::string_view kHttp11 = "HTTP/1.1\r\n";
  for (std::string_view v : {kHttp10, kHttp11}) {
    size_t m = std::min(rest.size(), v.size());
    if (rest.substr(0, m) == v.substr(0, m)) {
      if (rest.size() < v.size()) return {};
      return done(v == kHttp10 ? "http/1.0" : "http/1.1");
    }
  }
  return done("");
}

}  // namespace meshsim::proxy
