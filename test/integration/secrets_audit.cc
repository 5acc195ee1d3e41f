// Issue 6: no secret reaches a log. Every test directory is audited before it is removed: the
// secrets the test's nodes were given or made (domain keys, deploy tokens, route tokens, the
// admin token, private key files) are collected from their configs and data directories, and
// every log there (the nodes' stdout and stderr, the access logs) must contain none of them.
// Key files must be 0600.
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "support/harness.h"

namespace kgate::test {
namespace {

namespace fs = std::filesystem;

// Long enough that a match is the secret itself, not a coincidence.
constexpr size_t kMinSecret = 16;
// Pieces of a long secret (a base64 key) are searched too: a log might hold only part of it.
constexpr size_t kPiece = 48;

void addSecret(std::set<std::string>& out, const std::string& value) {
  if (value.size() < kMinSecret) return;
  if (value.size() <= kPiece) {
    out.insert(value);
    return;
  }
  for (size_t i = 0; i + kPiece <= value.size(); i += kPiece) out.insert(value.substr(i, kPiece));
}

std::string unquote(std::string v) {
  while (!v.empty() && std::isspace(static_cast<unsigned char>(v.back()))) v.pop_back();
  if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'') && v.back() == v.front())
    v = v.substr(1, v.size() - 2);
  return v;
}

std::set<std::string> collectSecrets(const fs::path& dir) {
  std::set<std::string> secrets;
  static const std::regex yamlKey(R"(^\s*(domainKeyData|liteDeployToken|token):\s*(\S.*)$)");
  static const std::regex jsonToken(R"re("token"\s*:\s*"([^"]+)")re");
  // Tokens in the static config (`tokens: {bob: ["..."]}`, `token: "..."`): quoted base64.
  static const std::regex quotedBase64(R"re("([A-Za-z0-9+/=_-]{16,})")re");
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (ec || !it->is_regular_file(ec)) continue;
    const fs::path& p = it->path();
    const std::string name = p.filename().string();
    const std::string ext = p.extension().string();
    if (ext == ".yaml") {
      std::istringstream in(readFile(p.string()));
      std::smatch m;
      for (std::string line; std::getline(in, line);) {
        if (std::regex_match(line, m, yamlKey)) addSecret(secrets, unquote(m[2].str()));
        for (std::sregex_iterator q(line.begin(), line.end(), quotedBase64), end; q != end; ++q)
          addSecret(secrets, (*q)[1].str());
      }
    } else if (name == "routes.json") {
      std::string text = readFile(p.string());
      for (std::sregex_iterator m(text.begin(), text.end(), jsonToken), end; m != end; ++m)
        addSecret(secrets, (*m)[1].str());
    } else if (ext == ".key") {
      struct stat st{};
      if (::stat(p.c_str(), &st) == 0 && p.parent_path().filename() == "certs") {
        EXPECT_EQ(st.st_mode & 0777, 0600u) << p << " is a private key";
      }
      std::istringstream in(readFile(p.string()));
      for (std::string line; std::getline(in, line);)
        if (line.rfind("-----", 0) != 0) addSecret(secrets, line);
    } else if (name == "token" && p.parent_path().filename() == "certs") {
      addSecret(secrets, unquote(readFile(p.string())));
    }
  }
  return secrets;
}

bool isLog(const fs::path& p) {
  const std::string ext = p.extension().string();
  return ext == ".err" || ext == ".out" || ext == ".log";
}

void audit(const std::string& path) {
  const fs::path dir(path);
  std::set<std::string> secrets = collectSecrets(dir);
  if (secrets.empty()) return;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (ec || !it->is_regular_file(ec) || !isLog(it->path())) continue;
    // The test database server's own log holds no kgate secret and is large.
    if (it->path().string().find("mariadb") != std::string::npos) continue;
    const std::string text = readFile(it->path().string());
    for (const std::string& secret : secrets)
      if (text.find(secret) != std::string::npos)
        ADD_FAILURE() << "a secret (" << secret.substr(0, 6) << "...) is in the log "
                      << it->path().string();
  }
}

class SecretsAudit : public ::testing::Environment {
 public:
  void SetUp() override { setTempDirInspector(audit); }
  void TearDown() override { setTempDirInspector(nullptr); }
};

const auto* const kRegistered = ::testing::AddGlobalTestEnvironment(new SecretsAudit);

// The audit finds what it looks for: each kind of secret, planted in a log, is reported.
TEST(SecretsAudit, FindsEveryKindOfSecretPlantedInALog) {
  TempDir dir;
  const std::string key(100, 'K');  // a domainKeyData: long, found by its pieces
  writeFile(dir.file("node.yaml"), "domainKeyData: " + key +
                                       "\nliteDeployToken: \"plantedDeployToken0123456789\"\n"
                                       "tokens:\n  bob: [\"plantedStaticToken0123456789==\"]\n");
  fs::create_directories(dir.file("data/certs"));
  writeFile(dir.file("data/routes.json"), R"({"source":{"a-b":{"current":{"token":"plantedRouteToken0123456789="}}}})");
  writeFile(dir.file("data/certs/token"), "plantedAdminToken0123456789\n");
  writeFile(dir.file("data/certs/x.key"), "-----BEGIN PRIVATE KEY-----\nplantedKeyLine0123456789abcdef\n");
  ::chmod(dir.file("data/certs/x.key").c_str(), 0600);
  const std::vector<std::string> planted{key.substr(0, kPiece), "plantedDeployToken0123456789",
                                         "plantedStaticToken0123456789==",
                                         "plantedRouteToken0123456789=", "plantedAdminToken0123456789",
                                         "plantedKeyLine0123456789abcdef"};
  for (size_t i = 0; i < planted.size(); ++i)
    writeFile(dir.file("log" + std::to_string(i) + ".err"), "... " + planted[i] + " ...\n");
  writeFile(dir.file("data/clean.log"), "nothing to see\n");
  ::testing::TestPartResultArray failures;
  {
    ::testing::ScopedFakeTestPartResultReporter reporter(
        ::testing::ScopedFakeTestPartResultReporter::INTERCEPT_ONLY_CURRENT_THREAD, &failures);
    audit(dir.path());
  }
  ASSERT_EQ(failures.size(), static_cast<int>(planted.size()));
  for (size_t i = 0; i < planted.size(); ++i) fs::remove(dir.file("log" + std::to_string(i) + ".err"));
}

}  // namespace
}  // namespace kgate::test
