// The filter interface: the Kuscia behaviours (host rewriting, token auth, routing, error
// decoration) are filters run in order on the request head and in reverse on the response head.
//
// Filters are stateless objects shared by every stream of a listener; per-stream state lives in
// StreamContext, and configuration is read from the stream's snapshot (ctx.snap).
#pragma once

#include <string>
#include <string_view>

#include "gateway/deadline.h"
#include "gateway/snapshot.h"
#include "gateway/stream.h"

namespace kgate {

struct StreamContext {
  StreamContext(const Snapshot& s, ServerStream& stream)
      : snap(s), ds(stream), listener(stream.connection().listener), req(stream.request()) {}

  const Snapshot& snap;
  ServerStream& ds;
  ListenerKind listener;
  http::RequestHead& req;

  std::string originalHost;  // Host as received: lower-case, port stripped
  std::string host;          // the host routing uses (external: Kuscia-Host when present)
  std::string source;        // Kuscia-Source as received ("" if none), for logs and metrics
  std::string peer;          // metrics label: source domain (external) or destination (internal)
  std::string traceId, spanId;

  enum class Target { None, Handshake, Control, Probe, Service, Peer };
  Target target = Target::None;
  const routes::Service* service = nullptr;
  const routes::PeerRoute* route = nullptr;
  std::string originalPath;  // set when the router rewrote req.path (route path prefix)

  // Outcome.
  bool local = false;        // the response is generated here, not by an upstream
  int status = 0;
  std::string_view cause;
  std::string message;       // local replies: text for kuscia-error-message and the body

  // Accounting, for the access log and metrics.
  Clock::time_point start = Clock::now();
  Clock::time_point upstreamStart{};  // only when the access log is on (its only reader)
  Clock::time_point upstreamHeaders{};
  std::string_view upstreamProtocol;

  // Makes the response a local one. The router, auth and codecs all end up here.
  void reply(int s, std::string_view c, std::string msg = {}) {
    local = true;
    status = s;
    cause = c;
    message = std::move(msg);
  }
};

enum class FilterStatus {
  Continue,  // run the next filter
  Stop,      // a local reply was set (ctx.reply): skip the remaining filters and the upstream
};

class Filter {
 public:
  virtual ~Filter() = default;
  virtual FilterStatus onRequest(StreamContext&) { return FilterStatus::Continue; }
  virtual void onResponse(StreamContext&, http::ResponseHead&) {}
};

}  // namespace kgate
