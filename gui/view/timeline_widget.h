// TimelineWidget shows a run's virtual time: the axis from 0 to the end, how
// far the simulation has got, the cursor (the time shown), and one mark per
// timeline action (blue: configuration applied/deleted, purple: fault),
// failure (red: a source started failing) and recovery (green). Clicking a
// mark jumps to it; clicking elsewhere, or dragging, seeks there. It paints
// the marks it is given and holds no run state of its own.
#pragma once

#include <QWidget>
#include <cstdint>
#include <vector>

#include "gui/model/graph_model.h"

namespace meshsim::gui {

class TimelineWidget : public QWidget {
  Q_OBJECT
 public:
  explicit TimelineWidget(QWidget* parent = nullptr);
  void set_range(int64_t end_ns);
  void set_marks(const std::vector<TimelineMark>& marks);
  void set_cursor(int64_t now_ns, int64_t simulated_ns);
  QSize sizeHint() const override { return {800, 64}; }
  // The x coordinate of virtual time t, and the mark nearest to x (-1: none within 5 px).
  int x_of(int64_t t_ns) const;
  int mark_near(int x) const;
  const std::vector<TimelineMark>& marks() const { return marks_; }

 signals:
  void seekRequested(qint64 t_ns);

 protected:
  void paintEvent(QPaintEvent* e) override;
  void mousePressEvent(QMouseEvent* e) override;
  void mouseMoveEvent(QMouseEvent* e) override;

 private:
  int64_t time_at(int x) const;
  int64_t end_ns_ = 1;
  int64_t now_ns_ = 0, simulated_ns_ = 0;
  std::vector<TimelineMark> marks_;
};

}  // namespace meshsim::gui
