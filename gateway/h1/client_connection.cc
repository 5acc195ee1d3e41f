#include "gateway/h1/client_connection.h"

#include <sys/socket.h>

#include "gateway/h1/serialize.h"

namespace kgate::h1 {

bool ClientConnection::reusable() {
  if (!transport_->isOpen() || !buf_.empty() || transport_->hasBufferedInput()) return false;
  // A pooled connection must be silent: a readable byte is either EOF (the peer closed it
  // while it sat idle) or data nobody asked for (a TLS alert, the body of a HEAD response sent
  // anyway, a response to nothing). Either way it is done.
  char probe;
  ssize_t n = ::recv(transport_->socket().native_handle(), &probe, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

ClientExchange::ClientExchange(std::unique_ptr<ClientConnection> conn, std::string host,
                               ReleaseFn release, uint32_t maxHeaderBytes,
                               uint32_t maxHeaderCount)
    : conn_(std::move(conn)),
      host_(std::move(host)),
      release_(std::move(release)),
      maxHeaderBytes_(maxHeaderBytes),
      maxHeaderCount_(maxHeaderCount),
      out_(conn_->headBuffer()) {
  out_.clear();
}

ClientExchange::~ClientExchange() {
  bool keep = !broken_ && requestDone_ && responseDone_ && parser_ && parser_->keepAlive();
  if (keep && release_) {
    conn_->requests++;
    release_(std::move(conn_));
  } else if (conn_) {
    conn_->transport().close();
  }
}

void ClientExchange::abort() {
  broken_ = true;
  conn_->transport().close();
}

awaitable<Error> ClientExchange::flush(std::string_view data, std::string_view tail) {
  auto ec = co_await conn_->transport().writeAll(out_, data, tail);
  out_.clear();
  if (ec) {
    broken_ = true;
    co_return ec == net::error::operation_aborted ? Error::Aborted : Error::PeerClosed;
  }
  co_return Error::Ok;
}

namespace {
awaitable<Error> done(Error e) { co_return e; }  // an answer known without any I/O
}  // namespace

// writeHead and writeBody are not coroutines: each returns flush()'s awaitable, so a write costs
// one frame, not two.
awaitable<Error> ClientExchange::writeHead(const http::RequestHead& head, bool endStream) {
  headRequest_ = head.method == "HEAD";
  Framing framing = Framing::None;
  if (head.contentLength) framing = Framing::Length;
  else if (!endStream) framing = Framing::Chunked;
  chunked_ = framing == Framing::Chunked;
  if (framing == Framing::Length) {
    lengthLeft_ = *head.contentLength;
    if (endStream && *lengthLeft_ != 0) return refuseBody();
  }
  appendRequestHead(out_, head, host_, framing);
  if (!endStream) return done(Error::Ok);  // the head leaves with the first body piece
  requestDone_ = true;
  return flush({}, {});
}

// The body differs from the Content-Length sent (or about to be sent) ahead of it. Whoever let it
// through, the upstream must not get it: bytes past the end would be read as the next request
// on this connection, and one short would take the next request's bytes as the rest of this
// one. Nothing more is sent and the connection is closed.
awaitable<Error> ClientExchange::refuseBody() {
  abort();
  return done(Error::Protocol);
}

awaitable<Error> ClientExchange::writeBody(std::string_view data, bool endStream) {
  if (broken_ || requestDone_) return done(Error::Aborted);
  if (lengthLeft_) {
    if (data.size() > *lengthLeft_ || (endStream && data.size() != *lengthLeft_))
      return refuseBody();
    *lengthLeft_ -= data.size();
  }
  if (endStream) requestDone_ = true;
  if (!chunked_) return flush(data, {});
  if (!data.empty()) appendChunkHeader(out_, data.size());
  std::string_view tail = data.empty() ? (endStream ? "0\r\n\r\n" : "")
                                       : (endStream ? "\r\n0\r\n\r\n" : "\r\n");
  return flush(data, tail);
}

awaitable<Error> ClientExchange::readHead(http::ResponseHead& out) {
  if (broken_) co_return Error::Aborted;
  for (;;) {
    parser_.emplace(maxHeaderBytes_, maxHeaderCount_);
    if (headRequest_) parser_->skipBody();
    Error e = co_await h1::readHead(conn_->transport(), conn_->buffer(), *parser_,
                                    maxHeaderBytes_ + 4096);
    if (e != Error::Ok) {
      broken_ = true;
      co_return e == Error::HeadersTooLarge ? Error::Protocol : e;
    }
    int status = parser_->status;
    if (status >= 100 && status < 200) {
      if (status == 101) {  // upgrades are not proxied
        broken_ = true;
        co_return Error::Protocol;
      }
      continue;  // 100 Continue, 103 Early Hints: the final response follows
    }
    out.status = status;
    out.headers = std::move(parser_->headers);
    if (auto len = parser_->contentLength()) out.contentLength = *len;
    out.hasBody = !parser_->done();
    if (!out.hasBody) responseDone_ = true;
    co_return Error::Ok;
  }
}

awaitable<Error> ClientExchange::readBody(http::BodyChunk& out) {
  if (broken_ || !parser_) co_return Error::Aborted;
  Error e = co_await h1::readBody(conn_->transport(), conn_->buffer(), *parser_, out);
  if (e != Error::Ok) {
    broken_ = true;
    co_return e;
  }
  if (out.last) responseDone_ = true;
  co_return Error::Ok;
}

}  // namespace kgate::h1
