// kgate init: prints a new node's config (with a fresh RSA-2048 domain key) on stdout and nothing
// on stderr, so `kgate init ... > node.yaml 2>&1` (the tutorial's form) yields a clean file.
#include <iostream>

#include "certs/files.h"
#include "certs/keys.h"
#include "conf/ascii.h"
#include "conf/domain_id.h"
#include "conf/endpoint.h"
#include "conf/init_yaml.h"
#include "gateway/cli/commands.h"
#include "gateway/cli/flags.h"

namespace kgate::cli {
namespace {

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

Result<conf::InitOptions> parseInit(const std::vector<std::string>& args) {
  auto flags = Flags::parse(args, {
                                      {"mode", "", true, ""},
                                      {"domain", "d", true, ""},
                                      {"domain-key-file", "f", true, ""},
                                      {"log-level", "l", true, ""},
                                      {"protocol", "p", true, ""},
                                      {"lite-deploy-token", "t", true, ""},
                                      {"master-endpoint", "m", true, ""},
                                      {"datastore-endpoint", "e", true, ""},
                                      {"runtime", "r", true,
                                       "kgate runs no containers; drop --runtime"},
                                  });
  if (!flags) return fail(flags.error());
  conf::InitOptions o;
  std::string mode = conf::asciiLower(flags->get("mode").value_or(""));
  if (mode.empty()) return fail("--mode is required: master, lite or autonomy");
  if (mode == "master") o.mode = conf::Mode::Master;
  else if (mode == "lite") o.mode = conf::Mode::Lite;
  else if (mode == "autonomy") o.mode = conf::Mode::Autonomy;
  else return fail("unsupported mode \"" + *flags->get("mode") + "\": use master, lite or autonomy");

  if (!flags->has("domain")) return fail("--domain is required (the node's domain ID)");
  o.domainID = *flags->get("domain");
  if (auto r = conf::validateDomainId(o.domainID); !r) return fail("--domain: " + r.error());

  if (auto level = flags->get("log-level")) {
    std::string l = upper(*level);
    if (l == "DEBUG") o.logLevel = conf::LogLevel::Debug;
    else if (l == "INFO") o.logLevel = conf::LogLevel::Info;
    else if (l == "WARN" || l == "WARNING") o.logLevel = conf::LogLevel::Warn;
    else if (l == "ERROR") o.logLevel = conf::LogLevel::Error;
    else return fail("--log-level: \"" + *level + "\" is not DEBUG, INFO, WARN or ERROR");
  }
  if (auto proto = flags->get("protocol")) {
    std::string p = upper(*proto);
    if (p == "NOTLS") o.protocol = conf::Protocol::NoTls;
    else if (p == "TLS") o.protocol = conf::Protocol::Tls;
    else if (p == "MTLS") o.protocol = conf::Protocol::Mtls;
    else return fail("--protocol: unsupported protocol \"" + *proto + "\": use NOTLS, TLS or MTLS");
  }

  bool lite = o.mode == conf::Mode::Lite;
  for (const char* f : {"master-endpoint", "lite-deploy-token"})
    if (flags->has(f) && !lite) return fail(std::string("--") + f + " is only for --mode lite");
  if (flags->has("datastore-endpoint") && lite)
    return fail("--datastore-endpoint is only for master and autonomy nodes");
  if (lite) {
    if (!flags->has("master-endpoint"))
      return fail("--master-endpoint is required for a lite node (e.g. https://1.1.1.1:18080)");
    o.masterEndpoint = *flags->get("master-endpoint");
    if (auto e = conf::parseEndpoint(o.masterEndpoint); !e)
      return fail("--master-endpoint: " + e.error());
    o.liteDeployToken = flags->get("lite-deploy-token").value_or("");
  }
  if (auto ds = flags->get("datastore-endpoint")) {
    if (!ds->empty() && ds->rfind("mysql://", 0) != 0)
      return fail("--datastore-endpoint must be empty (SQLite) or mysql://user:pass@host:3306/db");
    o.datastoreEndpoint = *ds;
  }

  if (auto file = flags->get("domain-key-file")) {
    auto pem = certs::readFile(*file);
    if (!pem) return fail("--domain-key-file: " + pem.error());
    auto key = certs::privateKeyFromPem(*pem);
    if (!key) return fail("--domain-key-file " + *file + ": " + key.error());
    // Refused here rather than by the first handshake or registration.
    if (!certs::isDomainKey(**key))
      return fail("--domain-key-file " + *file + ": " + certs::kDomainKeyRule);
    o.domainKeyPem = *pem;
  } else {
    auto key = certs::generateRsaKey(2048);
    if (!key) return fail("cannot generate the domain key: " + key.error());
    o.domainKeyPem = certs::privateKeyToPem(**key, true);
  }
  return o;
}

}  // namespace

int initCommand(const std::vector<std::string>& args) {
  auto options = parseInit(args);
  if (!options) {
    std::cerr << "kgate init: " << options.error() << std::endl;
    return 2;
  }
  std::cout << conf::renderInitYaml(*options) << std::flush;
  return 0;
}

}  // namespace kgate::cli
