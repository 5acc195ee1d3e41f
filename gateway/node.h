// A running node: loads the config, prepares the data directory and PKI, binds every listener,
// starts the workers and serves until SIGTERM/SIGINT (drain) while SIGHUP reloads the config.
// This is the composition root of `kgate start`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace kgate {

struct StartOptions {
  std::string configPath;
  std::optional<uint16_t> externalPort, internalPort, apiPort, metricsPort;
  std::string dataDir;               // overrides the config's
  std::optional<unsigned> workers;   // overrides the config's
};

// Runs the node; returns the process exit code. Start-up failures print one line to stderr.
int runNode(const StartOptions& options);

}  // namespace kgate
