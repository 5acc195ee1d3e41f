// The fixed keys (fixed_keys.h) as key objects, parsed once per process.
#pragma once

#include <cstdlib>
#include <string>

#include "certs/keys.h"
#include "test/fuzz/fixed_keys.h"

namespace kgate::fuzz {

inline const EVP_PKEY& loadKey(const char* pem) {
  auto k = certs::privateKeyFromPem(pem);
  if (!k) std::abort();
  return *k->release();  // kept for the whole run
}
inline const EVP_PKEY& aliceKey() {
  static const EVP_PKEY& k = loadKey(kAliceKeyPem);
  return k;
}
inline const EVP_PKEY& bobKey() {
  static const EVP_PKEY& k = loadKey(kBobKeyPem);
  return k;
}
// Public halves as the peers exchange them: PEM "RSA PUBLIC KEY".
inline const std::string& alicePublicPem() {
  static const std::string pem = certs::publicKeyToPem(aliceKey(), true);
  return pem;
}

// Unix time the seeds were made for (their JWTs are valid then).
inline constexpr int64_t kSeedTime = 1'750'000'000;

}  // namespace kgate::fuzz
