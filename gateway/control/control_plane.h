// A node's dynamic routing state, on the control thread: the routes it learned from the master
// (or, on the master, from its own authority), the tokens negotiated for them at both ends
// (auth/route_tokens.h), persisted in <dataDir>/routes.json, and the snapshots built from
// config + this state and published to every worker.
//
// Source end of a route (self -> peer): one coroutine per route runs the RSA-GEN handshake
// when a token is due, heartbeats the peer every heartbeatInterval (15 s by default) and tracks
// reachability. Destination end: POST /handshake and GET /handshake arrive from the data plane
// and are answered here; a new token is live on every worker before the handshake reply leaves.
// A lite also polls the master for its routes and reports each route's state, through its route
// to the master.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "auth/authority.h"
#include "auth/rate_limit.h"
#include "auth/route_tokens.h"
#include "certs/keys.h"
#include "certs/tls_context.h"
#include "gateway/control/probes.h"
#include "gateway/deadline.h"
#include "gateway/lite_bootstrap.h"
#include "gateway/snapshot.h"
#include "gateway/sync_client.h"
#include "gateway/upstream_pool.h"

namespace kgate {

// A route this node is an end or the transit of, as the master describes it.
struct LearnedRoute {
  std::string name, source, destination, peer;
  std::string endpoint;        // the destination's URL ("" for transit routes; a lite's route
                               // to the master uses masterEndpoint)
  std::string authentication = "Token";
  int64_t rollingPeriodSeconds = 86400;
  std::string transit;
  int64_t generation = 1;
  std::string peerPublicKeyPem;
  bool operator==(const LearnedRoute&) const = default;
};

class ControlPlane {
 public:
  using Publish = std::function<awaitable<void>(std::shared_ptr<const Snapshot>)>;

  struct Env {
    net::any_io_executor executor;  // the control thread
    Sweeper& sweeper;
    Publish publish;                // to every worker; completes when all applied it
    std::string stateFile;
    std::string domainKeyPem;
    auth::Authority* authority = nullptr;  // master
    std::optional<LiteIdentity> lite;      // lite
  };

  ControlPlane(Env env, std::shared_ptr<const conf::Config> config);
  ~ControlPlane();

  // Before start(): loads persisted tokens and builds the first snapshot (not yet published).
  Result<std::shared_ptr<const Snapshot>> load();
  void start();
  void stop();

  // SIGHUP: a new config; dynamic state is kept. Fails (and changes nothing) on a bad config.
  awaitable<Result<void>> setConfig(std::shared_ptr<const conf::Config> config);

  // Destination end, for the data plane (run on the control thread).
  // POST /handshake: (HTTP status, content type, body).
  struct HttpAnswer {
    int status = 200;
    std::string contentType = "application/json";
    std::string body;
  };
  // signature: the request's auth::kSignatureHeader ("" when unsigned); peerIp: the client's
  // address, for the per-address rate limit (429 past it).
  awaitable<HttpAnswer> handleHandshake(std::string body, std::string signature,
                                        std::string peerIp);
  // GET /handshake: the heartbeat answer {"namespace","state"}. token: the Kuscia-Token the
  // heartbeat carried ("" from Kuscia sources), checked against the revision's.
  std::string handleHeartbeat(std::string_view source, std::string_view revision,
                              std::string_view token);

  std::shared_ptr<const Snapshot> snapshot() const { return snapshot_; }

  // `kgate route probe` on the master: queue, hand to sources, collect, report.
  Result<std::string> startProbe(const std::string& routeName);  // the probe id
  std::optional<std::string> probeStatus(const std::string& id);
  std::vector<std::pair<std::string, std::string>> pendingProbes(const std::string& source);
  bool completeProbe(const std::string& source, const std::string& id, const std::string& steps);

 private:
  struct SourceHealth {
    int64_t heartbeatOkAt = 0;
    int64_t unreachableSince = 0;
    int heartbeatState = -1;
    std::string error;
    int64_t lastHeartbeat = 0;  // when the last heartbeat was attempted
  };

  // State changes.
  void setRoutes(std::map<std::string, LearnedRoute> routes);
  awaitable<void> republish();
  Result<std::shared_ptr<const Snapshot>> build();
  void persist();
  // Destination end: tells the route's tokens which of them requests have carried (true when
  // that changed what is in use).
  bool collectUse(const std::string& name);
  // Master: after a handshake, stores its side of the route's tokens for the other masters of
  // the domain; and takes the state of a later handshake made through another master (true
  // when something changed; the caller republishes; nullopt when the store could not be read).
  // So the masters accept, and send, the same tokens, whichever of them negotiated.
  void shareTokens(const std::string& name);
  std::optional<bool> adoptSharedTokens();
  // The routes' state for the master. With timestamps=false each time (and the error) says only
  // whether it is set: what changes when a route's state does, not with every heartbeat.
  std::string reportJson(bool timestamps = true) const;
  // A report is due every kReportEverySeconds, and at once when the state changed since the
  // last one (a token negotiated, a heartbeat failing or back): READY follows within a poll.
  // reportFailed(): the master did not take it, so the next poll sends it again.
  bool reportDue(int64_t now);
  void reportFailed() { lastReportState_.clear(); }

  int64_t lastReportAt_ = 0;
  std::string lastReportState_;

  // Loops.
  awaitable<void> sourceLoop(std::string name);
  awaitable<void> liteLoop();
  awaitable<void> masterLoop();
  awaitable<void> housekeeping();
  awaitable<void> sleep(Clock::duration d);

  // Source-end operations on one route.
  awaitable<void> handshake(const LearnedRoute& route);
  awaitable<void> heartbeat(const LearnedRoute& route);
  std::string peerUrl(const LearnedRoute& route) const;
  void presentMtls(const LearnedRoute& route, SyncRequest& req) const;
  // Runs a probe of one of this node's source routes; the steps as a JSON array.
  awaitable<std::string> runProbe(std::string name);
  // Lite: runs a probe the master handed out and sends the steps back.
  awaitable<void> probeForMaster(std::string id, std::string route);

  bool isSource(const LearnedRoute& r) const { return r.source == config_->domainID; }
  bool needsTokens(const LearnedRoute& r) const {
    return r.authentication == "Token" && r.transit.empty();
  }

  Env env_;
  std::shared_ptr<const conf::Config> config_;
  std::shared_ptr<const Snapshot> snapshot_;
  certs::PrivateKey domainKey_;
  std::string domainPublicKeyPem_;
  UpstreamPool pool_;

  std::map<std::string, LearnedRoute> routes_;  // by name
  std::map<std::string, auth::SourceTokens> sourceTokens_;
  std::map<std::string, auth::DestinationTokens> destTokens_;
  // The data path's marks of use, by token, for the tokens in destTokens_ (see collectUse).
  std::map<std::string, auth::TokenSet::UseMark> useMarks_;
  auth::AddressRateLimit handshakes_{20, 3000};  // POST /handshake: 20 at once, then one per 3 s
  std::map<std::string, int64_t> generations_;  // generation each token was negotiated for
  std::map<std::string, int64_t> sharedAt_;     // master: when the token state we hold was made
  std::map<std::string, SourceHealth> health_;
  std::set<std::string> running_;  // source loops alive
  ProbeBoard probes_;                 // master
  std::set<std::string> probesRunning_;
  certs::SslContextPtr probeTls_;
  int64_t masterVersion_ = -1;  // the store's change count last acted on; -1 = none yet
  bool stopped_ = false;
};

}  // namespace kgate
