#include "gui/view/graph_scene.h"

#include <QGraphicsSceneMouseEvent>
#include <QFontMetricsF>
#include <QPainter>
#include <QPainterPath>
#include <QStyleOptionGraphicsItem>
#include <QTransform>
#include <cmath>

namespace meshsim::gui {

namespace {

constexpr double kW = GraphLayout::kNodeWidth, kH = GraphLayout::kNodeHeight;

QColor edge_color(const EdgeView& v) {
  QColor c;
  switch (v.health) {
    case Health::kFailed: c = QColor(0xd3, 0x2f, 0x2f); break;
    case Health::kDegraded: c = QColor(0xf4, 0x51, 0x1e); break;
    default:
      switch (v.mtls) {
        case MtlsState::kFull: c = QColor(0x2e, 0x7d, 0x32); break;
        case MtlsState::kPartial: c = QColor(0xf9, 0xa8, 0x25); break;
        case MtlsState::kNone: c = QColor(0x45, 0x5a, 0x64); break;
        case MtlsState::kUnknown: c = QColor(0x9e, 0x9e, 0x9e); break;
      }
  }
  if (v.health == Health::kIdle) c.setAlpha(120);
  return c;
}

}  // namespace

// ---- NodeItem ---------------------------------------------------------------

NodeItem::NodeItem(const GraphNode& node, int index) : node_(node), index_(index) {
  setFlag(ItemIsMovable);
  setFlag(ItemIsSelectable);
  setFlag(ItemSendsGeometryChanges);
  setCacheMode(DeviceCoordinateCache);
  setZValue(2);
  QString tip = QString::fromStdString(node_.id);
  for (const auto& p : node_.pod_names) tip += "\n  pod " + QString::fromStdString(p);
  setToolTip(tip);
}

QRectF NodeItem::boundingRect() const { return QRectF(-kW / 2 - 2, -kH / 2 - 2, kW + 4, kH + 4); }

void NodeItem::paint(QPainter* p, const QStyleOptionGraphicsItem*, QWidget*) {
  QRectF r(-kW / 2, -kH / 2, kW, kH);
  QColor fill = node_.kind == NodeKind::kService ? QColor(0xe3, 0xf2, 0xfd)
                : node_.kind == NodeKind::kExternal ? QColor(0xf3, 0xe5, 0xf5)
                                                     : QColor(0xff, 0xff, 0xff);
  p->setPen(QPen(isSelected() ? QColor(0x15, 0x65, 0xc0) : QColor(0x60, 0x60, 0x60), isSelected() ? 2.5 : 1.2));
  p->setBrush(fill);
  if (node_.kind == NodeKind::kService) p->drawRoundedRect(r, kH / 2, kH / 2);
  else p->drawRoundedRect(r, 6, 6);
  QFont f = p->font();
  f.setPointSizeF(9);
  f.setBold(true);
  p->setFont(f);
  p->setPen(Qt::black);
  QString title = QString::fromStdString(node_.name);
  p->drawText(r.adjusted(6, 4, -6, -kH / 2), Qt::AlignCenter, p->fontMetrics().elidedText(title, Qt::ElideMiddle, static_cast<int>(kW - 12)));
  f.setBold(false);
  f.setPointSizeF(7.5);
  p->setFont(f);
  QString sub;
  if (node_.kind == NodeKind::kWorkload) {
    sub = QString("%1 pod%2").arg(node_.pods).arg(node_.pods == 1 ? "" : "s");
    QString badge = node_.sidecar ? "sidecar" : "no sidecar";
    if (node_.ambient_label) badge += " · ambient label";
    // The badge: green for a sidecar, grey without.
    QRectF b(r.center().x() - 4, r.bottom() - 20, kW / 2 - 4, 15);
    p->setPen(Qt::NoPen);
    p->setBrush(node_.sidecar ? QColor(0xc8, 0xe6, 0xc9) : QColor(0xe0, 0xe0, 0xe0));
    p->drawRoundedRect(b, 4, 4);
    p->setPen(Qt::black);
    p->drawText(b, Qt::AlignCenter, badge);
    p->drawText(QRectF(r.left() + 6, r.bottom() - 20, kW / 2 - 8, 15), Qt::AlignLeft | Qt::AlignVCenter, sub);
  } else if (node_.kind == NodeKind::kService) {
    QString ports;
    for (uint32_t port : node_.ports) ports += (ports.isEmpty() ? "service :" : ", :") + QString::number(port);
    p->drawText(r.adjusted(6, kH / 2, -6, -4), Qt::AlignCenter, ports.isEmpty() ? "service" : ports);
  } else {
    p->drawText(r.adjusted(6, kH / 2, -6, -4), Qt::AlignCenter, "outside the mesh");
  }
}

QVariant NodeItem::itemChange(GraphicsItemChange change, const QVariant& value) {
  if (change == ItemPositionHasChanged) {
    for (EdgeItem* e : edges_) e->adjust();
  }
  return QGraphicsItem::itemChange(change, value);
}

// ---- EdgeItem ---------------------------------------------------------------

EdgeItem::EdgeItem(int index, NodeItem* from, NodeItem* to) : index_(index), from_(from), to_(to) {
  setZValue(1);
  setAcceptedMouseButtons(Qt::LeftButton);
  from_->add_edge(this);
  to_->add_edge(this);
  adjust();
}

void EdgeItem::adjust() {
  prepareGeometryChange();
  EdgeGeometry g = edge_geometry({from_->pos().x(), from_->pos().y()}, {to_->pos().x(), to_->pos().y()});
  a_ = QPointF(g.from.x, g.from.y);
  b_ = QPointF(g.to.x, g.to.y);
  if (label_) label_->setPos((a_ + b_) / 2);
}

void EdgeItem::set_view(const EdgeView& v) {
  bool label_changed = v.label != view_.label;
  bool look_changed = label_changed || v.health != view_.health || v.mtls != view_.mtls;
  view_ = v;
  if (label_changed) {
    setToolTip(QString::fromStdString(v.label));
    if (label_) {
      QFont f;
      f.setPointSizeF(7.5);
      f.setBold(true);  // the widest the label gets
      QFontMetricsF fm(f);
      label_->set_text_size(fm.boundingRect(QRectF(0, 0, 600, 80), Qt::AlignCenter, QString::fromStdString(v.label)).size());
    }
  }
  update();
  if (label_ && look_changed) label_->update();
}

void EdgeItem::set_phase(double phase) {
  if (phase == phase_) return;
  phase_ = phase;
  update();
}

QColor EdgeItem::color() const { return edge_color(view_); }

QPointF EdgeItem::point_at(double f) const { return a_ + (b_ - a_) * f; }

QRectF EdgeItem::boundingRect() const { return QRectF(a_, b_).normalized().adjusted(-14, -14, 14, 14); }

QPainterPath EdgeItem::shape() const {
  QPainterPath line(a_);
  line.lineTo(b_);
  QPainterPathStroker s;
  s.setWidth(12);
  return s.createStroke(line);
}

void EdgeItem::paint(QPainter* p, const QStyleOptionGraphicsItem*, QWidget*) {
  QColor c = color();
  double width = 2.5 + std::min(4.0, std::log2(1 + view_.rate_per_s));
  if (view_.flashing) {
    QColor halo(0xff, 0x17, 0x44, 70);
    p->setPen(QPen(halo, width + 10, Qt::SolidLine, Qt::RoundCap));
    p->drawLine(a_, b_);
  }
  Qt::PenStyle style = view_.health == Health::kFailed || view_.health == Health::kDegraded || view_.mtls == MtlsState::kFull
                           ? Qt::SolidLine
                           : Qt::DashLine;
  p->setPen(QPen(c, width, style, Qt::FlatCap));
  p->drawLine(a_, b_);
  // Arrow head at the destination.
  QLineF line(a_, b_);
  if (line.length() > 1) {
    QPointF dir = (b_ - a_) / line.length();
    QPointF normal(-dir.y(), dir.x());
    QPolygonF head;
    head << b_ << b_ - dir * 12 + normal * 6 << b_ - dir * 12 - normal * 6;
    p->setPen(Qt::NoPen);
    p->setBrush(c);
    p->drawPolygon(head);
    // Flow: dots moving towards the destination while the clock runs.
    if (phase_ >= 0 && view_.rate_per_s > 0) {
      int dots = std::max(1, std::min(6, static_cast<int>(line.length() / 90)));
      p->setBrush(c.darker(130));
      for (int i = 0; i < dots; ++i) {
        double f = std::fmod(phase_ + static_cast<double>(i) / dots, 1.0);
        if (f < 0.52 && f > 0.48) continue;  // keep the label clear
        p->drawEllipse(point_at(f), 3.5, 3.5);
      }
    }
  }
}

void EdgeItem::set_label(EdgeLabelItem* l) {
  label_ = l;
  adjust();
}

void EdgeLabelItem::set_text_size(QSizeF s) {
  QRectF r(-s.width() / 2 - 4, -s.height() / 2 - 2, s.width() + 8, s.height() + 4);
  if (r == rect_) return;
  prepareGeometryChange();
  rect_ = r;
}

void EdgeLabelItem::paint(QPainter* p, const QStyleOptionGraphicsItem*, QWidget*) {
  const EdgeView& v = edge_->view();
  QColor c = edge_->color();
  QFont f = p->font();
  f.setPointSizeF(7.5);
  f.setBold(v.health == Health::kFailed);
  p->setFont(f);
  QString text = QString::fromStdString(v.label);
  p->setPen(QPen(c, 1));
  p->setBrush(QColor(255, 255, 255, 225));
  p->drawRoundedRect(rect_, 4, 4);
  p->setPen(v.health == Health::kFailed ? QColor(0xb7, 0x1c, 0x1c) : QColor(0x21, 0x21, 0x21));
  p->drawText(rect_, Qt::AlignCenter, text);
}

// ---- NamespaceItem ----------------------------------------------------------

NamespaceItem::NamespaceItem(const GraphNamespace& ns, const LayoutRect& box)
    : title_("namespace " + QString::fromStdString(ns.name)), injection_(ns.injection), rect_(box.x, box.y, box.w, box.h) {
  setZValue(0);
}

QRectF NamespaceItem::boundingRect() const { return rect_.adjusted(-1, -1, 1, 1); }

void NamespaceItem::paint(QPainter* p, const QStyleOptionGraphicsItem*, QWidget*) {
  p->setPen(QPen(QColor(0x90, 0xa4, 0xae), 1.5, Qt::DashLine));
  p->setBrush(injection_ ? QColor(0xf1, 0xf8, 0xe9) : QColor(0xfa, 0xfa, 0xfa));
  p->drawRoundedRect(rect_, 10, 10);
  QFont f = p->font();
  f.setPointSizeF(10);
  f.setBold(true);
  p->setFont(f);
  p->setPen(QColor(0x37, 0x47, 0x4f));
  p->drawText(rect_.adjusted(12, 6, -12, 0), Qt::AlignLeft | Qt::AlignTop,
              title_ + (injection_ ? "  (sidecars)" : "  (no sidecars)"));
}

// ---- GraphScene -------------------------------------------------------------

GraphScene::GraphScene(QObject* parent) : QGraphicsScene(parent) {
  setItemIndexMethod(QGraphicsScene::NoIndex);
  setBackgroundBrush(Qt::white);
}

void GraphScene::rebuild(const GraphModel& model) {
  clear();
  nodes_.clear();
  edges_.clear();
  edge_versions_.clear();
  layout_ = layout_graph(model);
  for (size_t i = 0; i < model.namespaces().size(); ++i) addItem(new NamespaceItem(model.namespaces()[i], layout_.namespace_box[i]));
  for (size_t n = 0; n < model.nodes().size(); ++n) ensure_node(model, n);
  revision_ = ~uint64_t{0};
  refresh(model);
  setSceneRect(QRectF(layout_.bounds.x - 200, layout_.bounds.y - 200, layout_.bounds.w + 400, layout_.bounds.h + 400));
}

NodeItem* GraphScene::ensure_node(const GraphModel& model, size_t n) {
  if (n < nodes_.size() && nodes_[n]) return nodes_[n];
  if (n >= layout_.node_center.size()) {
    // A node the run discovered (an external host): placed where the layout of
    // the grown model puts it, which leaves every other node where it was.
    GraphLayout grown = layout_graph(model);
    size_t old = layout_.node_center.size();
    layout_.node_center.resize(model.nodes().size());
    for (size_t i = old; i < model.nodes().size(); ++i) layout_.node_center[i] = grown.node_center[i];
  }
  if (nodes_.size() <= n) nodes_.resize(n + 1, nullptr);
  auto* item = new NodeItem(model.nodes()[n], static_cast<int>(n));
  item->setPos(layout_.node_center[n].x, layout_.node_center[n].y);
  addItem(item);
  nodes_[n] = item;
  return item;
}

void GraphScene::refresh(const GraphModel& model) {
  if (model.revision() == revision_) return;
  revision_ = model.revision();
  for (size_t n = nodes_.size(); n < model.nodes().size(); ++n) ensure_node(model, n);
  const auto& edges = model.edges();
  for (size_t e = edges_.size(); e < edges.size(); ++e) {
    auto* item = new EdgeItem(static_cast<int>(e), ensure_node(model, edges[e].from), ensure_node(model, edges[e].to));
    item->set_phase(phase_);
    addItem(item);
    auto* label = new EdgeLabelItem(item);
    addItem(label);
    item->set_label(label);
    edges_.push_back(item);
  }
  // After a seek backwards the model may not have reached edges (or hosts)
  // the scene already shows: those are hidden until the model has them again.
  // The model creates them in stream order, so indices always agree.
  for (size_t e = 0; e < edges_.size(); ++e) {
    bool present = e < edges.size();
    edges_[e]->setVisible(present);
    if (edges_[e]->label()) edges_[e]->label()->setVisible(present);
  }
  for (size_t n = 0; n < nodes_.size(); ++n) {
    if (nodes_[n]) nodes_[n]->setVisible(n < model.nodes().size());
  }
  edge_versions_.resize(edges.size(), ~uint64_t{0});
  for (size_t e = 0; e < edges.size(); ++e) {
    // A view changes only with its window — or while a failure flashes.
    bool flashing = edges_[e]->view().flashing ||
                    (edges[e].last_failure_at_ns >= 0 && model.now_ns() - edges[e].last_failure_at_ns < GraphModel::kFlashNs);
    if (edges[e].version == edge_versions_[e] && !flashing) continue;
    edge_versions_[e] = edges[e].version;
    edges_[e]->set_view(model.edge_view(e));
  }
}

void GraphScene::set_item_caching(bool on) {
  QGraphicsItem::CacheMode mode = on ? QGraphicsItem::DeviceCoordinateCache : QGraphicsItem::NoCache;
  for (NodeItem* n : nodes_) {
    if (n) n->setCacheMode(mode);
  }
  for (EdgeItem* e : edges_) {
    if (e->label()) e->label()->setCacheMode(mode);
  }
}

void GraphScene::set_phase(double phase) {
  phase_ = phase;
  for (EdgeItem* e : edges_) e->set_phase(phase);
}

EdgeItem* GraphScene::edge_item(int edge) const {
  return edge >= 0 && static_cast<size_t>(edge) < edges_.size() ? edges_[static_cast<size_t>(edge)] : nullptr;
}

NodeItem* GraphScene::node_item(int node) const {
  return node >= 0 && static_cast<size_t>(node) < nodes_.size() ? nodes_[static_cast<size_t>(node)] : nullptr;
}

void GraphScene::mousePressEvent(QGraphicsSceneMouseEvent* e) {
  QGraphicsScene::mousePressEvent(e);
  for (QGraphicsItem* item : items(e->scenePos())) {
    if (item->type() == NodeItem::Type) {
      emit nodeActivated(static_cast<NodeItem*>(item)->index());
      return;
    }
    if (item->type() == EdgeItem::Type) {
      emit edgeActivated(static_cast<EdgeItem*>(item)->index());
      return;
    }
    if (item->type() == EdgeLabelItem::Type) {
      emit edgeActivated(static_cast<const EdgeLabelItem*>(item)->edge()->index());
      return;
    }
  }
}

}  // namespace meshsim::gui
