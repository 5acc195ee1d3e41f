#include "gateway/cli/flags.h"

#include <charconv>

namespace kgate::cli {

Result<Flags> Flags::parse(const std::vector<std::string>& args,
                           const std::vector<FlagSpec>& specs) {
  Flags out;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.size() < 2 || a[0] != '-') return fail("unexpected argument \"" + a + "\"");
    std::string name = a.substr(a[1] == '-' ? 2 : 1);
    std::optional<std::string> inlineValue;
    if (auto eq = name.find('='); eq != std::string::npos) {
      inlineValue = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    const FlagSpec* spec = nullptr;
    for (const auto& s : specs)
      if (s.name == name || (!s.alias.empty() && s.alias == name)) spec = &s;
    if (!spec) return fail("unknown flag " + a.substr(0, a.find('=')));
    if (!spec->refusal.empty()) return fail(a.substr(0, a.find('=')) + ": " + spec->refusal);
    if (out.values_.count(spec->name)) return fail("flag --" + spec->name + " given twice");
    std::string value;
    if (spec->takesValue) {
      if (inlineValue) {
        value = *inlineValue;
      } else {
        if (i + 1 >= args.size() || args[i + 1].starts_with("--"))
          return fail("flag --" + spec->name + " needs a value");
        value = args[++i];
      }
    } else if (inlineValue) {
      return fail("flag --" + spec->name + " takes no value");
    }
    out.values_[spec->name] = value;
  }
  return out;
}

std::optional<std::string> Flags::get(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

Result<uint16_t> parsePort(const std::string& flag, const std::string& value) {
  unsigned v = 0;
  auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
  if (ec != std::errc() || p != value.data() + value.size() || v == 0 || v > 65535)
    return fail(flag + ": \"" + value + "\" is not a port number (1-65535)");
  return static_cast<uint16_t>(v);
}

}  // namespace kgate::cli
