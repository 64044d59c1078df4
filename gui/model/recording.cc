#include "gui/model/recording.h"

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <type_traits>

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

// A reader for the flat objects EventLog writes (one level of keys; values
// are strings, numbers, booleans or arrays of strings): one pass, no DOM, so a
// verdict line costs about as much as reading it. Anything else is an error.
class FlatJson {
 public:
  explicit FlatJson(std::string_view text) : s_(text) {}

  // Calls on_field(key, value, is_string, items) for every top-level field:
  // `value` is the decoded string or the number's text; an array of strings
  // comes in `items`.
  template <typename F>
  Status parse(F&& on_field) {
    skip_ws();
    if (!eat('{')) return Error{"expected an object"};
    skip_ws();
    if (eat('}')) return Status::Ok();
    for (;;) {
      skip_ws();
      std::string key;
      if (!string(&key)) return Error{"expected a field name"};
      skip_ws();
      if (!eat(':')) return Error{"expected ':' after \"" + key + "\""};
      skip_ws();
      std::string value;
      bool is_string = false;
      items_.clear();
      if (!this->value(&value, &is_string)) return Error{"bad value of \"" + key + "\""};
      on_field(key, value, is_string, items_);
      skip_ws();
      if (eat(',')) continue;
      if (eat('}')) return Status::Ok();
      return Error{"expected ',' or '}'"};
    }
  }

 private:
  void skip_ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\r')) ++i_;
  }
  bool eat(char c) {
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  static void utf8(uint32_t cp, std::string* out) {
    if (cp < 0x80) {
      out->push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }
  bool hex4(uint32_t* v) {
    if (i_ + 4 > s_.size()) return false;
    *v = 0;
    for (int k = 0; k < 4; ++k) {
      char c = s_[i_++];
      *v <<= 4;
      if (c >= '0' && c <= '9') *v |= static_cast<uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f') *v |= static_cast<uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') *v |= static_cast<uint32_t>(c - 'A' + 10);
      else return false;
    }
    return true;
  }
  bool string(std::string* out) {
    if (!eat('"')) return false;
    for (;;) {
      size_t stop = s_.find_first_of("\"\\", i_);
      if (stop == std::string_view::npos) return false;
      out->append(s_.substr(i_, stop - i_));
      i_ = stop + 1;
      if (s_[stop] == '"') return true;
      if (i_ >= s_.size()) return false;
      char e = s_[i_++];
      switch (e) {
        case '"': out->push_back('"'); break;
        case '\\': out->push_back('\\'); break;
        case '/': out->push_back('/'); break;
        case 'b': out->push_back('\b'); break;
        case 'f': out->push_back('\f'); break;
        case 'n': out->push_back('\n'); break;
        case 'r': out->push_back('\r'); break;
        case 't': out->push_back('\t'); break;
        case 'u': {
          uint32_t cp;
          if (!hex4(&cp)) return false;
          if (cp >= 0xD800 && cp < 0xDC00) {  // a surrogate pair
            uint32_t lo;
            if (!eat('\\') || !eat('u') || !hex4(&lo) || lo < 0xDC00 || lo > 0xDFFF) return false;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          }
          utf8(cp, out);
          break;
        }
        default: return false;
      }
    }
  }
  bool value(std::string* out, bool* is_string) {
    if (i_ >= s_.size()) return false;
    char c = s_[i_];
    if (c == '"') {
      *is_string = true;
      return string(out);
    }
    if (c == '[') {
      ++i_;
      skip_ws();
      if (eat(']')) return true;
      for (;;) {
        skip_ws();
        std::string item;
        if (!string(&item)) return false;
        items_.push_back(std::move(item));
        skip_ws();
        if (eat(',')) continue;
        return eat(']');
      }
    }
    size_t start = i_;
    while (i_ < s_.size() && s_[i_] != ',' && s_[i_] != '}' && s_[i_] != ' ') ++i_;
    *out = std::string(s_.substr(start, i_ - start));
    return !out->empty();
  }
  std::string_view s_;
  size_t i_ = 0;
  std::vector<std::string> items_;
};

Result<int64_t> to_int(const std::string& key, const std::string& v) {
  int64_t n = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || end != v.data() + v.size()) return Error{"\"" + key + "\" is not an integer"};
  return n;
}

Result<Record> parse_record(std::string_view line, bool request) {
  RequestRecord r;
  ActionRecord a;
  a.category = "config";
  r.wire = "unjudged";
  bool has_t = false, has_end = false, has_from = false, has_target = false, has_outcome = false, has_name = false;
  std::string bad;
  auto number = [&](const std::string& key, const std::string& v, auto* field) {
    auto n = to_int(key, v);
    if (!n.ok()) bad = n.message();
    else *field = static_cast<std::remove_pointer_t<decltype(field)>>(*n);
  };
  Status st = FlatJson(line).parse([&](const std::string& key, const std::string& v, bool is_string,
                                      const std::vector<std::string>& items) {
    if (key == "t_ns") {
      number(key, v, &r.published_ns);
      a.published_ns = r.published_ns;
      has_t = true;
      return;
    }
    if (request) {
      if (key == "end_ns") number(key, v, &r.end_ns), has_end = true;
      else if (key == "source") r.call = v == "call";
      else if (key == "client") r.client = v;
      else if (key == "from") r.from = v, has_from = is_string;
      else if (key == "target") r.target = v, has_target = is_string;
      else if (key == "protocol") r.protocol = v;
      else if (key == "outcome") r.outcome = v, has_outcome = is_string;
      else if (key == "status") number(key, v, &r.http_status);
      else if (key == "error") r.error = v;
      else if (key == "latency_ns") number(key, v, &r.latency_ns);
      else if (key == "connection") number(key, v, &r.connection);
      else if (key == "wire") r.wire = v;
      else if (key == "transition") r.transition = v;
      else if (key == "why") r.why = v;
    } else {
      if (key == "name") a.name = v, has_name = is_string;
      else if (key == "category") a.category = v;
      else if (key == "details") a.details = items;
    }
  });
  if (!st.ok()) return Error{st.message()};
  if (!bad.empty()) return Error{bad};
  if (!has_t) return Error{"no \"t_ns\""};
  if (request) {
    if (!has_end || !has_from || !has_target || !has_outcome)
      return Error{"a scenario.request line needs end_ns, from, target and outcome (docs/formats/events.md)"};
    return Record{std::move(r)};
  }
  if (!has_name) return Error{"a scenario.action line needs a name"};
  return Record{std::move(a)};
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
