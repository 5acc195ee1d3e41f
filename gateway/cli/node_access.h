// How the CLI reaches a node's admin API from the node's own machine: the data directory that
// `kgate start` wrote holds node.json (the API endpoint), the node's CA, an admin client
// certificate and the admin token, as Kuscia keeps var/certs/{ca.crt,token}.
#pragma once

#include <string>

#include "conf/result.h"
#include "gateway/cli/flags.h"
#include "gateway/sync_client.h"

namespace kgate::cli {

struct NodeAccess {
  std::string dataDir;
  std::string domainID;
  std::string mode;
  std::string apiEndpoint;  // https://host:port
  std::string caPem, clientCertPem, clientKeyPem, token;
};

// From --data DIR, or -c CONFIG (its dataDir), or the only node data directory in the current
// directory (preferring a master's); --endpoint overrides the API address.
Result<NodeAccess> locateNode(const Flags& flags);

// Calls the node's API. Non-2xx answers become Failures carrying the API's error message.
Result<std::string> callApi(const NodeAccess& node, const std::string& method,
                            const std::string& path, const std::string& body = "");

}  // namespace kgate::cli
