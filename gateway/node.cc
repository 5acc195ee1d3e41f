#include "gateway/node.h"

#include <sched.h>
#include <unistd.h>

#include <boost/asio/signal_set.hpp>
#include <boost/json.hpp>
#include <iostream>
#include <thread>

#include "certs/files.h"
#include "certs/keys.h"
#include "certs/node_pki.h"
#include "conf/datastore.h"
#include "conf/loader.h"
#include "gateway/admin/api_handler.h"
#include "gateway/admin/health_handler.h"
#include "auth/authority.h"
#include "auth/mariadb_store.h"
#include "auth/sqlite_store.h"
#include "gateway/control/control_plane.h"
#include "gateway/control/unix_time.h"
#include "gateway/event.h"
#include "gateway/fd_limit.h"
#include "gateway/lite_bootstrap.h"
#include "gateway/listener.h"
#include "gateway/log.h"
#include "gateway/spawn.h"
#include "gateway/worker.h"

namespace kgate {
namespace {

// The CPUs this process may run on (taskset, a container's cpuset), in order.
std::vector<int> allowedCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return {};
  std::vector<int> cpus;
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &set)) cpus.push_back(c);
  return cpus;
}

// The CPU for each worker (conf pinWorkers): one each of the allowed CPUs, only when the
// workers fill them exactly (workers: 0 makes one per CPU). With fewer workers than CPUs the
// host may run other nodes, and pinning every node's workers to the first CPUs would stack them
// there; with more, pins would share cores anyway.
std::vector<int> workerCpus(size_t workers, bool pin) {
  std::vector<int> cpus = pin ? allowedCpus() : std::vector<int>{};
  if (cpus.size() != workers) return {};
  return cpus;
}

// Thrown only during start-up, caught in runNode: one line for the user, then exit 1.
struct StartError {
  std::string message;
};

log::Level toLogLevel(conf::LogLevel l) {
  switch (l) {
    case conf::LogLevel::Debug: return log::Level::Debug;
    case conf::LogLevel::Info: return log::Level::Info;
    case conf::LogLevel::Warn: return log::Level::Warn;
    case conf::LogLevel::Error: return log::Level::Error;
  }
  return log::Level::Info;
}

std::shared_ptr<conf::Config> loadConfig(const StartOptions& o) {
  auto loaded = conf::loadConfigFile(o.configPath);
  if (!loaded) throw StartError{"invalid config:\n" + loaded.error()};
  auto c = std::make_shared<conf::Config>(std::move(loaded).value());
  if (o.externalPort) c->ports.external = *o.externalPort;
  if (o.internalPort) c->ports.internal = *o.internalPort;
  if (o.apiPort) c->ports.api = *o.apiPort;
  if (o.metricsPort) c->ports.metrics = *o.metricsPort;
  if (o.workers) c->workers = *o.workers;
  if (!o.dataDir.empty()) {
    c->dataDir = o.dataDir;
    c->accessLog.directory = o.dataDir + "/logs";
  }
  if (auto r = conf::validatePorts(c->ports); !r) throw StartError{r.error()};
  return c;
}

template <class T>
T must(Result<T> r, const std::string& what) {
  if (!r) throw StartError{what + ": " + r.error()};
  return std::move(r).value();
}

void mustOk(Result<void> r, const std::string& what) {
  if (!r) throw StartError{what + ": " + r.error()};
}

std::string loadOrCreateAdminToken(const std::string& path) {
  if (certs::fileExists(path)) {
    std::string t = must(certs::readFile(path), "admin token");
    while (!t.empty() && (t.back() == '\n' || t.back() == '\r')) t.pop_back();
    if (t.size() >= 16) return t;
  }
  static constexpr std::string_view kAlphabet =
      "23456789abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ";
  std::string t = certs::randomString(32, kAlphabet);
  mustOk(certs::writeFileAtomic(path, t + "\n", 0600), "admin token");
  return t;
}

class Node {
 public:
  explicit Node(StartOptions options) : options_(std::move(options)) {}
  int run();

