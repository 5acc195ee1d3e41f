// A small command-line parser: "--name value", "--name=value" and "-x value" forms, every flag
// declared up front so an unknown or repeated one is a clear error rather than a silent default.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "conf/result.h"

namespace kgate::cli {

struct FlagSpec {
  std::string name;    // long name without dashes, e.g. "domain"
  std::string alias;   // short name without dash, e.g. "d" ("" for none)
  bool takesValue = true;
  std::string refusal; // non-empty: the flag is known but refused with this explanation
};

class Flags {
 public:
  static Result<Flags> parse(const std::vector<std::string>& args,
                             const std::vector<FlagSpec>& specs);
  std::optional<std::string> get(const std::string& name) const;
  bool has(const std::string& name) const { return values_.count(name) > 0; }

 private:
  std::map<std::string, std::string> values_;
};

Result<uint16_t> parsePort(const std::string& flag, const std::string& value);

}  // namespace kgate::cli
