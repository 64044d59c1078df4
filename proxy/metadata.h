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
#include <vector>

namespace meshsim::proxy {

struct MetadataValue {
  bool list = false;
  std::vector<std::string> values;  // one element when !list
};

class DynamicMetadata {
 public:
  // The value at filter + path, or nullptr.
  const MetadataValue* find(std::string_view filter, const std::vector<std::string>& path) const {
    auto it = values_.find(key(filter, path));
    return it == values_.end() ? nullptr : &it->second;
  }
  void set(std::string_view filter, const std::vector<std::string>& path, MetadataValue v) {
    values_[key(filter, path)] = std::move(v);
  }
  bool empty() const { return values_.empty(); }
  void clear() { values_.clear(); }

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
};

}  // namespace meshsim::proxy
