#include "conf/duration.h"

#include <cctype>
#include <cstdint>
#include <optional>
#include <string>

#include "conf/ascii.h"

namespace kgate::conf {
namespace {

#define KGATE_DURATION_FORMS "use e.g. \"10s\", \"500ms\", \"2m\", \"1h\" or a number of seconds"
constexpr const char* kDurationForms = KGATE_DURATION_FORMS;
// One literal, not std::string + literal: GCC 12 warns wrongly (-Warray-bounds) about the latter.
constexpr const char* kNotADuration = "not a duration; " KGATE_DURATION_FORMS;
#undef KGATE_DURATION_FORMS
constexpr const char* kSizeForms = "use e.g. \"65536\", \"64KiB\", \"1MiB\", \"2GiB\" or \"1MB\"";

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

Failure badValue(std::string_view text, const std::string& what) {
  return fail("\"" + std::string(text.substr(0, 64)) + (text.size() > 64 ? "..." : "") + "\": " +
              what);
}

// Reads leading digits into `value`; returns how many were consumed (0: none), or -1 on overflow.
int readNumber(std::string_view s, uint64_t& value) {
  value = 0;
  int n = 0;
  while (static_cast<size_t>(n) < s.size() && std::isdigit(static_cast<unsigned char>(s[n]))) {
    if (__builtin_mul_overflow(value, 10u, &value) ||
        __builtin_add_overflow(value, static_cast<uint64_t>(s[n] - '0'), &value)) {
      return -1;
    }
    ++n;
  }
  return n;
}

// The common rejections: empty, negative, decimal.
std::optional<Failure> rejectShape(std::string_view raw, std::string_view s, const char* forms,
                                   const char* kind, const char* decimalHint) {
  if (s.empty()) return fail(std::string(kind) + " is empty; " + forms);
  if (s.front() == '-') return badValue(raw, std::string("a ") + kind + " cannot be negative");
  if (s.find('.') != std::string_view::npos) {
    return badValue(raw, std::string("use whole numbers, e.g. ") + decimalHint);
  }
  if (!std::isdigit(static_cast<unsigned char>(s.front()))) {
    return badValue(raw, std::string("not a ") + kind + "; " + forms);
  }
  return std::nullopt;
}

}  // namespace

Result<std::chrono::milliseconds> parseDuration(std::string_view text) {
  std::string_view s = trim(text);
  if (auto f = rejectShape(text, s, kDurationForms, "duration", "\"1500ms\" for 1.5 seconds")) {
    return *f;
  }
  const uint64_t kMax = static_cast<uint64_t>(INT64_MAX);
  uint64_t total = 0;
  bool first = true;
  while (!s.empty()) {
    uint64_t n = 0;
    int used = readNumber(s, n);
    if (used < 0) return badValue(text, "too large");
    if (used == 0) return badValue(text, kNotADuration);
    s.remove_prefix(used);
    s = trim(s);
    if (s.empty()) {
      // A bare number means seconds, as in Kuscia's integer timeouts; "1m30" is ambiguous.
      if (!first) return badValue(text, "a unit is missing after the last number");
      if (n > kMax / 1000) return badValue(text, "too large");
      return std::chrono::milliseconds(static_cast<int64_t>(n * 1000));
    }
    size_t unitLen = 0;
    while (unitLen < s.size() && std::isalpha(static_cast<unsigned char>(s[unitLen]))) ++unitLen;
    std::string unit = asciiLower(s.substr(0, unitLen));
    uint64_t scale = 0;
    if (unit == "ms") scale = 1;
    else if (unit == "s") scale = 1000;
    else if (unit == "m") scale = 60'000;
    else if (unit == "h") scale = 3'600'000;
    if (scale == 0) {
      if (unit.empty()) return badValue(text, kNotADuration);
      return badValue(text, "unknown unit \"" + std::string(s.substr(0, unitLen)) +
                                "\"; use ms, s, m or h");
    }
    uint64_t part = 0;
    if (__builtin_mul_overflow(n, scale, &part) || __builtin_add_overflow(total, part, &total) ||
        total > kMax) {
      return badValue(text, "too large");
    }
    s = trim(s.substr(unitLen));
    first = false;
  }
  return std::chrono::milliseconds(static_cast<int64_t>(total));
}

Result<uint64_t> parseByteSize(std::string_view text) {
  std::string_view s = trim(text);
  if (auto f = rejectShape(text, s, kSizeForms, "size", "\"1536KiB\" for 1.5 MiB")) {
    return *f;
  }
  uint64_t n = 0;
  int used = readNumber(s, n);
  if (used < 0) return badValue(text, "too large");
  std::string unit = asciiLower(trim(s.substr(used)));
  uint64_t scale = 0;
  if (unit.empty() || unit == "b") scale = 1;
  else if (unit == "k" || unit == "kb") scale = 1000;
  else if (unit == "m" || unit == "mb") scale = 1000 * 1000;
  else if (unit == "g" || unit == "gb") scale = 1000 * 1000 * 1000;
  else if (unit == "ki" || unit == "kib") scale = 1ull << 10;
  else if (unit == "mi" || unit == "mib") scale = 1ull << 20;
  else if (unit == "gi" || unit == "gib") scale = 1ull << 30;
  if (scale == 0) {
    return badValue(text, "unknown unit \"" + std::string(trim(s.substr(used))) +
                              "\"; use B, KiB, MiB, GiB (x1024) or kB, MB, GB (x1000)");
  }
  uint64_t bytes = 0;
  if (__builtin_mul_overflow(n, scale, &bytes)) return badValue(text, "too large");
  return bytes;
}

}  // namespace kgate::conf
