#include "certs/node_pki.h"

#include <gtest/gtest.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <filesystem>

#include "certs/ca.h"
#include "certs/files.h"
#include "test_util.h"

namespace kgate::certs {
namespace {

using testing::TempDir;

const char* const kFiles[] = {"ca.crt",       "ca.key",          "external.crt",
                              "external.key", "api.crt",         "api.key",
                              "admin-client.crt", "admin-client.key"};

using testing::modeOf;

Certificate parse(const std::string& pem) {
  auto cert = certFromPem(pem);
  EXPECT_TRUE(cert) << cert.error();
  return cert ? std::move(*cert) : nullptr;
}

class NodePkiTest : public ::testing::Test {
 protected:
  NodePkiOptions options() const {
    return {.certDir = dir_.file("data/certs"), .domainID = "alice", .sans = {"alice.example"}};
  }
  std::string path(const char* name) const { return dir_.file("data/certs/") + name; }

  TempDir dir_;
};

TEST_F(NodePkiTest, FirstCallCreatesEverything) {
  auto pki = loadOrCreateNodePki(options());
  ASSERT_TRUE(pki) << pki.error();
  EXPECT_EQ(modeOf(dir_.file("data/certs")), 0700u);
  for (const char* name : kFiles) {
    std::string p = path(name);
    ASSERT_TRUE(fileExists(p)) << p;
    bool key = std::string(name).ends_with(".key");
    EXPECT_EQ(modeOf(p), key ? 0600u : 0644u) << p;
    if (key) {
      EXPECT_EQ(readFile(p)->rfind("-----BEGIN RSA PRIVATE KEY-----", 0), 0u) << p;
    }
  }
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir_.file("data/certs")), {}), 8);

  EXPECT_EQ(*readFile(path("ca.crt")), pki->caCertPem);
  EXPECT_EQ(*readFile(path("external.key")), pki->externalKeyPem);

  Certificate ca = parse(pki->caCertPem);
  Certificate external = parse(pki->externalCertPem);
  Certificate api = parse(pki->apiCertPem);
  Certificate admin = parse(pki->adminClientCertPem);
  ASSERT_TRUE(ca && external && api && admin);
  EXPECT_EQ(certSubjectCN(*ca), "Kuscia");
  EXPECT_EQ(certSubjectCN(*external), "alice_ENVOY_EXTERNAL");
  EXPECT_EQ(certSubjectCN(*api), "KusciaAPI");
  EXPECT_EQ(certSubjectCN(*admin), "alice-admin");
  for (X509* leaf : {external.get(), api.get(), admin.get()}) {
    EXPECT_TRUE(verifySignedBy(*leaf, *ca));
  }
  EXPECT_EQ(certSubjectAltNames(*external),
            (std::vector<std::string>{"IP:127.0.0.1", "DNS:alice.example"}));
  EXPECT_EQ(certSubjectAltNames(*api),
            (std::vector<std::string>{"DNS:kusciaapi", "DNS:localhost", "IP:127.0.0.1",
                                      "DNS:alice.example"}));
  EXPECT_EQ(X509_get_extended_key_usage(external.get()), uint32_t(XKU_SSL_SERVER));
  EXPECT_EQ(X509_get_extended_key_usage(api.get()), uint32_t(XKU_SSL_SERVER));
  EXPECT_EQ(X509_get_extended_key_usage(admin.get()), uint32_t(XKU_SSL_CLIENT));

  auto key = privateKeyFromPem(pki->externalKeyPem);
  ASSERT_TRUE(key);
  EXPECT_EQ(EVP_PKEY_get_bits(key->get()), 2048);
  EXPECT_TRUE(samePublicKey(*X509_get0_pubkey(external.get()), **key));
}

