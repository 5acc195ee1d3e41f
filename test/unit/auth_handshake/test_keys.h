// Two RSA-2048 domain keys (alice the source, bob the destination) and a third one for "wrong
// key" cases, generated once per test binary: RSA generation dominates the run time otherwise.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "certs/keys.h"

namespace kgate::auth::testing {

inline const EVP_PKEY& key(int n) {
  static certs::PrivateKey keys[3];
  if (!keys[n]) {
    auto k = certs::generateRsaKey(2048);
    if (!k) ADD_FAILURE() << k.error();
    keys[n] = std::move(*k);
  }
  return *keys[n];
}
inline const EVP_PKEY& alice() { return key(0); }
inline const EVP_PKEY& bob() { return key(1); }
inline const EVP_PKEY& mallory() { return key(2); }

// The public half as exchanged: PEM "RSA PUBLIC KEY" (PKCS#1), like Go's pem.EncodeToMemory.
inline std::string pubPem(const EVP_PKEY& k) { return certs::publicKeyToPem(k, true); }

// A public-only key object, as the other side holds it.
inline certs::PrivateKey publicOnly(const EVP_PKEY& k) {
  auto pub = certs::publicKeyFromPem(pubPem(k));
  if (!pub) ADD_FAILURE() << pub.error();
  return pub ? std::move(*pub) : certs::PrivateKey();
}

}  // namespace kgate::auth::testing