 private:
  void prepare();
  void openAuthority(const std::string& domainKeyPem, certs::NodePkiOptions po);
  void bindAll();
  void printListeners();
  void writeNodeInfo();
  awaitable<void> handleSignals();
  awaitable<void> reload();
  awaitable<void> drainAndStop();
  // Makes snap current on every worker; completes once all of them apply it.
  awaitable<void> publish(std::shared_ptr<const Snapshot> snap);
  std::shared_ptr<const Snapshot> snapshot() const { return snapshot_; }

  StartOptions options_;
  std::shared_ptr<conf::Config> config_;
  std::shared_ptr<const Snapshot> snapshot_;
  certs::NodePki pki_;
  std::string adminToken_;
  certs::SslContextPtr externalTls_, apiTls_;
  std::shared_ptr<AccessLogFile> externalLog_, internalLog_;
  std::atomic<uint32_t> nodeConnections_{0};
  std::atomic<bool> ready_{false};
  Metrics metrics_;
  ConnectionBalancer balancer_;  // before workers_: they hold a pointer to it
  std::vector<std::unique_ptr<Worker>> workers_;
  std::unique_ptr<auth::Authority> authority_;  // master only
  std::optional<LiteIdentity> lite_;             // lite only
  std::string domainKeyPem_;
  std::unique_ptr<ControlPlane> controlPlane_;
  FileLimit fileLimit_;  // the open-file limits after raiseFileLimit()

  net::io_context io_{1};  // control thread: signals, metrics and API listeners
  Sweeper sweeper_{io_.get_executor()};
  ConnectionRegistry registry_;
  tcp::acceptor metricsAcceptor_{io_}, apiAcceptor_{io_};
  std::unique_ptr<admin::HealthHandler> healthHandler_;
  std::unique_ptr<admin::ApiHandler> apiHandler_;
  std::unique_ptr<AcceptEnv> controlEnv_;
};

void Node::prepare() {
  config_ = loadConfig(options_);
  log::setLevel(toLogLevel(config_->logLevel));
  const conf::Config& c = *config_;
  fileLimit_ = raiseFileLimit();  // warned about in run(), once start-up cannot fail any more
  std::string certDir = c.dataDir + "/certs";
  mustOk(certs::makeDirs(c.dataDir, 0700), "data directory " + c.dataDir);
  mustOk(certs::makeDirs(certDir, 0700), "data directory " + certDir);
  mustOk(certs::makeDirs(c.accessLog.directory, 0750), "log directory " + c.accessLog.directory);

  auto pem = must(certs::base64Decode(c.domainKeyData), "domainKeyData is not valid base64");
  auto domainKey =
      must(certs::privateKeyFromPem(pem), "domainKeyData does not hold a usable private key");
  // A hand-edited config gets the check `kgate init` makes, not a failure at the first handshake.
  if (!certs::isDomainKey(*domainKey))
    throw StartError{std::string("domainKeyData: ") + certs::kDomainKeyRule};

  certs::NodePkiOptions po;
  po.certDir = certDir;
  po.domainID = c.domainID;
  po.sans = c.hostNames;
  if (c.listenAddress != "0.0.0.0" && c.listenAddress != "::") po.sans.push_back(c.listenAddress);
  pki_ = must(certs::loadOrCreateNodePki(po), "certificates in " + certDir);
  if (c.mode == conf::Mode::Master) openAuthority(pem, po);  // may take the store's CA
  adminToken_ = loadOrCreateAdminToken(certDir + "/token");
  for (auto [name, pemText] : {std::pair<const char*, const std::string*>{"ca", &pki_.caCertPem},
                               {"external", &pki_.externalCertPem},
                               {"api", &pki_.apiCertPem}}) {
    if (auto cert = certs::certFromPem(*pemText)) {
      auto when = std::chrono::system_clock::to_time_t(certs::certNotAfter(**cert));
      metrics_.certExpiry().Add({{"certificate", name}}).Set(static_cast<double>(when));
    }
  }

  certs::ServerTlsOptions api;
  api.certChainPem = pki_.apiCertPem;
  api.keyPem = pki_.apiKeyPem;
  api.alpn = {"http/1.1"};
  api.requestClientCert = true;  // judged by the API handler, which answers 401 in JSON
  // The admin client certificate itself, not the CA: on a master that CA also signs every
  // lite's certificate, which must not open the admin API.
  api.clientCaPem = pki_.adminClientCertPem;
  api.pinnedClientCerts = true;
  apiTls_ = must(certs::makeServerContext(api), "API listener TLS");

  domainKeyPem_ = pem;
  if (c.mode == conf::Mode::Lite) {
    auto key = must(certs::privateKeyFromPem(pem), "domainKeyData");
    lite_ = must(bootstrapLite(c, *key, certDir), "cannot join the master");
  }
  if (c.externalTls()) {
    certs::ServerTlsOptions t;
    t.certChainPem = pki_.externalCertPem;
    t.keyPem = pki_.externalKeyPem;
    t.alpn = {"h2", "http/1.1"};
    if (!c.tls.certFile.empty()) {
      t.certChainPem = must(certs::readFile(c.tls.certFile), "tls.certFile");
      t.keyPem = must(certs::readFile(c.tls.keyFile), "tls.keyFile");
    }
    if (c.protocol == conf::Protocol::Mtls && lite_ && !lite_->masterCaPem.empty()) {
      // MTLS: peers on MTLS routes know each other through the master's CA, so present the
      // certificate the master issued and ask for theirs. Only asked, not required: the 401
      // probe and token routes keep working for clients without one; MTLS routes check it.
      t.certChainPem = lite_->certPem;
      t.keyPem = pem;
      t.requestClientCert = true;
      t.clientCaPem = lite_->masterCaPem;
    }
    externalTls_ = must(certs::makeServerContext(t), "external listener TLS");
  }
  ControlPlane::Env env{io_.get_executor(), sweeper_,
                        [this](std::shared_ptr<const Snapshot> s) { return publish(std::move(s)); },
                        c.dataDir + "/routes.json", domainKeyPem_, authority_.get(), lite_};
  controlPlane_ = std::make_unique<ControlPlane>(std::move(env), config_);
  snapshot_ = must(controlPlane_->load(), "route state");
  if (c.accessLog.enabled) {
    externalLog_ = must(AccessLogFile::open(c.accessLog.directory + "/external.log"), "access log");
    internalLog_ = must(AccessLogFile::open(c.accessLog.directory + "/internal.log"), "access log");
  }
}