TEST_F(NodePkiTest, SecondCallLoadsWithoutRegenerating) {
  auto first = loadOrCreateNodePki(options());
  ASSERT_TRUE(first) << first.error();
  auto second = loadOrCreateNodePki(options());
  ASSERT_TRUE(second) << second.error();
  EXPECT_EQ(first->caCertPem, second->caCertPem);
  EXPECT_EQ(first->caKeyPem, second->caKeyPem);
  EXPECT_EQ(first->externalCertPem, second->externalCertPem);
  EXPECT_EQ(first->externalKeyPem, second->externalKeyPem);
  EXPECT_EQ(first->apiCertPem, second->apiCertPem);
  EXPECT_EQ(first->apiKeyPem, second->apiKeyPem);
  EXPECT_EQ(first->adminClientCertPem, second->adminClientCertPem);
  EXPECT_EQ(first->adminClientKeyPem, second->adminClientKeyPem);
}

TEST_F(NodePkiTest, NewSansReissueLeavesButKeepCaAndKeys) {
  auto first = loadOrCreateNodePki(options());
  ASSERT_TRUE(first) << first.error();
  NodePkiOptions changed = options();
  changed.sans = {"10.0.0.7", "alice.example", "10.0.0.7", "127.0.0.1"};
  auto second = loadOrCreateNodePki(changed);
  ASSERT_TRUE(second) << second.error();
  EXPECT_EQ(first->caCertPem, second->caCertPem);
  EXPECT_EQ(first->caKeyPem, second->caKeyPem);
  EXPECT_EQ(first->externalKeyPem, second->externalKeyPem);
  EXPECT_NE(first->externalCertPem, second->externalCertPem);
  EXPECT_NE(first->apiCertPem, second->apiCertPem);
  EXPECT_EQ(first->adminClientCertPem, second->adminClientCertPem);
  EXPECT_EQ(*readFile(path("external.crt")), second->externalCertPem);

  Certificate external = parse(second->externalCertPem);
  Certificate ca = parse(second->caCertPem);
  ASSERT_TRUE(external && ca);
  EXPECT_TRUE(verifySignedBy(*external, *ca));
  EXPECT_EQ(certSubjectAltNames(*external),
            (std::vector<std::string>{"IP:127.0.0.1", "IP:10.0.0.7", "DNS:alice.example"}));

  // Same set in another order and case is no change.
  changed.sans = {"ALICE.example", "10.0.0.7"};
  auto third = loadOrCreateNodePki(changed);
  ASSERT_TRUE(third) << third.error();
  EXPECT_EQ(third->externalCertPem, second->externalCertPem);
}

TEST_F(NodePkiTest, ReissuesLeafFromAnotherCaOrDamaged) {
  auto first = loadOrCreateNodePki(options());
  ASSERT_TRUE(first) << first.error();
  TempDir other;
  auto foreign = loadOrCreateNodePki({.certDir = other.path(), .domainID = "alice", .sans = {}});
  ASSERT_TRUE(foreign) << foreign.error();
  ASSERT_TRUE(writeFileAtomic(path("external.crt"), foreign->externalCertPem, 0644));
  ASSERT_TRUE(writeFileAtomic(path("api.crt"), "garbage", 0644));
  ASSERT_TRUE(writeFileAtomic(path("admin-client.key"), "garbage", 0600));

  auto second = loadOrCreateNodePki(options());
  ASSERT_TRUE(second) << second.error();
  Certificate ca = parse(second->caCertPem);
  for (const std::string* pem :
       {&second->externalCertPem, &second->apiCertPem, &second->adminClientCertPem}) {
    Certificate c = parse(*pem);
    ASSERT_TRUE(c);
    EXPECT_TRUE(verifySignedBy(*c, *ca));
  }
  EXPECT_EQ(second->externalKeyPem, first->externalKeyPem);
  EXPECT_NE(second->adminClientKeyPem, first->adminClientKeyPem);
  Certificate admin = parse(second->adminClientCertPem);
  auto adminKey = privateKeyFromPem(second->adminClientKeyPem);
  ASSERT_TRUE(admin && adminKey);
  EXPECT_TRUE(samePublicKey(*X509_get0_pubkey(admin.get()), **adminKey));
}

