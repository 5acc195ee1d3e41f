// kgate init and kgate start as a user runs them: output, files, and every way to get them wrong.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "integration/node.h"

namespace kgate::test {
namespace {

CommandResult kgate(const std::vector<std::string>& args) {
  std::vector<std::string> argv{kgateBinary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, std::chrono::seconds(60));
}

// One line on stderr, nothing on stdout, the usage exit code.
void expectUsageError(const CommandResult& r, const std::string& needle) {
  EXPECT_EQ(r.exitCode, 2) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST(Init, WritesConfigWithFreshKeyAndNothingOnStderr) {
  auto a = kgate({"init", "--mode", "autonomy", "--domain", "alice"});
  auto b = kgate({"init", "--mode", "autonomy", "--domain", "alice"});
  ASSERT_EQ(a.exitCode, 0);
  EXPECT_TRUE(a.err.empty()) << a.err;
  EXPECT_NE(a.out.find("mode: autonomy"), std::string::npos);
  EXPECT_NE(a.out.find("domainID: alice"), std::string::npos);
  EXPECT_NE(a.out.find("domainKeyData: "), std::string::npos);
  EXPECT_NE(a.out, b.out) << "every init must generate a new key";
  // The key is base64 of a PEM RSA key that openssl accepts as 2048 bits.
  TempDir dir;
  size_t at = a.out.find("domainKeyData: ") + 15;
  std::string b64 = a.out.substr(at, a.out.find('\n', at) - at);
  auto pem = run({"openssl", "base64", "-d", "-A"}, std::chrono::seconds(10), b64);
  writeFile(dir.file("key.pem"), pem.out);
  auto info = run({"openssl", "rsa", "-in", dir.file("key.pem"), "-noout", "-text"});
  EXPECT_EQ(info.exitCode, 0) << info.err;
  EXPECT_NE(info.out.find("2048 bit"), std::string::npos);
}

TEST(Init, LiteAndMasterKeys) {
  auto lite = kgate({"init", "--mode", "lite", "--domain", "alice", "--master-endpoint",
                     "https://1.1.1.1:18080", "--lite-deploy-token", "abc"});
  ASSERT_EQ(lite.exitCode, 0) << lite.err;
  EXPECT_NE(lite.out.find("masterEndpoint: https://1.1.1.1:18080"), std::string::npos);
  EXPECT_NE(lite.out.find("liteDeployToken: abc"), std::string::npos);
  auto master = kgate({"init", "--mode", "master", "--domain", "mycompany-secretflow-master"});
  ASSERT_EQ(master.exitCode, 0) << master.err;
  EXPECT_NE(master.out.find("datastoreEndpoint:"), std::string::npos);
}

// An operator's own domain key (Kuscia's domainKeyData from elsewhere); the test harness gives
// every node one of the run's pre-generated keys this way.
TEST(Init, DomainKeyFileIsTakenAsGiven) {
  TempDir dir;
  auto gen = run({"openssl", "genrsa", "-out", dir.file("domain.key"), "2048"});
  ASSERT_EQ(gen.exitCode, 0) << gen.err;
  auto r = kgate({"init", "--mode", "autonomy", "--domain", "alice", "--domain-key-file",
                  dir.file("domain.key")});
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_TRUE(r.err.empty()) << r.err;
  auto b64 = run({"openssl", "base64", "-A", "-in", dir.file("domain.key")});
  EXPECT_NE(r.out.find("\ndomainKeyData: " + b64.out + "\n"), std::string::npos) << r.out;
}

TEST(Init, DomainKeyFileThatIsNoUsableDomainKeyFailsWithOneClearLine) {
  TempDir dir;
  auto init = [&](const std::string& file) {
    return kgate({"init", "--mode", "autonomy", "--domain", "alice", "-f", dir.file(file)});
  };
  expectUsageError(init("missing.key"), "--domain-key-file: cannot open");
  writeFile(dir.file("junk.key"), "-----BEGIN RSA PRIVATE KEY-----\nnot a key\n");
  expectUsageError(init("junk.key"), "--domain-key-file " + dir.file("junk.key") + ": cannot");
  // Keys openssl accepts, but not as a domain key: the handshake and registration need RSA-2048+.
  ASSERT_EQ(run({"openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                 "-out", dir.file("ec.key")})
                .exitCode,
            0);
  ASSERT_EQ(run({"openssl", "genrsa", "-out", dir.file("small.key"), "1024"}).exitCode, 0);
  for (std::string file : {"ec.key", "small.key"})
    expectUsageError(init(file), "must be RSA of 2048 bits or more");
}

TEST(Init, BadFlagsFailWithOneClearLine) {
  expectUsageError(kgate({"init", "--mode", "autonomy"}), "--domain is required");
  expectUsageError(kgate({"init", "--domain", "alice"}), "--mode is required");
  expectUsageError(kgate({"init", "--mode", "autonomy", "--domain", "Alice_1"}), "invalid");
  expectUsageError(kgate({"init", "--mode", "autonomy", "--domain", "master"}), "reserved");
  expectUsageError(kgate({"init", "--mode", "autonomy", "--domain", "kube-system"}), "reserved");
  expectUsageError(kgate({"init", "--mode", "boss", "--domain", "alice"}), "unsupported mode");
  expectUsageError(kgate({"init", "--mode", "lite", "--domain", "alice"}), "--master-endpoint");
  expectUsageError(kgate({"init", "--mode", "autonomy", "--domain", "alice", "--colour", "red"}),
                   "unknown flag --colour");
  expectUsageError(kgate({"init", "--mode", "autonomy", "--domain", "alice", "--protocol", "SSL"}),
                   "unsupported protocol");
  expectUsageError(kgate({"init", "--mode", "lite", "--domain", "alice", "--master-endpoint",
                          "ftp://x"}),
                   "--master-endpoint");
}

TEST(Start, CreatesDataDirCaAndServerCertificate) {
  TempDir dir;
  // kgate's own keys, not the pool's: this test checks what it writes and with which modes.
  Node alice(dir, {.domain = "alice", .ip = "127.0.0.2", .generatedKeys = true});
  alice.appendConfig("hostNames: [alice.example.com]");
  alice.start();
  std::string out = alice.process().stdoutText();
  EXPECT_NE(out.find("LISTENER"), std::string::npos) << out;
  for (std::string name : {"external", "internal", "api", "metrics"})
    EXPECT_NE(out.find(name + " "), std::string::npos) << out;
  EXPECT_NE(out.find("127.0.0.2:" + std::to_string(alice.externalPort())), std::string::npos);

  std::string certs = alice.dataDir() + "/certs";
  for (std::string key : {"ca.key", "external.key", "api.key", "token"}) {
    struct stat st{};
    ASSERT_EQ(stat((certs + "/" + key).c_str(), &st), 0) << key;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << key;
  }
  auto x509 = run({"openssl", "x509", "-in", certs + "/external.crt", "-noout", "-subject",
                   "-issuer", "-ext", "subjectAltName"});
  EXPECT_NE(x509.out.find("CN = alice_ENVOY_EXTERNAL"), std::string::npos) << x509.out;
  EXPECT_NE(x509.out.find("issuer=CN = Kuscia"), std::string::npos) << x509.out;
  EXPECT_NE(x509.out.find("IP Address:127.0.0.1"), std::string::npos) << x509.out;
  EXPECT_NE(x509.out.find("DNS:alice.example.com"), std::string::npos) << x509.out;

  // What the client sees on the wire is that certificate, verifiable with the node's CA.
  auto sc = run({"openssl", "s_client", "-connect",
                 "127.0.0.2:" + std::to_string(alice.externalPort()), "-CAfile",
                 certs + "/ca.crt", "-alpn", "h2,http/1.1"},
                std::chrono::seconds(10), "");
  std::string both = sc.out + sc.err;
  EXPECT_NE(both.find("alice_ENVOY_EXTERNAL"), std::string::npos) << both;
  EXPECT_NE(both.find("Verify return code: 0 (ok)"), std::string::npos) << both;
  EXPECT_NE(both.find("ALPN protocol: h2"), std::string::npos) << both;
  EXPECT_EQ(alice.stop(), 0);
}

TEST(Start, ExternalListenerServesTheOperatorsCertificate) {
  TempDir dir;
  auto gen = run({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                  "-subj", "/CN=gw.alice.example", "-keyout", dir.file("ext.key"), "-out",
                  dir.file("ext.crt")});
  ASSERT_EQ(gen.exitCode, 0) << gen.err;
  Node alice(dir, {.domain = "alice", .ip = "127.0.0.2"});
  alice.appendConfig("tls:\n  certFile: " + dir.file("ext.crt") + "\n  keyFile: " +
                     dir.file("missing.key"));
  auto failed = alice.startExpectingFailure();
  EXPECT_NE(failed.exitCode, 0);
  EXPECT_NE(failed.err.find("tls.keyFile"), std::string::npos) << failed.err;

  alice.replaceAppended("tls:\n  certFile: " + dir.file("ext.crt") + "\n  keyFile: " +
                        dir.file("ext.key"));
  alice.start();
  auto sc = run({"openssl", "s_client", "-connect",
                 "127.0.0.2:" + std::to_string(alice.externalPort()), "-CAfile",
                 dir.file("ext.crt"), "-alpn", "h2,http/1.1"},
                std::chrono::seconds(10), "");
  std::string both = sc.out + sc.err;
  EXPECT_NE(both.find("CN = gw.alice.example"), std::string::npos) << both;
  EXPECT_NE(both.find("Verify return code: 0 (ok)"), std::string::npos) << both;
  EXPECT_EQ(alice.stop(), 0);
}

TEST(Start, RestartKeepsTheCaAndCertificates) {
  TempDir dir;
  Node alice(dir, {.domain = "alice"});
  alice.start();
  std::string ca = readFile(alice.dataDir() + "/certs/ca.crt");
  std::string token = readFile(alice.dataDir() + "/certs/token");
  EXPECT_EQ(alice.stop(), 0);
  alice.start();
  EXPECT_EQ(readFile(alice.dataDir() + "/certs/ca.crt"), ca);
  EXPECT_EQ(readFile(alice.dataDir() + "/certs/token"), token);
}

TEST(Start, BusyPortStopsStartupNamingListenerAndPort) {
  TempDir dir;
  Node alice(dir, {.domain = "alice"});
  alice.start();
  Node other(dir, {.domain = "other"});
  // Same ports as alice's: the first listener it tries must say which one is taken.
  auto r = kgate({"start", "-c", other.configPath(), "-p", std::to_string(alice.externalPort()),
                  "-q", std::to_string(alice.internalPort()), "-k", std::to_string(other.apiPort()),
                  "-x", std::to_string(other.metricsPort())});
  EXPECT_EQ(r.exitCode, 1);
  EXPECT_NE(r.err.find("external listener cannot bind 127.0.0.1:" +
                       std::to_string(alice.externalPort())),
            std::string::npos)
      << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  auto r2 = kgate({"start", "-c", other.configPath(), "-p", std::to_string(other.externalPort()),
                   "-q", std::to_string(other.internalPort()), "-k", std::to_string(other.apiPort()),
                   "-x", std::to_string(alice.metricsPort())});
  EXPECT_NE(r2.err.find("metrics listener cannot bind"), std::string::npos) << r2.err;
  EXPECT_TRUE(alice.running());
}

TEST(Start, BadFlagsAndBadConfig) {
  TempDir dir;
  expectUsageError(kgate({"start"}), "-c <config file> is required");
  expectUsageError(kgate({"start", "-c", "x.yaml", "-p", "99999"}), "-p: \"99999\" is not a port");
  expectUsageError(kgate({"start", "-c", "x.yaml", "-g", "28082"}), "no gRPC API port");
  auto missing = kgate({"start", "-c", dir.file("missing.yaml")});
  EXPECT_EQ(missing.exitCode, 1);
  EXPECT_NE(missing.err.find("missing.yaml"), std::string::npos) << missing.err;
  writeFile(dir.file("bad.yaml"), "mode: autonomy\ndomainID: alice\nroutes: 7\n");
  auto bad = kgate({"start", "-c", dir.file("bad.yaml")});
  EXPECT_EQ(bad.exitCode, 1);
  EXPECT_NE(bad.err.find("domainKeyData"), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find("routes"), std::string::npos) << bad.err;
  writeFile(dir.file("badkey.yaml"), "mode: autonomy\ndomainID: alice\ndomainKeyData: aGVsbG8=\n"
                                     "dataDir: " + dir.file("d") + "\n");
  auto badKey = kgate({"start", "-c", dir.file("badkey.yaml")});
  EXPECT_EQ(badKey.exitCode, 1);
  EXPECT_NE(badKey.err.find("domainKeyData does not hold a usable private key"), std::string::npos)
      << badKey.err;
  // A usable key that is no domain key (EC): refused at start, not by the first handshake.
  ASSERT_EQ(run({"openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                 "-out", dir.file("ec.key")})
                .exitCode,
            0);
  auto ecB64 = run({"openssl", "base64", "-A", "-in", dir.file("ec.key")});
  writeFile(dir.file("eckey.yaml"), "mode: autonomy\ndomainID: alice\ndomainKeyData: " + ecB64.out +
                                        "\ndataDir: " + dir.file("d") + "\n");
  auto ecKey = kgate({"start", "-c", dir.file("eckey.yaml")});
  EXPECT_EQ(ecKey.exitCode, 1);
  EXPECT_NE(ecKey.err.find("domainKeyData: a domain key must be RSA of 2048 bits or more"),
            std::string::npos)
      << ecKey.err;
}

}  // namespace
}  // namespace kgate::test
