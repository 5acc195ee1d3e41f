// Loader tests: top-level keys, types, unknown keys, collected errors, hostile input.
#include "conf/loader.h"

#include "loader_test_util.h"

namespace kgate::conf {
namespace {

using namespace testing;

TEST(Loader, ParsesEveryTopLevelKey) {
  Config c = parsed(
      "mode: Master\n"
      "domainID: root\n"
      "domainKeyData: |\n  QUJD\n  REVG\n"
      "logLevel: debug\n"
      "protocol: mtls\n"
      "errorMessageFormat: chained\n"
      "instance: gw-1\n"
      "listenAddress: \"[::1]\"\n"
      "hostNames: [gw.example.com, \"*.example.org\", 10.0.0.1]\n"
      "ports: {external: 18080, internal: 18081, api: 18082, metrics: 18084}\n"
      "workers: 4\n"
      "pinWorkers: false\n"
      "datastoreEndpoint: mysql://u:p@db:3306/kgate\n"
      "heartbeatInterval: 2s\n"
      "accessLog: {enabled: false}\n");
  EXPECT_EQ(c.mode, Mode::Master);
  EXPECT_EQ(c.domainKeyData, "QUJDREVG");  // block scalar joined
  EXPECT_EQ(c.logLevel, LogLevel::Debug);
  EXPECT_EQ(c.protocol, Protocol::Mtls);
  EXPECT_EQ(c.errorMessageFormat, ErrorMessageFormat::Chained);
  EXPECT_EQ(c.instance, "gw-1");
  EXPECT_EQ(c.listenAddress, "::1");
  EXPECT_EQ(c.hostNames, (std::vector<std::string>{"gw.example.com", "*.example.org",
                                                   "10.0.0.1"}));
  EXPECT_EQ(c.ports.external, 18080);
  EXPECT_EQ(c.ports.internal, 18081);
  EXPECT_EQ(c.ports.api, 18082);
  EXPECT_EQ(c.ports.metrics, 18084);
  EXPECT_EQ(c.workers, 4u);
  EXPECT_FALSE(c.pinWorkers);
  EXPECT_TRUE(parsed(kMinimal).pinWorkers);
  EXPECT_EQ(c.datastoreEndpoint, "mysql://u:p@db:3306/kgate");
  EXPECT_EQ(c.heartbeatInterval, Seconds(2));
  EXPECT_FALSE(c.accessLog.enabled);
  EXPECT_TRUE(c.externalTls());
  EXPECT_EQ(parsed(kMinimal + "protocol: \"\"\n").protocol, Protocol::Default);
  EXPECT_EQ(parsed(kMinimal + "protocol: NOTLS\n").protocol, Protocol::NoTls);
  EXPECT_EQ(parsed(kMinimal + "protocol: TLS\n").protocol, Protocol::Tls);
  EXPECT_EQ(parsed(kMinimal + "logLevel: WARN\n").logLevel, LogLevel::Warn);
  EXPECT_EQ(parsed(kMinimal + "logLevel: error\n").logLevel, LogLevel::Error);
}

TEST(Loader, HeartbeatIntervalIsWholeSecondsUpTo300) {
  EXPECT_EQ(parsed(kMinimal).heartbeatInterval, Seconds(15));
  EXPECT_EQ(parsed(kMinimal + "heartbeatInterval: 5m\n").heartbeatInterval, Seconds(300));
  EXPECT_HAS(errorsOf(kMinimal + "heartbeatInterval: 301s\n"),
             "heartbeatInterval: must be at most 300s (the default is 15s)");
  EXPECT_HAS(errorsOf(kMinimal + "heartbeatInterval: 0s\n"), "must be greater than 0");
  EXPECT_HAS(errorsOf(kMinimal + "heartbeatInterval: 1500ms\n"), "whole number of seconds");
}

TEST(Loader, NullValuesKeepDefaults) {
  Config c = parsed(kMinimal + "instance:\nports:\nlimits: ~\nroutes:\nworkers:\n");
  EXPECT_EQ(c.ports.api, 13082);
  EXPECT_TRUE(c.routes.empty());
  EXPECT_FALSE(c.instance.empty());
}

TEST(Loader, MissingRequiredKeysAreAllReported) {
  std::string e = errorsOf("logLevel: INFO\n");
  EXPECT_HAS(e, "/cfg/node.yaml: mode: is required: master, lite or autonomy");
  EXPECT_HAS(e, "/cfg/node.yaml: domainID: is required");
  EXPECT_HAS(e, "/cfg/node.yaml: domainKeyData: is required");
  EXPECT_EQ(lineCount(e), 3u) << e;
}

TEST(Loader, EmptyFileAndNonMapDocument) {
  EXPECT_HAS(errorsOf(""), "/cfg/node.yaml: the file is empty");
  EXPECT_HAS(errorsOf("# only a comment\n"), "the file is empty");
  EXPECT_HAS(errorsOf("- a\n- b\n"), "/cfg/node.yaml:1: expected a map (key: value lines), "
                                     "found a list");
  EXPECT_HAS(errorsOf("just text\n"), "expected a map");
}

TEST(Loader, MalformedYamlReportsLineAndColumn) {
  std::string e = errorsOf("mode: autonomy\ndomainID: [alice\ndomainKeyData: QUJD\n");
  EXPECT_HAS(e, "/cfg/node.yaml:");
  EXPECT_HAS(e, "invalid YAML: ");
  EXPECT_EQ(lineCount(e), 1u);
  std::string tab = errorsOf("mode: autonomy\n\tdomainID: alice\n");
  EXPECT_HAS(tab, "invalid YAML");
  EXPECT_HAS(errorsOf("a: b: c\n"), "/cfg/node.yaml:1:");
}

TEST(Loader, UnknownKeysAreNamedWithTheirPathAndLine) {
  std::string e = errorsOf(kMinimal + "domainId: alice\n");
  EXPECT_HAS(e, "/cfg/node.yaml:4: domainId: unknown key \"domainId\"; did you mean \"domainID\"?");
  std::string nested = errorsOf(kMinimal + "limits:\n  headerTimout: 5s\n");
  EXPECT_HAS(nested, "/cfg/node.yaml:5: limits.headerTimout: unknown key \"headerTimout\"; did "
                     "you mean \"headerTimeout\"?");
  EXPECT_HAS(errorsOf(kMinimal + "ports:\n  web: 80\n"), "ports.web: unknown key \"web\"");
  EXPECT_LACKS(errorsOf(kMinimal + "zzzzzzzz: 1\n"), "did you mean");
  EXPECT_HAS(errorsOf(kMinimal + "accessLog:\n  dir: x\n"), "accessLog.dir: unknown key");
}

TEST(Loader, KusciaKeysThatKgateDoesNotUseAreAccepted) {
  Config c = parsed(kMinimal +
                    "runtime: runc\n"
                    "runk: {namespace: x, dnsServers: [1.1.1.1], enableLogging: false}\n"
                    "capacity: {cpu: 4, memory: 8Gi}\n"
                    "reservedResources: {cpu: 500m}\n"
                    "image: {pullPolicy: remote, registries: []}\n"
                    "enableWorkloadApprove: true\n"
                    "clusterToken: abc\n"
                    "agent: {allowPrivileged: false}\n"
                    "debug: true\n"
                    "debugPort: 28080\n"
                    "logrotate: {maxFiles: 5}\n"
                    "metricUpdatePeriod: 5\n");
  EXPECT_EQ(c.domainID, "alice");
}

TEST(Loader, DuplicateKeysAreErrors) {
  std::string e = errorsOf(kMinimal + "logLevel: INFO\nlogLevel: DEBUG\n");
  EXPECT_HAS(e, "/cfg/node.yaml:5: logLevel: duplicate key (first at line 4)");
}

TEST(Loader, WrongNodeTypesAreNamed) {
  EXPECT_HAS(errorsOf("mode: autonomy\ndomainID: {a: 1}\ndomainKeyData: QUJD\n"),
             "/cfg/node.yaml:2: domainID: expected a string, found a map");
  EXPECT_HAS(errorsOf(kMinimal + "ports: [1, 2]\n"), "ports: expected a map (key: value lines), "
                                                     "found a list");
  EXPECT_HAS(errorsOf(kMinimal + "workers: [1]\n"), "workers: expected a number, found a list");
  EXPECT_HAS(errorsOf(kMinimal + "pinWorkers: sometimes\n"),
             "pinWorkers: \"sometimes\" is not a boolean; use true or false");
  EXPECT_HAS(errorsOf(kMinimal + "accessLog:\n  enabled: {x: 1}\n"),
             "accessLog.enabled: expected true or false, found a map");
  EXPECT_HAS(errorsOf(kMinimal + "hostNames: gw.example.com\n"),
             "hostNames: expected a list of DNS names or IP addresses, found the value "
             "\"gw.example.com\"");
  EXPECT_HAS(errorsOf(kMinimal + "limits: 5\n"), "limits: expected a map");
  EXPECT_HAS(errorsOf(kMinimal + "{a: 1}: x\n"), "keys must be plain strings, found a map");
}

TEST(Loader, EnumeratedValuesListTheChoices) {
  EXPECT_HAS(errorsOf("mode: edge\ndomainID: alice\ndomainKeyData: QUJD\n"),
             "/cfg/node.yaml:1: mode: \"edge\" is not one of master, lite, autonomy");
  EXPECT_HAS(errorsOf(kMinimal + "logLevel: verbose\n"),
             "logLevel: \"verbose\" is not one of DEBUG, INFO, WARN, ERROR");
  EXPECT_HAS(errorsOf(kMinimal + "protocol: ssl\n"), "protocol: \"ssl\" is not one of NOTLS, "
                                                     "TLS, MTLS");
  EXPECT_HAS(errorsOf(kMinimal + "errorMessageFormat: json\n"),
             "errorMessageFormat: \"json\" is not one of seed, chained");
}

TEST(Loader, DomainIdIsValidated) {
  EXPECT_HAS(errorsOf("mode: lite\ndomainID: Alice\ndomainKeyData: QUJD\n"
                      "masterEndpoint: https://m:1\n"),
             "/cfg/node.yaml:2: domainID: domain ID \"Alice\" is invalid: use lower-case letters");
  EXPECT_HAS(errorsOf("mode: master\ndomainID: master\ndomainKeyData: QUJD\n"),
             "/cfg/node.yaml:2: domainID: domain ID \"master\" is reserved");
  EXPECT_HAS(errorsOf("mode: master\ndomainID: \"\"\ndomainKeyData: QUJD\n"),
             "domainID: domain ID is empty");
}

TEST(Loader, DomainKeyDataMustBeBase64AndIsNeverEchoed) {
  std::string e = errorsOf("mode: autonomy\ndomainID: alice\n"
                           "domainKeyData: \"-----BEGIN SECRETKEY-----\"\n");
  EXPECT_HAS(e, "/cfg/node.yaml:3: domainKeyData: is not base64 (character 1 is not A-Z");
  EXPECT_LACKS(e, "SECRETKEY");
  EXPECT_HAS(errorsOf("mode: autonomy\ndomainID: alice\ndomainKeyData: QUJ\n"),
             "domainKeyData: is not base64 (wrong length or padding)");
  EXPECT_HAS(errorsOf("mode: autonomy\ndomainID: alice\ndomainKeyData: Q=JD\n"),
             "domainKeyData: is not base64 (character 3");
  EXPECT_HAS(errorsOf("mode: autonomy\ndomainID: alice\ndomainKeyData: \"\"\n"),
             "domainKeyData: is empty");
  EXPECT_EQ(parsed("mode: autonomy\ndomainID: alice\ndomainKeyData: QUI=\n").domainKeyData,
            "QUI=");
}

TEST(Loader, ListenAddressAndHostNames) {
  EXPECT_EQ(parsed(kMinimal + "listenAddress: 127.0.0.2\n").listenAddress, "127.0.0.2");
  EXPECT_EQ(parsed(kMinimal + "listenAddress: \"::\"\n").listenAddress, "::");
  EXPECT_HAS(errorsOf(kMinimal + "listenAddress: localhost\n"),
             "/cfg/node.yaml:4: listenAddress: \"localhost\" is not an IP address");
  EXPECT_HAS(errorsOf(kMinimal + "hostNames: [ok.example, \"bad name!\"]\n"),
             "hostNames[1]: \"bad name!\" is not a DNS name or IP address");
}

TEST(Loader, PortsMustBeInRangeAndDistinct) {
  EXPECT_HAS(errorsOf(kMinimal + "ports:\n  external: 0\n"),
             "/cfg/node.yaml:5: ports.external: \"0\" is out of range; use 1-65535");
  EXPECT_HAS(errorsOf(kMinimal + "ports:\n  api: 70000\n"),
             "ports.api: \"70000\" is out of range; use 1-65535");
  EXPECT_HAS(errorsOf(kMinimal + "ports:\n  api: http\n"), "ports.api: \"http\" is not a whole "
                                                           "number");
  EXPECT_HAS(errorsOf(kMinimal + "ports:\n  api: -1\n"), "is not a whole number");
  EXPECT_HAS(errorsOf(kMinimal + "ports:\n  api: 99999999999999999999999\n"), "is out of range");
  EXPECT_HAS(errorsOf(kMinimal + "ports:\n  internal: 18080\n  api: 18080\n"),
             "/cfg/node.yaml:6: ports.api: 18080 is also ports.internal; every listener needs "
             "its own port");
  // A set port that clashes with another port's default.
  EXPECT_HAS(errorsOf(kMinimal + "ports:\n  metrics: 1080\n"),
             "/cfg/node.yaml:5: ports.metrics: 1080 is also ports.external");
  EXPECT_HAS(errorsOf(kMinimal + "ports:\n  external: 13084\n"),
             "/cfg/node.yaml:5: ports.external: 13084 is also ports.metrics");
  std::string three = errorsOf(kMinimal + "ports:\n  external: 9\n  internal: 9\n  api: 9\n");
  EXPECT_HAS(three, "ports.internal: 9 is also ports.external");
  EXPECT_HAS(three, "ports.api: 9 is also ports.external");
  EXPECT_HAS(three, "ports.api: 9 is also ports.internal");
}

TEST(Loader, ValidatePortsForTheCli) {
  EXPECT_TRUE(validatePorts(Ports{}).ok());
  Ports p;
  p.api = p.external;
  EXPECT_EQ(validatePorts(p).error(),
            "external and api ports are both 1080; every listener needs its own port");
  Ports z;
  z.metrics = 0;
  EXPECT_HAS(validatePorts(z).error(), "metrics port is 0");
}

TEST(Loader, WorkersRange) {
  EXPECT_EQ(parsed(kMinimal + "workers: 256\n").workers, 256u);
  EXPECT_EQ(parsed(kMinimal + "workers: 0\n").workers, 0u);
  EXPECT_HAS(errorsOf(kMinimal + "workers: 257\n"),
             "/cfg/node.yaml:4: workers: \"257\" is out of range; use 0-256");
  EXPECT_HAS(errorsOf(kMinimal + "workers: 1.5\n"), "workers: \"1.5\" is not a whole number");
}

TEST(Loader, LiteNeedsAMasterEndpoint) {
  const std::string lite = "mode: lite\ndomainID: alice\ndomainKeyData: QUJD\n";
  EXPECT_HAS(errorsOf(lite), "/cfg/node.yaml: masterEndpoint: is required for a lite node");
  EXPECT_HAS(errorsOf(lite + "masterEndpoint: \"\"\n"),
             "/cfg/node.yaml:4: masterEndpoint: is required for a lite node");
  EXPECT_HAS(errorsOf(lite + "masterEndpoint: 1.1.1.1:18080\n"),
             "/cfg/node.yaml:4: masterEndpoint: \"1.1.1.1:18080\": not a URL");
  Config c = parsed(lite + "masterEndpoint: https://1.1.1.1:18080\nliteDeployToken: T0k3n\n");
  EXPECT_EQ(c.masterEndpoint, "https://1.1.1.1:18080");
  EXPECT_EQ(c.liteDeployToken, "T0k3n");
  EXPECT_FALSE(c.externalTls());
  EXPECT_EQ(parsed(lite + "masterEndpoint: https://m:1\nliteDeployToken: \"\"\n").mode,
            Mode::Lite);
}

TEST(Loader, RoleSpecificKeysInTheWrongRole) {
  EXPECT_HAS(errorsOf("mode: lite\ndomainID: alice\ndomainKeyData: QUJD\n"
                      "masterEndpoint: https://m:1\ndatastoreEndpoint: mysql://x\n"),
             "/cfg/node.yaml:5: datastoreEndpoint: is only used by master and autonomy nodes "
             "(mode is lite); remove it");
  EXPECT_HAS(errorsOf("mode: master\ndomainID: root\ndomainKeyData: QUJD\n"
                      "masterEndpoint: https://m:1\n"),
             "/cfg/node.yaml:4: masterEndpoint: is only used by lite nodes (mode is master)");
  EXPECT_HAS(errorsOf(kMinimal + "liteDeployToken: abc\n"),
             "liteDeployToken: is only used by lite nodes (mode is autonomy)");
  // Empty values, as some generators write them, are fine.
  parsed(kMinimal + "masterEndpoint: \"\"\nliteDeployToken: \"\"\n");
}

TEST(Loader, DatastoreEndpointIsEmptyOrMysqlAndNeverEchoed) {
  EXPECT_EQ(parsed(kMinimal + "datastoreEndpoint: \"\"\n").datastoreEndpoint, "");
  std::string pg = errorsOf(kMinimal + "datastoreEndpoint: postgres://u:hunter2@h/db\n");
  EXPECT_HAS(pg, "/cfg/node.yaml:4: datastoreEndpoint: uses \"postgres://\", which is not "
                 "supported; leave it empty for the embedded SQLite database or use mysql://");
  EXPECT_LACKS(pg, "hunter2");
  std::string junk = errorsOf(kMinimal + "datastoreEndpoint: u:hunter2@tcp(h)/db\n");
  EXPECT_HAS(junk, "datastoreEndpoint: is not a URL");
  EXPECT_LACKS(junk, "hunter2");
  std::string noDb = errorsOf(kMinimal + "datastoreEndpoint: mysql://u:hunter2@h:3306\n");
  EXPECT_HAS(noDb, "/cfg/node.yaml:4: datastoreEndpoint: no database name (/database after the "
                   "host) (expected mysql://user:pass@host:3306/database)");
  EXPECT_LACKS(noDb, "hunter2");
}

TEST(Loader, LimitsParseSizesAndDurations) {
  Config c = parsed(kMinimal +
                    "limits:\n"
                    "  maxHeaderBytes: 32KiB\n"
                    "  maxHeaderCount: 50\n"
                    "  maxBodyBytes: 1GiB\n"
                    "  maxConnections: 1000\n"
                    "  headerTimeout: 5s\n"
                    "  idleTimeout: 2m\n"
                    "  streamIdleTimeout: 1h\n"
                    "  sendTimeout: 20s\n"
                    "  connectTimeout: 3\n"
                    "  upstreamIdleTimeout: 90s\n"
                    "  drainTimeout: 0\n"
                    "  maxConcurrentStreams: 100\n"
                    "  streamWindowBytes: 64KiB\n");
  const Limits& l = c.limits;
  EXPECT_EQ(l.maxHeaderBytes, 32u * 1024);
  EXPECT_EQ(l.maxHeaderCount, 50u);
  EXPECT_EQ(l.maxBodyBytes, 1ull << 30);
  EXPECT_EQ(l.maxConnections, 1000u);
  EXPECT_EQ(l.headerTimeout, Seconds(5));
  EXPECT_EQ(l.idleTimeout, Seconds(120));
  EXPECT_EQ(l.streamIdleTimeout, Seconds(3600));
  EXPECT_EQ(l.sendTimeout, Seconds(20));
  EXPECT_EQ(l.connectTimeout, Seconds(3));
  EXPECT_EQ(l.upstreamIdleTimeout, Seconds(90));
  EXPECT_EQ(l.drainTimeout, Seconds(0));
  EXPECT_EQ(l.maxConcurrentStreams, 100u);
  EXPECT_EQ(l.streamWindowBytes, 65536u);
  EXPECT_EQ(parsed(kMinimal + "limits: {maxBodyBytes: 0}\n").limits.maxBodyBytes, 0u);
}

TEST(Loader, LimitsRejectZeroWhereItMakesNoSense) {
  for (const char* key : {"headerTimeout", "idleTimeout", "streamIdleTimeout", "sendTimeout",
                          "connectTimeout", "upstreamIdleTimeout"}) {
    EXPECT_HAS(errorsOf(kMinimal + "limits:\n  " + key + ": 0s\n"),
               "/cfg/node.yaml:5: limits." + std::string(key) + ": \"0s\" must be greater than 0");
  }
  for (const char* key : {"maxHeaderBytes", "streamWindowBytes"}) {
    EXPECT_HAS(errorsOf(kMinimal + "limits:\n  " + key + ": 0\n"),
               "limits." + std::string(key) + ": \"0\" must be greater than 0");
  }
  for (const char* key : {"maxHeaderCount", "maxConnections", "maxConcurrentStreams"}) {
    EXPECT_HAS(errorsOf(kMinimal + "limits:\n  " + key + ": 0\n"),
               "limits." + std::string(key) + ": \"0\" is out of range");
  }
}

TEST(Loader, LimitsRejectBadValues) {
  EXPECT_HAS(errorsOf(kMinimal + "limits:\n  headerTimeout: 1500ms\n"),
             "limits.headerTimeout: \"1500ms\" must be a whole number of seconds");
  EXPECT_HAS(errorsOf(kMinimal + "limits:\n  headerTimeout: 2.5s\n"),
             "limits.headerTimeout: \"2.5s\" must be a whole number of seconds");
  EXPECT_HAS(errorsOf(kMinimal + "limits:\n  headerTimeout: soon\n"),
             "limits.headerTimeout: \"soon\": not a duration");
  EXPECT_HAS(errorsOf(kMinimal + "limits:\n  idleTimeout: -1s\n"),
             "limits.idleTimeout: \"-1s\": a duration cannot be negative");
  EXPECT_HAS(errorsOf(kMinimal + "limits:\n  maxHeaderBytes: 8GiB\n"),
             "limits.maxHeaderBytes: \"8GiB\" is out of range; use 1-4294967295 bytes");
  EXPECT_HAS(errorsOf(kMinimal + "limits:\n  streamWindowBytes: 2GiB\n"),
             "limits.streamWindowBytes: \"2GiB\" is out of range; use 1-2147483647 bytes");
  EXPECT_HAS(errorsOf(kMinimal + "limits:\n  maxBodyBytes: lots\n"),
             "limits.maxBodyBytes: \"lots\": not a size");
  EXPECT_HAS(errorsOf(kMinimal + "limits:\n  maxHeaderCount: 10k\n"),
             "limits.maxHeaderCount: \"10k\" is not a whole number");
}

TEST(Loader, AccessLogValues) {
  EXPECT_HAS(errorsOf(kMinimal + "accessLog:\n  enabled: maybe\n"),
             "/cfg/node.yaml:5: accessLog.enabled: \"maybe\" is not a boolean; use true or false");
  EXPECT_FALSE(parsed(kMinimal + "accessLog:\n  enabled: no\n").accessLog.enabled);
}

TEST(Loader, ExternalTlsFilesResolveAgainstTheConfigAndGoTogether) {
  Config c = parsed(kMinimal + "tls:\n  certFile: ext.crt\n  keyFile: /etc/kgate/ext.key\n");
  EXPECT_EQ(c.tls.certFile, "/cfg/ext.crt");
  EXPECT_EQ(c.tls.keyFile, "/etc/kgate/ext.key");
  EXPECT_TRUE(parsed(kMinimal).tls.certFile.empty());
  EXPECT_HAS(errorsOf(kMinimal + "tls:\n  certFile: a.crt\n"),
             "tls: certFile and keyFile go together");
  EXPECT_HAS(errorsOf(kMinimal + "tls:\n  cert: a.crt\n"), "tls.cert: unknown key");
}

TEST(Loader, AllErrorsAreReportedInOnePass) {
  std::string e = errorsOf("mode: autonomy\n"
                           "domainID: Alice\n"
                           "domainKeyData: QUJD\n"
                           "logLevel: LOUD\n"
                           "ports:\n  api: 0\n"
                           "limits:\n  headerTimeout: never\n"
                           "routes:\n  - destination: bob\n"
                           "tokens:\n  bob: []\n");
  EXPECT_HAS(e, "/cfg/node.yaml:2: domainID:");
  EXPECT_HAS(e, "/cfg/node.yaml:4: logLevel:");
  EXPECT_HAS(e, "/cfg/node.yaml:6: ports.api:");
  EXPECT_HAS(e, "/cfg/node.yaml:8: limits.headerTimeout:");
  EXPECT_HAS(e, "/cfg/node.yaml:10: routes[0].endpoint: is required");
  EXPECT_HAS(e, "/cfg/node.yaml:10: routes[0].token: is required");
  EXPECT_HAS(e, "/cfg/node.yaml:12: tokens.bob: expected a list of 1 or 2 tokens");
  EXPECT_EQ(lineCount(e), 7u) << e;
}

TEST(Loader, ErrorsAreListedInFileOrder) {
  // Routes are checked after the top-level keys, yet their message comes first.
  std::string e = errorsOf("mode: lite\ndomainID: alice\ndomainKeyData: QUJD\n"
                           "routes:\n  - destination: Bob\n"
                           "logLevel: LOUD\n");
  EXPECT_EQ(e,
            "/cfg/node.yaml: masterEndpoint: is required for a lite node: the master's external "
            "URL, e.g. https://10.0.0.1:18080\n"
            "/cfg/node.yaml:5: routes[0].destination: domain ID \"Bob\" is invalid: use "
            "lower-case letters, digits and '-', start and end with a letter or digit, at most 63 "
            "characters (RFC 1123 label)\n"
            "/cfg/node.yaml:5: routes[0].token: is required (the token this node sends as "
            "Kuscia-Token; the peer lists it under tokens)\n"
            "/cfg/node.yaml:5: routes[0].endpoint: is required (the peer's external URL, e.g. "
            "http://10.0.0.2:38080), unless transit names a domain to go through\n"
            "/cfg/node.yaml:6: logLevel: \"LOUD\" is not one of DEBUG, INFO, WARN, ERROR");
}

TEST(Loader, HostileInputNeverThrows) {
  std::string deep(20000, '[');
  std::string binary("\0\x01\xff\xfe: \x80\n", 8);
  for (const std::string& text :
       {deep, binary, std::string("*unknown_alias\n"), std::string("a: &x [*x]\n"),
        std::string("!!binary 123: x\n"), std::string("? [a]\n: b\n"),
        std::string("mode: autonomy\ndomainID: alice\ndomainKeyData: QUJD\n---\nx: 1\n")}) {
    EXPECT_NO_THROW({
      auto r = parseConfig(text, "x.yaml");
      (void)r;
    });
  }
}

}  // namespace
}  // namespace kgate::conf
