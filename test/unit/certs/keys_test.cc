#include "certs/keys.h"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <map>
#include <set>

#include "test_util.h"

namespace kgate::certs {
namespace {

using testing::testKey;

TEST(Base64, KnownVectors) {
  // RFC 4648 section 10.
  const std::map<std::string, std::string> vectors = {
      {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(base64Encode(plain), encoded);
    auto decoded = base64Decode(encoded);
    ASSERT_TRUE(decoded) << encoded << ": " << decoded.error();
    EXPECT_EQ(*decoded, plain);
  }
}

TEST(Base64, RoundTripsAllByteValues) {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes += static_cast<char>(i);
  for (size_t len = 0; len <= bytes.size(); len += 37) {
    std::string part = bytes.substr(0, len);
    auto decoded = base64Decode(base64Encode(part));
    ASSERT_TRUE(decoded);
    EXPECT_EQ(*decoded, part);
    auto urlDecoded = base64UrlDecode(base64UrlEncode(part));
    ASSERT_TRUE(urlDecoded);
    EXPECT_EQ(*urlDecoded, part);
  }
}

TEST(Base64, RejectsBadInput) {
  for (const char* bad : {"Zg", "Zg=", "Z===", "Zm9v\n", "Zm 9v", "Zm9v!", "=Zg=", "Zg==Zg==",
                          "Zm9-", "Zm9_", "Z=g="}) {
    EXPECT_FALSE(base64Decode(bad)) << bad;
  }
}

TEST(Base64Url, NoPaddingAndUrlAlphabet) {
  EXPECT_EQ(base64UrlEncode("\xfb\xff"), "-_8");
  EXPECT_EQ(base64Encode("\xfb\xff"), "+/8=");
  EXPECT_EQ(base64UrlEncode("f"), "Zg");
  auto decoded = base64UrlDecode("-_8");
  ASSERT_TRUE(decoded);
  EXPECT_EQ(*decoded, "\xfb\xff");
  for (const char* bad : {"Zg==", "+/8", "Z", "Zm9vY", "a b"}) {
    EXPECT_FALSE(base64UrlDecode(bad)) << bad;
  }
}

TEST(Random, BytesAndStrings) {
  EXPECT_EQ(randomBytes(0).size(), 0u);
  EXPECT_EQ(randomBytes(33).size(), 33u);
  EXPECT_NE(randomBytes(16), randomBytes(16));
  EXPECT_EQ(randomString(5, ""), "");

  // Three characters: a biased mapping of 256 byte values would favour 'a' by ~1/85.
  std::string s = randomString(30000, "abc");
  ASSERT_EQ(s.size(), 30000u);
  std::map<char, int> counts;
  for (char c : s) counts[c]++;
  ASSERT_EQ(counts.size(), 3u);
  for (const auto& [c, n] : counts) {
    EXPECT_NEAR(n, 10000, 500) << c;
  }
}

TEST(Digest, Sha256) {
  EXPECT_EQ(sha256Hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256("abc").size(), 32u);
  EXPECT_EQ(static_cast<unsigned char>(sha256("abc")[0]), 0xbau);
}

TEST(Keys, PrivateKeyPemBothForms) {
  const EVP_PKEY& key = testKey(0);
  std::string pkcs1 = privateKeyToPem(key, true);
  std::string pkcs8 = privateKeyToPem(key, false);
  EXPECT_EQ(pkcs1.rfind("-----BEGIN RSA PRIVATE KEY-----\n", 0), 0u);
  EXPECT_EQ(pkcs8.rfind("-----BEGIN PRIVATE KEY-----\n", 0), 0u);
  for (const std::string& pem : {pkcs1, pkcs8}) {
    auto parsed = privateKeyFromPem(pem);
    ASSERT_TRUE(parsed) << parsed.error();
    EXPECT_TRUE(samePublicKey(**parsed, key));
    EXPECT_EQ(EVP_PKEY_get_bits(parsed->get()), 2048);
  }
}

TEST(Keys, PublicKeyPemBothForms) {
  const EVP_PKEY& key = testKey(0);
  std::string pkcs1 = publicKeyToPem(key, true);
  std::string spki = publicKeyToPem(key, false);
  EXPECT_EQ(pkcs1.rfind("-----BEGIN RSA PUBLIC KEY-----\n", 0), 0u) << pkcs1;
  EXPECT_EQ(spki.rfind("-----BEGIN PUBLIC KEY-----\n", 0), 0u) << spki;
  for (const std::string& pem : {pkcs1, spki}) {
    auto parsed = publicKeyFromPem(pem);
    ASSERT_TRUE(parsed) << parsed.error();
    EXPECT_TRUE(samePublicKey(**parsed, key));
    EXPECT_FALSE(samePublicKey(**parsed, testKey(1)));
  }
}

TEST(Keys, EcKeysParse) {
  PrivateKey ec(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  ASSERT_TRUE(ec);
  for (bool pkcs1 : {true, false}) {
    auto parsed = privateKeyFromPem(privateKeyToPem(*ec, pkcs1));
    ASSERT_TRUE(parsed) << parsed.error();
    EXPECT_TRUE(samePublicKey(**parsed, *ec));
  }
  std::string pub = publicKeyToPem(*ec, true);  // no PKCS#1 form: falls back to SPKI
  EXPECT_EQ(pub.rfind("-----BEGIN PUBLIC KEY-----\n", 0), 0u);
  auto parsed = publicKeyFromPem(pub);
  ASSERT_TRUE(parsed) << parsed.error();
  EXPECT_TRUE(samePublicKey(**parsed, *ec));
}

TEST(Keys, GarbageIsAnErrorNotACrash) {
  const std::string pem = privateKeyToPem(testKey(0), true);
  const size_t body = pem.find('\n') + 1;
  std::string truncated = pem.substr(0, pem.size() / 2);
  std::string badDer = pem;
  badDer[body] = badDer[body] == 'A' ? 'B' : 'A';  // the outer SEQUENCE tag
  for (const std::string& bad : {std::string(), std::string("hello"), truncated, badDer,
                                 std::string("-----BEGIN RSA PRIVATE KEY-----\n!!!\n"
                                             "-----END RSA PRIVATE KEY-----\n")}) {
    auto key = privateKeyFromPem(bad);
    EXPECT_FALSE(key);
    if (!key) {
      EXPECT_FALSE(key.error().empty());
    }
    EXPECT_FALSE(publicKeyFromPem(bad));
    EXPECT_FALSE(certFromPem(bad));
    EXPECT_FALSE(certChainFromPem(bad));
  }
  EXPECT_EQ(ERR_peek_error(), 0u) << "OpenSSL error queue left dirty";
}

TEST(Keys, DamagedKeyThatStillParsesIsRejected) {
  const std::string pem = privateKeyToPem(testKey(0), true);
  // A few characters into the body sit inside the modulus: still valid DER, but no longer a key
  // whose signatures verify.
  std::string damaged = pem;
  const size_t at = pem.find('\n') + 1 + 30;
  damaged[at] = damaged[at] == 'A' ? 'B' : 'A';
  auto key = privateKeyFromPem(damaged);
  ASSERT_FALSE(key);
  EXPECT_NE(key.error().find("damaged"), std::string::npos) << key.error();
}

TEST(Keys, EncryptedKeyIsRejectedWithoutPrompting) {
  BIO* bio = BIO_new(BIO_s_mem());
  const char pass[] = "secret";
  ASSERT_EQ(PEM_write_bio_PrivateKey(bio, &testKey(0), EVP_aes_128_cbc(),
                                     reinterpret_cast<const unsigned char*>(pass), 6, nullptr,
                                     nullptr),
            1);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(len));
  BIO_free(bio);
  ASSERT_NE(pem.find("ENCRYPTED"), std::string::npos);
  EXPECT_FALSE(privateKeyFromPem(pem));  // would block on a terminal prompt if it asked
}

// The other tests' keys come from the run's key pool (testKey); this one is generated here.
TEST(Keys, GeneratesRsa2048) {
  auto key = generateRsaKey(2048);
  ASSERT_TRUE(key) << key.error();
  EXPECT_TRUE(EVP_PKEY_is_a(key->get(), "RSA"));
  EXPECT_EQ(EVP_PKEY_get_bits(key->get()), 2048);
  auto parsed = privateKeyFromPem(privateKeyToPem(**key));  // which checks that it signs
  ASSERT_TRUE(parsed) << parsed.error();
  EXPECT_TRUE(samePublicKey(**parsed, **key));
  EXPECT_FALSE(samePublicKey(**key, testKey(0)));
}

TEST(Keys, RejectsSillySizes) {
  EXPECT_FALSE(generateRsaKey(16));
  EXPECT_FALSE(generateRsaKey(1 << 20));
}

}  // namespace
}  // namespace kgate::certs
