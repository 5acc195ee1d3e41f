#include "certs/csr.h"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "test_util.h"

namespace kgate::certs {
namespace {

using testing::testKey;

CertRequest build(const std::string& cn, const std::string& token, int key = 2) {
  auto csr = buildCsr(testKey(key), cn, token);
  EXPECT_TRUE(csr) << csr.error();
  return csr ? std::move(*csr) : nullptr;
}

TEST(Csr, PemRoundTripCarriesTokenExtension) {
  CertRequest csr = build("alice", "deploy-token-123");
  ASSERT_TRUE(csr);
  std::string pem = csrToPem(*csr);
  EXPECT_EQ(pem.rfind("-----BEGIN CERTIFICATE REQUEST-----\n", 0), 0u);

  auto parsed = csrFromPem(pem);
  ASSERT_TRUE(parsed) << parsed.error();
  EXPECT_TRUE(verifyCsrSignature(**parsed));
  EXPECT_EQ(csrCommonName(**parsed), "alice");
  EXPECT_EQ(csrExtensionValue(**parsed, kDeployTokenOid), "deploy-token-123");
  EXPECT_EQ(csrExtensionValue(**parsed, "1.2.3.5"), std::nullopt);

  auto pub = csrPublicKey(**parsed);
  ASSERT_TRUE(pub) << pub.error();
  EXPECT_TRUE(samePublicKey(**pub, testKey(2)));

  // Subject is the CN alone; the extension is the only one, non-critical, with OID 1.2.3.4.
  const X509_NAME* subject = X509_REQ_get_subject_name(parsed->get());
  EXPECT_EQ(X509_NAME_entry_count(subject), 1);
  EXPECT_EQ(X509_REQ_get_signature_nid(parsed->get()), NID_sha256WithRSAEncryption);
  STACK_OF(X509_EXTENSION)* exts = X509_REQ_get_extensions(parsed->get());
  ASSERT_NE(exts, nullptr);
  ASSERT_EQ(sk_X509_EXTENSION_num(exts), 1);
  X509_EXTENSION* ext = sk_X509_EXTENSION_value(exts, 0);
  EXPECT_EQ(X509_EXTENSION_get_critical(ext), 0);
  char oid[64];
  OBJ_obj2txt(oid, sizeof oid, X509_EXTENSION_get_object(ext), 1);
  EXPECT_STREQ(oid, "1.2.3.4");
  sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
}

TEST(Csr, ExtensionOctetsAreTheRawToken) {
  // Go's x509 writes ExtraExtensions' Value as the extnValue contents: "\x04<len><token>".
  CertRequest csr = build("alice", "tok");
  ASSERT_TRUE(csr);
  unsigned char* der = nullptr;
  int len = i2d_X509_REQ(csr.get(), &der);
  ASSERT_GT(len, 0);
  std::string bytes(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  const std::string encoded("\x06\x03\x2a\x03\x04\x04\x03tok", 10);  // OID 1.2.3.4, OCTET "tok"
  EXPECT_NE(bytes.find(encoded), std::string::npos);
}

TEST(Csr, NoTokenNoExtension) {
  CertRequest csr = build("bob", "");
  ASSERT_TRUE(csr);
  EXPECT_TRUE(verifyCsrSignature(*csr));
  EXPECT_EQ(csrExtensionValue(*csr, kDeployTokenOid), std::nullopt);
  STACK_OF(X509_EXTENSION)* exts = X509_REQ_get_extensions(csr.get());
  EXPECT_EQ(exts == nullptr ? 0 : sk_X509_EXTENSION_num(exts), 0);
  sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  ERR_clear_error();
}

TEST(Csr, TamperedCsrFailsVerification) {
  CertRequest csr = build("alice", "token");
  ASSERT_TRUE(csr);
  std::string pem = csrToPem(*csr);
  auto der = base64Decode([&] {
    std::string body;
    for (size_t pos = pem.find('\n') + 1; pos < pem.size();) {
      size_t end = pem.find('\n', pos);
      std::string line = pem.substr(pos, end - pos);
      if (line.rfind("-----", 0) == 0) break;
      body += line;
      pos = end + 1;
    }
    return body;
  }());
  ASSERT_TRUE(der);
  std::string tampered = *der;
  size_t at = tampered.find("alice");
  ASSERT_NE(at, std::string::npos);
  tampered[at] = 'm';  // now asks for "mlice" under alice's signature
  const unsigned char* p = reinterpret_cast<const unsigned char*>(tampered.data());
  CertRequest forged(d2i_X509_REQ(nullptr, &p, static_cast<long>(tampered.size())));
  ASSERT_TRUE(forged);
  EXPECT_EQ(csrCommonName(*forged), "mlice");
  EXPECT_FALSE(verifyCsrSignature(*forged));

  auto ca = createCaCert(testKey(0), "Kuscia");
  ASSERT_TRUE(ca);
  EXPECT_FALSE(signCsr(**ca, testKey(0), *forged, {}, 7));
  EXPECT_FALSE(csrFromPem("not a csr"));
  EXPECT_EQ(ERR_peek_error(), 0u);
}

TEST(Csr, SignCsrFields) {
  auto ca = createCaCert(testKey(0), "Kuscia");
  ASSERT_TRUE(ca);
  CertRequest csr = build("alice", "token");
  ASSERT_TRUE(csr);
  auto cert = signCsr(**ca, testKey(0), *csr, {.commonName = "alice", .sans = {"alice.example"}},
                      0x1234567890ULL);
  ASSERT_TRUE(cert) << cert.error();
  X509* x = cert->get();
  EXPECT_EQ(certSubjectCN(*x), "alice");
  EXPECT_TRUE(verifySignedBy(*x, **ca));
  EXPECT_TRUE(certMatchesKey(*x, testKey(2)));
  uint64_t serial = 0;
  ASSERT_EQ(ASN1_INTEGER_get_uint64(&serial, X509_get0_serialNumber(x)), 1);
  EXPECT_EQ(serial, 0x1234567890ULL);
  EXPECT_EQ(X509_check_ca(x), 0);
  EXPECT_EQ(X509_get_key_usage(x), uint32_t(KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT));
  EXPECT_EQ(X509_get_extended_key_usage(x), uint32_t(XKU_SSL_SERVER | XKU_SSL_CLIENT));
  EXPECT_EQ(certSubjectAltNames(*x), std::vector<std::string>{"DNS:alice.example"});

  // Chain verification with OpenSSL's default (non-strict) rules accepts it.
  X509_STORE* store = X509_STORE_new();
  X509_STORE_add_cert(store, ca->get());
  X509_STORE_CTX* vctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(vctx, store, x, nullptr);
  EXPECT_EQ(X509_verify_cert(vctx), 1)
      << X509_verify_cert_error_string(X509_STORE_CTX_get_error(vctx));
  X509_STORE_CTX_free(vctx);
  X509_STORE_free(store);

  EXPECT_FALSE(signCsr(**ca, testKey(0), *csr, {.commonName = "alice"}, 0));
  EXPECT_FALSE(signCsr(**ca, testKey(1), *csr, {.commonName = "alice"}, 9))
      << "CA key must match the CA";
  EXPECT_FALSE(signCsr(**ca, testKey(0), *csr, {}, 9)) << "the authority names the certificate";
}

TEST(Csr, RejectsEmptyName) { EXPECT_FALSE(buildCsr(testKey(2), "", "t")); }

}  // namespace
// The certificate names what the authority says, whatever else the CSR's subject holds: a
// second CN there must not become a second name the certificate answers to.
TEST(Csr, SignCsrNamesOnlyTheGivenCommonName) {
  auto ca = createCaCert(testKey(0), "Kuscia");
  ASSERT_TRUE(ca);
  CertRequest csr = build("alice", "token");
  ASSERT_TRUE(csr);
  const std::string second = "bob";
  ASSERT_EQ(X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(csr.get()), "CN", MBSTRING_UTF8,
                                       reinterpret_cast<const unsigned char*>(second.data()),
                                       static_cast<int>(second.size()), -1, 0),
            1);
  ASSERT_GT(X509_REQ_sign(csr.get(), const_cast<EVP_PKEY*>(&testKey(2)), EVP_sha256()), 0);
  EXPECT_EQ(csrCommonNameCount(*csr), 2);
  auto cert = signCsr(**ca, testKey(0), *csr, {.commonName = "alice"}, 77);
  ASSERT_TRUE(cert) << cert.error();
  EXPECT_EQ(X509_NAME_entry_count(X509_get_subject_name(cert->get())), 1);
  EXPECT_EQ(certSubjectCN(*cert->get()), "alice");
  EXPECT_EQ(X509_check_host(cert->get(), "alice", 0, 0, nullptr), 1);
  EXPECT_NE(X509_check_host(cert->get(), "bob", 0, 0, nullptr), 1);
}

}  // namespace kgate::certs
