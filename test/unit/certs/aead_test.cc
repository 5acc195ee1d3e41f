// Aead drives OpenSSL's provider functions directly, so it is checked against EVP itself: what one
// seals the other opens, for every cipher TLS 1.3 uses, with known-answer vectors from the
// specifications; a changed byte or tag is refused and leaves no error on the thread's queue.
#include "certs/aead.h"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include <string>
#include <vector>

namespace kgate::certs {
namespace {

std::vector<uint8_t> hex(std::string_view h) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < h.size(); i += 2)
    out.push_back(static_cast<uint8_t>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16)));
  return out;
}

struct Sealed {
  std::vector<uint8_t> text, tag;
};

Sealed sealWithAead(Aead& a, const std::vector<uint8_t>& nonce, const std::vector<uint8_t>& aad,
                    const std::vector<uint8_t>& plain) {
  Sealed s{plain, std::vector<uint8_t>(Aead::kTagSize)};
  EXPECT_TRUE(a.begin(true, nonce.data()));
  EXPECT_TRUE(a.authenticate(aad.data(), aad.size()));
  EXPECT_TRUE(a.crypt(s.text.data(), s.text.size(), s.text.data()));
  EXPECT_TRUE(a.finishSeal(s.tag.data()));
  return s;
}

bool openWithAead(Aead& a, const std::vector<uint8_t>& nonce, const std::vector<uint8_t>& aad,
                  Sealed s, std::vector<uint8_t>* plain = nullptr) {
  bool ok = a.begin(false, nonce.data()) && a.authenticate(aad.data(), aad.size()) &&
            a.crypt(s.text.data(), s.text.size(), s.text.data()) && a.finishOpen(s.tag.data());
  if (plain) *plain = s.text;
  return ok;
}

// The same through EVP, the way OpenSSL's own TLS 1.3 record layer does it.
Sealed sealWithEvp(const char* name, const std::vector<uint8_t>& key,
                   const std::vector<uint8_t>& nonce, const std::vector<uint8_t>& aad,
                   const std::vector<uint8_t>& plain) {
  EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, name, nullptr);
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  Sealed s{std::vector<uint8_t>(plain.size()), std::vector<uint8_t>(Aead::kTagSize)};
  int n = 0;
  EXPECT_EQ(EVP_EncryptInit_ex(ctx, cipher, nullptr, key.data(), nonce.data()), 1);
  EXPECT_EQ(EVP_EncryptUpdate(ctx, nullptr, &n, aad.data(), static_cast<int>(aad.size())), 1);
  EXPECT_EQ(EVP_EncryptUpdate(ctx, s.text.data(), &n, plain.data(), static_cast<int>(plain.size())),
            1);
  EXPECT_EQ(EVP_EncryptFinal_ex(ctx, s.text.data() + n, &n), 1);
  EXPECT_EQ(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, s.tag.data()), 1);
  EVP_CIPHER_CTX_free(ctx);
  EVP_CIPHER_free(cipher);
  return s;
}

bool openWithEvp(const char* name, const std::vector<uint8_t>& key,
                 const std::vector<uint8_t>& nonce, const std::vector<uint8_t>& aad, Sealed s) {
  EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, name, nullptr);
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  int n = 0;
  bool ok = EVP_DecryptInit_ex(ctx, cipher, nullptr, key.data(), nonce.data()) == 1 &&
            EVP_DecryptUpdate(ctx, nullptr, &n, aad.data(), static_cast<int>(aad.size())) == 1 &&
            EVP_DecryptUpdate(ctx, s.text.data(), &n, s.text.data(),
                              static_cast<int>(s.text.size())) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, 16, s.tag.data()) == 1 &&
            EVP_DecryptFinal_ex(ctx, s.text.data() + n, &n) == 1;
  EVP_CIPHER_CTX_free(ctx);
  EVP_CIPHER_free(cipher);
  ERR_clear_error();
  return ok;
}

struct Cipher {
  const char* name;
  size_t keySize;
};

class AeadCipher : public ::testing::TestWithParam<Cipher> {
 protected:
  std::vector<uint8_t> key_ = std::vector<uint8_t>(GetParam().keySize, 0x5a);
  std::vector<uint8_t> nonce_ = hex("000102030405060708090a0b");
  std::vector<uint8_t> aad_ = hex("1703030123");
};

