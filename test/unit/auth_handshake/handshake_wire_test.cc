// Handshake messages on the wire: Go encoding/json output byte for byte, and decoding what
// Kuscia (and protojson-style peers) send (controlplane.md 3.2).
#include <gtest/gtest.h>

#include "auth/handshake.h"

namespace kgate::auth {
namespace {

HandshakeRequest sampleRequest() {
  HandshakeRequest r;
  r.domainId = "alice";
  r.token = "dG9rZW4=";
  r.revision = 2;
  r.pubhash = "aGFzaA==";
  r.requestTime = 1712345678901234567;
  return r;
}

TEST(HandshakeWire, RequestEncodesLikeGo) {
  EXPECT_EQ(encodeHandshakeRequest(sampleRequest()),
            R"({"domain_id":"alice","type":"RSA","token_config":{"token":"dG9rZW4=","revision":2,)"
            R"("pubhash":"aGFzaA=="},"request_time":1712345678901234567})");
}

TEST(HandshakeWire, RequestOmitsZeroValues) {
  HandshakeRequest r = sampleRequest();
  r.revision = 0;  // Kuscia's first handshake: omitempty drops it
  r.requestTime = 0;
  EXPECT_EQ(encodeHandshakeRequest(r),
            R"({"domain_id":"alice","type":"RSA","token_config":{"token":"dG9rZW4=",)"
            R"("pubhash":"aGFzaA=="}})");
}

TEST(HandshakeWire, SuccessReplyHasEmptyStatusObject) {
  HandshakeReply r;
  r.token = "c2VjcmV0";
  r.expirationTime = 1712518478901234567;
  r.revision = 1;
  EXPECT_EQ(encodeHandshakeReply(r),
            R"({"status":{},"token":{"token":"c2VjcmV0","expiration_time":1712518478901234567,)"
            R"("revision":1}})");
}

TEST(HandshakeWire, ErrorReplyHasNoToken) {
  HandshakeReply r;
  r.code = 500;
  r.message = "invalid handshake type [FOO]";
  EXPECT_EQ(encodeHandshakeReply(r),
            R"({"status":{"code":500,"message":"invalid handshake type [FOO]"}})");
}

TEST(HandshakeWire, StringsAreEscapedLikeGo) {
  HandshakeReply r;
  r.code = 500;
  r.message = "a<b>&\"c\"\\\n\t\x01 \xc3\xa9 \xff \xe2\x80\xa8/+=";
  EXPECT_EQ(encodeHandshakeReply(r),
            R"({"status":{"code":500,"message":"a\u003cb\u003e\u0026\"c\"\\\n\t\u0001 )"
            "\xc3\xa9"
            R"( \ufffd \u2028/+="}})");
}

TEST(HandshakeWire, DecodesKusciaRequest) {
  auto r = decodeHandshakeRequest(R"({"domain_id": "alice", "type": "RSA",
      "token_config": {"token": "dG9rZW4=", "revision": 7, "pubhash": "aGFzaA=="},
      "request_time": 1712345678901234567})");
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->domainId, "alice");
  EXPECT_EQ(r->type, "RSA");
  EXPECT_EQ(r->token, "dG9rZW4=");
  EXPECT_EQ(r->revision, 7);
  EXPECT_EQ(r->pubhash, "aGFzaA==");
  EXPECT_EQ(r->requestTime, 1712345678901234567);
}

TEST(HandshakeWire, DecodesInt64AsString) {
  auto r = decodeHandshakeRequest(
      R"({"domain_id":"alice","type":"RSA","token_config":{"token":"t","revision":"7",)"
      R"("pubhash":"h"},"request_time":"1712345678901234567"})");
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->revision, 7);
  EXPECT_EQ(r->requestTime, 1712345678901234567);
}

