// Both ends of the RSA-GEN handshake: the destination's checks and messages (vectors 13-18 of
// controlplane.md section 10), revisions, expiration, and the source finishing the token.
#include <gtest/gtest.h>

#include "auth/handshake.h"
#include "certs/rsa_crypt.h"
#include "test/unit/auth_handshake/test_keys.h"

namespace kgate::auth {
namespace {

using testing::alice;
using testing::bob;
using testing::mallory;
using testing::pubPem;
using testing::publicOnly;

constexpr int64_t kNow = 1704067200LL * 1'000'000'000;  // 2024-01-01T00:00:00Z

DestinationRoute bobRoute(int64_t newest = 0, int64_t period = 86400) {
  return DestinationRoute{true, pubPem(alice()), period, newest};
}

SourceHandshake aliceStarts(int64_t revision = 1) {
  auto bobPub = publicOnly(bob());
  auto s = startHandshake("alice", pubPem(alice()), *bobPub, revision, kNow);
  EXPECT_TRUE(s) << s.error();
  return s ? *s : SourceHandshake{};
}

void expectRefused(const DestinationDecision& d, const std::string& message) {
  EXPECT_EQ(d.reply.code, 500);
  EXPECT_EQ(d.reply.message, message);
  EXPECT_FALSE(d.token.has_value());
  EXPECT_TRUE(d.reply.token.empty());
}

TEST(HandshakeStart, BuildsKusciaRequest) {
  SourceHandshake s = aliceStarts(5);
  EXPECT_EQ(s.secret.size(), 16u);
  EXPECT_EQ(s.request.domainId, "alice");
  EXPECT_EQ(s.request.type, "RSA");
  EXPECT_EQ(s.request.revision, 5);
  EXPECT_EQ(s.request.requestTime, kNow);
  EXPECT_EQ(s.request.pubhash, pubhash(pubPem(alice())));
  auto plain = certs::rsaDecryptPkcs1(bob(), *certs::base64Decode(s.request.token));
  ASSERT_TRUE(plain);
  EXPECT_EQ(*plain, "kuscia" + s.secret);
  EXPECT_NE(aliceStarts(5).secret, s.secret);  // fresh S every time
}

TEST(HandshakeAnswer, UnknownSource) {  // vector 13
  HandshakeRequest r = aliceStarts().request;
  r.domainId = "mallory";
  DestinationDecision d = answerHandshake(r, "bob", DestinationRoute{}, bob(), kNow);
  expectRefused(d, "domainRoute [mallory-bob] not found in dest domain [bob]");
  EXPECT_EQ(encodeHandshakeReply(d.reply),
            R"({"status":{"code":500,"message":"domainRoute [mallory-bob] not found in dest )"
            R"(domain [bob]"}})");
}

TEST(HandshakeAnswer, BadType) {  // vector 14; kgate does not implement the UID mode
  HandshakeRequest r = aliceStarts().request;
  for (const char* type : {"FOO", "UID", "", "rsa"}) {
    r.type = type;
    expectRefused(answerHandshake(r, "bob", bobRoute(), bob(), kNow),
                  std::string("invalid handshake type [") + type + "]");
  }
  // Unauthenticated text goes into the reply and the log: on one line.
  r.type = "RSA\nforged log line";
  expectRefused(answerHandshake(r, "bob", bobRoute(), bob(), kNow),
                "invalid handshake type [RSA?forged log line]");
}

TEST(HandshakeAnswer, SourceKeyMissingOrInvalid) {
  HandshakeRequest r = aliceStarts().request;
  DestinationRoute route = bobRoute();
  route.sourcePublicKeyPem = "";
  expectRefused(answerHandshake(r, "bob", route, bob(), kNow),
                "invalid source domain [alice] publickey in domainroute [alice-bob], error: "
                "public key is empty");
  route.sourcePublicKeyPem =
      "-----BEGIN RSA PUBLIC KEY-----\ngarbage\n-----END RSA PUBLIC KEY-----\n";
  DestinationDecision d = answerHandshake(r, "bob", route, bob(), kNow);
  EXPECT_EQ(d.reply.code, 500);
  EXPECT_EQ(d.reply.message.rfind(
                "invalid source domain [alice] publickey in domainroute [alice-bob], error: ", 0),
            0u)
      << d.reply.message;
  EXPECT_FALSE(d.token);
}

TEST(HandshakeAnswer, PubhashMismatch) {  // vector 15
  HandshakeRequest r = aliceStarts().request;
  r.pubhash = pubhash(pubPem(mallory()));
  expectRefused(answerHandshake(r, "bob", bobRoute(), bob(), kNow),
                "source domain [alice] publickey hash mismatch in domainroute [alice-bob]");
}

