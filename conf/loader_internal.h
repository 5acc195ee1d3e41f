// Shared pieces of the YAML loader (loader*.cc). Not part of conf's API: nothing outside conf/
// includes this, so yaml-cpp types stay out of the rest of the code base.
#pragma once

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "conf/config.h"

namespace kgate::conf::detail {

// Collects every problem so the user can fix a file in one pass, not one error per run.
class Errors {
 public:
  explicit Errors(std::string file) : file_(std::move(file)) {}
  // "<file>:<line>: <path>: <message>"; the line comes from `mark` when yaml-cpp has one.
  void add(const YAML::Mark& mark, const std::string& path, const std::string& message);
  void add(const YAML::Node& at, const std::string& path, const std::string& message);
  void add(const std::string& path, const std::string& message);  // no line known
  bool empty() const { return lines_.empty(); }
  std::string joined() const;
  const std::string& file() const { return file_; }

 private:
  std::string file_;
  std::vector<std::pair<int, std::string>> lines_;  // (line or 0, text)
};

struct Ctx {
  Errors errors;
  std::string baseDir;  // directory of the config file: relative paths are resolved against it
};

std::string keyPath(const std::string& parent, const std::string& key);  // "a.b" or "b"
std::string indexPath(const std::string& parent, size_t index);          // "a[1]"
int lineOf(const YAML::Mark& mark);  // 1-based, 0 when unknown

// A value as echoed in messages: in double quotes, at most 80 characters, no control characters.
std::string quote(std::string_view s);
// "a map", "a list", "the value \"x\"", "nothing": for "expected X, found Y" messages.
std::string describe(const YAML::Node& node);
// Absent or written as null (`key:` / `key: ~`): the key's default applies.
bool isAbsent(const YAML::Node& node);

// Walks a map: reports a non-map, non-string or duplicate keys and unknown keys (with a "did you
// mean" hint), and calls `onKey` for each known key. `ignored` keys are accepted and skipped.
// Returns false when `node` is not a map (already reported).
using KeyHandler = std::function<void(const std::string& key, const YAML::Node& keyNode,
                                      const YAML::Node& value, const std::string& path)>;
bool walkMap(Ctx& ctx, const YAML::Node& node, const std::string& path,
             std::initializer_list<std::string_view> known, const KeyHandler& onKey,
             std::initializer_list<std::string_view> ignored = {});
// Same checks for a map whose keys are names (services, tokens): every key goes to `onKey`.
bool walkEntries(Ctx& ctx, const YAML::Node& node, const std::string& path,
                 const KeyHandler& onKey);

// Scalar readers: each reports its own errors (with `path`) and leaves `out` unchanged when the
// value is absent or invalid. They return true only when `out` was set.
bool readString(Ctx& ctx, const YAML::Node& node, const std::string& path, std::string& out);
bool readBool(Ctx& ctx, const YAML::Node& node, const std::string& path, bool& out);
bool readUint(Ctx& ctx, const YAML::Node& node, const std::string& path, uint64_t min,
              uint64_t max, uint64_t& out);
bool readSize(Ctx& ctx, const YAML::Node& node, const std::string& path, uint64_t min,
              uint64_t max, uint64_t& out);
// Whole seconds; `allowZero` for limits where 0 has a meaning (e.g. drain immediately).
bool readSeconds(Ctx& ctx, const YAML::Node& node, const std::string& path, bool allowZero,
                 Seconds& out);
// One of `choices` (case-insensitive); `out` gets the index. The message lists the choices.
bool readChoice(Ctx& ctx, const YAML::Node& node, const std::string& path,
                std::initializer_list<std::string_view> choices, size_t& out);
bool readUpstreamProtocol(Ctx& ctx, const YAML::Node& node, const std::string& path,
                          UpstreamProtocol& out);

// A token usable as a header value: printable ASCII, no outer spaces. Never echoed in messages.
std::optional<std::string> checkToken(std::string_view token);
// `p` made absolute against ctx.baseDir and normalised ("" stays "").
std::string resolvePath(const Ctx& ctx, const std::string& p);

// Sections (loader_sections.cc). `self` is the node's domain ID ("" if it was invalid).
void readPorts(Ctx& ctx, const YAML::Node& node, Ports& out);
void readLimits(Ctx& ctx, const YAML::Node& node, Limits& out);
void readAccessLog(Ctx& ctx, const YAML::Node& node, AccessLog& out);
void readExternalTls(Ctx& ctx, const YAML::Node& node, ExternalTls& out);
void readServices(Ctx& ctx, const YAML::Node& node, std::vector<Service>& out);
void readTokens(Ctx& ctx, const YAML::Node& node, const std::string& self,
                std::map<std::string, std::vector<std::string>>& out);
// loader_routes.cc
void readRoutes(Ctx& ctx, const YAML::Node& node, const std::string& self,
                std::vector<Route>& out);
// After readRoutes: a relay's onward route must be among cfg.routes.
void readTransitRoutes(Ctx& ctx, const YAML::Node& node, const Config& cfg,
                       std::vector<TransitRoute>& out);

}  // namespace kgate::conf::detail
