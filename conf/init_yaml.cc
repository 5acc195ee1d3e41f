#include "conf/init_yaml.h"

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "conf/ascii.h"
#include "conf/domain_id.h"

namespace kgate::conf {
namespace {

bool plainSafe(std::string_view s) {
  if (s.empty() || s.back() == ':') return false;
  bool charsOk = std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '.' || c == '_' || c == '/' || c == ':' || c == '+' ||
           c == '=' || c == '@' || c == '-';
  });
  if (!charsOk || !std::isalnum(static_cast<unsigned char>(s.front()))) return false;
  // Words YAML 1.1 readers turn into booleans or null.
  std::string l = asciiLower(s);
  for (const char* w : {"true", "false", "yes", "no", "on", "off", "y", "n", "null"}) {
    if (l == w) return false;
  }
  return true;
}

// A scalar as YAML: plain when unambiguous, else double-quoted with escapes, so any option value
// (even one the CLI should have refused) yields well-formed YAML.
std::string scalar(std::string_view s) {
  if (plainSafe(s)) return std::string(s);
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

constexpr const char* kRoutingExample =
    "# Static routing (optional; routes can also come from the master):\n"
    "# services:                 # local services, reachable by peers as <name>.{self}.svc\n"
    "#   echo: http://127.0.0.1:9000\n"
    "# routes:                   # outbound routes to peer domains\n"
    "#   - destination: bob\n"
    "#     endpoint: http://127.0.0.1:38080    # https:// = TLS to the peer\n"
    "#     token: \"<base64 token>\"\n"
    "# tokens:                   # inbound: accepted tokens per source domain (at most two)\n"
    "#   bob: [\"<base64 token>\"]\n";

}  // namespace

std::string base64Encode(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    uint32_t n = (uint32_t(uint8_t(bytes[i])) << 16) | (uint32_t(uint8_t(bytes[i + 1])) << 8) |
                 uint8_t(bytes[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  if (size_t rest = bytes.size() - i; rest > 0) {
    uint32_t n = uint32_t(uint8_t(bytes[i])) << 16;
    if (rest == 2) n |= uint32_t(uint8_t(bytes[i + 1])) << 8;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += rest == 2 ? kAlphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string renderInitYaml(const InitOptions& o) {
  std::string y;
  auto line = [&](std::string_view key, std::string_view value) {
    y += std::string(key) + ": " + scalar(value) + "\n";
  };
  line("mode", toString(o.mode));
  line("domainID", o.domainID);
  line("domainKeyData", base64Encode(o.domainKeyPem));
  line("logLevel", toString(o.logLevel));
  if (o.protocol != Protocol::Default) line("protocol", toString(o.protocol));
  if (o.mode == Mode::Lite) {
    line("liteDeployToken", o.liteDeployToken);
    line("masterEndpoint", o.masterEndpoint);
  } else {
    y += "# Empty = embedded SQLite in the data directory; mysql://user:pass@host:3306/db = "
         "MySQL/MariaDB.\n";
    line("datastoreEndpoint", o.datastoreEndpoint);
  }
  if (o.mode != Mode::Master) {
    std::string example = kRoutingExample;
    auto at = example.find("{self}");
    example.replace(at, 6, isDnsLabel(o.domainID) ? o.domainID : "<domain>");
    y += example;
  }
  y += "# Every key with its default and meaning: conf/samples/node.yaml\n";
  return y;
}

}  // namespace kgate::conf
