// Dynamic metadata of a stream (Envoy's StreamInfo::dynamicMetadata), the
// part meshsim's filters exchange: the request authentication result that
// the jwt_authn filter writes and the RBAC metadata matcher reads
// (filter "envoy.filters.http.jwt_authn" / "istio_authn", keys such as
// "request.auth.principal" or "request.auth.claims"/"groups"). A value is a
// string or a list of strings; nested structs are flattened into paths.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace meshsim::proxy {

struct MetadataValue {
  bool list = false;
  std::vector<std::string> values;  // one element when !list
};

// A filter's metadata computed on demand (the jwt_authn payload: claims are
// looked up in the parsed token rather than copied per request).
class MetadataSource {
 public:
  virtual ~MetadataSource() = default;
  virtual bool lookup(const std::vector<std::string>& path, MetadataValue& out) const = 0;
};

class DynamicMetadata {
 public:
  // The value at filter + path, or nullptr (valid until the next find).
  const MetadataValue* find(std::string_view filter, const std::vector<std::string>& path) const {
    if (!values_.empty()) {
      auto it = values_.find(key(filter, path));
      if (it != values_.end()) return &it->second;
    }
    for (const auto& [f, src] : sources_) {
      if (f == filter && src->lookup(path, scratch_)) return &scratch_;
    }
    return nullptr;
  }
  // `src` answers for `filter` until clear(); it must outlive that.
  void attach(std::string_view filter, const MetadataSource* src) { sources_.emplace_back(std::string(filter), src); }
  void set(std::string_view filter, const std::vector<std::string>& path, MetadataValue v) {
    values_[key(filter, path)] = std::move(v);
  }
  bool empty() const { return values_.empty() && sources_.empty(); }
  void clear() {
    values_.clear();
    sources_.clear();
  }

 private:
  static std::string key(std::string_view filter, const std::vector<std::string>& path) {
    std::string k(filter);
    for (const auto& p : path) {
      k.push_back('\x1f');
      k += p;
    }
    return k;
  }
  std::map<std::string, MetadataValue, std::less<>> values_;
  std::vector<std::pair<std::string, const MetadataSource*>> sources_;
  mutable MetadataValue scratch_;
};

}  // namespace meshsim::proxy
