// Decoder is the internal toolkit the kind decoders (decode_k8s.cc,
// decode_istio.cc) use to turn a YamlNode tree into typed structs while
// validating it: type checks in Kubernetes' strict style (a quoted "80" is not
// an integer, an unquoted 1 is not a string), enum checks that list the valid
// values, durations, ranges, and unknown-field warnings. Every problem becomes
// a Diagnostic with the field's location and path; decoding continues so that
// all errors of a document are reported in one pass.
//
// Paths are built lazily from a chain of PathSeg on the stack, so the happy
// path never formats a string. Internal to mesh/ (not for other folders).
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mesh/diagnostics.h"
#include "mesh/resources.h"
#include "mesh/yaml_tree.h"
#include "proxy/base/duration.h"

namespace meshsim::mesh::detail {

// Whether k is one of names (a field name among the accepted ones).
inline bool one_of(std::string_view k, std::initializer_list<std::string_view> names) {
  return std::find(names.begin(), names.end(), k) != names.end();
}


struct PathSeg {
  const PathSeg* parent = nullptr;
  std::string_view key;
  int64_t index = -1;  // >= 0: "[index]" after key
  YamlNode key_node;   // the key in the document, when known (messages point at it)
  // The root segment (no parent, no key, no index) contributes nothing, so a
  // child of it does not point at it: `PathSeg sp = PathSeg().child("spec");`
  // is safe to keep. Deeper chains must keep every ancestor alive.
  bool is_root() const { return parent == nullptr && key.empty() && index < 0; }
  PathSeg child(std::string_view k) const { return PathSeg{is_root() ? nullptr : this, k, -1, {}}; }
  PathSeg at(int64_t i) const { return PathSeg{is_root() ? nullptr : this, {}, i, {}}; }
  std::string str() const;
};

template <typename E>
struct EnumValue {
  const char* name;
  E value;
};

class Decoder {
 public:
  Decoder(std::vector<Diagnostic>& out, std::string resource) : out_(out), resource_(std::move(resource)) {}

  const std::string& resource() const { return resource_; }
  void set_resource(std::string r) { resource_ = std::move(r); }
  int error_count() const { return errors_; }

  void error(YamlNode at, const PathSeg& p, std::string msg, const char* code = "MS0002");
  void warn(YamlNode at, const PathSeg& p, std::string msg, const char* code = "MS0003");
  void info(YamlNode at, const PathSeg& p, std::string msg, const char* code);

  // Type gates: false for null (silently) or wrong type (error).
  bool is_map(YamlNode n, const PathSeg& p);
  bool is_seq(YamlNode n, const PathSeg& p);

  // Calls f(key, value, path) for every pair of a map. f returns false for an
  // unknown key, which becomes an "unknown field" diagnostic (unknown_field);
  // with `known`, the valid keys, its message names the closest one.
  template <typename F>
  void fields(YamlNode n, const PathSeg& p, const std::vector<std::string_view>& known, F&& f) {
    if (!is_map(n, p)) return;
    for (uint32_t i = 0, e = n.size(); i < e; ++i) {
      YamlNode k = n.key(i);
      if (!k.is_scalar()) {
        error(k, p, std::string("mapping key must be a string, got ") + k.kind_name());
        continue;
      }
      std::string_view key = k.scalar();
      PathSeg cp = p.child(key);
      cp.key_node = k;
      if (!f(key, n.value(i), cp)) unknown_field(k, cp, key, known);
    }
  }
  template <typename F>
  void fields(YamlNode n, const PathSeg& p, F&& f) {
    fields(n, p, {}, std::forward<F>(f));
  }
  // An unknown field is a warning (MS0003, "ignored") or, after
  // set_strict_unknown_fields(true), an error. The message suggests the
  // closest of `known` ("did you mean …") or lists them; a non-empty `hint`
  // (e.g. where the field belongs) replaces that.
  void set_strict_unknown_fields(bool strict) { strict_unknown_ = strict; }
  void unknown_field(YamlNode at, const PathSeg& p, std::string_view key, const std::vector<std::string_view>& known,
                     std::string hint = {});
  template <typename F>
  void items(YamlNode n, const PathSeg& p, F&& f) {
    if (!is_seq(n, p)) return;
    for (uint32_t i = 0, e = n.size(); i < e; ++i) f(n.item(i), p.at(i));
  }

