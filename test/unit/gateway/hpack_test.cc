// kgate's HPACK (gateway/h2/hpack.h) against RFC 7541's examples and against nghttp2's
// deflater and inflater, the implementation every HTTP/2 peer of kgate's has met so far.
#include "gateway/h2/hpack.h"

#include <gtest/gtest.h>
#include <nghttp2/nghttp2.h>

#include <cctype>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "gateway/h2/huffman.h"
#include "support/hpack_oracle.h"

namespace kgate::h2::hpack {
namespace {

using Field = test::HeaderField;
using Fields = test::HeaderFields;

std::string unhex(std::string_view hex) {
  std::string out;
  int pending = -1;
  for (char c : hex) {
    if (c == ' ') continue;
    int v = std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : (c | 0x20) - 'a' + 10;
    if (pending < 0) {
      pending = v;
    } else {
      out.push_back(static_cast<char>(pending << 4 | v));
      pending = -1;
    }
  }
  return out;
}

DecodeError decodeInto(Decoder& d, std::string_view block, Fields& out) {
  test::CollectFields c;
  DecodeError e = d.decode(block, c);
  out = std::move(c.fields);
  return e;
}

// nghttp2 as the other side: its deflater makes blocks for our decoder, its inflater reads ours.
class Nghttp2Deflater {
 public:
  explicit Nghttp2Deflater(size_t tableSize = 4096) { nghttp2_hd_deflate_new(&d_, tableSize); }
  ~Nghttp2Deflater() { nghttp2_hd_deflate_del(d_); }
  void changeTableSize(size_t size) { nghttp2_hd_deflate_change_table_size(d_, size); }
  std::string block(const Fields& fields) {
    std::string out;
    EXPECT_TRUE(test::nghttp2Deflate(d_, fields, out));
    return out;
  }

 private:
  nghttp2_hd_deflater* d_ = nullptr;
};

class Nghttp2Inflater {
 public:
  Nghttp2Inflater() { nghttp2_hd_inflate_new(&i_); }
  ~Nghttp2Inflater() { nghttp2_hd_inflate_del(i_); }
  bool inflate(std::string_view block, Fields& out) { return test::nghttp2Inflate(i_, block, out); }
  // This side's SETTINGS_HEADER_TABLE_SIZE: later size updates must stay within it.
  void announce(uint32_t limit) { nghttp2_hd_inflate_change_table_size(i_, limit); }
  size_t tableSize() const { return nghttp2_hd_inflate_get_dynamic_table_size(i_); }

 private:
  nghttp2_hd_inflater* i_ = nullptr;
};

std::string randomText(std::mt19937& rng, size_t maxLength, bool anyByte) {
  std::uniform_int_distribution<size_t> length(0, maxLength);
  std::uniform_int_distribution<int> byte(anyByte ? 0 : 0x21, anyByte ? 255 : 0x7e);
  std::string s(length(rng), '\0');
  for (auto& c : s) c = static_cast<char>(byte(rng));
  return s;
}

std::string randomName(std::mt19937& rng) {
  static const std::vector<std::string> common = {
      ":method", ":path", ":scheme", ":authority", ":status", "content-type", "content-length",
      "kuscia-token", "kuscia-source", "kuscia-host", "user-agent", "accept", "date", "server",
      "x-trace-id", "cookie", "authorization", "set-cookie", "via", "age"};
  std::uniform_int_distribution<size_t> pick(0, common.size() + 4);
  size_t i = pick(rng);
  if (i < common.size()) return common[i];
  std::string s = randomText(rng, 20, false);
  for (auto& c : s) c = static_cast<char>('a' + static_cast<unsigned char>(c) % 26);
  return s.empty() ? "x" : s;
}

// What nghttp2's inflater or our decoder reports for fields nghttp2's deflater coded: it sends
// authorization, and cookies under 20 bytes, as never indexed whatever the caller says.
Fields asNghttp2Sends(Fields fields) {
  for (auto& f : fields)
    if (f.name == "authorization" || (f.name == "cookie" && f.value.size() < 20))
      f.neverIndexed = true;
  return fields;
}

// Random fields, half of them repeats of earlier ones (so that whole fields are found in the
// dynamic table, as in real traffic), the rest new.
class FieldGen {
 public:
  explicit FieldGen(unsigned seed) : rng_(seed) {}
  Fields next() {
    std::uniform_int_distribution<int> count(0, 12), coin(0, 9);
    Fields f(static_cast<size_t>(count(rng_)));
    for (auto& field : f) {
      if (coin(rng_) < 5 && !seen_.empty()) {
        field = seen_[std::uniform_int_distribution<size_t>(0, seen_.size() - 1)(rng_)];
        continue;
      }
      field.name = randomName(rng_);
      field.value = randomText(rng_, coin(rng_) == 0 ? 300 : 40, coin(rng_) < 3);
      field.neverIndexed = coin(rng_) == 0;
      if (seen_.size() < 64) seen_.push_back(field);
      else seen_[std::uniform_int_distribution<size_t>(0, 63)(rng_)] = field;
    }
    return f;
  }

