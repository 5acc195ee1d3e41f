// Top level of the YAML loader: reading the file, the top-level keys, mode-specific rules and
// the defaults that depend on other keys. Sections live in loader_sections.cc/loader_routes.cc.
#include "conf/loader.h"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>

#include "conf/ascii.h"
#include "conf/datastore.h"
#include "conf/domain_id.h"
#include "conf/endpoint.h"
#include "conf/loader_internal.h"

namespace kgate::conf {
namespace {

using namespace detail;
namespace fs = std::filesystem;

constexpr size_t kMaxFileBytes = 4 << 20;  // a config is a few KiB; more means the wrong file

// Standard base64 with padding, whitespace ignored (block scalars wrap). The key itself is
// parsed by certs/, which conf must not depend on; this only catches pasting the wrong thing.
std::optional<std::string> checkBase64(std::string_view s) {
  std::string compact;
  for (char c : s) {
    if (!std::isspace(static_cast<unsigned char>(c))) compact += c;
  }
  if (compact.empty()) return "is empty";
  size_t pad = 0;
  for (size_t i = 0; i < compact.size(); ++i) {
    char c = compact[i];
    if (c == '=') {
      ++pad;
    } else if (pad > 0 || !(std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/')) {
      return "is not base64 (character " + std::to_string(i + 1) +
             " is not A-Z, a-z, 0-9, '+', '/' or trailing '='); it must be the base64 of the "
             "PEM key, as `kgate init` writes it";
    }
  }
  if (pad > 2 || compact.size() % 4 != 0) {
    return "is not base64 (wrong length or padding); it must be the base64 of the PEM key, as "
           "`kgate init` writes it";
  }
  return std::nullopt;
}

bool isInstanceName(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  return std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '.' || c == '-' || c == '_';
  });
}

std::string hostName() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "localhost";
  return asciiLower(buf);
}

// What the top-level pass leaves for the later ones.
struct TopLevel {
  std::map<std::string, YAML::Node> nodes;  // every known key present in the file
  bool modeOk = false;                      // mode-specific checks need a valid mode
};

