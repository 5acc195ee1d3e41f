#include "conf/duration.h"

#include <gtest/gtest.h>

namespace kgate::conf {
namespace {

using std::chrono::milliseconds;

TEST(ParseDuration, AcceptsUnitsCompoundsAndBareSeconds) {
  const std::pair<const char*, int64_t> cases[] = {
      {"10s", 10'000},   {"500ms", 500},      {"2m", 120'000},   {"1h", 3'600'000},
      {"30", 30'000},    {"0", 0},            {"0s", 0},         {"1m30s", 90'000},
      {"1h1m1s1ms", 3'661'001},               {" 10s ", 10'000}, {"10 s", 10'000},
      {"10S", 10'000},   {"9223372036854775807ms", INT64_MAX},
  };
  for (const auto& [text, ms] : cases) {
    auto d = parseDuration(text);
    ASSERT_TRUE(d.ok()) << text << ": " << d.error();
    EXPECT_EQ(*d, milliseconds(ms)) << text;
  }
}

TEST(ParseDuration, RejectsGarbageNegativeAndOverflow) {
  const std::pair<const char*, const char*> cases[] = {
      {"", "duration is empty"},
      {"   ", "duration is empty"},
      {"-5s", "\"-5s\": a duration cannot be negative"},
      {"1.5s", "use whole numbers"},
      {"abc", "\"abc\": not a duration"},
      {"s", "not a duration"},
      {"10x", "unknown unit \"x\"; use ms, s, m or h"},
      {"10sec", "unknown unit \"sec\""},
      {"1m30", "a unit is missing after the last number"},
      {"10s!", "not a duration"},
      {"99999999999999999999s", "too large"},
      {"9223372036854775807s", "too large"},
      {"9223372036854775807", "too large"},
      {"2562047788015216h", "too large"},
  };
  for (const auto& [text, want] : cases) {
    auto d = parseDuration(text);
    ASSERT_FALSE(d.ok()) << text;
    EXPECT_NE(d.error().find(want), std::string::npos) << text << " -> " << d.error();
  }
}

TEST(ParseByteSize, AcceptsBinaryAndDecimalUnits) {
  const std::pair<const char*, uint64_t> cases[] = {
      {"65536", 65536},         {"0", 0},                  {"512B", 512},
      {"64KiB", 65536},         {"64Ki", 65536},           {"1MiB", 1 << 20},
      {"2GiB", 2ull << 30},     {"1kB", 1000},             {"1KB", 1000},
      {"1k", 1000},             {"1MB", 1'000'000},        {"2GB", 2'000'000'000},
      {"64 KiB", 65536},        {"1mib", 1 << 20},         {"18446744073709551615", UINT64_MAX},
  };
  for (const auto& [text, n] : cases) {
    auto s = parseByteSize(text);
    ASSERT_TRUE(s.ok()) << text << ": " << s.error();
    EXPECT_EQ(*s, n) << text;
  }
}

TEST(ParseByteSize, RejectsGarbageNegativeAndOverflow) {
  const std::pair<const char*, const char*> cases[] = {
      {"", "size is empty"},
      {"-1", "a size cannot be negative"},
      {"1.5MiB", "use whole numbers"},
      {"abc", "\"abc\": not a size"},
      {"10XB", "unknown unit \"XB\""},
      {"10 KiB x", "unknown unit"},
      {"18446744073709551616", "too large"},
      {"17179869184GiB", "too large"},
  };
  for (const auto& [text, want] : cases) {
    auto s = parseByteSize(text);
    ASSERT_FALSE(s.ok()) << text;
    EXPECT_NE(s.error().find(want), std::string::npos) << text << " -> " << s.error();
  }
}

}  // namespace
}  // namespace kgate::conf
