// Authority's admin operations: domain add, domain token, domain list.
#include <gtest/gtest.h>

#include <regex>
#include <set>

#include "fakes.h"

namespace kgate::auth {
namespace {

namespace json = boost::json;
using testing::FakeStore;
using testing::str;

class AuthorityAdmin : public ::testing::Test {
 protected:
  int64_t now = 1'700'000'000;
  std::shared_ptr<FakeStore> store = std::make_shared<FakeStore>();
  Authority authority{store, testing::testKeys(), [this] { return now; }};

  json::object ok(const Reply& r) {
    EXPECT_EQ(r.status, 200) << r.message;
    EXPECT_TRUE(r.message.empty());
    boost::system::error_code ec;
    json::value v = json::parse(r.body, ec);
    EXPECT_FALSE(ec) << r.body;
    return v.is_object() ? v.as_object() : json::object{};
  }
  std::string addedToken(const std::string& id, int64_t ttl = 0) {
    return std::string(ok(authority.addDomain(id, ttl)).at("token").as_string());
  }
};

TEST(DeployToken, ShapeIsKusciasAlphabetFromACsprng) {
  const std::regex shape("^[2-9a-np-zA-NP-Z]{32}$");
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    std::string t = newDeployToken();
    EXPECT_TRUE(std::regex_match(t, shape)) << t;
    seen.insert(t);
  }
  EXPECT_EQ(seen.size(), 200u);
}

// Vector 1: one unused token of the right shape right after domain add.
TEST_F(AuthorityAdmin, AddDomainCreatesTheDomainAndOneUnusedToken) {
  json::object reply = ok(authority.addDomain("alice", 0));
  EXPECT_EQ(reply.at("domain"), "alice");
  std::string token(reply.at("token").as_string());
  EXPECT_TRUE(std::regex_match(token, std::regex("^[2-9a-np-zA-NP-Z]{32}$"))) << token;

  ASSERT_EQ(store->domains.count("alice"), 1u);
  const DomainRecord& d = store->domains["alice"];
  EXPECT_EQ(d.role, "lite");
  EXPECT_EQ(d.createdAt, now);
  EXPECT_EQ(d.certPem, "");
  auto tokens = store->tokensOf("alice");
  ASSERT_EQ(tokens.size(), 1u);
  EXPECT_EQ(tokens[0].token, token);
  EXPECT_EQ(tokens[0].state, TokenState::Unused);
  EXPECT_EQ(tokens[0].createdAt, now);
  EXPECT_EQ(tokens[0].expiresAt, 0);
}

TEST_F(AuthorityAdmin, AddDomainWithTtlSetsTheExpiry) {
  addedToken("alice", 3600);
  EXPECT_EQ(store->domains["alice"].tokenTtlSeconds, 3600);
  EXPECT_EQ(store->tokensOf("alice")[0].expiresAt, now + 3600);
}

TEST_F(AuthorityAdmin, AddDomainRefusals) {
  Reply bad = authority.addDomain("Alice", 0);
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.cause, "invalid_domain_id");
  EXPECT_NE(bad.message.find("RFC 1123"), std::string::npos) << bad.message;
  EXPECT_EQ(authority.addDomain("a.b", 0).status, 400);
  EXPECT_EQ(authority.addDomain("", 0).message, "domain ID is empty");

  Reply reserved = authority.addDomain("master", 0);
  EXPECT_EQ(reserved.status, 400);
  EXPECT_EQ(reserved.message, "domain ID \"master\" is reserved");

  Reply own = authority.addDomain("root", 0);  // the master's own domain ID
  EXPECT_EQ(own.status, 400);
  EXPECT_EQ(own.cause, "reserved_domain_id");

  EXPECT_EQ(authority.addDomain("alice", -1).status, 400);
  EXPECT_TRUE(store->domains.empty());

  addedToken("alice");
  Reply dup = authority.addDomain("alice", 0);
  EXPECT_EQ(dup.status, 409);
  EXPECT_EQ(dup.message, "domain alice already exists");
  EXPECT_EQ(dup.cause, "domain_exists");
  EXPECT_EQ(store->tokensOf("alice").size(), 1u);
}

TEST_F(AuthorityAdmin, StoreUnavailableIs503) {
  store->failWith = StoreErrorKind::Unavailable;
  Reply r = authority.addDomain("alice", 0);
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.cause, "store_unavailable");
  EXPECT_EQ(authority.currentToken("alice").status, 503);
  EXPECT_EQ(authority.listDomains(false).status, 503);
  store->failWith = StoreErrorKind::Corrupt;
  EXPECT_EQ(authority.listDomains(false).status, 500);
}

TEST_F(AuthorityAdmin, CurrentTokenIsTheUnusedOne) {
  std::string token = addedToken("alice");
  json::object reply = ok(authority.currentToken("alice"));
  EXPECT_EQ(reply.at("domain"), "alice");
  EXPECT_EQ(str(reply.at("token")), token);
  EXPECT_EQ(reply.at("expiresAt").as_int64(), 0);
  EXPECT_EQ(store->tokensOf("alice").size(), 1u);  // nothing new while one is valid
}

