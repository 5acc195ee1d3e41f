#include "auth/token_set.h"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <memory>
#include <string>
#include <vector>

namespace kgate::auth {
namespace {

TokenSet makeSet() {
  TokenSet s;
  s.set("bob", {"TOLD", "TNEW"});
  s.set("dave", {"noop"});
  return s;
}

TEST(TokenSetCheck, EmptySourceIsNoSource) {
  TokenSet s = makeSet();
  EXPECT_EQ(s.check("", "TNEW"), AuthResult::NoSource);
  EXPECT_EQ(s.check("", ""), AuthResult::NoSource);
}

TEST(TokenSetCheck, UnconfiguredSourceIsUnknownEvenWithAValidToken) {
  TokenSet s = makeSet();
  EXPECT_EQ(s.check("carol", "TNEW"), AuthResult::UnknownSource);
  EXPECT_EQ(s.check("carol", ""), AuthResult::UnknownSource);
}

TEST(TokenSetCheck, SourceMatchIsExactAndCaseSensitive) {
  TokenSet s = makeSet();
  EXPECT_EQ(s.check("Bob", "TNEW"), AuthResult::UnknownSource);
  EXPECT_EQ(s.check("bob ", "TNEW"), AuthResult::UnknownSource);
  EXPECT_EQ(s.check("bo", "TNEW"), AuthResult::UnknownSource);
}

TEST(TokenSetCheck, KnownSourceWithoutTokenIsNoToken) {
  TokenSet s = makeSet();
  EXPECT_EQ(s.check("bob", ""), AuthResult::NoToken);
}

TEST(TokenSetCheck, WrongTokenIsMismatch) {
  TokenSet s = makeSet();
  EXPECT_EQ(s.check("bob", "wrong"), AuthResult::TokenMismatch);
  EXPECT_EQ(s.check("bob", "tnew"), AuthResult::TokenMismatch);  // case-sensitive
  EXPECT_EQ(s.check("bob", "TNEW "), AuthResult::TokenMismatch);
  EXPECT_EQ(s.check("bob", "TNE"), AuthResult::TokenMismatch);   // prefix
  EXPECT_EQ(s.check("bob", "TNEWX"), AuthResult::TokenMismatch); // extension
  EXPECT_EQ(s.check("bob", "noop"), AuthResult::TokenMismatch);  // noop is not a wildcard token
}

TEST(TokenSetCheck, EitherRotationTokenIsAccepted) {
  TokenSet s = makeSet();
  EXPECT_EQ(s.check("bob", "TOLD"), AuthResult::Ok);
  EXPECT_EQ(s.check("bob", "TNEW"), AuthResult::Ok);
}

// How the destination learns which token a source holds: a request that carries one marks it.
TEST(TokenSetCheck, AMatchMarksThatTokenAsUsed) {
  TokenSet s;
  auto older = std::make_shared<std::atomic<bool>>(false);
  auto newer = std::make_shared<std::atomic<bool>>(false);
  s.set("bob", {"TOLD", "TNEW"}, {4, 5}, {older, newer});
  s.set("carol", {"TSTATIC"});  // from the config: nothing to mark
  EXPECT_EQ(s.check("bob", "TWRONG"), AuthResult::TokenMismatch);
  EXPECT_FALSE(*older || *newer);
  EXPECT_EQ(s.check("bob", "TNEW"), AuthResult::Ok);
  EXPECT_FALSE(*older);
  EXPECT_TRUE(*newer);
  EXPECT_EQ(s.check("bob", "TOLD"), AuthResult::Ok);
  EXPECT_TRUE(*older);
  EXPECT_EQ(s.check("carol", "TSTATIC"), AuthResult::Ok);
}

TEST(TokenSetCheck, NoopAcceptsAnyTokenIncludingNone) {
  TokenSet s = makeSet();
  EXPECT_EQ(s.check("dave", ""), AuthResult::Ok);
  EXPECT_EQ(s.check("dave", "anything"), AuthResult::Ok);
  EXPECT_EQ(s.check("dave", "TNEW"), AuthResult::Ok);
}

TEST(TokenSetCheck, NoopStillNeedsAKnownSource) {
  TokenSet s = makeSet();
  EXPECT_EQ(s.check("", ""), AuthResult::NoSource);
  EXPECT_EQ(s.check("erin", ""), AuthResult::UnknownSource);
}

TEST(TokenSetCheck, NoopAlongsideARealTokenStillAcceptsAnything) {
  TokenSet s;
  s.set("frank", {"REAL", "noop"});
  EXPECT_EQ(s.check("frank", "REAL"), AuthResult::Ok);
  EXPECT_EQ(s.check("frank", "other"), AuthResult::Ok);
  EXPECT_EQ(s.check("frank", ""), AuthResult::Ok);
  ASSERT_NE(s.find("frank"), nullptr);
  EXPECT_TRUE(s.find("frank")->acceptAny);
}

TEST(TokenSetCheck, TokensOfDifferentLengths) {
  TokenSet s;
  const std::string longToken(200, 'x');
  const std::string b64 = "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=";  // 44 chars, like RSA-GEN
  s.set("bob", {"a", longToken});
  s.set("carol", {b64});
  EXPECT_EQ(s.check("bob", "a"), AuthResult::Ok);
  EXPECT_EQ(s.check("bob", longToken), AuthResult::Ok);
  EXPECT_EQ(s.check("bob", longToken.substr(1)), AuthResult::TokenMismatch);
  EXPECT_EQ(s.check("bob", longToken + "x"), AuthResult::TokenMismatch);
  EXPECT_EQ(s.check("bob", "aa"), AuthResult::TokenMismatch);
  EXPECT_EQ(s.check("carol", b64), AuthResult::Ok);
  EXPECT_EQ(s.check("carol", b64.substr(0, 43)), AuthResult::TokenMismatch);
}

TEST(TokenSetCheck, TokenWithEmbeddedNulIsComparedWhole) {
  TokenSet s;
  const std::string withNul("ab\0cd", 5);
  s.set("bob", {withNul});
  EXPECT_EQ(s.check("bob", withNul), AuthResult::Ok);
  EXPECT_EQ(s.check("bob", "ab"), AuthResult::TokenMismatch);
}

TEST(TokenSetCheck, SourceWithNoTokensRejectsEverything) {
  TokenSet s;
  s.set("bob", {});
  EXPECT_TRUE(s.hasSource("bob"));
  EXPECT_EQ(s.check("bob", ""), AuthResult::NoToken);
  EXPECT_EQ(s.check("bob", "x"), AuthResult::TokenMismatch);
}

TEST(TokenSetCheck, EmptySetRejectsEverySource) {
  TokenSet s;
  EXPECT_EQ(s.check("bob", "TNEW"), AuthResult::UnknownSource);
  EXPECT_FALSE(s.hasSource("bob"));
}

TEST(TokenSetEntries, RevisionsDefaultToOneToN) {
  TokenSet s;
  s.set("bob", {"T1", "T2", "T3"});
  const TokenSet::Entry* e = s.find("bob");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->revisions, (std::vector<int>{1, 2, 3}));
  ASSERT_EQ(e->digests.size(), 3u);
  EXPECT_EQ(e->digests[0], digestOf("T1"));  // oldest first
  EXPECT_EQ(e->digests[2], digestOf("T3"));
  EXPECT_FALSE(e->acceptAny);
}

TEST(TokenSetEntries, ExplicitRevisionsAreKeptInOrder) {
  TokenSet s;
  s.set("bob", {"TOLD", "TNEW"}, {41, 42});
  const TokenSet::Entry* e = s.find("bob");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->revisions, (std::vector<int>{41, 42}));
}

