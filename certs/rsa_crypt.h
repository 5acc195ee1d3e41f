// RSA operations of Kuscia's registration and handshake: PKCS#1 v1.5 encryption of short secrets
// to a peer's public key, and RSASSA-PKCS1-v1_5 SHA-256 signatures (also what JWT RS256 uses).
#pragma once

#include <string>
#include <string_view>

#include "certs/keys.h"

namespace kgate::certs {

// plain must be at most (modulus bytes - 11) long.
Result<std::string> rsaEncryptPkcs1(const EVP_PKEY& pub, std::string_view plain);
// Fails on padding errors. On OpenSSL >= 3.2 (implicit rejection) a wrong key can instead yield
// random bytes, so callers compare the plaintext with what they expect rather than trust success.
Result<std::string> rsaDecryptPkcs1(const EVP_PKEY& priv, std::string_view cipher);

// Signature over data (hashed here with SHA-256). Works for RSA and EC keys.
Result<std::string> signSha256(const EVP_PKEY& priv, std::string_view data);
bool verifySha256(const EVP_PKEY& pub, std::string_view data, std::string_view sig);

}  // namespace kgate::certs
