// On a real X server (Xvfb, started by gui/tests/with_xvfb): opens the default
// scenario in meshsim-gui's window, seeks past the STRICT switch, takes a
// screenshot of the screen from the X server, and checks it structurally —
// the legacy client's edge is red where the scene draws it, its label plate
// holds the failed-edge text colour, and the label says plaintext and failed.
// Before the switch the same pixels are not red (so the check can fail).
#include <gtest/gtest.h>

#include <QApplication>
#include <QGuiApplication>
#include <QImage>
#include <QScreen>
#include <QTest>
#include <cstdlib>

#include "gui/model/viewer_session.h"
#include "gui/view/graph_scene.h"
#include "gui/view/main_window.h"
#include "sim/scenario/scenario.h"

namespace meshsim::gui {
namespace {

constexpr int64_t kS = 1'000'000'000;

struct Shot {
  int red_line_samples = 0;
  int red_text_pixels = 0;
  std::string label;
};

Shot screenshot_at(MainWindow& w, int64_t t) {
  w.seek(t);
  const GraphModel& m = w.session().model();
  int from = m.find_node("workload/legacy/sleep"), to = m.find_node("service/default/productpage");
  EXPECT_GE(from, 0);
  int e = m.find_edge(static_cast<size_t>(from), static_cast<size_t>(to));
  EXPECT_GE(e, 0);
  Shot s;
  if (e < 0) return s;
  EdgeItem* item = w.scene().edge_item(e);
  w.view().resetTransform();
  w.view().centerOn(item->point_at(0.5));
  QCoreApplication::processEvents();
  QTest::qWait(200);
  QImage screen = QGuiApplication::primaryScreen()->grabWindow(0).toImage();  // the X server's root window
  EXPECT_FALSE(screen.isNull());
  auto global = [&](QPointF scene_point) {
    return w.view().viewport()->mapToGlobal(w.view().mapFromScene(scene_point));
  };
  for (double f : {0.1, 0.15, 0.2, 0.25, 0.3}) {
    QPoint p = global(item->point_at(f));
    QColor c = screen.pixelColor(p);
    s.red_line_samples += c.red() > 150 && c.green() < 110 && c.blue() < 110;
  }
  // The label plate around the middle: text in the failed colour (#b71c1c).
  QPoint mid = global(item->point_at(0.5));
  for (int dy = -14; dy <= 14; ++dy) {
    for (int dx = -80; dx <= 80; ++dx) {
      QPoint p = mid + QPoint(dx, dy);
      if (!screen.rect().contains(p)) continue;
      QColor c = screen.pixelColor(p);
      s.red_text_pixels += c.red() > 120 && c.green() < 90 && c.blue() < 90;
    }
  }
  s.label = item->view().label;
  return s;
}

TEST(Xvfb, ScreenshotShowsTheLegacyEdgeRedAndLabelledPlaintextFailedAfterStrict) {
  ASSERT_NE(std::getenv("DISPLAY"), nullptr) << "run through gui/tests/with_xvfb";
  qputenv("QT_QPA_PLATFORM", "xcb");
  int argc = 1;
  char name[] = "gui_xvfb_screenshot_test";
  char* argv[] = {name, nullptr};
  QApplication app(argc, argv);
  ASSERT_EQ(QGuiApplication::platformName(), "xcb");
  sim::ScenarioLoad l = sim::load_scenario(std::string(MESHSIM_SOURCE_DIR) + "/scenarios/bookinfo-migration.yaml");
  ASSERT_TRUE(l.scenario.has_value());
  auto v = ViewerSession::open_live(*l.scenario);  // the default scenario, as `meshsim gui` opens it
  ASSERT_TRUE(v.ok()) << v.message();
  MainWindow w(std::move(*v));
  w.resize(1400, 900);
  w.move(0, 0);
  w.show();
  ASSERT_TRUE(QTest::qWaitForWindowExposed(&w));

  Shot before = screenshot_at(w, 50 * kS);
  EXPECT_EQ(before.red_line_samples, 0) << "plaintext but working: slate, not red";
  EXPECT_NE(before.label.find("plaintext"), std::string::npos) << before.label;
  EXPECT_EQ(before.label.find("failed"), std::string::npos) << before.label;

  Shot after = screenshot_at(w, 75 * kS);
  EXPECT_GE(after.red_line_samples, 4) << "the legacy edge is red after the STRICT switch";
  EXPECT_GT(after.red_text_pixels, 20) << "its label is written in the failed colour";
  EXPECT_NE(after.label.find("plaintext"), std::string::npos) << after.label;
  EXPECT_NE(after.label.find("failed"), std::string::npos) << after.label;
}

}  // namespace
}  // namespace meshsim::gui
