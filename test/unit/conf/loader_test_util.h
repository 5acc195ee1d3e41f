// Helpers shared by the loader tests.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "conf/loader.h"

namespace kgate::conf::testing {

// The smallest valid config; tests append keys to it.
inline const std::string kMinimal = "mode: autonomy\ndomainID: alice\ndomainKeyData: QUJD\n";
inline const std::string kPath = "/cfg/node.yaml";

// The error text of parsing `yaml`, or "<parsed OK>".
inline std::string errorsOf(const std::string& yaml) {
  auto r = parseConfig(yaml, kPath);
  return r.ok() ? std::string("<parsed OK>") : r.error();
}

inline Config parsed(const std::string& yaml) {
  auto r = parseConfig(yaml, kPath);
  EXPECT_TRUE(r.ok()) << r.error();
  return r.ok() ? *r : Config{};
}

inline size_t lineCount(const std::string& s) {
  return s.empty() ? 0 : 1 + std::count(s.begin(), s.end(), '\n');
}

}  // namespace kgate::conf::testing

// Substring assertions that print both strings on failure.
#define EXPECT_HAS(haystack, needle)                                     \
  EXPECT_NE((haystack).find(needle), std::string::npos) << "missing: " \
                                                        << (needle) << "\nin: " << (haystack)
#define EXPECT_LACKS(haystack, needle)                                      \
  EXPECT_EQ((haystack).find(needle), std::string::npos) << "unexpected: " \
                                                        << (needle) << "\nin: " << (haystack)
