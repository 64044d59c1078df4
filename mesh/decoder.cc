#include "mesh/decoder.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>

#include "mesh/suggest.h"
#include "proxy/base/ip.h"

namespace meshsim::mesh::detail {

std::string PathSeg::str() const {
  std::vector<const PathSeg*> chain;
  for (const PathSeg* s = this; s; s = s->parent) chain.push_back(s);
  std::string out;
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    const PathSeg* s = *it;
    if (!s->key.empty()) {
      if (!out.empty()) out += '.';
      out += s->key;
    }
    if (s->index >= 0) out += "[" + std::to_string(s->index) + "]";
  }
  return out;
}

namespace {
// Field errors point at the field's key ("mode:" in "mode: MUTUALL"); list
// items and missing fields point at the node itself.
Location where(YamlNode at, const PathSeg& p) {
  if (p.index < 0 && p.key_node.valid()) return p.key_node.location();
  return at.location();
}
}  // namespace

void Decoder::error(YamlNode at, const PathSeg& p, std::string msg, const char* code) {
  ++errors_;
  out_.push_back(Diagnostic{Severity::kError, code, where(at, p), resource_, p.str(), std::move(msg)});
}
void Decoder::warn(YamlNode at, const PathSeg& p, std::string msg, const char* code) {
  out_.push_back(Diagnostic{Severity::kWarning, code, where(at, p), resource_, p.str(), std::move(msg)});
}
void Decoder::unknown_field(YamlNode at, const PathSeg& p, std::string_view key,
                            const std::vector<std::string_view>& known, std::string hint) {
  // Warning: unknown field "duraton" (ignored; did you mean "duration"?)
  // Strict:  unknown field "duraton" (did you mean "duration"?)
  std::vector<std::string> parts;
  if (!strict_unknown_) parts.push_back("ignored");
  if (!hint.empty()) {
    parts.push_back(std::move(hint));
  } else if (!known.empty()) {
    std::string guess = closest_match(key, known);
    if (!guess.empty()) {
      parts.push_back("did you mean \"" + guess + "\"?");
    } else {
      std::string valid;
      for (std::string_view k : known) valid += (valid.empty() ? "" : ", ") + std::string(k);
      parts.push_back("valid here: " + valid);
    }
  }
  std::string msg = "unknown field \"" + std::string(key) + "\"";
  for (size_t i = 0; i < parts.size(); ++i) msg += (i == 0 ? " (" : "; ") + parts[i];
  if (!parts.empty()) msg += ")";
  if (strict_unknown_) error(at, p, std::move(msg), "MS0003");
  else warn(at, p, std::move(msg));
}
void Decoder::info(YamlNode at, const PathSeg& p, std::string msg, const char* code) {
  out_.push_back(Diagnostic{Severity::kInfo, code, where(at, p), resource_, p.str(), std::move(msg)});
}

bool Decoder::is_map(YamlNode n, const PathSeg& p) {
  if (!n.valid() || n.is_null() || (n.is_scalar() && n.scalar_type() == ScalarType::kNull)) return false;
  if (n.is_map()) return true;
  error(n, p, std::string("expected a mapping, got ") + n.kind_name());
  return false;
}
bool Decoder::is_seq(YamlNode n, const PathSeg& p) {
  if (!n.valid() || n.is_null() || (n.is_scalar() && n.scalar_type() == ScalarType::kNull)) return false;
  if (n.is_sequence()) return true;
  error(n, p, std::string("expected a list, got ") + n.kind_name());
  return false;
}

bool Decoder::str(YamlNode n, const PathSeg& p, std::string& out) {
  if (!n.valid() || n.is_null()) return false;
  if (!n.is_scalar()) {
    error(n, p, std::string("expected a string, got ") + n.kind_name());
    return false;
  }
  ScalarType t = n.scalar_type();
  if (t == ScalarType::kNull) return false;
  if (t != ScalarType::kString) {
    error(n, p,
          std::string("expected a string, got ") + n.kind_name() + " " + std::string(n.scalar()) + " (quote it: \"" +
              std::string(n.scalar()) + "\")");
    return false;
  }
  out.assign(n.scalar());
  return true;
}

bool Decoder::opt_str(YamlNode n, const PathSeg& p, std::optional<std::string>& out) {
  std::string s;
  if (!str(n, p, s)) return false;
  out = std::move(s);
  return true;
}

