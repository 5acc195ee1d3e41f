// JSON Web Tokens as lite registration uses them (RFC 7519, compact JWS, RS256 only): the lite
// signs the request hash with its domain key, the master checks it with the CSR's public key.
// Only RS256 is implemented on purpose: accepting whatever `alg` the header names is the classic
// JWT hole ("none", or HS256 keyed with the public key).
#pragma once

#include <openssl/evp.h>

#include <boost/json.hpp>
#include <cstdint>
#include <string>
#include <string_view>

#include "conf/result.h"

namespace kgate::auth {

// Clock difference tolerated between the signer and the verifier for exp, nbf and iat.
inline constexpr int64_t kJwtClockSkewSeconds = 60;

// header {"alg":"RS256","typ":"JWT"} . claims . RSASSA-PKCS1-v1_5 SHA-256 signature, each part
// base64url without padding. Returns "" when key is not an RSA private key or signing fails.
std::string signJwtRs256(const EVP_PKEY& key, const boost::json::object& claims);

// The claims of a JWT that is well formed, says alg RS256, is signed by publicKey (an RSA key),
// carries a numeric exp with exp > now - skew, and whose nbf and iat (when present) are not
// later than now + skew. Failures are one line saying what failed; they never echo the token.
Result<boost::json::object> verifyJwtRs256(std::string_view jwt, const EVP_PKEY& publicKey,
                                           int64_t nowSeconds);

}  // namespace kgate::auth