TEST(TokenSetEntries, SetReplacesThePreviousEntry) {
  TokenSet s = makeSet();
  s.set("bob", {"TNEWER"});
  EXPECT_EQ(s.check("bob", "TNEWER"), AuthResult::Ok);
  EXPECT_EQ(s.check("bob", "TOLD"), AuthResult::TokenMismatch);
  EXPECT_EQ(s.check("bob", "TNEW"), AuthResult::TokenMismatch);
  EXPECT_EQ(s.find("bob")->revisions, (std::vector<int>{1}));
  // Replacing noop by a real token removes the wildcard.
  s.set("dave", {"TD"});
  EXPECT_EQ(s.check("dave", ""), AuthResult::NoToken);
  EXPECT_EQ(s.check("dave", "x"), AuthResult::TokenMismatch);
  EXPECT_EQ(s.check("dave", "TD"), AuthResult::Ok);
  // Other sources are untouched.
  EXPECT_TRUE(s.hasSource("bob"));
}

TEST(TokenSetEntries, FindAndHasSource) {
  TokenSet s = makeSet();
  EXPECT_TRUE(s.hasSource("bob"));
  EXPECT_TRUE(s.hasSource("dave"));
  EXPECT_FALSE(s.hasSource("carol"));
  EXPECT_EQ(s.find("carol"), nullptr);
  ASSERT_NE(s.find("dave"), nullptr);
  EXPECT_TRUE(s.find("dave")->acceptAny);
}

