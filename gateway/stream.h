// The two halves of a proxied exchange, independent of HTTP version.
//  - ServerStream: one request from a downstream client and the way to answer it
//    (HTTP/1.1: the current request of a connection; HTTP/2: one stream of a session).
//  - ClientStream: one request we send to an upstream and its response.
// All operations run on the owning worker's thread. Writes complete when the data has been
// handed to the connection's writer and accepted (flow control / socket), so awaiting them is
// what gives backpressure: a slow reader on one side slows the reads on the other.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "auth/token_set.h"
#include "gateway/asio.h"
#include "gateway/error.h"
#include "gateway/http/message.h"

namespace kgate {

enum class ListenerKind { External, Internal, Api, Metrics };
std::string_view toString(ListenerKind kind);

struct ConnectionInfo {
  ListenerKind listener = ListenerKind::External;
  std::string peerIp;
  bool tls = false;
  bool clientCertVerified = false;  // TLS client certificate presented and verified
  std::string clientName;           // its subject CN when verified (a domain, on MTLS routes)
  // The token this connection presented last, hashed (made at its first token check).
  mutable std::unique_ptr<auth::TokenMemo> tokenMemo;
};

class ServerStream {
 public:
  virtual ~ServerStream() = default;

  virtual http::RequestHead& request() = 0;
  virtual const ConnectionInfo& connection() const = 0;

  // Next piece of the request body; after the last one, returns Ok with an empty last chunk.
  virtual awaitable<Error> readBody(http::BodyChunk& out) = 0;
  // Response head; endStream when no body follows.
  virtual awaitable<Error> writeHead(http::ResponseHead& head, bool endStream) = 0;
  virtual awaitable<Error> writeBody(std::string_view data, bool endStream) = 0;
  // Ends the response with trailers (HTTP/2, or chunked HTTP/1.1 when the client allows them).
  virtual awaitable<Error> writeTrailers(const http::Headers& trailers) = 0;
  // Gives up on the stream: HTTP/2 RST_STREAM, HTTP/1.1 closes the connection. Once the whole
  // response is out, only the rest of the request body is refused (RST_STREAM NO_ERROR; HTTP/1.1
  // stops reading it and drains it or closes with a linger). Wakes any pending operation on it
  // with an error (an HTTP/1.1 body read still returns bytes it had taken). Safe to call more
  // than once.
  virtual void abort() = 0;

  virtual bool headWritten() const = 0;
  virtual uint64_t bodyBytesRead() const = 0;
  virtual uint64_t bodyBytesWritten() const = 0;

  // How to stop what the handler waits for elsewhere (its upstream) when this stream is torn
  // down under it: drain deadline, shutdown, an HTTP/2 client's RST_STREAM. The handler sets it
  // while it has an upstream and clears it (nullptr) before the upstream goes away. The
  // canceller may only abort or close I/O.
  void setCanceller(std::function<void()> f) { canceller_ = std::move(f); }
  void cancel() {
    if (!canceller_) return;
    auto f = std::move(canceller_);
    canceller_ = nullptr;
    f();
  }

 private:
  std::function<void()> canceller_;
};

class ClientStream {
 public:
  virtual ~ClientStream() = default;

  virtual awaitable<Error> writeHead(const http::RequestHead& head, bool endStream) = 0;
  virtual awaitable<Error> writeBody(std::string_view data, bool endStream) = 0;
  // Final (non-1xx) response head.
  virtual awaitable<Error> readHead(http::ResponseHead& out) = 0;
  virtual awaitable<Error> readBody(http::BodyChunk& out) = 0;
  virtual void abort() = 0;
  // True when the stream ran on a pooled connection that had served requests before: a failure
  // before any response byte may then be the peer's idle close, and a retry is safe.
  virtual bool reused() const = 0;
  virtual std::string_view protocol() const = 0;  // "http/1.1" or "h2", for logs
};

}  // namespace kgate