TEST(HandshakeAnswer, TokenForAnotherKey) {  // vector 16
  auto malloryPub = publicOnly(mallory());
  auto s = startHandshake("alice", pubPem(alice()), *malloryPub, 1, kNow);
  ASSERT_TRUE(s);
  DestinationDecision d = answerHandshake(s->request, "bob", bobRoute(), bob(), kNow);
  expectRefused(d, "dest domain [bob] publickey in source domain [alice] may be not correct");
  EXPECT_EQ(d.reply.message.find(s->request.token), std::string::npos);

  HandshakeRequest garbage = aliceStarts().request;
  garbage.token = "@@not base64@@";
  expectRefused(answerHandshake(garbage, "bob", bobRoute(), bob(), kNow),
                "dest domain [bob] publickey in source domain [alice] may be not correct");
}

TEST(HandshakeAnswer, MalformedBodyIsADecodeFailure) {  // vector 17
  EXPECT_FALSE(decodeHandshakeRequest(R"({"domain_id":"alice","type":"RSA",)"));
  EXPECT_FALSE(decodeHandshakeRequest("domain_id=alice"));
}

TEST(HandshakeAnswer, MissingTokenConfigIsAnErrorReply) {  // Kuscia panics here
  auto r = decodeHandshakeRequest(R"({"domain_id":"alice","type":"RSA","request_time":1})");
  ASSERT_TRUE(r) << r.error();
  DestinationDecision d = answerHandshake(*r, "bob", bobRoute(), bob(), kNow);
  EXPECT_EQ(d.reply.code, 500);
  EXPECT_NE(d.reply.message.find("token_config is missing"), std::string::npos)
      << d.reply.message;
  EXPECT_FALSE(d.token);
  EXPECT_EQ(encodeHandshakeReply(d.reply).find("\"token\""), std::string::npos);
}