bool Decoder::boolean(YamlNode n, const PathSeg& p, bool& out) {
  if (!n.valid() || n.is_null()) return false;
  if (!n.is_scalar() || n.scalar_type() != ScalarType::kBool) {
    if (n.is_scalar() && n.scalar_type() == ScalarType::kNull) return false;
    error(n, p, std::string("expected a boolean (true or false), got ") + n.kind_name() +
                    (n.is_scalar() ? " \"" + std::string(n.scalar()) + "\"" : std::string()));
    return false;
  }
  std::string_view s = n.scalar();
  out = (s == "true" || s == "True" || s == "TRUE" || s == "yes" || s == "Yes" || s == "YES" || s == "y" || s == "Y" ||
         s == "on" || s == "On" || s == "ON");
  return true;
}

bool Decoder::opt_bool(YamlNode n, const PathSeg& p, std::optional<bool>& out) {
  bool b = false;
  if (!boolean(n, p, b)) return false;
  out = b;
  return true;
}

bool Decoder::int64(YamlNode n, const PathSeg& p, int64_t& out, int64_t min, int64_t max) {
  if (!n.valid() || n.is_null()) return false;
  if (!n.is_scalar()) {
    error(n, p, std::string("expected an integer, got ") + n.kind_name());
    return false;
  }
  ScalarType t = n.scalar_type();
  if (t == ScalarType::kNull) return false;
  std::string_view s = n.scalar();
  if (t != ScalarType::kInt) {
    if (t == ScalarType::kFloat) {
      double d = std::strtod(std::string(s).c_str(), nullptr);
      if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9e15) {
        // 1e3 and 80.0 are integers in JSON.
        int64_t v = static_cast<int64_t>(d);
        if (v < min || v > max) {
          error(n, p, "value " + std::string(s) + " out of range [" + std::to_string(min) + ", " + std::to_string(max) + "]");
          return false;
        }
        out = v;
        return true;
      }
    }
    error(n, p, std::string("expected an integer, got ") + n.kind_name() + " \"" + std::string(s) + "\"");
    return false;
  }
  std::string clean;
  for (char c : s)
    if (c != '_') clean += c;
  bool neg = false;
  std::string_view v = clean;
  if (!v.empty() && (v[0] == '+' || v[0] == '-')) {
    neg = v[0] == '-';
    v.remove_prefix(1);
  }
  int base = 10;
  if (v.size() > 2 && v[0] == '0' && (v[1] == 'x' || v[1] == 'X')) base = 16, v.remove_prefix(2);
  else if (v.size() > 2 && v[0] == '0' && v[1] == 'o') base = 8, v.remove_prefix(2);
  else if (v.size() > 2 && v[0] == '0' && v[1] == 'b') base = 2, v.remove_prefix(2);
  else if (v.size() > 1 && v[0] == '0') base = 8;  // YAML 1.1 octal
  uint64_t u = 0;
  auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), u, base);
  if (ec != std::errc() || ptr != v.data() + v.size() || u > static_cast<uint64_t>(INT64_MAX)) {
    error(n, p, "integer " + std::string(s) + " is out of range [" + std::to_string(min) + ", " + std::to_string(max) + "]");
    return false;
  }
  int64_t val = neg ? -static_cast<int64_t>(u) : static_cast<int64_t>(u);
  if (val < min || val > max) {
    error(n, p, "value " + std::string(s) + " out of range [" + std::to_string(min) + ", " + std::to_string(max) + "]");
    return false;
  }
  out = val;
  return true;
}

bool Decoder::number(YamlNode n, const PathSeg& p, double& out) {
  if (!n.valid() || n.is_null()) return false;
  ScalarType t = n.is_scalar() ? n.scalar_type() : ScalarType::kString;
  if (t == ScalarType::kNull && n.is_scalar()) return false;
  if (!n.is_scalar() || (t != ScalarType::kInt && t != ScalarType::kFloat)) {
    error(n, p, std::string("expected a number, got ") + n.kind_name() +
                    (n.is_scalar() ? " \"" + std::string(n.scalar()) + "\"" : std::string()));
    return false;
  }
  std::string s;
  for (char c : n.scalar())
    if (c != '_') s += c;
  double d = std::strtod(s.c_str(), nullptr);
  if (!std::isfinite(d)) {
    error(n, p, "number " + std::string(n.scalar()) + " is not finite");
    return false;
  }
  out = d;
  return true;
}

bool Decoder::opt_number(YamlNode n, const PathSeg& p, std::optional<double>& out, double min, double max) {
  double d = 0;
  if (!number(n, p, d)) return false;
  if (d < min || d > max) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "value %g out of range [%g, %g]", d, min, max);
    error(n, p, buf);
    return false;
  }
  out = d;
  return true;
}

