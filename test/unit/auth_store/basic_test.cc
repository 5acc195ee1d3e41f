// Every store: the plain calls (domains, tokens, certificates) and what survives a reopen.
#include "store_fixture.h"

namespace kgate::auth::testing {
namespace {

TEST(TokenStateToString, NamesEveryState) {
  EXPECT_EQ(toString(TokenState::Unused), "unused");
  EXPECT_EQ(toString(TokenState::Used), "used");
  EXPECT_EQ(toString(TokenState::Expired), "expired");
}

TEST_P(StoreTest, AddDomainStoresTheDomainAndItsFirstUnusedToken) {
  auto store = open();
  ASSERT_TRUE(store);
  auto added = store->addDomain(lite("alice", 100, 3600), token("T1", "alice", 100, 3700));
  ASSERT_TRUE(added.ok()) << added.error.message;
  EXPECT_EQ(str(*added.value), "alice|lite||100|0|3600");

  auto got = store->getDomain("alice");
  ASSERT_TRUE(got.ok()) << got.error.message;
  EXPECT_EQ(str(*got.value), "alice|lite||100|0|3600");

  auto tokens = store->listTokens("alice", 200);
  ASSERT_TRUE(tokens.ok()) << tokens.error.message;
  ASSERT_EQ(tokens.value->size(), 1u);
  EXPECT_EQ(str(tokens.value->at(0)), "T1|alice|unused|100|0|3700");
}

TEST_P(StoreTest, AddDomainTwiceIsAConflictAndChangesNothing) {
  auto store = open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->addDomain(lite("alice"), token("T1", "alice")).ok());
  std::string before = snapshot();

  DomainRecord other{"alice", "master", "PEM", 555, 556, 7};
  auto again = store->addDomain(other, token("T2", "alice"));
  EXPECT_EQ(again.error.kind, StoreErrorKind::Conflict);
  EXPECT_EQ(again.error.message, "domain alice already exists");
  EXPECT_FALSE(again.value.has_value());
  EXPECT_EQ(snapshot(), before);  // in particular T2 was not inserted
}

TEST_P(StoreTest, AddDomainWhoseTokenIsTakenIsAConflictWithoutTheTokenInTheMessage) {
  auto store = open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->addDomain(lite("alice"), token("SecretTok1", "alice")).ok());
  std::string before = snapshot();
  auto r = store->addDomain(lite("bob"), token("SecretTok1", "bob"));
  EXPECT_EQ(r.error.kind, StoreErrorKind::Conflict);
  EXPECT_EQ(r.error.message.find("SecretTok1"), std::string::npos) << r.error.message;
  EXPECT_EQ(snapshot(), before);  // bob's row went with the failed transaction
  EXPECT_EQ(store->getDomain("bob").error.kind, StoreErrorKind::NotFound);
}

TEST_P(StoreTest, FirstTokenNamingAnotherDomainIsRefused) {
  auto store = open();
  ASSERT_TRUE(store);
  auto r = store->addDomain(lite("alice"), token("T1", "bob"));
  EXPECT_EQ(r.error.kind, StoreErrorKind::Conflict);
  EXPECT_EQ(store->getDomain("alice").error.kind, StoreErrorKind::NotFound);
  // An empty domain in the token means "this domain".
  EXPECT_TRUE(store->addDomain(lite("alice"), token("T1", "")).ok());
  EXPECT_EQ(store->listTokens("alice", 0).value->at(0).domain, "alice");
}

TEST_P(StoreTest, GetUnknownDomainIsNotFound) {
  auto store = open();
  ASSERT_TRUE(store);
  auto r = store->getDomain("nobody");
  EXPECT_EQ(r.error.kind, StoreErrorKind::NotFound);
  EXPECT_EQ(r.error.message, "domain nobody does not exist");
  EXPECT_EQ(store->listTokens("nobody", 0).error.kind, StoreErrorKind::NotFound);
}

