// The RSA-GEN route-token handshake between two gateways, wire-compatible with Kuscia
// (controlplane.md section 3): message encoding, the "kuscia"-prefixed RSA PKCS#1 v1.5
// encryption of each side's 16 random bytes, pubhash, and the destination's checks. Pure
// functions: the gateway does the HTTP and installs the resulting tokens.
#pragma once

#include <openssl/evp.h>

#include <cstdint>
#include <optional>
#include <string>

#include "conf/result.h"

namespace kgate::auth {

// Nanoseconds per second: handshake times are Unix nanoseconds (Kuscia's wire format).
inline constexpr int64_t kNanos = 1'000'000'000;

// POST /handshake body: {"domain_id","type":"RSA","token_config":{"token","revision","pubhash"},
// "request_time"} (int64 as JSON numbers, snake_case, Go encoding/json style).
struct HandshakeRequest {
  std::string domainId;      // the source domain
  std::string type = "RSA";
  std::string token;         // base64(RSA-PKCS1v1.5(destPub, "kuscia" || S))
  int64_t revision = 0;      // the revision the source proposes (kgate) / has (Kuscia)
  std::string pubhash;       // base64(SHA-256(source public key PEM text))
  int64_t requestTime = 0;   // Unix nanoseconds
};
std::string encodeHandshakeRequest(const HandshakeRequest& r);
// Malformed JSON or a missing/mistyped field is a Failure (HTTP 400 text/plain on the wire).
Result<HandshakeRequest> decodeHandshakeRequest(std::string_view body);

// Reply: {"status":{},"token":{"token","expiration_time","revision"}} on success (the empty
// status object matters: Kuscia sources treat a missing one as failure), or
// {"status":{"code":500,"message":"..."}} with HTTP 200 on an application error.
struct HandshakeReply {
  int code = 0;
  std::string message;
  std::string token;           // base64(RSA-PKCS1v1.5(sourcePub, "kuscia" || D))
  int64_t expirationTime = 0;  // Unix nanoseconds
  int64_t revision = 0;
};
std::string encodeHandshakeReply(const HandshakeReply& r);
Result<HandshakeReply> decodeHandshakeReply(std::string_view body);

// base64(RSAES-PKCS1-v1_5(pub, "kuscia" || secret)).
Result<std::string> kusciaEncrypt(const EVP_PKEY& publicKey, std::string_view secret);
// The n secret bytes after the "kuscia" prefix; fails on wrong length or prefix (checked
// without revealing which, and without trusting OpenSSL's implicit rejection).
Result<std::string> kusciaDecrypt(const EVP_PKEY& privateKey, std::string_view base64, size_t n);
// base64(SHA-256(pemText)) of a public key PEM as exchanged ("RSA PUBLIC KEY", PKCS#1).
std::string pubhash(std::string_view publicKeyPem);

// Source side. start() draws S and builds the request; finish() checks the reply and returns
// the route token, base64 of the 32 bytes S || D.
struct SourceHandshake {
  std::string secret;  // S, 16 bytes
  HandshakeRequest request;
};
Result<SourceHandshake> startHandshake(const std::string& sourceDomain,
                                       const std::string& sourcePublicKeyPem,
                                       const EVP_PKEY& destinationPublicKey,
                                       int64_t proposedRevision, int64_t nowNanos);
struct NegotiatedToken {
  std::string token;  // base64 of 32 bytes, what Kuscia-Token carries
  int64_t revision = 0;
  int64_t expirationTime = 0;  // Unix nanoseconds
};
Result<NegotiatedToken> finishHandshake(const SourceHandshake& started, const HandshakeReply& reply,
                                        const EVP_PKEY& sourcePrivateKey);

// kgate's extension, which Kuscia destinations ignore: a kgate source signs the request body and
// the destination's domain id (RSASSA-PKCS1-v1_5 SHA-256 with its domain key, base64, in this
// header). A destination that has seen a source sign refuses its unsigned handshakes, and
// signed ones whose request_time is not newer than the last (replays), so nobody else can make
// handshakes for that source.
inline constexpr std::string_view kSignatureHeader = "Kgate-Handshake-Signature";
Result<std::string> signHandshake(const EVP_PKEY& sourceKey, std::string_view destination,
                                  std::string_view body);
bool handshakeSignedBy(const EVP_PKEY& sourcePublicKey, std::string_view destination,
                       std::string_view body, std::string_view signature);

// Destination side. What the destination knows about the route source -> self.
struct DestinationRoute {
  bool exists = false;               // a route <source>-<self> is known
  std::string sourcePublicKeyPem;    // "" until the source registered
  int64_t rollingPeriodSeconds = 0;  // 0 = never rotate
  int64_t issuedRevision = 0;        // the highest revision answered so far (0 = none)
  bool newestSettled = false;        // the source has it (DestinationTokens::newestSettled)
};
struct DestinationDecision {
  HandshakeReply reply;                  // always sent with HTTP 200
  std::optional<NegotiatedToken> token;  // set on success: install before replying
};
// Checks in Kuscia's order (route exists, type, source key, pubhash, decryptable token) with
// Kuscia's messages, draws D, and assigns the revision: the highest issued again for a retry of
// it while unsettled (a reply that never reached the source: no revision burned), otherwise the
// next one; never above int32 (Kuscia sources read it so).
// expiration = now + 2 x period (100 years when the period is 0).
DestinationDecision answerHandshake(const HandshakeRequest& request, const std::string& self,
                                    const DestinationRoute& route,
                                    const EVP_PKEY& selfPrivateKey, int64_t nowNanos);

}  // namespace kgate::auth
