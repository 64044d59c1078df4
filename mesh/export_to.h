// exportTo visibility, decided once for Services, ServiceEntries, VirtualServices
// and DestinationRules as istiod decides it (pilot/pkg/model/push_context.go
// IsServiceVisible and initVirtualServices; virtualservice_controller.go
// convertExportToSet / copyDefaultExportToSet): an object's own exportTo list,
// or the mesh's default for its kind when the list is empty, with "." standing
// for the object's own namespace. Visible to a namespace when the list has "*"
// or names that namespace; "~" alone names none.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace meshsim::mesh {

inline bool export_visible(const std::vector<std::string>& declared, const std::vector<std::string>& mesh_default,
                           std::string_view owner_ns, std::string_view client_ns) {
  const std::vector<std::string>& list = declared.empty() ? mesh_default : declared;
  for (const std::string& e : list) {
    if (e == "*") return true;
    if (e == "." ? owner_ns == client_ns : e == client_ns) return true;
  }
  return false;
}

}  // namespace meshsim::mesh
