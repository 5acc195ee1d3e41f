// testKey() keeps its promise: distinct RSA-2048 keys, the pool's while it lasts, generated
// after that.
#include "support/test_keys.h"

#include <gtest/gtest.h>

#include "certs/files.h"
#include "certs/keys.h"

namespace kgate::test {
namespace {

bool isRsa2048(const EVP_PKEY& key) {
  return EVP_PKEY_is_a(&key, "RSA") && EVP_PKEY_get_bits(&key) == 2048;
}

certs::PrivateKey poolFile(const std::string& path) {
  auto pem = certs::readFile(keyPoolDir() + "/" + path);
  if (!pem) ADD_FAILURE() << pem.error();
  auto key = certs::privateKeyFromPem(pem ? *pem : "");
  if (!key) ADD_FAILURE() << path << ": " << key.error();
  return key ? std::move(*key) : nullptr;
}

TEST(TestKeys, DistinctRsa2048KeysMadeOncePerProcess) {
  constexpr int kKeys = 8;  // more than any test binary asks for
  for (int n = 0; n < kKeys; ++n) {
    const EVP_PKEY& key = testKey(n);
    EXPECT_TRUE(isRsa2048(key)) << n;
    EXPECT_EQ(&testKey(n), &key) << n;
    for (int m = 0; m < n; ++m) EXPECT_FALSE(certs::samePublicKey(key, testKey(m))) << m << n;
  }
  EXPECT_THROW(testKey(-1), std::invalid_argument);
}

TEST(TestKeys, ThePoolsKeysInOrderThenGeneratedOnes) {
  const int pooled = pooledTestKeys();
  if (pooled == 0) GTEST_SKIP() << "no key pool: run through ctest (fixture \"keypool\")";
  EXPECT_EQ(pooled, keyPoolSlots() * 5);
  ASSERT_GE(keyPoolSlots(), 2) << "the run's pool has 8 slots";
  certs::PrivateKey first = poolFile("0/domain.key");
  certs::PrivateKey secondOfSlot1 = poolFile("1/certs/ca.key");
  certs::PrivateKey last = poolFile(std::to_string(keyPoolSlots() - 1) + "/certs/admin-client.key");
  ASSERT_TRUE(first && secondOfSlot1 && last);
  EXPECT_TRUE(certs::samePublicKey(testKey(0), *first));
  EXPECT_TRUE(certs::samePublicKey(testKey(6), *secondOfSlot1));
  EXPECT_TRUE(certs::samePublicKey(testKey(pooled - 1), *last));

  // Past the pool: a generated key, none of the pool's.
  const EVP_PKEY& extra = testKey(pooled);
  EXPECT_TRUE(isRsa2048(extra));
  for (int n = 0; n < pooled; ++n) EXPECT_FALSE(certs::samePublicKey(extra, testKey(n))) << n;
}

}  // namespace
}  // namespace kgate::test