 private:
  std::mt19937 rng_;
  Fields seen_;
};

// --- RFC 7541 appendix C: the same three requests, raw (C.3) and Huffman-coded (C.4) ---

const Fields kRequest1 = {{":method", "GET"}, {":scheme", "http"}, {":path", "/"},
                          {":authority", "www.example.com"}};
Fields request2() {
  Fields f = kRequest1;
  f.push_back({"cache-control", "no-cache"});
  return f;
}
const Fields kRequest3 = {{":method", "GET"},
                          {":scheme", "https"},
                          {":path", "/index.html"},
                          {":authority", "www.example.com"},
                          {"custom-key", "custom-value"}};

TEST(Hpack, Rfc7541RequestExamplesWithoutHuffman) {
  Decoder d;
  Fields got;
  ASSERT_EQ(decodeInto(d, unhex("8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d"), got),
            DecodeError::None);
  EXPECT_EQ(got, kRequest1);
  EXPECT_EQ(d.tableSize(), 57u);
  ASSERT_EQ(decodeInto(d, unhex("8286 84be 5808 6e6f 2d63 6163 6865"), got), DecodeError::None);
  EXPECT_EQ(got, request2());
  EXPECT_EQ(d.tableSize(), 110u);
  ASSERT_EQ(decodeInto(d,
                       unhex("8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661"
                             "6c75 65"),
                       got),
            DecodeError::None);
  EXPECT_EQ(got, kRequest3);
  EXPECT_EQ(d.tableSize(), 164u);
  EXPECT_EQ(d.tableEntries(), 3u);
}

TEST(Hpack, Rfc7541RequestExamplesWithHuffman) {
  Decoder d;
  Fields got;
  ASSERT_EQ(decodeInto(d, unhex("8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff"), got),
            DecodeError::None);
  EXPECT_EQ(got, kRequest1);
  ASSERT_EQ(decodeInto(d, unhex("8286 84be 5886 a8eb 1064 9cbf"), got), DecodeError::None);
  EXPECT_EQ(got, request2());
  ASSERT_EQ(decodeInto(d,
                       unhex("8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf"),
                       got),
            DecodeError::None);
  EXPECT_EQ(got, kRequest3);
  EXPECT_EQ(d.tableSize(), 164u);
}

// --- Huffman code: every symbol, both directions, against nghttp2 ---

TEST(Hpack, HuffmanCodeOfEveryByteMatchesNghttp2) {
  // A literal with a new name whose value is Huffman-coded by us: nghttp2 must read it back.
  Nghttp2Inflater theirs;
  for (int b = 0; b < 256; ++b) {
    for (size_t repeat : {1u, 2u, 3u, 7u, 8u, 31u}) {
      std::string value(repeat, static_cast<char>(b));
      std::string coded;
      huffmanEncode(value, coded);
      ASSERT_EQ(coded.size(), huffmanLength(value));
      std::string block = unhex("00 01 78");  // without indexing, name "x"
      block.push_back(static_cast<char>(0x80 | coded.size()));  // all under 127 bytes
      block += coded;
      Fields got;
      ASSERT_TRUE(theirs.inflate(block, got)) << "byte " << b << " x" << repeat;
      ASSERT_EQ(got.size(), 1u);
      EXPECT_EQ(got[0].value, value) << "byte " << b << " x" << repeat;
      std::string back;
      ASSERT_TRUE(huffmanDecode(coded, back));
      EXPECT_EQ(back, value);
    }
  }
}

TEST(Hpack, HuffmanStringsFromNghttp2Decode) {
  // nghttp2 codes a value with Huffman whenever that is shorter; all bytes occur.
  std::mt19937 rng(7);
  Nghttp2Deflater theirs;
  Decoder ours;
  for (int i = 0; i < 2000; ++i) {
    Fields sent = {{"x-" + std::to_string(i), randomText(rng, 64, i % 2 == 0), true}};
    Fields got;
    ASSERT_EQ(decodeInto(ours, theirs.block(sent), got), DecodeError::None) << i;
    EXPECT_EQ(got, sent) << i;
  }
}

TEST(Hpack, HuffmanRejectsEosAndBadPadding) {
  std::string out;
  EXPECT_TRUE(huffmanDecode("", out));
  // '0' is 00000: three bits of padding, all ones.
  EXPECT_TRUE(huffmanDecode(unhex("07"), out));
  EXPECT_FALSE(huffmanDecode(unhex("00"), out));       // padding with zeros
  EXPECT_FALSE(huffmanDecode(unhex("ff"), out));       // 8 bits of padding
  EXPECT_FALSE(huffmanDecode(unhex("07 ff"), out));    // a whole byte of padding after a code
  EXPECT_FALSE(huffmanDecode(unhex("ff ff ff ff"), out));  // EOS (30 ones) and 2 more
  EXPECT_FALSE(huffmanDecode(unhex("ff ff ff fc"), out));  // EOS (then 2 zero bits)
}

// --- The static table: every entry as nghttp2 knows it ---

TEST(Hpack, StaticTableMatchesNghttp2) {
  Nghttp2Inflater theirs;
  Decoder ours;
  for (int i = 1; i <= 61; ++i) {
    std::string block(1, static_cast<char>(0x80 | i));
    Fields want, got;
    ASSERT_TRUE(theirs.inflate(block, want)) << i;
    ASSERT_EQ(decodeInto(ours, block, got), DecodeError::None) << i;
    EXPECT_EQ(got, want) << "static index " << i;
  }
  Fields got;
  EXPECT_EQ(decodeInto(ours, unhex("be"), got), DecodeError::BadIndex);  // 62: table empty
  EXPECT_EQ(decodeInto(ours, unhex("80"), got), DecodeError::BadIndex);  // 0
}

// --- Blocks from nghttp2's deflater, dynamic table and all ---

TEST(Hpack, DecodesNghttp2BlocksWhileItsTableTurnsOver) {
  std::vector<size_t> blockBytes;
  for (size_t tableSize : {4096u, 256u, 0u}) {
    FieldGen gen(11);  // the same fields for each table size
    Nghttp2Deflater theirs(tableSize);
    Decoder ours;
    size_t bytes = 0;
    for (int i = 0; i < 3000; ++i) {
      Fields sent = gen.next(), got;
      std::string block = theirs.block(sent);
      ASSERT_EQ(decodeInto(ours, block, got), DecodeError::None) << i;
      ASSERT_EQ(got, asNghttp2Sends(sent)) << "table " << tableSize << ", block " << i;
      ASSERT_LE(ours.tableSize(), tableSize);
      bytes += block.size();
    }
    blockBytes.push_back(bytes);
  }
  // The table was used: with 4 KiB of it the blocks are much smaller than with none.
  EXPECT_LT(blockBytes[0], blockBytes[2] * 3 / 4);
}

TEST(Hpack, FollowsTableSizeUpdates) {
  FieldGen gen(3);
  Nghttp2Deflater theirs;
  Decoder ours;
  const size_t sizes[] = {4096, 100, 0, 2048, 64, 4096};
  for (int round = 0; round < 60; ++round) {
    size_t size = sizes[round % 6];
    theirs.changeTableSize(size);
    for (int i = 0; i < 20; ++i) {
      Fields sent = gen.next(), got;
      ASSERT_EQ(decodeInto(ours, theirs.block(sent), got), DecodeError::None);
      ASSERT_EQ(got, asNghttp2Sends(sent));
      EXPECT_EQ(ours.tableMaxSize(), size);
      EXPECT_LE(ours.tableSize(), size);
    }
  }
}

TEST(Hpack, AnEntryTooLargeEmptiesTheTable) {
  Decoder ours(100);
  Fields got;
  // "a: b" indexed (34 bytes), then one of 33 + 80 bytes: larger than the table.
  ASSERT_EQ(decodeInto(ours, unhex("40 0161 0162"), got), DecodeError::None);
  EXPECT_EQ(ours.tableEntries(), 1u);
  std::string big = unhex("40 0161 50") + std::string(80, 'v');
  ASSERT_EQ(decodeInto(ours, big, got), DecodeError::None);
  EXPECT_EQ(got.at(0).value, std::string(80, 'v'));
  EXPECT_EQ(ours.tableEntries(), 0u);
  EXPECT_EQ(ours.tableSize(), 0u);
}

TEST(Hpack, ANameFromAnEntryItEvicts) {
  // A table of 100 holds one entry with a 29-byte name (29 + 1 + 32 = 62). The next literal
  // takes that entry's name (index 62) and needs 63 bytes: inserting it evicts the entry whose
  // name it copies. The name is too long for std::string's inline buffer, so a read of it after
  // the eviction would be a read of freed memory.
  const std::string name = "x-name-longer-than-sso-buffer";
  ASSERT_EQ(name.size(), 29u);
  Decoder ours(100);
  Fields got;
  ASSERT_EQ(decodeInto(ours, unhex("40") + char(name.size()) + name + unhex("01") + "a", got),
            DecodeError::None);
  ASSERT_EQ(ours.tableSize(), name.size() + 1 + 32);
  ASSERT_EQ(decodeInto(ours, unhex("7e 02") + "bb", got), DecodeError::None);
  ASSERT_EQ(got, (Fields{{name, "bb"}}));
  ASSERT_EQ(ours.tableEntries(), 1u);
  ASSERT_EQ(decodeInto(ours, unhex("be"), got), DecodeError::None);
  EXPECT_EQ(got, (Fields{{name, "bb"}}));
}

// --- Malformed blocks: each refused, as nghttp2 refuses it ---

TEST(Hpack, MalformedBlocksAreRefused) {
  struct Case {
    const char* what;
    std::string block;
    DecodeError want;
  };
  const Case cases[] = {
      {"index 0", unhex("80"), DecodeError::BadIndex},
      {"index past the tables", unhex("ff 00"), DecodeError::BadIndex},  // 127
      {"name index past the tables", unhex("7f 05 01 61"), DecodeError::BadIndex},
      {"integer ends early", unhex("ff"), DecodeError::Truncated},
      {"integer over 2^32", unhex("ff ff ff ff ff 0f"), DecodeError::BadInteger},
      {"integer of too many bytes", unhex("ff 80 80 80 80 80 00"), DecodeError::BadInteger},
      {"string ends early", unhex("00 05 61 62"), DecodeError::Truncated},
      {"value missing", unhex("00 01 61"), DecodeError::Truncated},
      {"Huffman padding of zeros", unhex("00 01 61 81 00"), DecodeError::BadHuffman},
      {"Huffman EOS", unhex("00 01 61 84 ff ff ff ff"), DecodeError::BadHuffman},
      {"size update after a field", unhex("82 20"), DecodeError::BadSizeUpdate},
      {"size update over the limit", unhex("3f e2 1f"), DecodeError::BadSizeUpdate},  // 4097
  };
  for (const auto& c : cases) {
    Decoder ours;
    Fields got;
    EXPECT_EQ(decodeInto(ours, c.block, got), c.want) << c.what;
    Nghttp2Inflater theirs;
    EXPECT_FALSE(theirs.inflate(c.block, got)) << c.what << ": nghttp2 takes it";
  }
  EXPECT_FALSE(describe(DecodeError::BadHuffman).empty());
}

TEST(Hpack, SizeUpdatesAtTheStartOfABlockAreTaken) {
  Decoder ours;
  Fields got;
  // Two updates (down to 0, then up to 4096), then a field: all at the block's start.
  ASSERT_EQ(decodeInto(ours, unhex("20 3f e1 1f 82"), got), DecodeError::None);
  EXPECT_EQ(got, (Fields{{":method", "GET"}}));
  EXPECT_EQ(ours.tableMaxSize(), 4096u);
}

// The ring under both tables: wrapped round and grown, it keeps the newest-first order, its
// size, and what an insertion naming an entry that goes still needs (section 4.4).
TEST(Hpack, TheDynamicTableKeepsItsOrderAsItWrapsAndGrows) {
  DynamicTable t;
  auto entry = [](int i) { return "n" + std::to_string(i); };  // with "v": 32 + 3 + 1 bytes
  const size_t max = 4 * (32 + 3 + 1);
  for (int i = 10; i < 14; ++i) t.insert(entry(i), "v", max);  // fills the first 4 slots
  for (int i = 14; i < 17; ++i) t.insert(entry(i), "v", max);  // each evicts the oldest
  ASSERT_EQ(t.entries(), 4u);
  EXPECT_EQ(t.name(0), "n16");
  EXPECT_EQ(t.name(3), "n13");
  // A larger limit: the full ring, its oldest no longer at the front, grows.
  for (int i = 17; i < 23; ++i) t.insert(entry(i), "v", 100 * max);
  ASSERT_EQ(t.entries(), 10u);
  for (size_t i = 0; i < t.entries(); ++i) EXPECT_EQ(t.name(i), entry(22 - int(i))) << i;
  EXPECT_EQ(t.size(), 10u * (32 + 3 + 1));
  // The oldest entry's own name, inserted where it must go to make room.
  std::string_view oldest = t.name(9);
  t.insert(oldest, std::string(100 * max - t.size() - 32 - 3 + 1, 'x'), 100 * max);
  EXPECT_EQ(t.name(0), "n13");
  EXPECT_EQ(t.name(1), "n22");
  t.insert("big", std::string(100 * max, 'x'), 100 * max);  // larger than the table
  EXPECT_EQ(t.entries(), 0u);
  EXPECT_EQ(t.size(), 0u);
}

// --- Our encoder, read by nghttp2 ---

TEST(Hpack, EncodedBlocksDecodeInNghttp2AndOurs) {
  FieldGen gen(5);
  Encoder enc;
  Nghttp2Inflater theirs;
  Decoder ours;
  std::mt19937 rng(9);
  const uint32_t limits[] = {0, 40, 100, 512, 4096};
  for (int i = 0; i < 3000; ++i) {
    // Now and then the peer announces another SETTINGS_HEADER_TABLE_SIZE (our Decoder's stays
    // 4096: it checks the updates against that).
    if (rng() % 50 == 0) {
      uint32_t limit = limits[rng() % std::size(limits)];
      theirs.announce(limit);
      enc.setPeerLimit(limit);
    }
    Fields sent = gen.next();
    std::string block;
    enc.startBlock(block);
    for (const auto& f : sent) enc.field(f.name, f.value, block, f.neverIndexed);
    Fields got;
    ASSERT_TRUE(theirs.inflate(block, got)) << i;
    ASSERT_EQ(got, sent) << i;
    ASSERT_EQ(decodeInto(ours, block, got), DecodeError::None) << i;
    ASSERT_EQ(got, sent) << i;
    // The three tables in step, and ours never past its size.
    ASSERT_EQ(ours.tableSize(), enc.tableSize()) << i;
    ASSERT_EQ(theirs.tableSize(), enc.tableSize()) << i;
    ASSERT_LE(enc.tableSize(), Encoder::kTableSize);
  }
}

TEST(Hpack, RepeatingFieldsBecomeIndexes) {
  Encoder enc;
  Decoder ours;
  std::string first, second;
  for (std::string* block : {&first, &second}) {
    enc.startBlock(*block);
    enc.field(":status", "401", *block);
    enc.field("server", "kgate", *block);
    enc.field("content-length", "17", *block);          // differs every time: not kept
    enc.field("kuscia-token", "secret", *block, true);  // a credential: never kept
    enc.field("x-big", std::string(300, 'v'), *block);  // over a quarter of the table
  }
  EXPECT_EQ(enc.tableEntries(), 2u);
  // The second time: the two kept fields are one byte each (newest first: server is 62).
  EXPECT_EQ(second.substr(0, 2), unhex("bf be"));
  EXPECT_LT(second.size() + 5, first.size());
  Fields got;
  ASSERT_EQ(decodeInto(ours, first, got), DecodeError::None);
  ASSERT_EQ(decodeInto(ours, second, got), DecodeError::None);
  EXPECT_EQ(got[1], (Field{"server", "kgate", false}));
  EXPECT_EQ(got[3], (Field{"kuscia-token", "secret", true}));
}

TEST(Hpack, ALowerPeerLimitIsAnnouncedSmallestFirst) {
  Encoder enc;
  std::string block;
  enc.startBlock(block);
  EXPECT_EQ(block, unhex("3f e1 07"));  // our size, 1024, before any field
  enc.field("server", "kgate", block);
  EXPECT_EQ(enc.tableEntries(), 1u);
  // Down to 20 (the entry goes), then back up: the peer hears 20, then 1024 (section 4.2).
  enc.setPeerLimit(20);
  EXPECT_EQ(enc.tableEntries(), 0u);
  enc.setPeerLimit(4096);
  block.clear();
  enc.startBlock(block);
  EXPECT_EQ(block, unhex("34 3f e1 07"));
  block.clear();
  enc.startBlock(block);
  EXPECT_EQ(block, "");  // owed once
  // A peer limit of 0: nothing is kept.
  enc.setPeerLimit(0);
  block.clear();
  enc.startBlock(block);
  enc.field("server", "kgate", block);
  EXPECT_EQ(block.substr(0, 1), unhex("20"));
  EXPECT_EQ(enc.tableEntries(), 0u);
}

// Limits that go down and up again before a block, the first one too: the peer's decoder took
// the lowest in between, so the block names it first, and nghttp2 (which checks that order) and
// ours both follow.
TEST(Hpack, LimitsThatDipBetweenBlocksAreAnnouncedInOrder) {
  for (bool beforeTheFirst : {true, false}) {
    Encoder enc;
    Nghttp2Inflater theirs;
    Decoder ours;
    Fields got;
    auto roundTrip = [&](const std::string& block) {
      ASSERT_TRUE(theirs.inflate(block, got));
      ASSERT_EQ(decodeInto(ours, block, got), DecodeError::None);
      EXPECT_EQ(got, (Fields{{"server", "kgate"}}));
      EXPECT_EQ(theirs.tableSize(), enc.tableSize());
      EXPECT_EQ(ours.tableSize(), enc.tableSize());
    };
    std::string block;
    if (!beforeTheFirst) {
      enc.startBlock(block);
      enc.field("server", "kgate", block);
      roundTrip(block);
    }
    for (uint32_t limit : {100u, 0u, 4096u}) {
      theirs.announce(limit);
      enc.setPeerLimit(limit);
    }
    block.clear();
    enc.startBlock(block);
    EXPECT_EQ(block, unhex("20 3f e1 07")) << beforeTheFirst;  // 0, then 1024
    enc.field("server", "kgate", block);
    roundTrip(block);
  }
}

TEST(Hpack, EncoderUsesTheStaticTable) {
  Encoder enc;
  std::string block;
  enc.startBlock(block);
  EXPECT_EQ(block, unhex("3f e1 07"));  // its table's size, once
  block.clear();
  enc.startBlock(block);
  EXPECT_EQ(block, "");
  enc.field(":status", "200", block);
  EXPECT_EQ(block, unhex("88"));
  block.clear();
  enc.field("content-length", "5", block);  // name 28, raw value (Huffman is no shorter)
  EXPECT_EQ(block, unhex("0f 0d 01 35"));
  block.clear();
  enc.field("kuscia-token", "secret", block, true);  // new name, never indexed
  EXPECT_EQ(static_cast<uint8_t>(block[0]), 0x10);
  block.clear();
  enc.field(":status", "200", block, true);  // sensitive: never an index
  EXPECT_EQ(block.substr(0, 1), unhex("18"));
}

}  // namespace
}  // namespace kgate::h2::hpack
