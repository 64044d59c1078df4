// JUnit XML in the Ant/Jenkins schema (testsuites > testsuite > testcase with
// failure / error / skipped children), one <testsuite> per suite. classname
// and name are stable across runs (suite.scenario, expectation or scenario
// name) so CI can track a case's history. Failure messages state expected vs
// actual. Written atomically: a temporary file renamed into place.
#pragma once

#include <string>
#include <string_view>

#include "proxy/base/result.h"
#include "reports/run_record.h"

namespace meshsim::reports {

// Escapes text for XML and HTML character data and attribute values; control
// characters XML 1.0 forbids (even escaped) become "?".
std::string xml_escape(std::string_view s);

std::string render_junit(const RunRecord& run);
Status write_junit(const RunRecord& run, const std::string& path);

// Writes `content` to path via a temporary file in the same directory and a
// rename, so a reader never sees half a file.
Status write_file_atomically(const std::string& path, const std::string& content);

}  // namespace meshsim::reports
