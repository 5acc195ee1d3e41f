// An AEAD cipher (AES-GCM, ChaCha20-Poly1305) for TLS records, called through the functions of the
// OpenSSL provider that implements it rather than through EVP_CIPHER_CTX. Per record EVP costs ~3k
// instructions of bookkeeping on top of the provider's work (the IV length and the tag go through
// parameter arrays on every call), more than sealing a small record itself; the provider's
// functions (provider-cipher(7)) are what EVP calls underneath.
#pragma once

#include <openssl/core.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

namespace kgate::certs {

class Aead {
 public:
  static constexpr size_t kNonceSize = 12;
  static constexpr size_t kTagSize = 16;

  // name as OpenSSL knows it ("AES-128-GCM", "AES-256-GCM", "ChaCha20-Poly1305"); nullptr when no
  // provider offers it or the key does not fit.
  static std::unique_ptr<Aead> make(const char* name, std::span<const uint8_t> key);
  ~Aead();  // the provider wipes its context (key schedule included)
  Aead(const Aead&) = delete;
  Aead& operator=(const Aead&) = delete;

  // One message: begin, then add authenticated data and en/decrypt (in place allowed), then finish.
  // Any false: the message failed; begin again with a new nonce.
  bool begin(bool seal, const uint8_t nonce[kNonceSize]);
  bool authenticate(const uint8_t* data, size_t size);
  bool crypt(const uint8_t* in, size_t size, uint8_t* out);
  bool finishSeal(uint8_t tag[kTagSize]);
  bool finishOpen(const uint8_t tag[kTagSize]);  // false: the tag does not match

  struct Functions;

 private:
  Aead(const Functions* f, void* ctx) : f_(f), ctx_(ctx) {}
  const Functions* f_;
  void* ctx_;
};

}  // namespace kgate::certs
