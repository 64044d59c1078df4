// The window on Qt's offscreen platform: the scene mirrors the model, the
// timeline seeks (a click on a mark jumps to it), the keyboard runs and steps
// the clock, clicking an edge inspects it, dragging a node takes its edges
// along, and the exported PNG/SVG show the failed legacy edge.
#include <gtest/gtest.h>
#include <unistd.h>

#include <QApplication>
#include <QFile>
#include <QImage>
#include <QTest>
#include <QTextBrowser>
#include <cstdlib>
#include <filesystem>

#include "gui/model/viewer_session.h"
#include "gui/view/export.h"
#include "gui/view/graph_scene.h"
#include "gui/view/main_window.h"
#include "gui/view/timeline_widget.h"
#include "sim/scenario/scenario.h"

namespace meshsim::gui {
namespace {

constexpr int64_t kS = 1'000'000'000;

class Widgets : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    qputenv("QT_QPA_PLATFORM", "offscreen");
    static int argc = 1;
    static char name[] = "gui_widget_tests";
    static char* argv[] = {name, nullptr};
    if (!QApplication::instance()) app_ = new QApplication(argc, argv);
  }
  void SetUp() override {
    sim::ScenarioLoad l = sim::load_scenario(std::string(MESHSIM_SOURCE_DIR) + "/scenarios/bookinfo-migration.yaml");
    ASSERT_TRUE(l.scenario.has_value());
    l.scenario->duration = Duration::seconds(80);
    auto v = ViewerSession::open_live(*l.scenario);
    ASSERT_TRUE(v.ok()) << v.message();
    window_ = std::make_unique<MainWindow>(std::move(*v));
    window_->resize(1400, 860);
    window_->show();
    ASSERT_TRUE(QTest::qWaitForWindowExposed(window_.get()));
    window_->activateWindow();
    ASSERT_TRUE(QTest::qWaitForWindowActive(window_.get()));  // shortcuts go to the active window
  }
  int legacy_edge() {
    const GraphModel& m = window_->session().model();
    int from = m.find_node("workload/legacy/sleep"), to = m.find_node("service/default/productpage");
    return from < 0 || to < 0 ? -1 : m.find_edge(static_cast<size_t>(from), static_cast<size_t>(to));
  }
  static std::string tmp(const std::string& f) {
    return (std::filesystem::temp_directory_path() / ("meshsim-gui-w-" + std::to_string(::getpid()) + "-" + f)).string();
  }
  static inline QApplication* app_ = nullptr;
  std::unique_ptr<MainWindow> window_;
};

TEST_F(Widgets, SceneHasOneItemPerNodeAndEdgeOfTheModel) {
  window_->seek(30 * kS);
  const GraphModel& m = window_->session().model();
  ASSERT_GT(m.edges().size(), 4u);
  for (size_t n = 0; n < m.nodes().size(); ++n) EXPECT_NE(window_->scene().node_item(static_cast<int>(n)), nullptr);
  EXPECT_EQ(window_->scene().edge_count(), m.edges().size());
  for (size_t e = 0; e < m.edges().size(); ++e) {
    EXPECT_EQ(window_->scene().edge_item(static_cast<int>(e))->view().label, m.edge_view(e).label);
  }
}

TEST_F(Widgets, SeekingBackHidesEdgesThatDidNotExistYet) {
  window_->seek(75 * kS);
  size_t later = window_->session().model().edges().size();
  window_->seek(600'000'000);  // 0.6 s: only the first requests have finished
  size_t early = window_->session().model().edges().size();
  ASSERT_LT(early, later);
  for (size_t e = 0; e < later; ++e) {
    EXPECT_EQ(window_->scene().edge_item(static_cast<int>(e))->isVisible(), e < early) << e;
  }
  window_->seek(75 * kS);
  for (size_t e = 0; e < later; ++e) EXPECT_TRUE(window_->scene().edge_item(static_cast<int>(e))->isVisible()) << e;
}

