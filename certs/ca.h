// Certificate authority operations: self-signed CA, server/client certificates signed by it.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "certs/keys.h"

namespace kgate::certs {

struct CertSpec {
  std::string commonName{};
  std::vector<std::string> sans{};  // each an IP literal (v4/v6) or a DNS name; sorted out by form
  std::chrono::hours validity{24 * 365 * 10};
  bool serverAuth = true;         // EKU serverAuth
  bool clientAuth = false;        // EKU clientAuth
};

// Self-signed CA (basicConstraints CA:TRUE critical, keyCertSign|cRLSign), random serial.
Result<Certificate> createCaCert(const EVP_PKEY& caKey, const std::string& commonName,
                                 std::chrono::hours validity = std::chrono::hours(24 * 365 * 50));

// A leaf certificate for subjectKey's public key, signed by the CA (SHA-256), CA:FALSE,
// keyUsage digitalSignature|keyEncipherment, EKU per spec, SANs per spec, random 63-bit serial,
// subject key identifier and authority key identifier.
Result<Certificate> issueCert(const X509& caCert, const EVP_PKEY& caKey,
                              const EVP_PKEY& subjectKey, const CertSpec& spec);

// True when cert was signed by caCert's key and is within its validity period now.
bool verifySignedBy(const X509& cert, const X509& caCert);

// The certificate's subjectAltName entries as "DNS:<name>" / "IP:<canonical address>", in order
// (other name types are skipped); empty when it has none.
std::vector<std::string> certSubjectAltNames(const X509& cert);

}  // namespace kgate::certs
