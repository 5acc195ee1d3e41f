// Loader sections: ports, limits, accessLog, services, tokens.
#include <limits>
#include <set>

#include "conf/domain_id.h"
#include "conf/endpoint.h"
#include "conf/loader_internal.h"

namespace kgate::conf::detail {
namespace {

constexpr uint64_t kU32 = std::numeric_limits<uint32_t>::max();
constexpr uint64_t kH2MaxWindow = (1u << 31) - 1;  // RFC 9113 6.9.1

// The handshake service answers on kuscia-handshake.<self>.svc, so a local service of that name
// could never be reached.
constexpr std::string_view kHandshakeService = "kuscia-handshake";

template <class T>
void readU(Ctx& ctx, const YAML::Node& v, const std::string& p, uint64_t min, uint64_t max,
           T& out) {
  uint64_t x = 0;
  if (readUint(ctx, v, p, min, max, x)) out = static_cast<T>(x);
}

template <class T>
void readSz(Ctx& ctx, const YAML::Node& v, const std::string& p, uint64_t min, uint64_t max,
            T& out) {
  uint64_t x = 0;
  if (readSize(ctx, v, p, min, max, x)) out = static_cast<T>(x);
}

}  // namespace

void readPorts(Ctx& ctx, const YAML::Node& node, Ports& out) {
  if (isAbsent(node)) return;
  std::vector<std::pair<std::string, YAML::Node>> set;  // ports given in the file, for the check
  walkMap(ctx, node, "ports", {"external", "internal", "api", "metrics"},
          [&](const std::string& key, const YAML::Node&, const YAML::Node& v,
              const std::string& p) {
            uint16_t* field = key == "external"   ? &out.external
                              : key == "internal" ? &out.internal
                              : key == "api"      ? &out.api
                                                  : &out.metrics;
            uint64_t x = 0;
            if (readUint(ctx, v, p, 1, 65535, x)) {
              *field = static_cast<uint16_t>(x);
              set.emplace_back(key, v);
            }
          });
  // Distinctness, reported on a key the file set (a set port can clash with a default one).
  // Indexes, not Node assignment: assigning to a non-empty YAML::Node rewrites the document.
  const std::pair<const char*, uint16_t> all[] = {{"external", out.external},
                                                  {"internal", out.internal},
                                                  {"api", out.api},
                                                  {"metrics", out.metrics}};
  auto setIndex = [&](const char* key) -> int {
    for (size_t n = 0; n < set.size(); ++n) {
      if (set[n].first == key) return static_cast<int>(n);
    }
    return -1;
  };
  for (size_t i = 0; i < 4; ++i) {
    for (size_t j = i + 1; j < 4; ++j) {
      if (all[i].second != all[j].second) continue;
      size_t named = setIndex(all[j].first) >= 0 ? j : i;  // the one the file set
      size_t other = named == j ? i : j;
      int at = setIndex(all[named].first);
      ctx.errors.add(at >= 0 ? set[at].second : YAML::Node(),
                     "ports." + std::string(all[named].first),
                     std::to_string(all[named].second) + " is also ports." + all[other].first +
                         "; every listener needs its own port");
    }
  }
}

void readLimits(Ctx& ctx, const YAML::Node& node, Limits& out) {
  if (isAbsent(node)) return;
  walkMap(ctx, node, "limits",
          {"maxHeaderBytes", "maxHeaderCount", "maxBodyBytes", "maxConnections", "headerTimeout",
           "idleTimeout", "streamIdleTimeout", "sendTimeout", "connectTimeout", "upstreamIdleTimeout",
           "drainTimeout", "maxConcurrentStreams", "streamWindowBytes"},
          [&](const std::string& key, const YAML::Node&, const YAML::Node& v,
              const std::string& p) {
            if (key == "maxHeaderBytes") readSz(ctx, v, p, 1, kU32, out.maxHeaderBytes);
            else if (key == "maxHeaderCount") readU(ctx, v, p, 1, kU32, out.maxHeaderCount);
            else if (key == "maxBodyBytes") {
              readSz(ctx, v, p, 0, std::numeric_limits<uint64_t>::max(), out.maxBodyBytes);
            } else if (key == "maxConnections") readU(ctx, v, p, 1, kU32, out.maxConnections);
            else if (key == "headerTimeout") readSeconds(ctx, v, p, false, out.headerTimeout);
            else if (key == "idleTimeout") readSeconds(ctx, v, p, false, out.idleTimeout);
            else if (key == "streamIdleTimeout") {
              readSeconds(ctx, v, p, false, out.streamIdleTimeout);
            } else if (key == "sendTimeout") readSeconds(ctx, v, p, false, out.sendTimeout);
            else if (key == "connectTimeout") readSeconds(ctx, v, p, false, out.connectTimeout);
            else if (key == "upstreamIdleTimeout") {
              readSeconds(ctx, v, p, false, out.upstreamIdleTimeout);
            } else if (key == "drainTimeout") {
              readSeconds(ctx, v, p, true, out.drainTimeout);  // 0 = stop without waiting
            } else if (key == "maxConcurrentStreams") {
              readU(ctx, v, p, 1, kH2MaxWindow, out.maxConcurrentStreams);
            } else if (key == "streamWindowBytes") {
              readSz(ctx, v, p, 1, kH2MaxWindow, out.streamWindowBytes);
            }
          });
}

void readAccessLog(Ctx& ctx, const YAML::Node& node, AccessLog& out) {
  if (isAbsent(node)) return;
  walkMap(ctx, node, "accessLog", {"enabled", "directory"},
          [&](const std::string& key, const YAML::Node&, const YAML::Node& v,
              const std::string& p) {
            if (key == "enabled") {
              readBool(ctx, v, p, out.enabled);
            } else if (readString(ctx, v, p, out.directory)) {
              out.directory = resolvePath(ctx, out.directory);
            }
          });
}

void readExternalTls(Ctx& ctx, const YAML::Node& node, ExternalTls& out) {
  if (isAbsent(node)) return;
  walkMap(ctx, node, "tls", {"certFile", "keyFile"},
          [&](const std::string& key, const YAML::Node&, const YAML::Node& v,
              const std::string& p) {
            std::string& target = key == "certFile" ? out.certFile : out.keyFile;
            if (readString(ctx, v, p, target)) target = resolvePath(ctx, target);
          });
  if (out.certFile.empty() != out.keyFile.empty())
    ctx.errors.add(node, "tls", "certFile and keyFile go together");
}

namespace {

// A service URL, reporting parse errors at `p`. Returns false when it was invalid.
bool readServiceUrl(Ctx& ctx, const YAML::Node& v, const std::string& p, Endpoint& out) {
  std::string url;
  if (!readString(ctx, v, p, url)) {
    if (isAbsent(v)) ctx.errors.add(v, p, "the URL is missing, e.g. http://127.0.0.1:9000");
    return false;
  }
  auto ep = parseEndpoint(url);
  if (!ep) {
    ctx.errors.add(v, p, ep.error());
    return false;
  }
  out = std::move(*ep);
  return true;
}

}  // namespace

void readServices(Ctx& ctx, const YAML::Node& node, std::vector<Service>& out) {
  if (isAbsent(node)) return;
  walkEntries(ctx, node, "services", [&](const std::string& name, const YAML::Node& k,
                                         const YAML::Node& v, const std::string& p) {
    Service svc;
    svc.name = name;
    bool ok = true;
    if (!isDnsLabel(name)) {
      ctx.errors.add(k, p,
                     "service name is invalid: use lower-case letters, digits and '-', start and "
                     "end with a letter or digit, at most 63 characters (it becomes "
                     "<name>.<domain>.svc)");
      ok = false;
    } else if (name == kHandshakeService) {
      ctx.errors.add(k, p, "the name is reserved for the gateway's handshake service");
      ok = false;
    }
    if (v.IsMap()) {
      bool haveUrl = false;
      walkMap(ctx, v, p, {"url", "protocol"},
              [&](const std::string& key, const YAML::Node&, const YAML::Node& fv,
                  const std::string& fp) {
                if (key == "url") {
                  haveUrl = true;
                  ok = readServiceUrl(ctx, fv, fp, svc.endpoint) && ok;
                } else {
                  ok = readUpstreamProtocol(ctx, fv, fp, svc.protocol) && ok;
                }
              });
      if (!haveUrl) {
        ctx.errors.add(v, keyPath(p, "url"), "is required, e.g. url: http://127.0.0.1:9000");
        ok = false;
      }
    } else {
      ok = readServiceUrl(ctx, v, p, svc.endpoint) && ok;
    }
    if (ok) out.push_back(std::move(svc));
  });
}

void readTokens(Ctx& ctx, const YAML::Node& node, const std::string& self,
                std::map<std::string, std::vector<std::string>>& out) {
  if (isAbsent(node)) return;
  walkEntries(ctx, node, "tokens", [&](const std::string& source, const YAML::Node& k,
                                       const YAML::Node& v, const std::string& p) {
    bool ok = true;
    if (auto r = validateDomainId(source); !r) {
      ctx.errors.add(k, p, r.error());
      ok = false;
    } else if (!self.empty() && source == self) {
      ctx.errors.add(k, p, "is this node's own domain; list the tokens other domains send");
      ok = false;
    }
    if (!v.IsSequence() || v.size() < 1 || v.size() > 2) {
      std::string found = v.IsSequence() ? "a list of " + std::to_string(v.size()) : describe(v);
      ctx.errors.add(v, p, "expected a list of 1 or 2 tokens (newest first during rotation), "
                           "e.g. [\"<token>\"], found " + found);
      return;
    }
    std::vector<std::string> tokens;
    for (size_t i = 0; i < v.size(); ++i) {
      const std::string tp = indexPath(p, i);
      std::string t;
      if (!readString(ctx, v[i], tp, t)) {
        if (isAbsent(v[i])) ctx.errors.add(v[i], tp, "token is empty");
        ok = false;
      } else if (auto why = checkToken(t)) {
        ctx.errors.add(v[i], tp, "token " + *why);
        ok = false;
      } else {
        tokens.push_back(std::move(t));
      }
    }
    if (ok && tokens.size() == 2 && tokens[0] == tokens[1]) {
      ctx.errors.add(v, p, "the two tokens are identical; list each token once");
      ok = false;
    }
    if (ok) out[source] = std::move(tokens);
  });
}

}  // namespace kgate::conf::detail