  bool str(YamlNode n, const PathSeg& p, std::string& out);
  bool opt_str(YamlNode n, const PathSeg& p, std::optional<std::string>& out);
  bool boolean(YamlNode n, const PathSeg& p, bool& out);
  bool opt_bool(YamlNode n, const PathSeg& p, std::optional<bool>& out);
  bool int64(YamlNode n, const PathSeg& p, int64_t& out, int64_t min, int64_t max);
  template <typename T>
  bool integer(YamlNode n, const PathSeg& p, T& out, int64_t min, int64_t max) {
    int64_t v = 0;
    if (!int64(n, p, v, min, max)) return false;
    out = static_cast<T>(v);
    return true;
  }
  template <typename T>
  bool opt_integer(YamlNode n, const PathSeg& p, std::optional<T>& out, int64_t min, int64_t max) {
    int64_t v = 0;
    if (!int64(n, p, v, min, max)) return false;
    out = static_cast<T>(v);
    return true;
  }
  // A proto double (accepts integers too).
  bool number(YamlNode n, const PathSeg& p, double& out);
  bool opt_number(YamlNode n, const PathSeg& p, std::optional<double>& out, double min, double max);
  // An Istio duration string ("5s", "100ms"); Istio requires >= 1ms unless allow_zero.
  bool duration(YamlNode n, const PathSeg& p, std::optional<Duration>& out, bool allow_zero = false);
  bool port(YamlNode n, const PathSeg& p, uint32_t& out);  // 1..65535
  template <typename E>
  bool enumeration(YamlNode n, const PathSeg& p, E& out, std::initializer_list<EnumValue<E>> values) {
    std::string s;
    if (!str(n, p, s)) return false;
    for (const auto& v : values) {
      if (s == v.name) {
        out = v.value;
        return true;
      }
    }
    std::string valid;
    for (const auto& v : values) valid += (valid.empty() ? "" : ", ") + std::string(v.name);
    error(n, p, "unknown value \"" + s + "\" (valid: " + valid + ")");
    return false;
  }
  // Validates against a list of names, storing the string.
  bool enum_str(YamlNode n, const PathSeg& p, std::string& out, std::initializer_list<const char*> values);
  void strings(YamlNode n, const PathSeg& p, std::vector<std::string>& out);
  // map[string]string (labels, annotations, data). `label_rules`: validate
  // keys and values as Kubernetes label keys/values.
  void string_map(YamlNode n, const PathSeg& p, Labels& out, bool label_rules);
  void int_or_string(YamlNode n, const PathSeg& p, IntOrString& out);

 private:
  std::vector<Diagnostic>& out_;
  std::string resource_;
  int errors_ = 0;
  bool strict_unknown_ = false;
};

// The key node of `key` in `map` (absent handle if none), for PathSeg::key_node.
YamlNode key_node_of(YamlNode map, std::string_view key);

// ---- syntax checks shared by decoders and analyzers ------------------------------

// Kubernetes DNS-1123 label (≤63, [a-z0-9-], alphanumeric ends). Returns "" or the reason.
std::string check_dns1123_label(std::string_view s);
// DNS-1123 subdomain (≤253, labels separated by '.').
std::string check_dns1123_subdomain(std::string_view s);
// DNS-1035 label (Service names: must start with a letter).
std::string check_dns1035_label(std::string_view s);
// Label key ([prefix/]name) and value.
std::string check_label_key(std::string_view s);
std::string check_label_value(std::string_view s);
// IANA service name (container port names): ≤15, [a-z0-9-], at least one letter.
std::string check_iana_svc_name(std::string_view s);
// Istio host: FQDN or short name, optionally "*"-prefixed wildcard, or "*".
std::string check_istio_host(std::string_view s, bool allow_ip);
// A structural check of an RE2 pattern (Envoy/Istio use RE2): balanced
// groups and classes, quantifiers with something to repeat, counted
// repetitions {n,m} with n <= m <= 1000, at most 1024 characters. Returns "" or
// the reason. (Deliberately not std::regex: its compile time and stack use are
// unbounded on hostile patterns.)
std::string check_re2_syntax(std::string_view re);
// IP address or CIDR.
bool is_ipv4(std::string_view s);
bool is_cidr_or_ip(std::string_view s);
// RFC 3339 timestamp → Unix seconds.
std::optional<int64_t> parse_rfc3339(std::string_view s);

}  // namespace meshsim::mesh::detail
