// The "kuscia"-prefixed RSA PKCS#1 v1.5 secrets and pubhash (controlplane.md 3.3).
#include <gtest/gtest.h>

#include "auth/handshake.h"
#include "certs/rsa_crypt.h"
#include "test/unit/auth_handshake/test_keys.h"

namespace kgate::auth {
namespace {

using testing::bob;
using testing::mallory;
using testing::pubPem;
using testing::publicOnly;

TEST(KusciaCrypt, RoundTripThroughThePublicHalf) {
  std::string secret = certs::randomBytes(16);
  auto pub = publicOnly(bob());
  auto cipher = kusciaEncrypt(*pub, secret);
  ASSERT_TRUE(cipher) << cipher.error();
  auto raw = certs::base64Decode(*cipher);
  ASSERT_TRUE(raw);
  EXPECT_EQ(raw->size(), 256u);  // one RSA-2048 block, standard base64 with padding
  auto plain = kusciaDecrypt(bob(), *cipher, 16);
  ASSERT_TRUE(plain) << plain.error();
  EXPECT_EQ(*plain, secret);
}

TEST(KusciaCrypt, PlaintextIsPrefixedLikeKuscia) {
  std::string secret = certs::randomBytes(16);
  auto cipher = kusciaEncrypt(bob(), secret);
  ASSERT_TRUE(cipher);
  auto plain = certs::rsaDecryptPkcs1(bob(), *certs::base64Decode(*cipher));
  ASSERT_TRUE(plain) << plain.error();
  EXPECT_EQ(*plain, "kuscia" + secret);
}

TEST(KusciaCrypt, DecryptsWhatGoWouldEncrypt) {
  std::string secret(16, '\x42');
  auto cipher = certs::rsaEncryptPkcs1(bob(), "kuscia" + secret);
  ASSERT_TRUE(cipher);
  auto plain = kusciaDecrypt(bob(), certs::base64Encode(*cipher), 16);
  ASSERT_TRUE(plain) << plain.error();
  EXPECT_EQ(*plain, secret);
}

TEST(KusciaCrypt, WrongKeyFails) {
  auto cipher = kusciaEncrypt(mallory(), certs::randomBytes(16));
  ASSERT_TRUE(cipher);
  EXPECT_FALSE(kusciaDecrypt(bob(), *cipher, 16));
}

TEST(KusciaCrypt, WrongLengthFails) {
  auto cipher = kusciaEncrypt(bob(), certs::randomBytes(20));
  ASSERT_TRUE(cipher);
  EXPECT_FALSE(kusciaDecrypt(bob(), *cipher, 16));
  EXPECT_FALSE(kusciaDecrypt(bob(), *cipher, 32));
  EXPECT_TRUE(kusciaDecrypt(bob(), *cipher, 20));
}

TEST(KusciaCrypt, WrongPrefixFails) {
  std::string secret = certs::randomBytes(16);
  for (std::string plain : {"KUSCIA" + secret, "kuscib" + secret, secret + "kuscia"}) {
    auto cipher = certs::rsaEncryptPkcs1(bob(), plain);
    ASSERT_TRUE(cipher);
    EXPECT_FALSE(kusciaDecrypt(bob(), certs::base64Encode(*cipher), 16));
  }
}

TEST(KusciaCrypt, FailuresDoNotTellWhichCheckFailed) {
  std::string secret = certs::randomBytes(16);
  auto wrongKey = kusciaEncrypt(mallory(), secret);
  auto wrongLength = kusciaEncrypt(bob(), secret + "x");
  auto wrongPrefix = certs::rsaEncryptPkcs1(bob(), "KUSCIA" + secret);
  ASSERT_TRUE(wrongKey && wrongLength && wrongPrefix);
  auto a = kusciaDecrypt(bob(), *wrongKey, 16);
  auto b = kusciaDecrypt(bob(), *wrongLength, 16);
  auto c = kusciaDecrypt(bob(), certs::base64Encode(*wrongPrefix), 16);
  ASSERT_FALSE(a);
  ASSERT_FALSE(b);
  ASSERT_FALSE(c);
  EXPECT_EQ(a.error(), b.error());
  EXPECT_EQ(b.error(), c.error());
}

TEST(KusciaCrypt, GarbageCiphertextFails) {
  EXPECT_FALSE(kusciaDecrypt(bob(), "", 16));
  EXPECT_FALSE(kusciaDecrypt(bob(), "not base64!", 16));
  EXPECT_FALSE(kusciaDecrypt(bob(), certs::base64Encode("short"), 16));
  EXPECT_FALSE(kusciaDecrypt(bob(), certs::base64Encode(std::string(256, '\0')), 16));
}

TEST(Pubhash, IsBase64OfSha256OfThePemText) {
  std::string pem = pubPem(bob());
  ASSERT_EQ(pem.rfind("-----BEGIN RSA PUBLIC KEY-----", 0), 0u);
  EXPECT_EQ(pubhash(pem), certs::base64Encode(certs::sha256(pem)));
  EXPECT_EQ(pubhash(""), "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
  EXPECT_EQ(pubhash("abc"), "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=");
  // The hash covers the text, not the key: the PKIX form of the same key hashes differently.
  EXPECT_NE(pubhash(pem), pubhash(certs::publicKeyToPem(bob(), false)));
}

}  // namespace
}  // namespace kgate::auth
