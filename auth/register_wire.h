// Kuscia's lite registration on the wire (controlplane.md section 1.6), both ends:
//   POST /register, body {"domain_id","csr": base64(PEM CSR),"request_time": int64},
//   header jwt-token: RS256 JWT signed with the lite's domain key over the claims
//   {"req_hash": [32 ints] = SHA-256(domain_id "_" csr "_" request_time), "iss", "sub", "iat", "exp"}.
//   Reply 200 {"cert": base64(PEM), "master_pubkey": base64(PEM "RSA PUBLIC KEY")} (kgate adds
//   "ca": base64(PEM of the master CA)); errors are a status and a one-line reason.
#pragma once

#include <openssl/evp.h>

#include <cstdint>
#include <string>

#include "certs/keys.h"
#include "conf/result.h"

namespace kgate::auth {

struct RegisterRequest {
  std::string body;  // JSON
  std::string jwt;   // the jwt-token header value
};

// Builds the CSR (CN=domainId, deploy token in extension 1.2.3.4), the body and the JWT.
// requestTime is Unix nanoseconds (kgate's choice; Kuscia sends the nanosecond-of-second).
Result<RegisterRequest> buildRegisterRequest(const EVP_PKEY& domainKey, const std::string& domainId,
                                             const std::string& deployToken, int64_t requestTime,
                                             int64_t nowSeconds);

struct RegisterResult {
  std::string certPem;
  std::string masterPublicKeyPem;
  std::string caCertPem;  // empty when the master is Kuscia (it sends no CA)
};
Result<RegisterResult> parseRegisterReply(std::string_view body);

// The 32-byte request hash both ends compute.
std::string registerRequestHash(const std::string& domainId, const std::string& csrBase64,
                                int64_t requestTime);

// The master's side, in the order Authority::registerLite checks a request.
struct RegisterBody {
  std::string domainId;
  std::string csr;  // base64(PEM) exactly as sent: the request hash covers this text
  int64_t requestTime = 0;
};
// Fields present and typed. A missing request_time reads as 0: Kuscia's Go struct marshals with
// omitempty, so a lite whose nanosecond-of-second was 0 sends no request_time at all.
Result<RegisterBody> parseRegisterBody(std::string_view body);
// base64 -> PEM "CERTIFICATE REQUEST" -> a CSR whose self-signature verifies and whose key is
// RSA of at least 2048 bits (the JWT is RS256 by that key).
Result<certs::CertRequest> decodeRegisterCsr(std::string_view csrBase64);
// The jwt-token header: RS256 by csrKey, unexpired, req_hash equal to the body's request hash.
Result<void> verifyRegisterJwt(std::string_view jwt, const EVP_PKEY& csrKey,
                               const RegisterBody& body, int64_t nowSeconds);

}  // namespace kgate::auth
