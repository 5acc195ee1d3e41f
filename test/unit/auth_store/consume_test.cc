// consumeDeployToken on every store: the one path that applies, and every refusal leaving the
// database exactly as it was.
#include "store_fixture.h"

namespace kgate::auth::testing {
namespace {

class ConsumeTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    store_ = open();
    ASSERT_TRUE(store_);
    ASSERT_TRUE(store_->addDomain(lite("alice", 100, 600), token("AliceTok1", "alice", 100, 700))
                    .ok());
    ASSERT_TRUE(store_->addDomain(lite("bob", 100), token("BobTok1", "bob", 100)).ok());
  }

  StoreResult<ConsumeOutcome> consume(const std::string& domain, const std::string& tok,
                                      int64_t now, const std::string& next = "AliceTok2") {
    return store_->consumeDeployToken(domain, tok, "ALICE-PEM", token(next, domain, now, now + 600),
                                      now);
  }

  // A refusal: the outcome is a value (not an error) and nothing changed.
  void expectRefused(const std::string& domain, const std::string& tok, int64_t now,
                     ConsumeOutcome want) {
    std::string before = snapshot();
    auto r = consume(domain, tok, now);
    ASSERT_TRUE(r.ok()) << r.error.message;
    EXPECT_EQ(*r.value, want);
    EXPECT_EQ(snapshot(), before);
  }

  std::shared_ptr<Store> store_;
};

TEST_P(ConsumeTest, ConsumedMarksUsedStoresCertAndInsertsTheNewToken) {
  auto r = consume("alice", "AliceTok1", 250);
  ASSERT_TRUE(r.ok()) << r.error.message;
  EXPECT_EQ(*r.value, ConsumeOutcome::Consumed);

  EXPECT_EQ(str(*store_->getDomain("alice").value), "alice|lite|ALICE-PEM|100|250|600");
  auto tokens = store_->listTokens("alice", 250);
  ASSERT_TRUE(tokens.ok());
  ASSERT_EQ(tokens.value->size(), 2u);
  EXPECT_EQ(str(tokens.value->at(0)), "AliceTok1|alice|used|100|250|700");
  EXPECT_EQ(str(tokens.value->at(1)), "AliceTok2|alice|unused|250|0|850");
  // Bob is untouched.
  EXPECT_EQ(str(*store_->getDomain("bob").value), "bob|lite||100|0|0");
}

TEST_P(ConsumeTest, WrongTokenIsUnknown) {
  expectRefused("alice", "AliceTok9", 250, ConsumeOutcome::UnknownToken);
  expectRefused("alice", "", 250, ConsumeOutcome::UnknownToken);
  expectRefused("alice", "AliceTok1 ", 250, ConsumeOutcome::UnknownToken);
}

TEST_P(ConsumeTest, AnotherDomainsTokenIsUnknown) {
  expectRefused("alice", "BobTok1", 250, ConsumeOutcome::UnknownToken);
  expectRefused("carol", "AliceTok1", 250, ConsumeOutcome::UnknownToken);  // no such domain
}

TEST_P(ConsumeTest, ASecondUseIsAlreadyUsed) {
  ASSERT_EQ(*consume("alice", "AliceTok1", 250).value, ConsumeOutcome::Consumed);
  expectRefused("alice", "AliceTok1", 260, ConsumeOutcome::AlreadyUsed);
  expectRefused("alice", "AliceTok1", 100000, ConsumeOutcome::AlreadyUsed);  // used wins
}

TEST_P(ConsumeTest, PastItsExpiryIsExpired) {
  expectRefused("alice", "AliceTok1", 700, ConsumeOutcome::Expired);  // expiresAt <= now
  expectRefused("alice", "AliceTok1", 5000, ConsumeOutcome::Expired);
  EXPECT_EQ(*consume("alice", "AliceTok1", 699).value, ConsumeOutcome::Consumed);
}

TEST_P(ConsumeTest, ATokenWithoutExpiryNeverExpires) {
  auto r = store_->consumeDeployToken("bob", "BobTok1", "PEM", token("BobTok2", "bob"),
                                      int64_t{1} << 40);
  EXPECT_EQ(*r.value, ConsumeOutcome::Consumed);
}

TEST_P(ConsumeTest, ACollidingNewTokenFailsTheWholeCallAndKeepsTheOldTokenUnused) {
  std::string before = snapshot();
  auto r = consume("alice", "AliceTok1", 250, /*next=*/"BobTok1");
  EXPECT_EQ(r.error.kind, StoreErrorKind::Conflict);
  EXPECT_EQ(r.error.message.find("BobTok1"), std::string::npos) << r.error.message;
  EXPECT_EQ(r.error.message.find("AliceTok1"), std::string::npos) << r.error.message;
  EXPECT_EQ(snapshot(), before);
  EXPECT_EQ(*consume("alice", "AliceTok1", 250).value, ConsumeOutcome::Consumed);
}

TEST_P(ConsumeTest, ANewTokenNamingAnotherDomainIsRefused) {
  std::string before = snapshot();
  auto r = store_->consumeDeployToken("alice", "AliceTok1", "PEM", token("X", "bob"), 250);
  EXPECT_EQ(r.error.kind, StoreErrorKind::Conflict);
  EXPECT_EQ(snapshot(), before);
}

KGATE_ON_EVERY_STORE(ConsumeTest);

}  // namespace
}  // namespace kgate::auth::testing
