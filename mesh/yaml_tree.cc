#include "mesh/yaml_tree.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

#include <algorithm>
#include <sstream>
#include <unordered_map>

namespace meshsim::mesh {

// ---- YamlNode ---------------------------------------------------------------

YamlKind YamlNode::kind() const { return doc_->nodes_[index_].kind; }

const char* YamlNode::kind_name() const {
  if (!valid()) return "nothing";
  switch (kind()) {
    case YamlKind::kNull: return "null";
    case YamlKind::kScalar:
      switch (scalar_type()) {
        case ScalarType::kBool: return "boolean";
        case ScalarType::kInt: return "integer";
        case ScalarType::kFloat: return "number";
        case ScalarType::kNull: return "null";
        case ScalarType::kString: return "string";
      }
      return "string";
    case YamlKind::kSequence: return "sequence";
    case YamlKind::kMap: return "mapping";
  }
  return "?";
}

std::string_view YamlNode::scalar() const {
  if (!valid()) return {};
  const auto& n = doc_->nodes_[index_];
  if (n.kind != YamlKind::kScalar) return {};
  return std::string_view(doc_->strings_).substr(n.str_begin, n.str_len);
}

bool YamlNode::plain() const { return valid() && doc_->nodes_[index_].plain; }

ScalarType YamlNode::scalar_type() const {
  if (!valid()) return ScalarType::kNull;
  const auto& n = doc_->nodes_[index_];
  if (n.kind == YamlKind::kNull) return ScalarType::kNull;
  if (n.kind != YamlKind::kScalar) return ScalarType::kString;
  if (!n.plain) return ScalarType::kString;
  return resolve_plain_scalar(scalar());
}

uint32_t YamlNode::size() const {
  if (!valid()) return 0;
  const auto& n = doc_->nodes_[index_];
  if (n.kind == YamlKind::kMap) return n.child_count / 2;
  if (n.kind == YamlKind::kSequence) return n.child_count;
  return 0;
}

YamlNode YamlNode::item(uint32_t i) const {
  const auto& n = doc_->nodes_[index_];
  return YamlNode(doc_, doc_->children_[n.child_begin + i]);
}
YamlNode YamlNode::key(uint32_t i) const {
  const auto& n = doc_->nodes_[index_];
  return YamlNode(doc_, doc_->children_[n.child_begin + 2 * i]);
}
YamlNode YamlNode::value(uint32_t i) const {
  const auto& n = doc_->nodes_[index_];
  return YamlNode(doc_, doc_->children_[n.child_begin + 2 * i + 1]);
}

YamlNode YamlNode::get(std::string_view k) const {
  if (!is_map()) return {};
  const auto& n = doc_->nodes_[index_];
  for (uint32_t i = 0; i < n.child_count; i += 2) {
    YamlNode kn(doc_, doc_->children_[n.child_begin + i]);
    if (kn.is_scalar() && kn.scalar() == k) return YamlNode(doc_, doc_->children_[n.child_begin + i + 1]);
  }
  return {};
}

uint32_t YamlNode::line() const { return valid() ? doc_->nodes_[index_].line : 0; }
uint32_t YamlNode::column() const { return valid() ? doc_->nodes_[index_].column : 0; }
Location YamlNode::location() const {
  if (!valid()) return {};
  return Location{doc_->file_, line(), column()};
}

// ---- plain-scalar resolution -------------------------------------------------

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool looks_int(std::string_view s) {
  if (s.empty()) return false;
  size_t i = 0;
  if (s[0] == '+' || s[0] == '-') i = 1;
  if (i >= s.size()) return false;
  if (s.size() > i + 2 && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X')) {
    for (size_t j = i + 2; j < s.size(); ++j)
      if (!std::isxdigit(static_cast<unsigned char>(s[j])) && s[j] != '_') return false;
    return true;
  }
  if (s.size() > i + 2 && s[i] == '0' && (s[i + 1] == 'o' || s[i + 1] == 'b')) {
    for (size_t j = i + 2; j < s.size(); ++j)
      if (!is_digit(s[j]) && s[j] != '_') return false;
    return true;
  }
  for (size_t j = i; j < s.size(); ++j)
    if (!is_digit(s[j]) && s[j] != '_') return false;
  return is_digit(s[i]);
}

bool looks_float(std::string_view s) {
  static const char* kSpecial[] = {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf",
                                   "-.Inf", "-.INF", ".nan", ".NaN", ".NAN"};
  for (const char* k : kSpecial)
    if (s == k) return true;
  size_t i = 0;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) i = 1;
  bool digits = false, dot = false, exp = false;
  for (; i < s.size(); ++i) {
    char c = s[i];
    if (is_digit(c) || c == '_') {
      digits = digits || is_digit(c);
    } else if (c == '.' && !dot && !exp) {
      dot = true;
    } else if ((c == 'e' || c == 'E') && digits && !exp) {
      exp = true;
      if (i + 1 < s.size() && (s[i + 1] == '+' || s[i + 1] == '-')) ++i;
      if (i + 1 >= s.size()) return false;
    } else {
      return false;
    }
  }
  return digits && (dot || exp);
}

}  // namespace

