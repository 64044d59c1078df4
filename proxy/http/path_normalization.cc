#include "proxy/http/path_normalization.h"

#include <string_view>
#include <vector>

namespace meshsim::proxy::http {

namespace {

bool iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] - 'A' + 'a') : a[i];
    if (x != b[i]) return false;
  }
  return true;
}

bool is_dot(std::string_view s) { return s == "." || iequal(s, "%2e"); }
bool is_dot_dot(std::string_view s) {
  return s == ".." || iequal(s, ".%2e") || iequal(s, "%2e.") || iequal(s, "%2e%2e");
}

}  // namespace

bool normalize_request_path(std::string& target, bool normalize_path, bool merge_slashes) {
  if (!normalize_path && !merge_slashes) return true;
  if (target.empty() || (target[0] != '/' && target[0] != '\\')) return false;
  size_t end = target.find_first_of("?#");
  // Fast path (every ordinary request): nothing to resolve, nothing allocated.
  {
    std::string_view p(target.data(), end == std::string::npos ? target.size() : end);
    bool work = false;
    for (size_t i = 0; i < p.size() && !work; ++i) {
      char c = p[i];
      if (c == '\\') work = normalize_path;
      else if (c == '%' && i + 2 < p.size() && p[i + 1] == '2' && (p[i + 2] == 'e' || p[i + 2] == 'E')) work = normalize_path;
      else if (c == '.' && i > 0 && p[i - 1] == '/') work = normalize_path;
      else if (c == '/' && i > 0 && p[i - 1] == '/') work = merge_slashes;
    }
    if (!work) return true;
  }
  std::string path = target.substr(0, end);
  std::string rest = end == std::string::npos ? std::string() : target.substr(end);
  if (normalize_path) {
    for (char& c : path)
      if (c == '\\') c = '/';
    // Segments after the leading "/"; the last one decides the trailing slash.
    std::vector<std::string_view> out;
    std::string_view p(path);
    p.remove_prefix(1);
    bool trailing = false;
    while (true) {
      size_t slash = p.find('/');
      std::string_view seg = p.substr(0, slash);
      bool last = slash == std::string_view::npos;
      if (is_dot(seg)) {
        trailing = last;
      } else if (is_dot_dot(seg)) {
        if (!out.empty()) out.pop_back();
        trailing = last;
      } else {
        out.push_back(seg);
        trailing = false;
      }
      if (last) break;
      p.remove_prefix(slash + 1);
    }
    std::string n = "/";
    for (size_t i = 0; i < out.size(); ++i) {
      if (i) n += '/';
      n.append(out[i]);
    }
    if (trailing && n.back() != '/') n += '/';
    path = std::move(n);
  }
  if (merge_slashes) {
    std::string m;
    for (char c : path)
      if (!(c == '/' && !m.empty() && m.back() == '/')) m.push_back(c);
    path = std::move(m);
  }
  target = path + rest;
  return true;
}

}  // namespace meshsim::proxy::http
