#include "gui/view/timeline_widget.h"

#include <QMouseEvent>
#include <QPainter>
#include <algorithm>
#include <cstdlib>

namespace meshsim::gui {

namespace {
constexpr int kMargin = 12;

QColor mark_color(TimelineMark::Kind k) {
  switch (k) {
    case TimelineMark::Kind::kConfig: return QColor(0x15, 0x65, 0xc0);
    case TimelineMark::Kind::kFault: return QColor(0x6a, 0x1b, 0x9a);
    case TimelineMark::Kind::kFailure: return QColor(0xd3, 0x2f, 0x2f);
    case TimelineMark::Kind::kRecovery: return QColor(0x2e, 0x7d, 0x32);
  }
  return Qt::black;
}
}  // namespace

TimelineWidget::TimelineWidget(QWidget* parent) : QWidget(parent) {
  setMinimumHeight(56);
  setMouseTracking(true);
}

void TimelineWidget::set_range(int64_t end_ns) {
  end_ns_ = std::max<int64_t>(1, end_ns);
  update();
}

void TimelineWidget::set_marks(const std::vector<TimelineMark>& marks) {
  if (marks.size() == marks_.size()) return;  // marks only ever grow between rebuilds
  marks_ = marks;
  update();
}

void TimelineWidget::set_cursor(int64_t now_ns, int64_t simulated_ns) {
  now_ns_ = now_ns;
  simulated_ns_ = simulated_ns;
  update();
}

int TimelineWidget::x_of(int64_t t) const {
  double f = static_cast<double>(std::clamp<int64_t>(t, 0, end_ns_)) / static_cast<double>(end_ns_);
  return kMargin + static_cast<int>(f * (width() - 2 * kMargin));
}

int64_t TimelineWidget::time_at(int x) const {
  double f = static_cast<double>(x - kMargin) / std::max(1, width() - 2 * kMargin);
  return static_cast<int64_t>(std::clamp(f, 0.0, 1.0) * static_cast<double>(end_ns_));
}

int TimelineWidget::mark_near(int x) const {
  int best = -1, best_d = 6;
  for (size_t i = 0; i < marks_.size(); ++i) {
    int d = std::abs(x_of(marks_[i].t_ns) - x);
    if (d < best_d) best = static_cast<int>(i), best_d = d;
  }
  return best;
}

void TimelineWidget::paintEvent(QPaintEvent*) {
  QPainter p(this);
  p.setRenderHint(QPainter::Antialiasing);
  p.fillRect(rect(), QColor(0xfa, 0xfa, 0xfa));
  int axis_y = height() / 2 + 6;
  // Simulated so far, and the whole run.
  p.fillRect(QRect(kMargin, axis_y - 3, width() - 2 * kMargin, 6), QColor(0xe0, 0xe0, 0xe0));
  p.fillRect(QRect(kMargin, axis_y - 3, x_of(simulated_ns_) - kMargin, 6), QColor(0x90, 0xca, 0xf9));
  // Ticks every "nice" step.
  double seconds = static_cast<double>(end_ns_) / 1e9;
  double step = 1;
  for (double s : {1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 600.0, 1800.0, 3600.0, 21600.0, 86400.0}) {
    step = s;
    if (seconds / s <= 12) break;
  }
  QFont f = font();
  f.setPointSizeF(7.5);
  p.setFont(f);
  p.setPen(QColor(0x75, 0x75, 0x75));
  for (double s = 0; s <= seconds + 1e-9; s += step) {
    int x = x_of(static_cast<int64_t>(s * 1e9));
    p.drawLine(x, axis_y + 4, x, axis_y + 8);
    p.drawText(QRect(x - 30, axis_y + 8, 60, 14), Qt::AlignCenter, QString::number(s) + "s");
  }
  // Marks.
  for (const TimelineMark& m : marks_) {
    int x = x_of(m.t_ns);
    p.setPen(QPen(mark_color(m.kind), 2));
    p.drawLine(x, 6, x, axis_y);
    p.setBrush(mark_color(m.kind));
    p.drawEllipse(QPoint(x, 8), 4, 4);
  }
  // Cursor.
  int cx = x_of(now_ns_);
  p.setPen(QPen(Qt::black, 2));
  p.drawLine(cx, 2, cx, height() - 2);
}

void TimelineWidget::mousePressEvent(QMouseEvent* e) {
  int x = static_cast<int>(e->position().x());
  int m = mark_near(x);
  emit seekRequested(m >= 0 ? marks_[static_cast<size_t>(m)].t_ns : time_at(x));
}

void TimelineWidget::mouseMoveEvent(QMouseEvent* e) {
  int x = static_cast<int>(e->position().x());
  if (e->buttons() & Qt::LeftButton) {
    emit seekRequested(time_at(x));
    return;
  }
  int m = mark_near(x);
  if (m >= 0) {
    const TimelineMark& mk = marks_[static_cast<size_t>(m)];
    QString tip = QString("%1s  %2").arg(static_cast<double>(mk.t_ns) / 1e9, 0, 'f', 3).arg(QString::fromStdString(mk.text));
    for (const auto& d : mk.details) tip += "\n    " + QString::fromStdString(d);
    setToolTip(tip);
  } else {
    setToolTip(QString("%1s").arg(static_cast<double>(time_at(x)) / 1e9, 0, 'f', 1));
  }
}

}  // namespace meshsim::gui
