#include "sim/net/keylog.h"

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "sim/simulator.h"

namespace meshsim::sim {
namespace {

bool is_hex(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// "<LABEL> <hex> <hex>", LABEL in upper case with underscores.
bool valid_line(std::string_view line) {
  size_t a = line.find(' ');
  if (a == std::string_view::npos || a == 0) return false;
  size_t b = line.find(' ', a + 1);
  if (b == std::string_view::npos) return false;
  for (char c : line.substr(0, a)) {
    if (!(std::isupper(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '_')) return false;
  }
  return is_hex(line.substr(a + 1, b - a - 1)) && is_hex(line.substr(b + 1));
}

}  // namespace

KeyLogSink::KeyLogSink(std::string path) : path_(std::move(path)) {}

KeyLogSink::~KeyLogSink() {
  if (sim_) sim_->unsubscribe(token_);
}

void KeyLogSink::attach(Simulator& sim) {
  sim_ = &sim;
  token_ = sim.subscribe([this](const Observation& o) { on_observation(o); });
}

void KeyLogSink::add_line(std::string_view line) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (!valid_line(line)) {
    ++rejected_;
    return;
  }
  lines_.emplace_back(line);
}

void KeyLogSink::on_observation(const Observation& o) {
  if (const auto* k = std::get_if<KeyLogLine>(&o.payload)) add_line(k->line);
}

Status KeyLogSink::finish() {
  if (sim_) {
    sim_->unsubscribe(token_);
    sim_ = nullptr;
  }
  std::string partial = path_ + ".partial";
  FILE* f = std::fopen(partial.c_str(), "w");
  if (!f) return Error{path_ + ": " + std::strerror(errno)};
  bool ok = true;
  for (const std::string& l : lines_) {
    ok = ok && std::fwrite(l.data(), 1, l.size(), f) == l.size() && std::fputc('\n', f) != EOF;
  }
  ok = (std::fclose(f) == 0) && ok;
  if (!ok || std::rename(partial.c_str(), path_.c_str()) != 0) {
    int e = errno;
    std::remove(partial.c_str());
    return Error{path_ + ": " + std::strerror(e)};
  }
  return Status::Ok();
}

}  // namespace meshsim::sim
