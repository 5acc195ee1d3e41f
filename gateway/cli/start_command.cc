// kgate start: parses the flags the tutorial uses (-c, -p, -k, -q, -x) and runs the node.
#include <iostream>

#include "gateway/cli/commands.h"
#include "gateway/cli/flags.h"
#include "gateway/node.h"

namespace kgate::cli {

int startCommand(const std::vector<std::string>& args) {
  auto flags = Flags::parse(
      args, {
                {"config", "c", true, ""},
                {"port", "p", true, ""},
                {"internal-port", "q", true, ""},
                {"api-port", "k", true, ""},
                {"metrics-port", "x", true, ""},
                {"data-dir", "", true, ""},
                {"workers", "", true, ""},
                {"grpc-port", "g", true,
                 "kgate has no gRPC API port; drop -g (the API is HTTPS on -k)"},
                {"image", "a", true, "kgate imports no engine images; drop -a"},
                {"memory-limit", "m", true, "kgate runs no container; drop -m"},
            });
  if (!flags) {
    std::cerr << "kgate start: " << flags.error() << std::endl;
    return 2;
  }
  StartOptions o;
  if (!flags->has("config")) {
    std::cerr << "kgate start: -c <config file> is required (kgate init writes one)" << std::endl;
    return 2;
  }
  o.configPath = *flags->get("config");
  struct PortFlag {
    const char* name;
    const char* shown;
    std::optional<uint16_t>* target;
  };
  for (PortFlag p : {PortFlag{"port", "-p", &o.externalPort},
                     PortFlag{"internal-port", "-q", &o.internalPort},
                     PortFlag{"api-port", "-k", &o.apiPort},
                     PortFlag{"metrics-port", "-x", &o.metricsPort}}) {
    if (auto v = flags->get(p.name)) {
      auto port = parsePort(p.shown, *v);
      if (!port) {
        std::cerr << "kgate start: " << port.error() << std::endl;
        return 2;
      }
      *p.target = *port;
    }
  }
  o.dataDir = flags->get("data-dir").value_or("");
  if (auto w = flags->get("workers")) {
    try {
      size_t used = 0;
      unsigned long n = std::stoul(*w, &used);
      if (used != w->size() || n == 0 || n > 256) throw std::invalid_argument(*w);
      o.workers = static_cast<unsigned>(n);
    } catch (const std::exception&) {
      std::cerr << "kgate start: --workers: \"" << *w << "\" is not a number from 1 to 256"
                << std::endl;
      return 2;
    }
  }
  return runNode(o);
}

}  // namespace kgate::cli
