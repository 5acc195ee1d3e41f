#include "gateway/h2/huffman.h"

#include <array>
#include <cstdint>

namespace kgate::h2::hpack {
namespace {

constexpr int kSymbols = 257;  // the 256 byte values, then EOS
constexpr int kEos = 256;
constexpr int kMinLength = 5;
constexpr int kMaxLength = 30;

// The code's length for each symbol, by symbol (RFC 7541 appendix B). The code is canonical:
// codes of one length are consecutive in symbol order and follow all shorter ones, so these
// lengths determine it (build() below); the tests check every symbol against nghttp2.
constexpr std::array<uint8_t, kSymbols> kLength = {
    13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28,
    28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
    6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6,
    5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
    13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
    7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
    15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5,
    6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
    20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23,
    24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
    22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23,
    21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
    26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,
    19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
    20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23,
    26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
    30,
};

struct Code {
  uint32_t bits = 0;
  uint8_t length = 0;
};

struct Tables {
  std::array<Code, kSymbols> code{};
  // Decoding, per code length: the first code of that length, how many codes have it, and
  // where their symbols start in `symbols` (which lists symbols in code order).
  std::array<uint32_t, kMaxLength + 1> first{};
  std::array<uint16_t, kMaxLength + 1> count{};
  std::array<uint16_t, kMaxLength + 1> offset{};
  std::array<uint16_t, kSymbols> symbols{};
};

constexpr Tables build() {
  Tables t;
  uint16_t n = 0;
  for (int len = 1; len <= kMaxLength; ++len) {
    t.offset[len] = n;
    for (int s = 0; s < kSymbols; ++s)
      if (kLength[s] == len) t.symbols[n++] = static_cast<uint16_t>(s);
    t.count[len] = static_cast<uint16_t>(n - t.offset[len]);
  }
  uint32_t next = 0;  // the first code of the current length
  for (int len = 1; len <= kMaxLength; ++len) {
    t.first[len] = next;
    for (uint16_t i = 0; i < t.count[len]; ++i)
      t.code[t.symbols[t.offset[len] + i]] = Code{next + i, static_cast<uint8_t>(len)};
    next = (next + t.count[len]) << 1;
  }
  return t;
}

constexpr Tables kTables = build();
// Spot checks against the RFC's table: the first symbol, the shortest code, EOS.
static_assert(kTables.code[0].bits == 0x1ff8 && kTables.code[0].length == 13);
static_assert(kTables.code['0'].bits == 0 && kTables.code['0'].length == 5);
static_assert(kTables.code[kEos].bits == 0x3fffffff && kTables.code[kEos].length == 30);

}  // namespace

size_t huffmanLength(std::string_view in) {
  uint64_t bits = 0;
  for (unsigned char c : in) bits += kTables.code[c].length;
  return static_cast<size_t>((bits + 7) / 8);
}

void huffmanEncode(std::string_view in, std::string& out) {
  uint64_t acc = 0;  // its low `bits` bits are still to be written
  int bits = 0;
  for (unsigned char c : in) {
    const Code& code = kTables.code[c];
    acc = (acc << code.length) | code.bits;
    bits += code.length;
    while (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>(acc >> bits));
    }
  }
  if (bits > 0) out.push_back(static_cast<char>((acc << (8 - bits)) | (0xffu >> bits)));
}

bool huffmanDecode(std::string_view in, std::string& out) {
  uint64_t acc = 0;  // its low `bits` bits are input not decoded yet
  int bits = 0;
  size_t next = 0;
  for (;;) {
    while (bits <= 56 && next < in.size()) {
      acc = (acc << 8) | static_cast<unsigned char>(in[next++]);
      bits += 8;
    }
    // The next code is the shortest prefix that is one: no code is a prefix of another, and
    // below `first + count` of its length a prefix is a code of that length.
    int len = kMinLength;
    uint32_t code = 0;
    int most = bits < kMaxLength ? bits : kMaxLength;
    for (; len <= most; ++len) {
      code = static_cast<uint32_t>(acc >> (bits - len)) & ((1u << len) - 1);
      if (code - kTables.first[len] < kTables.count[len]) break;
    }
    if (len > most) break;  // what is left is no whole code
    uint16_t symbol = kTables.symbols[kTables.offset[len] + (code - kTables.first[len])];
    if (symbol == kEos) return false;
    out.push_back(static_cast<char>(symbol));
    bits -= len;
  }
  // Only padding may be left: at most 7 bits, the high bits of EOS (all ones).
  if (bits > 7) return false;
  uint32_t padding = (1u << bits) - 1;
  return (acc & padding) == padding;
}

}  // namespace kgate::h2::hpack