// A master sharing a database takes the CA kept there: the files become that CA and every leaf
// is re-issued under it; a bad CA is refused before any file changes.
TEST_F(NodePkiTest, AGivenCaReplacesTheFilesAndItsLeavesAreReissued) {
  auto own = loadOrCreateNodePki(options());
  ASSERT_TRUE(own) << own.error();
  TempDir other;
  auto shared = loadOrCreateNodePki({.certDir = other.path(), .domainID = "m", .sans = {}});
  ASSERT_TRUE(shared) << shared.error();

  NodePkiOptions bad = options();
  bad.caCertPem = shared->caCertPem;
  bad.caKeyPem = own->caKeyPem;  // not its key
  auto refused = loadOrCreateNodePki(bad);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().find("does not match"), std::string::npos) << refused.error();
  EXPECT_EQ(*readFile(path("ca.crt")), own->caCertPem);

  NodePkiOptions given = options();
  given.caCertPem = shared->caCertPem;
  given.caKeyPem = shared->caKeyPem;
  auto adopted = loadOrCreateNodePki(given);
  ASSERT_TRUE(adopted) << adopted.error();
  EXPECT_EQ(adopted->caCertPem, shared->caCertPem);
  EXPECT_EQ(*readFile(path("ca.key")), shared->caKeyPem);
  Certificate ca = parse(shared->caCertPem);
  for (const std::string* pem :
       {&adopted->externalCertPem, &adopted->apiCertPem, &adopted->adminClientCertPem})
    EXPECT_TRUE(verifySignedBy(*parse(*pem), *ca));
  auto again = loadOrCreateNodePki(given);  // nothing left to change
  ASSERT_TRUE(again) << again.error();
  EXPECT_EQ(again->externalCertPem, adopted->externalCertPem);
}

TEST_F(NodePkiTest, NeverReplacesAnIncompleteOrMismatchedCa) {
  auto first = loadOrCreateNodePki(options());
  ASSERT_TRUE(first) << first.error();
  const std::string caCert = first->caCertPem;

  std::filesystem::remove(path("ca.key"));
  auto missingKey = loadOrCreateNodePki(options());
  ASSERT_FALSE(missingKey);
  EXPECT_NE(missingKey.error().find("ca.key is missing"), std::string::npos)
      << missingKey.error();
  EXPECT_EQ(*readFile(path("ca.crt")), caCert) << "ca.crt must be left alone";
  EXPECT_FALSE(fileExists(path("ca.key")));

  ASSERT_TRUE(writeFileAtomic(path("ca.key"), first->externalKeyPem));  // wrong key
  auto mismatch = loadOrCreateNodePki(options());
  ASSERT_FALSE(mismatch);
  EXPECT_NE(mismatch.error().find("does not match"), std::string::npos) << mismatch.error();

  std::filesystem::remove(path("ca.crt"));
  auto missingCert = loadOrCreateNodePki(options());
  ASSERT_FALSE(missingCert);
  EXPECT_NE(missingCert.error().find("ca.crt is missing"), std::string::npos)
      << missingCert.error();
}

TEST_F(NodePkiTest, KeepsAnExistingCaAndHonoursCaName) {
  NodePkiOptions opts = options();
  opts.caCommonName = "Alice Root";
  auto first = loadOrCreateNodePki(opts);
  ASSERT_TRUE(first) << first.error();
  Certificate ca = parse(first->caCertPem);
  ASSERT_TRUE(ca);
  EXPECT_EQ(certSubjectCN(*ca), "Alice Root");
  // Renaming the CA in the options later does not replace an existing CA.
  auto second = loadOrCreateNodePki(options());
  ASSERT_TRUE(second) << second.error();
  EXPECT_EQ(second->caCertPem, first->caCertPem);
}

TEST_F(NodePkiTest, TightensLooseKeyModes) {
  ASSERT_TRUE(loadOrCreateNodePki(options()));
  ASSERT_EQ(::chmod(path("api.key").c_str(), 0644), 0);
  ASSERT_TRUE(loadOrCreateNodePki(options()));
  EXPECT_EQ(modeOf(path("api.key")), 0600u);
}

TEST_F(NodePkiTest, RejectsEmptyOptions) {
  EXPECT_FALSE(loadOrCreateNodePki({.certDir = "", .domainID = "alice"}));
  EXPECT_FALSE(loadOrCreateNodePki({.certDir = dir_.path(), .domainID = ""}));
}

}  // namespace
}  // namespace kgate::certs
