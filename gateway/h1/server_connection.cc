#include "gateway/h1/server_connection.h"

#include "gateway/causes.h"
#include "gateway/h1/serialize.h"

namespace kgate::h1 {
namespace {

// How long, and how much of an unwanted upload, a connection reads before closing after it
// answered early (nginx's lingering close has the same purpose).
constexpr auto kLingerTime = std::chrono::seconds(2);
constexpr size_t kLingerBytes = 16 * 1024 * 1024;
// Request body left unread after the response that is read and dropped to keep the connection.
constexpr uint64_t kDiscardBudget = 64 * 1024;

// An http(s) absolute-form target as authority and origin-form path ("/" when it has none, so
// "http://h?q" is "/?q"). Nothing for any other form, an empty authority or one with userinfo,
// which RFC 9110 section 4.2.4 asks recipients to treat as an error.
std::optional<std::pair<std::string_view, std::string>> splitAbsoluteForm(std::string_view target) {
  size_t colon = target.find("://");
  if (colon == std::string_view::npos) return std::nullopt;
  std::string scheme(target.substr(0, colon));
  http::toLower(scheme);  // case-insensitive (RFC 9110 section 4.2.3)
  if (scheme != "http" && scheme != "https") return std::nullopt;
  std::string_view rest = target.substr(colon + 3);
  size_t end = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, end);
  if (authority.empty() || authority.find('@') != std::string_view::npos) return std::nullopt;
  std::string_view path = end == std::string_view::npos ? "" : rest.substr(end);
  return std::pair{authority, path.starts_with('/') ? std::string(path) : "/" + std::string(path)};
}

}  // namespace

class ServerConnection::Stream final : public ServerStream {
 public:
  explicit Stream(ServerConnection& c) : c_(c) {}

  // Builds the request model from the parsed head; 0, or the status to refuse it with (400:
  // not a valid request; 405: CONNECT, a tunnel kgate does not offer).
  int build();

  http::RequestHead& request() override { return req_; }
  const ConnectionInfo& connection() const override { return c_.env_.info; }
  awaitable<Error> readBody(http::BodyChunk& out) override;
  awaitable<Error> writeHead(http::ResponseHead& head, bool endStream) override;
  awaitable<Error> writeBody(std::string_view data, bool endStream) override;
  awaitable<Error> writeTrailers(const http::Headers& trailers) override;
  void abort() override {
    // After the whole response only the rest of the request body is refused. Closing on unread
    // bytes would reset the connection, and a reset can destroy the answer before a client
    // still sending reads it: the pending read is stopped and run() closes with a linger.
    if (delivered_ && !aborted_) {
      if (!c_.parser_->done()) {
        bodyRefused_ = true;
        c_.transport_->cancel();
      }
      return;
    }
    aborted_ = true;
    c_.transport_->close();
  }
  bool headWritten() const override { return headSent_; }
  uint64_t bodyBytesRead() const override { return bodyRead_; }
  uint64_t bodyBytesWritten() const override { return written_; }

  bool complete() const { return ended_ && !aborted_; }
  bool bodyRefused() const { return bodyRefused_; }
  bool keepAlive() const { return keepAlive_; }
  void forceClose() { keepAlive_ = false; }

 private:
  awaitable<Error> flush(std::string_view data, std::string_view tail);

  ServerConnection& c_;
  http::RequestHead req_;
  Framing framing_ = Framing::None;
  std::optional<uint64_t> length_;
  std::string out_;  // head (and chunk framing) waiting to go out with the next body piece
  bool headSent_ = false;
  bool ended_ = false;
  bool delivered_ = false;  // the last of the response went out
  bool bodyRefused_ = false;
  bool aborted_ = false;
  bool keepAlive_ = false;
  bool continueSent_ = false;
  uint64_t bodyRead_ = 0;
  uint64_t written_ = 0;
};

int ServerConnection::Stream::build() {
  RequestParser& p = *c_.parser_;
  req_.method = p.method;
  req_.version = p.version;
  req_.scheme = c_.env_.info.tls ? "https" : "http";
  keepAlive_ = p.headerDone() && p.keepAlive();
  req_.authority = p.host;  // even for a rejected head: error messages name the host
  if (!p.headerDone()) return 400;
  if (p.method == "CONNECT") return 405;  // in any target form
  std::string_view target = p.target;
  if (!target.empty() && target.front() == '/') {
    req_.path = p.target;
    req_.authority = p.host;
  } else if (target == "*" && p.method == "OPTIONS") {
    req_.path = "*";
    req_.authority = p.host;
  } else if (auto absolute = splitAbsoluteForm(target)) {
    // Absolute form: the target's authority wins over Host (RFC 9112 section 3.2.2).
    req_.authority = std::string(absolute->first);
    req_.path = std::move(absolute->second);
  } else {
    return 400;  // authority form and anything else are not proxied
  }
  if (p.hostCount > 1) return 400;
  if (p.version >= 11 && p.hostCount == 0) return 400;
  req_.headers = std::move(p.headers);
  if (auto len = p.contentLength()) req_.contentLength = *len;
  req_.hasBody = !p.done();
  req_.expectContinue = p.expectContinue && p.version >= 11 && req_.hasBody;
  req_.trailersAllowed = p.trailersAllowed;
  return 0;
}

