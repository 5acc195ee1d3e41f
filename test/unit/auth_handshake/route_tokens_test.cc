// Route tokens at both ends with an injected clock: when the source negotiates, what the
// destination accepts during a rotation, backoff, and persistence.
#include <gtest/gtest.h>

#include "auth/route_tokens.h"
#include "certs/keys.h"
#include "test/unit/auth_handshake/test_keys.h"

namespace kgate::auth {
namespace {

using testing::alice;
using testing::bob;
using testing::pubPem;
using testing::publicOnly;

constexpr int64_t kDay = 86400;
constexpr int64_t kT0 = 1'704'067'200;  // 2024-01-01T00:00:00Z, in seconds

NegotiatedToken fakeToken(int64_t revision, int64_t expiresAtSeconds = kT0 + 2 * kDay) {
  return NegotiatedToken{certs::base64Encode(certs::randomBytes(32)), revision,
                         expiresAtSeconds * kNanos};
}

// One handshake from alice's SourceTokens to bob's DestinationTokens at time now. With
// replyLost the destination installs but the source never hears back; rotation as the gateway
// passes it (a scheduled one, same route generation).
void handshake(SourceTokens& src, DestinationTokens& dst, int64_t now, bool replyLost = false,
               bool rotation = false) {
  auto bobPub = publicOnly(bob());
  auto started = startHandshake("alice", pubPem(alice()), *bobPub, src.nextRevision(),
                                now * kNanos);
  ASSERT_TRUE(started) << started.error();
  DestinationRoute route{true, pubPem(alice()), kDay, dst.issuedRevision(), dst.newestSettled()};
  DestinationDecision d = answerHandshake(started->request, "bob", route, bob(), now * kNanos);
  ASSERT_TRUE(d.token) << d.reply.message;
  dst.install(*d.token, now);
  if (replyLost) {
    src.onHandshakeFailure(now);
    return;
  }
  auto token = finishHandshake(*started, d.reply, alice());
  ASSERT_TRUE(token) << token.error();
  src.install(*token, now, rotation);
}

// The source's 15 s heartbeat, answered by the destination. A kgate source presents its token.
HeartbeatState heartbeat(SourceTokens& src, DestinationTokens& dst, int64_t now) {
  HeartbeatState s =
      dst.onHeartbeat(std::to_string(src.current()->revision), now, src.current()->token);
  src.onHeartbeat(s, now);
  return s;
}

std::vector<std::string> accepted(const DestinationTokens& dst) {
  std::vector<std::string> out;
  for (const NegotiatedToken& t : dst.accepted()) out.push_back(t.token);
  return out;
}

TEST(SourceTokens, HandshakeDueTiming) {
  SourceTokens src;
  EXPECT_TRUE(src.handshakeDue(kT0, kDay));
  EXPECT_EQ(src.nextRevision(), 1);
  src.install(fakeToken(1), kT0);
  EXPECT_EQ(src.installedAt(), kT0);
  EXPECT_EQ(src.nextRevision(), 2);
  EXPECT_FALSE(src.handshakeDue(kT0, kDay));
  EXPECT_FALSE(src.handshakeDue(kT0 + kDay - 1, kDay));
  EXPECT_TRUE(src.handshakeDue(kT0 + kDay, kDay));

  SourceTokens never;
  never.install(fakeToken(1, kT0 + 100 * 365 * kDay), kT0);
  EXPECT_FALSE(never.handshakeDue(kT0 + 1000 * kDay, 0));  // period 0: never rotate
}

TEST(SourceTokens, ExpiredTokenIsRenegotiated) {
  SourceTokens src;
  src.install(fakeToken(3, kT0 + 100), kT0);
  EXPECT_FALSE(src.handshakeDue(kT0 + 99, 0));
  EXPECT_TRUE(src.handshakeDue(kT0 + 100, 0));
}

TEST(SourceTokens, BackoffSequenceAndNoBurnedRevisions) {
  SourceTokens src;
  src.install(fakeToken(4), kT0);
  int64_t now = kT0 + kDay;
  const int64_t want[] = {1, 2, 4, 8, 16, 32, 60, 60, 60};
  for (int64_t delay : want) {
    ASSERT_TRUE(src.handshakeDue(now, kDay));
    src.onHandshakeFailure(now);
    EXPECT_EQ(src.retryAt(), now + delay);
    EXPECT_FALSE(src.handshakeDue(now + delay - 1, kDay));
    EXPECT_EQ(src.nextRevision(), 5);  // failures never consume a revision
    EXPECT_EQ(src.current()->revision, 4);  // and keep the working token
    now += delay;
  }
  src.install(fakeToken(5), now);  // success resets the backoff
  EXPECT_EQ(src.retryAt(), 0);
  src.onHandshakeFailure(now);
  EXPECT_EQ(src.retryAt(), now + 1);
}

TEST(SourceTokens, HeartbeatOutcomes) {
  SourceTokens src;
  src.install(fakeToken(2), kT0);
  src.onHeartbeat(HeartbeatState::TokenReady, kT0 + 15);
  EXPECT_EQ(src.confirmedAt(), kT0 + 15);
  for (HeartbeatState s : {HeartbeatState::TokenNotReady, HeartbeatState::InternalError,
                           HeartbeatState::NetworkUnreachable,
                           HeartbeatState::TokenRevisionInputInvalid}) {
    src.onHeartbeat(s, kT0 + 30);
    ASSERT_TRUE(src.current());
  }
  EXPECT_EQ(src.confirmedAt(), kT0 + 15);

  src.onHeartbeat(HeartbeatState::TokenNotFound, kT0 + 45);  // the destination lost it
  EXPECT_FALSE(src.current());
  EXPECT_TRUE(src.handshakeDue(kT0 + 45, kDay));
  EXPECT_EQ(src.nextRevision(), 1);

  src.install(fakeToken(7), kT0 + 50);
  src.onHeartbeat(HeartbeatState::NoAuthentication, kT0 + 60);
  EXPECT_FALSE(src.current());
}

// A destination's other masters learn a new token about a second after the one that issued it:
// their TokenNotFound for a token never confirmed is not taken at once.
TEST(SourceTokens, ANewTokenSettlesBeforeTokenNotFoundDropsIt) {
  SourceTokens src;
  src.install(fakeToken(3), kT0);
  src.onHeartbeat(HeartbeatState::TokenNotFound, kT0);
  src.onHeartbeat(HeartbeatState::TokenNotFound, kT0 + SourceTokens::kSettleSeconds - 1);
  ASSERT_TRUE(src.current());
  src.onHeartbeat(HeartbeatState::TokenNotFound, kT0 + SourceTokens::kSettleSeconds);
  EXPECT_FALSE(src.current());  // not a replica's delay: negotiate again

  src.install(fakeToken(4), kT0 + 10);
  src.onHeartbeat(HeartbeatState::TokenReady, kT0 + 10);
  src.onHeartbeat(HeartbeatState::TokenNotFound, kT0 + 11);  // confirmed, then lost: at once
  EXPECT_FALSE(src.current());
  src.install(fakeToken(5), kT0 + 20);
  src.onHeartbeat(HeartbeatState::NoAuthentication, kT0 + 20);  // no route there: at once
  EXPECT_FALSE(src.current());
  src.install(fakeToken(6), kT0 + 30);
  src.onHeartbeat(HeartbeatState::TokenNotFound, kT0 + 29);  // the clock went back: at once
  EXPECT_FALSE(src.current());
}

TEST(SourceTokens, RequestTimesOnlyGrow) {
  SourceTokens src;
  EXPECT_EQ(src.nextRequestTime(1000), 1000);
  EXPECT_EQ(src.nextRequestTime(5000), 5000);
  EXPECT_EQ(src.nextRequestTime(4000), 5001);  // the clock went back
  src.clear();
  EXPECT_EQ(src.nextRequestTime(10), 5002);
  auto back = SourceTokens::fromJson(src.toJson());  // and across a restart
  ASSERT_TRUE(back) << back.error();
  EXPECT_EQ(back->nextRequestTime(10), 5003);
}

TEST(SourceTokens, ClearRequestsAnImmediateHandshake) {
  SourceTokens src;
  src.install(fakeToken(2), kT0);
  src.onHandshakeFailure(kT0 + 1);
  src.clear();
  EXPECT_FALSE(src.current());
  EXPECT_EQ(src.retryAt(), 0);
  EXPECT_TRUE(src.handshakeDue(kT0 + 1, kDay));
}

// bob runs two masters on one store; the second learns a token from the first a second or so
// later. A scheduled rotation must not leave alice's requests refused by either in between.
TEST(RouteTokens, ARotationSettlesBeforeRequestsCarryTheNewToken) {
  SourceTokens src;
  DestinationTokens masterA, masterB;
  handshake(src, masterA, kT0);
  masterB.merge(masterA);
  ASSERT_EQ(heartbeat(src, masterA, kT0 + 15), HeartbeatState::TokenReady);
  masterB.merge(masterA);
  const NegotiatedToken first = *src.current();
  EXPECT_EQ(src.sending()->token, first.token);

  const int64_t t1 = kT0 + kDay;
  handshake(src, masterA, t1, false, /*rotation=*/true);
  ASSERT_EQ(src.current()->revision, 2);
  const std::string second = src.current()->token;
  // Heartbeats present the new token at once (so no forged handshake displaces it); requests
  // carry the old one, which both masters accept, until it has settled.
  EXPECT_EQ(heartbeat(src, masterA, t1 + 1), HeartbeatState::TokenReady);
  for (int64_t now = t1; now < t1 + SourceTokens::kSettleSeconds; ++now) {
    if (now == t1 + 2) masterB.merge(masterA);  // the second master catches up
    EXPECT_FALSE(src.settle(now)) << now - t1;
    EXPECT_EQ(src.sending()->token, first.token) << now - t1;
    for (const DestinationTokens* m : {&masterA, &masterB})
      EXPECT_TRUE(std::ranges::count(accepted(*m), first.token)) << now - t1;
  }
  // Even a period shorter than that waits: only a settled rotation is followed by the next.
  EXPECT_FALSE(src.handshakeDue(t1 + SourceTokens::kSettleSeconds - 1, 1));
  EXPECT_TRUE(src.settle(t1 + SourceTokens::kSettleSeconds));
  EXPECT_FALSE(src.settle(t1 + SourceTokens::kSettleSeconds + 1));
  EXPECT_TRUE(src.handshakeDue(t1 + SourceTokens::kSettleSeconds, 1));
  EXPECT_EQ(src.sending()->token, second);
  for (const DestinationTokens* m : {&masterA, &masterB})
    EXPECT_TRUE(std::ranges::count(accepted(*m), second));
}

// The previous token is sent on only when it is still good: a scheduled rotation of a
// confirmed, unexpired token. Anything else switches at once.
TEST(SourceTokens, OnlyAConfirmedTokenReplacedOnScheduleIsSentOn) {
  auto rotated = [](bool confirmed, bool rotation, int64_t expiresAt, bool retried = false) {
    SourceTokens src;
    src.install(fakeToken(1, expiresAt), kT0);
    if (confirmed) src.onHeartbeat(HeartbeatState::TokenReady, kT0 + 15);
    if (retried) src.onHandshakeFailure(kT0 + 90);
    src.install(fakeToken(2), kT0 + 100, rotation);
    return src.sending()->revision;
  };
  EXPECT_EQ(rotated(true, true, kT0 + kDay), 1);
  EXPECT_EQ(rotated(false, true, kT0 + kDay), 2);    // never confirmed anywhere
  EXPECT_EQ(rotated(true, false, kT0 + kDay), 2);    // a rehandshake or a changed route
  EXPECT_EQ(rotated(true, true, kT0 + 100), 2);      // expired as it was replaced
  // A first attempt that failed may still have been installed there, and a Kuscia destination
  // keeps two tokens: the one before it may be gone.
  EXPECT_EQ(rotated(true, true, kT0 + kDay, /*retried=*/true), 2);

  SourceTokens src;
  src.install(fakeToken(1, kT0 + 102), kT0);
  src.onHeartbeat(HeartbeatState::TokenReady, kT0 + 15);
  src.install(fakeToken(2), kT0 + 100, true);
  EXPECT_FALSE(src.settle(kT0 + 101));
  EXPECT_TRUE(src.settle(kT0 + 102));  // it expires before the new one settled
  EXPECT_EQ(src.sending()->revision, 2);

  src.onHeartbeat(HeartbeatState::TokenReady, kT0 + 115);
  src.install(fakeToken(3), kT0 + 200, true);
  EXPECT_TRUE(src.settle(kT0 + 199));  // the clock went back: no waiting on it
  EXPECT_EQ(src.sending()->revision, 3);

  src.onHeartbeat(HeartbeatState::TokenReady, kT0 + 215);
  src.install(fakeToken(4), kT0 + 300, true);
  src.onHeartbeat(HeartbeatState::NoAuthentication, kT0 + 301);  // refused: start over
  EXPECT_FALSE(src.sending());
  src.install(fakeToken(5), kT0 + 400);
  src.onHeartbeat(HeartbeatState::TokenReady, kT0 + 415);
  src.install(fakeToken(6), kT0 + 500, true);
  src.clear();  // the master refused it
  EXPECT_FALSE(src.sending());
}

TEST(DestinationTokens, HeartbeatStates) {  // vector 22, on the token store
  DestinationTokens dst;
  dst.install(fakeToken(3), kT0);
  EXPECT_EQ(dst.onHeartbeat("", kT0), HeartbeatState::TokenRevisionInputInvalid);
  EXPECT_EQ(dst.onHeartbeat("x3", kT0), HeartbeatState::TokenRevisionInputInvalid);
  EXPECT_EQ(dst.onHeartbeat("3 ", kT0), HeartbeatState::TokenRevisionInputInvalid);
  EXPECT_EQ(dst.onHeartbeat("9", kT0), HeartbeatState::TokenNotFound);
  EXPECT_EQ(dst.lastHeartbeatAt(), 0);
  EXPECT_EQ(dst.onHeartbeat("3", kT0 + 15), HeartbeatState::TokenReady);
  EXPECT_EQ(dst.lastHeartbeatAt(), kT0 + 15);
  EXPECT_EQ(dst.onHeartbeat("+3", kT0 + 30), HeartbeatState::TokenReady);  // strconv.Atoi
}

TEST(DestinationTokens, UnusedTokensWaitOldestOutFirst) {
  DestinationTokens dst;
  EXPECT_EQ(dst.newestRevision(), 0);
  std::vector<std::string> all;
  for (int r = 1; r <= 6; ++r) {
    NegotiatedToken t = fakeToken(r);
    all.push_back(t.token);
    dst.install(t, kT0 + r);
  }
  // None used: the newest kMaxUnused wait for the source.
  EXPECT_EQ(accepted(dst), (std::vector(all.end() - DestinationTokens::kMaxUnused, all.end())));
  EXPECT_EQ(dst.newestRevision(), 6);
  EXPECT_EQ(dst.issuedRevision(), 6);

  // A retry under revision 6 adds a second token: the first one's bytes stay accepted. Two
  // tokens settle a revision: a further retry would get 7.
  EXPECT_FALSE(dst.newestSettled());
  NegotiatedToken t6b = fakeToken(6);
  dst.install(t6b, kT0 + 7);
  EXPECT_EQ(accepted(dst), (std::vector{all[2], all[3], all[4], all[5], t6b.token}));
  EXPECT_EQ(dst.issuedRevision(), 6);
  EXPECT_TRUE(dst.newestSettled());
  // Revisions are evicted whole: a heartbeat naming one never finds a stranger's token under it.
  dst.install(fakeToken(7), kT0 + 8);
  EXPECT_EQ(accepted(dst).size(), 5u);
  EXPECT_EQ(dst.onHeartbeat("3", kT0 + 9), HeartbeatState::TokenNotFound);
}

TEST(DestinationTokens, ANamedRevisionIsSettled) {
  DestinationTokens dst;
  dst.install(fakeToken(1), kT0);
  dst.install(fakeToken(2), kT0);
  EXPECT_FALSE(dst.newestSettled());
  EXPECT_EQ(dst.onHeartbeat("1", kT0 + 5), HeartbeatState::TokenReady);
  EXPECT_FALSE(dst.newestSettled());  // 1 is not the highest issued
  EXPECT_EQ(dst.onHeartbeat("2", kT0 + 10), HeartbeatState::TokenReady);  // Kuscia: no token
  EXPECT_TRUE(dst.newestSettled());
  dst.install(fakeToken(3), kT0 + 20);  // a new revision: not named yet
  EXPECT_FALSE(dst.newestSettled());
  // Naming retires nothing (anyone can name a revision); only use does.
  EXPECT_FALSE(dst.expire(kT0 + 10 + DestinationTokens::kGraceSeconds + 100));
  EXPECT_EQ(dst.accepted().size(), 3u);
}

// POST /handshake needs no credentials: whatever arrives, the token a source has shown it holds
// stays accepted with its bytes, and so do the newest few it may be about to use.
TEST(DestinationTokens, AHandshakeNeverDisplacesTheTokenInUse) {
  DestinationTokens dst;
  NegotiatedToken t1 = fakeToken(1);
  dst.install(t1, kT0);
  EXPECT_FALSE(dst.noteUsed("not held", kT0));
  EXPECT_TRUE(dst.noteUsed(t1.token, kT0 + 1));
  EXPECT_FALSE(dst.noteUsed(t1.token, kT0 + 2));
  EXPECT_EQ(dst.usedCount(), 1u);
  EXPECT_TRUE(dst.newestSettled());

  // The source's next token, then more handshakes than there are waiting places.
  NegotiatedToken t2 = fakeToken(2);
  dst.install(t2, kT0 + 10);
  std::vector<std::string> forged;
  for (int r = 3; r < 3 + int(DestinationTokens::kMaxUnused); ++r) {
    NegotiatedToken t = fakeToken(r);
    forged.push_back(t.token);
    dst.install(t, kT0 + 10 + r);
  }
  std::vector<std::string> want{t1.token};
  want.insert(want.end(), forged.begin(), forged.end());
  EXPECT_EQ(accepted(dst), want);        // 2 was the oldest waiting; 1, in use, stays
  EXPECT_FALSE(dst.expire(kT0 + 1000));  // nothing newer is in use: 1 is kept

  // Once the source uses a newer one, 1 goes after the grace period, with the unused older.
  EXPECT_TRUE(dst.noteUsed(forged[1], kT0 + 2000));
  EXPECT_FALSE(dst.expire(kT0 + 2000 + DestinationTokens::kGraceSeconds - 1));
  EXPECT_TRUE(dst.expire(kT0 + 2000 + DestinationTokens::kGraceSeconds));
  EXPECT_EQ(accepted(dst), (std::vector(forged.begin() + 1, forged.end())));
}

// A heartbeat names a revision, which anyone can: only one that presents the bytes proves use.
TEST(DestinationTokens, OnlyAHeartbeatWithTheTokenProvesUse) {
  DestinationTokens dst;
  NegotiatedToken t1 = fakeToken(1), t2 = fakeToken(2), t2b = fakeToken(2);
  dst.install(t1, kT0);
  ASSERT_EQ(dst.onHeartbeat("1", kT0 + 1, t1.token), HeartbeatState::TokenReady);
  dst.install(t2, kT0 + 10);
  dst.install(t2b, kT0 + 10);
  EXPECT_EQ(dst.onHeartbeat("2", kT0 + 11), HeartbeatState::TokenReady);
  EXPECT_EQ(dst.usedCount(), 1u);
  EXPECT_FALSE(dst.expire(kT0 + 11 + DestinationTokens::kGraceSeconds));  // 1 stays
  // Bytes that are not revision 2's: the source is told to negotiate again.
  EXPECT_EQ(dst.onHeartbeat("2", kT0 + 12, t1.token), HeartbeatState::TokenNotFound);
  EXPECT_EQ(dst.usedCount(), 1u);
  // Either token of revision 2 is recognised; this one is now in use.
  EXPECT_EQ(dst.onHeartbeat("2", kT0 + 13, t2.token), HeartbeatState::TokenReady);
  EXPECT_EQ(dst.usedCount(), 2u);
  EXPECT_TRUE(dst.expire(kT0 + 13 + DestinationTokens::kGraceSeconds));
  EXPECT_EQ(accepted(dst), (std::vector{t2.token, t2b.token}));
}

TEST(DestinationTokens, RevisionsOnlyGrowEvenWhenEverythingExpired) {
  DestinationTokens dst;
  dst.install(fakeToken(4, kT0 + 100), kT0);
  dst.noteUsed(dst.accepted()[0].token, kT0 + 1);
  EXPECT_TRUE(dst.expire(kT0 + 100 + 120));
  EXPECT_TRUE(dst.accepted().empty());
  EXPECT_EQ(dst.issuedRevision(), 4);
  EXPECT_FALSE(dst.newestSettled());
}

// HA masters share what each saw: the union of the tokens, the earliest use of each.
TEST(DestinationTokens, MergeKeepsWhatEitherMasterSawInUse) {
  DestinationTokens m1, m2;
  NegotiatedToken t1 = fakeToken(1), t2 = fakeToken(2), t3 = fakeToken(3);
  m1.install(t1, kT0);
  m1.noteUsed(t1.token, kT0 + 1);
  m2 = m1;
  m1.install(t2, kT0 + 10);
  m2.merge(m1);
  m2.noteUsed(t2.token, kT0 + 20);  // alice's pooled connection reaches m2 only
  m1.install(t3, kT0 + 30);         // a handshake (anyone's) reaches m1
  m1.merge(m2);
  EXPECT_EQ(accepted(m1), (std::vector{t1.token, t2.token, t3.token}));
  EXPECT_EQ(m1.usedCount(), 2u);
  EXPECT_EQ(m1.issuedRevision(), 3);
  EXPECT_TRUE(m1.expire(kT0 + 20 + DestinationTokens::kGraceSeconds));
  EXPECT_EQ(accepted(m1), (std::vector{t2.token, t3.token}));
}

TEST(DestinationTokens, PreviousDropsTwoMinutesAfterItsExpiry) {
  DestinationTokens dst;
  dst.install(fakeToken(1, kT0 + 1000), kT0);
  dst.install(fakeToken(2, kT0 + 5000), kT0 + 500);
  EXPECT_FALSE(dst.expire(kT0 + 1000 + 119));
  EXPECT_EQ(dst.accepted().size(), 2u);
  EXPECT_TRUE(dst.expire(kT0 + 1000 + 120));
  ASSERT_EQ(dst.accepted().size(), 1u);
  EXPECT_EQ(dst.accepted()[0].revision, 2);
  EXPECT_FALSE(dst.expire(kT0 + 1000 + 121));
}

TEST(RouteTokens, FullRotationNeverDeadlocks) {
  SourceTokens src;
  DestinationTokens dst;

  // First handshake: revision 1 on both ends, confirmed by the first heartbeat.
  ASSERT_TRUE(src.handshakeDue(kT0, kDay));
  handshake(src, dst, kT0);
  ASSERT_TRUE(src.current());
  EXPECT_EQ(src.current()->revision, 1);
  EXPECT_EQ(accepted(dst), (std::vector{src.current()->token}));
  EXPECT_EQ(heartbeat(src, dst, kT0 + 15), HeartbeatState::TokenReady);
  EXPECT_EQ(src.confirmedAt(), kT0 + 15);
  EXPECT_FALSE(dst.expire(kT0 + 1000));
  EXPECT_FALSE(src.handshakeDue(kT0 + kDay - 1, kDay));
  const std::string token1 = src.current()->token;

  // A day later the source rotates, but the reply is lost: bob holds 1 and 2, alice keeps 1.
  int64_t t1 = kT0 + kDay;
  ASSERT_TRUE(src.handshakeDue(t1, kDay));
  handshake(src, dst, t1, /*replyLost=*/true);
  EXPECT_EQ(src.current()->token, token1);
  EXPECT_EQ(src.nextRevision(), 2);
  ASSERT_EQ(dst.accepted().size(), 2u);
  EXPECT_EQ(dst.accepted()[0].token, token1);
  EXPECT_EQ(heartbeat(src, dst, t1 + 1), HeartbeatState::TokenReady);  // 1 still works
  EXPECT_FALSE(dst.expire(t1 + 600));  // 2 is not confirmed: 1 stays

  // The retry after the 1 s backoff reuses revision 2, nothing is burned; bob holds a second
  // token under it (bytes are never rewritten).
  EXPECT_FALSE(src.handshakeDue(t1, kDay));
  ASSERT_TRUE(src.handshakeDue(t1 + 1, kDay));
  handshake(src, dst, t1 + 1);
  EXPECT_EQ(src.current()->revision, 2);
  EXPECT_EQ(dst.newestRevision(), 2);
  ASSERT_EQ(dst.accepted().size(), 3u);
  EXPECT_EQ(dst.accepted().front().token, token1);
  EXPECT_EQ(dst.accepted().back().token, src.current()->token);

  // Alice uses 2; bob keeps the older ones for the grace period, then drops them.
  int64_t confirmed = t1 + 15;
  EXPECT_EQ(heartbeat(src, dst, confirmed), HeartbeatState::TokenReady);
  EXPECT_FALSE(dst.expire(confirmed + DestinationTokens::kGraceSeconds - 1));
  EXPECT_EQ(dst.accepted().size(), 3u);
  EXPECT_TRUE(dst.expire(confirmed + DestinationTokens::kGraceSeconds));
  EXPECT_EQ(accepted(dst), (std::vector{src.current()->token}));

  // Bob loses its tokens (e.g. a reset): the heartbeat says so, alice starts over, and bob
  // continues from its own newest revision.
  dst.clear();
  DestinationTokens restored;
  restored.install(fakeToken(6), t1 + 100);
  EXPECT_EQ(heartbeat(src, restored, t1 + 120), HeartbeatState::TokenNotFound);
  EXPECT_FALSE(src.current());
  ASSERT_TRUE(src.handshakeDue(t1 + 120, kDay));
  handshake(src, restored, t1 + 120);
  EXPECT_EQ(src.current()->revision, 7);
  EXPECT_EQ(restored.accepted().back().token, src.current()->token);
}

// Someone who captured alice's handshake request (or made one: it needs only the public keys)
// posts it again and again. Each answer installs a token the poster cannot read, but alice's
// token, in use, keeps working, and so does her next rotation.
TEST(RouteTokens, ReplayedHandshakesDoNotLockTheSourceOut) {
  SourceTokens src;
  DestinationTokens dst;
  auto bobPub = publicOnly(bob());
  auto started = startHandshake("alice", pubPem(alice()), *bobPub, 1, kT0 * kNanos);
  ASSERT_TRUE(started) << started.error();
  auto answer = [&](int64_t now) {
    DestinationRoute route{true, pubPem(alice()), kDay, dst.issuedRevision(), dst.newestSettled()};
    DestinationDecision d = answerHandshake(started->request, "bob", route, bob(), now * kNanos);
    EXPECT_TRUE(d.token) << d.reply.message;
    if (d.token) dst.install(*d.token, now);
    return d;
  };
  auto first = answer(kT0);
  auto token = finishHandshake(*started, first.reply, alice());
  ASSERT_TRUE(token) << token.error();
  src.install(*token, kT0);
  ASSERT_EQ(heartbeat(src, dst, kT0 + 1), HeartbeatState::TokenReady);

  for (int i = 0; i < 5; ++i) answer(kT0 + 10 + i);
  EXPECT_EQ(dst.accepted().size(), 1 + DestinationTokens::kMaxUnused);
  EXPECT_EQ(dst.accepted().front().token, src.current()->token);
  EXPECT_EQ(dst.newestRevision(), 6);  // each replay was answered, never over revision 1
  EXPECT_FALSE(dst.expire(kT0 + 1000));
  EXPECT_EQ(heartbeat(src, dst, kT0 + 1000), HeartbeatState::TokenReady);

  // Alice's next rotation proposes 2 and gets 7; she uses it and 1 retires.
  int64_t later = kT0 + kDay;
  ASSERT_TRUE(src.handshakeDue(later, kDay));
  handshake(src, dst, later);
  EXPECT_EQ(src.current()->revision, 7);
  EXPECT_EQ(heartbeat(src, dst, later + 1), HeartbeatState::TokenReady);
  EXPECT_TRUE(dst.expire(later + 1 + DestinationTokens::kGraceSeconds));
  EXPECT_EQ(accepted(dst), (std::vector{src.current()->token}));
}

// Posts that retry the revision a Kuscia source has just received (before it uses it) cannot
// leave a stranger's token under that revision while hers is gone: her heartbeat would say
// TokenReady and every request 401 until the next rotation. Either her token stays, or the
// whole revision goes and her heartbeat tells her to negotiate again.
TEST(RouteTokens, ForgedRetriesNeverHideALostToken) {
  DestinationTokens dst;
  NegotiatedToken inUse = fakeToken(1);
  dst.install(inUse, kT0);
  dst.noteUsed(inUse.token, kT0);
  auto bobPub = publicOnly(bob());
  auto answer = [&](int64_t proposed, int64_t now) {
    auto started = startHandshake("alice", pubPem(alice()), *bobPub, proposed, now * kNanos);
    EXPECT_TRUE(started);
    DestinationRoute route{true, pubPem(alice()), kDay, dst.issuedRevision(), dst.newestSettled()};
    DestinationDecision d = answerHandshake(started->request, "bob", route, bob(), now * kNanos);
    EXPECT_TRUE(d.token) << d.reply.message;
    dst.install(*d.token, now);
    return *d.token;
  };
  NegotiatedToken hers = answer(1, kT0 + 10);  // a Kuscia source proposes what it has
  ASSERT_EQ(hers.revision, 2);
  for (int i = 0; i < 12; ++i) {
    answer(2, kT0 + 11 + i);
    bool held = false;
    for (const NegotiatedToken& t : dst.accepted()) held = held || t.token == hers.token;
    HeartbeatState s = dst.onHeartbeat("2", kT0 + 11 + i);
    EXPECT_TRUE(held || s == HeartbeatState::TokenNotFound) << i;
    EXPECT_EQ(held, s == HeartbeatState::TokenReady) << i;
  }
  EXPECT_EQ(dst.accepted().front().token, inUse.token);
}

// Once a source has signed a handshake with its key, the destination refuses unsigned ones
// and signed ones that are not newer; a new key (the source registered again) starts over.
TEST(DestinationTokens, ASourceThatSignsMustAlwaysSign) {
  DestinationTokens dst;
  EXPECT_EQ(dst.signingRefusal("alice", "K1", false, 5), "");  // never signed: Kuscia's rules
  EXPECT_EQ(dst.signingRefusal("alice", "K1", true, 5), "");
  dst.noteSigned("K1", 100);
  EXPECT_EQ(dst.signingRefusal("alice", "K1", false, 200),
            "source domain [alice] signs its handshakes; an unsigned one is refused");
  EXPECT_NE(dst.signingRefusal("alice", "K1", true, 100), "");  // a replay
  EXPECT_NE(dst.signingRefusal("alice", "K1", true, 99), "");
  EXPECT_EQ(dst.signingRefusal("alice", "K1", true, 101), "");
  EXPECT_EQ(dst.signingRefusal("alice", "K2", false, 1), "");  // another key
  dst.noteSigned("K2", 50);
  EXPECT_EQ(dst.signingRefusal("alice", "K2", true, 51), "");
  // Its heartbeats present the token: one without it does not count as the source's.
  NegotiatedToken t = fakeToken(1);
  dst.install(t, kT0);
  EXPECT_EQ(dst.onHeartbeat("1", kT0 + 5), HeartbeatState::TokenReady);
  EXPECT_EQ(dst.lastHeartbeatAt(), 0);
  EXPECT_FALSE(dst.newestSettled());
  EXPECT_EQ(dst.onHeartbeat("1", kT0 + 6, t.token), HeartbeatState::TokenReady);
  EXPECT_EQ(dst.lastHeartbeatAt(), kT0 + 6);

  // Kept across a restart, and between masters (the newer wins).
  auto back = DestinationTokens::fromJson(dst.toJson());
  ASSERT_TRUE(back) << back.error();
  EXPECT_NE(back->signingRefusal("alice", "K2", false, 60), "");
  EXPECT_NE(back->signingRefusal("alice", "K2", true, 50), "");
  DestinationTokens other;
  other.noteSigned("K2", 70);
  back->merge(other);
  EXPECT_NE(back->signingRefusal("alice", "K2", true, 70), "");
  EXPECT_EQ(back->signingRefusal("alice", "K2", true, 71), "");
}

TEST(RouteTokensJson, SourceRoundTrips) {
  SourceTokens src;
  auto empty = SourceTokens::fromJson(src.toJson());
  ASSERT_TRUE(empty) << empty.error();
  EXPECT_FALSE(empty->current());
  EXPECT_EQ(empty->toJson(), src.toJson());

  NegotiatedToken t = fakeToken(12);
  src.install(t, kT0);
  src.onHeartbeat(HeartbeatState::TokenReady, kT0 + 15);
  src.onHandshakeFailure(kT0 + kDay);
  src.onHandshakeFailure(kT0 + kDay + 1);
  auto back = SourceTokens::fromJson(src.toJson());
  ASSERT_TRUE(back) << back.error();
  ASSERT_TRUE(back->current());
  EXPECT_EQ(back->current()->token, t.token);
  EXPECT_EQ(back->current()->revision, 12);
  EXPECT_EQ(back->current()->expirationTime, t.expirationTime);
  EXPECT_EQ(back->installedAt(), kT0);
  EXPECT_EQ(back->confirmedAt(), kT0 + 15);
  EXPECT_EQ(back->retryAt(), src.retryAt());
  EXPECT_EQ(back->toJson(), src.toJson());
  back->onHandshakeFailure(kT0 + kDay + 3);  // the failure count survived too: 4 s now
  EXPECT_EQ(back->retryAt(), kT0 + kDay + 3 + 4);

  // A rotation settling across a restart still sends the previous token, then settles.
  NegotiatedToken next = fakeToken(13);
  src.install(t, kT0);  // the failures above ended with a token: a clean start
  src.onHeartbeat(HeartbeatState::TokenReady, kT0 + 15);
  src.install(next, kT0 + kDay + 10, true);
  auto settling = SourceTokens::fromJson(src.toJson());
  ASSERT_TRUE(settling) << settling.error();
  EXPECT_EQ(settling->sending()->token, t.token);
  EXPECT_EQ(settling->current()->token, next.token);
  EXPECT_EQ(settling->toJson(), src.toJson());
  EXPECT_TRUE(settling->settle(kT0 + kDay + 10 + SourceTokens::kSettleSeconds));
  EXPECT_EQ(settling->sending()->token, next.token);
}

TEST(RouteTokensJson, DestinationRoundTrips) {
  DestinationTokens dst;
  dst.install(fakeToken(4), kT0);
  dst.install(fakeToken(5), kT0 + 10);
  ASSERT_EQ(dst.onHeartbeat("5", kT0 + 20, dst.accepted()[1].token), HeartbeatState::TokenReady);
  EXPECT_EQ(dst.usedCount(), 1u);
  auto back = DestinationTokens::fromJson(dst.toJson());
  ASSERT_TRUE(back) << back.error();
  EXPECT_EQ(accepted(*back), accepted(dst));
  EXPECT_EQ(back->accepted()[0].expirationTime, dst.accepted()[0].expirationTime);
  EXPECT_EQ(back->lastHeartbeatAt(), kT0 + 20);
  EXPECT_EQ(back->toJson(), dst.toJson());
  // What is in use, and since when, survived: the grace period ends on schedule after a
  // restart, and a handshake still cannot displace revision 5.
  EXPECT_EQ(back->usedCount(), 1u);
  EXPECT_EQ(back->issuedRevision(), 5);
  EXPECT_TRUE(back->newestSettled());
  EXPECT_TRUE(back->expire(kT0 + 20 + DestinationTokens::kGraceSeconds));
}

TEST(RouteTokensJson, GarbageIsRejected) {
  const std::string token = certs::base64Encode(std::string(32, 'k'));
  const std::string shortToken = certs::base64Encode(std::string(16, 'k'));
  auto tok = [](const std::string& t, int rev) {
    return R"({"token":")" + t + R"(","revision":)" + std::to_string(rev) +
           R"(,"expirationTime":1})";
  };
  const std::string tail = R"(,"installedAt":1,"confirmedAt":0,"retryAt":0,"failures":0})";
  const std::string sources[] = {
      "", "{", "[]", "null", R"({})",
      R"({"installedAt":"1","confirmedAt":0,"retryAt":0,"failures":0})",
      R"({"installedAt":-1,"confirmedAt":0,"retryAt":0,"failures":0})",
      R"({"current":5)" + tail,
      R"({"current":)" + tok(shortToken, 1) + tail,
      R"({"current":)" + tok("%%%", 1) + tail,
      R"({"current":)" + tok(token, 0) + tail,
      R"({"previous":)" + tok(token, 1) + tail,
      R"({"current":)" + tok(token, 2) + R"(,"previous":7)" + tail,
  };
  for (const std::string& s : sources) {
    auto r = SourceTokens::fromJson(s);
    EXPECT_FALSE(r) << s;
    if (!r) {
      EXPECT_FALSE(r.error().empty());
      EXPECT_EQ(r.error().find(shortToken), std::string::npos);
    }
  }
  EXPECT_TRUE(SourceTokens::fromJson(R"({"current":)" + tok(token, 1) + tail));

  const std::string dtail = R"(],"confirmedAt":0,"lastHeartbeat":0})";
  std::string tooMany = tok(token, 1);  // one more than DestinationTokens::kMaxHeld
  for (size_t r = 2; r <= DestinationTokens::kMaxHeld + 1; ++r) tooMany += "," + tok(token, int(r));
  const std::string dests[] = {
      "",
      "{}",
      R"({"tokens":{}})",
      R"({"tokens":[)" + tooMany + dtail,
      R"({"tokens":[)" + tok(token, 2) + "," + tok(token, 1) + dtail,
      R"({"tokens":[)" + tok(shortToken, 1) + dtail,
      R"({"tokens":[],"confirmedAt":0})",
      R"({"tokens":[)" + tok(token, 3) +
          R"(],"confirmedAt":0,"lastHeartbeat":0,"issuedRevision":2})",
      R"({"tokens":[{"token":")" + token +
          R"(","revision":1,"expirationTime":1,"usedAt":-1}],"confirmedAt":0,"lastHeartbeat":0})",
      R"({"tokens":[],"confirmedAt":0,"lastHeartbeat":0,"signer":5,"signedRequestTime":1})",
      R"({"tokens":[],"confirmedAt":0,"lastHeartbeat":0,"signer":"K"})",
      R"({"tokens":[],"confirmedAt":0,"lastHeartbeat":0,"signer":"","signedRequestTime":1})",
  };
  for (const std::string& s : dests) EXPECT_FALSE(DestinationTokens::fromJson(s)) << s;
  // A file from before use was tracked reads as "none in use yet", issued up to its newest.
  auto old =
      DestinationTokens::fromJson(R"({"tokens":[)" + tok(token, 1) + "," + tok(token, 2) + dtail);
  ASSERT_TRUE(old) << old.error();
  EXPECT_EQ(old->usedCount(), 0u);
  EXPECT_EQ(old->issuedRevision(), 2);
  // The few commits' format that kept the revision in use at the top level.
  auto mid = DestinationTokens::fromJson(
      R"({"tokens":[)" + tok(token, 1) + "," + tok(token, 2) +
      R"(],"confirmedAt":0,"lastHeartbeat":0,"usedRevision":1,"usedAt":7})");
  ASSERT_TRUE(mid) << mid.error();
  ASSERT_EQ(mid->usedCount(), 1u);
  EXPECT_EQ(mid->held()[0].usedAt, 7);
  // Two tokens under one revision (a retry) are fine.
  EXPECT_TRUE(
      DestinationTokens::fromJson(R"({"tokens":[)" + tok(token, 2) + "," + tok(token, 2) + dtail));
}

}  // namespace
}  // namespace kgate::auth
