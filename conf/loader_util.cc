// Generic YAML walking and scalar reading for the loader, with error collection.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <filesystem>
#include <map>

#include "conf/ascii.h"
#include "conf/duration.h"
#include "conf/loader_internal.h"

namespace kgate::conf::detail {
namespace {

size_t editDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t subst = prev[j - 1] + (std::tolower(a[i - 1]) == std::tolower(b[j - 1]) ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, subst});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string suggestion(std::string_view key, std::initializer_list<std::string_view> known) {
  std::string_view best;
  size_t bestDist = 3;  // more than two edits away is a different word, not a typo
  for (auto k : known) {
    size_t d = editDistance(key, k);
    if (d < bestDist) {
      best = k;
      bestDist = d;
    }
  }
  return best.empty() ? std::string() : "; did you mean \"" + std::string(best) + "\"?";
}

// The scalar text, or nullopt after reporting a type error. Absent values are handled by callers.
std::optional<std::string> scalar(Ctx& ctx, const YAML::Node& node, const std::string& path,
                                  std::string_view expected) {
  if (node.IsScalar()) return node.Scalar();
  ctx.errors.add(node, path, "expected " + std::string(expected) + ", found " + describe(node));
  return std::nullopt;
}

}  // namespace

// Cut short and stripped of control characters, so one bad value cannot flood or garble the
// output.
std::string quote(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s.substr(0, 80)) out += (c < 0x20 || c == 0x7f) ? '?' : char(c);
  if (s.size() > 80) out += "...";
  return out + "\"";
}

void Errors::add(const YAML::Mark& mark, const std::string& path, const std::string& message) {
  std::string line = file_;
  if (int l = lineOf(mark); l > 0) line += ":" + std::to_string(l);
  line += ": ";
  if (!path.empty()) line += path + ": ";
  lines_.push_back({lineOf(mark), line + message});
}

void Errors::add(const YAML::Node& at, const std::string& path, const std::string& message) {
  add(at.IsDefined() ? at.Mark() : YAML::Mark::null_mark(), path, message);
}

void Errors::add(const std::string& path, const std::string& message) {
  add(YAML::Mark::null_mark(), path, message);
}

// In file order, so the list reads alongside the file; messages without a line come first.
std::string Errors::joined() const {
  auto sorted = lines_;
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string out;
  for (const auto& l : sorted) {
    if (!out.empty()) out += '\n';
    out += l.second;
  }
  return out;
}

std::string keyPath(const std::string& parent, const std::string& key) {
  return parent.empty() ? key : parent + "." + key;
}

std::string indexPath(const std::string& parent, size_t index) {
  return parent + "[" + std::to_string(index) + "]";
}

int lineOf(const YAML::Mark& mark) { return mark.is_null() ? 0 : mark.line + 1; }

std::string describe(const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) return "nothing";
  if (node.IsMap()) return "a map";
  if (node.IsSequence()) return "a list";
  return "the value " + quote(node.Scalar());
}

bool isAbsent(const YAML::Node& node) { return !node.IsDefined() || node.IsNull(); }

namespace {

// Shared by walkMap and walkEntries; `known` == nullptr accepts every key.
bool walk(Ctx& ctx, const YAML::Node& node, const std::string& path,
          const std::initializer_list<std::string_view>* known, const KeyHandler& onKey,
          std::initializer_list<std::string_view> ignored) {
  if (!node.IsMap()) {
    ctx.errors.add(node, path, "expected a map (key: value lines), found " + describe(node));
    return false;
  }
  std::map<std::string, int> seen;  // key -> line, to point duplicates at the first one
  for (auto it = node.begin(); it != node.end(); ++it) {
    // Copies: yaml-cpp's iterator hands out a temporary pair, references into it dangle.
    const YAML::Node k = it->first;
    const YAML::Node v = it->second;
    if (!k.IsScalar()) {
      ctx.errors.add(k, path, "keys must be plain strings, found " + describe(k));
      continue;
    }
    const std::string key = k.Scalar();
    const std::string p = keyPath(path, key);
    // yaml-cpp keeps both copies of a repeated key; a silent "last one wins" hides mistakes.
    auto [pos, inserted] = seen.emplace(key, lineOf(k.Mark()));
    if (!inserted) {
      std::string where = pos->second > 0 ? " (first at line " + std::to_string(pos->second) + ")"
                                          : "";
      ctx.errors.add(k, p, "duplicate key" + where);
      continue;
    }
    if (!known || std::find(known->begin(), known->end(), key) != known->end()) {
      onKey(key, k, v, p);
    } else if (std::find(ignored.begin(), ignored.end(), key) == ignored.end()) {
      ctx.errors.add(k, p, "unknown key " + quote(key) + suggestion(key, *known));
    }
  }
  return true;
}

}  // namespace

bool walkMap(Ctx& ctx, const YAML::Node& node, const std::string& path,
             std::initializer_list<std::string_view> known, const KeyHandler& onKey,
             std::initializer_list<std::string_view> ignored) {
  return walk(ctx, node, path, &known, onKey, ignored);
}

bool walkEntries(Ctx& ctx, const YAML::Node& node, const std::string& path,
                 const KeyHandler& onKey) {
  return walk(ctx, node, path, nullptr, onKey, {});
}

