#include "gateway/h2/hpack.h"

#include <algorithm>
#include <array>
#include <utility>

#include "gateway/h2/huffman.h"

namespace kgate::h2::hpack {
namespace {

struct StaticField {
  std::string_view name, value;
};

// RFC 7541 appendix A; HPACK index i is element i - 1.
constexpr std::array<StaticField, 61> kStatic = {{
    {":authority", ""},
    {":method", "GET"},
    {":method", "POST"},
    {":path", "/"},
    {":path", "/index.html"},
    {":scheme", "http"},
    {":scheme", "https"},
    {":status", "200"},
    {":status", "204"},
    {":status", "206"},
    {":status", "304"},
    {":status", "400"},
    {":status", "404"},
    {":status", "500"},
    {"accept-charset", ""},
    {"accept-encoding", "gzip, deflate"},
    {"accept-language", ""},
    {"accept-ranges", ""},
    {"accept", ""},
    {"access-control-allow-origin", ""},
    {"age", ""},
    {"allow", ""},
    {"authorization", ""},
    {"cache-control", ""},
    {"content-disposition", ""},
    {"content-encoding", ""},
    {"content-language", ""},
    {"content-length", ""},
    {"content-location", ""},
    {"content-range", ""},
    {"content-type", ""},
    {"cookie", ""},
    {"date", ""},
    {"etag", ""},
    {"expect", ""},
    {"expires", ""},
    {"from", ""},
    {"host", ""},
    {"if-match", ""},
    {"if-modified-since", ""},
    {"if-none-match", ""},
    {"if-range", ""},
    {"if-unmodified-since", ""},
    {"last-modified", ""},
    {"link", ""},
    {"location", ""},
    {"max-forwards", ""},
    {"proxy-authenticate", ""},
    {"proxy-authorization", ""},
    {"range", ""},
    {"referer", ""},
    {"refresh", ""},
    {"retry-after", ""},
    {"server", ""},
    {"set-cookie", ""},
    {"strict-transport-security", ""},
    {"transfer-encoding", ""},
    {"user-agent", ""},
    {"vary", ""},
    {"via", ""},
    {"www-authenticate", ""},
}};

// Per entry, RFC 7541 section 4.1 counts its name and value and 32 bytes.
constexpr size_t kEntryOverhead = 32;

// Integers (RFC 7541 section 5.1): an N-bit prefix in the first byte, then 7 bits per byte.
// Values past 2^32 - 1 are refused: no size or index here comes near that.
DecodeError readInteger(const uint8_t*& p, const uint8_t* end, int prefixBits, uint64_t& out) {
  if (p == end) return DecodeError::Truncated;
  const uint64_t max = (1u << prefixBits) - 1;
  out = *p++ & max;
  if (out < max) return DecodeError::None;
  for (int shift = 0;; shift += 7) {
    if (p == end) return DecodeError::Truncated;
    uint8_t b = *p++;
    out += static_cast<uint64_t>(b & 0x7f) << shift;
    if (out > UINT32_MAX) return DecodeError::BadInteger;
    if ((b & 0x80) == 0) return DecodeError::None;
    if (shift >= 28) return DecodeError::BadInteger;  // more bytes could only add zeros or overflow
  }
}

// A string literal (section 5.2): raw, viewed in place, or Huffman-coded, decoded into scratch.
DecodeError readString(const uint8_t*& p, const uint8_t* end, std::string& scratch,
                       std::string_view& out) {
  if (p == end) return DecodeError::Truncated;
  bool huffman = (*p & 0x80) != 0;
  uint64_t length;
  if (auto e = readInteger(p, end, 7, length); e != DecodeError::None) return e;
  if (length > static_cast<uint64_t>(end - p)) return DecodeError::Truncated;
  std::string_view bytes(reinterpret_cast<const char*>(p), static_cast<size_t>(length));
  p += length;
  if (!huffman) {
    out = bytes;
    return DecodeError::None;
  }
  scratch.clear();
  if (!huffmanDecode(bytes, scratch)) return DecodeError::BadHuffman;
  out = scratch;
  return DecodeError::None;
}

void writeInteger(std::string& out, uint8_t flags, int prefixBits, uint64_t value) {
  const uint64_t max = (1u << prefixBits) - 1;
  if (value < max) {
    out.push_back(static_cast<char>(flags | value));
    return;
  }
  out.push_back(static_cast<char>(flags | max));
  value -= max;
  while (value >= 0x80) {
    out.push_back(static_cast<char>(0x80 | (value & 0x7f)));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

void writeString(std::string& out, std::string_view s) {
  size_t coded = huffmanLength(s);
  if (coded < s.size()) {
    writeInteger(out, 0x80, 7, coded);
    huffmanEncode(s, out);
  } else {
    writeInteger(out, 0x00, 7, s.size());
    out.append(s);
  }
}

// The static entries by name length, for the encoder's lookups: each list holds the indexes
// (1-based) of the entries whose name has that length, in table order.
constexpr size_t kLongestStaticName = 27;  // access-control-allow-origin
struct NameIndex {
  std::array<std::array<uint8_t, 16>, kLongestStaticName + 1> entries{};
  std::array<uint8_t, kLongestStaticName + 1> count{};
};
constexpr NameIndex buildNameIndex() {
  NameIndex ix;
  for (size_t i = 0; i < kStatic.size(); ++i) {
    size_t len = kStatic[i].name.size();
    ix.entries[len][ix.count[len]++] = static_cast<uint8_t>(i + 1);
  }
  return ix;
}
constexpr NameIndex kNameIndex = buildNameIndex();

// The static index of the field (its whole entry) or, failing that, of its name; 0 if none.
std::pair<uint8_t, bool> staticIndex(std::string_view name, std::string_view value) {
  if (name.size() > kLongestStaticName) return {0, false};
  uint8_t byName = 0;
  for (uint8_t k = 0; k < kNameIndex.count[name.size()]; ++k) {
    uint8_t index = kNameIndex.entries[name.size()][k];
    const StaticField& f = kStatic[index - 1];
    if (f.name != name) continue;
    if (f.value == value) return {index, true};
    if (!byName) byName = index;
  }
  return {byName, false};
}

}  // namespace

std::string_view describe(DecodeError e) {
  switch (e) {
    case DecodeError::None: return "no error";
    case DecodeError::Truncated: return "header block ends inside a field";
    case DecodeError::BadInteger: return "integer out of range in header block";
    case DecodeError::BadIndex: return "header index out of range";
    case DecodeError::BadHuffman: return "invalid Huffman-coded string in header block";
    case DecodeError::BadSizeUpdate: return "invalid dynamic table size update";
  }
  return "invalid header block";
}

Decoder::Decoder(uint32_t sizeLimit) : maxSize_(sizeLimit), sizeLimit_(sizeLimit) {}

void DynamicTable::evictTo(size_t size) {
  while (size_ > size && count_ > 0) {
    Entry& oldest = ring_[head_];
    size_ -= oldest.field.size() + kEntryOverhead;
    std::string().swap(oldest.field);  // its memory goes now, not when the slot is reused
    head_ = (head_ + 1) & (ring_.size() - 1);
    --count_;
  }
  // Emptied (a size update to 0, a field larger than the table): the slots go too.
  if (count_ == 0 && !ring_.empty()) {
    std::vector<Entry>().swap(ring_);
    head_ = 0;
  }
}

void DynamicTable::insert(std::string_view name, std::string_view value, size_t max) {
  size_t size = name.size() + value.size() + kEntryOverhead;
  if (size > max) {
    evictTo(0);
    return;
  }
  // Copied before evicting: the name may be one of the entries about to go (section 4.4).
  Entry entry{std::string(name), static_cast<uint32_t>(name.size())};
  entry.field.append(value);
  evictTo(max - size);
  if (count_ == ring_.size()) {  // full: twice as long, the oldest first again
    std::vector<Entry> longer(std::max<size_t>(4, ring_.size() * 2));
    for (size_t i = 0; i < count_; ++i)
      longer[i] = std::move(ring_[(head_ + i) & (ring_.size() - 1)]);
    ring_ = std::move(longer);
    head_ = 0;
  }
  ring_[(head_ + count_) & (ring_.size() - 1)] = std::move(entry);
  ++count_;
  size_ += size;
}

bool Decoder::lookup(uint64_t index, std::string_view& name, std::string_view& value) const {
  if (index == 0) return false;
  if (index <= kStatic.size()) {
    name = kStatic[index - 1].name;
    value = kStatic[index - 1].value;
    return true;
  }
  uint64_t dynamic = index - kStatic.size() - 1;
  if (dynamic >= table_.entries()) return false;
  name = table_.name(dynamic);
  value = table_.value(dynamic);
  return true;
}

DecodeError Decoder::decode(std::string_view block, FieldSink& sink) {
  auto p = reinterpret_cast<const uint8_t*>(block.data());
  const uint8_t* end = p + block.size();
  bool fieldSeen = false;
  while (p < end) {
    uint8_t first = *p;
    uint64_t index;
    std::string_view name, value;
    if (first & 0x80) {  // indexed field (section 6.1)
      if (auto e = readInteger(p, end, 7, index); e != DecodeError::None) return e;
      if (!lookup(index, name, value)) return DecodeError::BadIndex;
      sink.onField(name, value, false);
      fieldSeen = true;
      continue;
    }
    if ((first & 0xe0) == 0x20) {  // dynamic table size update (section 6.3)
      uint64_t size;
      if (auto e = readInteger(p, end, 5, size); e != DecodeError::None) return e;
      // Only at the start of a block (section 4.2), and within what this side announced.
      if (fieldSeen || size > sizeLimit_) return DecodeError::BadSizeUpdate;
      maxSize_ = static_cast<size_t>(size);
      table_.evictTo(maxSize_);
      continue;
    }
    // A literal (section 6.2): with incremental indexing (01), without (0000), never (0001).
    bool addToTable = (first & 0x40) != 0;
    bool neverIndexed = !addToTable && (first & 0x10) != 0;
    if (auto e = readInteger(p, end, addToTable ? 6 : 4, index); e != DecodeError::None)
      return e;
    if (index == 0) {
      if (auto e = readString(p, end, name_, name); e != DecodeError::None) return e;
    } else {
      std::string_view unused;
      if (!lookup(index, name, unused)) return DecodeError::BadIndex;
    }
    if (auto e = readString(p, end, value_, value); e != DecodeError::None) return e;
    sink.onField(name, value, neverIndexed);
    if (addToTable) table_.insert(name, value, maxSize_);
    fieldSeen = true;
  }
  return DecodeError::None;
}

void Encoder::setPeerLimit(uint32_t limit) {
  size_t size = std::min<size_t>(kTableSize, limit);
  if (size == maxSize_) return;
  lowestSince_ = std::min(lowestSince_.value_or(size), size);
  maxSize_ = size;
  table_.evictTo(maxSize_);
}

void Encoder::startBlock(std::string& out) {
  // After a limit went down and up again the lowest goes first: the peer's decoder took it in
  // between (section 4.2).
  if (!lowestSince_) return;
  if (*lowestSince_ < maxSize_) writeInteger(out, 0x20, 5, *lowestSince_);
  writeInteger(out, 0x20, 5, maxSize_);
  lowestSince_.reset();
}

namespace {

// Fields whose values differ from one response to the next: indexing them would only push the
// repeating ones out of the table.
bool varies(std::string_view name) {
  static constexpr std::string_view kVarying[] = {
      "content-length", "etag",        "last-modified", "age",    "expires",
      "location",       "content-range", "x-request-id", "traceparent", "content-md5"};
  for (auto v : kVarying)
    if (name == v) return true;
  return false;
}

}  // namespace

void Encoder::field(std::string_view name, std::string_view value, std::string& out,
                    bool sensitive) {
  auto [nameIndex, whole] = staticIndex(name, value);
  if (whole && !sensitive) {
    writeInteger(out, 0x80, 7, nameIndex);
    return;
  }
  if (!sensitive) {
    for (size_t i = 0; i < table_.entries(); ++i) {
      if (table_.value(i) == value && table_.name(i) == name) {
        writeInteger(out, 0x80, 7, kStatic.size() + 1 + i);
        return;
      }
    }
  }
  // Into the table when it may repeat and takes at most a quarter of it (no one field empties
  // the table); credentials never (section 7.1.3).
  size_t entry = name.size() + value.size() + kEntryOverhead;
  bool add = !sensitive && entry * 4 <= maxSize_ && !varies(name);
  if (add) writeInteger(out, 0x40, 6, nameIndex);
  else writeInteger(out, sensitive ? 0x10 : 0x00, 4, nameIndex);
  if (!nameIndex) writeString(out, name);
  writeString(out, value);
  if (add) table_.insert(name, value, maxSize_);
}

}  // namespace kgate::h2::hpack