awaitable<Error> ServerConnection::Stream::readBody(http::BodyChunk& out) {
  if (aborted_) co_return Error::Aborted;
  if (!req_.hasBody) {
    out = http::BodyChunk{{}, true, nullptr};
    co_return Error::Ok;
  }
  if (req_.expectContinue && !continueSent_ && !headSent_) {
    continueSent_ = true;
    if (auto ec = co_await c_.transport_->writeAll("HTTP/1.1 100 Continue\r\n\r\n"))
      co_return Error::PeerClosed;
  }
  Error e = co_await h1::readBody(*c_.transport_, c_.buf_, *c_.parser_, out);
  if (e != Error::Ok) co_return aborted_ ? Error::Aborted : e;
  bodyRead_ += out.data.size();
  co_return Error::Ok;
}

awaitable<Error> ServerConnection::Stream::writeHead(http::ResponseHead& head, bool endStream) {
  if (aborted_ || headSent_) co_return Error::Aborted;
  headSent_ = true;
  bool isHead = req_.method == "HEAD";
  bool bodyless = isHead || head.status == 204 || head.status == 304;
  if (bodyless) {
    framing_ = (head.contentLength && head.status != 204) ? Framing::Length : Framing::None;
    length_ = head.contentLength;
    endStream = true;
  } else if (endStream) {
    framing_ = Framing::Length;
    head.contentLength = 0;
    length_ = 0;
  } else if (head.contentLength) {
    framing_ = Framing::Length;
    length_ = head.contentLength;
  } else if (req_.version >= 11) {
    framing_ = Framing::Chunked;
  } else {
    framing_ = Framing::UntilClose;
    keepAlive_ = false;
  }
  // Answering before the request body was read: keep-alive is promised only if discardBody can
  // drain the rest. Otherwise the connection is going to close, and saying so keeps the client
  // from reusing it for a request that would then be lost.
  if (keepAlive_ && req_.hasBody && !c_.parser_->done() &&
      !(req_.contentLength && *req_.contentLength - bodyRead_ <= kDiscardBudget))
    keepAlive_ = false;
  if (c_.draining_ || c_.env_.registry.draining()) keepAlive_ = false;
  appendResponseHead(out_, head, framing_, keepAlive_, keepAlive_ && req_.version == 10);
  if (endStream) {
    ended_ = true;
    co_return co_await flush({}, {});
  }
  co_return Error::Ok;  // the head leaves with the first body piece
}

awaitable<Error> ServerConnection::Stream::flush(std::string_view data, std::string_view tail) {
  auto ec = co_await c_.transport_->writeAll(out_, data, tail);
  out_.clear();
  if (ec) {
    aborted_ = true;
    co_return Error::PeerClosed;
  }
  written_ += data.size();
  delivered_ = ended_;
  co_return Error::Ok;
}

awaitable<Error> ServerConnection::Stream::writeBody(std::string_view data, bool endStream) {
  if (aborted_ || ended_ || !headSent_) co_return Error::Aborted;
  if (endStream) ended_ = true;
  switch (framing_) {
    case Framing::Chunked: {
      if (!data.empty()) appendChunkHeader(out_, data.size());
      std::string_view tail = data.empty() ? (endStream ? "0\r\n\r\n" : "")
                                           : (endStream ? "\r\n0\r\n\r\n" : "\r\n");
      co_return co_await flush(data, tail);
    }
    case Framing::Length:
      if (written_ + data.size() > length_.value_or(0) ||
          (endStream && written_ + data.size() != length_.value_or(0))) {
        abort();  // the upstream's body does not match its content-length: cut the client off
        co_return Error::Protocol;
      }
      co_return co_await flush(data, {});
    case Framing::UntilClose:
      co_return co_await flush(data, {});
    case Framing::None:
      co_return out_.empty() ? Error::Ok : co_await flush({}, {});
  }
  co_return Error::Ok;
}

awaitable<Error> ServerConnection::Stream::writeTrailers(const http::Headers& trailers) {
  if (aborted_ || ended_ || !headSent_) co_return Error::Aborted;
  if (framing_ != Framing::Chunked) co_return co_await writeBody({}, true);
  ended_ = true;
  appendLastChunk(out_, req_.trailersAllowed ? &trailers : nullptr);
  co_return co_await flush({}, {});
}

ServerConnection::ServerConnection(std::unique_ptr<Transport> transport, ReadBuffer buf,
                                   ConnectionEnv env)
    : transport_(std::move(transport)),
      buf_(std::move(buf)),
      env_(std::move(env)),
      deadline_(env_.sweeper, [this] { onDeadline(); }) {}

ServerConnection::~ServerConnection() = default;

void ServerConnection::onDeadline() {
  timedOut_ = true;
  if (phase_ == Phase::ReadingHead || (phase_ == Phase::Idle && firstRequest_))
    env_.countTimeout("header");
  else if (phase_ == Phase::Idle && !draining_)
    env_.countTimeout("idle");
  if (phase_ == Phase::ReadingHead) transport_->cancel();  // still answer 408
  else transport_->close();
}

