#include "auth/register_wire.h"

#include <gtest/gtest.h>

#include "fakes.h"

namespace kgate::auth {
namespace {

namespace json = boost::json;
using testing::aliceKey;
using testing::caCertPem;
using testing::masterKey;
using testing::otherKey;

constexpr int64_t kNowSeconds = 1'700'000'000;
constexpr int64_t kUnixNanos = 1'700'000'000'123'456'789;

TEST(RegisterWire, RequestRoundTripsTheWayTheAuthorityReadsIt) {
  auto req = buildRegisterRequest(aliceKey(), "alice", "TOKEN-abc", kUnixNanos, kNowSeconds);
  ASSERT_TRUE(req) << req.error();

  // The body has exactly Kuscia's three fields.
  json::object body = json::parse(req->body).as_object();
  EXPECT_EQ(body.size(), 3u);
  EXPECT_EQ(body.at("domain_id"), "alice");
  EXPECT_EQ(body.at("request_time").as_int64(), kUnixNanos);

  auto parsed = parseRegisterBody(req->body);
  ASSERT_TRUE(parsed) << parsed.error();
  EXPECT_EQ(parsed->domainId, "alice");
  EXPECT_EQ(parsed->csr, body.at("csr").as_string());
  EXPECT_EQ(parsed->requestTime, kUnixNanos);
  // csr = base64(PEM) with the standard alphabet.
  auto pem = certs::base64Decode(parsed->csr);
  ASSERT_TRUE(pem);
  EXPECT_EQ(pem->rfind("-----BEGIN CERTIFICATE REQUEST-----", 0), 0u);

  auto csr = decodeRegisterCsr(parsed->csr);
  ASSERT_TRUE(csr) << csr.error();
  EXPECT_EQ(certs::csrCommonName(**csr), "alice");
  EXPECT_EQ(certs::csrExtensionValue(**csr, certs::kDeployTokenOid), "TOKEN-abc");
  auto key = certs::csrPublicKey(**csr);
  ASSERT_TRUE(key);
  EXPECT_TRUE(certs::samePublicKey(**key, aliceKey()));

  auto ok = verifyRegisterJwt(req->jwt, **key, *parsed, kNowSeconds);
  EXPECT_TRUE(ok) << ok.error();
  // Five minutes later (plus the skew) the JWT has expired.
  EXPECT_FALSE(verifyRegisterJwt(req->jwt, **key, *parsed, kNowSeconds + 361));
}

TEST(RegisterWire, JwtClaimsAreKusciasShape) {
  auto req = buildRegisterRequest(aliceKey(), "alice", "T", 42, kNowSeconds);
  ASSERT_TRUE(req) << req.error();
  auto claims = verifyJwtRs256(req->jwt, aliceKey(), kNowSeconds);
  ASSERT_TRUE(claims) << claims.error();
  EXPECT_EQ(claims->at("iss"), "alice");
  EXPECT_EQ(claims->at("sub"), "alice");
  EXPECT_EQ(claims->at("iat").as_int64(), kNowSeconds);
  EXPECT_EQ(claims->at("exp").as_int64(), kNowSeconds + 300);
  // req_hash is a Go [32]byte: a JSON array of 32 numbers, SHA-256 of "<id>_<csr>_<time>".
  const json::array& hash = claims->at("req_hash").as_array();
  ASSERT_EQ(hash.size(), 32u);
  std::string csr(json::parse(req->body).at("csr").as_string());
  std::string want = certs::sha256("alice_" + csr + "_42");
  EXPECT_EQ(registerRequestHash("alice", csr, 42), want);
  for (size_t i = 0; i < 32; ++i) EXPECT_EQ(hash[i].as_int64(), uint8_t(want[i])) << i;
}

TEST(RegisterWire, NoTokenMeansNoExtension) {
  auto req = buildRegisterRequest(aliceKey(), "alice", "", 1, kNowSeconds);
  ASSERT_TRUE(req);
  auto csr = decodeRegisterCsr(parseRegisterBody(req->body)->csr);
  ASSERT_TRUE(csr);
  EXPECT_EQ(certs::csrExtensionValue(**csr, certs::kDeployTokenOid), std::nullopt);
}

TEST(RegisterWire, BodyFieldsAreCheckedByName) {
  EXPECT_EQ(parseRegisterBody("{").error().rfind("register request body is not JSON: ", 0), 0u);
  EXPECT_EQ(parseRegisterBody("[]").error(), "register request body is not a JSON object");
  EXPECT_EQ(parseRegisterBody(R"({"csr":"x","request_time":1})").error(),
            "register request has no domain_id");
  EXPECT_EQ(parseRegisterBody(R"({"domain_id":"a","request_time":1})").error(),
            "register request has no csr");
  EXPECT_EQ(parseRegisterBody(R"({"domain_id":1,"csr":"x"})").error(),
            "register request domain_id must be a string");
  EXPECT_EQ(parseRegisterBody(R"({"domain_id":"a","csr":"x","request_time":"1"})").error(),
            "register request request_time must be a 64-bit integer");
  EXPECT_EQ(parseRegisterBody(R"({"domain_id":"a","csr":"x","request_time":1.5})").error(),
            "register request request_time must be a 64-bit integer");
  EXPECT_EQ(parseRegisterBody(R"({"domain_id":"","csr":"x"})").error(),
            "register request domain_id is empty");
  // Go's omitempty drops a zero request_time: absence reads as 0.
  auto noTime = parseRegisterBody(R"({"csr":"x","domain_id":"a","extra":true})");
  ASSERT_TRUE(noTime) << noTime.error();
  EXPECT_EQ(noTime->requestTime, 0);
  auto negative = parseRegisterBody(R"({"domain_id":"a","csr":"x","request_time":-5})");
  ASSERT_TRUE(negative);
  EXPECT_EQ(negative->requestTime, -5);
}

TEST(RegisterWire, CsrDecodingSaysWhatIsWrong) {
  EXPECT_EQ(decodeRegisterCsr("not base64!").error().rfind("csr is not base64: ", 0), 0u);
  EXPECT_EQ(decodeRegisterCsr(certs::base64Encode("hello")).error(), "csr is not PEM");
  EXPECT_EQ(decodeRegisterCsr(certs::base64Encode(caCertPem())).error(),
            "csr PEM type is \"CERTIFICATE\", must be \"CERTIFICATE REQUEST\"");
  std::string junk =
      "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n";
  EXPECT_EQ(decodeRegisterCsr(certs::base64Encode(junk)).error().rfind("csr does not parse: ", 0),
            0u);

  // A CSR whose signature no longer matches its content.
  auto csr = certs::buildCsr(aliceKey(), "alice", "T");
  ASSERT_TRUE(csr);
  unsigned char* der = nullptr;
  int len = i2d_X509_REQ(csr->get(), &der);
  ASSERT_GT(len, 0);
  std::string bytes(reinterpret_cast<char*>(der), size_t(len));
  OPENSSL_free(der);
  bytes[bytes.size() - 5] ^= 0x55;  // inside the signature BIT STRING
  std::string body = certs::base64Encode(bytes);
  std::string pem = "-----BEGIN CERTIFICATE REQUEST-----\n";
  for (size_t i = 0; i < body.size(); i += 64) pem += body.substr(i, 64) + "\n";
  pem += "-----END CERTIFICATE REQUEST-----\n";
  EXPECT_EQ(decodeRegisterCsr(certs::base64Encode(pem)).error(), "csr signature does not verify");
}

TEST(RegisterWire, SmallKeysAreRefused) {
  auto small = certs::generateRsaKey(1024);
  ASSERT_TRUE(small);
  auto req = buildRegisterRequest(**small, "alice", "T", 1, kNowSeconds);
  ASSERT_TRUE(req);
  EXPECT_EQ(decodeRegisterCsr(parseRegisterBody(req->body)->csr).error(),
            "csr key must be RSA of at least 2048 bits (the registration JWT is RS256)");
}

TEST(RegisterWire, JwtMustCoverThisExactRequest) {
  auto req = buildRegisterRequest(aliceKey(), "alice", "T", 7, kNowSeconds);
  ASSERT_TRUE(req);
  auto body = *parseRegisterBody(req->body);
  body.requestTime = 8;
  EXPECT_EQ(verifyRegisterJwt(req->jwt, aliceKey(), body, kNowSeconds).error(),
            "the request content does not match the jwt's req_hash");
  body.requestTime = 7;
  EXPECT_FALSE(verifyRegisterJwt(req->jwt, otherKey(), body, kNowSeconds));

  // req_hash of the wrong shape.
  for (json::value bad : {json::value("abc"), json::value(json::array{1, 2, 3}),
                          json::value(json::array(32, json::value(256)))}) {
    json::object c{{"req_hash", bad}, {"exp", kNowSeconds + 300}};
    EXPECT_EQ(
        verifyRegisterJwt(signJwtRs256(aliceKey(), c), aliceKey(), body, kNowSeconds).error(),
        "jwt req_hash must be an array of 32 bytes");
  }
  json::object noHash{{"exp", kNowSeconds + 300}};
  EXPECT_EQ(
      verifyRegisterJwt(signJwtRs256(aliceKey(), noHash), aliceKey(), body, kNowSeconds).error(),
      "jwt has no req_hash claim");
}

json::object goodReply() {
  return {{"cert", certs::base64Encode(caCertPem())},
          {"master_pubkey", certs::base64Encode(certs::publicKeyToPem(masterKey()))},
          {"ca", certs::base64Encode(caCertPem())}};
}

TEST(RegisterWire, ReplyParses) {
  auto r = parseRegisterReply(json::serialize(goodReply()));
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->certPem, caCertPem());
  EXPECT_EQ(r->caCertPem, caCertPem());
  EXPECT_EQ(r->masterPublicKeyPem, certs::publicKeyToPem(masterKey()));

