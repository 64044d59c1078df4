#include "proxy/peer_metadata.h"

#include <array>

namespace meshsim::proxy {

void WorkloadMetadata::clear() {
  for (std::string* s : {&id, &name, &namespace_, &workload_name, &cluster_id, &identity, &owner, &region, &zone, &app,
                         &version, &canonical_name, &canonical_revision})
    s->clear();
}

WorkloadMetadata workload_metadata_of(const NodeMetadata& node, std::string_view node_id) {
  WorkloadMetadata m;
  m.id.assign(node_id);
  m.name = node.name;
  m.namespace_ = node.namespace_;
  m.workload_name = node.workload_name;
  m.cluster_id = node.cluster_id;
  m.identity = node.identity;
  m.owner = node.owner;
  m.region = node.region;
  m.zone = node.zone;
  m.app.assign(node.label("app"));
  m.version.assign(node.label("version"));
  m.canonical_name.assign(node.canonical_service());
  m.canonical_revision.assign(node.canonical_revision());
  return m;
}

// ------------------------------------------------------------ wire format --

namespace {

enum WireType : uint8_t { kVarint = 0, kFixed64 = 1, kLen = 2, kFixed32 = 5 };

void put_varint(uint64_t v, std::string& out) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void put_tag(uint32_t field, WireType t, std::string& out) { put_varint((uint64_t{field} << 3) | t, out); }

void put_len(uint32_t field, std::string_view bytes, std::string& out) {
  put_tag(field, kLen, out);
  put_varint(bytes.size(), out);
  out.append(bytes);
}

// A Struct map entry {key = 1, value = 2: Value{<value_field> = bytes}}:
// string_value = 3, struct_value = 5.
void put_entry(std::string_view key, uint32_t value_field, std::string_view bytes, std::string& out) {
  std::string v;
  put_len(value_field, bytes, v);
  std::string e;
  put_len(1, key, e);
  put_len(2, v, e);
  put_len(1, e, out);
}
void put_string_entry(std::string_view key, std::string_view value, std::string& out) { put_entry(key, 3, value, out); }
void put_struct_entry(std::string_view key, std::string_view struct_bytes, std::string& out) {
  put_entry(key, 5, struct_bytes, out);
}

// Reads protobuf fields one by one; every read is bounds-checked.
class Reader {
 public:
  explicit Reader(std::string_view b) : b_(b) {}
  bool done() const { return pos_ == b_.size(); }
  bool varint(uint64_t& v) {
    v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= b_.size()) return false;
      auto c = static_cast<uint8_t>(b_[pos_++]);
      v |= uint64_t{c & 0x7fu} << shift;
      if (!(c & 0x80)) return true;
    }
    return false;
  }
  // The next field: number, wire type, and for kLen its bytes.
  bool field(uint32_t& number, uint8_t& type, std::string_view& bytes) {
    uint64_t tag = 0;
    if (!varint(tag)) return false;
    number = static_cast<uint32_t>(tag >> 3);
    type = static_cast<uint8_t>(tag & 7);
    if (number == 0) return false;
    switch (type) {
      case kVarint: {
        uint64_t ignored;
        return varint(ignored);
      }
      case kFixed64: return skip(8);
      case kFixed32: return skip(4);
      case kLen: {
        uint64_t n = 0;
        if (!varint(n) || n > b_.size() - pos_) return false;
        bytes = b_.substr(pos_, static_cast<size_t>(n));
        pos_ += static_cast<size_t>(n);
        return true;
      }
      default: return false;
    }
  }

 private:
  bool skip(size_t n) {
    if (n > b_.size() - pos_) return false;
    pos_ += n;
    return true;
  }
  std::string_view b_;
  size_t pos_ = 0;
};

// A Value: its string_value (kind 3) or struct_value bytes (kind 5).
struct ValueView {
  enum class Kind : uint8_t { kOther, kString, kStruct } kind = Kind::kOther;
  std::string_view bytes;
};

bool read_value(std::string_view b, ValueView& out) {
  Reader r(b);
  out = {};
  while (!r.done()) {
    uint32_t n;
    uint8_t t;
    std::string_view bytes;
    if (!r.field(n, t, bytes)) return false;
    if (t != kLen) continue;
    if (n == 3) out = {ValueView::Kind::kString, bytes};
    else if (n == 5) out = {ValueView::Kind::kStruct, bytes};
  }
  return true;
}