bool Decoder::duration(YamlNode n, const PathSeg& p, std::optional<Duration>& out, bool allow_zero) {
  std::string s;
  if (!n.valid() || n.is_null()) return false;
  if (n.is_scalar() && n.scalar_type() != ScalarType::kString && n.scalar_type() != ScalarType::kNull) {
    error(n, p, "expected a duration string such as \"5s\" or \"100ms\", got " + std::string(n.kind_name()) + " " +
                    std::string(n.scalar()));
    return false;
  }
  if (!str(n, p, s)) return false;
  auto d = parse_duration(s);
  if (!d.ok()) {
    error(n, p, d.message());  // parse_duration says: invalid duration "…": why
    return false;
  }
  if (d->ns() < 0) {
    error(n, p, "duration \"" + s + "\" must not be negative");
    return false;
  }
  if (!allow_zero && *d < Duration::millis(1)) {
    error(n, p, "duration \"" + s + "\" must be at least 1ms");
    return false;
  }
  out = *d;
  return true;
}

bool Decoder::port(YamlNode n, const PathSeg& p, uint32_t& out) {
  int64_t v = 0;
  if (!int64(n, p, v, INT64_MIN, INT64_MAX)) return false;
  if (v < 1 || v > 65535) {
    error(n, p, "port " + std::to_string(v) + " out of range [1, 65535]");
    return false;
  }
  out = static_cast<uint32_t>(v);
  return true;
}

bool Decoder::enum_str(YamlNode n, const PathSeg& p, std::string& out, std::initializer_list<const char*> values) {
  std::string s;
  if (!str(n, p, s)) return false;
  for (const char* v : values) {
    if (s == v) {
      out = s;
      return true;
    }
  }
  std::string valid;
  for (const char* v : values) valid += (valid.empty() ? "" : ", ") + std::string(v);
  error(n, p, "unknown value \"" + s + "\" (valid: " + valid + ")");
  return false;
}

void Decoder::strings(YamlNode n, const PathSeg& p, std::vector<std::string>& out) {
  items(n, p, [&](YamlNode it, const PathSeg& ip) {
    std::string s;
    if (str(it, ip, s)) out.push_back(std::move(s));
  });
}

void Decoder::string_map(YamlNode n, const PathSeg& p, Labels& out, bool label_rules) {
  if (!is_map(n, p)) return;
  for (uint32_t i = 0, e = n.size(); i < e; ++i) {
    YamlNode k = n.key(i);
    YamlNode v = n.value(i);
    if (!k.is_scalar()) {
      error(k, p, "keys must be strings");
      continue;
    }
    std::string key(k.scalar());
    PathSeg cp = p.child(k.scalar());
    cp.key_node = k;
    if (label_rules) {
      std::string why = check_label_key(key);
      if (!why.empty()) error(k, cp, "invalid label key \"" + key + "\": " + why);
    }
    std::string val;
    if (v.is_null() || (v.is_scalar() && v.scalar_type() == ScalarType::kNull)) {
      out[key] = "";
      continue;
    }
    if (!str(v, cp, val)) continue;
    if (label_rules) {
      std::string why = check_label_value(val);
      if (!why.empty()) error(v, cp, "invalid label value \"" + val + "\": " + why);
    }
    out[key] = std::move(val);
  }
}

void Decoder::int_or_string(YamlNode n, const PathSeg& p, IntOrString& out) {
  if (!n.valid() || n.is_null()) return;
  if (n.is_scalar() && n.scalar_type() == ScalarType::kInt) {
    int64_t v = 0;
    if (int64(n, p, v, INT32_MIN, INT32_MAX)) {
      out.is_int = true;
      out.int_value = static_cast<int32_t>(v);
    }
    return;
  }
  std::string s;
  if (str(n, p, s)) {
    out.is_int = false;
    out.str_value = s;
  }
}

YamlNode key_node_of(YamlNode map, std::string_view key) {
  if (!map.is_map()) return {};
  for (uint32_t i = 0; i < map.size(); ++i)
    if (map.key(i).is_scalar() && map.key(i).scalar() == key) return map.key(i);
  return {};
}

// ---- syntax checks ------------------------------------------------------------------

namespace {
bool alnum_lower(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }
}  // namespace