void Node::openAuthority(const std::string& domainKeyPem, certs::NodePkiOptions po) {
  const conf::Config& c = *config_;
  std::shared_ptr<auth::Store> store;
  if (c.datastoreEndpoint.empty()) {
    std::string path = c.dataDir + "/authority.db";
    store = must(auth::SqliteStore::open(path), "authority store " + path);
  } else {
    // The loader checked it; its errors never hold the password.
    auto dsn = conf::parseMysqlDsn(c.datastoreEndpoint);
    if (!dsn) throw StartError{dsn.error()};
    store = must(auth::MariaDbStore::open(*dsn), "authority store");
  }
  // The CA lives in the store: masters sharing a database sign with one CA. The first to start
  // stores its own; the others (and this one after a restart) take the stored one.
  auto ca = store->putCaIfAbsent(auth::CaRecord{pki_.caCertPem, pki_.caKeyPem, nowSeconds()});
  if (!ca.ok()) throw StartError{"authority store: " + ca.error.message};
  if (ca.value->certPem != pki_.caCertPem || ca.value->keyPem != pki_.caKeyPem) {
    KGATE_LOG(Info, "taking the CA kept in the authority store (its certificates are re-issued)");
    po.caCertPem = ca.value->certPem;
    po.caKeyPem = ca.value->keyPem;
    pki_ = must(certs::loadOrCreateNodePki(po), "certificates in " + po.certDir);
  }
  auth::AuthorityKeys keys{pki_.caCertPem, pki_.caKeyPem, domainKeyPem, c.domainID};
  authority_ = std::make_unique<auth::Authority>(std::move(store), std::move(keys));
}

