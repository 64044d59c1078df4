// A conformance report shaped like the Gateway API's ConformanceReport
// (gateway.networking.k8s.io, conformance/apis/v1): implementation facts and,
// per profile (MESH-MTLS, MESH-PROTOCOL, …), a result (success / partial /
// failure), statistics (Passed / Failed / Skipped) and the names of failed and
// skipped cases. Rendered as YAML.
#pragma once

#include <string>

#include "proxy/base/result.h"
#include "reports/run_record.h"

namespace meshsim::reports {

std::string render_conformance_report(const RunRecord& run);
Status write_conformance_report(const RunRecord& run, const std::string& path);

}  // namespace meshsim::reports