TEST(TokenSetEntries, FromConfig) {
  conf::Config c;
  c.tokens["bob"] = {"TOLD", "TNEW"};
  c.tokens["dave"] = {"noop"};
  auto s = TokenSet::fromConfig(c);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->check("bob", "TOLD"), AuthResult::Ok);
  EXPECT_EQ(s->check("bob", "TNEW"), AuthResult::Ok);
  EXPECT_EQ(s->check("bob", "X"), AuthResult::TokenMismatch);
  EXPECT_EQ(s->check("dave", ""), AuthResult::Ok);
  EXPECT_EQ(s->check("carol", "TNEW"), AuthResult::UnknownSource);
  EXPECT_EQ(s->find("bob")->revisions, (std::vector<int>{1, 2}));
}

TEST(TokenSetDigest, IsSha256) {
  // SHA-256("abc")
  const unsigned char expected[32] = {
      0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
      0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
  TokenSet::Digest d = digestOf("abc");
  EXPECT_TRUE(std::equal(d.begin(), d.end(), expected));
  EXPECT_NE(digestOf("abc"), digestOf("abd"));
}

// A connection's memo only saves hashing: every answer is the one check() gives without it, for
// any order of tokens on the connection, and each token's digest is its own.
TEST(TokenMemo, GivesEachTokenItsOwnDigestWhateverCameBefore) {
  const std::string longToken(100, 'x');
  const std::vector<std::string> tokens = {
      "TNEW", "TNEW", "TOLD", "TNEW", "", "abc", std::string("abc\0", 4), "abc",
      std::string(64, 'y'), std::string(65, 'y'), longToken, longToken, "TNEW"};
  TokenMemo memo;
  for (const auto& t : tokens) EXPECT_EQ(memo.digestOf(t), digestOf(t)) << t.size();
}

TEST(TokenMemo, CheckWithAMemoAnswersAsWithout) {
  TokenSet s = makeSet();
  TokenMemo memo;
  for (std::string_view t : {"TNEW", "TNEW", "WRONG", "TNEW", "TNE", "TNEWX", "TOLD", "", "TOLD"})
    EXPECT_EQ(s.check("bob", t, {}, &memo), s.check("bob", t)) << t;
  // The memo holds what was presented, not what was accepted: another source gains nothing.
  s.set("erin", {"TERIN"});
  EXPECT_EQ(s.check("bob", "TERIN", {}, &memo), AuthResult::TokenMismatch);
  EXPECT_EQ(s.check("erin", "TERIN", {}, &memo), AuthResult::Ok);
  EXPECT_EQ(s.check("bob", "TERIN", {}, &memo), AuthResult::TokenMismatch);
}

// Every byte counts, wherever it sits in its eight-byte word, and equal arrays are equal.
TEST(EqualInConstantTime, TellsApartArraysThatDifferInAnyOneByte) {
  std::array<unsigned char, 24> a{};
  for (size_t i = 0; i < a.size(); ++i) a[i] = static_cast<unsigned char>(i * 7 + 1);
  auto b = a;
  EXPECT_TRUE(equalInConstantTime(a, b));
  for (size_t i = 0; i < a.size(); ++i) {
    for (unsigned char bit : {0x01, 0x80}) {
      b[i] ^= bit;
      EXPECT_FALSE(equalInConstantTime(a, b)) << i;
      b[i] ^= bit;
    }
  }
  EXPECT_TRUE(equalInConstantTime(std::array<unsigned char, 8>{}, std::array<unsigned char, 8>{}));
}

TEST(CauseOf, StableStrings) {
  EXPECT_EQ(causeOf(AuthResult::Ok), "ok");
  EXPECT_EQ(causeOf(AuthResult::NoSource), "no_source");
  EXPECT_EQ(causeOf(AuthResult::UnknownSource), "unknown_source");
  EXPECT_EQ(causeOf(AuthResult::NoToken), "no_token");
  EXPECT_EQ(causeOf(AuthResult::TokenMismatch), "token_mismatch");
}

}  // namespace
}  // namespace kgate::auth