TEST_P(StoreTest, ListDomainsInCreationOrder) {
  auto store = open();
  ASSERT_TRUE(store);
  EXPECT_TRUE(store->listDomains().value->empty());
  ASSERT_TRUE(store->addDomain(lite("carol", 300), token("T3", "carol")).ok());
  ASSERT_TRUE(store->addDomain(lite("alice", 100), token("T1", "alice")).ok());
  ASSERT_TRUE(store->addDomain(lite("bob", 300), token("T2", "bob")).ok());
  auto all = store->listDomains();
  ASSERT_TRUE(all.ok()) << all.error.message;
  ASSERT_EQ(all.value->size(), 3u);
  EXPECT_EQ(all.value->at(0).id, "alice");
  EXPECT_EQ(all.value->at(1).id, "carol");  // same createdAt as bob: insertion order
  EXPECT_EQ(all.value->at(2).id, "bob");
}

TEST_P(StoreTest, AddTokenToUnknownDomainIsNotFound) {
  auto store = open();
  ASSERT_TRUE(store);
  auto r = store->addToken(token("T1", "nobody"));
  EXPECT_EQ(r.error.kind, StoreErrorKind::NotFound);
  EXPECT_EQ(r.error.message, "domain nobody does not exist");
  EXPECT_EQ(snapshot(), "");
}

TEST_P(StoreTest, AddTokenStoresItUnusedAndRefusesADuplicate) {
  auto store = open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->addDomain(lite("alice"), token("T1", "alice")).ok());
  DeployToken t = token("SecretTok2", "alice", 150, 900);
  t.state = TokenState::Used;  // ignored: a new token is unused
  t.usedAt = 140;
  auto added = store->addToken(t);
  ASSERT_TRUE(added.ok()) << added.error.message;
  EXPECT_EQ(str(*added.value), "SecretTok2|alice|unused|150|0|900");

  std::string before = snapshot();
  auto dup = store->addToken(token("SecretTok2", "alice"));
  EXPECT_EQ(dup.error.kind, StoreErrorKind::Conflict);
  EXPECT_EQ(dup.error.message.find("SecretTok2"), std::string::npos) << dup.error.message;
  EXPECT_EQ(snapshot(), before);
}

TEST_P(StoreTest, ListTokensOldestFirstWithExpiredDerivedFromNow) {
  auto store = open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->addDomain(lite("alice"), token("T30", "alice", 30, 0)).ok());
  ASSERT_TRUE(store->addToken(token("T10", "alice", 10, 50)).ok());
  ASSERT_TRUE(store->addToken(token("T20b", "alice", 20, 100)).ok());
  ASSERT_TRUE(store->addToken(token("T20a", "alice", 20, 49)).ok());

  auto at49 = store->listTokens("alice", 49);
  ASSERT_TRUE(at49.ok()) << at49.error.message;
  ASSERT_EQ(at49.value->size(), 4u);
  EXPECT_EQ(str(at49.value->at(0)), "T10|alice|unused|10|0|50");
  EXPECT_EQ(str(at49.value->at(1)), "T20b|alice|unused|20|0|100");  // tie: insertion order
  EXPECT_EQ(str(at49.value->at(2)), "T20a|alice|expired|20|0|49");  // expiresAt <= now
  EXPECT_EQ(str(at49.value->at(3)), "T30|alice|unused|30|0|0");     // 0 = never expires

  auto at1000 = store->listTokens("alice", 1000);
  ASSERT_TRUE(at1000.ok());
  EXPECT_EQ(at1000.value->at(0).state, TokenState::Expired);
  EXPECT_EQ(at1000.value->at(1).state, TokenState::Expired);
  EXPECT_EQ(at1000.value->at(3).state, TokenState::Unused);
  // Deriving does not write: the stored state is still "unused".
  EXPECT_EQ(query("SELECT DISTINCT state FROM deploy_tokens"), "unused\n");
}

