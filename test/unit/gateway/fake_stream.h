// A ServerStream without a connection, for running filters on a StreamContext.
#pragma once

#include <memory>
#include <string>

#include "conf/endpoint.h"
#include "gateway/filter.h"
#include "gateway/snapshot.h"
#include "gateway/stream.h"

namespace kgate::testing {

class FakeServerStream final : public ServerStream {
 public:
  explicit FakeServerStream(ListenerKind listener) { info_.listener = listener; info_.peerIp = "127.0.0.1"; }

  http::RequestHead& request() override { return req_; }
  const ConnectionInfo& connection() const override { return info_; }

  awaitable<Error> readBody(http::BodyChunk& out) override {
    out = http::BodyChunk{{}, true, nullptr};
    co_return Error::Ok;
  }
  awaitable<Error> writeHead(http::ResponseHead&, bool) override {
    headWritten_ = true;
    co_return Error::Ok;
  }
  awaitable<Error> writeBody(std::string_view data, bool) override {
    written_ += data.size();
    co_return Error::Ok;
  }
  awaitable<Error> writeTrailers(const http::Headers&) override { co_return Error::Ok; }
  void abort() override { aborted_ = true; }
  bool headWritten() const override { return headWritten_; }
  uint64_t bodyBytesRead() const override { return 0; }
  uint64_t bodyBytesWritten() const override { return written_; }

 private:
  http::RequestHead req_;
  ConnectionInfo info_;
  bool headWritten_ = false;
  bool aborted_ = false;
  uint64_t written_ = 0;
};

// The dataplane.md test-vector node: alice/gw-0, service svc, routes to bob (token TAB) and
// carol (path prefix /gw), tokens bob: TOLD/TNEW and dave: noop; alice relays bob -> carol
// (vector 18) and erin's requests reach her through bob (and, on paper, dave).
inline conf::Config vectorConfig() {
  conf::Config c;
  c.domainID = "alice";
  c.instance = "gw-0";
  c.services.push_back({"svc", *conf::parseEndpoint("http://10.0.0.5:8080"),
                        conf::UpstreamProtocol::Http1});
  conf::Route bob;
  bob.destination = "bob";
  bob.endpoint = *conf::parseEndpoint("http://bob.example.com:1080");
  bob.token = "TAB";
  c.routes.push_back(bob);
  conf::Route carol;
  carol.destination = "carol";
  carol.endpoint = *conf::parseEndpoint("http://carol.example.com:1080/gw/");
  carol.token = "TAC";
  c.routes.push_back(carol);
  c.tokens["bob"] = {"TOLD", "TNEW"};
  c.tokens["dave"] = {"noop"};
  c.transitRoutes.push_back({"bob", "carol", "alice"});
  c.transitRoutes.push_back({"erin", "alice", "bob"});
  // dave is accepted without authentication: these give him nothing.
  c.transitRoutes.push_back({"dave", "carol", "alice"});
  c.transitRoutes.push_back({"erin", "alice", "dave"});
  return c;
}

// vectorConfig() plus a route to erin through carol.
inline conf::Config vectorConfigWithErinViaCarol() {
  conf::Config c = vectorConfig();
  conf::Route viaCarol;
  viaCarol.destination = "erin";
  viaCarol.transit = "carol";
  c.routes.push_back(viaCarol);
  return c;
}

inline std::shared_ptr<const Snapshot> snapshotOf(const conf::Config& c) {
  auto s = buildSnapshot(std::make_shared<conf::Config>(c));
  return s.ok() ? *s : nullptr;
}

}  // namespace kgate::testing