ScalarType resolve_plain_scalar(std::string_view s) {
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return ScalarType::kNull;
  static const char* kBools[] = {"y",    "Y",    "yes",  "Yes",   "YES",   "n",     "N",     "no",
                                 "No",   "NO",   "true", "True",  "TRUE",  "false", "False", "FALSE",
                                 "on",   "On",   "ON",   "off",   "Off",   "OFF"};
  for (const char* b : kBools)
    if (s == b) return ScalarType::kBool;
  char c = s[0];
  if (is_digit(c) || c == '+' || c == '-' || c == '.') {
    if (looks_int(s)) return ScalarType::kInt;
    if (looks_float(s)) return ScalarType::kFloat;
  }
  return ScalarType::kString;
}

// ---- builder ----------------------------------------------------------------

struct YamlLimitError {
  YAML::Mark mark;
  std::string message;
};

class YamlTreeBuilder : public YAML::EventHandler {
 public:
  YamlTreeBuilder(YamlDocument* doc, const std::string* file, uint32_t first_line, std::string_view input)
      : doc_(doc), input_(input), line_offset_(first_line), max_nodes_(2 * input.size() + 64) {
    doc_->file_ = file;
    doc_->first_line_ = first_line;
  }

  std::vector<Diagnostic>& errors() { return errors_; }

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}

  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    uint32_t i = new_node(YamlKind::kNull, mark);
    finish_leaf(i, anchor);
  }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    auto it = anchors_.find(anchor);
    if (it == anchors_.end())
      throw YamlLimitError{mark, "alias refers to a node that encloses it (recursive alias)"};
    attach(it->second);
  }
  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    if (tag == "!") check_closed_quote(mark);
    uint32_t i = new_node(YamlKind::kScalar, mark);
    auto& n = doc_->nodes_[i];
    n.plain = (tag.empty() || tag == "?");
    n.str_begin = static_cast<uint32_t>(doc_->strings_.size());
    n.str_len = static_cast<uint32_t>(value.size());
    doc_->strings_ += value;
    finish_leaf(i, anchor);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    open(YamlKind::kSequence, mark, anchor);
  }
  void OnSequenceEnd() override { close(); }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    open(YamlKind::kMap, mark, anchor);
  }
  void OnMapEnd() override { close(); }

  bool has_root() const { return has_root_; }

 private:
  // yaml-cpp 0.7 accepts a quoted scalar that the end of the input cuts off
  // (`name: "never closed` at the end of a file); libyaml and kubectl reject
  // it ("found unexpected end of stream while scanning a quoted scalar").
  void check_closed_quote(const YAML::Mark& mark) const {
    if (mark.pos < 0 || static_cast<size_t>(mark.pos) >= input_.size()) return;
    char q = input_[static_cast<size_t>(mark.pos)];
    if (q != '"' && q != '\'') return;
    for (size_t i = static_cast<size_t>(mark.pos) + 1; i < input_.size(); ++i) {
      char c = input_[i];
      if (q == '"' && c == '\\') {
        ++i;  // an escape: skip the escaped character
      } else if (c == q) {
        if (q == '\'' && i + 1 < input_.size() && input_[i + 1] == '\'') {
          ++i;  // '' is an escaped single quote
        } else {
          return;
        }
      }
    }
    throw YamlLimitError{mark, std::string("unexpected end of input inside a ") +
                                   (q == '"' ? "double" : "single") + "-quoted scalar: the closing " + q +
                                   " is missing"};
  }

  struct Frame {
    uint32_t node = 0;
    YAML::anchor_t anchor = 0;
    std::vector<uint32_t> kids;
  };

  uint32_t new_node(YamlKind kind, const YAML::Mark& mark) {
    // Every node needs input bytes; more nodes than that means the parser is
    // looping (yaml-cpp 0.7 can emit endless nulls on some malformed input).
    if (doc_->nodes_.size() >= max_nodes_)
      throw YamlLimitError{mark, "the YAML parser produced more nodes than the input can hold (malformed input)"};
    YamlDocument::NodeData n;
    n.kind = kind;
    n.line = static_cast<uint32_t>(std::max(mark.line, 0)) + line_offset_;
    n.column = static_cast<uint32_t>(std::max(mark.column, 0)) + 1;
    doc_->nodes_.push_back(n);
    expanded_.push_back(1);
    return static_cast<uint32_t>(doc_->nodes_.size() - 1);
  }

  void finish_leaf(uint32_t i, YAML::anchor_t anchor) {
    if (anchor) anchors_[anchor] = i;
    attach(i);
  }

  void attach(uint32_t i) {
    if (depth_ == 0) {
      doc_->root_ = i;
      has_root_ = true;
      return;
    }
    frames_[depth_ - 1].kids.push_back(i);
  }

  void open(YamlKind kind, const YAML::Mark& mark, YAML::anchor_t anchor) {
    if (depth_ >= static_cast<size_t>(kMaxYamlDepth))
      throw YamlLimitError{mark, "nesting deeper than " + std::to_string(kMaxYamlDepth) + " levels"};
    uint32_t i = new_node(kind, mark);
    if (frames_.size() <= depth_) frames_.emplace_back();
    Frame& f = frames_[depth_];
    f.node = i;
    f.anchor = anchor;
    f.kids.clear();
    ++depth_;
  }

  void close() {
    Frame& f = frames_[depth_ - 1];
    auto& kids = f.kids;
    auto& n = doc_->nodes_[f.node];
    if (n.kind == YamlKind::kMap) resolve_map(f);
    uint64_t size = 1;
    for (uint32_t k : kids) size = std::min<uint64_t>(size + expanded_[k], kMaxYamlExpandedNodes + 1);
    expanded_[f.node] = size;
    if (size > kMaxYamlExpandedNodes) {
      YAML::Mark m;
      m.line = static_cast<int>(n.line - line_offset_);
      m.column = static_cast<int>(n.column) - 1;
      throw YamlLimitError{m, "document expands to more than " + std::to_string(kMaxYamlExpandedNodes) +
                                  " nodes through aliases (alias bomb?)"};
    }
    n.child_begin = static_cast<uint32_t>(doc_->children_.size());
    n.child_count = static_cast<uint32_t>(kids.size());
    doc_->children_.insert(doc_->children_.end(), kids.begin(), kids.end());
    uint32_t node = f.node;
    YAML::anchor_t anchor = f.anchor;
    --depth_;
    if (anchor) anchors_[anchor] = node;
    attach(node);
  }

  std::string_view key_text(uint32_t k) const {
    const auto& n = doc_->nodes_[k];
    if (n.kind != YamlKind::kScalar) return {};
    return std::string_view(doc_->strings_).substr(n.str_begin, n.str_len);
  }

  // Duplicate keys are errors; `<<` merge keys are expanded (explicit keys win).
  void resolve_map(Frame& f) {
    auto& kids = f.kids;
    bool has_merge = false;
    for (size_t i = 0; i + 1 < kids.size(); i += 2) {
      const auto& kn = doc_->nodes_[kids[i]];
      if (kn.kind == YamlKind::kScalar && kn.plain && key_text(kids[i]) == "<<") has_merge = true;
    }
    // Duplicate detection among explicit scalar keys.
    std::vector<std::pair<std::string_view, uint32_t>> keys;
    keys.reserve(kids.size() / 2);
    for (size_t i = 0; i + 1 < kids.size(); i += 2) {
      const auto& kn = doc_->nodes_[kids[i]];
      if (kn.kind != YamlKind::kScalar) continue;
      std::string_view kt = key_text(kids[i]);
      if (kn.plain && kt == "<<") continue;
      keys.emplace_back(kt, kids[i]);
    }
    if (keys.size() > 1) {
      auto sorted = keys;
      std::stable_sort(sorted.begin(), sorted.end(),
                       [](const auto& a, const auto& b) { return a.first < b.first; });
      for (size_t i = 1; i < sorted.size(); ++i) {
        if (sorted[i].first == sorted[i - 1].first) {
          const auto& dup = doc_->nodes_[sorted[i].second];
          const auto& first = doc_->nodes_[sorted[i - 1].second];
          Diagnostic d;
          d.code = "MS0001";
          d.location = Location{doc_->file_, dup.line, dup.column};
          d.message = "duplicate key \"" + std::string(sorted[i].first) + "\" (first defined at line " +
                      std::to_string(first.line) + "); Kubernetes rejects documents with duplicate keys";
          errors_.push_back(std::move(d));
        }
      }
    }
    if (!has_merge) return;
    std::vector<uint32_t> out;
    std::vector<std::string_view> seen;
    for (size_t i = 0; i + 1 < kids.size(); i += 2) {
      const auto& kn = doc_->nodes_[kids[i]];
      if (kn.kind == YamlKind::kScalar && kn.plain && key_text(kids[i]) == "<<") continue;
      out.push_back(kids[i]);
      out.push_back(kids[i + 1]);
      seen.push_back(key_text(kids[i]));
    }
    auto merge_from = [&](uint32_t m) {
      const auto& mn = doc_->nodes_[m];
      if (mn.kind != YamlKind::kMap) return false;
      for (uint32_t j = 0; j + 1 < mn.child_count; j += 2) {
        uint32_t k = doc_->children_[mn.child_begin + j];
        std::string_view kt = key_text(k);
        if (std::find(seen.begin(), seen.end(), kt) != seen.end()) continue;
        seen.push_back(kt);
        out.push_back(k);
        out.push_back(doc_->children_[mn.child_begin + j + 1]);
      }
      return true;
    };
    for (size_t i = 0; i + 1 < kids.size(); i += 2) {
      const auto& kn = doc_->nodes_[kids[i]];
      if (!(kn.kind == YamlKind::kScalar && kn.plain && key_text(kids[i]) == "<<")) continue;
      uint32_t v = kids[i + 1];
      const auto& vn = doc_->nodes_[v];
      bool ok = false;
      if (vn.kind == YamlKind::kMap) {
        ok = merge_from(v);
      } else if (vn.kind == YamlKind::kSequence) {
        ok = true;
        for (uint32_t j = 0; j < vn.child_count; ++j) ok = merge_from(doc_->children_[vn.child_begin + j]) && ok;
      }
      if (!ok) {
        Diagnostic d;
        d.code = "MS0001";
        d.location = Location{doc_->file_, vn.line, vn.column};
        d.message = "merge key \"<<\" needs a mapping or a sequence of mappings";
        errors_.push_back(std::move(d));
      }
    }
    kids = std::move(out);
  }

  YamlDocument* doc_;
  std::string_view input_;  // the chunk being parsed (Mark::pos indexes it)
  uint32_t line_offset_;
  size_t max_nodes_;
  std::vector<Frame> frames_;
  size_t depth_ = 0;
  bool has_root_ = false;
  std::unordered_map<YAML::anchor_t, uint32_t> anchors_;
  std::vector<uint64_t> expanded_;
  std::vector<Diagnostic> errors_;
};

