// HTTP/1.1 to an upstream: a pooled connection, and the exchange (one request and its response)
// that leases it. The exchange hands the connection back to its pool only when both directions
// finished cleanly and the upstream allows keep-alive; anything else closes it.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "gateway/h1/parser.h"
#include "gateway/read_buffer.h"
#include "gateway/stream.h"
#include "gateway/transport.h"

namespace kgate::h1 {

class ClientConnection {
 public:
  // poolKey: the upstream pool entry the connection goes back to (it never changes).
  ClientConnection(std::unique_ptr<Transport> transport, std::string poolKey)
      : transport_(std::move(transport)), poolKey_(std::move(poolKey)) {}

  Transport& transport() { return *transport_; }
  ReadBuffer& buffer() { return buf_; }
  const std::string& poolKey() const { return poolKey_; }
  // Request heads are built here, so their buffer is reused from one exchange to the next.
  std::string& headBuffer() { return head_; }
  // Still worth reusing: open, nothing unread, and silent in the kernel too (one syscall): the
  // peer has not closed it, and sent nothing nobody asked for, which the next request would
  // otherwise take for its response.
  bool reusable();
  unsigned requests = 0;  // exchanges completed on it

 private:
  std::unique_ptr<Transport> transport_;
  std::string poolKey_;
  ReadBuffer buf_;
  std::string head_;
};

using ReleaseFn = std::function<void(std::unique_ptr<ClientConnection>)>;

class ClientExchange final : public ClientStream {
 public:
  // host is the Host header to send; release receives the connection when it can be reused.
  ClientExchange(std::unique_ptr<ClientConnection> conn, std::string host, ReleaseFn release,
                 uint32_t maxHeaderBytes, uint32_t maxHeaderCount);
  ~ClientExchange() override;

  awaitable<Error> writeHead(const http::RequestHead& head, bool endStream) override;
  awaitable<Error> writeBody(std::string_view data, bool endStream) override;
  awaitable<Error> readHead(http::ResponseHead& out) override;
  awaitable<Error> readBody(http::BodyChunk& out) override;
  void abort() override;
  bool reused() const override { return conn_->requests > 0; }
  std::string_view protocol() const override { return "http/1.1"; }

 private:
  awaitable<Error> flush(std::string_view data, std::string_view tail);
  awaitable<Error> refuseBody();

  std::unique_ptr<ClientConnection> conn_;
  std::string host_;
  ReleaseFn release_;
  uint32_t maxHeaderBytes_, maxHeaderCount_;
  std::optional<ResponseParser> parser_;
  std::string& out_;  // the connection's head buffer
  bool chunked_ = false;
  std::optional<uint64_t> lengthLeft_;  // Content-Length framing: body bytes the head promised
  bool headRequest_ = false;
  bool requestDone_ = false;
  bool responseDone_ = false;
  bool broken_ = false;
};

}  // namespace kgate::h1