// Reads the top-level keys into `cfg`, except services, routes, tokens and transitRoutes (they
// need domainID).
void readTopLevel(Ctx& ctx, const YAML::Node& root, Config& cfg, TopLevel& top) {
  walkMap(
      ctx, root, "",
      {"mode", "domainID", "domainKeyData", "logLevel", "protocol", "errorMessageFormat",
       "instance", "dataDir", "listenAddress", "hostNames", "ports", "workers", "pinWorkers",
       "masterEndpoint", "liteDeployToken", "datastoreEndpoint", "heartbeatInterval", "services",
       "routes", "transitRoutes", "tokens", "limits", "accessLog", "tls"},
      [&](const std::string& key, const YAML::Node&, const YAML::Node& v, const std::string& p) {
        top.nodes.emplace(key, v);  // copy; Node::operator= would write into the document
        size_t i = 0;
        if (key == "mode") {
          if (readChoice(ctx, v, p, {"master", "lite", "autonomy"}, i)) {
            cfg.mode = static_cast<Mode>(i);
            top.modeOk = true;
          }
        } else if (key == "domainID") {
          if (readString(ctx, v, p, cfg.domainID)) {
            if (auto r = validateDomainId(cfg.domainID); !r) {
              ctx.errors.add(v, p, r.error());
              cfg.domainID.clear();  // so later "not self" checks do not compare with junk
            }
          }
        } else if (key == "domainKeyData") {
          if (readString(ctx, v, p, cfg.domainKeyData)) {
            if (auto why = checkBase64(cfg.domainKeyData)) ctx.errors.add(v, p, *why);
            // One line, so the key's decoder need not know YAML's wrapping.
            std::erase_if(cfg.domainKeyData, [](unsigned char c) { return std::isspace(c); });
          }
        } else if (key == "logLevel") {
          if (readChoice(ctx, v, p, {"DEBUG", "INFO", "WARN", "ERROR"}, i)) {
            cfg.logLevel = static_cast<LogLevel>(i);
          }
        } else if (key == "protocol") {
          // Empty means the role's default, as in Kuscia.
          if (v.IsScalar() && v.Scalar().empty()) {
            cfg.protocol = Protocol::Default;
          } else if (readChoice(ctx, v, p, {"NOTLS", "TLS", "MTLS"}, i)) {
            cfg.protocol = static_cast<Protocol>(i + 1);
          }
        } else if (key == "errorMessageFormat") {
          if (readChoice(ctx, v, p, {"seed", "chained"}, i)) {
            cfg.errorMessageFormat = static_cast<ErrorMessageFormat>(i);
          }
        } else if (key == "instance") {
          if (readString(ctx, v, p, cfg.instance) && !cfg.instance.empty() &&
              !isInstanceName(cfg.instance)) {
            ctx.errors.add(v, p, "use letters, digits, '.', '-' and '_' (at most 253); it is "
                                 "sent in kuscia-error-message headers");
          }
        } else if (key == "dataDir") {
          if (readString(ctx, v, p, cfg.dataDir)) cfg.dataDir = resolvePath(ctx, cfg.dataDir);
        } else if (key == "listenAddress") {
          std::string a;
          if (readString(ctx, v, p, a)) {
            if (a.size() > 2 && a.front() == '[' && a.back() == ']') a = a.substr(1, a.size() - 2);
            if (isIpLiteral(a)) {
              cfg.listenAddress = a;
            } else {
              ctx.errors.add(v, p, quote(a) + " is not an IP address (e.g. 0.0.0.0, 127.0.0.2 "
                                               "or ::)");
            }
          }
        } else if (key == "hostNames") {
          if (isAbsent(v)) return;
          if (!v.IsSequence()) {
            ctx.errors.add(v, p, "expected a list of DNS names or IP addresses, found " +
                                     describe(v));
            return;
          }
          for (size_t n = 0; n < v.size(); ++n) {
            std::string h;
            if (isAbsent(v[n])) ctx.errors.add(v[n], indexPath(p, n), "empty entry");
            if (!readString(ctx, v[n], indexPath(p, n), h)) continue;
            std::string_view name = h;
            if (name.starts_with("*.")) name.remove_prefix(2);  // wildcard SAN
            if (isIpLiteral(h) || isDnsName(name)) {
              cfg.hostNames.push_back(h);
            } else {
              ctx.errors.add(v[n], indexPath(p, n), quote(h) + " is not a DNS name or IP address");
            }
          }
        } else if (key == "ports") {
          readPorts(ctx, v, cfg.ports);
        } else if (key == "workers") {
          uint64_t w = 0;
          if (readUint(ctx, v, p, 0, 256, w)) cfg.workers = static_cast<unsigned>(w);
        } else if (key == "pinWorkers") {
          readBool(ctx, v, p, cfg.pinWorkers);
        } else if (key == "masterEndpoint") {
          readString(ctx, v, p, cfg.masterEndpoint);
        } else if (key == "liteDeployToken") {
          readString(ctx, v, p, cfg.liteDeployToken);
        } else if (key == "datastoreEndpoint") {
          readString(ctx, v, p, cfg.datastoreEndpoint);
        } else if (key == "heartbeatInterval") {
          Seconds interval{};
          if (readSeconds(ctx, v, p, false, interval)) {
            if (interval > Seconds(300)) {
              ctx.errors.add(v, p, "must be at most 300s (the default is 15s)");
            } else {
              cfg.heartbeatInterval = interval;
            }
          }
        } else if (key == "limits") {
          readLimits(ctx, v, cfg.limits);
        } else if (key == "accessLog") {
          readAccessLog(ctx, v, cfg.accessLog);
        } else if (key == "tls") {
          readExternalTls(ctx, v, cfg.tls);
        }
        // services, routes, tokens, transitRoutes: after the loop, once domainID is known.
      },
      // Kuscia keys that mean nothing to a gateway; accepted so a Kuscia config loads unchanged.
      {"runtime", "runk", "capacity", "reservedResources", "image", "enableWorkloadApprove",
       "clusterToken", "agent", "debug", "debugPort", "logrotate", "metricUpdatePeriod"});
}

