#include "certs/session_tickets.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <cstring>

#include "certs/ossl_util.h"

namespace kgate::certs {

namespace {

std::optional<TicketKeys::Key> freshKey() {
  TicketKeys::Key k;
  // The name only tells keys apart; the secrets come from the private DRBG.
  if (RAND_bytes(k.name.data(), static_cast<int>(k.name.size())) != 1 ||
      RAND_priv_bytes(k.aes.data(), static_cast<int>(k.aes.size())) != 1 ||
      RAND_priv_bytes(k.hmac.data(), static_cast<int>(k.hmac.size())) != 1) {
    ERR_clear_error();
    return std::nullopt;
  }
  return k;
}

// The SSL_CTX's reference to its keys, freed with the SSL_CTX.
using KeysRef = std::shared_ptr<TicketKeys>;

void freeKeysRef(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  delete static_cast<KeysRef*>(ptr);
}

int keysIndex() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, freeKeysRef);
  return index;
}

bool setMacKey(EVP_MAC_CTX* hctx, TicketKeys::Key& key) {
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, key.hmac.data(), key.hmac.size()),
      OSSL_PARAM_construct_end()};
  return EVP_MAC_CTX_set_params(hctx, params) == 1;
}

// OpenSSL's contract: sealing returns 1 (sealed) or 0 (issue no ticket); opening returns 1
// (opened), 2 (opened, reissue under the current key) or 0 (unknown key: full handshake);
// -1 aborts the handshake, kept for a broken crypto library.
int ticketKeyCallback(SSL* ssl, unsigned char name[16], unsigned char iv[EVP_MAX_IV_LENGTH],
                      EVP_CIPHER_CTX* cctx, EVP_MAC_CTX* hctx, int enc) {
  auto* ref = static_cast<KeysRef*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), keysIndex()));
  if (ref == nullptr) return 0;
  const EVP_CIPHER* cipher = EVP_aes_256_cbc();
  if (enc == 1) {
    auto key = (*ref)->sealing();
    if (!key) return 0;
    if (RAND_bytes(iv, EVP_CIPHER_get_iv_length(cipher)) != 1) {
      ERR_clear_error();
      return 0;
    }
    std::memcpy(name, key->name.data(), key->name.size());
    bool ok = EVP_EncryptInit_ex(cctx, cipher, nullptr, key->aes.data(), iv) == 1 &&
              setMacKey(hctx, *key);
    return ok ? 1 : -1;
  }
  bool renew = false;
  auto key = (*ref)->opening(name, &renew);
  if (!key) return 0;
  bool ok = EVP_DecryptInit_ex(cctx, cipher, nullptr, key->aes.data(), iv) == 1 &&
            setMacKey(hctx, *key);
  if (!ok) return -1;
  return renew ? 2 : 1;
}

}  // namespace

TicketKeys::Key::~Key() {
  OPENSSL_cleanse(aes.data(), aes.size());
  OPENSSL_cleanse(hmac.data(), hmac.size());
}

TicketKeys::TicketKeys(std::chrono::seconds period, Clock clock)
    : period_(period.count() > 0 ? period : kDefaultPeriod),
      clock_(clock ? std::move(clock) : Clock([] { return std::chrono::steady_clock::now(); })) {}

void TicketKeys::rotateLocked(std::chrono::steady_clock::time_point now) {
  if (!current_) {  // the first key, or a retry after the DRBG failed (nothing old survives it)
    previous_.reset();
    current_ = freshKey();
    since_ = now;
    return;
  }
  if (now - since_ < period_) return;
  // Whole periods since current_ started: after exactly one it becomes the previous key; after
  // two or more (an idle listener) it is too old to open anything either.
  auto periods = (now - since_) / period_;
  if (periods == 1) previous_ = current_;
  else previous_.reset();
  since_ += periods * period_;
  current_ = freshKey();
  if (!current_) since_ = now;
}

std::optional<TicketKeys::Key> TicketKeys::sealing() {
  std::lock_guard lock(mutex_);
  rotateLocked(clock_());
  return current_;
}

std::optional<TicketKeys::Key> TicketKeys::opening(const unsigned char* name, bool* renew) {
  std::lock_guard lock(mutex_);
  rotateLocked(clock_());
  auto named = [name](const std::optional<Key>& k) {
    return k && CRYPTO_memcmp(k->name.data(), name, k->name.size()) == 0;
  };
  *renew = false;
  if (named(current_)) return current_;
  if (named(previous_)) {
    *renew = true;
    return previous_;
  }
  return std::nullopt;
}

Result<void> useTicketKeys(SSL_CTX* ctx, std::shared_ptr<TicketKeys> keys) {
  if (!keys) return fail("session tickets: no keys");
  int index = keysIndex();
  auto ref = std::make_unique<KeysRef>(keys);
  void* old = index < 0 ? nullptr : SSL_CTX_get_ex_data(ctx, index);
  if (index < 0 || SSL_CTX_set_ex_data(ctx, index, ref.get()) != 1) {
    return fail(detail::opensslError("cannot attach session ticket keys"));
  }
  ref.release();
  delete static_cast<KeysRef*>(old);
  if (SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticketKeyCallback) != 1) {
    return fail(detail::opensslError("cannot set the session ticket callback"));
  }
  [[maybe_unused]] long before =
      SSL_CTX_set_timeout(ctx, static_cast<long>(keys->period().count()));
  return {};
}

}  // namespace kgate::certs
