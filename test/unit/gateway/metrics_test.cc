#include "gateway/metrics.h"

#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <sstream>

namespace kgate {
namespace {

// "name{labels}" -> value, for every sample line; fails the test on any line that is not valid
// Prometheus text exposition.
std::map<std::string, double> parse(const std::string& text) {
  static const std::regex comment(R"(# (HELP [a-zA-Z_:][a-zA-Z0-9_:]* .*|TYPE [a-zA-Z_:][a-zA-Z0-9_:]* (counter|gauge|histogram|summary|untyped)))");
  static const std::regex sample(
      R"(([a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*",?)*\})?) ([-+]?([0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?|Inf)|NaN)( -?[0-9]+)?)");
  std::map<std::string, double> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    if (line[0] == '#') {
      EXPECT_TRUE(std::regex_match(line, comment)) << "bad comment line: " << line;
      continue;
    }
    std::smatch m;
    if (!std::regex_match(line, m, sample)) {
      ADD_FAILURE() << "bad sample line: " << line;
      continue;
    }
    EXPECT_EQ(out.count(m[1]), 0u) << "duplicate sample: " << line;
    out[m[1]] = std::stod(m[5]);
  }
  EXPECT_FALSE(text.empty() || text.back() != '\n') << "exposition must end with a newline";
  return out;
}

class MetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    metrics_.addWorker(&a_);
    metrics_.addWorker(&b_);
  }
  std::map<std::string, double> scrape() { return parse(metrics_.render()); }
  WorkerStats a_, b_;
  Metrics metrics_;
};

TEST_F(MetricsTest, EmptyRenderIsValid) {
  auto s = scrape();
  EXPECT_EQ(s.at(R"(kgate_build_info{version="0.1.0"})"), 1);
  EXPECT_EQ(s.at("kgate_ready"), 0);
  EXPECT_EQ(s.at(R"(kgate_open_connections{listener="external"})"), 0);
}

TEST_F(MetricsTest, RequestCountersAreSummedAcrossWorkers) {
  a_.onRequest(ListenerKind::External, "bob", 200, "via_upstream", 0.003);
  b_.onRequest(ListenerKind::External, "bob", 200, "via_upstream", 0.2);
  b_.onRequest(ListenerKind::External, "bob", 200, "via_upstream", 0.2);
  a_.onRequest(ListenerKind::Internal, "zed", 404, "route_not_found", 0.0001);
  a_.onRequest(ListenerKind::External, "", 401, "no_source", 0.0001);
  auto s = scrape();
  EXPECT_EQ(s.at(R"(kgate_requests_total{listener="external",peer="bob",code="200",cause="via_upstream"})"), 3);
  EXPECT_EQ(s.at(R"(kgate_requests_total{listener="internal",peer="zed",code="404",cause="route_not_found"})"), 1);
  EXPECT_EQ(s.at(R"(kgate_requests_total{listener="external",peer="",code="401",cause="no_source"})"), 1);
}