void Node::bindAll() {
  const conf::Config& c = *config_;
  error_code ec;
  auto address = net::ip::make_address(c.listenAddress, ec);
  if (ec) throw StartError{"listenAddress " + c.listenAddress + " is not an IP address"};
  auto bindError = [&](std::string_view name, uint16_t port, const std::string& why) {
    return StartError{std::string(name) + " listener cannot bind " + c.listenAddress + ":" +
                      std::to_string(port) + ": " + why};
  };
  // SO_REUSEPORT would let us share a port with another kgate by accident; a plain bind first
  // proves the port is free.
  for (auto [name, port] : {std::pair<std::string_view, uint16_t>{"external", c.ports.external},
                            {"internal", c.ports.internal}}) {
    tcp::acceptor probe(io_);
    if (auto r = bindAcceptor(probe, tcp::endpoint(address, port), false); !r)
      throw bindError(name, port, r.error());
  }
  if (auto r = bindAcceptor(metricsAcceptor_, tcp::endpoint(address, c.ports.metrics), false); !r)
    throw bindError("metrics", c.ports.metrics, r.error());
  if (auto r = bindAcceptor(apiAcceptor_, tcp::endpoint(address, c.ports.api), false); !r)
    throw bindError("api", c.ports.api, r.error());

  // One per CPU this process may use: a container's cpuset or taskset, not the whole host.
  unsigned n = c.workers ? c.workers : std::max<unsigned>(1, allowedCpus().size());
  // All workers take the listener's one SSL_CTX, and with it one session cache and one set of
  // ticket keys: a session made on one worker resumes on any other.
  for (unsigned i = 0; i < n; ++i) {
    auto w = std::make_unique<Worker>(i, snapshot_, externalLog_, internalLog_, nodeConnections_);
    if (auto r = w->listen(ListenerKind::External, tcp::endpoint(address, c.ports.external),
                           externalTls_ ? externalTls_->native_handle() : nullptr);
        !r)
      throw bindError("external", c.ports.external, r.error());
    if (auto r = w->listen(ListenerKind::Internal, tcp::endpoint(address, c.ports.internal), nullptr);
        !r)
      throw bindError("internal", c.ports.internal, r.error());
    metrics_.addWorker(&w->stats());
    w->setControl(controlPlane_.get(), authority_.get(), io_.get_executor());
    w->joinBalancer(balancer_);  // with one worker it never moves anything
    workers_.push_back(std::move(w));
  }
}

void Node::printListeners() {
  const conf::Config& c = *config_;
  bool mtls = c.protocol == conf::Protocol::Mtls && lite_ && !lite_->masterCaPem.empty();
  std::string tlsMode = !c.externalTls() ? "none"
                        : mtls ? "mTLS (certificate from the master; client certificates checked "
                                 "on MTLS routes)"
                               : "TLS";
  auto row = [](std::string_view a, std::string b, std::string_view p, std::string_view t) {
    std::string line(a);
    line.resize(10, ' ');
    line += b;
    line.resize(line.size() < 32 ? 32 : line.size() + 1, ' ');
    line += p;
    line.resize(line.size() < 50 ? 50 : line.size() + 1, ' ');
    line += t;
    return line + "\n";
  };
  auto addr = [&](uint16_t port) { return c.listenAddress + ":" + std::to_string(port); };
  std::string out = "kgate " + std::string(kVersion) + ": domain " + c.domainID + " (" +
                    c.roleName() + "), instance " + c.instance + ", data " + c.dataDir + "\n";
  out += row("LISTENER", "ADDRESS", "PROTOCOLS", "TLS");
  out += row("external", addr(c.ports.external), c.externalTls() ? "h2,http/1.1" : "h2c,http/1.1",
             tlsMode + (c.externalTls() && !mtls ? ", CN=" + c.domainID + "_ENVOY_EXTERNAL" : ""));
  out += row("internal", addr(c.ports.internal), "h2c,http/1.1", "none");
  out += row("api", addr(c.ports.api), "http/1.1", "mTLS + admin token");
  out += row("metrics", addr(c.ports.metrics), "http/1.1", "none");
  std::cout << out << std::flush;
}

void Node::writeNodeInfo() {
  const conf::Config& c = *config_;
  std::string host = (c.listenAddress == "0.0.0.0" || c.listenAddress == "::") ? "127.0.0.1"
                                                                                : c.listenAddress;
  boost::json::object info{{"domainID", c.domainID},
                           {"mode", c.roleName()},
                           {"pid", static_cast<int64_t>(::getpid())},
                           {"apiEndpoint", "https://" + host + ":" + std::to_string(c.ports.api)},
                           {"externalPort", c.ports.external},
                           {"internalPort", c.ports.internal},
                           {"metricsPort", c.ports.metrics},
                           {"certDir", c.dataDir + "/certs"}};
  mustOk(certs::writeFileAtomic(c.dataDir + "/node.json", boost::json::serialize(info) + "\n", 0644),
         "node.json");
}