// Calls fn(key, value) for every entry of a Struct; false when malformed.
template <typename Fn>
bool for_each_entry(std::string_view struct_bytes, Fn&& fn) {
  Reader r(struct_bytes);
  while (!r.done()) {
    uint32_t n;
    uint8_t t;
    std::string_view entry;
    if (!r.field(n, t, entry)) return false;
    if (n != 1 || t != kLen) continue;
    Reader er(entry);
    std::string_view key, value;
    while (!er.done()) {
      uint32_t en;
      uint8_t et;
      std::string_view eb;
      if (!er.field(en, et, eb)) return false;
      if (et != kLen) continue;
      if (en == 1) key = eb;
      else if (en == 2) value = eb;
    }
    ValueView v;
    if (!read_value(value, v)) return false;
    fn(key, v);
  }
  return true;
}

}  // namespace

void encode_workload_struct(const WorkloadMetadata& md, std::string& out) {
  // Keys in byte order (deterministic map serialisation); empty fields are
  // left out, LABELS is always written.
  std::string labels;
  auto label = [&](std::string_view k, const std::string& v) {
    if (!v.empty()) put_string_entry(k, v, labels);
  };
  label("app", md.app);
  label("service.istio.io/canonical-name", md.canonical_name);
  label("service.istio.io/canonical-revision", md.canonical_revision);
  label("version", md.version);
  auto field = [&](std::string_view k, const std::string& v) {
    if (!v.empty()) put_string_entry(k, v, out);
  };
  field("AVAILABILITY_ZONE", md.zone);
  field("CLUSTER_ID", md.cluster_id);
  field("IDENTITY", md.identity);
  put_struct_entry("LABELS", labels, out);
  field("NAME", md.name);
  field("NAMESPACE", md.namespace_);
  field("OWNER", md.owner);
  field("REGION", md.region);
  field("WORKLOAD_NAME", md.workload_name);
}

bool decode_workload_struct(std::string_view bytes, WorkloadMetadata& out) {
  std::string id = std::move(out.id);
  out.clear();
  out.id = std::move(id);
  bool labels_ok = true;
  bool ok = for_each_entry(bytes, [&](std::string_view k, const ValueView& v) {
    if (v.kind == ValueView::Kind::kStruct && k == "LABELS") {
      labels_ok = for_each_entry(v.bytes, [&](std::string_view lk, const ValueView& lv) {
        if (lv.kind != ValueView::Kind::kString) return;
        if (lk == "app") out.app.assign(lv.bytes);
        else if (lk == "version") out.version.assign(lv.bytes);
        else if (lk == "service.istio.io/canonical-name") out.canonical_name.assign(lv.bytes);
        else if (lk == "service.istio.io/canonical-revision") out.canonical_revision.assign(lv.bytes);
      });
      return;
    }
    if (v.kind != ValueView::Kind::kString) return;
    static constexpr std::array<std::pair<std::string_view, std::string WorkloadMetadata::*>, 8> kFields = {{
        {"NAME", &WorkloadMetadata::name},
        {"NAMESPACE", &WorkloadMetadata::namespace_},
        {"WORKLOAD_NAME", &WorkloadMetadata::workload_name},
        {"CLUSTER_ID", &WorkloadMetadata::cluster_id},
        {"IDENTITY", &WorkloadMetadata::identity},
        {"OWNER", &WorkloadMetadata::owner},
        {"REGION", &WorkloadMetadata::region},
        {"AVAILABILITY_ZONE", &WorkloadMetadata::zone},
    }};
    for (const auto& [name, member] : kFields) {
      if (k == name) {
        (out.*member).assign(v.bytes);
        return;
      }
    }
  });
  return ok && labels_ok;
}

// ----------------------------------------------------------------- base64 --

namespace {
constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
int b64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}
}  // namespace

void base64_encode(std::string_view in, std::string& out) {
  size_t i = 0;
  auto u = [&](size_t k) { return static_cast<uint32_t>(static_cast<uint8_t>(in[k])); };
  for (; i + 3 <= in.size(); i += 3) {
    uint32_t v = (u(i) << 16) | (u(i + 1) << 8) | u(i + 2);
    for (int s = 18; s >= 0; s -= 6) out.push_back(kB64[(v >> s) & 63]);
  }
  size_t rest = in.size() - i;
  if (rest == 1) {
    uint32_t v = u(i) << 16;
    out.push_back(kB64[(v >> 18) & 63]);
    out.push_back(kB64[(v >> 12) & 63]);
    out.append("==");
  } else if (rest == 2) {
    uint32_t v = (u(i) << 16) | (u(i + 1) << 8);
    out.push_back(kB64[(v >> 18) & 63]);
    out.push_back(kB64[(v >> 12) & 63]);
    out.push_back(kB64[(v >> 6) & 63]);
    out.push_back('=');
  }
}

