#include "gui/model/layout.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace meshsim::gui {

namespace {

constexpr double kPad = 30;          // inside a namespace box, around its columns
constexpr double kHeader = 34;       // the box's title
constexpr double kColumnGap = 300;   // between the workload and the service column (room for edge labels)
constexpr double kRowGap = 26;
constexpr double kBoxGap = 120;      // between namespace boxes
constexpr double kMaxRowWidth = 3200;

}  // namespace

GraphLayout layout_graph(const GraphModel& model) {
  GraphLayout l;
  const auto& nodes = model.nodes();
  const auto& spaces = model.namespaces();
  l.node_center.resize(nodes.size());
  l.namespace_box.resize(spaces.size());
  const double w = GraphLayout::kNodeWidth, h = GraphLayout::kNodeHeight;
  const double step_y = h + kRowGap, step_x = w + kColumnGap;

  // External nodes: one column at the left.
  std::vector<size_t> external;
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (nodes[i].ns.empty()) external.push_back(i);
  }
  // In creation order, left of x = 0: a host the run discovers later never moves what is placed.
  const double x0 = 0;
  for (size_t k = 0; k < external.size(); ++k) {
    l.node_center[external[k]] = {-kBoxGap - w / 2, kHeader + kPad + h / 2 + static_cast<double>(k) * step_y};
  }

  // Namespace order: client-only namespaces first, then by name.
  std::vector<size_t> order(spaces.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  auto has_services = [&](size_t ns) {
    for (size_t n : spaces[ns].nodes) {
      if (nodes[n].kind == NodeKind::kService) return true;
    }
    return false;
  };
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    bool sa = has_services(a), sb = has_services(b);
    if (sa != sb) return !sa;
    return spaces[a].name < spaces[b].name;
  });

  double x = x0, y = 0, row_height = 0;
  for (size_t ns : order) {
    std::vector<size_t> workloads, services;
    for (size_t n : spaces[ns].nodes) (nodes[n].kind == NodeKind::kService ? services : workloads).push_back(n);
    auto by_name = [&](size_t a, size_t b) { return nodes[a].name < nodes[b].name; };
    std::sort(workloads.begin(), workloads.end(), by_name);
    std::sort(services.begin(), services.end(), by_name);
    const int rows = GraphLayout::kRowsPerColumn;
    auto columns = [&](size_t count) { return static_cast<int>((count + rows - 1) / rows); };
    int wc = columns(workloads.size()), sc = columns(services.size());
    int used_rows = static_cast<int>(std::min<size_t>(std::max(workloads.size(), services.size()), rows));
    int total_columns = std::max(1, wc + sc);
    // Wide enough for the title ("namespace NAME  (no sidecars)", ~7.5 px a character).
    double title_w = 2 * kPad + 7.5 * static_cast<double>(spaces[ns].name.size() + 26);
    double box_w = std::max(title_w, 2 * kPad + total_columns * w + (total_columns - 1) * kColumnGap);
    double box_h = kHeader + 2 * kPad + std::max(1, used_rows) * step_y - kRowGap;
    if (x > x0 && x + box_w > kMaxRowWidth) {
      x = x0;
      y += row_height + kBoxGap;
      row_height = 0;
    }
    l.namespace_box[ns] = {x, y, box_w, box_h};
    auto place = [&](const std::vector<size_t>& list, int first_column) {
      for (size_t k = 0; k < list.size(); ++k) {
        int col = first_column + static_cast<int>(k / rows);
        int row = static_cast<int>(k % rows);
        l.node_center[list[k]] = {x + kPad + col * step_x + w / 2, y + kHeader + kPad + row * step_y + h / 2};
      }
    };
    place(workloads, 0);
    place(services, wc);
    x += box_w + kBoxGap;
    row_height = std::max(row_height, box_h);
  }
  // Bounds over everything placed.
  double minx = 0, miny = 0, maxx = 0, maxy = 0;
  bool any = false;
  auto grow = [&](double ax, double ay, double bx, double by) {
    if (!any) minx = ax, miny = ay, maxx = bx, maxy = by, any = true;
    minx = std::min(minx, ax), miny = std::min(miny, ay), maxx = std::max(maxx, bx), maxy = std::max(maxy, by);
  };
  for (const auto& b : l.namespace_box) grow(b.x, b.y, b.x + b.w, b.y + b.h);
  for (const auto& c : l.node_center) grow(c.x - w / 2, c.y - h / 2, c.x + w / 2, c.y + h / 2);
  l.bounds = {minx, miny, maxx - minx, maxy - miny};
  return l;
}

EdgeGeometry edge_geometry(const LayoutPoint& a, const LayoutPoint& b) {
  // Clip the centre line to each node's rectangle.
  auto clip = [](const LayoutPoint& c, double dx, double dy) {
    const double hw = GraphLayout::kNodeWidth / 2, hh = GraphLayout::kNodeHeight / 2;
    double tx = dx != 0 ? hw / std::abs(dx) : 1e18, ty = dy != 0 ? hh / std::abs(dy) : 1e18;
    double t = std::min({tx, ty, 1.0});
    return LayoutPoint{c.x + dx * t, c.y + dy * t};
  };
  double dx = b.x - a.x, dy = b.y - a.y;
  EdgeGeometry g;
  g.from = clip(a, dx, dy);
  g.to = clip(b, -dx, -dy);
  g.middle = {(g.from.x + g.to.x) / 2, (g.from.y + g.to.y) / 2};
  return g;
}

}  // namespace meshsim::gui
