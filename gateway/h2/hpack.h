// HPACK (RFC 7541): header blocks of HTTP/2, decoded and encoded by kgate itself, for its own
// HTTP/2 server codec (server_connection.h; the upstream side still uses nghttp2's).
//
// Decoding keeps the peer's dynamic table in step and hands each field to a sink, as views
// that are valid during the call only. Encoding keeps a small dynamic table of its own in the
// peer's decoder: a field whose value repeats from response to response (server, content-type,
// a date within its second, grpc-status) goes in once and as an index after; values that
// differ every time (content-length, etag, ...) and credentials go as literals (Huffman-coded
// when shorter), never filling the table.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kgate::h2::hpack {

// Why a header block could not be decoded. Each is a COMPRESSION_ERROR of the whole connection
// (RFC 9113 section 4.3): the two tables may be out of step from then on.
enum class DecodeError {
  None,
  Truncated,       // the block ends inside a field
  BadInteger,      // an integer over 2^32 - 1, or of more than 5 continuation bytes
  BadIndex,        // index 0, or past the end of the tables
  BadHuffman,      // a Huffman-coded string with EOS in it or bad padding
  BadSizeUpdate,   // a dynamic table size update after a field, or over the limit
};
std::string_view describe(DecodeError e);

class FieldSink {
 public:
  virtual ~FieldSink() = default;
  // One field, in block order. The views die with the call. neverIndexed: the sender marked
  // it sensitive (a literal never indexed), which a proxy must keep when it forwards it. The
  // decoder sets no bound on a block's fields: a 16 KiB block of one-byte indexes to a 4 KiB
  // entry names 64 MiB of them, so the sink keeps count (SETTINGS_MAX_HEADER_LIST_SIZE) and
  // stops keeping what is past its limit.
  virtual void onField(std::string_view name, std::string_view value, bool neverIndexed) = 0;
};

// The dynamic table as both ends keep it (RFC 7541 section 2.3): numbered newest first, each
// entry counted as name + value + 32 bytes, the oldest evicted first. A ring of entries, one
// string each, that grows as needed: an idle connection keeps no fixed block (a deque's first
// was 512 bytes) and an insertion costs one allocation, not two.
class DynamicTable {
 public:
  size_t size() const { return size_; }
  size_t entries() const { return count_; }
  // i = 0 is the newest entry (HPACK index 62).
  std::string_view name(size_t i) const {
    return std::string_view(at(i).field).substr(0, at(i).nameSize);
  }
  std::string_view value(size_t i) const {
    return std::string_view(at(i).field).substr(at(i).nameSize);
  }
  // Evicts the oldest entries until size() <= size.
  void evictTo(size_t size);
  // Adds a field, evicting what it must to stay within max; one larger than max leaves the
  // table empty (section 4.4). The name and value may view an entry that goes.
  void insert(std::string_view name, std::string_view value, size_t max);

 private:
  struct Entry {
    std::string field;  // name then value
    uint32_t nameSize = 0;
  };
  const Entry& at(size_t i) const {
    return ring_[(head_ + count_ - 1 - i) & (ring_.size() - 1)];
  }

  std::vector<Entry> ring_;  // a power of two long, the oldest at head_
  size_t head_ = 0, count_ = 0, size_ = 0;
};

class Decoder {
 public:
  // sizeLimit: the SETTINGS_HEADER_TABLE_SIZE this side announced (the protocol's default is
  // 4096): the most the peer's size updates may ask for. It stays: announcing a lower one later
  // would oblige the peer's next block to start with an update, which this does not check.
  explicit Decoder(uint32_t sizeLimit = 4096);

  // Decodes one whole header block (a HEADERS frame's fragment and its CONTINUATIONs). The
  // sink sees every field even when the caller will refuse the request, since every block
  // must be decoded to keep the table in step.
  DecodeError decode(std::string_view block, FieldSink& sink);

  // The dynamic table's size as RFC 7541 section 4.1 counts it, its most, its entries.
  size_t tableSize() const { return table_.size(); }
  size_t tableMaxSize() const { return maxSize_; }
  size_t tableEntries() const { return table_.entries(); }

 private:
  // The field at an HPACK index (1-61 static, then the dynamic table newest first), or false.
  bool lookup(uint64_t index, std::string_view& name, std::string_view& value) const;

  DynamicTable table_;
  size_t maxSize_;
  uint32_t sizeLimit_;
  std::string name_, value_;  // Huffman-decoded literals of the current field
};

class Encoder {
 public:
  // The most of the peer's table an encoder uses: a few repeating fields fit, and a connection
  // holds at most this much of them.
  static constexpr uint32_t kTableSize = 1024;

  // The peer's SETTINGS_HEADER_TABLE_SIZE (4096 until it sends one): the table stays within it.
  void setPeerLimit(uint32_t limit);
  // Call before the first field of each block: a block starts with the size updates the peer's
  // decoder is owed (the first block: this encoder's size; after a lower peer limit, the lower
  // size, RFC 7541 section 4.2). As with any HPACK encoder, a block begun must be sent: the
  // peer's table would otherwise be out of step.
  void startBlock(std::string& out);
  // Appends one field. The name must be lower case (RFC 9113 section 8.2.1). sensitive: a
  // literal never indexed (RFC 7541 section 7.1.3), for credentials such as Kuscia-Token.
  void field(std::string_view name, std::string_view value, std::string& out,
             bool sensitive = false);

  size_t tableSize() const { return table_.size(); }
  size_t tableEntries() const { return table_.entries(); }

 private:
  DynamicTable table_;
  size_t maxSize_ = kTableSize;  // the size the peer's decoder is told
  // The smallest size since the last block, while the peer's decoder is owed an update; owed
  // from the start: it begins at its own limit (4096) and must learn ours before any index.
  std::optional<size_t> lowestSince_ = kTableSize;
};

}  // namespace kgate::h2::hpack