namespace {

Diagnostic syntax_error(const std::string* file, uint32_t line, uint32_t column, std::string msg) {
  Diagnostic d;
  d.code = "MS0001";
  d.location = Location{file, line, column};
  d.message = "invalid YAML: " + std::move(msg);
  return d;
}

// Returns true if the line [b, e) is a document separator ("---" alone or
// followed by whitespace).
bool is_separator(std::string_view line) {
  if (line.size() < 3 || line.compare(0, 3, "---") != 0) return false;
  return line.size() == 3 || line[3] == ' ' || line[3] == '\t' || line[3] == '\r';
}

// Tabs are not allowed in YAML indentation; yaml-cpp tolerates some of them,
// go-yaml (and so kubectl) does not. Reports the first offending line of a
// chunk, skipping lines inside block scalars (| and >) where tabs are content.
bool find_tab_indent(std::string_view chunk, uint32_t first_line, uint32_t* bad_line) {
  size_t pos = 0;
  uint32_t line = first_line;
  int block_indent = -1;       // indentation of the line that opened a block scalar
  bool in_block = false;
  while (pos <= chunk.size()) {
    size_t eol = chunk.find('\n', pos);
    if (eol == std::string_view::npos) eol = chunk.size();
    std::string_view l = chunk.substr(pos, eol - pos);
    size_t spaces = 0;
    while (spaces < l.size() && l[spaces] == ' ') ++spaces;
    bool blank = l.find_first_not_of(" \t\r") == std::string_view::npos;
    if (in_block && !blank && static_cast<int>(spaces) <= block_indent && (spaces >= l.size() || l[spaces] != '\t'))
      in_block = false;
    if (!in_block && !blank && spaces < l.size() && l[spaces] == '\t') {
      *bad_line = line;
      return true;
    }
    if (!in_block) {
      // A block scalar indicator at the end of the line: "key: |", "- >-", "key: |2".
      std::string_view t = l;
      while (!t.empty() && (t.back() == ' ' || t.back() == '\r' || t.back() == '\t')) t.remove_suffix(1);
      size_t hash = t.find(" #");
      if (hash != std::string_view::npos) t = t.substr(0, hash);
      while (!t.empty() && t.back() == ' ') t.remove_suffix(1);
      size_t k = t.size();
      while (k > 0 && (std::isdigit(static_cast<unsigned char>(t[k - 1])) || t[k - 1] == '-' || t[k - 1] == '+')) --k;
      if (k > 0 && (t[k - 1] == '|' || t[k - 1] == '>') && (k == 1 || t[k - 2] == ' ' || t[k - 2] == ':')) {
        in_block = true;
        block_indent = static_cast<int>(spaces);
      }
    }
    if (eol == chunk.size()) break;
    pos = eol + 1;
    ++line;
  }
  return false;
}

void parse_chunk(std::string_view chunk, const std::string* file, uint32_t first_line,
                 std::vector<ParsedDocument>& out) {
  uint32_t tab_line = 0;
  if (find_tab_indent(chunk, first_line, &tab_line)) {
    ParsedDocument pd;
    pd.errors.push_back(syntax_error(file, tab_line, 1,
                                     "tab character used for indentation (YAML allows only spaces)"));
    out.push_back(std::move(pd));
    return;
  }
  std::string owned(chunk);
  std::istringstream in(owned);
  try {
    YAML::Parser parser(in);
    // Each document needs at least one byte; more means yaml-cpp is looping
    // (0.7 can report endless empty documents on some malformed input).
    size_t max_docs = chunk.size() + 2;
    for (size_t docs = 0;; ++docs) {
      if (docs > max_docs) {
        // Point at the first line with content (comments and blank lines skipped).
        YAML::Mark m;
        m.line = 0;
        m.column = 0;
        size_t pos = 0;
        while (pos < chunk.size()) {
          size_t eol = chunk.find('\n', pos);
          std::string_view l = chunk.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos);
          size_t c = l.find_first_not_of(" \t\r");
          if (c != std::string_view::npos && l[c] != '#') break;
          if (eol == std::string_view::npos) break;
          pos = eol + 1;
          ++m.line;
        }
        throw YamlLimitError{m, "the YAML parser does not terminate on this input (malformed input)"};
      }
      auto doc = std::make_shared<YamlDocument>();
      YamlTreeBuilder builder(doc.get(), file, first_line, owned);
      if (!parser.HandleNextDocument(builder)) break;
      if (!builder.has_root()) continue;
      ParsedDocument pd;
      if (doc->node_count() == 1 && doc->root().is_null()) continue;  // empty document
      pd.errors = std::move(builder.errors());
      pd.doc = std::move(doc);
      out.push_back(std::move(pd));
    }
  } catch (const YamlLimitError& e) {
    ParsedDocument pd;
    pd.errors.push_back(syntax_error(file, static_cast<uint32_t>(std::max(e.mark.line, 0)) + first_line,
                                     static_cast<uint32_t>(std::max(e.mark.column, 0)) + 1, e.message));
    out.push_back(std::move(pd));
  } catch (const YAML::Exception& e) {
    ParsedDocument pd;
    uint32_t line = e.mark.is_null() ? first_line : static_cast<uint32_t>(std::max(e.mark.line, 0)) + first_line;
    uint32_t col = e.mark.is_null() ? 1 : static_cast<uint32_t>(std::max(e.mark.column, 0)) + 1;
    pd.errors.push_back(syntax_error(file, line, col, e.msg));
    out.push_back(std::move(pd));
  } catch (const std::exception& e) {
    ParsedDocument pd;
    pd.errors.push_back(syntax_error(file, first_line, 1, e.what()));
    out.push_back(std::move(pd));
  }
}

}  // namespace

