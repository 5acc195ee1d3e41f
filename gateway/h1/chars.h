// The character classes of HTTP/1.1 heads (RFC 9110 section 5.6, RFC 9112) and the small
// string steps the parser takes with them. Values, targets and field names are checked eight bytes
// at a time: they are most of a head's bytes, and a byte-by-byte loop was a third of parsing one.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace kgate::h1::chars {

// tchar mapped to its lower case; 0 for what is not a tchar.
inline constexpr auto kTokenLower = [] {
  std::array<char, 256> t{};
  for (int c = '0'; c <= '9'; ++c) t[c] = static_cast<char>(c);
  for (int c = 'a'; c <= 'z'; ++c) t[c] = static_cast<char>(c);
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = static_cast<char>(c - 'A' + 'a');
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) t[static_cast<unsigned char>(c)] = c;
  return t;
}();

inline bool isToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (kTokenLower[static_cast<unsigned char>(c)] == 0) return false;
  return true;
}

// Per byte of x: the high bit set where lo <= byte <= hi, clear elsewhere and for bytes >= 0x80.
// Seven-bit sums and differences cannot carry into the next byte, so each byte stands alone.
inline uint64_t bytesBetween(uint64_t x, unsigned lo, unsigned hi) {
  constexpr uint64_t kOnes = 0x0101010101010101ull;
  const uint64_t low7 = x & (kOnes * 0x7f);
  const uint64_t belowTop = kOnes * (128 + hi) - low7;     // high bit: byte <= hi
  const uint64_t aboveBottom = low7 + kOnes * (128 - lo);  // high bit: byte >= lo
  return belowTop & aboveBottom & ~x & (kOnes * 0x80);
}

// Eight name bytes in lower case into out, if all of them are letters, digits or '-' (nearly
// every field name is made of those alone); false to leave them to the table.
inline bool lowerCommonWord(const char* in, char* out) {
  constexpr uint64_t kOnes = 0x0101010101010101ull;
  uint64_t x;
  std::memcpy(&x, in, 8);
  // Setting 0x20 lowers A-Z and moves nothing else into a-z; digits and '-' are tested on x,
  // since other bytes (CR, controls) land on them once 0x20 is set.
  const uint64_t folded = x | (kOnes * 0x20);
  const uint64_t good =
      bytesBetween(folded, 'a', 'z') | bytesBetween(x, '0', '9') | bytesBetween(x, '-', '-');
  if (good != kOnes * 0x80) return false;
  std::memcpy(out, &folded, 8);  // digits and '-' already have 0x20 set
  return true;
}

// s in lower case into out (s.size() bytes); false (out unspecified) if s is not a token.
inline bool lowerToken(std::string_view s, char* out) {
  if (s.empty()) return false;
  size_t i = 0;
  // Whole words while they are common bytes; a last partial word overlaps the one before it
  // (lowering a byte twice is harmless), so only names under eight bytes go byte by byte.
  for (; i + 8 <= s.size(); i += 8)
    if (!lowerCommonWord(s.data() + i, out + i)) break;
  if (i == s.size()) return true;
  if (i > 0 && i + 8 > s.size() && lowerCommonWord(s.data() + s.size() - 8, out + s.size() - 8))
    return true;
  char good = 1;
  for (; i < s.size(); ++i) {
    char c = kTokenLower[static_cast<unsigned char>(s[i])];
    out[i] = c;
    good &= static_cast<char>(c != 0);
  }
  return good != 0;
}

// True if no byte of the eight at p is below min or is DEL. Bytes from 0x80 (obs-text) pass.
inline bool wordNoneBelowOrDel(const char* p, unsigned char min) {
  constexpr uint64_t kOnes = 0x0101010101010101ull;
  uint64_t x;
  std::memcpy(&x, p, 8);
  uint64_t del = x ^ (kOnes * 0x7f);
  // A byte below min (or zero after the xor: DEL) sets its high bit here; bytes >= 0x80 never.
  return ((((x - kOnes * min) & ~x) | ((del - kOnes) & ~del)) & (kOnes * 0x80)) == 0;
}

// True if no byte of s is below min or is DEL.
inline bool noneBelowOrDel(std::string_view s, unsigned char min) {
  if (s.size() < 8) {
    for (char ch : s) {
      auto c = static_cast<unsigned char>(ch);
      if (c < min || c == 0x7f) return false;
    }
    return true;
  }
  // Whole words, then the last eight bytes as one more (overlapping) word.
  for (size_t i = 0; i + 8 < s.size(); i += 8)
    if (!wordNoneBelowOrDel(s.data() + i, min)) return false;
  return wordNoneBelowOrDel(s.data() + s.size() - 8, min);
}

// Field values, reason phrases and chunk extensions: HTAB, SP, visible ASCII and obs-text.
inline bool isText(std::string_view s) {
  if (noneBelowOrDel(s, 0x20)) return true;
  for (char ch : s) {  // a tab, or a byte that is not allowed
    auto c = static_cast<unsigned char>(ch);
    if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
  }
  return true;
}

// A request target: no whitespace, no control characters.
inline bool isTarget(std::string_view s) { return !s.empty() && noneBelowOrDel(s, 0x21); }

inline bool isSpace(char c) { return c == ' ' || c == '\t'; }
inline bool isDigit(char c) { return c >= '0' && c <= '9'; }

inline std::string_view trim(std::string_view v) {
  while (!v.empty() && isSpace(v.front())) v.remove_prefix(1);
  while (!v.empty() && isSpace(v.back())) v.remove_suffix(1);
  return v;
}

// Case-insensitive equality with lower, which is in lower case.
inline bool equalsLower(std::string_view s, std::string_view lower) {
  if (s.size() != lower.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != lower[i]) return false;
  }
  return true;
}

// Calls f with each trimmed, non-empty element of a comma-separated list (as it is written).
template <typename F>
void forEachListItem(std::string_view v, F&& f) {
  size_t i = 0;
  while (i <= v.size()) {
    size_t comma = v.find(',', i);
    if (comma == std::string_view::npos) comma = v.size();
    std::string_view item = trim(v.substr(i, comma - i));
    if (!item.empty()) f(item);
    i = comma + 1;
  }
}

}  // namespace kgate::h1::chars
