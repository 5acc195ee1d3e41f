// A real kgate node for integration tests: `kgate init` writes its config (plus whatever YAML the
// test appends), `kgate start` runs it on free ports of its own loopback address, and start()
// returns once /ready answers 200. Everything it starts dies with the test. Its keys come from
// the run's key pool (key_pool.h) unless NodeSpec::generatedKeys asks kgate to make them.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "integration/key_pool.h"
#include "support/harness.h"

namespace kgate::test {

std::string kgateBinary();
// Runs `kgate <args>` in dir, as an operator in a node's folder would.
CommandResult kgateIn(const TempDir& dir, const std::string& args);

struct NodeSpec {
  std::string domain{};
  std::string mode = "autonomy";
  std::string ip = "127.0.0.1";   // its "machine"
  std::string protocol{};         // --protocol at init: "", "NOTLS", "TLS", "MTLS"
  std::string masterEndpoint{};   // lite: --master-endpoint
  std::string deployToken{};      // lite: --lite-deploy-token
  std::string datastore{};        // master: --datastore-endpoint (mysql://...)
  bool seedDataDir = false;       // leave dataDir to kgate's default (<user>-kgate-<role>...)
  // kgate generates the node's keys itself (domain key at init, CA and leaf keys at first
  // start), for tests of that. Otherwise they come from the run's key pool (key_pool.h).
  bool generatedKeys = false;
};

class Node {
 public:
  Node(const TempDir& dir, NodeSpec spec);

  // YAML appended to the config file (top-level keys); call before start(), or before reload().
  void appendConfig(const std::string& yaml);
  // Replaces everything appended so far (the generated part stays): for reload tests.
  void replaceAppended(const std::string& yaml);
  const std::string& appended() const { return extra_; }
  // Removes a top-level key that `kgate init` wrote (e.g. liteDeployToken).
  void dropGeneratedKey(const std::string& key);
  void start(const std::vector<std::string>& extraArgs = {});
  // SIGHUP, then waits until the node counts the reload (result "ok" or "error").
  void reload(bool expectOk = true);
  // Runs `kgate start` expecting it to fail: returns its exit code and stderr.
  CommandResult startExpectingFailure();
  // SIGTERM and the exit code.
  int stop(std::chrono::milliseconds grace = std::chrono::seconds(30));

  Process& process() { return *process_; }
  bool running() { return process_ && process_->running(); }

  const std::string& domain() const { return spec_.domain; }
  const std::string& ip() const { return spec_.ip; }
  bool externalTls() const;
  uint16_t externalPort() const { return ports_[0]; }
  uint16_t internalPort() const { return ports_[1]; }
  uint16_t apiPort() const { return ports_[2]; }
  uint16_t metricsPort() const { return ports_[3]; }
  std::string externalUrl(const std::string& path = "/") const;  // http[s]://ip:port/path
  std::string internalUrl(const std::string& path = "/") const;
  std::string metricsUrl(const std::string& path = "/metrics") const;
  const std::string& configPath() const { return configPath_; }
  std::string dataDir() const;
  std::string logFile(const std::string& name) const { return dataDir() + "/logs/" + name; }
  std::string metrics() const;  // the /metrics text
  // Value of one sample line, e.g. metric("kgate_config_reloads_total{result=\"ok\"}").
  double metric(const std::string& sample) const;

 private:
  std::string dir_;
  NodeSpec spec_;
  std::string configPath_;
  std::string base_;   // what kgate init wrote, plus the test's fixed keys
  std::string extra_;  // what the test appended
  std::vector<uint16_t> ports_;
  std::optional<PooledKeys> keys_;  // held while the node lives: no live node shares them
  std::optional<Process> process_;
};

// A base64 token that looks like Kuscia's (32 random bytes); fixed per name for readability.
std::string tokenFor(const std::string& name);

// Appends to the config of each node what makes them mutual peers: routes (with the given
// protocol to the peer) and accepted tokens.
void connectPeers(Node& a, Node& b, const std::string& protocol = "http1");

}  // namespace kgate::test
