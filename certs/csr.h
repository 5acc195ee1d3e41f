// Certificate signing requests as Kuscia's registration uses them: a lite sends a CSR for its
// domain key, carrying its deploy token in a private extension, and the master signs it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "certs/ca.h"
#include "certs/keys.h"

namespace kgate::certs {

// OID of the extension that carries the lite deploy token (Kuscia's choice, kept for interop).
inline constexpr const char* kDeployTokenOid = "1.2.3.4";

// Subject CN only, SHA-256 signature. A non-empty deployToken adds a non-critical extension with
// OID 1.2.3.4 whose extnValue octets are the raw token bytes (as Go's ExtraExtensions writes it).
Result<CertRequest> buildCsr(const EVP_PKEY& key, const std::string& commonName,
                             const std::string& deployToken);

std::string csrToPem(const X509_REQ& csr);  // "CERTIFICATE REQUEST"
Result<CertRequest> csrFromPem(std::string_view pem);
// True when the CSR is signed by the key it carries (proof of possession).
bool verifyCsrSignature(X509_REQ& csr);
std::string csrCommonName(const X509_REQ& csr);  // "" when there is none
int csrCommonNameCount(const X509_REQ& csr);
// The raw extnValue octets of the extension with that dotted OID, if the CSR requests it.
std::optional<std::string> csrExtensionValue(const X509_REQ& csr, const char* oid);
Result<PrivateKey> csrPublicKey(const X509_REQ& csr);  // public-only key

// Signs the CSR (whose signature is checked first): the public key from the CSR, the subject
// CN=spec.commonName alone (nothing of the CSR's subject), CA:FALSE, keyUsage
// digitalSignature|keyEncipherment, EKU clientAuth+serverAuth (spec's EKU flags are ignored; its
// SANs and validity apply), the given serial (must be non-zero).
Result<Certificate> signCsr(const X509& caCert, const EVP_PKEY& caKey, X509_REQ& csr,
                            const CertSpec& spec, uint64_t serial);

}  // namespace kgate::certs