std::vector<ParsedDocument> parse_yaml_stream(std::string_view text, const std::string* file) {
  std::vector<ParsedDocument> out;
  // Skip a UTF-8 byte-order mark.
  if (text.size() >= 3 && static_cast<unsigned char>(text[0]) == 0xEF && static_cast<unsigned char>(text[1]) == 0xBB &&
      static_cast<unsigned char>(text[2]) == 0xBF)
    text.remove_prefix(3);
  size_t chunk_begin = 0;
  uint32_t chunk_line = 1;
  size_t pos = 0;
  uint32_t line = 1;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    size_t end = eol == std::string_view::npos ? text.size() : eol;
    if (pos != chunk_begin && is_separator(text.substr(pos, end - pos))) {
      parse_chunk(text.substr(chunk_begin, pos - chunk_begin), file, chunk_line, out);
      chunk_begin = pos;
      chunk_line = line;
    }
    if (eol == std::string_view::npos) break;
    pos = eol + 1;
    ++line;
  }
  if (chunk_begin < text.size()) parse_chunk(text.substr(chunk_begin), file, chunk_line, out);
  return out;
}

ParsedDocument parse_yaml_document(std::string_view text, const std::string* file, uint32_t first_line) {
  std::vector<ParsedDocument> docs;
  parse_chunk(text, file, first_line, docs);
  if (docs.empty()) {
    ParsedDocument pd;
    pd.doc = nullptr;
    return pd;
  }
  return std::move(docs.front());
}

}  // namespace meshsim::mesh
