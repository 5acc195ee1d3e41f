#include "certs/ca.h"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <regex>

#include "certs/cert_builder.h"
#include "test_util.h"

namespace kgate::certs {
namespace {

using testing::testKey;
using std::chrono::hours;
using std::chrono::system_clock;

Certificate makeCa(int keyIndex, const std::string& cn = "Kuscia") {
  auto ca = createCaCert(testKey(keyIndex), cn);
  EXPECT_TRUE(ca) << ca.error();
  return ca ? std::move(*ca) : nullptr;
}

Certificate issue(const X509& ca, int caKey, int subjectKey, const CertSpec& spec) {
  auto cert = issueCert(ca, testKey(caKey), testKey(subjectKey), spec);
  EXPECT_TRUE(cert) << cert.error();
  return cert ? std::move(*cert) : nullptr;
}

bool hasExtension(const X509& cert, int nid, bool* critical = nullptr) {
  int idx = X509_get_ext_by_NID(&cert, nid, -1);
  if (idx < 0) return false;
  if (critical) *critical = X509_EXTENSION_get_critical(X509_get_ext(&cert, idx)) == 1;
  return true;
}

TEST(Ca, SelfSignedCaCertificate) {
  Certificate ca = makeCa(0, "Test CA");
  ASSERT_TRUE(ca);
  EXPECT_EQ(certSubjectCN(*ca), "Test CA");
  EXPECT_EQ(X509_check_ca(ca.get()), 1);
  EXPECT_TRUE(verifySignedBy(*ca, *ca));
  bool critical = false;
  ASSERT_TRUE(hasExtension(*ca, NID_basic_constraints, &critical));
  EXPECT_TRUE(critical);
  EXPECT_EQ(X509_get_key_usage(ca.get()), uint32_t(KU_KEY_CERT_SIGN | KU_CRL_SIGN));
  EXPECT_TRUE(hasExtension(*ca, NID_subject_key_identifier));
  EXPECT_TRUE(hasExtension(*ca, NID_authority_key_identifier));
  EXPECT_EQ(X509_get_version(ca.get()), X509_VERSION_3);

  auto left = certNotAfter(*ca) - system_clock::now();
  EXPECT_GT(left, hours(24 * 365 * 50 - 1));
  EXPECT_LE(left, hours(24 * 365 * 50));
  EXPECT_LT(X509_cmp_current_time(X509_get0_notBefore(ca.get())), 0);
}

TEST(Ca, IssuedLeafVerifiesAgainstItsCaOnly) {
  Certificate ca = makeCa(0);
  Certificate otherCa = makeCa(1);  // same name "Kuscia", other key: names alone must not pass
  Certificate leaf = issue(*ca, 0, 2, {.commonName = "leaf", .sans = {"localhost"}});
  ASSERT_TRUE(ca && otherCa && leaf);
  EXPECT_EQ(certSubjectCN(*leaf), "leaf");
  EXPECT_TRUE(verifySignedBy(*leaf, *ca));
  EXPECT_FALSE(verifySignedBy(*leaf, *otherCa));

  EXPECT_EQ(X509_check_ca(leaf.get()), 0);
  EXPECT_EQ(X509_get_key_usage(leaf.get()),
            uint32_t(KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT));
  EXPECT_EQ(X509_get_extended_key_usage(leaf.get()), uint32_t(XKU_SSL_SERVER));
  EXPECT_TRUE(hasExtension(*leaf, NID_subject_key_identifier));
  EXPECT_TRUE(hasExtension(*leaf, NID_authority_key_identifier));
  EXPECT_EQ(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(leaf.get()),
                                  X509_get0_subject_key_id(ca.get())),
            0);