TEST_F(Widgets, ClickingTheStrictMarkOnTheTimelineJumpsToIt) {
  window_->seek(70 * kS);  // the mark exists once the switch has happened
  TimelineWidget& tl = window_->timeline();
  int mark = -1;
  for (size_t i = 0; i < tl.marks().size(); ++i) {
    if (tl.marks()[i].kind == TimelineMark::Kind::kConfig) mark = static_cast<int>(i);
  }
  ASSERT_GE(mark, 0);
  QTest::mouseClick(&tl, Qt::LeftButton, {}, QPoint(tl.x_of(60 * kS) + 2, tl.height() / 2));
  EXPECT_EQ(window_->session().now_ns(), 60 * kS);
  // A click away from every mark seeks to the time under the mouse.
  QTest::mouseClick(&tl, Qt::LeftButton, {}, QPoint(tl.x_of(20 * kS), tl.height() / 2));
  EXPECT_NEAR(static_cast<double>(window_->session().now_ns()), 20.0 * kS, 0.5 * kS);
}

TEST_F(Widgets, KeyboardRunsPausesAndSteps) {
  window_->seek(10 * kS);
  QTest::keyClick(window_.get(), Qt::Key_Right);
  EXPECT_EQ(window_->session().now_ns(), 10 * kS + 100'000'000);
  QTest::keyClick(window_.get(), Qt::Key_Left);
  EXPECT_EQ(window_->session().now_ns(), 10 * kS);
  QTest::keyClick(window_.get(), Qt::Key_Space);
  EXPECT_TRUE(window_->playing());
  QTest::qWait(400);
  QTest::keyClick(window_.get(), Qt::Key_Space);
  EXPECT_FALSE(window_->playing());
  EXPECT_GT(window_->session().now_ns(), 10 * kS);
}

TEST_F(Widgets, ClickingTheLegacyEdgeExplainsWhyItFails) {
  window_->seek(75 * kS);
  int e = legacy_edge();
  ASSERT_GE(e, 0);
  EdgeItem* item = window_->scene().edge_item(e);
  window_->view().centerOn(item->point_at(0.3));
  QPoint at = window_->view().mapFromScene(item->point_at(0.3));
  QTest::mouseClick(window_->view().viewport(), Qt::LeftButton, {}, at);
  QString text = window_->inspector().toPlainText();
  EXPECT_TRUE(text.contains("no filter chain on virtualInbound")) << text.toStdString();
  EXPECT_TRUE(text.contains("Connection reset by peer")) << text.toStdString();
}

TEST_F(Widgets, DraggingANodeTakesItsEdgesAlong) {
  window_->seek(30 * kS);
  int e = legacy_edge();
  ASSERT_GE(e, 0);
  EdgeItem* item = window_->scene().edge_item(e);
  QPointF before = item->point_at(0);
  NodeItem* sleep = window_->scene().node_item(window_->session().model().find_node("workload/legacy/sleep"));
  sleep->setPos(sleep->pos() + QPointF(0, 300));
  QPointF after = item->point_at(0);
  EXPECT_GT(after.y() - before.y(), 100);
}

TEST_F(Widgets, ExportedPngShowsTheFailedLegacyEdgeInRed) {
  window_->seek(75 * kS);
  std::string png = tmp("graph.png"), svg = tmp("graph.svg");
  ASSERT_TRUE(export_graph(png, window_->scene(), window_->session().model()).ok());
  ASSERT_TRUE(export_graph(svg, window_->scene(), window_->session().model()).ok());
  QImage img(QString::fromStdString(png));
  ASSERT_FALSE(img.isNull());
  // The export maps the items' bounding rectangle (plus 30 px) to the image.
  QRectF src = window_->scene().itemsBoundingRect().adjusted(-30, -30, 30, 30);
  EdgeItem* item = window_->scene().edge_item(legacy_edge());
  int red = 0;
  for (double f : {0.1, 0.15, 0.2, 0.25, 0.3}) {
    QPointF p = item->point_at(f) - src.topLeft();
    QColor c = img.pixelColor(static_cast<int>(p.x()), static_cast<int>(p.y()));
    red += c.red() > 150 && c.green() < 110 && c.blue() < 110;
  }
  EXPECT_GE(red, 4);
  QFile f(QString::fromStdString(svg));
  ASSERT_TRUE(f.open(QIODevice::ReadOnly));
  QByteArray text = f.readAll();
  EXPECT_TRUE(text.contains("<svg"));
  EXPECT_TRUE(text.contains("plaintext")) << "the edge labels are text in the SVG";
  EXPECT_TRUE(text.contains("#d32f2f")) << "the failed edge's red";
  std::filesystem::remove(png);
  std::filesystem::remove(svg);
}

}  // namespace
}  // namespace meshsim::gui
