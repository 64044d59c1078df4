// The automatic layout of a GraphModel: a pure function of the model's nodes
// and namespaces (never of timing or hash order), so the same run gives the
// same picture. Namespaces are boxes — those that only hold clients (no
// services) first, then by name — laid left to right and wrapped into rows;
// inside a box workloads take the left column and services the right one,
// each sorted by name and wrapped every kRowsPerColumn rows. Nodes that are not
// in a namespace (external hosts) form a column left of x = 0, in creation order,
// so a host discovered later in the run never moves a node already placed.
// The view may move nodes afterwards (dragging); the layout is where they start.
#pragma once

#include <cstddef>
#include <vector>

#include "gui/model/graph_model.h"

namespace meshsim::gui {

struct LayoutPoint {
  double x = 0, y = 0;
};
struct LayoutRect {
  double x = 0, y = 0, w = 0, h = 0;
};

struct GraphLayout {
  static constexpr double kNodeWidth = 170, kNodeHeight = 54;
  static constexpr int kRowsPerColumn = 12;
  std::vector<LayoutPoint> node_center;    // by node index
  std::vector<LayoutRect> namespace_box;   // by namespace index
  LayoutRect bounds;
};

GraphLayout layout_graph(const GraphModel& model);

// Where an edge is drawn: from the source node's border to the destination's,
// and its middle (where its label sits).
struct EdgeGeometry {
  LayoutPoint from, to, middle;
};
EdgeGeometry edge_geometry(const LayoutPoint& from_center, const LayoutPoint& to_center);

}  // namespace meshsim::gui