std::string check_re2_syntax(std::string_view re) {
  if (re.size() > 1024) return "longer than 1024 characters";
  int depth = 0;
  bool can_repeat = false;
  for (size_t i = 0; i < re.size(); ++i) {
    char c = re[i];
    switch (c) {
      case '\\':
        if (i + 1 >= re.size()) return "trailing backslash";
        ++i;
        can_repeat = true;
        break;
      case '[': {
        size_t j = i + 1;
        if (j < re.size() && re[j] == '^') ++j;
        if (j < re.size() && re[j] == ']') ++j;
        for (; j < re.size() && re[j] != ']'; ++j)
          if (re[j] == '\\') ++j;
        if (j >= re.size()) return "missing closing ]";
        i = j;
        can_repeat = true;
        break;
      }
      case '(':
        ++depth;
        if (i + 1 < re.size() && re[i + 1] == '?') {
          // (?:…), (?i), (?P<name>…): the '?' is not a quantifier.
          if (i + 2 >= re.size()) return "incomplete group";
          ++i;
        }
        can_repeat = false;
        break;
      case ')':
        if (--depth < 0) return "unexpected )";
        can_repeat = true;
        break;
      case '*':
      case '+':
      case '?':
        if (!can_repeat) return std::string("missing argument to repetition operator ") + c;
        if (i + 1 < re.size() && re[i + 1] == '?') ++i;  // lazy
        can_repeat = false;
        break;
      case '{': {
        size_t close = re.find('}', i);
        std::string_view body = close == std::string_view::npos ? std::string_view() : re.substr(i + 1, close - i - 1);
        bool counted = !body.empty() && std::all_of(body.begin(), body.end(), [](char x) { return (x >= '0' && x <= '9') || x == ','; }) &&
                       body[0] != ',' && std::count(body.begin(), body.end(), ',') <= 1;
        if (!counted) {  // a literal '{'
          can_repeat = true;
          break;
        }
        if (!can_repeat) return "missing argument to repetition operator {";
        size_t comma = body.find(',');
        std::string_view a = body.substr(0, comma), b = comma == std::string_view::npos ? a : body.substr(comma + 1);
        if (a.size() > 4 || b.size() > 4) return "bad repetition operator (max 1000)";
        int lo = std::stoi(std::string(a)), hi = b.empty() ? lo : std::stoi(std::string(b));
        if (lo > 1000 || hi > 1000 || (!b.empty() && hi < lo)) return "bad repetition operator {" + std::string(body) + "}";
        i = close;
        can_repeat = false;
        break;
      }
      case '|':
      case '^':
        can_repeat = false;
        break;
      default:
        can_repeat = true;
        break;
    }
  }
  if (depth != 0) return "missing closing )";
  return "";
}

std::string check_dns1123_label(std::string_view s) {
  if (s.empty()) return "must not be empty";
  if (s.size() > 63) return "must be no more than 63 characters";
  for (char c : s)
    if (!alnum_lower(c) && c != '-') return "must consist of lower case alphanumeric characters or '-'";
  if (!alnum_lower(s.front()) || !alnum_lower(s.back())) return "must start and end with an alphanumeric character";
  return "";
}

std::string check_dns1123_subdomain(std::string_view s) {
  if (s.empty()) return "must not be empty";
  if (s.size() > 253) return "must be no more than 253 characters";
  for (char c : s)
    if (!alnum_lower(c) && c != '-' && c != '.') return "must consist of lower case alphanumeric characters, '-' or '.'";
  if (!alnum_lower(s.front()) || !alnum_lower(s.back())) return "must start and end with an alphanumeric character";
  return "";
}

std::string check_dns1035_label(std::string_view s) {
  std::string r = check_dns1123_label(s);
  if (!r.empty()) return r;
  if (!(s.front() >= 'a' && s.front() <= 'z')) return "must start with a lower case letter";
  return "";
}

std::string check_label_value(std::string_view s) {
  if (s.empty()) return "";
  if (s.size() > 63) return "must be no more than 63 characters";
  for (char c : s)
    if (!alnum(c) && c != '-' && c != '_' && c != '.') return "must consist of alphanumeric characters, '-', '_' or '.'";
  if (!alnum(s.front()) || !alnum(s.back())) return "must start and end with an alphanumeric character";
  return "";
}

std::string check_label_key(std::string_view s) {
  std::string_view name = s;
  size_t slash = s.find('/');
  if (slash != std::string_view::npos) {
    std::string_view prefix = s.substr(0, slash);
    name = s.substr(slash + 1);
    std::string r = check_dns1123_subdomain(prefix);
    if (!r.empty()) return "prefix " + r;
  }
  if (name.empty()) return "name part must not be empty";
  std::string r = check_label_value(name);
  if (!r.empty()) return "name part " + r;
  return "";
}

std::string check_iana_svc_name(std::string_view s) {
  if (s.empty()) return "must not be empty";
  if (s.size() > 15) return "must be no more than 15 characters";
  bool letter = false;
  for (char c : s) {
    if (!alnum_lower(c) && c != '-') return "must contain only lower case alphanumeric characters or '-'";
    if (c >= 'a' && c <= 'z') letter = true;
  }
  if (!letter) return "must contain at least one letter";
  if (s.front() == '-' || s.back() == '-') return "must not begin or end with '-'";
  if (s.find("--") != std::string_view::npos) return "must not contain consecutive '-'";
  return "";
}

