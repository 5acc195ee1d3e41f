#include "auth/jwt.h"

#include <gtest/gtest.h>
#include <openssl/hmac.h>

#include "certs/rsa_crypt.h"
#include "fakes.h"

namespace kgate::auth {
namespace {

using testing::aliceKey;
using testing::otherKey;
namespace json = boost::json;

constexpr int64_t kNow = 1'700'000'000;

json::object claims(int64_t exp = kNow + 300) {
  return {{"iss", "alice"}, {"sub", "alice"}, {"iat", kNow}, {"exp", exp}};
}

std::vector<std::string> split(const std::string& jwt) {
  std::vector<std::string> parts;
  size_t start = 0, dot;
  while ((dot = jwt.find('.', start)) != std::string::npos) {
    parts.push_back(jwt.substr(start, dot - start));
    start = dot + 1;
  }
  parts.push_back(jwt.substr(start));
  return parts;
}

// A JWT with any header, signed (RS256) by key over exactly the given parts.
std::string signedWith(const std::string& headerJson, const json::object& c, const EVP_PKEY& key) {
  std::string input = certs::base64UrlEncode(headerJson) + "." +
                      certs::base64UrlEncode(json::serialize(c));
  auto sig = certs::signSha256(key, input);
  EXPECT_TRUE(sig);
  return input + "." + certs::base64UrlEncode(*sig);
}

TEST(Jwt, RoundTripReturnsTheClaims) {
  std::string jwt = signJwtRs256(aliceKey(), claims());
  ASSERT_FALSE(jwt.empty());
  auto parts = split(jwt);
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(*certs::base64UrlDecode(parts[0]), R"({"alg":"RS256","typ":"JWT"})");
  EXPECT_EQ(jwt.find('='), std::string::npos);  // base64url without padding

  auto got = verifyJwtRs256(jwt, aliceKey(), kNow);
  ASSERT_TRUE(got) << got.error();
  EXPECT_EQ(*got, claims());
}

TEST(Jwt, VerifiesWithAPublicOnlyKey) {
  auto pub = certs::publicKeyFromPem(certs::publicKeyToPem(aliceKey()));
  ASSERT_TRUE(pub);
  auto got = verifyJwtRs256(signJwtRs256(aliceKey(), claims()), **pub, kNow);
  EXPECT_TRUE(got) << got.error();
}

TEST(Jwt, TamperedPayloadFailsTheSignature) {
  auto parts = split(signJwtRs256(aliceKey(), claims()));
  json::object forged = claims();
  forged["sub"] = "mallory";
  std::string jwt = parts[0] + "." + certs::base64UrlEncode(json::serialize(forged)) + "." +
                    parts[2];
  auto got = verifyJwtRs256(jwt, aliceKey(), kNow);
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error(), "jwt signature does not verify with the expected key");
}

TEST(Jwt, TamperedSignatureFails) {
  auto parts = split(signJwtRs256(aliceKey(), claims()));
  std::string sig = *certs::base64UrlDecode(parts[2]);
  sig[10] ^= 1;
  auto got = verifyJwtRs256(parts[0] + "." + parts[1] + "." + certs::base64UrlEncode(sig),
                            aliceKey(), kNow);
  ASSERT_FALSE(got);
  EXPECT_NE(got.error().find("signature does not verify"), std::string::npos);
  // Empty signature.
  got = verifyJwtRs256(parts[0] + "." + parts[1] + ".", aliceKey(), kNow);
  EXPECT_EQ(got.error(), "jwt has no signature");
  got = verifyJwtRs256(parts[0] + "." + parts[1] + ".a+b", aliceKey(), kNow);
  EXPECT_EQ(got.error(), "jwt signature is not base64url");
}

TEST(Jwt, WrongKeyFails) {
  auto got = verifyJwtRs256(signJwtRs256(otherKey(), claims()), aliceKey(), kNow);
  ASSERT_FALSE(got);
  EXPECT_NE(got.error().find("signature does not verify"), std::string::npos);
}

TEST(Jwt, AlgNoneIsRefused) {
  std::string jwt = certs::base64UrlEncode(R"({"alg":"none","typ":"JWT"})") + "." +
                    certs::base64UrlEncode(json::serialize(claims())) + ".";
  auto got = verifyJwtRs256(jwt, aliceKey(), kNow);
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error(), "jwt alg is \"none\", only RS256 is accepted");
}