void ServerConnection::drain() {
  draining_ = true;
  if (phase_ == Phase::Idle) transport_->close();
}

void ServerConnection::terminate() {
  if (active_) active_->cancel();
  transport_->close();
}

awaitable<void> ServerConnection::replyAndClose(int status, std::string_view cause) {
  transport_->clearCancel();
  deadline_.arm(env_.limits.headerTimeout);  // a client that will not read the error is dropped
  phase_ = Phase::Active;
  Stream stream(*this);
  stream.build();
  stream.forceClose();
  co_await env_.handler.reject(stream, status, cause);
}

awaitable<bool> ServerConnection::discardBody(Stream& stream) {
  // Small leftovers are read and dropped so the connection can be reused.
  uint64_t budget = kDiscardBudget;
  deadline_.arm(env_.limits.headerTimeout);
  while (!parser_->done()) {
    http::BodyChunk chunk;
    Error e = co_await h1::readBody(*transport_, buf_, *parser_, chunk);
    if (e != Error::Ok || chunk.data.size() > budget) co_return false;
    budget -= chunk.data.size();
    if (chunk.last) break;
  }
  deadline_.disarm();
  co_return true;
}

awaitable<void> ServerConnection::run() {
  env_.registry.add(this);
  const auto& limits = env_.limits;
  bool lingering = false;
  for (;;) {
    if (draining_) break;
    if (buf_.empty() && !transport_->hasBufferedInput()) {
      buf_.release();
      parser_.reset();  // the last request's head (strings, header list) is not needed any more
      phase_ = Phase::Idle;
      // Keep-alive waits idleTimeout for the next request; a connection that has not sent its
      // first one yet is a client still due its head (TLS with ALPN http/1.1 comes here).
      deadline_.arm(firstRequest_ ? limits.headerTimeout : limits.idleTimeout);
      auto ec = co_await transport_->waitReadable(firstRequest_);
      if (ec || draining_ || timedOut_) break;
    }
    // The head must be whole headerTimeout after its first byte, however slowly the rest
    // trickles in; for the first request that byte was seen by the listener.
    Clock::time_point headStart = Clock::now();
    if (firstRequest_ && !buf_.empty() && env_.firstByteAt != Clock::time_point{})
      headStart = env_.firstByteAt;
    firstRequest_ = false;
    phase_ = Phase::ReadingHead;
    deadline_.armAt(headStart + limits.headerTimeout);
    parser_.emplace(limits.maxHeaderBytes, limits.maxHeaderCount);
    Error e = co_await readHead(*transport_, buf_, *parser_, limits.maxHeaderBytes + 4096);
    deadline_.disarm();
    // The timeout's cancel can overtake a read that already took the head's last bytes (a
    // read returns what it took): that head is late all the same, and the transport cancelled.
    if (e == Error::Ok && timedOut_) e = Error::Timeout;
    if (e != Error::Ok) {
      int status = 0;
      std::string_view why;
      if (timedOut_) {
        if (parser_->gotSome() || !buf_.empty()) status = 408, why = cause::kHeaderTimeout;
      } else if (e == Error::HeadersTooLarge) {
        status = 431, why = cause::kHeadersTooLarge;
      } else if (e == Error::VersionNotSupported) {
        status = 505, why = cause::kVersionNotSupported;
      } else if (e == Error::Protocol) {
        status = 400, why = cause::kBadRequest;
      }
      if (status) {
        co_await replyAndClose(status, why);
        // The rest of a refused head may still be on its way (a 431 stops reading midway).
        lingering = transport_->isOpen();
      }
      break;
    }
    phase_ = Phase::Active;
    Stream stream(*this);
    if (int refused = stream.build()) {
      stream.forceClose();
      co_await env_.handler.reject(stream, refused, cause::ofRefusal(refused));
      lingering = transport_->isOpen();
      break;
    }
    active_ = &stream;
    co_await env_.handler.serve(stream);
    active_ = nullptr;
    // Its reader has returned (the handler waits for it): the rest can be read as usual.
    if (stream.bodyRefused()) transport_->clearCancel();
    bool unread = !parser_->done();
    bool reusable = stream.complete() && transport_->isOpen() && stream.keepAlive();
    if (reusable && unread) reusable = co_await discardBody(stream);
    if (!reusable) {
      lingering = unread && stream.complete() && transport_->isOpen();
      break;
    }
  }
  if (lingering) {
    // The response went out while the client may still be sending: closing on unread bytes
    // would reset the connection, and a reset can destroy the response before it is read.
    timedOut_ = false;
    transport_->clearCancel();
    phase_ = Phase::Active;
    deadline_.arm(kLingerTime);
    co_await transport_->lingeringClose(kLingerBytes);
  }
  phase_ = Phase::Idle;
  deadline_.disarm();
  transport_->close(true);
  env_.registry.remove(this);
}

}  // namespace kgate::h1
