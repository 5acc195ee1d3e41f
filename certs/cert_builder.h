// Internal to certs/: the certificate assembly shared by issueCert (ca.cc) and signCsr (csr.cc).
#pragma once

#include <cstdint>

#include "certs/ca.h"

namespace kgate::certs::detail {

// A random positive 63-bit serial (fits Go's and Java's signed 64-bit views of it), at least
// kMinSerial so that its DER form is always 8 bytes.
constexpr uint64_t kMinSerial = uint64_t(1) << 56;
uint64_t randomSerial();

// A CA:FALSE leaf for pubKey named CN=spec.commonName alone, signed by the CA with SHA-256:
// keyUsage digitalSignature|keyEncipherment, EKU and SANs from spec, subject and authority key
// identifiers, notBefore an hour back for clock skew.
Result<Certificate> signLeaf(const X509& caCert, const EVP_PKEY& caKey, const EVP_PKEY& pubKey,
                             const CertSpec& spec, uint64_t serial);

}  // namespace kgate::certs::detail