// Keys that only one role uses. Set for the wrong role they are errors: silently ignoring,
// say, a master's datastoreEndpoint on a lite would hide a mix-up of two config files.
void checkModeKeys(Ctx& ctx, Config& cfg, TopLevel& top) {
  auto at = [&](const char* key) { return top.nodes.count(key) ? top.nodes[key] : YAML::Node(); };
  const std::string role = cfg.roleName();
  if (cfg.mode == Mode::Lite) {
    const YAML::Node me = at("masterEndpoint");
    const bool wrongType = !isAbsent(me) && !me.IsScalar();  // already reported
    if (cfg.masterEndpoint.empty() && !wrongType) {
      ctx.errors.add(at("masterEndpoint"), "masterEndpoint",
                     "is required for a lite node: the master's external URL, e.g. "
                     "https://10.0.0.1:18080");
    } else if (auto ep = parseEndpoint(cfg.masterEndpoint); !ep && !wrongType) {
      ctx.errors.add(at("masterEndpoint"), "masterEndpoint", ep.error());
    }
    if (!cfg.datastoreEndpoint.empty()) {
      ctx.errors.add(at("datastoreEndpoint"), "datastoreEndpoint",
                     "is only used by master and autonomy nodes (mode is lite); remove it");
    }
    return;
  }
  if (!cfg.masterEndpoint.empty()) {
    ctx.errors.add(at("masterEndpoint"), "masterEndpoint",
                   "is only used by lite nodes (mode is " + role + "); remove it");
  }
  if (!cfg.liteDeployToken.empty()) {
    ctx.errors.add(at("liteDeployToken"), "liteDeployToken",
                   "is only used by lite nodes (mode is " + role + "); remove it");
  }
  // Never echo the value: a DSN carries a password (parseMysqlDsn's errors leave it out).
  const std::string& ds = cfg.datastoreEndpoint;
  if (ds.empty()) return;
  if (!ds.starts_with("mysql://")) {
    auto sep = ds.find("://");
    std::string what = sep == std::string::npos || sep > 16
                           ? "is not a URL"
                           : "uses \"" + ds.substr(0, sep) + "://\", which is not supported";
    ctx.errors.add(at("datastoreEndpoint"), "datastoreEndpoint",
                   what + "; leave it empty for the embedded SQLite database or use "
                          "mysql://user:pass@host:3306/db for MySQL/MariaDB");
  } else if (auto dsn = parseMysqlDsn(ds); !dsn) {
    std::string why = dsn.error().substr(std::string_view("datastoreEndpoint: ").size());
    ctx.errors.add(at("datastoreEndpoint"), "datastoreEndpoint", why);
  }
}

void applyDefaults(Ctx& ctx, Config& cfg) {
  if (cfg.instance.empty()) cfg.instance = hostName();
  if (cfg.dataDir.empty()) cfg.dataDir = defaultDataDir(cfg.mode, cfg.domainID, ctx.baseDir);
  if (cfg.accessLog.directory.empty()) {
    cfg.accessLog.directory = (fs::path(cfg.dataDir) / "logs").lexically_normal().string();
  }
}

Result<Config> parseImpl(std::string_view yamlText, const std::string& configPath) {
  const std::string label = configPath.empty() ? "<config>" : configPath;
  std::error_code ec;
  fs::path base = configPath.empty() ? fs::current_path(ec)
                                     : fs::absolute(configPath, ec).parent_path();
  Ctx ctx{Errors(label), base.lexically_normal().string()};

  YAML::Node root;
  try {
    root = YAML::Load(std::string(yamlText));
  } catch (const YAML::Exception& e) {
    std::string where = e.mark.is_null() ? "" : ":" + std::to_string(e.mark.line + 1) + ":" +
                                                    std::to_string(e.mark.column + 1);
    return fail(label + where + ": invalid YAML: " + e.msg);
  }
  if (isAbsent(root)) {
    return fail(label + ": the file is empty; it needs at least mode, domainID and "
                        "domainKeyData (`kgate init` writes them)");
  }

  Config cfg;
  cfg.configPath = configPath;
  TopLevel top;
  readTopLevel(ctx, root, cfg, top);
  if (root.IsMap()) {
    if (isAbsent(top.nodes["mode"])) {
      ctx.errors.add(top.nodes["mode"], "mode", "is required: master, lite or autonomy");
    } else if (top.modeOk) {
      checkModeKeys(ctx, cfg, top);
    }
    if (isAbsent(top.nodes["domainID"])) {
      ctx.errors.add(top.nodes["domainID"], "domainID",
                     "is required: this node's domain ID, e.g. alice");
    }
    if (isAbsent(top.nodes["domainKeyData"])) {
      ctx.errors.add(top.nodes["domainKeyData"], "domainKeyData",
                     "is required: the base64 of the node's PEM private key (`kgate init` "
                     "writes it)");
    }
    readServices(ctx, top.nodes["services"], cfg.services);
    readRoutes(ctx, top.nodes["routes"], cfg.domainID, cfg.routes);
    readTokens(ctx, top.nodes["tokens"], cfg.domainID, cfg.tokens);
    readTransitRoutes(ctx, top.nodes["transitRoutes"], cfg, cfg.transitRoutes);
  }
  if (!ctx.errors.empty()) return fail(ctx.errors.joined());
  applyDefaults(ctx, cfg);
  return cfg;
}

}  // namespace

