// The seed tutorial's health probe: `curl -kvvv https://ip:port` gets exactly this answer,
// whatever HTTP version the client speaks (SPEC.md, "The 401 probe").
#include <gtest/gtest.h>

#include "integration/node.h"

namespace kgate::test {
namespace {

class Probe : public ::testing::Test {
 protected:
  void SetUp() override {
    node_.emplace(dir_, NodeSpec{.domain = "alice", .ip = "127.0.0.2"});
    node_->start();
  }
  const std::string expectedBody =
      "{\"domain\":\"alice\",\"instance\":\"alice-gw\",\"kuscia\":\"v0.1.0\","
      "\"reason\":\"unauthorized.\"}\n";
  const std::string expectedMessage = "Domain alice.alice-gw<--127.0.0.2 return http code 401.";

  void expectProbeAnswer(const HttpReply& r) {
    EXPECT_EQ(r.curlExit, 0) << r.curlStderr;
    EXPECT_EQ(r.status, 401);
    EXPECT_EQ(r.header("server"), "kuscia-gateway");
    EXPECT_EQ(r.header("x-accel-buffering"), "no");
    EXPECT_EQ(r.header("content-type"), "text/plain");
    EXPECT_EQ(r.header("kuscia-error-message"), expectedMessage);
    EXPECT_EQ(r.header("content-length"), std::to_string(expectedBody.size()));
    EXPECT_EQ(r.body, expectedBody);
  }

  TempDir dir_;
  std::optional<Node> node_;
};

TEST_F(Probe, Http11) {
  auto r = curl({"-k", "--http1.1", node_->externalUrl()});
  EXPECT_EQ(r.httpVersion, "1.1");
  expectProbeAnswer(r);
}

TEST_F(Probe, Http2ByAlpn) {
  auto r = curl({"-k", "--http2", node_->externalUrl()});
  EXPECT_EQ(r.httpVersion, "2");
  expectProbeAnswer(r);
}

TEST_F(Probe, Http2PriorKnowledgeOverTls) {
  auto r = curl({"-k", "--http2-prior-knowledge", node_->externalUrl("/anything?x=1")});
  EXPECT_EQ(r.httpVersion, "2");
  expectProbeAnswer(r);
}

TEST_F(Probe, TheSeedCommandLine) {
  // Exactly what the tutorial runs, including its verbose output on stderr.
  auto r = run({"curl", "-kvvv", node_->externalUrl()});
  EXPECT_EQ(r.exitCode, 0);
  EXPECT_EQ(r.out, expectedBody);
  EXPECT_NE(r.err.find("subject: CN=alice_ENVOY_EXTERNAL"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("issuer: CN=Kuscia"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("kuscia-error-message: " + expectedMessage), std::string::npos) << r.err;
}

TEST_F(Probe, Nghttp) {
  auto r = run({"nghttp", "-v", node_->externalUrl()});
  EXPECT_NE(r.out.find(":status: 401"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("kuscia-error-message: " + expectedMessage), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("server: kuscia-gateway"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(expectedBody.substr(0, 20)), std::string::npos) << r.out;
}

TEST_F(Probe, PortStrippedFromHostAndHostNamesKept) {
  auto r = curl({"-k", node_->externalUrl(), "-H", "Host: gw.example.com:8443"});
  EXPECT_EQ(r.header("kuscia-error-message"),
            "Domain alice.alice-gw<--gw.example.com return http code 401.");
}

TEST_F(Probe, HeadHasNoBody) {
  auto r = curl({"-k", "-I", node_->externalUrl()});
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.header("content-length"), std::to_string(expectedBody.size()));
  // curl -I prints the head where the body would go; the JSON must not follow it.
  EXPECT_EQ(r.body.find("unauthorized."), std::string::npos) << r.body;
}

TEST(ProbePlain, NoTlsNodeAnswersOverPlainHttpAndH2c) {
  TempDir dir;
  Node bob(dir, {.domain = "bob", .ip = "127.0.0.3", .protocol = "NOTLS"});
  bob.start();
  auto h1 = curl({bob.externalUrl()});
  EXPECT_EQ(h1.status, 401);
  EXPECT_EQ(h1.header("kuscia-error-message"), "Domain bob.bob-gw<--127.0.0.3 return http code 401.");
  auto h2c = curl({"--http2-prior-knowledge", bob.externalUrl()});
  EXPECT_EQ(h2c.httpVersion, "2");
  EXPECT_EQ(h2c.status, 401);
}

TEST(ProbeChained, ChainedFormatNamesTheListenerAndCause) {
  TempDir dir;
  Node bob(dir, {.domain = "bob", .protocol = "NOTLS"});
  bob.appendConfig("errorMessageFormat: chained");
  bob.start();
  EXPECT_EQ(curl({bob.externalUrl()}).header("kuscia-error-message"),
            "<bob/bob-gw/external $no_source$ Unauthorized>");
  EXPECT_EQ(curl({bob.externalUrl(), "-H", "Kuscia-Source: carol"}).header("kuscia-error-message"),
            "<bob/bob-gw/external $unknown_source$ Unauthorized>");
}

}  // namespace
}  // namespace kgate::test
