#include "integration/node.h"

#include <pwd.h>
#include <unistd.h>

#include <csignal>
#include <sstream>
#include <stdexcept>

namespace kgate::test {

std::string kgateBinary() { return KGATE_BINARY; }

CommandResult kgateIn(const TempDir& dir, const std::string& args) {
  return run({"sh", "-c", "cd '" + dir.path() + "' && '" + kgateBinary() + "' " + args});
}

std::string tokenFor(const std::string& name) {
  // Deterministic per name, 44 base64 characters like a real RSA-GEN token.
  std::string h = sha256Hex("token:" + name);
  static const char* b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < 43; ++i) out.push_back(b64[static_cast<unsigned char>(h[i % h.size()]) % 64]);
  return out + "=";
}

Node::Node(const TempDir& dir, NodeSpec spec) : dir_(dir.path()), spec_(std::move(spec)) {
  configPath_ = dir_ + "/" + spec_.domain + ".yaml";
  if (!spec_.generatedKeys) keys_ = PooledKeys::take();
  std::vector<std::string> argv{kgateBinary(), "init", "--mode", spec_.mode, "--domain",
                                spec_.domain};
  if (keys_) {
    argv.push_back("--domain-key-file");
    argv.push_back(keys_->domainKeyFile());
  }
  if (!spec_.protocol.empty()) {
    argv.push_back("--protocol");
    argv.push_back(spec_.protocol);
  }
  if (spec_.mode == "lite") {
    argv.push_back("--master-endpoint");
    argv.push_back(spec_.masterEndpoint.empty() ? "https://127.0.0.1:1" : spec_.masterEndpoint);
    if (!spec_.deployToken.empty()) {
      argv.push_back("--lite-deploy-token");
      argv.push_back(spec_.deployToken);
    }
  }
  if (!spec_.datastore.empty()) {
    argv.push_back("--datastore-endpoint");
    argv.push_back(spec_.datastore);
  }
  auto r = run(argv);
  if (r.exitCode != 0 || !r.err.empty())
    throw std::runtime_error("kgate init failed: " + r.err);
  ports_ = freePorts(4, spec_.ip);
  std::ostringstream extra;
  extra << r.out << "\nlistenAddress: " << spec_.ip << "\ninstance: " << spec_.domain
        << "-gw\nworkers: 2\n";
  if (!spec_.seedDataDir) extra << "dataDir: " << dataDir() << "\n";
  base_ = extra.str();
  writeFile(configPath_, base_);
  if (keys_) keys_->seedCertDir(dataDir() + "/certs");
}

std::string Node::dataDir() const {
  if (!spec_.seedDataDir) return dir_ + "/data-" + spec_.domain;
  // The same rule as kgate's: $USER, else the account name, else root.
  const char* user = getenv("USER");
  std::string u = user && *user ? user : "";
  if (u.empty()) {
    if (passwd* pw = getpwuid(getuid())) u = pw->pw_name;
  }
  if (u.empty()) u = "root";
  return dir_ + "/" + u + "-kgate-" + spec_.mode + (spec_.mode == "master" ? "" : "-" + spec_.domain);
}

CommandResult Node::startExpectingFailure() {
  return run({kgateBinary(), "start", "-c", configPath_, "-p", std::to_string(externalPort()),
              "-q", std::to_string(internalPort()), "-k", std::to_string(apiPort()), "-x",
              std::to_string(metricsPort())},
             std::chrono::seconds(120));
}

void Node::appendConfig(const std::string& yaml) {
  extra_ += "\n" + yaml + "\n";
  writeFile(configPath_, base_ + extra_);
}

void Node::dropGeneratedKey(const std::string& key) {
  std::istringstream in(base_);
  std::string line, kept;
  while (std::getline(in, line))
    if (line.rfind(key + ":", 0) != 0) kept += line + "\n";
  base_ = kept;
  writeFile(configPath_, base_ + extra_);
}

void Node::replaceAppended(const std::string& yaml) {
  extra_ = "\n" + yaml + "\n";
  writeFile(configPath_, base_ + extra_);
}

bool Node::externalTls() const {
  if (spec_.protocol == "NOTLS") return false;
  if (spec_.protocol == "TLS" || spec_.protocol == "MTLS") return true;
  return spec_.mode != "lite";
}

std::string Node::externalUrl(const std::string& path) const {
  return std::string(externalTls() ? "https://" : "http://") + spec_.ip + ":" +
         std::to_string(externalPort()) + path;
}

std::string Node::internalUrl(const std::string& path) const {
  return "http://" + spec_.ip + ":" + std::to_string(internalPort()) + path;
}

std::string Node::metricsUrl(const std::string& path) const {
  return "http://" + spec_.ip + ":" + std::to_string(metricsPort()) + path;
}

void Node::start(const std::vector<std::string>& extraArgs) {
  std::vector<std::string> argv{kgateBinary(), "start", "-c", configPath_,
                                "-p", std::to_string(externalPort()),
                                "-q", std::to_string(internalPort()),
                                "-k", std::to_string(apiPort()),
                                "-x", std::to_string(metricsPort())};
  argv.insert(argv.end(), extraArgs.begin(), extraArgs.end());
  process_.emplace(argv, dir_, ProcessOptions{.name = spec_.domain});
  bool ready = waitUntil(
      [&] {
        if (!process_->running()) return true;
        return curl({"-m", "2", metricsUrl("/ready")}).status == 200;
      },
      std::chrono::seconds(30));
  if (!ready || !process_->running())
    throw std::runtime_error("kgate " + spec_.domain + " did not become ready: " +
                             process_->describe());
}

std::string Node::metrics() const { return curl({"-m", "5", metricsUrl()}).body; }

double Node::metric(const std::string& sample) const {
  std::istringstream in(metrics());
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(sample + " ", 0) == 0) return std::stod(line.substr(sample.size() + 1));
  }
  return 0;
}

void Node::reload(bool expectOk) {
  std::string sample = std::string("kgate_config_reloads_total{result=\"") +
                       (expectOk ? "ok" : "error") + "\"}";
  double before = metric(sample);
  process_->signal(SIGHUP);
  if (!waitUntil([&] { return metric(sample) > before; }, std::chrono::seconds(20)))
    throw std::runtime_error("kgate " + spec_.domain + " did not count the reload: " +
                             process_->describe());
}

int Node::stop(std::chrono::milliseconds grace) {
  if (!process_) return -1;
  return process_->stop(grace);
}

void connectPeers(Node& a, Node& b, const std::string& protocol) {
  auto routeTo = [&](Node& from, Node& to) {
    return "routes:\n  - destination: " + to.domain() + "\n    endpoint: " + to.externalUrl("") +
           "\n    protocol: " + protocol + "\n    token: \"" +
           tokenFor(from.domain() + "-" + to.domain()) + "\"\n";
  };
  auto tokensFrom = [&](Node& self, Node& peer) {
    return "tokens:\n  " + peer.domain() + ": [\"" + tokenFor(peer.domain() + "-" + self.domain()) +
           "\"]\n";
  };
  a.appendConfig(routeTo(a, b) + tokensFrom(a, b));
  b.appendConfig(routeTo(b, a) + tokensFrom(b, a));
}

}  // namespace kgate::test