  // Kuscia's master sends no ca.
  json::object kuscia = goodReply();
  kuscia.erase("ca");
  r = parseRegisterReply(json::serialize(kuscia));
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->caCertPem, "");
}

TEST(RegisterWire, BadRepliesAreNamed) {
  EXPECT_EQ(parseRegisterReply("oops").error().rfind("register reply is not JSON: ", 0), 0u);
  EXPECT_EQ(parseRegisterReply("1").error(), "register reply is not a JSON object");
  auto with = [](const char* name, json::value v) {
    json::object o = goodReply();
    if (v.is_null()) {
      o.erase(name);
    } else {
      o[name] = v;
    }
    return parseRegisterReply(json::serialize(o));
  };
  EXPECT_EQ(with("cert", nullptr).error(), "register reply has no cert");
  EXPECT_EQ(with("cert", 5).error(), "register reply field cert is not a string");
  EXPECT_EQ(with("cert", "***").error(), "register reply field cert is not base64");
  EXPECT_EQ(with("cert", json::value(certs::base64Encode("text"))).error().rfind(
                "register reply cert is not a PEM certificate: ", 0),
            0u);
  EXPECT_EQ(with("master_pubkey", nullptr).error(), "register reply has no master_pubkey");
  EXPECT_EQ(with("master_pubkey", json::value(certs::base64Encode(caCertPem()))).error().rfind(
                "register reply master_pubkey is not a PEM public key: ", 0),
            0u);
  EXPECT_EQ(with("ca", json::value(certs::base64Encode("x"))).error().rfind(
                "register reply ca is not a PEM certificate: ", 0),
            0u);
}

}  // namespace
}  // namespace kgate::auth