TEST_P(AeadCipher, AgreesWithEvpBothWaysAtEverySize) {
  auto aead = Aead::make(GetParam().name, key_);
  ASSERT_NE(aead, nullptr);
  for (size_t size : {0, 1, 15, 16, 17, 255, 288, 1000, 16385}) {
    std::vector<uint8_t> plain(size);
    for (size_t i = 0; i < size; ++i) plain[i] = static_cast<uint8_t>(i * 31 + 7);
    Sealed ours = sealWithAead(*aead, nonce_, aad_, plain);
    Sealed theirs = sealWithEvp(GetParam().name, key_, nonce_, aad_, plain);
    EXPECT_EQ(ours.text, theirs.text) << size;
    EXPECT_EQ(ours.tag, theirs.tag) << size;
    EXPECT_TRUE(openWithEvp(GetParam().name, key_, nonce_, aad_, ours)) << size;
    std::vector<uint8_t> back;
    EXPECT_TRUE(openWithAead(*aead, nonce_, aad_, theirs, &back)) << size;
    EXPECT_EQ(back, plain) << size;
  }
}

TEST_P(AeadCipher, AnyChangeIsRefusedAndLeavesNoErrorBehind) {
  auto aead = Aead::make(GetParam().name, key_);
  ASSERT_NE(aead, nullptr);
  std::vector<uint8_t> plain(100, 'x');
  Sealed good = sealWithAead(*aead, nonce_, aad_, plain);
  ERR_clear_error();
  Sealed text = good, tag = good;
  text.text[37] ^= 1;
  tag.tag[15] ^= 0x80;
  EXPECT_FALSE(openWithAead(*aead, nonce_, aad_, text));
  EXPECT_FALSE(openWithAead(*aead, nonce_, aad_, tag));
  EXPECT_FALSE(openWithAead(*aead, nonce_, hex("1703030124"), good));
  EXPECT_FALSE(openWithAead(*aead, hex("000102030405060708090a0c"), aad_, good));
  EXPECT_EQ(ERR_peek_error(), 0u);
  EXPECT_TRUE(openWithAead(*aead, nonce_, aad_, good));  // and it still works afterwards
}

INSTANTIATE_TEST_SUITE_P(Tls13, AeadCipher,
                         ::testing::Values(Cipher{"AES-128-GCM", 16}, Cipher{"AES-256-GCM", 32},
                                           Cipher{"ChaCha20-Poly1305", 32}),
                         [](const auto& info) {
                           std::string n = info.param.name;
                           std::erase(n, '-');
                           return n;
                         });

TEST(Aead, KnownAnswers) {
  // AES-128-GCM: "The Galois/Counter Mode of Operation", test case 4.
  auto gcm = Aead::make("AES-128-GCM", hex("feffe9928665731c6d6a8f9467308308"));
  ASSERT_NE(gcm, nullptr);
  Sealed s = sealWithAead(*gcm, hex("cafebabefacedbaddecaf888"),
                          hex("feedfacedeadbeeffeedfacedeadbeefabaddad2"),
                          hex("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da"
                              "2e4c303d8a318a721c3c0c95956809532fcf0e2"
                              "449a6b525b16aedf5aa0de657ba637b39"));
  EXPECT_EQ(s.text, hex("42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e"
                        "2329aca12e21d514b2"
                        "5466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091"));
  EXPECT_EQ(s.tag, hex("5bc94fbc3221a5db94fae95ae7121a47"));
  // ChaCha20-Poly1305: RFC 8439 section 2.8.2.
  auto chacha = Aead::make("ChaCha20-Poly1305",
                           hex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"));
  ASSERT_NE(chacha, nullptr);
  std::string sunscreen =
      "Ladies and Gentlemen of the class of '99: If I "
      "could offer you only one tip for the "
      "future, sunscreen would be it.";
  Sealed c = sealWithAead(*chacha, hex("070000004041424344454647"), hex("50515253c0c1c2c3c4c5c6c7"),
                          std::vector<uint8_t>(sunscreen.begin(), sunscreen.end()));
  EXPECT_EQ(c.tag, hex("1ae10b594f09e26a7e902ecbd0600691"));
  EXPECT_EQ(std::vector<uint8_t>(c.text.begin(), c.text.begin() + 16),
            hex("d31a8d34648e60db7b86afbc53ef7ec2"));
}

TEST(Aead, UnknownCiphersAndWrongKeySizesAreRefused) {
  EXPECT_EQ(Aead::make("AES-128-CBC", std::vector<uint8_t>(16)), nullptr);
  EXPECT_EQ(Aead::make("AES-128-GCM", std::vector<uint8_t>(32)), nullptr);
  EXPECT_EQ(Aead::make("ChaCha20-Poly1305", std::vector<uint8_t>(16)), nullptr);
  EXPECT_EQ(ERR_peek_error(), 0u);
}

}  // namespace
}  // namespace kgate::certs
