#include "certs/aead.h"

#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/provider.h>
#include <strings.h>

#include <array>
#include <string_view>

namespace kgate::certs {

struct Aead::Functions {
  EVP_CIPHER* cipher = nullptr;  // held for the life of the process: it keeps the provider loaded
  void* provider = nullptr;      // the provider's context, newctx's argument
  size_t keySize = 0;
  OSSL_FUNC_cipher_newctx_fn* newctx = nullptr;
  OSSL_FUNC_cipher_freectx_fn* freectx = nullptr;
  OSSL_FUNC_cipher_encrypt_init_fn* encryptInit = nullptr;
  OSSL_FUNC_cipher_decrypt_init_fn* decryptInit = nullptr;
  OSSL_FUNC_cipher_update_fn* update = nullptr;
  OSSL_FUNC_cipher_final_fn* final = nullptr;
  OSSL_FUNC_cipher_get_ctx_params_fn* getParams = nullptr;
  OSSL_FUNC_cipher_set_ctx_params_fn* setParams = nullptr;
};

namespace {

bool namesInclude(std::string_view names, std::string_view name) {
  while (!names.empty()) {
    size_t end = names.find(':');
    std::string_view one = names.substr(0, end);
    if (one.size() == name.size() && strncasecmp(one.data(), name.data(), name.size()) == 0)
      return true;
    if (end == std::string_view::npos) break;
    names.remove_prefix(end + 1);
  }
  return false;
}

// The functions of the implementation EVP would pick for `name` (same provider, same name).
bool findFunctions(const char* name, Aead::Functions& f) {
  const OSSL_PROVIDER* provider = EVP_CIPHER_get0_provider(f.cipher);
  if (provider == nullptr) return false;
  f.provider = OSSL_PROVIDER_get0_provider_ctx(provider);
  f.keySize = static_cast<size_t>(EVP_CIPHER_get_key_length(f.cipher));
  int noCache = 0;
  const OSSL_ALGORITHM* algorithms =
      OSSL_PROVIDER_query_operation(provider, OSSL_OP_CIPHER, &noCache);
  for (const OSSL_ALGORITHM* a = algorithms; a && a->algorithm_names; ++a) {
    if (!namesInclude(a->algorithm_names, name)) continue;
    for (const OSSL_DISPATCH* d = a->implementation; d->function_id != 0; ++d) {
      switch (d->function_id) {
        case OSSL_FUNC_CIPHER_NEWCTX: f.newctx = OSSL_FUNC_cipher_newctx(d); break;
        case OSSL_FUNC_CIPHER_FREECTX: f.freectx = OSSL_FUNC_cipher_freectx(d); break;
        case OSSL_FUNC_CIPHER_ENCRYPT_INIT: f.encryptInit = OSSL_FUNC_cipher_encrypt_init(d); break;
        case OSSL_FUNC_CIPHER_DECRYPT_INIT: f.decryptInit = OSSL_FUNC_cipher_decrypt_init(d); break;
        case OSSL_FUNC_CIPHER_UPDATE: f.update = OSSL_FUNC_cipher_update(d); break;
        case OSSL_FUNC_CIPHER_FINAL: f.final = OSSL_FUNC_cipher_final(d); break;
        case OSSL_FUNC_CIPHER_GET_CTX_PARAMS:
          f.getParams = OSSL_FUNC_cipher_get_ctx_params(d);
          break;
        case OSSL_FUNC_CIPHER_SET_CTX_PARAMS:
          f.setParams = OSSL_FUNC_cipher_set_ctx_params(d);
          break;
        default: break;
      }
    }
    break;
  }
  if (algorithms != nullptr) OSSL_PROVIDER_unquery_operation(provider, OSSL_OP_CIPHER, algorithms);
  return f.newctx && f.freectx && f.encryptInit && f.decryptInit && f.update && f.final &&
         f.getParams && f.setParams && f.keySize <= 32;
}

// One message sealed through the functions and through EVP: they must agree, or the functions
// found are not the ones EVP uses (a provider offering two implementations of the name).
bool agreesWithEvp(const Aead::Functions& f) {
  std::array<uint8_t, 32> key{};
  for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(i * 11 + 3);
  const uint8_t nonce[Aead::kNonceSize] = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2};
  const uint8_t aad[5] = {23, 3, 3, 0, 57};
  std::array<uint8_t, 41> plain{}, ours{}, theirs{};
  for (size_t i = 0; i < plain.size(); ++i) plain[i] = static_cast<uint8_t>(i * 7);
  std::array<uint8_t, Aead::kTagSize> ourTag{}, theirTag{1};
  size_t n = 0;
  OSSL_PARAM tag[] = {OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, ourTag.data(),
                                                        ourTag.size()),
                      OSSL_PARAM_construct_end()};
  void* ctx = f.newctx(f.provider);
  bool ok = ctx != nullptr &&
            f.encryptInit(ctx, key.data(), f.keySize, nonce, sizeof nonce, nullptr) == 1 &&
            f.update(ctx, nullptr, &n, sizeof aad, aad, sizeof aad) == 1 &&
            f.update(ctx, ours.data(), &n, ours.size(), plain.data(), plain.size()) == 1 &&
            f.final(ctx, ours.data() + n, &n, 0) == 1 && f.getParams(ctx, tag) == 1;
  if (ctx != nullptr) f.freectx(ctx);
  EVP_CIPHER_CTX* evp = EVP_CIPHER_CTX_new();
  int m = 0;
  ok = ok && evp != nullptr &&
       EVP_EncryptInit_ex(evp, f.cipher, nullptr, key.data(), nonce) == 1 &&
       EVP_EncryptUpdate(evp, nullptr, &m, aad, sizeof aad) == 1 &&
       EVP_EncryptUpdate(evp, theirs.data(), &m, plain.data(), plain.size()) == 1 &&
       EVP_EncryptFinal_ex(evp, theirs.data() + m, &m) == 1 &&
       EVP_CIPHER_CTX_ctrl(evp, EVP_CTRL_AEAD_GET_TAG, theirTag.size(), theirTag.data()) == 1;
  EVP_CIPHER_CTX_free(evp);
  return ok && ours == theirs && ourTag == theirTag;
}

