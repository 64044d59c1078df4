// GraphScene renders a GraphModel on a QGraphicsScene, the Elastic Nodes way:
// one item per namespace box, node and edge, each with its own Type; edges
// follow their nodes when the user drags one. The items hold no state of the
// run — refresh() hands each edge the EdgeView of the model's current time,
// so the scene is a snapshot of the model, redrawn when the model changes.
//
// Colours (docs/gui.md): red = failed (no request of the last 10 s
// succeeded), orange-red = failing (some did not), else by what crossed the
// wire: green solid = every judged request mTLS, amber dashed = partial (the
// label gives the plaintext share), slate dashed = plaintext, grey = not
// judged. Idle edges (no request in the window) are drawn faded.
#pragma once

#include <QColor>
#include <QGraphicsItem>
#include <QGraphicsScene>
#include <vector>

#include "gui/model/graph_model.h"
#include "gui/model/layout.h"

namespace meshsim::gui {

class EdgeItem;

// An edge's label plate, drawn above the nodes so that no node hides it; it
// sits at the middle of its edge and paints the edge's current view.
class EdgeLabelItem : public QGraphicsItem {
 public:
  enum { Type = UserType + 4 };
  explicit EdgeLabelItem(const EdgeItem* edge) : edge_(edge) {
    setZValue(4);
    setCacheMode(DeviceCoordinateCache);  // repainted only when the label changes
  }
  int type() const override { return Type; }
  const EdgeItem* edge() const { return edge_; }
  void set_text_size(QSizeF s);
  QRectF boundingRect() const override { return rect_; }
  void paint(QPainter* p, const QStyleOptionGraphicsItem* option, QWidget* widget) override;

 private:
  const EdgeItem* edge_;
  QRectF rect_;
};

class NodeItem : public QGraphicsItem {
 public:
  enum { Type = UserType + 1 };
  NodeItem(const GraphNode& node, int index);
  int type() const override { return Type; }
  int index() const { return index_; }
  void add_edge(EdgeItem* e) { edges_.push_back(e); }
  QRectF boundingRect() const override;
  void paint(QPainter* p, const QStyleOptionGraphicsItem* option, QWidget* widget) override;

 protected:
  QVariant itemChange(GraphicsItemChange change, const QVariant& value) override;

 private:
  GraphNode node_;
  int index_;
  std::vector<EdgeItem*> edges_;
};

class EdgeItem : public QGraphicsItem {
 public:
  enum { Type = UserType + 2 };
  EdgeItem(int index, NodeItem* from, NodeItem* to);
  // The label item (owned by the scene); created with the edge.
  EdgeLabelItem* label() const { return label_; }
  void set_label(EdgeLabelItem* l);
  int type() const override { return Type; }
  int index() const { return index_; }
  // Recomputes the geometry from the nodes' positions.
  void adjust();
  void set_view(const EdgeView& v);
  const EdgeView& view() const { return view_; }
  // 0..1: where the flow dots are (animation); negative hides them.
  void set_phase(double phase);
  QColor color() const;
  // Scene position of a point on the line, `fraction` of the way from the source.
  QPointF point_at(double fraction) const;
  QRectF boundingRect() const override;
  QPainterPath shape() const override;
  void paint(QPainter* p, const QStyleOptionGraphicsItem* option, QWidget* widget) override;

 private:
  int index_;
  NodeItem* from_;
  NodeItem* to_;
  QPointF a_, b_;
  EdgeView view_;
  double phase_ = -1;
  EdgeLabelItem* label_ = nullptr;
};

class NamespaceItem : public QGraphicsItem {
 public:
  enum { Type = UserType + 3 };
  NamespaceItem(const GraphNamespace& ns, const LayoutRect& box);
  int type() const override { return Type; }
  QRectF boundingRect() const override;
  void paint(QPainter* p, const QStyleOptionGraphicsItem* option, QWidget* widget) override;

 private:
  QString title_;
  bool injection_;
  QRectF rect_;
};

class GraphScene : public QGraphicsScene {
  Q_OBJECT
 public:
  explicit GraphScene(QObject* parent = nullptr);
  // Lays out and creates every item of the model (topology and edges).
  void rebuild(const GraphModel& model);
  // Creates items for new nodes and edges and hands every edge its view.
  void refresh(const GraphModel& model);
  void set_phase(double phase);
  // Nodes and labels are cached as pixmaps for the window's redraw; an
  // export turns that off so that SVG gets text and lines, not pictures.
  void set_item_caching(bool on);
  EdgeItem* edge_item(int edge) const;
  NodeItem* node_item(int node) const;
  const GraphLayout& layout() const { return layout_; }
  // Edge items created so far (some may be hidden after a seek backwards).
  size_t edge_count() const { return edges_.size(); }

 signals:
  void edgeActivated(int edge);
  void nodeActivated(int node);

 protected:
  void mousePressEvent(QGraphicsSceneMouseEvent* e) override;

 private:
  NodeItem* ensure_node(const GraphModel& model, size_t n);
  GraphLayout layout_;
  std::vector<NodeItem*> nodes_;
  std::vector<EdgeItem*> edges_;
  std::vector<uint64_t> edge_versions_;  // GraphEdge::version each item shows
  uint64_t revision_ = ~uint64_t{0};
  double phase_ = -1;
};

}  // namespace meshsim::gui
