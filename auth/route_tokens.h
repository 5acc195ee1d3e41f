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

// The destination end: at most two accepted tokens (previous and newest). The previous one is
// accepted until the source confirms the newest (a TokenReady heartbeat on it) plus a grace
// period, or until a newer handshake pushes it out.
class DestinationTokens {
 public:
  static constexpr int64_t kGraceSeconds = 30;

  const std::vector<NegotiatedToken>& accepted() const { return tokens_; }  // oldest first
  int64_t newestRevision() const;
  // Installs a token answerHandshake decided on (replacing one of the same revision).
  void install(const NegotiatedToken& token, int64_t nowSeconds);
  // GET /handshake with this revision: TokenReady if held (and marks confirmation when it is
  // the newest), TokenRevisionInputInvalid if empty/not a number, TokenNotFound otherwise.
  HeartbeatState onHeartbeat(std::string_view revision, int64_t nowSeconds);
  int64_t lastHeartbeatAt() const { return lastHeartbeat_; }
  bool newestConfirmed() const { return confirmedAt_ != 0; }
  // Drops the previous token once confirmed + grace, and any token 2 minutes past its expiry.
  // Returns true when the accepted set changed.
  bool expire(int64_t nowSeconds);
  void clear();

  std::string toJson() const;
  static Result<DestinationTokens> fromJson(std::string_view json);

 private:
  std::vector<NegotiatedToken> tokens_;
  int64_t confirmedAt_ = 0;  // when the newest was confirmed
  int64_t lastHeartbeat_ = 0;
};

}  // namespace kgate::auth