TEST(HandshakeWire, MissingOptionalFieldsAreZero) {
  // Kuscia's first handshake has revision 0, which omitempty leaves out; unknown keys are ignored.
  auto r = decodeHandshakeRequest(
      R"({"domain_id":"alice","type":"RSA","token_config":{"token":"t","pubhash":"h"},"x":[1]})");
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->revision, 0);
  EXPECT_EQ(r->requestTime, 0);

  for (const char* body : {R"({"domain_id":"alice","type":"RSA"})",
                           R"({"domain_id":"alice","type":"RSA","token_config":null})"}) {
    auto bare = decodeHandshakeRequest(body);
    ASSERT_TRUE(bare) << body << ": " << bare.error();
    EXPECT_TRUE(bare->token.empty());
    EXPECT_TRUE(bare->pubhash.empty());
  }
}

TEST(HandshakeWire, MalformedRequestsFail) {  // vector 17: HTTP 400 on the wire
  const char* bodies[] = {
      "",
      "{",
      "not json",
      "[]",
      R"({"type":"RSA"})",
      R"({"domain_id":"","type":"RSA"})",
      R"({"domain_id":7,"type":"RSA"})",
      R"({"domain_id":"alice"})",
      R"({"domain_id":"alice","type":1})",
      R"({"domain_id":"alice","type":"RSA","token_config":"x"})",
      R"({"domain_id":"alice","type":"RSA","token_config":{"token":5}})",
      R"({"domain_id":"alice","type":"RSA","token_config":{"revision":1.5}})",
      R"({"domain_id":"alice","type":"RSA","token_config":{"revision":"1x"}})",
      R"({"domain_id":"alice","type":"RSA","token_config":{"revision":9223372036854775808}})",
      R"({"domain_id":"alice","type":"RSA","request_time":true})",
  };
  for (const char* body : bodies) EXPECT_FALSE(decodeHandshakeRequest(body)) << body;
}

TEST(HandshakeWire, RequestRoundTrips) {
  auto r = decodeHandshakeRequest(encodeHandshakeRequest(sampleRequest()));
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(encodeHandshakeRequest(*r), encodeHandshakeRequest(sampleRequest()));
}

TEST(HandshakeWire, DecodesKusciaReplies) {
  auto ok = decodeHandshakeReply(
      R"({"status":{},"token":{"token":"c2VjcmV0","expiration_time":1712518478901234567,)"
      R"("revision":3}})"
      "\n");  // json.Encoder appends a newline
  ASSERT_TRUE(ok) << ok.error();
  EXPECT_EQ(ok->code, 0);
  EXPECT_EQ(ok->token, "c2VjcmV0");
  EXPECT_EQ(ok->expirationTime, 1712518478901234567);
  EXPECT_EQ(ok->revision, 3);

  auto err = decodeHandshakeReply(R"({"status":{"code":500,"message":"nope"}})");
  ASSERT_TRUE(err) << err.error();
  EXPECT_EQ(err->code, 500);
  EXPECT_EQ(err->message, "nope");
  EXPECT_TRUE(err->token.empty());

  auto strings = decodeHandshakeReply(
      R"({"status":{"code":0},"token":{"token":"t","expiration_time":"12","revision":"4"}})");
  ASSERT_TRUE(strings) << strings.error();
  EXPECT_EQ(strings->expirationTime, 12);
  EXPECT_EQ(strings->revision, 4);
}

TEST(HandshakeWire, MalformedRepliesFail) {
  const char* bodies[] = {
      "", "null", R"({})", R"({"status":null})", R"({"status":"ok"})",
      R"({"status":{"code":"x"}})", R"({"status":{"code":4294967296}})",
      R"({"status":{},"token":[]})", R"({"status":{},"token":{"revision":1.5}})",
  };
  for (const char* body : bodies) EXPECT_FALSE(decodeHandshakeReply(body)) << body;
}

TEST(HandshakeWire, ReplyRoundTrips) {
  HandshakeReply r;
  r.token = "abc=";
  r.expirationTime = 5;
  r.revision = 9;
  auto back = decodeHandshakeReply(encodeHandshakeReply(r));
  ASSERT_TRUE(back) << back.error();
  EXPECT_EQ(back->token, "abc=");
  EXPECT_EQ(back->expirationTime, 5);
  EXPECT_EQ(back->revision, 9);
}

}  // namespace
}  // namespace kgate::auth
