#include "sim/whatif/render.h"

#include "sim/whatif/hop_json.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

namespace meshsim::whatif {
namespace {

using J = nlohmann::ordered_json;

std::string pad(const std::string& s, size_t n) { return s.size() >= n ? s : s + std::string(n - s.size(), ' '); }

std::string row_label(const Source& s) {
  if (s.id == "external") return "external (outside the mesh)";
  return s.id + (s.sidecar ? "" : " (no sidecar)");
}

std::string legend(const std::set<char>& used) {
  std::string out = "legend:";
  for (const char* p = kSymbols; *p; ++p) {
    if (used.count(*p)) out += std::string("  ") + *p + " " + symbol_meaning(*p);
  }
  return out + "\n";
}

std::string destinations_list(const std::vector<Destination>& ds) {
  std::string out = "destinations\n";
  size_t w = 0;
  for (const auto& d : ds) w = std::max(w, d.id.size());
  for (size_t i = 0; i < ds.size(); ++i) {
    const Destination& d = ds[i];
    std::string backends;
    for (const auto& b : d.backends) backends += (backends.empty() ? "" : ", ") + b;
    out += "  " + pad(std::to_string(i + 1), 4) + pad(d.id, w + 2) + pad(d.protocol, 7) +
           (backends.empty() ? "(no endpoints)" : "→ " + backends) + "\n";
  }
  return out;
}

// A grid: rows grouped by namespace, each cell `width` wide.
template <typename CellText>
std::string grid(const std::vector<Source>& rows, size_t cols, size_t width, const std::vector<bool>& keep, CellText cell) {
  size_t lw = 0;
  for (const auto& s : rows) lw = std::max(lw, row_label(s).size() + 4);
  std::string out = std::string(lw, ' ');
  for (size_t c = 0; c < cols; ++c) {
    std::string n = std::to_string(c + 1);
    out += pad(n.size() <= width ? n : n.substr(n.size() - width), width) + " ";
  }
  out += "\n";
  std::string ns = "\x01";
  for (size_t r = 0; r < rows.size(); ++r) {
    if (!keep[r]) continue;
    if (rows[r].namespace_ != ns) {
      ns = rows[r].namespace_;
      out += (ns.empty() ? std::string("(outside the mesh)") : ns) + "\n";
    }
    out += pad("  " + row_label(rows[r]), lw);
    for (size_t c = 0; c < cols; ++c) out += pad(cell(r, c), width) + " ";
    while (!out.empty() && out.back() == ' ') out.pop_back();
    out += "\n";
  }
  return out;
}

std::string notes(const std::vector<std::string>& nm) {
  std::string out;
  for (const auto& n : nm) out += n + "\n";
  return out;
}

J table_to_json(const Table& t) {
  J j;
  J rows = J::array(), cols = J::array();
  for (const auto& s : t.sources) rows.push_back({{"id", s.id}, {"namespace", s.namespace_}, {"pod", s.pod}, {"sidecar", s.sidecar}});
  for (const auto& d : t.destinations) {
    cols.push_back({{"id", d.id},
                    {"host", d.host},
                    {"port", d.port},
                    {"port_name", d.port_name},
                    {"protocol", d.protocol},
                    {"protocol_reason", d.protocol_reason},
                    {"backends", d.backends}});
  }
  J cells = J::array();
  for (size_t r = 0; r < t.sources.size(); ++r) {
    for (size_t c = 0; c < t.destinations.size(); ++c) {
      const Cell& cell = t.at(r, c);
      J hops = J::array();
      for (const Hop& h : cell.hops) {
        hops.push_back(hop_to_json<J>(h));
      }
      cells.push_back({{"from", t.sources[r].id}, {"to", t.destinations[c].id}, {"symbol", std::string(1, cell.symbol)}, {"hops", hops}});
    }
  }
  j["sources"] = rows;
  j["destinations"] = cols;
  j["cells"] = cells;
  j["probes"] = t.probes;
  j["source_classes"] = t.source_classes;
  j["destination_classes"] = t.destination_classes;
  j["not_modelled"] = t.not_modelled;
  return j;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string md_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '|') out += "\\|";
    else if (c == '\n') out += ' ';
    else out += c;
  }
  return out;
}

std::string blame_text(const CellChange& ch) {
  std::string out;
  for (const auto& b : ch.blame) {
    out += (out.empty() ? "" : "; ") + b.change.ref() + " (" + b.change.type_name() +
           (b.change.location.known() ? ", " + b.change.location.str() : std::string()) + (b.named_by_engine ? "" : ", in scope") + ")";
  }
  return out.empty() ? std::string("(no changed object in scope)") : out;
}

