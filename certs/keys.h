// Keys and certificates as owned OpenSSL 3 objects, and their PEM/DER/base64 forms.
// Everything returns Result: bad key material is input, never a crash.
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <array>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "conf/result.h"

namespace kgate::certs {

struct PkeyFree { void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); } };
struct X509Free { void operator()(X509* p) const { X509_free(p); } };
struct X509ReqFree { void operator()(X509_REQ* p) const { X509_REQ_free(p); } };
using PrivateKey = std::unique_ptr<EVP_PKEY, PkeyFree>;  // also used for public-only keys
using Certificate = std::unique_ptr<X509, X509Free>;
using CertRequest = std::unique_ptr<X509_REQ, X509ReqFree>;

// Standard base64 with padding (RFC 4648 section 4), no line breaks.
std::string base64Encode(std::string_view bytes);
Result<std::string> base64Decode(std::string_view text);  // rejects bad characters/padding
// base64url (RFC 4648 section 5) without padding, as JWT uses; decoding rejects '=' and '+/'.
std::string base64UrlEncode(std::string_view bytes);
Result<std::string> base64UrlDecode(std::string_view text);

// Cryptographically secure random bytes (OpenSSL RAND_bytes).
std::string randomBytes(size_t n);
// n characters drawn uniformly (rejection sampling) from alphabet, with a CSPRNG.
std::string randomString(size_t n, std::string_view alphabet);

Result<PrivateKey> generateRsaKey(int bits = 2048);
// PEM "RSA PRIVATE KEY" (PKCS#1, what Kuscia writes) or "PRIVATE KEY" (PKCS#8).
std::string privateKeyToPem(const EVP_PKEY& key, bool pkcs1 = true);
// Accepts PKCS#1 and PKCS#8, RSA and EC, unencrypted.
Result<PrivateKey> privateKeyFromPem(std::string_view pem);
// A domain's key: RSA of 2048 bits or more. Peers encrypt handshake tokens to it and the master
// registers only such keys, so anything else is refused where it is configured.
bool isDomainKey(const EVP_PKEY& key);
inline constexpr const char* kDomainKeyRule = "a domain key must be RSA of 2048 bits or more";
// Public key as PEM: "RSA PUBLIC KEY" (PKCS#1) or "PUBLIC KEY" (SubjectPublicKeyInfo).
std::string publicKeyToPem(const EVP_PKEY& key, bool pkcs1 = true);
Result<PrivateKey> publicKeyFromPem(std::string_view pem);  // either PEM form
bool samePublicKey(const EVP_PKEY& a, const EVP_PKEY& b);
// True when cert carries key's public half (false for a certificate with an unreadable key).
bool certMatchesKey(const X509& cert, const EVP_PKEY& key);

std::string certToPem(const X509& cert);
Result<Certificate> certFromPem(std::string_view pem);  // first certificate in the text
Result<std::vector<Certificate>> certChainFromPem(std::string_view pem);
using Sha256 = std::array<unsigned char, 32>;
// SHA-256 with the algorithm fetched once per process: OpenSSL 3's SHA256() and EVP_sha256()
// look it up in the provider store on each call (a locked fetch costing more than the hash of a
// token), and the token check runs on every request.
Sha256 sha256Digest(std::string_view bytes);
std::string sha256(std::string_view bytes);              // raw 32 bytes
std::string sha256Hex(std::string_view bytes);           // lower-case hex
std::string certFingerprint(const X509& cert);           // SHA-256 of DER, "AB:CD:..." form
std::string certSubjectCN(const X509& cert);
std::chrono::system_clock::time_point certNotAfter(const X509& cert);

}  // namespace kgate::certs
