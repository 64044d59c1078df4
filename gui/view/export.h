// Writes the graph at the model's current time: .svg and .png render the
// scene (what the window shows, without the window), .dot and .json are the
// model's own text (GraphModel::to_dot / to_json). Files are written whole or
// not at all (PATH.partial, renamed). Errors name the path.
#pragma once

#include <string>

#include "proxy/base/result.h"

namespace meshsim::gui {

class GraphModel;
class GraphScene;

// True when `path` ends in a format export_graph writes.
bool is_export_path(const std::string& path);
Status export_graph(const std::string& path, GraphScene& scene, const GraphModel& model);

}  // namespace meshsim::gui
