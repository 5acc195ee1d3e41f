// The kgate binary: dispatches to a subcommand.
#include <execinfo.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "gateway/cli/commands.h"
#include "gateway/snapshot.h"

namespace {

constexpr const char* kUsage =
    "usage: kgate <command> [flags]\n"
    "\n"
    "commands:\n"
    "  init     print a new node's config: kgate init --mode master|lite|autonomy --domain ID\n"
    "           [--protocol NOTLS|TLS|MTLS] [--log-level L] [--domain-key-file F]\n"
    "           lite: --master-endpoint URL [--lite-deploy-token T]\n"
    "           master: [--datastore-endpoint mysql://user:pass@host:3306/db]\n"
    "  start    run a node: kgate start -c node.yaml [-p external] [-q internal] [-k api]\n"
    "           [-x metrics] [--data-dir DIR] [--workers N]\n"
    "  domain   on a master: add ID [--ttl 24h] | token ID | list [--show-tokens]\n"
    "           (finds the node in ./<user>-kgate-*/, or --data DIR, -c CONFIG)\n"
    "  route    on a master: create SRC DST URL [--auth Token|MTLS|None] [--rolling-period S]\n"
    "           [--transit D] | list | delete NAME | rehandshake NAME\n"
    "  version  print the version\n";

// A crash leaves its stack on stderr (the node's log) before the default action dumps core.
void onFatalSignal(int sig) {
  const char* name = strsignal(sig);
  (void)!write(STDERR_FILENO, "kgate: fatal signal: ", 21);
  (void)!write(STDERR_FILENO, name, strlen(name));
  (void)!write(STDERR_FILENO, "\n", 1);
  void* frames[64];
  int n = backtrace(frames, 64);
  backtrace_symbols_fd(frames, n, STDERR_FILENO);
  signal(sig, SIG_DFL);
  raise(sig);
}

}  // namespace

int main(int argc, char** argv) {
  for (int sig : {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL}) signal(sig, onFatalSignal);
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "help" || args[0] == "--help" || args[0] == "-h") {
    std::cout << kUsage;
    return args.empty() ? 2 : 0;
  }
  std::string command = args[0];
  args.erase(args.begin());
  if (command == "init") return kgate::cli::initCommand(args);
  if (command == "start") return kgate::cli::startCommand(args);
  if (command == "domain") return kgate::cli::domainCommand(args);
  if (command == "route") return kgate::cli::routeCommand(args);
  if (command == "version" || command == "--version") {
    std::cout << "kgate " << kgate::kVersion << "\n";
    return 0;
  }
  std::cerr << "kgate: unknown command \"" << command << "\"\n" << kUsage;
  return 2;
}