// A worker remembers the series of its last request: requests that differ from it in any one
// label, one after another and back again, each count in their own.
TEST_F(MetricsTest, AlternatingRequestsCountInTheirOwnSeries) {
  for (int i = 0; i < 2; ++i) {
    a_.onRequest(ListenerKind::External, "bob", 200, "via_upstream", 0.001);
    a_.onRequest(ListenerKind::Internal, "bob", 200, "via_upstream", 0.001);
    a_.onRequest(ListenerKind::External, "bobby", 200, "via_upstream", 0.001);
    a_.onRequest(ListenerKind::External, "bob", 201, "via_upstream", 0.001);
    a_.onRequest(ListenerKind::External, "bob", 200, "via_upstreams", 0.001);
    a_.onRequest(ListenerKind::External, "bob", 200, "via_upstream", 0.001);
  }
  a_.onBytes(ListenerKind::Internal, 5, 6);
  a_.onBytes(ListenerKind::External, 7, 8);
  a_.onBytes(ListenerKind::Internal, 5, 6);
  auto s = scrape();
  EXPECT_EQ(s.at(R"(kgate_requests_total{listener="external",peer="bob",code="200",cause="via_upstream"})"), 4);
  EXPECT_EQ(s.at(R"(kgate_requests_total{listener="internal",peer="bob",code="200",cause="via_upstream"})"), 2);
  EXPECT_EQ(s.at(R"(kgate_requests_total{listener="external",peer="bobby",code="200",cause="via_upstream"})"), 2);
  EXPECT_EQ(s.at(R"(kgate_requests_total{listener="external",peer="bob",code="201",cause="via_upstream"})"), 2);
  EXPECT_EQ(s.at(R"(kgate_requests_total{listener="external",peer="bob",code="200",cause="via_upstreams"})"), 2);
  EXPECT_EQ(s.at(R"(kgate_request_duration_seconds_count{listener="external",peer="bob"})"), 8);
  EXPECT_EQ(s.at(R"(kgate_request_duration_seconds_count{listener="internal",peer="bob"})"), 2);
  EXPECT_EQ(s.at(R"(kgate_request_duration_seconds_count{listener="external",peer="bobby"})"), 2);
  EXPECT_EQ(s.at(R"(kgate_body_bytes_total{listener="internal",direction="received"})"), 10);
  EXPECT_EQ(s.at(R"(kgate_body_bytes_total{listener="internal",direction="sent"})"), 12);
  EXPECT_EQ(s.at(R"(kgate_body_bytes_total{listener="external",direction="received"})"), 7);
  EXPECT_EQ(s.at(R"(kgate_body_bytes_total{listener="external",direction="sent"})"), 8);
}

TEST_F(MetricsTest, HistogramBucketsAreCumulativeAndInfIsTheCount) {
  a_.onRequest(ListenerKind::External, "bob", 200, "via_upstream", 0.0004);  // first bucket
  a_.onRequest(ListenerKind::External, "bob", 200, "via_upstream", 0.005);   // exactly on a bound
  b_.onRequest(ListenerKind::External, "bob", 200, "via_upstream", 0.2);
  b_.onRequest(ListenerKind::External, "bob", 500, "via_upstream", 100);     // beyond the last bound
  auto s = scrape();
  const std::string p = R"(kgate_request_duration_seconds_bucket{listener="external",peer="bob",le=")";
  EXPECT_EQ(s.at(p + R"(0.0005"})"), 1);
  EXPECT_EQ(s.at(p + R"(0.001"})"), 1);
  EXPECT_EQ(s.at(p + R"(0.0025"})"), 1);
  EXPECT_EQ(s.at(p + R"(0.005"})"), 2);
  EXPECT_EQ(s.at(p + R"(0.1"})"), 2);
  EXPECT_EQ(s.at(p + R"(0.25"})"), 3);
  EXPECT_EQ(s.at(p + R"(60"})"), 3);
  EXPECT_EQ(s.at(p + R"(+Inf"})"), 4);
  EXPECT_EQ(s.at(R"(kgate_request_duration_seconds_count{listener="external",peer="bob"})"), 4);
  EXPECT_NEAR(s.at(R"(kgate_request_duration_seconds_sum{listener="external",peer="bob"})"),
              100.2054, 1e-3);
  // Cumulative: never decreasing along the bounds, in the order written.
  std::string text = metrics_.render();
  double last = -1;
  std::istringstream in(text);
  std::string line;
  int buckets = 0;
  while (std::getline(in, line)) {
    if (line.rfind(p, 0) != 0) continue;
    double v = std::stod(line.substr(line.rfind(' ') + 1));
    EXPECT_GE(v, last) << line;
    last = v;
    ++buckets;
  }
  EXPECT_EQ(buckets, static_cast<int>(WorkerStats::kBuckets.size()) + 1);
}