std::string sym(char c) { return c == ' ' ? std::string("-") : std::string(1, c); }

}  // namespace

std::string table_text(const Table& t, const RenderOptions&) {
  std::string out = destinations_list(t.destinations) + "\n";
  std::set<char> used;
  for (const Cell& c : t.cells) used.insert(c.symbol);
  out += grid(t.sources, t.destinations.size(), 1, std::vector<bool>(t.sources.size(), true),
              [&](size_t r, size_t c) { return std::string(1, t.at(r, c).symbol); });
  out += "\n" + legend(used);
  // Every cell that did not work, with its reason.
  std::string failing;
  for (size_t r = 0; r < t.sources.size(); ++r) {
    for (size_t c = 0; c < t.destinations.size(); ++c) {
      const Cell& cell = t.at(r, c);
      if (symbol_ok(cell.symbol)) continue;
      failing += "  " + std::string(1, cell.symbol) + " " + t.sources[r].id + " → " + t.destinations[c].id + ": " + cell.reason() + "\n";
    }
  }
  if (!failing.empty()) out += "\nnot working\n" + failing;
  if (t.probes < t.cells.size()) {
    out += "\n" + std::to_string(t.probes) + " of " + std::to_string(t.cells.size()) +
           " cells probed; the others are their classes' probes, renamed (" + std::to_string(t.source_classes) +
           " classes of sources and " + std::to_string(t.destination_classes) +
           " of destinations nothing in the mesh tells apart; --exhaustive probes every cell)\n";
  }
  return out + notes(t.not_modelled);
}

std::string table_json(const Table& t) { return table_to_json(t).dump(2) + "\n"; }

std::string table_csv(const Table& t) {
  std::string out = "from,to,protocol,symbol,meaning,reason\n";
  for (size_t r = 0; r < t.sources.size(); ++r) {
    for (size_t c = 0; c < t.destinations.size(); ++c) {
      const Cell& cell = t.at(r, c);
      out += csv_field(t.sources[r].id) + "," + csv_field(t.destinations[c].id) + "," + t.destinations[c].protocol + "," +
             std::string(1, cell.symbol) + "," + csv_field(symbol_meaning(cell.symbol)) + "," + csv_field(cell.reason()) + "\n";
    }
  }
  return out;
}

std::string table_markdown(const Table& t) {
  std::string out = "| from \\ to |";
  for (const auto& d : t.destinations) out += " `" + d.id + "` |";
  out += "\n|---|";
  for (size_t i = 0; i < t.destinations.size(); ++i) out += ":-:|";
  out += "\n";
  for (size_t r = 0; r < t.sources.size(); ++r) {
    out += "| `" + row_label(t.sources[r]) + "` |";
    for (size_t c = 0; c < t.destinations.size(); ++c) out += " " + std::string(1, t.at(r, c).symbol) + " |";
    out += "\n";
  }
  return out;
}

