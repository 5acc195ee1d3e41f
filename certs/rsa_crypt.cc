#include "certs/rsa_crypt.h"

#include <openssl/rsa.h>

#include "certs/ossl_util.h"

namespace kgate::certs {

using detail::opensslError;

namespace {

const unsigned char* bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

using InitFn = int (*)(EVP_PKEY_CTX*);
using RunFn = int (*)(EVP_PKEY_CTX*, unsigned char*, size_t*, const unsigned char*, size_t);

// Encrypt and decrypt differ only in the two calls; both ask for the size first.
Result<std::string> pkcs1Crypt(const EVP_PKEY& key, std::string_view in, InitFn init, RunFn run,
                               const char* what) {
  if (!EVP_PKEY_is_a(&key, "RSA")) return fail(std::string(what) + ": not an RSA key");
  detail::PkeyCtx ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, const_cast<EVP_PKEY*>(&key), nullptr));
  size_t outLen = 0;
  if (!ctx || init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) != 1 ||
      run(ctx.get(), nullptr, &outLen, bytes(in), in.size()) != 1) {
    return fail(opensslError(what));
  }
  std::string out(outLen, '\0');
  if (run(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &outLen, bytes(in),
          in.size()) != 1) {
    return fail(opensslError(what));
  }
  out.resize(outLen);
  return out;
}

}  // namespace

Result<std::string> rsaEncryptPkcs1(const EVP_PKEY& pub, std::string_view plain) {
  return pkcs1Crypt(pub, plain, EVP_PKEY_encrypt_init, EVP_PKEY_encrypt, "RSA encryption failed");
}

Result<std::string> rsaDecryptPkcs1(const EVP_PKEY& priv, std::string_view cipher) {
  return pkcs1Crypt(priv, cipher, EVP_PKEY_decrypt_init, EVP_PKEY_decrypt,
                    "RSA decryption failed");
}

Result<std::string> signSha256(const EVP_PKEY& priv, std::string_view data) {
  detail::MdCtx ctx(EVP_MD_CTX_new());
  size_t len = 0;
  // RSA keys default to PKCS#1 v1.5 padding here, which is what RS256 and Kuscia expect.
  if (!ctx ||
      EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr,
                         const_cast<EVP_PKEY*>(&priv)) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, bytes(data), data.size()) != 1) {
    return fail(opensslError("signing failed"));
  }
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, bytes(data),
                     data.size()) != 1) {
    return fail(opensslError("signing failed"));
  }
  sig.resize(len);
  return sig;
}

bool verifySha256(const EVP_PKEY& pub, std::string_view data, std::string_view sig) {
  detail::MdCtx ctx(EVP_MD_CTX_new());
  bool ok = ctx &&
            EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr,
                                 const_cast<EVP_PKEY*>(&pub)) == 1 &&
            EVP_DigestVerify(ctx.get(), bytes(sig), sig.size(), bytes(data), data.size()) == 1;
  ERR_clear_error();
  return ok;
}

}  // namespace kgate::certs
