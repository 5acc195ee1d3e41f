// The node's configuration as plain data. conf/loader.h fills it from YAML and validates it;
// every other module only reads it. Defaults live here, one comment per field, so this file is
// the reference for what can be configured (conf/samples/node.yaml shows the YAML spelling).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace kgate::conf {

using Seconds = std::chrono::seconds;
using Millis = std::chrono::milliseconds;

enum class Mode { Master, Lite, Autonomy };

// TLS mode of the external listener. Unset means the role's default: TLS on master and autonomy,
// plain HTTP on a lite (the tutorial's routes use http:// for lites).
enum class Protocol { Default, NoTls, Tls, Mtls };

// How kuscia-error-message is written. Seed: "Domain <d>.<i><--<host> return http code N." (the
// tutorial's exact output). Chained: Kuscia's newer "<d/i/listener $cause$ text>" joined by " => ".
enum class ErrorMessageFormat { Seed, Chained };

enum class LogLevel { Debug, Info, Warn, Error };

// Protocol spoken to an upstream. Auto: HTTP/2 over TLS when ALPN picks it, else HTTP/1.1.
enum class UpstreamProtocol { Http1, Http2, Auto };

// A parsed upstream URL: http[s]://host[:port][/path-prefix].
struct Endpoint {
  std::string scheme;      // "http" or "https"
  std::string host;        // name or IP literal, no brackets
  uint16_t port = 0;       // 80/443 when the URL has none
  std::string pathPrefix;  // "" or "/prefix" (no trailing slash)
  bool tls() const { return scheme == "https"; }
  std::string url() const;  // canonical form, for logs and listings
};

// A local service that peers reach as <name>.<self>.svc (and local apps as <name>).
struct Service {
  std::string name;
  Endpoint endpoint;
  UpstreamProtocol protocol = UpstreamProtocol::Http1;
};

// An outbound route self -> destination, from the static config (the control plane adds its own).
struct Route {
  std::string destination;
  Endpoint endpoint;           // empty host when transit is set
  std::string token;           // newest token, sent as Kuscia-Token
  bool tokenRequired = true;   // false for routes authenticated otherwise (MTLS, None)
  // MTLS routes (set by the control plane, not the YAML): the certificate and key this node
  // presents, and the CA the peer's certificate must chain to (PEM text).
  std::string clientCertPem, clientKeyPem, caPem;
  std::string transit;         // non-empty: go through the route self -> transit instead
  UpstreamProtocol protocol = UpstreamProtocol::Http1;
  bool verifyPeer = false;     // https: verify the peer certificate against caFile (if set)
  std::string caFile;          // PEM bundle used when verifyPeer is true
  std::string sni;             // server name sent over TLS; default: endpoint host if it is a name
  std::optional<Seconds> streamIdleTimeout;  // overrides limits.streamIdleTimeout
};

// A route source -> destination through a third domain, as seen by its transit or its
// destination (the source has a Route with `transit` instead). The transit relays a peer's
// request for another domain only for these pairs; the destination takes a
// Kuscia-Origin-Source other than the sending peer only from the transit named here.
struct TransitRoute {
  std::string source, destination, transit;
  auto operator<=>(const TransitRoute&) const = default;
};

struct Limits {
  uint32_t maxHeaderBytes = 64 * 1024;       // request line/pseudo-headers + headers, else 431
  uint32_t maxHeaderCount = 100;             // else 431
  uint64_t maxBodyBytes = 0;                 // request body; 0 = unlimited, else 413
  uint32_t maxConnections = 32768;           // per node, downstream; beyond it accepts are refused
  Seconds headerTimeout{10};                 // from its first byte, a request head must be whole (408)
  Seconds idleTimeout{300};                  // keep-alive connection without a request: closed
  Seconds streamIdleTimeout{60};             // no bytes either way on a proxied stream: 504/408
  Seconds sendTimeout{60};                   // a write to a client that makes no progress: closed
  Seconds connectTimeout{10};                // upstream TCP+TLS connect
  Seconds upstreamIdleTimeout{60};           // pooled upstream connection unused: closed
  Seconds drainTimeout{30};                  // SIGTERM: in-flight requests get this long
  uint32_t maxConcurrentStreams = 256;       // HTTP/2, per downstream connection
  uint32_t streamWindowBytes = 1 << 20;      // HTTP/2 per-stream receive window (bounds buffering)
};

struct Ports {
  uint16_t external = 1080;  // -p
  uint16_t internal = 13081; // -q
  uint16_t api = 13082;      // -k
  uint16_t metrics = 13084;  // -x
};

// The external listener's certificate, when the operator brings one (PEM files). Empty: the
// node issues its own from its CA (CN=<domain>_ENVOY_EXTERNAL).
struct ExternalTls {
  std::string certFile;  // leaf first, then intermediates
  std::string keyFile;
};

struct AccessLog {
  bool enabled = true;
  std::string directory;  // default: <dataDir>/logs
  bool operator==(const AccessLog&) const = default;
};

struct Config {
  Mode mode = Mode::Autonomy;
  std::string domainID;
  std::string domainKeyData;  // base64 of a PEM RSA private key (PKCS#1 or PKCS#8)
  LogLevel logLevel = LogLevel::Info;
  Protocol protocol = Protocol::Default;
  ErrorMessageFormat errorMessageFormat = ErrorMessageFormat::Seed;

  std::string instance;       // default: host name, lower-cased
  std::string dataDir;        // default: ./<user>-kgate-<role>[-<domain>] beside the config file
  std::string listenAddress = "0.0.0.0";
  std::vector<std::string> hostNames;  // extra SANs (DNS names or IPs) for the external cert
  Ports ports;
  unsigned workers = 0;       // 0 = one per CPU
  // Each worker thread on a CPU of its own when the workers fill the CPUs the process may use
  // (workers: 0, or as many as those CPUs): the scheduler otherwise lets two workers share a
  // core for a while, which was most of the tail latency under load.
  bool pinWorkers = true;

  // Lite only.
  std::string masterEndpoint;
  std::string liteDeployToken;
  // Master only: empty = SQLite in the data directory.
  std::string datastoreEndpoint;
  // How often a route's source heartbeats its destination. The master calls a route not ready
  // after three intervals without a successful heartbeat (the source reports its interval).
  Seconds heartbeatInterval{15};

  std::vector<Service> services;
  std::vector<Route> routes;
  std::vector<TransitRoute> transitRoutes;  // this node is their transit or destination
  std::map<std::string, std::vector<std::string>> tokens;  // source -> accepted tokens (<= 2)

  Limits limits;
  AccessLog accessLog;
  ExternalTls tls;

  std::string configPath;     // where it was loaded from (for SIGHUP)

  // Derived helpers.
  bool externalTls() const {
    if (protocol == Protocol::Default) return mode != Mode::Lite;
    return protocol != Protocol::NoTls;
  }
  std::string roleName() const;  // "master" | "lite" | "autonomy"
};

// Spellings as written in YAML: "master", "NOTLS"/"TLS"/"MTLS" ("DEFAULT" for Default), "http1",
// "INFO", "seed".
std::string toString(Mode);
std::string toString(Protocol);
std::string toString(UpstreamProtocol);
std::string toString(LogLevel);
std::string toString(ErrorMessageFormat);

}  // namespace kgate::conf
