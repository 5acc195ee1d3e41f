// Shared by the route tests: the registration tests' fakes (the in-memory Store, the test
// keys, the test CA) and certificates for registered domains.
#pragma once

#include <string>

#include "../auth_register/fakes.h"
#include "certs/ca.h"
#include "certs/keys.h"

namespace kgate::auth::testing {

// A certificate for `key` signed by the test CA, as registration stores it.
inline std::string certFor(const std::string& domain, const EVP_PKEY& key) {
  certs::CertSpec spec;
  spec.commonName = domain;
  spec.clientAuth = true;
  auto cert = certs::issueCert(**certs::certFromPem(caCertPem()), caKey(), key, spec);
  if (!cert) ADD_FAILURE() << cert.error();
  return cert ? certs::certToPem(**cert) : std::string();
}

}  // namespace kgate::auth::testing