TEST(Jwt, Hs256KeyedWithThePublicKeyIsRefused) {
  // The classic confusion attack: HMAC "keyed" with the verifier's public key PEM.
  std::string pem = certs::publicKeyToPem(aliceKey());
  std::string input = certs::base64UrlEncode(R"({"alg":"HS256","typ":"JWT"})") + "." +
                      certs::base64UrlEncode(json::serialize(claims()));
  unsigned char mac[32];
  unsigned len = 0;
  HMAC(EVP_sha256(), pem.data(), int(pem.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
  std::string jwt = input + "." + certs::base64UrlEncode(std::string((char*)mac, len));
  auto got = verifyJwtRs256(jwt, aliceKey(), kNow);
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error(), "jwt alg is \"HS256\", only RS256 is accepted");
}

TEST(Jwt, HeaderProblemsAreNamed) {
  auto noAlg = verifyJwtRs256(signedWith(R"({"typ":"JWT"})", claims(), aliceKey()), aliceKey(),
                              kNow);
  EXPECT_EQ(noAlg.error(), "jwt header has no alg");
  auto crit = verifyJwtRs256(
      signedWith(R"({"alg":"RS256","crit":["x"],"x":1})", claims(), aliceKey()), aliceKey(), kNow);
  EXPECT_EQ(crit.error(), "jwt header has crit extensions, none are supported");
  auto notJson = verifyJwtRs256(signedWith("nope", claims(), aliceKey()), aliceKey(), kNow);
  EXPECT_EQ(notJson.error().rfind("jwt header is not JSON", 0), 0u) << notJson.error();
  auto array = verifyJwtRs256(signedWith("[1]", claims(), aliceKey()), aliceKey(), kNow);
  EXPECT_EQ(array.error(), "jwt header is not a JSON object");
}

TEST(Jwt, MalformedStructureIsRefused) {
  std::string good = signJwtRs256(aliceKey(), claims());
  EXPECT_EQ(verifyJwtRs256("", aliceKey(), kNow).error(), "jwt is empty");
  EXPECT_EQ(verifyJwtRs256("a.b", aliceKey(), kNow).error(),
            "jwt must have three dot-separated parts");
  EXPECT_EQ(verifyJwtRs256(good + ".x", aliceKey(), kNow).error(),
            "jwt must have three dot-separated parts");
  EXPECT_EQ(verifyJwtRs256("a*b.c.d", aliceKey(), kNow).error(), "jwt header is not base64url");
  EXPECT_EQ(verifyJwtRs256(std::string(20000, 'a'), aliceKey(), kNow).error(),
            "jwt is longer than 16 KiB");
  // Padding is not part of JWT's base64url.
  auto parts = split(good);
  EXPECT_FALSE(verifyJwtRs256(parts[0] + "=." + parts[1] + "." + parts[2], aliceKey(), kNow));
}

TEST(Jwt, ExpiryHonoursTheClockSkew) {
  EXPECT_TRUE(verifyJwtRs256(signJwtRs256(aliceKey(), claims(kNow + 1)), aliceKey(), kNow));
  EXPECT_TRUE(verifyJwtRs256(signJwtRs256(aliceKey(), claims(kNow - 59)), aliceKey(), kNow));
  auto atEdge = verifyJwtRs256(signJwtRs256(aliceKey(), claims(kNow - 60)), aliceKey(), kNow);
  ASSERT_FALSE(atEdge);
  EXPECT_EQ(atEdge.error(), "jwt expired at 1699999940 (now 1700000000)");
  EXPECT_FALSE(verifyJwtRs256(signJwtRs256(aliceKey(), claims(kNow - 3600)), aliceKey(), kNow));
}

TEST(Jwt, ExpIsRequiredAndNumeric) {
  json::object c = claims();
  c.erase("exp");
  EXPECT_EQ(verifyJwtRs256(signJwtRs256(aliceKey(), c), aliceKey(), kNow).error(),
            "jwt has no exp claim");
  c["exp"] = "tomorrow";
  EXPECT_EQ(verifyJwtRs256(signJwtRs256(aliceKey(), c), aliceKey(), kNow).error(),
            "jwt claim exp is not a number");
  c["exp"] = double(kNow + 10.5);  // NumericDate may be fractional
  EXPECT_TRUE(verifyJwtRs256(signJwtRs256(aliceKey(), c), aliceKey(), kNow));
}

TEST(Jwt, FutureIatOrNbfIsRefusedBeyondTheSkew) {
  json::object c = claims(kNow + 1000);
  c["iat"] = kNow + 60;
  EXPECT_TRUE(verifyJwtRs256(signJwtRs256(aliceKey(), c), aliceKey(), kNow));
  c["iat"] = kNow + 61;
  EXPECT_EQ(verifyJwtRs256(signJwtRs256(aliceKey(), c), aliceKey(), kNow).error(),
            "jwt iat 1700000061 is in the future (now 1700000000)");
  c["iat"] = kNow;
  c["nbf"] = kNow + 120;
  EXPECT_EQ(verifyJwtRs256(signJwtRs256(aliceKey(), c), aliceKey(), kNow).error(),
            "jwt nbf 1700000120 is in the future (now 1700000000)");
}

TEST(Jwt, PayloadMustBeAnObject) {
  std::string input = certs::base64UrlEncode(R"({"alg":"RS256","typ":"JWT"})") + "." +
                      certs::base64UrlEncode("[1,2]");
  auto sig = certs::signSha256(aliceKey(), input);
  ASSERT_TRUE(sig);
  auto got = verifyJwtRs256(input + "." + certs::base64UrlEncode(*sig), aliceKey(), kNow);
  EXPECT_EQ(got.error(), "jwt payload is not a JSON object");
}

TEST(Jwt, NonRsaKeysAreRefused) {
  certs::PrivateKey ec(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  ASSERT_TRUE(ec);
  EXPECT_EQ(signJwtRs256(*ec, claims()), "");
  // An ECDSA signature under an "RS256" header must not pass because SHA-256 verifies.
  std::string forged = signedWith(R"({"alg":"RS256","typ":"JWT"})", claims(), *ec);
  EXPECT_EQ(verifyJwtRs256(forged, *ec, kNow).error(), "jwt verification key is not an RSA key");
}

}  // namespace
}  // namespace kgate::auth