TEST(HandshakeAnswer, SuccessOverTheWire) {  // vector 18
  SourceHandshake s = aliceStarts(1);
  auto req = decodeHandshakeRequest(encodeHandshakeRequest(s.request));
  ASSERT_TRUE(req) << req.error();
  DestinationDecision d = answerHandshake(*req, "bob", bobRoute(), bob(), kNow);
  ASSERT_EQ(d.reply.code, 0) << d.reply.message;
  ASSERT_TRUE(d.token);
  EXPECT_EQ(d.reply.revision, 1);
  EXPECT_EQ(d.token->revision, 1);

  std::string wire = encodeHandshakeReply(d.reply);
  EXPECT_EQ(wire.rfind(R"({"status":{},"token":{"token":")", 0), 0u) << wire;

  // The reply token is "kuscia" || D under alice's key; the installed token is S || D.
  auto plain = certs::rsaDecryptPkcs1(alice(), *certs::base64Decode(d.reply.token));
  ASSERT_TRUE(plain);
  ASSERT_EQ(plain->size(), 22u);
  EXPECT_EQ(plain->substr(0, 6), "kuscia");
  auto installed = certs::base64Decode(d.token->token);
  ASSERT_TRUE(installed);
  EXPECT_EQ(*installed, s.secret + plain->substr(6));

  auto reply = decodeHandshakeReply(wire);
  ASSERT_TRUE(reply) << reply.error();
  auto finished = finishHandshake(s, *reply, alice());
  ASSERT_TRUE(finished) << finished.error();
  EXPECT_EQ(finished->token, d.token->token);  // both ends hold the same Kuscia-Token
  EXPECT_EQ(finished->token.size(), 44u);
  EXPECT_EQ(finished->revision, 1);
  EXPECT_EQ(finished->expirationTime, d.token->expirationTime);
}

TEST(HandshakeAnswer, EachAnswerDrawsAFreshHalf) {
  HandshakeRequest r = aliceStarts().request;
  DestinationDecision a = answerHandshake(r, "bob", bobRoute(), bob(), kNow);
  DestinationDecision b = answerHandshake(r, "bob", bobRoute(), bob(), kNow);
  ASSERT_TRUE(a.token && b.token);
  EXPECT_NE(a.token->token, b.token->token);
  EXPECT_EQ(a.token->token.substr(0, 20), b.token->token.substr(0, 20));  // same S: 15 bytes
}

TEST(HandshakeAnswer, RevisionsDoNotBurnOnRetry) {
  struct Case {
    int64_t proposed, issued, want;
  };
  const Case cases[] = {
      {1, 0, 1},  // first kgate handshake
      {0, 0, 1},  // first Kuscia handshake (revision omitted)
      {4, 4, 4},  // retry of a revision whose reply was lost: same revision again
      {5, 4, 5},  // advance
      {9, 4, 5},  // a source ahead is not followed: a post could otherwise push revisions
      {9, 0, 1},  //   past int32 in one step
      {1, 4, 5},  // source lost its state: next revision
      {0, 4, 5},          {-3, 0, 1},
      {2147483647, 4, 5}, {int64_t{1} << 40, 4, 5},  // beyond what a Kuscia source can read (int32)
  };
  HandshakeRequest r = aliceStarts().request;
  for (const Case& c : cases) {
    r.revision = c.proposed;
    DestinationDecision d = answerHandshake(r, "bob", bobRoute(c.issued), bob(), kNow);
    ASSERT_TRUE(d.token) << d.reply.message;
    EXPECT_EQ(d.token->revision, c.want) << c.proposed << " vs " << c.issued;
    EXPECT_EQ(d.reply.revision, c.want);
  }
  // Revisions a Kuscia source can read are used up: refused, never wrapped.
  r.revision = 2147483647;
  DestinationRoute full = bobRoute(2147483647);
  full.newestSettled = true;
  expectRefused(answerHandshake(r, "bob", full, bob(), kNow),
                "token revisions of domainroute [alice-bob] are used up; delete and re-create "
                "the route");
}

TEST(HandshakeAnswer, AConfirmedRevisionIsNeverReplaced) {
  // A Kuscia source proposes the revision it already holds. Once it has used that revision
  // (a TokenReady heartbeat), the same number asks for the next one: replacing the bytes of a
  // revision the source keeps sending would make every request a 401.
  HandshakeRequest r = aliceStarts().request;
  r.revision = 4;
  DestinationRoute route = bobRoute(4);
  route.newestSettled = true;
  DestinationDecision d = answerHandshake(r, "bob", route, bob(), kNow);
  ASSERT_TRUE(d.token) << d.reply.message;
  EXPECT_EQ(d.token->revision, 5);
}

TEST(HandshakeSignature, OnlyTheSourcesKeyOverTheExactBodyVerifies) {
  const std::string body = encodeHandshakeRequest(aliceStarts().request);
  auto signature = signHandshake(alice(), "bob", body);
  ASSERT_TRUE(signature) << signature.error();
  auto alicePub = publicOnly(alice());
  auto bobPub = publicOnly(bob());
  EXPECT_TRUE(handshakeSignedBy(*alicePub, "bob", body, *signature));
  EXPECT_FALSE(handshakeSignedBy(*alicePub, "carol", body, *signature));  // another destination
  EXPECT_FALSE(handshakeSignedBy(*bobPub, "bob", body, *signature));
  EXPECT_FALSE(handshakeSignedBy(*alicePub, "bob", body + " ", *signature));
  EXPECT_FALSE(handshakeSignedBy(*alicePub, "bob", body, ""));
  EXPECT_FALSE(handshakeSignedBy(*alicePub, "bob", body, "%%%"));
  // Not a plain signature of the body: it means nothing outside a handshake.
  auto plain = certs::signSha256(alice(), body);
  ASSERT_TRUE(plain);
  EXPECT_FALSE(handshakeSignedBy(*alicePub, "bob", body, certs::base64Encode(*plain)));
}

TEST(HandshakeAnswer, Expiration) {  // vector 19
  HandshakeRequest r = aliceStarts().request;
  DestinationDecision daily = answerHandshake(r, "bob", bobRoute(0, 86400), bob(), kNow);
  ASSERT_TRUE(daily.token);
  EXPECT_EQ(daily.reply.expirationTime - kNow, 172800 * kNanos);

  DestinationDecision never = answerHandshake(r, "bob", bobRoute(0, 0), bob(), kNow);
  ASSERT_TRUE(never.token);
  EXPECT_EQ(never.reply.expirationTime, 4859740800LL * kNanos);  // 2124-01-01, Go's AddDate

  // Go normalizes Feb 29 of a non-leap year to Mar 1; sub-second time is kept.
  int64_t leap = 951825600LL * kNanos + 123;  // 2000-02-29T00:00:00.000000123Z
  DestinationDecision rolled = answerHandshake(r, "bob", bobRoute(0, 0), bob(), leap);
  EXPECT_EQ(rolled.reply.expirationTime, 4107585600LL * kNanos + 123);  // 2100-03-01

  DestinationDecision huge = answerHandshake(r, "bob", bobRoute(0, INT64_MAX / 2), bob(), kNow);
  ASSERT_TRUE(huge.token);
  EXPECT_GT(huge.reply.expirationTime, kNow);
}

TEST(HandshakeFinish, RefusedReply) {
  HandshakeReply reply;
  reply.code = 500;
  reply.message = "dest domain [bob] publickey in source domain [alice] may be not correct";
  auto r = finishHandshake(aliceStarts(), reply, alice());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), "handshake refused by the destination: " + reply.message);
}

TEST(HandshakeFinish, BadReplies) {
  SourceHandshake s = aliceStarts();
  DestinationDecision d = answerHandshake(s.request, "bob", bobRoute(), bob(), kNow);
  ASSERT_TRUE(d.token);

  HandshakeReply noToken = d.reply;
  noToken.token.clear();
  EXPECT_FALSE(finishHandshake(s, noToken, alice()));

  HandshakeReply noRevision = d.reply;
  noRevision.revision = 0;
  EXPECT_FALSE(finishHandshake(s, noRevision, alice()));

  // D encrypted to someone else's key: the source cannot build the token.
  auto r = finishHandshake(s, d.reply, mallory());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().find(d.reply.token), std::string::npos);

  HandshakeReply wrongLength = d.reply;
  wrongLength.token = *kusciaEncrypt(alice(), certs::randomBytes(32));
  EXPECT_FALSE(finishHandshake(s, wrongLength, alice()));
}

}  // namespace
}  // namespace kgate::auth
