// The key pool keeps its promise: nodes alive together never share a key or a CA, and a node
// that finds no free slot makes its own keys.
#include <gtest/gtest.h>

#include <filesystem>
#include <list>
#include <set>
#include <vector>

#include "integration/key_pool.h"
#include "integration/node.h"

namespace kgate::test {
namespace {

std::string configValue(const Node& node, const std::string& key) {
  std::string text = readFile(node.configPath());
  size_t at = text.find("\n" + key + ": ");
  if (at == std::string::npos) return "";
  at += key.size() + 3;
  return text.substr(at, text.find('\n', at) - at);
}

TEST(KeyPool, SlotsAreTakenOnceAndGivenBackWithTheirHolder) {
  std::vector<PooledKeys> held;
  while (auto keys = PooledKeys::take()) held.push_back(std::move(*keys));
  if (held.empty()) GTEST_SKIP() << "no key pool: run through ctest (fixture \"integration\")";
  std::set<std::string> files;
  for (const PooledKeys& k : held) files.insert(k.domainKeyFile());
  EXPECT_EQ(files.size(), held.size());

  std::string lastFile = held.back().domainKeyFile();
  held.pop_back();
  auto again = PooledKeys::take();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->domainKeyFile(), lastFile);
}

TEST(KeyPool, NodesInOneTestHaveTheirOwnKeysAndCa) {
  const bool pool = PooledKeys::take().has_value();
  TempDir dir;
  std::list<Node> nodes;
  for (std::string domain : {"alice", "bob", "carol", "dave", "erin", "frank"})
    nodes.emplace_back(dir, NodeSpec{.domain = domain});
  std::set<std::string> keys, cas;
  for (const Node& n : nodes) keys.insert(configValue(n, "domainKeyData"));
  EXPECT_EQ(keys.size(), nodes.size());
  if (!pool) GTEST_SKIP() << "no key pool: each node makes its CA at its first start";
  for (const Node& n : nodes) cas.insert(readFile(n.dataDir() + "/certs/ca.key"));
  EXPECT_EQ(cas.size(), nodes.size());
}

TEST(KeyPool, ANodeFindingNoFreeSlotMakesItsOwnKeys) {
  std::vector<PooledKeys> held;
  while (auto keys = PooledKeys::take()) held.push_back(std::move(*keys));
  TempDir dir;
  Node alice(dir, NodeSpec{.domain = "alice"});
  EXPECT_FALSE(std::filesystem::exists(alice.dataDir() + "/certs"));
  alice.start();
  EXPECT_TRUE(std::filesystem::exists(alice.dataDir() + "/certs/ca.key"));
  EXPECT_EQ(alice.stop(), 0);
}

}  // namespace
}  // namespace kgate::test
