// Inbound route tokens: for each source domain, the tokens this node accepts (at most two while
// a rotation is in progress). Checks take the same time whatever the presented token is: both
// sides are compared as SHA-256 digests in constant time, so neither content nor length leaks.
// A connection's requests usually all carry the same token, and hashing it was ~5% of a small
// request's CPU: a TokenMemo keeps the digest of what the connection presented last.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "certs/keys.h"
#include "conf/config.h"

namespace kgate::auth {

class TokenMemo;

enum class AuthResult { Ok, NoSource, UnknownSource, NoToken, TokenMismatch, CertificateMismatch };
std::string_view causeOf(AuthResult r);  // the stable cause string (no_source, ...)

class TokenSet {
 public:
  using Digest = certs::Sha256;
  // Set by check() when a request carries the token: how the control plane learns which token a
  // source holds (DestinationTokens::noteUsed). Owned by the control plane, so it outlives the
  // snapshots that share it.
  using UseMark = std::shared_ptr<std::atomic<bool>>;

  struct Entry {
    std::vector<Digest> digests;  // accepted tokens, oldest first
    std::vector<int> revisions;   // their revisions, same order
    std::vector<UseMark> marks;   // same order; null for tokens from the config
    bool acceptAny = false;       // "noop": routes without authentication (None)
    bool mutualTls = false;       // "mtls": the client certificate must name the source
  };

  // The config's static tokens; the control plane adds the negotiated ones.
  static std::shared_ptr<TokenSet> fromConfig(const conf::Config& config);

  // tokens: oldest first; revisions default to 1..n. The literal "noop" accepts any token and
  // "mtls" accepts a client whose verified certificate names the source (Kuscia's markers).
  void set(const std::string& source, const std::vector<std::string>& tokens,
           std::vector<int> revisions = {}, std::vector<UseMark> marks = {});

  // verifiedClientName: the subject CN of the client's TLS certificate if it verified, else "".
  // memo: the connection's, to skip hashing a token it presented just before.
  AuthResult check(std::string_view source, std::string_view token,
                   std::string_view verifiedClientName = {}, TokenMemo* memo = nullptr) const;
  const Entry* find(std::string_view source) const;
  bool hasSource(std::string_view source) const { return find(source) != nullptr; }

 private:
  std::map<std::string, Entry, std::less<>> sources_;
};

TokenSet::Digest digestOf(std::string_view token);

// Whether a and b hold the same bytes, in a time that depends on N only. Eight bytes a step:
// this runs on every request, and CRYPTO_memcmp's byte loop over a token and a digest was 1.6% of
// a small HTTP/2 request's instructions.
template <size_t N>
  requires(N % 8 == 0)
bool equalInConstantTime(const std::array<unsigned char, N>& a,
                         const std::array<unsigned char, N>& b) {
  uint64_t diff = 0;
  for (size_t i = 0; i < N; i += 8) {
    uint64_t x, y;
    std::memcpy(&x, a.data() + i, 8);
    std::memcpy(&y, b.data() + i, 8);
    diff |= x ^ y;
    // Hides diff from the optimiser, so it cannot stop the loop at the first difference.
    __asm__ volatile("" : "+r"(diff));
  }
  return diff == 0;
}

// The digest of the token a connection presented last. Whether a token equals the remembered one
// is decided in constant time over a fixed width, whatever either length: one connection can
// carry several sources' requests (a gateway relaying for others), so the memo may hold a token
// the current client must learn nothing about.
class TokenMemo {
 public:
  const TokenSet::Digest& digestOf(std::string_view token);  // hashes only a new token

 private:
  static constexpr size_t kWidth = 64;  // longer tokens are hashed every time
  // The token, zero padded to kWidth, then its length in a word of its own.
  using Padded = std::array<unsigned char, kWidth + 8>;
  Padded padded_{};
  bool valid_ = false;
  TokenSet::Digest digest_{};
};

}  // namespace kgate::auth
