#include "conf/init_yaml.h"

#include <gtest/gtest.h>

#include <sstream>
#include <vector>

#include "conf/loader.h"

namespace kgate::conf {
namespace {

const char* kPem =
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY-----\n";

// Top-level keys in output order (lines that are neither comments nor indented).
std::vector<std::string> keysOf(const std::string& yaml) {
  std::vector<std::string> keys;
  std::istringstream in(yaml);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#' || line[0] == ' ') continue;
    keys.push_back(line.substr(0, line.find(':')));
  }
  return keys;
}

InitOptions options(Mode mode, const std::string& domain) {
  InitOptions o;
  o.mode = mode;
  o.domainID = domain;
  o.domainKeyPem = kPem;
  return o;
}

TEST(Base64, Rfc4648Vectors) {
  EXPECT_EQ(base64Encode(""), "");
  EXPECT_EQ(base64Encode("f"), "Zg==");
  EXPECT_EQ(base64Encode("fo"), "Zm8=");
  EXPECT_EQ(base64Encode("foo"), "Zm9v");
  EXPECT_EQ(base64Encode("foob"), "Zm9vYg==");
  EXPECT_EQ(base64Encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64Encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64Encode(std::string("\xff\xfe\x00", 3)), "//4A");
}

TEST(InitYaml, MasterRoundTripsWithKeysInOrder) {
  InitOptions o = options(Mode::Master, "root");
  std::string y = renderInitYaml(o);
  EXPECT_EQ(keysOf(y), (std::vector<std::string>{"mode", "domainID", "domainKeyData", "logLevel",
                                                 "datastoreEndpoint"}));
  EXPECT_NE(y.find("mode: master\n"), std::string::npos) << y;
  EXPECT_NE(y.find("logLevel: INFO\n"), std::string::npos) << y;
  EXPECT_NE(y.find("datastoreEndpoint: \"\"\n"), std::string::npos) << y;
  EXPECT_NE(y.find("# Empty = embedded SQLite in the data directory; "
                   "mysql://user:pass@host:3306/db = MySQL/MariaDB."),
            std::string::npos)
      << y;
  EXPECT_EQ(y.find("# services:"), std::string::npos) << "no routing example on a master";
  EXPECT_NE(y.find("conf/samples/node.yaml"), std::string::npos);
  auto c = parseConfig(y, "/tmp/master.yaml");
  ASSERT_TRUE(c.ok()) << c.error() << "\n" << y;
  EXPECT_EQ(c->mode, Mode::Master);
  EXPECT_EQ(c->domainID, "root");
  EXPECT_EQ(c->domainKeyData, base64Encode(kPem));
  EXPECT_EQ(c->protocol, Protocol::Default);
  EXPECT_EQ(c->datastoreEndpoint, "");
}

TEST(InitYaml, LiteRoundTripsWithKeysInOrder) {
  InitOptions o = options(Mode::Lite, "alice");
  o.masterEndpoint = "https://1.1.1.1:18080";
  o.liteDeployToken = "abcDEF23456789ghijkLMNPQRSTUVWXY";
  o.protocol = Protocol::NoTls;
  o.logLevel = LogLevel::Debug;
  std::string y = renderInitYaml(o);
  EXPECT_EQ(keysOf(y), (std::vector<std::string>{"mode", "domainID", "domainKeyData", "logLevel",
                                                 "protocol", "liteDeployToken",
                                                 "masterEndpoint"}));
  EXPECT_NE(y.find("protocol: NOTLS\n"), std::string::npos) << y;
  EXPECT_NE(y.find("masterEndpoint: https://1.1.1.1:18080\n"), std::string::npos) << y;
  EXPECT_NE(y.find("# services:"), std::string::npos) << y;
  EXPECT_NE(y.find("<name>.alice.svc"), std::string::npos) << y;
  auto c = parseConfig(y, "/tmp/lite_alice.yaml");
  ASSERT_TRUE(c.ok()) << c.error() << "\n" << y;
  EXPECT_EQ(c->mode, Mode::Lite);
  EXPECT_EQ(c->logLevel, LogLevel::Debug);
  EXPECT_EQ(c->protocol, Protocol::NoTls);
  EXPECT_EQ(c->masterEndpoint, o.masterEndpoint);
  EXPECT_EQ(c->liteDeployToken, o.liteDeployToken);
}

TEST(InitYaml, AutonomyRoundTripsWithKeysInOrder) {
  InitOptions o = options(Mode::Autonomy, "bob");
  o.protocol = Protocol::Mtls;
  o.datastoreEndpoint = "mysql://u:p@db:3306/kgate";
  std::string y = renderInitYaml(o);
  EXPECT_EQ(keysOf(y), (std::vector<std::string>{"mode", "domainID", "domainKeyData", "logLevel",
                                                 "protocol", "datastoreEndpoint"}));
  EXPECT_NE(y.find("# routes:"), std::string::npos) << y;
  EXPECT_NE(y.find("# tokens:"), std::string::npos) << y;
  auto c = parseConfig(y, "/tmp/autonomy.yaml");
  ASSERT_TRUE(c.ok()) << c.error() << "\n" << y;
  EXPECT_EQ(c->protocol, Protocol::Mtls);
  EXPECT_EQ(c->datastoreEndpoint, o.datastoreEndpoint);
}

TEST(InitYaml, TheCommentedExampleParsesWhenUncommented) {
  std::string y = renderInitYaml(options(Mode::Autonomy, "alice"));
  std::string uncommented;
  std::istringstream in(y);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("# ", 0) == 0 && (line.find("services:") == 2 || line.find("routes:") == 2 ||
                                     line.find("tokens:") == 2 || line.rfind("#   ", 0) == 0)) {
      line = line.substr(2);
    }
    uncommented += line + "\n";
  }
  auto c = parseConfig(uncommented, "/tmp/x.yaml");
  ASSERT_TRUE(c.ok()) << c.error() << "\n" << uncommented;
  EXPECT_EQ(c->services.size(), 1u);
  EXPECT_EQ(c->routes.size(), 1u);
  EXPECT_EQ(c->tokens.size(), 1u);
}

TEST(InitYaml, AwkwardValuesAreQuotedAndSurvive) {
  InitOptions o = options(Mode::Lite, "alice");
  o.masterEndpoint = "https://m:18080";
  for (std::string token : {"yes", "null", "a: b", "#x", "q\"uote\\", "-dash", "tab\there"}) {
    o.liteDeployToken = token;
    std::string y = renderInitYaml(o);
    auto c = parseConfig(y, "/tmp/x.yaml");
    ASSERT_TRUE(c.ok()) << token << ": " << c.error() << "\n" << y;
    EXPECT_EQ(c->liteDeployToken, token);
  }
}

}  // namespace
}  // namespace kgate::conf