bool load(const char* name, Aead::Functions& f) {
  f.cipher = EVP_CIPHER_fetch(nullptr, name, nullptr);
  bool ok = f.cipher != nullptr && findFunctions(name, f) && agreesWithEvp(f);
  if (!ok) {
    EVP_CIPHER_free(f.cipher);
    f = Aead::Functions{};
    ERR_clear_error();
  }
  return ok;
}

constexpr std::array<const char*, 3> kNames = {"AES-128-GCM", "AES-256-GCM", "ChaCha20-Poly1305"};

const Aead::Functions* functionsFor(std::string_view name) {
  struct Table {
    std::array<Aead::Functions, kNames.size()> functions;
    std::array<bool, kNames.size()> loaded{};
  };
  static const Table table = [] {
    Table t;
    for (size_t i = 0; i < kNames.size(); ++i) t.loaded[i] = load(kNames[i], t.functions[i]);
    return t;
  }();
  for (size_t i = 0; i < kNames.size(); ++i)
    if (kNames[i] == name) return table.loaded[i] ? &table.functions[i] : nullptr;
  return nullptr;
}

// A failed call leaves its reason on the thread's OpenSSL error queue, where it would be taken for
// the cause of the next TLS call's failure on another connection of this thread. The whole queue
// goes: marking it around every call would cost more than the call, and kgate clears the queue
// before each of its TLS calls anyway.
bool cleared(bool ok) {
  if (!ok) ERR_clear_error();
  return ok;
}

}  // namespace

std::unique_ptr<Aead> Aead::make(const char* name, std::span<const uint8_t> key) {
  const Functions* f = functionsFor(name);
  if (f == nullptr || key.size() != f->keySize) return nullptr;
  void* ctx = f->newctx(f->provider);
  if (ctx == nullptr) return nullptr;
  std::unique_ptr<Aead> aead(new Aead(f, ctx));
  if (!cleared(f->encryptInit(ctx, key.data(), key.size(), nullptr, 0, nullptr) == 1))
    return nullptr;
  return aead;
}

Aead::~Aead() { f_->freectx(ctx_); }

bool Aead::begin(bool seal, const uint8_t nonce[kNonceSize]) {
  auto init = seal ? f_->encryptInit : f_->decryptInit;
  return cleared(init(ctx_, nullptr, 0, nonce, kNonceSize, nullptr) == 1);
}

bool Aead::authenticate(const uint8_t* data, size_t size) {
  size_t n = 0;
  return cleared(f_->update(ctx_, nullptr, &n, size, data, size) == 1);
}

bool Aead::crypt(const uint8_t* in, size_t size, uint8_t* out) {
  size_t n = 0;
  return cleared(f_->update(ctx_, out, &n, size, in, size) == 1 && n == size);
}

bool Aead::finishSeal(uint8_t tag[kTagSize]) {
  uint8_t none[1];
  size_t n = 0;
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag, kTagSize),
      OSSL_PARAM_construct_end()};
  return cleared(f_->final(ctx_, none, &n, 0) == 1 && n == 0 && f_->getParams(ctx_, params) == 1);
}

bool Aead::finishOpen(const uint8_t tag[kTagSize]) {
  uint8_t none[1];
  size_t n = 0;
  OSSL_PARAM params[] = {OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG,
                                                           const_cast<uint8_t*>(tag), kTagSize),
                         OSSL_PARAM_construct_end()};
  return cleared(f_->setParams(ctx_, params) == 1 && f_->final(ctx_, none, &n, 0) == 1 && n == 0);
}

}  // namespace kgate::certs