TEST_F(MetricsTest, OpenConnectionsGauge) {
  a_.connectionOpened(ListenerKind::External);
  a_.connectionOpened(ListenerKind::External);
  b_.connectionOpened(ListenerKind::External);
  a_.connectionClosed(ListenerKind::External);
  b_.connectionOpened(ListenerKind::Internal);
  EXPECT_EQ(a_.openConnections(ListenerKind::External), 1);
  auto s = scrape();
  EXPECT_EQ(s.at(R"(kgate_open_connections{listener="external"})"), 2);
  EXPECT_EQ(s.at(R"(kgate_open_connections{listener="internal"})"), 1);
  EXPECT_EQ(s.at(R"(kgate_open_connections{listener="api"})"), 0);
  EXPECT_EQ(s.at(R"(kgate_open_connections{listener="metrics"})"), 0);
}

TEST_F(MetricsTest, AuthUpstreamAndByteCounters) {
  a_.onAuthFailure("no_token");
  a_.onAuthFailure("no_token");
  b_.onAuthFailure("no_token");
  b_.onAuthFailure("token_mismatch");
  a_.onUpstreamFailure("bob", "connect");
  b_.onUpstreamFailure("bob", "connect");
  b_.onUpstreamFailure("carol", "tls");
  a_.onBytes(ListenerKind::External, 100, 2000);
  b_.onBytes(ListenerKind::External, 1, 2);
  a_.onDownstreamTimeout(ListenerKind::External, "header");
  b_.onDownstreamTimeout(ListenerKind::External, "header");
  b_.onDownstreamTimeout(ListenerKind::Internal, "send");
  auto s = scrape();
  EXPECT_EQ(s.at(R"(kgate_auth_failures_total{reason="no_token"})"), 3);
  EXPECT_EQ(s.at(R"(kgate_auth_failures_total{reason="token_mismatch"})"), 1);
  EXPECT_EQ(s.at(R"(kgate_upstream_failures_total{peer="bob",kind="connect"})"), 2);
  EXPECT_EQ(s.at(R"(kgate_upstream_failures_total{peer="carol",kind="tls"})"), 1);
  EXPECT_EQ(s.at(R"(kgate_body_bytes_total{listener="external",direction="received"})"), 101);
  EXPECT_EQ(s.at(R"(kgate_body_bytes_total{listener="external",direction="sent"})"), 2002);
  EXPECT_EQ(s.at(R"(kgate_downstream_timeouts_total{listener="external",kind="header"})"), 2);
  EXPECT_EQ(s.at(R"(kgate_downstream_timeouts_total{listener="internal",kind="send"})"), 1);
}

TEST_F(MetricsTest, TypesAndHelpAreDeclared) {
  std::string text = metrics_.render();
  a_.onRequest(ListenerKind::External, "bob", 200, "via_upstream", 0.01);
  text = metrics_.render();
  EXPECT_NE(text.find("# TYPE kgate_requests_total counter"), std::string::npos);
  EXPECT_NE(text.find("# TYPE kgate_request_duration_seconds histogram"), std::string::npos);
  EXPECT_NE(text.find("# TYPE kgate_open_connections gauge"), std::string::npos);
  EXPECT_NE(text.find("# HELP kgate_requests_total "), std::string::npos);
}

TEST_F(MetricsTest, RegistryMetricsAreRenderedToo) {
  metrics_.ready().Set(1);
  metrics_.reloads().Add({{"result", "ok"}}).Increment();
  metrics_.certExpiry().Add({{"cert", "external"}}).Set(1.7e9);
  auto s = scrape();
  EXPECT_EQ(s.at("kgate_ready"), 1);
  EXPECT_EQ(s.at(R"(kgate_config_reloads_total{result="ok"})"), 1);
  EXPECT_EQ(s.at(R"(kgate_certificate_expiry_timestamp_seconds{cert="external"})"), 1.7e9);
}

TEST_F(MetricsTest, OddLabelValuesStayValid) {
  a_.onRequest(ListenerKind::External, "we\"ird\\peer\nx", 200, "via_upstream", 0.01);
  std::string text = metrics_.render();
  auto s = parse(text);  // validates every line
  EXPECT_NE(text.find(R"(peer="we\"ird\\peer\nx")"), std::string::npos) << text;
}

}  // namespace
}  // namespace kgate
