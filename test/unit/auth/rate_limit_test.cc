#include "auth/rate_limit.h"

#include <gtest/gtest.h>

namespace kgate::auth {
namespace {

TEST(AddressRateLimit, ABurstThenOnePerRefill) {
  AddressRateLimit limit(3, 1000);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limit.allow("192.0.2.1", 0)) << i;
  EXPECT_FALSE(limit.allow("192.0.2.1", 0));
  EXPECT_TRUE(limit.allow("192.0.2.2", 0));  // another address, its own bucket
  EXPECT_FALSE(limit.allow("192.0.2.1", 999));
  EXPECT_TRUE(limit.allow("192.0.2.1", 1000));
  EXPECT_FALSE(limit.allow("192.0.2.1", 1000));
}

TEST(AddressRateLimit, AnIpv6HostIsItsSlash64) {
  AddressRateLimit limit(2, 1000);
  EXPECT_TRUE(limit.allow("2001:db8:1:2::1", 0));
  EXPECT_TRUE(limit.allow("2001:db8:1:2:ffff:ffff:ffff:ffff", 0));
  EXPECT_FALSE(limit.allow("2001:db8:1:2:abcd::7", 0));
  EXPECT_TRUE(limit.allow("2001:db8:1:3::1", 0));  // the next /64
  // An IPv4-mapped address is the IPv4 address.
  EXPECT_TRUE(limit.allow("::ffff:192.0.2.9", 0));
  EXPECT_TRUE(limit.allow("192.0.2.9", 0));
  EXPECT_FALSE(limit.allow("::ffff:192.0.2.9", 0));
}

TEST(AddressRateLimit, MemoryStaysBounded) {
  AddressRateLimit limit(1, 1000, 4);
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(limit.allow("10.0.0." + std::to_string(i), i));
  // The oldest buckets went; an address seen just now is still limited.
  EXPECT_FALSE(limit.allow("10.0.0.99", 100));
}

}  // namespace
}  // namespace kgate::auth
