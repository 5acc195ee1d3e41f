// Loader tests for files and defaults: instance, dataDir, paths, loadConfigFile, the sample.
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>

#include "loader_test_util.h"

namespace kgate::conf {
namespace {

using namespace testing;
namespace fs = std::filesystem;

// Sets or unsets $USER for one test.
class ScopedUser {
 public:
  explicit ScopedUser(const char* value) {
    if (const char* old = std::getenv("USER")) old_ = old;
    if (value) {
      setenv("USER", value, 1);
    } else {
      unsetenv("USER");
    }
  }
  ~ScopedUser() {
    if (old_) {
      setenv("USER", old_->c_str(), 1);
    } else {
      unsetenv("USER");
    }
  }

 private:
  std::optional<std::string> old_;
};

TEST(Loader, MinimalConfigGetsDefaults) {
  ScopedUser user("carol");
  Config c = parsed(kMinimal);
  EXPECT_EQ(c.mode, Mode::Autonomy);
  EXPECT_EQ(c.domainID, "alice");
  EXPECT_EQ(c.domainKeyData, "QUJD");
  EXPECT_EQ(c.logLevel, LogLevel::Info);
  EXPECT_EQ(c.protocol, Protocol::Default);
  EXPECT_EQ(c.errorMessageFormat, ErrorMessageFormat::Seed);
  EXPECT_EQ(c.configPath, kPath);
  EXPECT_EQ(c.dataDir, "/cfg/carol-kgate-autonomy-alice");
  EXPECT_EQ(c.accessLog.directory, "/cfg/carol-kgate-autonomy-alice/logs");
  EXPECT_TRUE(c.accessLog.enabled);
  EXPECT_EQ(c.ports.external, 1080);
  EXPECT_EQ(c.listenAddress, "0.0.0.0");
  EXPECT_EQ(c.limits.headerTimeout, Seconds(10));
}

TEST(Loader, InstanceDefaultsToTheLowerCasedHostName) {
  char buf[256] = {};
  ASSERT_EQ(gethostname(buf, sizeof buf - 1), 0);
  std::string host = buf;
  std::transform(host.begin(), host.end(), host.begin(), [](unsigned char c) {
    return static_cast<char>(std::tolower(c));
  });
  EXPECT_EQ(parsed(kMinimal).instance, host);
  EXPECT_EQ(parsed(kMinimal + "instance: Node-1\n").instance, "Node-1");
  EXPECT_HAS(errorsOf(kMinimal + "instance: \"a b\"\n"), "instance: use letters, digits");
}

TEST(Loader, DataDirRuleByRoleAndUser) {
  ScopedUser user("dave");
  EXPECT_EQ(defaultDataDir(Mode::Master, "m", "/x"), "/x/dave-kgate-master");
  EXPECT_EQ(defaultDataDir(Mode::Lite, "alice", "/x/"), "/x/dave-kgate-lite-alice");
  EXPECT_EQ(defaultDataDir(Mode::Autonomy, "bob", "/x"), "/x/dave-kgate-autonomy-bob");
  Config master = parsed("mode: master\ndomainID: root\ndomainKeyData: QUJD\n");
  EXPECT_EQ(master.dataDir, "/cfg/dave-kgate-master");
  Config lite = parsed("mode: lite\ndomainID: alice\ndomainKeyData: QUJD\n"
                       "masterEndpoint: https://10.0.0.1:18080\n");
  EXPECT_EQ(lite.dataDir, "/cfg/dave-kgate-lite-alice");
}

TEST(Loader, DataDirUserFallsBackToThePasswdName) {
  ScopedUser user(nullptr);
  struct passwd* pw = getpwuid(getuid());
  std::string expected = pw && pw->pw_name && *pw->pw_name ? pw->pw_name : "root";
  EXPECT_EQ(currentUserName(), expected);
  EXPECT_EQ(parsed(kMinimal).dataDir, "/cfg/" + expected + "-kgate-autonomy-alice");
  ScopedUser empty("");
  EXPECT_EQ(currentUserName(), expected);
}

TEST(Loader, RelativePathsAreResolvedAgainstTheConfigDirectory) {
  Config c = parsed(kMinimal + "dataDir: data/../state/\naccessLog:\n  directory: logs\n");
  EXPECT_EQ(c.dataDir, "/cfg/state");
  EXPECT_EQ(c.accessLog.directory, "/cfg/logs");
  Config abs = parsed(kMinimal + "dataDir: /var/lib/kgate\n");
  EXPECT_EQ(abs.dataDir, "/var/lib/kgate");
  EXPECT_EQ(abs.accessLog.directory, "/var/lib/kgate/logs");
}

TEST(Loader, EmptyConfigPathUsesAPlaceholderAndTheWorkingDirectory) {
  ScopedUser user("erin");
  auto r = parseConfig(kMinimal, "");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->dataDir, (fs::current_path() / "erin-kgate-autonomy-alice").string());
  EXPECT_HAS(parseConfig("mode: x\n", "").error(), "<config>:1: mode:");
}

class LoadFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("kgate-conf-test-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
    return (dir_ / name).string();
  }
  fs::path dir_;
};