  const ASN1_INTEGER* serial = X509_get0_serialNumber(leaf.get());
  uint64_t value = 0;
  ASSERT_EQ(ASN1_INTEGER_get_uint64(&value, serial), 1);
  EXPECT_GE(value, uint64_t(1) << 56) << "8 bytes in DER, whatever the draw";
  EXPECT_LT(value, uint64_t(1) << 63);
}

TEST(Ca, SerialsAreAlwaysEightBytesInDer) {
  // One draw in 128 has a zero top byte: enough draws to see the redraw at work.
  for (int i = 0; i < 2000; ++i) {
    uint64_t serial = detail::randomSerial();
    ASSERT_GE(serial, uint64_t(1) << 56);
    ASSERT_LT(serial, uint64_t(1) << 63);
  }
}

TEST(Ca, ExtendedKeyUsageFollowsSpec) {
  Certificate ca = makeCa(0);
  Certificate client =
      issue(*ca, 0, 2, {.commonName = "c", .sans = {}, .serverAuth = false, .clientAuth = true});
  Certificate both = issue(*ca, 0, 2, {.commonName = "b", .sans = {}, .clientAuth = true});
  ASSERT_TRUE(client && both);
  EXPECT_EQ(X509_get_extended_key_usage(client.get()), uint32_t(XKU_SSL_CLIENT));
  EXPECT_EQ(X509_get_extended_key_usage(both.get()), uint32_t(XKU_SSL_SERVER | XKU_SSL_CLIENT));
}

TEST(Ca, SubjectAltNamesSortedIntoIpAndDns) {
  Certificate ca = makeCa(0);
  Certificate leaf = issue(
      *ca, 0, 2,
      {.commonName = "x", .sans = {"example.com", "10.1.2.3", "::1", "kusciaapi", "*.svc"}});
  ASSERT_TRUE(leaf);
  EXPECT_EQ(certSubjectAltNames(*leaf),
            (std::vector<std::string>{"DNS:example.com", "IP:10.1.2.3", "IP:::1", "DNS:kusciaapi",
                                      "DNS:*.svc"}));

  // Inspect the raw extension too: IPs must be 4/16-byte iPAddress entries, not DNS strings.
  auto* names = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(leaf.get(), NID_subject_alt_name, nullptr, nullptr));
  ASSERT_NE(names, nullptr);
  ASSERT_EQ(sk_GENERAL_NAME_num(names), 5);
  int type = 0;
  auto* ip = static_cast<ASN1_OCTET_STRING*>(
      GENERAL_NAME_get0_value(sk_GENERAL_NAME_value(names, 1), &type));
  EXPECT_EQ(type, GEN_IPADD);
  EXPECT_EQ(ASN1_STRING_length(ip), 4);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(ip)), 4),
            std::string("\x0a\x01\x02\x03", 4));
  GENERAL_NAME_get0_value(sk_GENERAL_NAME_value(names, 2), &type);
  EXPECT_EQ(type, GEN_IPADD);
  GENERAL_NAME_get0_value(sk_GENERAL_NAME_value(names, 0), &type);
  EXPECT_EQ(type, GEN_DNS);
  GENERAL_NAMES_free(names);

  EXPECT_EQ(X509_check_ip_asc(leaf.get(), "10.1.2.3", 0), 1);
  EXPECT_EQ(X509_check_host(leaf.get(), "example.com", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_host(leaf.get(), "10.1.2.3", 0, 0, nullptr), 0);
}

TEST(Ca, RejectsBadInput) {
  Certificate ca = makeCa(0);
  ASSERT_TRUE(ca);
  EXPECT_FALSE(issueCert(*ca, testKey(1), testKey(2), {.commonName = "x"}))
      << "CA key not matching the CA certificate";
  EXPECT_FALSE(issueCert(*ca, testKey(0), testKey(2), {.commonName = ""}));
  EXPECT_FALSE(issueCert(*ca, testKey(0), testKey(2), {.commonName = "x", .sans = {"a b"}}));
  EXPECT_FALSE(issueCert(*ca, testKey(0), testKey(2), {.commonName = "x", .sans = {""}}));
  EXPECT_FALSE(issueCert(*ca, testKey(0), testKey(2),
                         {.commonName = "x", .sans = {}, .validity = hours(0)}));
  EXPECT_FALSE(issueCert(*ca, testKey(0), testKey(2),
                         {.commonName = "x", .sans = {}, .validity = hours::max()}));
  EXPECT_FALSE(createCaCert(testKey(0), ""));
  EXPECT_EQ(ERR_peek_error(), 0u);
}

TEST(Ca, FingerprintAndPemRoundTrip) {
  Certificate ca = makeCa(0);
  Certificate leaf = issue(*ca, 0, 2, {.commonName = "leaf"});
  ASSERT_TRUE(ca && leaf);
  std::string fp = certFingerprint(*leaf);
  EXPECT_TRUE(std::regex_match(fp, std::regex("([0-9A-F]{2}:){31}[0-9A-F]{2}"))) << fp;

  unsigned char* der = nullptr;
  int len = i2d_X509(leaf.get(), &der);
  ASSERT_GT(len, 0);
  std::string hex = sha256Hex(std::string(reinterpret_cast<char*>(der), len));
  OPENSSL_free(der);
  std::string expected;
  for (size_t i = 0; i < hex.size(); i += 2) {
    if (i) expected += ':';
    expected += static_cast<char>(std::toupper(hex[i]));
    expected += static_cast<char>(std::toupper(hex[i + 1]));
  }
  EXPECT_EQ(fp, expected);

  std::string pem = certToPem(*leaf);
  auto parsed = certFromPem(pem);
  ASSERT_TRUE(parsed) << parsed.error();
  EXPECT_EQ(certFingerprint(**parsed), fp);

  auto chain = certChainFromPem(pem + certToPem(*ca));
  ASSERT_TRUE(chain) << chain.error();
  ASSERT_EQ(chain->size(), 2u);
  EXPECT_EQ(certFingerprint(*(*chain)[1]), certFingerprint(*ca));
  EXPECT_FALSE(certChainFromPem(pem + "-----BEGIN CERTIFICATE-----\nAAAA\n"
                                      "-----END CERTIFICATE-----\n"));
}

TEST(Ca, LeafValidityWindow) {
  Certificate ca = makeCa(0);
  Certificate leaf = issue(*ca, 0, 2, {.commonName = "x", .sans = {}, .validity = hours(48)});
  ASSERT_TRUE(leaf);
  auto left = certNotAfter(*leaf) - system_clock::now();
  EXPECT_GT(left, hours(47));
  EXPECT_LE(left, hours(48));
}

}  // namespace
}  // namespace kgate::certs