awaitable<void> Node::publish(std::shared_ptr<const Snapshot> snap) {
  snapshot_ = snap;
  if (workers_.empty()) co_return;
  auto remaining = std::make_shared<size_t>(workers_.size());
  auto done = std::make_shared<Event>(io_.get_executor());
  for (auto& w : workers_) {
    w->updateSnapshot(snap, [this, remaining, done] {
      net::post(io_, [remaining, done] {
        if (--*remaining == 0) done->notify();
      });
    });
  }
  co_await done->wait();
}

awaitable<void> Node::reload() {
  KGATE_LOG(Info, "SIGHUP: reloading " << options_.configPath);
  std::shared_ptr<conf::Config> next;
  try {
    next = loadConfig(options_);
  } catch (const StartError& e) {
    metrics_.reloads().Add({{"result", "error"}}).Increment();
    KGATE_LOG(Error, "reload failed, keeping the running config: " << e.message);
    co_return;
  }
  const conf::Config& cur = *config_;
  auto warnKept = [](std::string_view what) {
    KGATE_LOG(Warn, "reload: " << what << " changed; it takes effect on restart");
  };
  if (next->domainID != cur.domainID) {
    metrics_.reloads().Add({{"result", "error"}}).Increment();
    KGATE_LOG(Error, "reload refused: domainID changed from " << cur.domainID << " to "
                                                             << next->domainID);
    co_return;
  }
  if (next->listenAddress != cur.listenAddress) warnKept("listenAddress");
  if (next->protocol != cur.protocol) warnKept("protocol");
  if (next->workers != cur.workers) warnKept("workers");
  if (next->pinWorkers != cur.pinWorkers) warnKept("pinWorkers");
  if (next->hostNames != cur.hostNames) warnKept("hostNames");
  if (next->dataDir != cur.dataDir) warnKept("dataDir");
  // The workers' log buffers and files are made at start; a reload only reopens the files.
  if (next->accessLog != cur.accessLog) warnKept("accessLog");
  if (next->ports.external != cur.ports.external || next->ports.internal != cur.ports.internal ||
      next->ports.api != cur.ports.api || next->ports.metrics != cur.ports.metrics)
    warnKept("ports");
  auto applied = co_await controlPlane_->setConfig(next);
  if (!applied) {
    metrics_.reloads().Add({{"result", "error"}}).Increment();
    KGATE_LOG(Error, "reload failed, keeping the running config: " << applied.error());
    co_return;
  }
  config_ = next;
  log::setLevel(toLogLevel(next->logLevel));
  if (externalLog_) (void)externalLog_->reopen();
  if (internalLog_) (void)internalLog_->reopen();
  metrics_.reloads().Add({{"result", "ok"}}).Increment();
  KGATE_LOG(Info, "reloaded: " << next->routes.size() << " routes, " << next->services.size()
                               << " services, " << next->tokens.size() << " token sources");
}

awaitable<void> Node::handleSignals() {
  net::signal_set signals(io_, SIGHUP, SIGTERM, SIGINT);
  for (;;) {
    auto [ec, sig] = co_await signals.async_wait(kUseTuple);
    if (ec) co_return;
    if (sig == SIGHUP) {
      co_await reload();
      continue;
    }
    co_await drainAndStop();
    co_return;
  }
}