TEST_F(LoadFile, SetsTheAbsolutePathAndUsesItsDirectory) {
  ScopedUser user("frank");
  write("node.yaml", kMinimal);
  fs::path old = fs::current_path();
  fs::current_path(dir_);
  auto r = loadConfigFile("node.yaml");
  fs::current_path(old);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->configPath, (dir_ / "node.yaml").string());
  EXPECT_EQ(r->dataDir, (dir_ / "frank-kgate-autonomy-alice").string());
}

TEST_F(LoadFile, ErrorsNameTheFileAsGiven) {
  write("bad.yaml", kMinimal + "bogus: 1\n");
  fs::path old = fs::current_path();
  fs::current_path(dir_);
  auto r = loadConfigFile("bad.yaml");
  fs::current_path(old);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), "bad.yaml:4: bogus: unknown key \"bogus\"");
}

TEST_F(LoadFile, MissingFileAndDirectory) {
  auto missing = loadConfigFile((dir_ / "nope.yaml").string());
  ASSERT_FALSE(missing.ok());
  EXPECT_HAS(missing.error(), "nope.yaml: cannot open: No such file or directory");
  auto d = loadConfigFile(dir_.string());
  ASSERT_FALSE(d.ok());
  EXPECT_HAS(d.error(), ": is a directory, expected a YAML file");
}

TEST(Sample, NodeYamlParses) {
  ScopedUser user("sam");
  const std::string path = std::string(KGATE_SOURCE_DIR) + "/conf/samples/node.yaml";
  auto r = loadConfigFile(path);
  ASSERT_TRUE(r.ok()) << r.error();
  const Config& c = *r;
  EXPECT_EQ(c.mode, Mode::Autonomy);
  EXPECT_EQ(c.domainID, "alice");
  ASSERT_EQ(c.services.size(), 2u);
  EXPECT_EQ(c.services[0].name, "echo");
  EXPECT_EQ(c.services[0].endpoint.url(), "http://127.0.0.1:9000");
  EXPECT_EQ(c.services[1].protocol, UpstreamProtocol::Http2);
  ASSERT_EQ(c.routes.size(), 1u);
  EXPECT_EQ(c.routes[0].destination, "bob");
  EXPECT_EQ(c.routes[0].endpoint.port, 38080);
  ASSERT_EQ(c.tokens.count("bob"), 1u);
  EXPECT_EQ(c.tokens.at("bob").size(), 1u);
  // The sample states the defaults; loading it must give the same values as config.h.
  Limits defaults;
  EXPECT_EQ(c.limits.maxHeaderBytes, defaults.maxHeaderBytes);
  EXPECT_EQ(c.limits.maxHeaderCount, defaults.maxHeaderCount);
  EXPECT_EQ(c.limits.maxBodyBytes, defaults.maxBodyBytes);
  EXPECT_EQ(c.limits.maxConnections, defaults.maxConnections);
  EXPECT_EQ(c.limits.headerTimeout, defaults.headerTimeout);
  EXPECT_EQ(c.limits.idleTimeout, defaults.idleTimeout);
  EXPECT_EQ(c.limits.streamIdleTimeout, defaults.streamIdleTimeout);
  EXPECT_EQ(c.limits.sendTimeout, defaults.sendTimeout);
  EXPECT_EQ(c.limits.connectTimeout, defaults.connectTimeout);
  EXPECT_EQ(c.limits.upstreamIdleTimeout, defaults.upstreamIdleTimeout);
  EXPECT_EQ(c.limits.drainTimeout, defaults.drainTimeout);
  EXPECT_EQ(c.limits.maxConcurrentStreams, defaults.maxConcurrentStreams);
  EXPECT_EQ(c.limits.streamWindowBytes, defaults.streamWindowBytes);
  Ports ports;
  EXPECT_EQ(c.ports.external, ports.external);
  EXPECT_EQ(c.ports.internal, ports.internal);
  EXPECT_EQ(c.ports.api, ports.api);
  EXPECT_EQ(c.ports.metrics, ports.metrics);
  EXPECT_EQ(c.workers, 0u);
  EXPECT_TRUE(c.pinWorkers);
  EXPECT_EQ(c.listenAddress, "0.0.0.0");
  EXPECT_EQ(c.protocol, Protocol::Default);
  EXPECT_EQ(c.errorMessageFormat, ErrorMessageFormat::Seed);
  EXPECT_EQ(c.dataDir, std::string(KGATE_SOURCE_DIR) + "/conf/samples/sam-kgate-autonomy-alice");
}

}  // namespace
}  // namespace kgate::conf
