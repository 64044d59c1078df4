// YamlDocument is meshsim's own read-only YAML tree: one parsed document with
// the 1-based line and column of every node, and whether each scalar was
// written plain or quoted (so "80" and 80 can be told apart the way
// Kubernetes' strict decoding does). It is built from yaml-cpp's event parser
// (yaml-cpp never appears in this header), which is faster and smaller than
// yaml-cpp's own node tree and lets the builder enforce limits:
//
//   * nesting deeper than kMaxYamlDepth is an error (deep-nesting attacks);
//   * aliases share the anchored node (the tree is a DAG), and a document
//     whose alias-expanded size exceeds a budget is an error (alias bombs);
//   * duplicate mapping keys are an error (as in kubectl's strict decoding);
//   * YAML merge keys (`<<: *base`) are resolved at build time.
//
// parse_yaml_stream() splits a file on `---` lines first and parses each
// document independently, so one broken document does not hide the errors of
// the others. Immutable after construction; safe to share across threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mesh/diagnostics.h"

namespace meshsim::mesh {

inline constexpr int kMaxYamlDepth = 100;
inline constexpr uint64_t kMaxYamlExpandedNodes = 2'000'000;

enum class YamlKind : uint8_t { kNull, kScalar, kSequence, kMap };

// The YAML 1.1 type a plain scalar resolves to (the rules of the go-yaml v2
// parser Kubernetes uses): null, bool (true/yes/on/y …), int, float, string.
enum class ScalarType : uint8_t { kNull, kBool, kInt, kFloat, kString };

class YamlDocument;

// A cheap handle (document pointer + index) to one node. Default-constructed
// handles are "absent" (valid() == false).
class YamlNode {
 public:
  YamlNode() = default;
  YamlNode(const YamlDocument* doc, uint32_t index) : doc_(doc), index_(index) {}

  bool valid() const { return doc_ != nullptr; }
  YamlKind kind() const;
  bool is_null() const { return valid() && kind() == YamlKind::kNull; }
  bool is_scalar() const { return valid() && kind() == YamlKind::kScalar; }
  bool is_sequence() const { return valid() && kind() == YamlKind::kSequence; }
  bool is_map() const { return valid() && kind() == YamlKind::kMap; }
  // "null", "string", "sequence", "mapping" — for messages.
  const char* kind_name() const;

  // Scalar text (empty for non-scalars).
  std::string_view scalar() const;
  // True if written without quotes (plain style) — only plain scalars resolve
  // to non-string types.
  bool plain() const;
  // Resolved type of a scalar (kString for quoted scalars).
  ScalarType scalar_type() const;

  // Number of items of a sequence, or of key/value pairs of a map.
  uint32_t size() const;
  YamlNode item(uint32_t i) const;   // sequence element
  YamlNode key(uint32_t i) const;    // map key of pair i
  YamlNode value(uint32_t i) const;  // map value of pair i
  // Map lookup by scalar key; absent handle if not a map or no such key.
  YamlNode get(std::string_view key) const;

  uint32_t line() const;    // 1-based
  uint32_t column() const;  // 1-based
  Location location() const;
  const YamlDocument* document() const { return doc_; }
  uint32_t index() const { return index_; }

 private:
  const YamlDocument* doc_ = nullptr;
  uint32_t index_ = 0;
};

class YamlDocument {
 public:
  struct NodeData {
    YamlKind kind = YamlKind::kNull;
    bool plain = true;
    uint32_t line = 0, column = 0;
    uint32_t str_begin = 0, str_len = 0;
    uint32_t child_begin = 0, child_count = 0;  // maps: 2 × pairs (key, value, key, value …)
  };

  YamlNode root() const { return YamlNode(this, root_); }
  const std::string* file() const { return file_; }
  // Line (1-based) of the document's first line in its file.
  uint32_t first_line() const { return first_line_; }
  size_t node_count() const { return nodes_.size(); }

 private:
  friend class YamlNode;
  friend class YamlTreeBuilder;
  const std::string* file_ = nullptr;
  uint32_t first_line_ = 1;
  uint32_t root_ = 0;
  std::vector<NodeData> nodes_;
  std::vector<uint32_t> children_;
  std::string strings_;
};

// One document of a stream, or the error that stopped it from parsing.
struct ParsedDocument {
  std::shared_ptr<const YamlDocument> doc;  // null when `error` is set
  std::vector<Diagnostic> errors;           // syntax / limit errors (code MS0001)
};

// Parses every document of `text` (from `file`, for locations). Empty
// documents (only comments or whitespace) are skipped.
std::vector<ParsedDocument> parse_yaml_stream(std::string_view text, const std::string* file);

// Parses exactly one document (used for embedded YAML such as a ConfigMap's
// mesh config); `first_line`/`first_column` offset the reported locations.
ParsedDocument parse_yaml_document(std::string_view text, const std::string* file, uint32_t first_line = 1);

// Resolves a plain scalar per YAML 1.1 (go-yaml v2) rules.
ScalarType resolve_plain_scalar(std::string_view s);

}  // namespace meshsim::mesh
