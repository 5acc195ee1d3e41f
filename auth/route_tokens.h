// Route tokens as each end of a route keeps them, and the rotation rules (SPEC.md, "Rotation
// never deadlocks"). Pure state machines with an injected clock; the gateway persists them
// (toJson/fromJson, written 0600 and atomically) and runs the handshakes they ask for.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "auth/handshake.h"
#include "conf/result.h"

namespace kgate::auth {

// Heartbeat states of GET /handshake (Kuscia's codes).
enum class HeartbeatState : int {
  TokenReady = 0, DomainIDInputInvalid = 1, TokenRevisionInputInvalid = 2, TokenNotReady = 3,
  TokenNotFound = 4, NoAuthentication = 5, InternalError = 6, NetworkUnreachable = 7,
};

// The source end of one route: the token it sends, and when to negotiate the next.
class SourceTokens {
 public:
  // nowSeconds everywhere; periodSeconds 0 = never rotate.
  std::optional<NegotiatedToken> current() const { return current_; }
  // A handshake is due: no token, the current one older than the period, or it was refused.
  bool handshakeDue(int64_t nowSeconds, int64_t periodSeconds) const;
  // The revision to propose in the next handshake (current + 1, or 1).
  int64_t nextRevision() const;
  void install(const NegotiatedToken& token, int64_t nowSeconds);
  // Heartbeat outcome. TokenNotFound or NoAuthentication drop the token (a fresh full handshake
  // follows); TokenReady records the confirmation.
  void onHeartbeat(HeartbeatState state, int64_t nowSeconds);
  // Failed handshake attempts back off exponentially (1 s .. 60 s) and never change revisions.
  void onHandshakeFailure(int64_t nowSeconds);
  int64_t retryAt() const { return retryAt_; }
  int64_t installedAt() const { return installedAt_; }
  int64_t confirmedAt() const { return confirmedAt_; }  // last TokenReady heartbeat
  void clear();  // rehandshake requested

  std::string toJson() const;
  static Result<SourceTokens> fromJson(std::string_view json);

 private:
  std::optional<NegotiatedToken> current_;
  int64_t installedAt_ = 0;
  int64_t confirmedAt_ = 0;
  int64_t retryAt_ = 0;
  int failures_ = 0;
};

// The destination end: at most two accepted tokens. POST /handshake is unauthenticated and anyone
// holding the two public keys can make one, so what a handshake may displace is limited to what
// no source has shown it holds: a token is "in use" once a request carried it (the data path's
// token check) or a heartbeat presented it. A handshake never rewrites or pushes out the token in
// use; older tokens go a grace period after a newer one comes into use, or at their expiry.
class DestinationTokens {
 public:
  static constexpr int64_t kGraceSeconds = 30;

  const std::vector<NegotiatedToken>& accepted() const { return tokens_; }  // oldest first
  int64_t newestRevision() const;
  // Whether the source has the newest: it used it, or a heartbeat named it. A handshake that
  // proposes the newest revision then asks for the next one, never for a retry of it.
  bool newestSettled() const;
  // Installs a token answerHandshake decided on: a retry of the newest unsettled revision
  // replaces its bytes; otherwise the token joins, keeping itself and the token in use (or,
  // with none in use, the newest before it). Returns false, changing nothing, for a revision
  // at or below the one in use.
  bool install(const NegotiatedToken& token, int64_t nowSeconds);
  // A source showed it holds this revision (a request carried it). Returns true on a change.
  bool noteUsed(int64_t revision, int64_t nowSeconds);
  int64_t usedRevision() const { return usedRevision_; }
  // GET /handshake with this revision: TokenReady if held, TokenRevisionInputInvalid if
  // empty/not a number, TokenNotFound otherwise. presentedToken, when given (kgate sources send
  // their Kuscia-Token), must be that revision's token (else TokenNotFound, so the source
  // negotiates again) and proves use of it.
  HeartbeatState onHeartbeat(std::string_view revision, int64_t nowSeconds,
                             std::string_view presentedToken = {});
  int64_t lastHeartbeatAt() const { return lastHeartbeat_; }
  // Drops tokens older than the one in use once it has been in use for the grace period, and
  // any token 2 minutes past its expiry. Returns true when the accepted set changed.
  bool expire(int64_t nowSeconds);
  void clear();

  std::string toJson() const;
  static Result<DestinationTokens> fromJson(std::string_view json);

 private:
  std::vector<NegotiatedToken> tokens_;
  int64_t confirmedAt_ = 0;   // when a heartbeat first named the newest
  int64_t usedRevision_ = 0;  // the newest revision a source has shown it holds
  int64_t usedAt_ = 0;        // since when
  int64_t lastHeartbeat_ = 0;
};

}  // namespace kgate::auth
