#include "gui/view/main_window.h"

#include <QAction>
#include <QComboBox>
#include <QDockWidget>
#include <QFileDialog>
#include <QLabel>
#include <QMessageBox>
#include <QPushButton>
#include <QSplitter>
#include <QStatusBar>
#include <QTextBrowser>
#include <QTimer>
#include <QToolBar>
#include <QVBoxLayout>
#include <QWheelEvent>
#include <algorithm>
#include <cmath>

#include "gui/view/export.h"
#include "gui/view/graph_scene.h"
#include "gui/view/timeline_widget.h"

namespace meshsim::gui {

namespace {
constexpr int kFrameMs = 33;                    // ~30 frames per second
constexpr int64_t kStepNs = 100'000'000;        // one step: 100 ms of virtual time
}  // namespace

GraphView::GraphView(QGraphicsScene* scene, QWidget* parent) : QGraphicsView(scene, parent) {
  setRenderHint(QPainter::Antialiasing);
  setDragMode(QGraphicsView::ScrollHandDrag);
  setViewportUpdateMode(QGraphicsView::SmartViewportUpdate);
  setTransformationAnchor(QGraphicsView::AnchorUnderMouse);
  setOptimizationFlag(QGraphicsView::DontSavePainterState);
}

void GraphView::zoom(double factor) {
  double current = transform().m11();
  double next = std::clamp(current * factor, 0.05, 6.0);
  scale(next / current, next / current);
}

void GraphView::wheelEvent(QWheelEvent* e) { zoom(std::pow(1.0015, e->angleDelta().y())); }

MainWindow::MainWindow(std::unique_ptr<ViewerSession> session, QWidget* parent)
    : QMainWindow(parent), session_(std::move(session)) {
  setWindowTitle(QString("meshsim-gui — %1%2")
                     .arg(QString::fromStdString(session_->scenario_name()))
                     .arg(session_->live() ? "" : " (recorded)"));
  scene_ = new GraphScene(this);
  view_ = new GraphView(scene_, this);
  timeline_ = new TimelineWidget(this);
  timeline_->set_range(session_->end_ns());
  auto* central = new QWidget(this);
  auto* box = new QVBoxLayout(central);
  box->setContentsMargins(0, 0, 0, 0);
  box->addWidget(view_, 1);
  box->addWidget(timeline_);
  setCentralWidget(central);

  inspector_ = new QTextBrowser(this);
  inspector_->setObjectName("inspector");
  inspector_->setLineWrapMode(QTextEdit::NoWrap);
  QFont mono("monospace");
  mono.setStyleHint(QFont::Monospace);
  mono.setPointSizeF(8.5);
  inspector_->setFont(mono);
  inspector_->setPlainText("Click an edge or a node to inspect it.");
  auto* dock = new QDockWidget("Inspector", this);
  dock->setObjectName("inspector-dock");
  auto* panel = new QWidget(dock);
  auto* panel_box = new QVBoxLayout(panel);
  panel_box->setContentsMargins(0, 0, 0, 0);
  panel_box->addWidget(inspector_, 1);
  flow_button_ = new QPushButton("Export this edge's flow (pcap + TLS key log)…", panel);
  flow_button_->setEnabled(false);
  connect(flow_button_, &QPushButton::clicked, this, &MainWindow::export_flow_dialog);
  panel_box->addWidget(flow_button_);
  dock->setWidget(panel);
  addDockWidget(Qt::RightDockWidgetArea, dock);

  QToolBar* tb = addToolBar("Time");
  tb->setObjectName("time-toolbar");
  play_ = tb->addAction("Run");
  play_->setShortcut(Qt::Key_Space);
  connect(play_, &QAction::triggered, this, [this] { set_playing(!playing_); });
  QAction* back = tb->addAction("◀ Step");
  back->setShortcut(Qt::Key_Left);
  connect(back, &QAction::triggered, this, [this] { seek(session_->now_ns() - kStepNs); });
  QAction* step = tb->addAction("Step ▶");
  step->setShortcut(Qt::Key_Right);
  connect(step, &QAction::triggered, this, [this] { seek(session_->now_ns() + kStepNs); });
  tb->addSeparator();
  tb->addWidget(new QLabel(" speed ", this));
  speed_box_ = new QComboBox(this);
  for (double s : {0.1, 0.25, 1.0, 2.0, 5.0, 10.0, 30.0}) speed_box_->addItem(QString("%1×").arg(s), s);
  speed_box_->setCurrentIndex(2);
  connect(speed_box_, &QComboBox::currentIndexChanged, this,
          [this](int i) { speed_ = speed_box_->itemData(i).toDouble(); });
  tb->addWidget(speed_box_);
  tb->addSeparator();
  QAction* fit_action = tb->addAction("Fit");
  fit_action->setShortcut(Qt::Key_F);
  connect(fit_action, &QAction::triggered, this, &MainWindow::fit);
  QAction* zin = tb->addAction("+");
  zin->setShortcuts(QList<QKeySequence>{QKeySequence(Qt::Key_Plus), QKeySequence(Qt::Key_Equal)});
  connect(zin, &QAction::triggered, this, [this] { view_->zoom(1.25); });
  QAction* zout = tb->addAction("−");
  zout->setShortcut(Qt::Key_Minus);
  connect(zout, &QAction::triggered, this, [this] { view_->zoom(0.8); });
  QAction* exp = tb->addAction("Export…");
  exp->setShortcut(QKeySequence("Ctrl+E"));
  connect(exp, &QAction::triggered, this, &MainWindow::export_dialog);
  tb->addSeparator();
  clock_ = new QLabel(this);
  clock_->setObjectName("clock");
  tb->addWidget(clock_);

  connect(timeline_, &TimelineWidget::seekRequested, this, [this](qint64 t) { seek(t); });
  connect(scene_, &GraphScene::edgeActivated, this, &MainWindow::inspect_edge);
  connect(scene_, &GraphScene::nodeActivated, this, &MainWindow::inspect_node);
  timer_ = new QTimer(this);
  timer_->setInterval(kFrameMs);
  connect(timer_, &QTimer::timeout, this, &MainWindow::tick);

  scene_->rebuild(session_->model());
  refresh();
  resize(1400, 860);
  statusBar()->showMessage(session_->live() ? "live simulation: Space runs it, the timeline seeks (deterministic replay)"
                                            : "recorded run: every seek replays the event file");
}

MainWindow::~MainWindow() = default;

void MainWindow::fit() { view_->fitInView(scene_->itemsBoundingRect().adjusted(-40, -40, 40, 40), Qt::KeepAspectRatio); }

void MainWindow::seek(int64_t t_ns) {
  session_->seek(t_ns);
  refresh();
}

void MainWindow::set_playing(bool on) {
  playing_ = on;
  play_->setText(on ? "Pause" : "Run");
  if (on) timer_->start();
  else timer_->stop();
  scene_->set_phase(on ? 0 : -1);
}

void MainWindow::set_speed(double s) { speed_ = s; }

void MainWindow::tick() {
  int64_t dt = static_cast<int64_t>(speed_ * kFrameMs * 1e6);
  if (session_->now_ns() >= session_->end_ns()) {
    set_playing(false);
    return;
  }
  seek(session_->now_ns() + dt);
  ++frame_;
  scene_->set_phase(std::fmod(frame_ * 0.03, 1.0));
}

void MainWindow::refresh() {
  const GraphModel& m = session_->model();
  scene_->refresh(m);
  timeline_->set_marks(m.marks());
  timeline_->set_cursor(m.now_ns(), session_->recording().horizon_ns());
  clock_->setText(QString(" t = %1 / %2 ")
                      .arg(QString::fromStdString(format_virtual_time(m.now_ns())))
                      .arg(QString::fromStdString(format_virtual_time(session_->end_ns()))));
  if (inspected_edge_ >= 0 && static_cast<size_t>(inspected_edge_) < m.edges().size())
    inspector_->setPlainText(QString::fromStdString(session_->edge_text(static_cast<size_t>(inspected_edge_))));
}

void MainWindow::inspect_edge(int edge) {
  const GraphModel& m = session_->model();
  if (edge < 0 || static_cast<size_t>(edge) >= m.edges().size()) return;
  inspected_edge_ = edge;
  flow_button_->setEnabled(session_->live());
  inspector_->setPlainText(QString::fromStdString(session_->edge_text(static_cast<size_t>(edge))));
}

void MainWindow::inspect_node(int node) {
  const GraphModel& m = session_->model();
  if (node < 0 || static_cast<size_t>(node) >= m.nodes().size()) return;
  inspected_edge_ = -1;
  flow_button_->setEnabled(false);
  const GraphNode& n = m.nodes()[static_cast<size_t>(node)];
  std::string text = n.id + "\n";
  if (n.kind == NodeKind::kWorkload) {
    text += std::to_string(n.pods) + " pod(s), " + (n.sidecar ? "sidecar injected" : "no sidecar") + "\n";
    if (n.ambient_label) text += "labelled istio.io/dataplane-mode=ambient — meshsim simulates sidecars, not ambient\n";
    for (const auto& pod : n.pod_names) {
      auto cfg = session_->pod_config_text(pod);
      text += "\n" + (cfg.ok() ? *cfg : cfg.message() + "\n");
    }
  } else if (n.kind == NodeKind::kService) {
    text += "service ports:";
    for (uint32_t p : n.ports) text += " " + std::to_string(p);
    text += "\nbacked by:";
    for (const auto& [svc, wl] : m.backing()) {
      if (svc == static_cast<size_t>(node)) text += " " + m.nodes()[wl].name;
    }
    text += "\n";
  } else {
    text += "a destination outside the mesh's Kubernetes services\n";
  }
  inspector_->setPlainText(QString::fromStdString(text));
}

void MainWindow::export_flow_dialog() {
  if (inspected_edge_ < 0) return;
  QString pcap = QFileDialog::getSaveFileName(this, "Export the flow as pcap", "flow.pcap", "pcap (*.pcap)");
  if (pcap.isEmpty()) return;
  QString keylog = pcap + ".keys";
  Status st = session_->export_flow(static_cast<size_t>(inspected_edge_), pcap.toStdString(), keylog.toStdString());
  if (!st.ok()) {
    QMessageBox::warning(this, "Export flow", QString::fromStdString(st.message()));
    return;
  }
  statusBar()->showMessage("wrote " + pcap + " and " + keylog + "; open with: wireshark -r " + pcap +
                           " -o tls.keylog_file:" + keylog);
}

void MainWindow::export_dialog() {
  QString path = QFileDialog::getSaveFileName(this, "Export the graph", "graph.svg",
                                              "SVG (*.svg);;PNG (*.png);;Graphviz DOT (*.dot);;JSON (*.json)");
  if (path.isEmpty()) return;
  Status st = export_graph(path.toStdString(), *scene_, session_->model());
  if (!st.ok()) QMessageBox::warning(this, "Export", QString::fromStdString(st.message()));
  else statusBar()->showMessage("wrote " + path);
}

}  // namespace meshsim::gui
