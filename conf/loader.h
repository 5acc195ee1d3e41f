// Loading and validating the node's YAML config. The only place in kgate that reads YAML: the
// rest of the code gets a conf::Config of plain values. Never throws.
#pragma once

#include <string>
#include <string_view>

#include "conf/config.h"
#include "conf/result.h"

namespace kgate::conf {

// Reads and parses `path`; configPath is set to its absolute form. Errors name `path` as given.
Result<Config> loadConfigFile(const std::string& path);

// Parses YAML text. `configPath` is used in messages ("<config>" if empty), is stored in
// Config::configPath, and its directory anchors relative paths and the default dataDir (the
// current directory when it is empty). All problems are reported at once, one per line:
// "<file>[:<line>]: <key path>: <message>", e.g. "node.yaml:12: routes[1].endpoint: ...".
Result<Config> parseConfig(std::string_view yamlText, const std::string& configPath);

// The user name in default paths: $USER, else the passwd entry of the uid, else "root".
std::string currentUserName();

// "<baseDir>/<user>-kgate-master", or "<baseDir>/<user>-kgate-<lite|autonomy>-<domainID>" (the
// seed's ${USER}-kuscia-<role>[-<domain>] layout). `baseDir` is normally the config's directory.
std::string defaultDataDir(Mode mode, std::string_view domainID, const std::string& baseDir);

// The four listener ports are pairwise distinct; the error names the clashing pair. For the CLI,
// which overrides ports from flags (-p -q -k -x) after loading.
Result<void> validatePorts(const Ports& ports);

}  // namespace kgate::conf