Result<Config> parseConfig(std::string_view yamlText, const std::string& configPath) {
  // yaml-cpp and the standard library may throw; this API reports failures as values.
  const std::string label = configPath.empty() ? "<config>" : configPath;
  try {
    return parseImpl(yamlText, configPath);
  } catch (const YAML::Exception& e) {
    std::string where = e.mark.is_null() ? "" : ":" + std::to_string(e.mark.line + 1);
    return fail(label + where + ": invalid YAML: " + e.msg);
  } catch (const std::exception& e) {
    return fail(label + ": cannot load: " + e.what());
  } catch (...) {
    return fail(label + ": cannot load: unknown error");
  }
}

Result<Config> loadConfigFile(const std::string& path) {
  try {
    std::error_code ec;
    if (fs::is_directory(path, ec)) return fail(path + ": is a directory, expected a YAML file");
    std::ifstream in(path, std::ios::binary);
    if (!in) return fail(path + ": cannot open: " + std::strerror(errno));
    std::string text(kMaxFileBytes + 1, '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    if (in.bad()) return fail(path + ": cannot read: " + std::strerror(errno));
    text.resize(static_cast<size_t>(in.gcount()));
    if (text.size() > kMaxFileBytes) {
      return fail(path + ": larger than 4 MiB; is this the right file?");
    }
    fs::path abs = fs::absolute(path, ec);
    if (ec) return fail(path + ": cannot resolve the path: " + ec.message());
    auto cfg = parseConfig(text, abs.lexically_normal().string());
    if (!cfg) {
      // Messages name the file as the user wrote it, not its absolute form.
      std::string msg = cfg.error();
      const std::string absStr = abs.lexically_normal().string();
      std::string out;
      size_t pos = 0;
      while (pos <= msg.size()) {
        size_t nl = msg.find('\n', pos);
        std::string line = msg.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
        if (line.starts_with(absStr)) line = path + line.substr(absStr.size());
        out += (out.empty() ? "" : "\n") + line;
        if (nl == std::string::npos) break;
        pos = nl + 1;
      }
      return fail(out);
    }
    return cfg;
  } catch (const std::exception& e) {
    return fail(path + ": cannot load: " + e.what());
  } catch (...) {
    return fail(path + ": cannot load: unknown error");
  }
}

std::string currentUserName() {
  if (const char* u = std::getenv("USER"); u != nullptr && *u != '\0') return u;
  struct passwd pw;
  struct passwd* found = nullptr;
  char buf[4096];
  if (getpwuid_r(getuid(), &pw, buf, sizeof buf, &found) == 0 && found != nullptr &&
      found->pw_name != nullptr && found->pw_name[0] != '\0') {
    return found->pw_name;
  }
  return "root";
}

std::string defaultDataDir(Mode mode, std::string_view domainID, const std::string& baseDir) {
  std::string name = currentUserName() + "-kgate-" + toString(mode);
  if (mode != Mode::Master) name += "-" + std::string(domainID);
  return (fs::path(baseDir) / name).lexically_normal().string();
}

Result<void> validatePorts(const Ports& ports) {
  const std::pair<const char*, uint16_t> all[] = {{"external", ports.external},
                                                  {"internal", ports.internal},
                                                  {"api", ports.api},
                                                  {"metrics", ports.metrics}};
  for (size_t i = 0; i < 4; ++i) {
    if (all[i].second == 0) return fail(std::string(all[i].first) + " port is 0; use 1-65535");
    for (size_t j = i + 1; j < 4; ++j) {
      if (all[i].second == all[j].second) {
        return fail(std::string(all[i].first) + " and " + all[j].first + " ports are both " +
                    std::to_string(all[i].second) + "; every listener needs its own port");
      }
    }
  }
  return {};
}

}  // namespace kgate::conf
