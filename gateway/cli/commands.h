// kgate's subcommands. Each takes the arguments after its name and returns the exit code:
// 0 success, 1 failure while running, 2 bad usage. Errors are one line on stderr.
#pragma once

#include <string>
#include <vector>

namespace kgate::cli {

int initCommand(const std::vector<std::string>& args);
int startCommand(const std::vector<std::string>& args);
int domainCommand(const std::vector<std::string>& args);
int routeCommand(const std::vector<std::string>& args);

}  // namespace kgate::cli
