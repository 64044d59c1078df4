#include "gui/model/recording.h"

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>

#include "sim/observation.h"
#include "sim/simulator.h"

namespace meshsim::gui {

int64_t at_ns(const Record& r) {
  return std::visit([](const auto& x) { return x.at_ns(); }, r);
}

bool Recording::add(const sim::Simulator& sim, const sim::Observation& o) {
  (void)sim;
  horizon_ns_ = std::max(horizon_ns_, o.time.ns());
  if (const auto* v = std::get_if<sim::RequestVerdictObservation>(&o.payload)) {
    RequestRecord r;
    r.published_ns = o.time.ns();
    r.end_ns = v->end_ns;
    r.call = v->source == sim::RequestVerdictObservation::Source::kCall;
    r.client = v->client;
    r.from = v->from;
    r.target = v->target;
    r.protocol = v->protocol;
    r.outcome = sim::to_string(v->outcome);
    r.http_status = v->http_status;
    r.error = v->error;
    r.latency_ns = v->latency_ns;
    r.connection = v->connection;
    r.wire = sim::to_string(v->wire);
    if (v->transition != sim::RequestVerdictObservation::Transition::kNone) r.transition = sim::to_string(v->transition);
    r.why = v->why;
    insert(std::move(r));
    return true;
  }
  if (const auto* a = std::get_if<sim::ScenarioActionObservation>(&o.payload)) {
    ActionRecord r;
    r.published_ns = o.time.ns();
    r.name = a->name;
    r.category = a->category == sim::ScenarioActionObservation::Category::kConfig ? "config" : "fault";
    r.details.assign(a->details.begin(), a->details.end());
    insert(std::move(r));
    return true;
  }
  return false;
}

void Recording::add(Record r) {
  horizon_ns_ = std::max(horizon_ns_, std::visit([](const auto& x) { return x.published_ns; }, r));
  insert(std::move(r));
}

void Recording::insert(Record r) {
  // (at, actions before requests): verdicts come in end order and actions in
  // timeline order whatever the steps, so this order is unique.
  auto key = [](const Record& x) { return std::pair<int64_t, int>(at_ns(x), x.index() == 1 ? 0 : 1); };
  auto k = key(r);
  size_t pos = records_.size();
  while (pos > 0 && key(records_[pos - 1]) > k) --pos;
  records_.insert(records_.begin() + static_cast<std::ptrdiff_t>(pos), std::move(r));
}

namespace {

constexpr std::string_view kPrefix = "{\"t_ns\":";
constexpr std::string_view kKindKey = "\"kind\":\"";

Result<Record> parse_record(std::string_view line, bool request) {
  try {
    nlohmann::json j = nlohmann::json::parse(line);
    if (request) {
      RequestRecord r;
      r.published_ns = j.at("t_ns").get<int64_t>();
      r.end_ns = j.at("end_ns").get<int64_t>();
      r.call = j.value("source", std::string("client")) == "call";
      r.client = j.value("client", std::string());
      r.from = j.at("from").get<std::string>();
      r.target = j.at("target").get<std::string>();
      r.protocol = j.value("protocol", std::string());
      r.outcome = j.at("outcome").get<std::string>();
      r.http_status = j.value("status", 0);
      r.error = j.value("error", std::string());
      r.latency_ns = j.value("latency_ns", int64_t{0});
      r.connection = j.value("connection", uint64_t{0});
      r.wire = j.value("wire", std::string("unjudged"));
      r.transition = j.value("transition", std::string());
      r.why = j.value("why", std::string());
      return Record{std::move(r)};
    }
    ActionRecord a;
    a.published_ns = j.at("t_ns").get<int64_t>();
    a.name = j.at("name").get<std::string>();
    a.category = j.value("category", std::string("config"));
    a.details = j.value("details", std::vector<std::string>{});
    return Record{std::move(a)};
  } catch (const std::exception& e) {
    return Error{e.what()};
  }
}

}  // namespace

Result<Recording> Recording::load_jsonl(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return Error{path + ": cannot read the event file: " + std::strerror(errno)};
  Recording rec;
  std::vector<char> buf(1 << 20);
  std::string carry;
  uint64_t line_no = 0;
  auto on_line = [&](std::string_view line) -> Status {
    ++line_no;
    if (line.empty()) return Status::Ok();
    if (line.substr(0, kPrefix.size()) != kPrefix)
      return Error{path + ":" + std::to_string(line_no) + ": not a meshsim --events line (docs/formats/events.md)"};
    int64_t t = 0;
    const char* p = line.data() + kPrefix.size();
    auto [end, ec] = std::from_chars(p, line.data() + line.size(), t);
    if (ec != std::errc()) return Error{path + ":" + std::to_string(line_no) + ": t_ns is not an integer"};
    rec.horizon_ns_ = std::max(rec.horizon_ns_, t);
    // EventLog writes "kind" fourth, after t_ns, t and actor: look only past them.
    size_t k = line.find(kKindKey, static_cast<size_t>(end - line.data()));
    if (k == std::string_view::npos) return Status::Ok();
    std::string_view kind = line.substr(k + kKindKey.size(), 16);
    bool request = kind == "scenario.request";
    bool action = !request && kind.substr(0, 15) == "scenario.action";
    if (!request && !action) return Status::Ok();
    auto r = parse_record(line, request);
    if (!r.ok()) return Error{path + ":" + std::to_string(line_no) + ": " + r.message()};
    rec.insert(std::move(*r));
    return Status::Ok();
  };
  Status st = Status::Ok();
  for (;;) {
    size_t n = std::fread(buf.data(), 1, buf.size(), f);
    if (n == 0) break;
    std::string_view chunk(buf.data(), n);
    size_t pos = 0;
    while (st.ok()) {
      const void* nl = std::memchr(chunk.data() + pos, '\n', chunk.size() - pos);
      if (!nl) break;
      size_t at = static_cast<size_t>(static_cast<const char*>(nl) - chunk.data());
      if (!carry.empty()) {
        carry.append(chunk.substr(pos, at - pos));
        st = on_line(carry);
        carry.clear();
      } else {
        st = on_line(chunk.substr(pos, at - pos));
      }
      pos = at + 1;
    }
    if (!st.ok()) break;
    carry.append(chunk.substr(pos));
  }
  bool read_error = std::ferror(f) != 0;
  std::fclose(f);
  if (st.ok() && !carry.empty()) st = on_line(carry);
  if (!st.ok()) return Error{st.message()};
  if (read_error) return Error{path + ": read error"};
  rec.lines_ = line_no;
  return rec;
}

void Recording::replay_into(GraphModel& model, int64_t t_ns, size_t* cursor) const {
  size_t i = *cursor;
  for (; i < records_.size() && at_ns(records_[i]) <= t_ns; ++i) {
    std::visit([&](const auto& r) { model.apply(r); }, records_[i]);
  }
  *cursor = i;
  model.advance(t_ns);
}

GraphModel Recording::model_at(std::shared_ptr<const mesh::World> world, int64_t t_ns) const {
  GraphModel m(std::move(world));
  size_t cursor = 0;
  replay_into(m, t_ns, &cursor);
  return m;
}

}  // namespace meshsim::gui
