#include "gui/view/export.h"

#include <QBuffer>
#include <QFile>
#include <QImage>
#include <QPainter>
#include <QSvgGenerator>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "gui/model/graph_model.h"
#include "gui/view/graph_scene.h"

namespace meshsim::gui {

namespace {

std::string suffix(const std::string& path) {
  size_t dot = path.rfind('.');
  if (dot == std::string::npos) return "";
  std::string s = path.substr(dot + 1);
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

Status write_whole(const std::string& path, const QByteArray& bytes) {
  std::string partial = path + ".partial";
  std::FILE* f = std::fopen(partial.c_str(), "wb");
  if (!f) return Error{path + ": cannot write: " + std::strerror(errno)};
  bool ok = std::fwrite(bytes.constData(), 1, static_cast<size_t>(bytes.size()), f) == static_cast<size_t>(bytes.size());
  ok = std::fclose(f) == 0 && ok;
  if (!ok || std::rename(partial.c_str(), path.c_str()) != 0) {
    std::remove(partial.c_str());
    return Error{path + ": cannot write: " + std::strerror(errno)};
  }
  return Status::Ok();
}

QRectF picture_rect(GraphScene& scene) { return scene.itemsBoundingRect().adjusted(-30, -30, 30, 30); }

}  // namespace

bool is_export_path(const std::string& path) {
  std::string s = suffix(path);
  return s == "svg" || s == "png" || s == "dot" || s == "json";
}

Status export_graph(const std::string& path, GraphScene& scene, const GraphModel& model) {
  std::string s = suffix(path);
  if (s == "dot") {
    std::string t = model.to_dot();
    return write_whole(path, QByteArray(t.data(), static_cast<qsizetype>(t.size())));
  }
  if (s == "json") {
    std::string t = model.to_json();
    return write_whole(path, QByteArray(t.data(), static_cast<qsizetype>(t.size())));
  }
  QRectF source = picture_rect(scene);
  // Vector output: the items paint themselves, not their cached pixmaps.
  struct Uncached {
    GraphScene& s;
    explicit Uncached(GraphScene& scene) : s(scene) { s.set_item_caching(false); }
    ~Uncached() { s.set_item_caching(true); }
  } uncached(scene);
  if (s == "svg") {
    QBuffer buffer;
    buffer.open(QIODevice::WriteOnly);
    QSvgGenerator gen;
    gen.setOutputDevice(&buffer);
    gen.setSize(source.size().toSize());
    gen.setViewBox(QRectF(QPointF(0, 0), source.size()));
    gen.setTitle("meshsim mesh graph");
    gen.setDescription(QString("at %1 s of virtual time").arg(static_cast<double>(model.now_ns()) / 1e9));
    {
      QPainter p(&gen);
      p.setRenderHint(QPainter::Antialiasing);
      scene.render(&p, QRectF(QPointF(0, 0), source.size()), source);
    }
    return write_whole(path, buffer.data());
  }
  if (s == "png") {
    QImage img(source.size().toSize(), QImage::Format_ARGB32);
    img.fill(Qt::white);
    {
      QPainter p(&img);
      p.setRenderHint(QPainter::Antialiasing);
      p.setRenderHint(QPainter::TextAntialiasing);
      scene.render(&p, QRectF(QPointF(0, 0), source.size()), source);
    }
    QByteArray bytes;
    QBuffer buffer(&bytes);
    buffer.open(QIODevice::WriteOnly);
    if (!img.save(&buffer, "PNG")) return Error{path + ": cannot encode the PNG"};
    return write_whole(path, bytes);
  }
  return Error{path + ": unknown export format (write .svg, .png, .dot or .json)"};
}

}  // namespace meshsim::gui