awaitable<void> Node::drainAndStop() {
  ready_ = false;
  metrics_.ready().Set(0);
  auto deadline = Clock::now() + config_->limits.drainTimeout;
  KGATE_LOG(Info, "draining: no new connections; in-flight requests have "
                      << config_->limits.drainTimeout.count() << "s");
  error_code ignored;
  apiAcceptor_.close(ignored);
  controlPlane_->stop();
  for (auto& w : workers_) w->drain();
  net::steady_timer timer(io_);
  auto open = [&] {
    size_t n = 0;
    for (auto& w : workers_) n += w->connections();
    return n;
  };
  // Give workers a moment to count what they just drained.
  timer.expires_after(std::chrono::milliseconds(50));
  co_await timer.async_wait(kUseTuple);
  while (open() > 0 && Clock::now() < deadline) {
    timer.expires_after(std::chrono::milliseconds(50));
    co_await timer.async_wait(kUseTuple);
  }
  if (size_t left = open()) {
    KGATE_LOG(Warn, "drain deadline passed; closing " << left << " connections");
    for (auto& w : workers_) w->terminate();
  }
  for (auto& w : workers_) w->stop();
  auto stopBy = Clock::now() + std::chrono::seconds(5);
  for (;;) {
    bool all = true;
    for (auto& w : workers_) all = all && w->finished();
    if (all || Clock::now() > stopBy) break;
    timer.expires_after(std::chrono::milliseconds(20));
    co_await timer.async_wait(kUseTuple);
  }
  metricsAcceptor_.close(ignored);
  registry_.terminateAll();
  sweeper_.stop();
  io_.stop();
}

int Node::run() {
  try {
    prepare();
    bindAll();
  } catch (const StartError& e) {
    std::cerr << "kgate start: " << e.message << std::endl;
    return 1;
  }
  writeNodeInfo();
  printListeners();
  // After the listeners are up: a start that fails says one line, its reason.
  const conf::Limits& limits = config_->limits;
  if (fileLimit_.soft < uint64_t{limits.maxConnections} + kFileLimitHeadroom) {
    KGATE_LOG(Warn, "open-file limit is " << fileLimit_.soft << " (hard " << fileLimit_.hard
                        << "), below limits.maxConnections " << limits.maxConnections << " + "
                        << kFileLimitHeadroom << ": connections beyond it fail to be accepted; "
                        << "raise the hard limit (ulimit -Hn, systemd LimitNOFILE=)");
  }

  healthHandler_ = std::make_unique<admin::HealthHandler>(metrics_, ready_);
  apiHandler_ = std::make_unique<admin::ApiHandler>(
      adminToken_, [this] { return snapshot(); }, ready_, authority_.get(), controlPlane_.get());
  controlEnv_ = std::make_unique<AcceptEnv>(
      AcceptEnv{sweeper_, registry_, nullptr, [this] { return config_->limits; }, nullptr});
  sweeper_.start();
  spawn(io_.get_executor(),
        acceptLoop(metricsAcceptor_,
                   ListenerSpec{ListenerKind::Metrics, nullptr, false, healthHandler_.get()},
                   *controlEnv_),
        "metrics listener");
  spawn(io_.get_executor(),
        acceptLoop(apiAcceptor_,
                   ListenerSpec{ListenerKind::Api, apiTls_->native_handle(), false,
                                apiHandler_.get()},
                   *controlEnv_),
        "api listener");
  spawn(io_.get_executor(), handleSignals(), "signals");
  std::vector<int> cpus = workerCpus(workers_.size(), config_->pinWorkers);
  for (size_t i = 0; i < workers_.size(); ++i) workers_[i]->start(cpus.empty() ? -1 : cpus[i]);
  controlPlane_->start();
  ready_ = true;
  metrics_.ready().Set(1);
  KGATE_LOG(Info, "node " << config_->domainID << " ready with " << workers_.size() << " workers"
                          << (cpus.empty() ? "" : ", each on a CPU of its own"));
  io_.run();

  bool clean = true;
  for (auto& w : workers_) {
    if (!w->finished()) {
      clean = false;
      w->forceStop();
    }
    w->join();
  }
  if (!clean) {
    // A worker did not wind down: its suspended coroutines point into it, so it is not
    // destroyed; the process is exiting anyway.
    KGATE_LOG(Warn, "a worker did not stop cleanly");
    for (auto& w : workers_) (void)w.release();
  }
  KGATE_LOG(Info, "stopped");
  return 0;
}

}  // namespace

int runNode(const StartOptions& options) {
  // Writes to a peer that went away must fail with EPIPE, not kill the process.
  signal(SIGPIPE, SIG_IGN);
  // The node is not destroyed at exit: coroutines still suspended on the control thread would
  // be torn down after the objects they point to. The process ends right after; the pointer
  // keeps it reachable so leak checkers do not count it.
  static Node* node = nullptr;
  node = new Node(options);
  return node->run();
}

}  // namespace kgate
