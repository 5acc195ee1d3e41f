// What a lite does before it serves (Kuscia's ConnectToMaster, controlplane.md section 1.5):
// the master's external port must answer the 401 probe; a lite not yet registered learns the
// master's domain (GET /handshake on kuscia-handshake.master.svc) and registers with its
// deploy token (POST /register), then keeps the certificate, the master's public key and CA in
// its data directory so later starts need no token.
#pragma once

#include <openssl/evp.h>

#include <string>

#include "conf/config.h"
#include "conf/result.h"

namespace kgate {

struct LiteIdentity {
  std::string masterDomainID;
  std::string certPem;             // issued by the master at registration
  std::string masterPublicKeyPem;  // the master's domain key, for the route handshake
  std::string masterCaPem;         // the master's CA ("" if the master did not send it)
  bool registeredNow = false;      // this start registered (rather than reusing files)
};

// Files in certDir: domain.crt, master.pub, master-ca.crt, master.json (all 0600, atomic).
Result<LiteIdentity> bootstrapLite(const conf::Config& config, const EVP_PKEY& domainKey,
                                   const std::string& certDir);

}  // namespace kgate
