// The node's own PKI in its data directory: the CA that signs its listener certificates, the
// external listener's server certificate and the API listener's certificate. Created on first
// start, loaded afterwards; regenerated only where missing or no longer matching (e.g. new SANs).
#pragma once

#include <string>
#include <vector>

#include "certs/keys.h"

namespace kgate::certs {

struct NodePkiOptions {
  std::string certDir{};               // <dataDir>/certs; created 0700 if missing
  std::string domainID{};
  std::string caCommonName = "Kuscia"; // issuer CN the tutorial shows
  std::vector<std::string> sans{};     // 127.0.0.1 is always included, plus these
  // Set (both PEM): use this CA, a master's from its store, shared with the other masters. It is
  // written over ca.crt and ca.key when they differ; leaves it did not sign are re-issued.
  std::string caCertPem{}, caKeyPem{};
};

// Paths are inside certDir: ca.crt, ca.key, external.crt, external.key, api.crt, api.key,
// admin-client.crt, admin-client.key (a client certificate the CLI presents to the API port).
struct NodePki {
  std::string caCertPem, caKeyPem;
  std::string externalCertPem, externalKeyPem;  // CN=<domain>_ENVOY_EXTERNAL, serverAuth
  std::string apiCertPem, apiKeyPem;            // CN=KusciaAPI, serverAuth, SAN kusciaapi + sans
  std::string adminClientCertPem, adminClientKeyPem;  // CN=<domain>-admin, clientAuth
};

// Loads what exists and is consistent, creates the rest; all key files 0600, written atomically.
// The external certificate is re-issued when its CN or SANs no longer match the options.
Result<NodePki> loadOrCreateNodePki(const NodePkiOptions& options);

}  // namespace kgate::certs