TEST_F(AuthorityAdmin, CurrentTokenRefusals) {
  Reply unknown = authority.currentToken("carol");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.message,
            "domain carol not found; add it on the master with kgate domain add carol");
  EXPECT_EQ(authority.currentToken("Bad\nId").status, 400);
  EXPECT_EQ(authority.currentToken("root").status, 400);
}

TEST_F(AuthorityAdmin, CurrentTokenReplacesAnExpiredToken) {
  std::string first = addedToken("alice", 100);
  now += 100;  // expiresAt == now: expired
  json::object reply = ok(authority.currentToken("alice"));
  std::string second(reply.at("token").as_string());
  EXPECT_NE(second, first);
  EXPECT_EQ(reply.at("expiresAt").as_int64(), now + 100);
  auto tokens = store->tokensOf("alice");
  ASSERT_EQ(tokens.size(), 2u);
  EXPECT_EQ(tokens[1].token, second);
  EXPECT_EQ(tokens[1].state, TokenState::Unused);
  // Asked again, the same (still valid) token.
  EXPECT_EQ(str(ok(authority.currentToken("alice")).at("token")), second);
}

TEST_F(AuthorityAdmin, CurrentTokenReplacesAUsedToken) {
  addedToken("alice");
  store->tokens[0].state = TokenState::Used;  // e.g. a store that did not insert a successor
  std::string fresh(ok(authority.currentToken("alice")).at("token").as_string());
  EXPECT_NE(fresh, store->tokens[0].token);
  EXPECT_EQ(store->tokensOf("alice").size(), 2u);
}

TEST_F(AuthorityAdmin, ListDomainsIsSortedAndHidesTokensUnlessAsked) {
  std::string bobToken = addedToken("bob", 600);
  std::string aliceToken = addedToken("alice");
  json::object list = ok(authority.listDomains(false));
  const json::array& domains = list.at("domains").as_array();
  ASSERT_EQ(domains.size(), 2u);
  EXPECT_EQ(domains[0].at("domain"), "alice");
  EXPECT_EQ(domains[1].at("domain"), "bob");
  const json::object& bob = domains[1].as_object();
  EXPECT_EQ(bob.at("role"), "lite");
  EXPECT_EQ(bob.at("registered"), false);
  EXPECT_EQ(bob.at("registeredAt").as_int64(), 0);
  EXPECT_EQ(bob.at("certFingerprint"), "");
  EXPECT_EQ(bob.at("certNotAfter"), "");
  const json::object& t = bob.at("tokens").as_array().at(0).as_object();
  EXPECT_EQ(t.at("state"), "unused");
  EXPECT_EQ(t.at("createdAt").as_int64(), now);
  EXPECT_EQ(t.at("usedAt").as_int64(), 0);
  EXPECT_EQ(t.at("expiresAt").as_int64(), now + 600);
  EXPECT_FALSE(t.contains("token"));
  EXPECT_EQ(list.at("domains").as_array().size(), 2u);
  EXPECT_EQ(json::serialize(list).find(bobToken), std::string::npos);
  EXPECT_EQ(json::serialize(list).find(aliceToken), std::string::npos);

  json::object shown = ok(authority.listDomains(true));
  EXPECT_EQ(str(shown.at("domains").at(0).at("tokens").at(0).at("token")), aliceToken);
  EXPECT_EQ(str(shown.at("domains").at(1).at("tokens").at(0).at("token")), bobToken);

  now += 600;
  json::object later = ok(authority.listDomains(false));
  EXPECT_EQ(later.at("domains").at(1).at("tokens").at(0).at("state"), "expired");
}

TEST_F(AuthorityAdmin, ListDomainsShowsTheCertificate) {
  addedToken("alice");
  auto ca = certs::certFromPem(testing::caCertPem());
  ASSERT_TRUE(ca);
  store->domains["alice"].certPem = testing::caCertPem();  // any certificate will do
  store->domains["alice"].registeredAt = now - 5;
  json::object alice = ok(authority.listDomains(false)).at("domains").at(0).as_object();
  EXPECT_EQ(alice.at("registered"), true);
  EXPECT_EQ(alice.at("registeredAt").as_int64(), now - 5);
  EXPECT_EQ(str(alice.at("certFingerprint")), certs::certFingerprint(**ca));
  std::string notAfter(alice.at("certNotAfter").as_string());
  EXPECT_TRUE(std::regex_match(notAfter, std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")))
      << notAfter;
}

TEST(AuthorityKeysCheck, BadKeysMakeEveryCall500) {
  auto store = std::make_shared<FakeStore>();
  AuthorityKeys keys = testing::testKeys();
  keys.caKeyPem = "not a key";
  Authority bad(store, keys);
  for (const Reply& r : {bad.addDomain("alice", 0), bad.currentToken("alice"),
                         bad.listDomains(true), bad.registerLite("{}", "x", "1.2.3.4")}) {
    EXPECT_EQ(r.status, 500);
    EXPECT_EQ(r.message, "authority keys are invalid");
  }
  // A CA key that does not belong to the CA certificate is just as unusable.
  keys = testing::testKeys();
  keys.caKeyPem = certs::privateKeyToPem(testing::masterKey());
  EXPECT_EQ(Authority(store, keys).addDomain("alice", 0).status, 500);
  EXPECT_TRUE(store->domains.empty());
}

}  // namespace
}  // namespace kgate::auth
