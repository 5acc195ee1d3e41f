#include "gateway/cli/node_access.h"

#include <boost/json.hpp>
#include <filesystem>

#include "certs/files.h"
#include "conf/loader.h"

namespace kgate::cli {
namespace {

namespace fs = std::filesystem;

Result<NodeAccess> readDataDir(const std::string& dir) {
  std::string infoPath = dir + "/node.json";
  auto text = certs::readFile(infoPath);
  if (!text)
    return fail("no node.json in " + dir + " (has `kgate start` run with this data directory?)");
  boost::system::error_code ec;
  auto doc = boost::json::parse(*text, ec);
  const boost::json::object* o = ec ? nullptr : doc.if_object();
  auto str = [&](const char* key) -> std::string {
    const boost::json::value* v = o ? o->if_contains(key) : nullptr;
    return v && v->is_string() ? std::string(v->as_string()) : std::string();
  };
  NodeAccess a;
  a.dataDir = dir;
  a.domainID = str("domainID");
  a.mode = str("mode");
  a.apiEndpoint = str("apiEndpoint");
  std::string certDir = str("certDir");
  if (a.apiEndpoint.empty() || certDir.empty()) return fail(infoPath + " is not valid");
  for (auto [file, target] : {std::pair<const char*, std::string*>{"ca.crt", &a.caPem},
                              {"admin-client.crt", &a.clientCertPem},
                              {"admin-client.key", &a.clientKeyPem},
                              {"token", &a.token}}) {
    auto content = certs::readFile(certDir + "/" + file);
    if (!content) return fail("cannot read " + certDir + "/" + file + ": " + content.error());
    *target = *content;
  }
  while (!a.token.empty() && (a.token.back() == '\n' || a.token.back() == '\r')) a.token.pop_back();
  return a;
}

Result<std::string> findDataDir() {
  std::vector<std::string> found, masters;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(".", ec)) {
    if (!entry.is_directory() || entry.path().filename().string().find("-kgate-") ==
                                     std::string::npos)
      continue;
    if (!fs::exists(entry.path() / "node.json")) continue;
    found.push_back(entry.path().string());
    if (entry.path().filename().string().find("-kgate-master") != std::string::npos)
      masters.push_back(entry.path().string());
  }
  if (masters.size() == 1) return masters[0];
  if (found.size() == 1) return found[0];
  if (found.empty())
    return fail("no kgate data directory here; run this where the node's config is, or pass "
                "--data <dir> or -c <config>");
  return fail("several kgate data directories here; pick one with --data <dir>");
}

}  // namespace

Result<NodeAccess> locateNode(const Flags& flags) {
  std::string dir;
  if (auto d = flags.get("data")) {
    dir = *d;
  } else if (auto c = flags.get("config")) {
    auto config = conf::loadConfigFile(*c);
    if (!config) return fail(config.error());
    dir = config->dataDir;
  } else {
    auto d2 = findDataDir();
    if (!d2) return fail(d2.error());
    dir = *d2;
  }
  auto access = readDataDir(dir);
  if (!access) return access;
  if (auto e = flags.get("endpoint")) access->apiEndpoint = *e;
  return access;
}

Result<std::string> callApi(const NodeAccess& node, const std::string& method,
                            const std::string& path, const std::string& body) {
  SyncRequest req;
  req.method = method;
  req.url = node.apiEndpoint + path;
  req.body = body;
  req.headers = {{"Token", node.token}};
  if (!body.empty()) req.headers.emplace_back("Content-Type", "application/json");
  req.verifyPeer = true;
  req.caPem = node.caPem;
  req.clientCertPem = node.clientCertPem;
  req.clientKeyPem = node.clientKeyPem;
  auto r = httpRequest(req);
  if (!r) return fail("cannot reach the node's API at " + node.apiEndpoint + ": " + r.error() +
                      " (is the node running?)");
  if (r->status >= 200 && r->status < 300) return r->body;
  boost::system::error_code ec;
  auto doc = boost::json::parse(r->body, ec);
  if (!ec && doc.is_object()) {
    if (auto* err = doc.as_object().if_contains("error"); err && err->is_object()) {
      if (auto* m = err->as_object().if_contains("message"); m && m->is_string())
        return fail(std::string(m->as_string()));
    }
  }
  return fail("the API answered HTTP " + std::to_string(r->status));
}

}  // namespace kgate::cli