std::string comparison_text(const Comparison& c, const RenderOptions& o) {
  // The grid over the head's rows and columns plus those that disappeared.
  std::vector<Source> rows = c.head.sources;
  std::vector<Destination> cols = c.head.destinations;
  for (const auto& s : c.base.sources) {
    if (std::none_of(rows.begin(), rows.end(), [&](const Source& x) { return x.id == s.id; })) rows.push_back(s);
  }
  for (const auto& d : c.base.destinations) {
    if (std::none_of(cols.begin(), cols.end(), [&](const Destination& x) { return x.id == d.id; })) cols.push_back(d);
  }
  std::stable_sort(rows.begin(), rows.end(), [](const Source& a, const Source& b) {
    bool ea = a.id == "external", eb = b.id == "external";
    return ea != eb ? eb : a.id < b.id;
  });
  std::map<std::pair<std::string, std::string>, const CellChange*> changed;
  for (const auto& ch : c.changes) changed[{ch.source, ch.destination}] = &ch;
  std::map<std::pair<std::string, std::string>, char> head_sym;
  for (size_t r = 0; r < c.head.sources.size(); ++r) {
    for (size_t k = 0; k < c.head.destinations.size(); ++k) {
      head_sym[{c.head.sources[r].id, c.head.destinations[k].id}] = c.head.at(r, k).symbol;
    }
  }
  std::vector<bool> keep(rows.size(), true);
  if (o.changed_only) {
    for (size_t r = 0; r < rows.size(); ++r) {
      keep[r] = std::any_of(c.changes.begin(), c.changes.end(), [&](const CellChange& ch) { return ch.source == rows[r].id; });
    }
  }
  std::set<char> used;
  std::string out = destinations_list(cols) + "\n";
  out += grid(rows, cols.size(), 3, keep, [&](size_t r, size_t k) -> std::string {
    auto it = changed.find({rows[r].id, cols[k].id});
    if (it != changed.end()) {
      used.insert(it->second->before);
      used.insert(it->second->after);
      return sym(it->second->before) + ">" + sym(it->second->after);
    }
    auto h = head_sym.find({rows[r].id, cols[k].id});
    char s = h == head_sym.end() ? ' ' : h->second;
    used.insert(s);
    return " " + sym(s);
  });
  out += "\n" + legend(used) + "  X>Y changed from X (before) to Y (after)\n\n";
  out += std::to_string(c.broken()) + " edge(s) broken, " + std::to_string(c.fixed()) + " fixed, " +
         std::to_string(c.changes.size()) + " changed of " + std::to_string(c.cells) + " cells\n";
  if (!c.objects.empty()) {
    out += "the change\n";
    for (const auto& oc : c.objects) out += "  " + pad(oc.type_name(), 9) + oc.ref() + (oc.location.known() ? "  " + oc.location.str() : "") + "\n";
  }
  for (const auto& ch : c.changes) {
    out += std::string("\n") + (ch.broke ? "BROKEN " : ch.fixed ? "FIXED  " : "CHANGED ") + ch.source + " → " + ch.destination +
           (ch.protocol.empty() ? "" : " (" + ch.protocol + ")") + ": " + sym(ch.before) + " → " + sym(ch.after) + "\n";
    out += "  before:    " + ch.reason_before + "\n";
    out += "  after:     " + ch.reason_after + "\n";
    out += "  caused by: " + blame_text(ch) + "\n";
  }
  std::set<std::string> nm(c.base.not_modelled.begin(), c.base.not_modelled.end());
  nm.insert(c.head.not_modelled.begin(), c.head.not_modelled.end());
  if (!nm.empty()) out += "\n" + notes(std::vector<std::string>(nm.begin(), nm.end()));
  return out;
}

std::string comparison_markdown(const Comparison& c, const RenderOptions&) {
  std::string out = "### meshsim whatif\n\n";
  out += c.broken() ? "**" + std::to_string(c.broken()) + " edge(s) broken**" : std::string("No edge broken");
  out += ", " + std::to_string(c.fixed()) + " fixed, " + std::to_string(c.changes.size()) + " changed of " +
         std::to_string(c.cells) + " cells.\n\n";
  if (!c.changes.empty()) {
    out += "| | from | to | before | after | reason (after) | caused by |\n|---|---|---|:-:|:-:|---|---|\n";
    for (const auto& ch : c.changes) {
      out += std::string("| ") + (ch.broke ? "❌" : ch.fixed ? "✅" : "↔") + " | `" + ch.source + "` | `" + ch.destination + "` | " +
             sym(ch.before) + " | " + sym(ch.after) + " | " + md_escape(ch.reason_after) + " | " + md_escape(blame_text(ch)) + " |\n";
    }
    out += "\n";
  }
  if (!c.objects.empty()) {
    out += "<details><summary>Objects changed (" + std::to_string(c.objects.size()) + ")</summary>\n\n";
    for (const auto& oc : c.objects) out += "- " + std::string(oc.type_name()) + " `" + oc.ref() + "`" + (oc.location.known() ? " (" + oc.location.str() + ")" : "") + "\n";
    out += "\n</details>\n\n";
  }
  out += "<details><summary>Truth table after the change</summary>\n\n" + table_markdown(c.head) + "\n";
  std::set<char> used;
  for (const Cell& cell : c.head.cells) used.insert(cell.symbol);
  for (const char* p = kSymbols; *p; ++p) {
    if (used.count(*p)) out += std::string("`") + *p + "` " + symbol_meaning(*p) + " · ";
  }
  out += "\n\n</details>\n";
  std::set<std::string> nm(c.head.not_modelled.begin(), c.head.not_modelled.end());
  for (const auto& n : nm) out += "\n> " + md_escape(n);
  if (!nm.empty()) out += "\n";
  return out;
}

