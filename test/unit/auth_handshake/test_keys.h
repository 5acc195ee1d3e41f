// Two RSA-2048 domain keys (alice the source, bob the destination) and a third one for "wrong
// key" cases, distinct keys from the run's key pool (test/support/test_keys.h).
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "certs/keys.h"
#include "test/support/test_keys.h"

namespace kgate::auth::testing {

inline const EVP_PKEY& alice() { return kgate::test::testKey(0); }
inline const EVP_PKEY& bob() { return kgate::test::testKey(1); }
inline const EVP_PKEY& mallory() { return kgate::test::testKey(2); }

// The public half as exchanged: PEM "RSA PUBLIC KEY" (PKCS#1), like Go's pem.EncodeToMemory.
inline std::string pubPem(const EVP_PKEY& k) { return certs::publicKeyToPem(k, true); }

// A public-only key object, as the other side holds it.
inline certs::PrivateKey publicOnly(const EVP_PKEY& k) {
  auto pub = certs::publicKeyFromPem(pubPem(k));
  if (!pub) ADD_FAILURE() << pub.error();
  return pub ? std::move(*pub) : certs::PrivateKey();
}

}  // namespace kgate::auth::testing
