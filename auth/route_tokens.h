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
  // The newest token: what heartbeats present, and what requests carry once it has settled.
  std::optional<NegotiatedToken> current() const { return current_; }
  // What requests carry: the previous token for kSettleSeconds after a rotation, while every
  // master of the destination learns the new one (they keep the previous for minutes), then
  // the current one.
  std::optional<NegotiatedToken> sending() const { return previous_ ? previous_ : current_; }
  // A handshake is due: no token, the current one older than the period (and the last
  // rotation settled), or it was refused.
  bool handshakeDue(int64_t nowSeconds, int64_t periodSeconds) const;
  // The revision to propose in the next handshake (current + 1, or 1).
  int64_t nextRevision() const;
  // The request_time of the next handshake: now, or just past the last one if the clock went
  // back (a destination refuses a signed handshake that is not newer than the last). Kept with
  // the tokens, across restarts.
  int64_t nextRequestTime(int64_t nowNanos);
  // rotation: the current token is replaced on schedule, not because it was refused or an
  // operator asked for a fresh start; a confirmed, unexpired one is then sent a while longer.
  void install(const NegotiatedToken& token, int64_t nowSeconds, bool rotation = false);
  // Stops sending the previous token once the new one has settled (or the previous expired,
  // or the clock went back). Returns true when what requests carry changed.
  bool settle(int64_t nowSeconds);
  // Heartbeat outcome. TokenNotFound or NoAuthentication drop the token (a fresh full handshake
  // follows), but TokenNotFound only kSettleSeconds after a token was installed if no heartbeat
  // confirmed it yet; TokenReady records the confirmation.
  static constexpr int64_t kSettleSeconds = 5;
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
  std::optional<NegotiatedToken> previous_;  // set only while a rotation settles
  int64_t installedAt_ = 0;
  int64_t confirmedAt_ = 0;
  int64_t retryAt_ = 0;
  int failures_ = 0;
  int64_t lastRequestTime_ = 0;
};

// The destination end. POST /handshake needs no credentials: anyone holding the two public keys
// can make one, or replay one seen. A token from such a handshake is useless (only the source
// can read the destination's half), but installing it must not cost the source its own. So:
// - the token "in use" (a request carried it, or a heartbeat presented it) is never displaced;
// - bytes are never rewritten: a retry under the same revision adds a second token (at most
//   kMaxPerRevision; a further one gets the next revision);
// - up to kMaxUnused revisions newer than the one in use wait for the source, the oldest evicted
//   first and whole, so a heartbeat naming an evicted revision is told TokenNotFound;
// - older tokens retire a grace period after a newer one comes into use, or at their expiry.
// Revisions only grow: each answer is the highest issued + 1, or that same revision for a retry
// while it is not settled.
class DestinationTokens {
 public:
  // Long enough for every replica of a Kuscia source to take up the new token.
  static constexpr int64_t kGraceSeconds = 120;
  static constexpr size_t kMaxUnused = 4;
  static constexpr size_t kMaxPerRevision = 2;
  static constexpr size_t kMaxHeld = 12;

  struct Held {
    NegotiatedToken token;
    int64_t usedAt = 0;  // when first carried by a request or a heartbeat; 0 = not yet
  };

  const std::vector<Held>& held() const { return tokens_; }  // in the order installed
  std::vector<NegotiatedToken> accepted() const;
  int64_t newestRevision() const;                     // of the tokens held (0 = none)
  int64_t issuedRevision() const { return issued_; }  // highest ever answered
  size_t usedCount() const;                           // tokens a source has used
  // Whether the highest issued revision takes no more tokens: a token of it was used, a
  // heartbeat named it, or it was retried already. A handshake that proposes it then gets the
  // next revision; otherwise the same (a retry after a lost reply burns no revision).
  bool newestSettled() const;
  // Installs a token answerHandshake decided on (its revision at least the highest issued).
  void install(const NegotiatedToken& token, int64_t nowSeconds);
  // A request carried this token (by its bytes). Returns true when that is news.
  bool noteUsed(std::string_view token, int64_t nowSeconds);
  // GET /handshake with this revision: TokenReady if held, TokenRevisionInputInvalid if
  // empty/not a number, TokenNotFound otherwise. presentedToken, when given (kgate sources send
  // their Kuscia-Token), must be a token of that revision (else TokenNotFound, so the source
  // negotiates again) and marks it used.
  HeartbeatState onHeartbeat(std::string_view revision, int64_t nowSeconds,
                             std::string_view presentedToken = {});
  int64_t lastHeartbeatAt() const { return lastHeartbeat_; }
  // Retires what the rules above say is done with. Returns true when the accepted set changed.
  bool expire(int64_t nowSeconds);
  // Signed handshakes (auth::kSignatureHeader). signer: names the route's current source key
  // and the route's generation, so a new key (the source registered again) or a rehandshake
  // (how an operator lets a source that stopped signing back in) starts over. The reason to
  // refuse a handshake, or "" to go on; and, once answered, what a signed one leaves behind.
  std::string signingRefusal(const std::string& source, const std::string& signer, bool isSigned,
                             int64_t requestTime) const;
  void noteSigned(const std::string& signer, int64_t requestTime);
  // Takes in another master's state for the same route (HA masters share through the store):
  // the union of the tokens, what either saw used, the higher revision.
  void merge(const DestinationTokens& other);
  void clear();

  std::string toJson() const;
  static Result<DestinationTokens> fromJson(std::string_view json);

 private:
  const Held* inUse() const;  // the newest token used, if any
  void trim();

  std::vector<Held> tokens_;
  int64_t issued_ = 0;
  int64_t namedAt_ = 0;  // when a heartbeat first named the highest issued revision
  int64_t lastHeartbeat_ = 0;
  std::string signer_;             // key and generation the source signed under; "" = never
  int64_t signedRequestTime_ = 0;  // the request_time of its newest signed handshake
};

}  // namespace kgate::auth
