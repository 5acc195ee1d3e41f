// Inbound route tokens: for each source domain, the tokens this node accepts (at most two while
// a rotation is in progress). Checks take the same time whatever the presented token is: both
// sides are compared as SHA-256 digests with CRYPTO_memcmp, so neither content nor length leaks.
#pragma once

#include <array>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "certs/keys.h"
#include "conf/config.h"

namespace kgate::auth {

enum class AuthResult { Ok, NoSource, UnknownSource, NoToken, TokenMismatch, CertificateMismatch };
std::string_view causeOf(AuthResult r);  // the stable cause string (no_source, ...)

class TokenSet {
 public:
  using Digest = certs::Sha256;

  struct Entry {
    std::vector<Digest> digests;  // accepted tokens, oldest first
    std::vector<int> revisions;   // their revisions, same order
    bool acceptAny = false;       // "noop": routes without authentication (None)
    bool mutualTls = false;       // "mtls": the client certificate must name the source
  };

  static std::shared_ptr<const TokenSet> fromConfig(const conf::Config& config);

  // tokens: oldest first; revisions default to 1..n. The literal "noop" accepts any token and
  // "mtls" accepts a client whose verified certificate names the source (Kuscia's markers).
  void set(const std::string& source, const std::vector<std::string>& tokens,
           std::vector<int> revisions = {});

  // verifiedClientName: the subject CN of the client's TLS certificate if it verified, else "".
  AuthResult check(std::string_view source, std::string_view token,
                   std::string_view verifiedClientName = {}) const;
  const Entry* find(std::string_view source) const;
  bool hasSource(std::string_view source) const { return find(source) != nullptr; }

 private:
  std::map<std::string, Entry, std::less<>> sources_;
};

TokenSet::Digest digestOf(std::string_view token);

}  // namespace kgate::auth