bool readString(Ctx& ctx, const YAML::Node& node, const std::string& path, std::string& out) {
  if (isAbsent(node)) return false;
  auto s = scalar(ctx, node, path, "a string");
  if (!s) return false;
  out = *s;
  return true;
}

bool readBool(Ctx& ctx, const YAML::Node& node, const std::string& path, bool& out) {
  if (isAbsent(node)) return false;
  auto s = scalar(ctx, node, path, "true or false");
  if (!s) return false;
  bool b = false;
  if (!YAML::convert<bool>::decode(node, b)) {
    ctx.errors.add(node, path, quote(*s) + " is not a boolean; use true or false");
    return false;
  }
  out = b;
  return true;
}

bool readUint(Ctx& ctx, const YAML::Node& node, const std::string& path, uint64_t min,
              uint64_t max, uint64_t& out) {
  if (isAbsent(node)) return false;
  auto s = scalar(ctx, node, path, "a number");
  if (!s) return false;
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s->data(), s->data() + s->size(), v);
  bool digitsOnly = !s->empty() && std::all_of(s->begin(), s->end(), [](unsigned char c) {
    return std::isdigit(c) != 0;
  });
  if (!digitsOnly || ec == std::errc::invalid_argument || end != s->data() + s->size()) {
    ctx.errors.add(node, path, quote(*s) + " is not a whole number");
    return false;
  }
  if (ec == std::errc::result_out_of_range || v < min || v > max) {
    ctx.errors.add(node, path, quote(*s) + " is out of range; use " + std::to_string(min) + "-" +
                                   std::to_string(max));
    return false;
  }
  out = v;
  return true;
}

bool readSize(Ctx& ctx, const YAML::Node& node, const std::string& path, uint64_t min,
              uint64_t max, uint64_t& out) {
  if (isAbsent(node)) return false;
  auto s = scalar(ctx, node, path, "a size");
  if (!s) return false;
  auto r = parseByteSize(*s);
  if (!r) {
    ctx.errors.add(node, path, r.error());
    return false;
  }
  if (*r < min || *r > max) {
    std::string why = min == 1 && *r == 0 ? "must be greater than 0"
                                          : "is out of range; use " + std::to_string(min) +
                                                "-" + std::to_string(max) + " bytes";
    ctx.errors.add(node, path, quote(*s) + " " + why);
    return false;
  }
  out = *r;
  return true;
}

bool readSeconds(Ctx& ctx, const YAML::Node& node, const std::string& path, bool allowZero,
                 Seconds& out) {
  if (isAbsent(node)) return false;
  auto s = scalar(ctx, node, path, "a duration");
  if (!s) return false;
  auto r = parseDuration(*s);
  if (!r && s->find('.') != std::string::npos && s->front() != '-') {
    // parseDuration would suggest milliseconds, which this field cannot hold either.
    ctx.errors.add(node, path, quote(*s) + " must be a whole number of seconds");
    return false;
  }
  if (!r) {
    ctx.errors.add(node, path, r.error());
    return false;
  }
  if (r->count() % 1000 != 0) {
    ctx.errors.add(node, path, quote(*s) + " must be a whole number of seconds");
    return false;
  }
  if (!allowZero && r->count() == 0) {
    ctx.errors.add(node, path, quote(*s) + " must be greater than 0");
    return false;
  }
  out = std::chrono::duration_cast<Seconds>(*r);
  return true;
}

bool readChoice(Ctx& ctx, const YAML::Node& node, const std::string& path,
                std::initializer_list<std::string_view> choices, size_t& out) {
  if (isAbsent(node)) return false;
  std::string list;
  for (auto c : choices) list += (list.empty() ? "" : ", ") + std::string(c);
  auto s = scalar(ctx, node, path, "one of " + list);
  if (!s) return false;
  size_t i = 0;
  for (auto c : choices) {
    if (asciiLower(*s) == asciiLower(c)) {
      out = i;
      return true;
    }
    ++i;
  }
  ctx.errors.add(node, path, quote(*s) + " is not one of " + list);
  return false;
}

bool readUpstreamProtocol(Ctx& ctx, const YAML::Node& node, const std::string& path,
                          UpstreamProtocol& out) {
  size_t i = 0;
  if (!readChoice(ctx, node, path, {"http1", "http2", "auto"}, i)) return false;
  out = i == 0 ? UpstreamProtocol::Http1 : i == 1 ? UpstreamProtocol::Http2
                                                  : UpstreamProtocol::Auto;
  return true;
}

std::optional<std::string> checkToken(std::string_view token) {
  if (token.empty()) return "is empty";
  // HTTP strips a header value's outer spaces, so such a token could never match.
  if (token.front() == ' ' || token.back() == ' ') return "starts or ends with a space";
  for (unsigned char c : token) {
    if (c < 0x20 || c >= 0x7f) {
      return "contains a control or non-ASCII character (tokens are sent as a header)";
    }
  }
  return std::nullopt;
}

std::string resolvePath(const Ctx& ctx, const std::string& p) {
  if (p.empty()) return p;
  std::filesystem::path path(p);
  if (path.is_relative()) path = std::filesystem::path(ctx.baseDir) / path;
  std::string out = path.lexically_normal().string();
  if (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

}  // namespace kgate::conf::detail
