#include "reports/run_record.h"

#include <algorithm>

namespace meshsim::reports {

const char* to_string(CaseStatus s) {
  switch (s) {
    case CaseStatus::kPassed: return "passed";
    case CaseStatus::kFailed: return "failed";
    case CaseStatus::kSkipped: return "skipped";
    case CaseStatus::kError: return "error";
  }
  return "unknown";
}

size_t RunRecord::count(CaseStatus s) const {
  return static_cast<size_t>(std::count_if(cases.begin(), cases.end(), [s](const CaseResult& c) { return c.status == s; }));
}

}  // namespace meshsim::reports
