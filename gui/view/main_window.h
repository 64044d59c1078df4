// MainWindow is meshsim-gui's window: the graph (GraphView over a
// GraphScene), the timeline, the controls (run/pause, step, speed) and the
// inspector. It drives a ViewerSession — every change of the time shown goes
// through ViewerSession::seek — and redraws the scene from the model after it.
// Keyboard: Space run/pause, → / ← step 100 ms forward / back, +/- zoom,
// F fit, Ctrl+E export. Mouse: wheel zooms, drag the background pans, drag a
// node moves it, click a node or an edge to inspect it.
#pragma once

#include <QGraphicsView>
#include <QMainWindow>
#include <memory>

#include "gui/model/viewer_session.h"

class QComboBox;
class QLabel;
class QTextBrowser;
class QTimer;
class QPushButton;
class QAction;

namespace meshsim::gui {

class GraphScene;
class TimelineWidget;

class GraphView : public QGraphicsView {
 public:
  explicit GraphView(QGraphicsScene* scene, QWidget* parent = nullptr);
  void zoom(double factor);

 protected:
  void wheelEvent(QWheelEvent* e) override;
};

class MainWindow : public QMainWindow {
  Q_OBJECT
 public:
  explicit MainWindow(std::unique_ptr<ViewerSession> session, QWidget* parent = nullptr);
  ~MainWindow() override;

  void seek(int64_t t_ns);
  void set_playing(bool on);
  bool playing() const { return playing_; }
  void set_speed(double virtual_seconds_per_second);
  void inspect_edge(int edge);
  void inspect_node(int node);
  void fit();
  ViewerSession& session() { return *session_; }
  GraphScene& scene() { return *scene_; }
  GraphView& view() { return *view_; }
  TimelineWidget& timeline() { return *timeline_; }
  QTextBrowser& inspector() { return *inspector_; }

 private:
  void tick();
  void refresh();
  void export_dialog();
  void export_flow_dialog();
  std::unique_ptr<ViewerSession> session_;
  GraphScene* scene_ = nullptr;
  GraphView* view_ = nullptr;
  TimelineWidget* timeline_ = nullptr;
  QTextBrowser* inspector_ = nullptr;
  QLabel* clock_ = nullptr;
  QComboBox* speed_box_ = nullptr;
  QAction* play_ = nullptr;
  QPushButton* flow_button_ = nullptr;
  QTimer* timer_ = nullptr;
  bool playing_ = false;
  double speed_ = 1.0;
  int inspected_edge_ = -1;
  int frame_ = 0;
};

}  // namespace meshsim::gui