TEST_P(StoreTest, UsedTokensStayUsedAfterTheirExpiry) {
  auto store = open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->addDomain(lite("alice"), token("T1", "alice", 100, 200)).ok());
  auto c = store->consumeDeployToken("alice", "T1", "PEM", token("T2", "alice", 150), 150);
  ASSERT_EQ(c.value, ConsumeOutcome::Consumed);
  auto tokens = store->listTokens("alice", 10000);
  EXPECT_EQ(str(tokens.value->at(0)), "T1|alice|used|100|150|200");
}

TEST_P(StoreTest, SetCertificateReplacesItAndItsTime) {
  auto store = open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->addDomain(lite("alice"), token("T1", "alice")).ok());
  auto r = store->setCertificate("alice", "PEM-1", 500);
  ASSERT_TRUE(r.ok()) << r.error.message;
  EXPECT_EQ(str(*store->getDomain("alice").value), "alice|lite|PEM-1|100|500|0");
  ASSERT_TRUE(store->setCertificate("alice", "PEM-2", 600).ok());
  EXPECT_EQ(str(*store->getDomain("alice").value), "alice|lite|PEM-2|100|600|0");

  auto unknown = store->setCertificate("nobody", "PEM", 700);
  EXPECT_EQ(unknown.error.kind, StoreErrorKind::NotFound);
  EXPECT_EQ(unknown.error.message, "domain nobody does not exist");
}

TEST_P(StoreTest, EverythingSurvivesCloseAndReopen) {
  {
    auto store = open();
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->addDomain({"master", "master", "MPEM", 10, 11, 0},
                                 token("M1", "master", 10)).ok());
    ASSERT_TRUE(store->addDomain(lite("alice", 100, 3600), token("A1", "alice", 100, 3700)).ok());
    ASSERT_EQ(store->consumeDeployToken("alice", "A1", "APEM", token("A2", "alice", 200, 3800),
                                        200).value,
              ConsumeOutcome::Consumed);
    ASSERT_TRUE(store->addToken(token("A3", "alice", 300, 310)).ok());
  }
  auto store = open();
  ASSERT_TRUE(store);
  auto domains = store->listDomains();
  ASSERT_TRUE(domains.ok());
  ASSERT_EQ(domains.value->size(), 2u);
  EXPECT_EQ(str(domains.value->at(0)), "master|master|MPEM|10|11|0");
  EXPECT_EQ(str(domains.value->at(1)), "alice|lite|APEM|100|200|3600");
  auto tokens = store->listTokens("alice", 400);
  ASSERT_TRUE(tokens.ok());
  ASSERT_EQ(tokens.value->size(), 3u);
  EXPECT_EQ(str(tokens.value->at(0)), "A1|alice|used|100|200|3700");
  EXPECT_EQ(str(tokens.value->at(1)), "A2|alice|unused|200|0|3800");
  EXPECT_EQ(str(tokens.value->at(2)), "A3|alice|expired|300|0|310");
  EXPECT_EQ(str(store->listTokens("master", 400).value->at(0)), "M1|master|unused|10|0|0");
}

TEST_P(StoreTest, TheFirstCaStoredIsTheOneEveryoneGets) {
  auto store = open();
  ASSERT_TRUE(store);
  EXPECT_EQ(store->getCa().error.kind, StoreErrorKind::NotFound);
  auto first = store->putCaIfAbsent({"CERT-A", "KEY-A", 10});
  ASSERT_TRUE(first.ok()) << first.error.message;
  EXPECT_EQ(first.value->certPem, "CERT-A");
  auto second = open()->putCaIfAbsent({"CERT-B", "KEY-B", 20});  // another master, later
  ASSERT_TRUE(second.ok()) << second.error.message;
  EXPECT_EQ(second.value->certPem, "CERT-A");
  EXPECT_EQ(second.value->keyPem, "KEY-A");
  EXPECT_EQ(second.value->createdAt, 10);
  auto got = open()->getCa();
  ASSERT_TRUE(got.ok()) << got.error.message;
  EXPECT_EQ(got.value->keyPem, "KEY-A");
}

KGATE_ON_EVERY_STORE(StoreTest);

}  // namespace
}  // namespace kgate::auth::testing