bool is_ipv4(std::string_view s) { return parse_ipv4(s).ok(); }

bool is_cidr_or_ip(std::string_view s) {
  if (s.find(':') != std::string_view::npos) {
    // IPv6 (address or CIDR): hex digits, ':' and an optional "/len".
    size_t slash = s.find('/');
    std::string_view a = s.substr(0, slash);
    for (char c : a)
      if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.') return false;
    if (slash != std::string_view::npos) {
      std::string_view len = s.substr(slash + 1);
      if (len.empty() || len.size() > 3) return false;
      for (char c : len)
        if (!std::isdigit(static_cast<unsigned char>(c))) return false;
      if (std::stoi(std::string(len)) > 128) return false;
    }
    return a.find("::") != std::string_view::npos || std::count(a.begin(), a.end(), ':') == 7;
  }
  size_t slash = s.find('/');
  if (slash == std::string_view::npos) return is_ipv4(s);
  // Istio accepts CIDRs with host bits set (it masks them); check syntax only.
  if (!is_ipv4(s.substr(0, slash))) return false;
  std::string_view len = s.substr(slash + 1);
  if (len.empty() || len.size() > 2) return false;
  for (char c : len)
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  return std::stoi(std::string(len)) <= 32;
}

std::string check_istio_host(std::string_view s, bool allow_ip) {
  if (s.empty()) return "host must not be empty";
  if (s == "*") return "";
  if (allow_ip && (is_ipv4(s) || is_cidr_or_ip(s))) return "";
  std::string_view h = s;
  if (h.size() > 255) return "domain name too long (max 255)";
  if (h.substr(0, 2) == "*.") h.remove_prefix(2);
  else if (h.front() == '*') h.remove_prefix(1);  // "*foo.com" is allowed by Istio's wildcard rule
  if (h.empty()) return "";
  if (h.back() == '.') h.remove_suffix(1);  // trailing dot allowed
  size_t start = 0;
  while (start <= h.size()) {
    size_t dot = h.find('.', start);
    std::string_view label = h.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty()) return "domain name \"" + std::string(s) + "\" has an empty label";
    if (label.size() > 63) return "label \"" + std::string(label) + "\" longer than 63 characters";
    for (char c : label)
      if (!alnum(c) && c != '-')
        return "domain name \"" + std::string(s) + "\" contains invalid character '" + std::string(1, c) + "'";
    if (label.front() == '-' || label.back() == '-')
      return "label \"" + std::string(label) + "\" must not start or end with '-'";
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  if (s.find('*', 1) != std::string_view::npos) return "wildcard '*' is only allowed as the first label";
  return "";
}

std::optional<int64_t> parse_rfc3339(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)
  if (s.size() < 20) return std::nullopt;
  auto num = [&](size_t pos, size_t len) -> int {
    int v = 0;
    for (size_t i = pos; i < pos + len; ++i) {
      if (!std::isdigit(static_cast<unsigned char>(s[i]))) return -1;
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  int y = num(0, 4), mo = num(5, 2), d = num(8, 2), h = num(11, 2), mi = num(14, 2), se = num(17, 2);
  if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 || se > 60 ||
      s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || s[13] != ':' || s[16] != ':')
    return std::nullopt;
  size_t i = 19;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
  }
  int64_t offset = 0;
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    ++i;
  } else if (i + 6 == s.size() && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
    int oh = num(i + 1, 2), om = num(i + 4, 2);
    if (oh < 0 || om < 0) return std::nullopt;
    offset = (oh * 3600 + om * 60) * (s[i] == '+' ? 1 : -1);
    i += 6;
  } else {
    return std::nullopt;
  }
  if (i != s.size()) return std::nullopt;
  // Days from civil (Howard Hinnant's algorithm).
  int yy = y - (mo <= 2 ? 1 : 0);
  int era = (yy >= 0 ? yy : yy - 399) / 400;
  unsigned yoe = static_cast<unsigned>(yy - era * 400);
  unsigned doy = (153u * static_cast<unsigned>(mo + (mo > 2 ? -3 : 9)) + 2) / 5 + static_cast<unsigned>(d) - 1;
  unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  int64_t days = static_cast<int64_t>(era) * 146097 + static_cast<int64_t>(doe) - 719468;
  return days * 86400 + h * 3600 + mi * 60 + se - offset;
}

}  // namespace meshsim::mesh::detail