bool base64_decode(std::string_view in, std::string& out) {
  while (!in.empty() && in.back() == '=') in.remove_suffix(1);
  if (in.size() % 4 == 1) return false;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v = b64_value(c);
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return true;
}

std::string peer_metadata_header(const WorkloadMetadata& md) {
  std::string s, b64;
  encode_workload_struct(md, s);
  base64_encode(s, b64);
  return b64;
}

bool parse_peer_metadata_header(std::string_view id, std::string_view value, WorkloadMetadata& out) {
  thread_local std::string bytes;
  bytes.clear();
  if (!base64_decode(value, bytes)) return false;
  out.id.assign(id);
  return decode_workload_struct(bytes, out);
}

bool PeerMetadataCache::parse(std::string_view id, std::string_view value, WorkloadMetadata& out) {
  for (size_t i = 0; i < used_; ++i) {
    const Entry& e = entries_[i];
    if (e.value != value) continue;
    if (!e.ok) return false;
    out = e.md;
    out.id.assign(id);
    return true;
  }
  size_t slot = used_;
  if (used_ < kCapacity) {
    ++used_;
  } else {
    slot = next_;
    next_ = (next_ + 1) % kCapacity;
  }
  Entry& e = entries_[slot];
  e.value.assign(value);
  e.md.clear();
  e.ok = parse_peer_metadata_header("", value, e.md);
  if (!e.ok) return false;
  out = e.md;
  out.id.assign(id);
  return true;
}

// -------------------------------------------------------------------- TCP --

std::string peer_exchange_preamble(const WorkloadMetadata& md) {
  std::string workload;
  encode_workload_struct(md, workload);
  std::string st;  // {"x-envoy-peer-metadata": {...}, "x-envoy-peer-metadata-id": id} in key order
  put_struct_entry("x-envoy-peer-metadata", workload, st);
  put_string_entry("x-envoy-peer-metadata-id", md.id, st);
  std::string any;
  put_len(1, kStructTypeUrl, any);
  put_len(2, st, any);
  std::string out;
  auto be32 = [&](uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<char>((v >> s) & 0xff));
  };
  be32(kPeerExchangeMagic);
  be32(static_cast<uint32_t>(any.size()));
  out.append(any);
  return out;
}

PreambleStatus parse_peer_exchange_preamble(std::string_view data, size_t& consumed, WorkloadMetadata& out) {
  consumed = 0;
  if (data.size() < 8) return PreambleStatus::kNeedMore;
  auto be32 = [&](size_t at) {
    uint32_t v = 0;
    for (size_t k = 0; k < 4; ++k) v = (v << 8) | static_cast<uint8_t>(data[at + k]);
    return v;
  };
  if (be32(0) != kPeerExchangeMagic) return PreambleStatus::kInvalid;
  uint32_t n = be32(4);
  if (data.size() - 8 < n) return PreambleStatus::kNeedMore;
  std::string_view any = data.substr(8, n);
  Reader r(any);
  std::string_view type_url, value;
  while (!r.done()) {
    uint32_t f;
    uint8_t t;
    std::string_view b;
    if (!r.field(f, t, b)) return PreambleStatus::kInvalid;
    if (t != kLen) continue;
    if (f == 1) type_url = b;
    else if (f == 2) value = b;
  }
  if (type_url != kStructTypeUrl) return PreambleStatus::kInvalid;
  out.clear();
  bool have_md = false;
  std::string_view md_bytes;
  bool ok = for_each_entry(value, [&](std::string_view k, const ValueView& v) {
    if (k == "x-envoy-peer-metadata" && v.kind == ValueView::Kind::kStruct) {
      have_md = true;
      md_bytes = v.bytes;
    } else if (k == "x-envoy-peer-metadata-id" && v.kind == ValueView::Kind::kString) {
      out.id.assign(v.bytes);
    }
  });
  if (!ok || !have_md || !decode_workload_struct(md_bytes, out)) return PreambleStatus::kInvalid;
  consumed = 8 + n;
  return PreambleStatus::kComplete;
}

}  // namespace meshsim::proxy
