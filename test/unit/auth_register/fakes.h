// Shared by the authority's unit tests (registration here, routes in ../auth_routes): the
// in-memory Store, the test keys, a test CA, and request builders that can also produce the
// malformed requests the authority must refuse.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "auth/authority.h"
#include "auth/jwt.h"
#include "auth/register_wire.h"
#include "auth/store.h"
#include "certs/ca.h"
#include "certs/csr.h"
#include "certs/keys.h"
#include "test/support/memory_store.h"
#include "test/support/test_keys.h"

namespace kgate::auth::testing {

// The in-memory store every authority unit test uses (test/support/memory_store.h).
using FakeStore = kgate::test::MemoryStore;

// Key roles of the tests: distinct RSA-2048 keys from the run's key pool
// (test/support/test_keys.h).
inline const EVP_PKEY& caKey() { return kgate::test::testKey(0); }
inline const EVP_PKEY& masterKey() { return kgate::test::testKey(1); }
inline const EVP_PKEY& aliceKey() { return kgate::test::testKey(2); }
inline const EVP_PKEY& otherKey() { return kgate::test::testKey(3); }
inline const EVP_PKEY& bobKey() { return kgate::test::testKey(4); }

inline const std::string& caCertPem() {
  static std::string pem = [] {
    auto ca = certs::createCaCert(caKey(), "Kuscia");
    if (!ca) ADD_FAILURE() << ca.error();
    return ca ? certs::certToPem(**ca) : std::string();
  }();
  return pem;
}

inline AuthorityKeys testKeys() {
  return AuthorityKeys{caCertPem(), certs::privateKeyToPem(caKey()),
                       certs::privateKeyToPem(masterKey()), "root"};
}

// A register request assembled piece by piece, so tests can make each piece wrong on its own.
struct Crafted {
  std::string cn = "alice";            // the CSR's CN
  std::string secondCn;                // a second CN after it ("" = none)
  std::string domainId = "alice";      // the body's domain_id
  std::string token;                   // the 1.2.3.4 extension ("" = none)
  int64_t requestTime = 123456789;     // a stock Kuscia lite sends the nanosecond-of-second
  const EVP_PKEY* csrKey = nullptr;    // defaults to aliceKey()
  const EVP_PKEY* jwtKey = nullptr;    // defaults to csrKey
  int64_t iat = 0;
  int64_t expDelta = 300;

  RegisterRequest build(int64_t now) const {
    const EVP_PKEY& key = csrKey ? *csrKey : aliceKey();
    auto csr = certs::buildCsr(key, cn, token);
    EXPECT_TRUE(csr) << csr.error();
    if (csr && !secondCn.empty()) {  // added, then signed again
      EXPECT_EQ(
          X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(csr->get()), "CN", MBSTRING_UTF8,
                                     reinterpret_cast<const unsigned char*>(secondCn.data()),
                                     static_cast<int>(secondCn.size()), -1, 0),
          1);
      EXPECT_GT(X509_REQ_sign(csr->get(), const_cast<EVP_PKEY*>(&key), EVP_sha256()), 0);
    }
    std::string csrB64 = certs::base64Encode(certs::csrToPem(**csr));
    boost::json::object body{{"domain_id", domainId}, {"csr", csrB64},
                             {"request_time", requestTime}};
    boost::json::array hash;
    for (unsigned char c : registerRequestHash(domainId, csrB64, requestTime)) {
      hash.push_back(int64_t(c));
    }
    int64_t issued = iat ? iat : now;
    boost::json::object claims{{"req_hash", hash}, {"iss", domainId}, {"sub", domainId},
                               {"iat", issued}, {"exp", issued + expDelta}};
    return {boost::json::serialize(body), signJwtRs256(jwtKey ? *jwtKey : key, claims)};
  }
};

// A JSON string's text, for comparing with std::string.
inline std::string str(const boost::json::value& v) {
  return v.is_string() ? std::string(v.get_string()) : "<not a string: " + serialize(v) + ">";
}

// The body with one field replaced (or removed when value is null).
inline std::string withField(const std::string& body, const char* name,
                             const boost::json::value& value) {
  boost::json::object o = boost::json::parse(body).as_object();
  if (value.is_null()) {
    o.erase(name);
  } else {
    o[name] = value;
  }
  return boost::json::serialize(o);
}

}  // namespace kgate::auth::testing
