// Authority::registerLite, path by path, adapted from controlplane.md section 10 (vectors 1-12)
// with kgate's corrected statuses.
#include <gtest/gtest.h>
#include <openssl/x509v3.h>

#include "fakes.h"

namespace kgate::auth {
namespace {

namespace json = boost::json;
using testing::aliceKey;
using testing::bobKey;
using testing::Crafted;
using testing::FakeStore;
using testing::otherKey;
using testing::withField;

class Register : public ::testing::Test {
 protected:
  int64_t now = 1'700'000'000;
  std::shared_ptr<FakeStore> store = std::make_shared<FakeStore>();
  Authority authority{store, testing::testKeys(), [this] { return now; }};
  int ip = 0;  // a fresh source address per call keeps the rate limit out of the way

  std::string addDomain(const std::string& id, int64_t ttl = 0) {
    Reply r = authority.addDomain(id, ttl);
    EXPECT_EQ(r.status, 200) << r.message;
    return std::string(json::parse(r.body).at("token").as_string());
  }
  RegisterRequest request(const EVP_PKEY& key, const std::string& token,
                          const std::string& domain = "alice") {
    auto req = buildRegisterRequest(key, domain, token, 123456789, now);
    EXPECT_TRUE(req) << req.error();
    return *req;
  }
  Reply send(const RegisterRequest& req) { return send(req.body, req.jwt); }
  Reply send(const std::string& body, const std::string& jwt) {
    return authority.registerLite(body, jwt, "10.0.0." + std::to_string(++ip));
  }
  // The reply as the lite reads it.
  RegisterResult accepted(const Reply& r) {
    EXPECT_EQ(r.status, 200) << r.message;
    auto parsed = parseRegisterReply(r.body);
    EXPECT_TRUE(parsed) << parsed.error();
    return parsed ? *parsed : RegisterResult{};
  }
  // A refusal: status, cause, message, and nothing secret in the message.
  void refused(const Reply& r, int status, const std::string& cause, const std::string& message,
               const RegisterRequest* req = nullptr, const std::string& token = "") {
    EXPECT_EQ(r.status, status) << r.message;
    EXPECT_EQ(r.cause, cause);
    if (message.ends_with("*")) {
      EXPECT_EQ(r.message.rfind(message.substr(0, message.size() - 1), 0), 0u) << r.message;
    } else {
      EXPECT_EQ(r.message, message);
    }
    EXPECT_EQ(r.message.find('\n'), std::string::npos);
    EXPECT_TRUE(r.body.empty());
    if (!token.empty()) {
      EXPECT_EQ(r.message.find(token), std::string::npos);
    }
    if (req != nullptr) {
      EXPECT_EQ(r.message.find(req->jwt.substr(0, 20)), std::string::npos);
      std::string csr(json::parse(req->body).at("csr").as_string());
      EXPECT_EQ(r.message.find(csr.substr(40, 20)), std::string::npos);
    }
  }
};

// Vector 2: the token is consumed, the certificate stored, a new unused token appears.
TEST_F(Register, ValidTokenIsConsumed) {
  std::string token = addDomain("alice");
  RegisterResult got = accepted(send(request(aliceKey(), token)));

  EXPECT_EQ(store->domains["alice"].certPem, got.certPem);
  EXPECT_EQ(store->domains["alice"].registeredAt, now);
  EXPECT_EQ(got.masterPublicKeyPem, certs::publicKeyToPem(testing::masterKey(), true));
  EXPECT_EQ(got.masterPublicKeyPem.rfind("-----BEGIN RSA PUBLIC KEY-----", 0), 0u);
  EXPECT_EQ(got.caCertPem, testing::caCertPem());
  auto tokens = store->tokensOf("alice");
  ASSERT_EQ(tokens.size(), 2u);
  EXPECT_EQ(tokens[0].token, token);
  EXPECT_EQ(tokens[0].state, TokenState::Used);
  EXPECT_EQ(tokens[0].usedAt, now);
  EXPECT_EQ(tokens[1].state, TokenState::Unused);
  EXPECT_NE(tokens[1].token, token);
  EXPECT_EQ(tokens[1].token.size(), 32u);
  // domain token now answers the new one.
  Reply current = authority.currentToken("alice");
  EXPECT_EQ(testing::str(json::parse(current.body).at("token")), tokens[1].token);
}

TEST_F(Register, NewTokenInheritsTheDomainTtl) {
  std::string token = addDomain("alice", 500);
  accepted(send(request(aliceKey(), token)));
  EXPECT_EQ(store->tokensOf("alice")[1].expiresAt, now + 500);
}

// Vector 12: the issued certificate.
TEST_F(Register, IssuedCertificateFields) {
  std::string token = addDomain("alice");
  const auto before = std::chrono::system_clock::now();
  RegisterResult got = accepted(send(request(aliceKey(), token)));
  auto cert = certs::certFromPem(got.certPem);
  ASSERT_TRUE(cert) << cert.error();
  auto ca = certs::certFromPem(testing::caCertPem());
  ASSERT_TRUE(ca);
  X509* x = cert->get();

  EXPECT_EQ(certs::certSubjectCN(*x), "alice");
  EXPECT_EQ(X509_NAME_entry_count(X509_get_subject_name(x)), 1);
  EXPECT_EQ(X509_NAME_cmp(X509_get_issuer_name(x), X509_get_subject_name(ca->get())), 0);
  EXPECT_EQ(X509_verify(x, X509_get0_pubkey(ca->get())), 1);
  EXPECT_TRUE(certs::certMatchesKey(*x, aliceKey()));
  EXPECT_EQ(X509_check_ca(x), 0);  // CA:FALSE
  uint32_t eku = X509_get_extended_key_usage(x);
  EXPECT_TRUE(eku & XKU_SSL_CLIENT);
  EXPECT_TRUE(eku & XKU_SSL_SERVER);
  uint32_t ku = X509_get_key_usage(x);
  EXPECT_TRUE(ku & KU_DIGITAL_SIGNATURE);
  EXPECT_FALSE(ku & KU_KEY_CERT_SIGN) << "a leaf signs no certificates";

  // Serial: random, positive, non-zero (not Kuscia's constant 1).
  const ASN1_INTEGER* serial = X509_get0_serialNumber(x);
  uint64_t value = 0;
  EXPECT_EQ(ASN1_INTEGER_get_uint64(&value, serial), 1);
  EXPECT_GE(value, uint64_t(1) << 56) << "8 bytes in DER, whatever the draw";
  EXPECT_LT(value, uint64_t(1) << 63);

  // Ten years from now, whatever request_time says (a stock lite sends 123456789 ns).
  int days = 0, secs = 0;
  ASSERT_EQ(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(x), X509_get0_notAfter(x)), 1);
  double years = (days + secs / 86400.0) / 365.25;
  EXPECT_NEAR(years, 10.0, 0.01);
  auto notAfter = certs::certNotAfter(*x);
  EXPECT_GT(notAfter, before + std::chrono::hours(24 * 3650));
  EXPECT_LT(notAfter, before + std::chrono::hours(24 * 3653));
  // Valid from now (certs back-dates notBefore by an hour for clock skew), not from 1970.
  EXPECT_LT(X509_cmp_current_time(X509_get0_notBefore(x)), 0);
  std::time_t aboutAnHourAgo = std::time(nullptr) - 3700;
  EXPECT_GT(X509_cmp_time(X509_get0_notBefore(x), &aboutAnHourAgo), 0);
}

// Vector 3: reuse of the used token with another key (Kuscia: 500).
TEST_F(Register, UsedTokenWithAnotherKeyIs409) {
  std::string token = addDomain("alice");
  RegisterResult first = accepted(send(request(aliceKey(), token)));
  RegisterRequest again = request(otherKey(), token);
  refused(send(again), 409, "register_token_used",
          "deploy token already used; get the unused one with kgate domain token alice", &again,
          token);
  EXPECT_EQ(store->domains["alice"].certPem, first.certPem);
  EXPECT_EQ(store->tokensOf("alice").size(), 2u);
}

// Vector 4: unknown token (Kuscia: 500).
TEST_F(Register, UnknownTokenIs401) {
  addDomain("alice");
  std::string wrong(32, 'x');
  RegisterRequest req = request(aliceKey(), wrong);
  refused(send(req), 401, "register_unknown_token", "deploy token not valid for domain alice",
          &req, wrong);
  EXPECT_EQ(store->domains["alice"].certPem, "");
  EXPECT_EQ(store->tokensOf("alice")[0].state, TokenState::Unused);
}

TEST_F(Register, AnotherDomainsTokenIs401) {
  addDomain("alice");
  std::string bobToken = addDomain("bob");
  RegisterRequest req = request(aliceKey(), bobToken);
  refused(send(req), 401, "register_unknown_token", "deploy token not valid for domain alice",
          &req, bobToken);
}

TEST_F(Register, ExpiredTokenIs401) {
  std::string token = addDomain("alice", 60);
  now += 61;
  RegisterRequest req = request(aliceKey(), token);
  refused(send(req), 401, "register_token_expired",
          "deploy token expired; get a new one with kgate domain token alice", &req, token);
  EXPECT_EQ(store->domains["alice"].certPem, "");
}

// Vector 5: a new key without a token (Kuscia: 500).
TEST_F(Register, CsrWithoutTokenIs400) {
  addDomain("alice");
  RegisterRequest req = request(aliceKey(), "");
  refused(send(req), 400, "register_no_token",
          "the CSR carries no deploy token (extension 1.2.3.4)", &req);
  EXPECT_EQ(store->consumeCalls, 0);
}

// Vector 6: the same key registers again without a token; nothing changes.
TEST_F(Register, SameKeyReRegistersWithoutAToken) {
  std::string token = addDomain("alice");
  RegisterResult first = accepted(send(request(aliceKey(), token)));
  auto tokensBefore = store->tokensOf("alice");
  DomainRecord recordBefore = store->domains["alice"];
  now += 3600;

  for (const std::string& t : {std::string(), token, std::string(32, 'z')}) {
    RegisterResult again = accepted(send(request(aliceKey(), t)));
    EXPECT_EQ(again.certPem, first.certPem);
    EXPECT_EQ(again.masterPublicKeyPem, first.masterPublicKeyPem);
  }
  EXPECT_EQ(store->consumeCalls, 1);
  EXPECT_EQ(store->domains["alice"].certPem, recordBefore.certPem);
  EXPECT_EQ(store->domains["alice"].registeredAt, recordBefore.registeredAt);
  auto tokensAfter = store->tokensOf("alice");
  ASSERT_EQ(tokensAfter.size(), tokensBefore.size());
  for (size_t i = 0; i < tokensAfter.size(); ++i) {
    EXPECT_EQ(tokensAfter[i].token, tokensBefore[i].token);
    EXPECT_EQ(tokensAfter[i].state, tokensBefore[i].state);
  }
}

TEST_F(Register, NewKeyWithTheNewTokenReplacesTheCertificate) {
  std::string token = addDomain("alice");
  RegisterResult first = accepted(send(request(aliceKey(), token)));
  std::string next = store->tokensOf("alice")[1].token;
  RegisterResult second = accepted(send(request(otherKey(), next)));
  EXPECT_NE(second.certPem, first.certPem);
  EXPECT_EQ(store->domains["alice"].certPem, second.certPem);
}

// Vector 7: CN mismatch.
TEST_F(Register, CommonNameMustBeTheDomain) {
  std::string token = addDomain("alice");
  Crafted c;
  c.cn = "bob";
  c.token = token;
  RegisterRequest req = c.build(now);
  refused(send(req), 400, "register_bad_request", "the CSR's common name is bob, not alice",
          &req, token);
  c.cn = "bob\r\nx-injected: 1";
  refused(send(c.build(now)), 400, "register_bad_request",
          "the CSR's common name is bob??x-injected: 1, not alice");
}

// A second CN would be a second name the certificate answers to (OpenSSL's host check reads
// every CN when there is no SAN): alice could pass for bob on MTLS routes.
TEST_F(Register, OneCommonNameOnly) {
  std::string token = addDomain("alice");
  Crafted c;
  c.secondCn = "bob";
  c.token = token;
  RegisterRequest req = c.build(now);
  refused(send(req), 400, "register_bad_request",
          "the CSR names more than one common name; it must name alice alone", &req, token);
}

// Vector 8: request_time changed after signing.
TEST_F(Register, TamperedRequestTimeIs400) {
  std::string token = addDomain("alice");
  RegisterRequest req = request(aliceKey(), token);
  std::string body = withField(req.body, "request_time", 987654321);
  refused(send(body, req.jwt), 400, "register_bad_jwt",
          "verify jwt failed: the request content does not match the jwt's req_hash", &req, token);
  // domain_id and csr are covered too.
  std::string otherCsr(json::parse(request(otherKey(), token).body).at("csr").as_string());
  refused(send(withField(req.body, "csr", json::value(otherCsr)), req.jwt), 400,
          "register_bad_jwt", "verify jwt failed: *");
  EXPECT_EQ(store->consumeCalls, 0);
}

// Vector 9: JWT signed by a key other than the CSR's.
TEST_F(Register, JwtByAnotherKeyIs400) {
  std::string token = addDomain("alice");
  Crafted c;
  c.token = token;
  c.jwtKey = &otherKey();
  RegisterRequest req = c.build(now);
  refused(send(req), 400, "register_bad_jwt",
          "verify jwt failed: jwt signature does not verify with the expected key", &req, token);
}

TEST_F(Register, JwtProblemsAre400) {
  std::string token = addDomain("alice");
  RegisterRequest req = request(aliceKey(), token);
  refused(send(req.body, ""), 400, "register_bad_jwt", "the jwt-token header is missing");
  refused(send(req.body, "garbage"), 400, "register_bad_jwt",
          "verify jwt failed: jwt must have three dot-separated parts");

  Crafted stale;
  stale.token = token;
  stale.iat = now - 1000;  // exp = now - 700
  refused(send(stale.build(now)), 400, "register_bad_jwt", "verify jwt failed: jwt expired at *");

  // alg none carrying the right req_hash.
  std::string payload = req.jwt.substr(req.jwt.find('.') + 1);
  payload = payload.substr(0, payload.find('.'));
  std::string none = certs::base64UrlEncode(R"({"alg":"none"})") + "." + payload + ".";
  refused(send(req.body, none), 400, "register_bad_jwt",
          "verify jwt failed: jwt alg is \"none\", only RS256 is accepted");
  EXPECT_EQ(store->consumeCalls, 0);
}

// Vector 10: unknown domain (Kuscia: 500).
TEST_F(Register, UnknownDomainIs404) {
  RegisterRequest req = request(bobKey(), "sometoken", "carol");
  refused(send(req), 404, "register_unknown_domain",
          "domain carol not found; add it on the master with kgate domain add carol", &req,
          "sometoken");
}

TEST_F(Register, TheMastersOwnDomainDoesNotRegister) {
  RegisterRequest req = request(bobKey(), "sometoken", "root");
  store->domains["root"] = DomainRecord{"root", "master", "", now, 0, 0};
  refused(send(req), 403, "register_not_lite", "domain root is this master's own domain; it does "
                                               "not register");
}

TEST_F(Register, MalformedBodiesAre400) {
  std::string token = addDomain("alice");
  RegisterRequest req = request(aliceKey(), token);
  const std::string bad = "register_bad_request";
  refused(send("{not json", req.jwt), 400, bad, "register request body is not JSON: *");
  refused(send(withField(req.body, "domain_id", nullptr), req.jwt), 400, bad,
          "register request has no domain_id");
  refused(send(withField(req.body, "csr", 7), req.jwt), 400, bad,
          "register request csr must be a string");
  refused(send(withField(req.body, "request_time", "now"), req.jwt), 400, bad,
          "register request request_time must be a 64-bit integer");
  refused(send(withField(req.body, "domain_id", "Alice/.."), req.jwt), 400, bad,
          "register request domain_id: domain ID \"Alice/..\" is invalid*");
  refused(send(withField(req.body, "csr", "%%%"), req.jwt), 400, bad, "csr is not base64: *");
  refused(send(withField(req.body, "csr", json::value(certs::base64Encode("plain"))), req.jwt),
          400, bad, "csr is not PEM");
  refused(send(withField(req.body, "csr", json::value(certs::base64Encode(testing::caCertPem()))),
               req.jwt),
          400, bad, "csr PEM type is \"CERTIFICATE\", must be \"CERTIFICATE REQUEST\"");
  refused(send(std::string(70000, ' '), req.jwt), 400, bad, "register request body exceeds 64 KiB");
  EXPECT_EQ(store->consumeCalls, 0);
  EXPECT_EQ(store->domains["alice"].certPem, "");
}

TEST_F(Register, MissingRequestTimeReadsAsZero) {
  // What Kuscia's omitempty sends when the nanosecond-of-second is 0.
  std::string token = addDomain("alice");
  Crafted c;
  c.token = token;
  c.requestTime = 0;
  RegisterRequest req = c.build(now);
  accepted(send(withField(req.body, "request_time", nullptr), req.jwt));
}

TEST_F(Register, StoreUnavailableIs503) {
  std::string token = addDomain("alice");
  RegisterRequest req = request(aliceKey(), token);
  store->failWith = StoreErrorKind::Unavailable;
  // The caller may be anyone: what the store said is for the master's log only.
  Reply r = send(req);
  refused(r, 503, "store_unavailable", "authority store unavailable; retry later");
  EXPECT_EQ(r.detail, "database is locked");
}

TEST_F(Register, RateLimitPerSourceAddress) {
  std::string token = addDomain("alice");
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(authority.registerLite("{}", "", "192.0.2.1").status, 400) << i;
  }
  Reply limited = authority.registerLite("{}", "", "192.0.2.1");
  refused(limited, 429, "register_rate_limited",
          "too many registration attempts from 192.0.2.1; retry later");
  // Another source is not affected; even a valid request from the limited one waits.
  EXPECT_EQ(authority.registerLite("{}", "", "192.0.2.2").status, 400);
  RegisterRequest req = request(aliceKey(), token);
  EXPECT_EQ(authority.registerLite(req.body, req.jwt, "192.0.2.1").status, 429);
  // One attempt per 6 s refills.
  now += 5;
  EXPECT_EQ(authority.registerLite("{}", "", "192.0.2.1").status, 429);
  now += 1;
  EXPECT_EQ(authority.registerLite(req.body, req.jwt, "192.0.2.1").status, 200);
  EXPECT_EQ(authority.registerLite("{}", "", "192.0.2.1").status, 429);
  // A minute refills the whole burst, no more.
  now += 600;
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(authority.registerLite("{}", "", "192.0.2.1").status, 400) << i;
  }
  EXPECT_EQ(authority.registerLite("{}", "", "192.0.2.1").status, 429);
}

TEST_F(Register, ManySourcesKeepTheLimiterBounded) {
  for (int i = 0; i < 5000; ++i) {
    EXPECT_EQ(authority.registerLite("{}", "", "src-" + std::to_string(i)).status, 400);
  }
  // Still limiting the busy source after the table was pruned.
  for (int i = 0; i < 10; ++i) authority.registerLite("{}", "", "busy");
  EXPECT_EQ(authority.registerLite("{}", "", "busy").status, 429);
}

}  // namespace
}  // namespace kgate::auth
