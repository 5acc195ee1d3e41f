// The YAML that `kgate init` prints: the minimal config of a new node, commented enough to
// extend by hand. parseConfig(renderInitYaml(o)) succeeds whenever the options are valid (a
// valid domain ID and, for a lite, a masterEndpoint URL).
#pragma once

#include <string>
#include <string_view>

#include "conf/config.h"

namespace kgate::conf {

struct InitOptions {
  Mode mode = Mode::Autonomy;
  std::string domainID;
  std::string domainKeyPem;  // the PEM text; written base64-encoded as domainKeyData
  LogLevel logLevel = LogLevel::Info;
  Protocol protocol = Protocol::Default;
  std::string masterEndpoint, liteDeployToken, datastoreEndpoint;
};

// Keys in Kuscia's order: mode, domainID, domainKeyData, logLevel, [protocol], then
// liteDeployToken + masterEndpoint (lite) or datastoreEndpoint (master, autonomy).
std::string renderInitYaml(const InitOptions& options);

// Standard base64 with padding (RFC 4648 section 4), one line.
std::string base64Encode(std::string_view bytes);

}  // namespace kgate::conf