std::string comparison_json(const Comparison& c) {
  J j;
  j["summary"] = {{"broken", c.broken()}, {"fixed", c.fixed()}, {"changed", c.changes.size()}, {"cells", c.cells}};
  J objs = J::array();
  for (const auto& oc : c.objects) {
    objs.push_back({{"change", oc.type_name()}, {"kind", oc.kind}, {"namespace", oc.namespace_}, {"name", oc.name},
                    {"location", oc.location.known() ? oc.location.str() : ""}});
  }
  j["objects"] = objs;
  J changes = J::array();
  for (const auto& ch : c.changes) {
    J blame = J::array();
    for (const auto& b : ch.blame) {
      blame.push_back({{"object", b.change.ref()}, {"change", b.change.type_name()},
                       {"location", b.change.location.known() ? b.change.location.str() : ""}, {"named_by_engine", b.named_by_engine}});
    }
    changes.push_back({{"from", ch.source},
                       {"to", ch.destination},
                       {"protocol", ch.protocol},
                       {"before", sym(ch.before)},
                       {"after", sym(ch.after)},
                       {"broke", ch.broke},
                       {"fixed", ch.fixed},
                       {"reason_before", ch.reason_before},
                       {"reason_after", ch.reason_after},
                       {"caused_by", blame}});
  }
  j["changes"] = changes;
  j["base"] = table_to_json(c.base);
  j["head"] = table_to_json(c.head);
  return j.dump(2) + "\n";
}

std::string comparison_csv(const Comparison& c) {
  std::string out = "from,to,protocol,before,after,broke,fixed,reason_before,reason_after,caused_by\n";
  for (const auto& ch : c.changes) {
    out += csv_field(ch.source) + "," + csv_field(ch.destination) + "," + ch.protocol + "," + sym(ch.before) + "," + sym(ch.after) + "," +
           (ch.broke ? "true" : "false") + "," + (ch.fixed ? "true" : "false") + "," + csv_field(ch.reason_before) + "," +
           csv_field(ch.reason_after) + "," + csv_field(blame_text(ch)) + "\n";
  }
  return out;
}

std::string comparison_sarif(const Comparison& c, const RenderOptions& o) {
  J rules = J::array();
  rules.push_back({{"id", "MSW001"},
                   {"name", "EdgeBroken"},
                   {"shortDescription", {{"text", "A change breaks a connection that worked before"}}},
                   {"helpUri", "docs/cli/whatif.md#sarif"},
                   {"defaultConfiguration", {{"level", "error"}}}});
  rules.push_back({{"id", "MSW002"},
                   {"name", "EdgeChanged"},
                   {"shortDescription", {{"text", "A change alters how a connection behaves (fixed, or failing differently)"}}},
                   {"helpUri", "docs/cli/whatif.md#sarif"},
                   {"defaultConfiguration", {{"level", "note"}}}});
  J results = J::array();
  for (const auto& ch : c.changes) {
    J res;
    res["ruleId"] = ch.broke ? "MSW001" : "MSW002";
    res["ruleIndex"] = ch.broke ? 0 : 1;
    res["level"] = ch.broke ? "error" : "note";
    res["message"] = {{"text", ch.source + " → " + ch.destination + ": " + sym(ch.before) + " (" + symbol_meaning(ch.before) + ") → " +
                                   sym(ch.after) + " (" + symbol_meaning(ch.after) + "). " + ch.reason_after}};
    J locs = J::array();
    for (const auto& b : ch.blame) {
      const mesh::Location& l = b.change.location;
      if (!l.known()) continue;
      J phys = {{"artifactLocation", {{"uri", *l.file}}}};
      if (l.line > 0) {
        J region = {{"startLine", l.line}};
        if (l.column > 0) region["startColumn"] = l.column;
        phys["region"] = region;
      }
      locs.push_back({{"physicalLocation", phys}, {"message", {{"text", b.change.ref() + " (" + b.change.type_name() + ")"}}}});
    }
    if (!locs.empty()) res["locations"] = locs;
    res["partialFingerprints"] = {{"edge/v1", ch.source + "->" + ch.destination}};
    results.push_back(std::move(res));
  }
  J run;
  run["tool"] = {{"driver", {{"name", "meshsim whatif"}, {"version", o.tool_version}, {"informationUri", "https://github.com/meshsim/meshsim"}, {"rules", rules}}}};
  run["columnKind"] = "unicodeCodePoints";
  run["results"] = results;
  J root;
  root["$schema"] = "https://json.schemastore.org/sarif-2.1.0.json";
  root["version"] = "2.1.0";
  root["runs"] = J::array({run});
  return root.dump(2) + "\n";
}

}  // namespace meshsim::whatif
