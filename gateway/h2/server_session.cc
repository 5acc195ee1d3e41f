#include "gateway/h2/server_session.h"

#include <algorithm>
#include <charconv>

#include "gateway/causes.h"
#include "gateway/h2/flood_limits.h"
#include "gateway/log.h"
#include "gateway/spawn.h"

namespace kgate::h2 {

using frames::ErrorCode;

class ServerSession::Stream final : public ServerStream {
 public:
  Stream(ServerSession& session, std::shared_ptr<StreamState> state)
      : session_(session), s_(std::move(state)) {
    s_->onReset = [this] { cancel(); };
  }
  ~Stream() override { s_->onReset = nullptr; }

  http::RequestHead& request() override { return s_->request; }
  const ConnectionInfo& connection() const override { return session_.env_.info; }

  // The session's own awaitables, counted in the stream state: no frame of their own.
  awaitable<Error> readBody(http::BodyChunk& out) override { return session_.readBody(*s_, out); }
  awaitable<Error> writeHead(http::ResponseHead& head, bool endStream) override {
    if (headSent_ || s_->closed || !session_.alive()) co_return Error::Aborted;
    headSent_ = true;
    co_return co_await session_.writeHead(*s_, head, endStream);
  }
  awaitable<Error> writeBody(std::string_view data, bool endStream) override {
    return session_.writeBody(*s_, data, endStream);
  }
  awaitable<Error> writeTrailers(const http::Headers& trailers) override {
    return session_.writeTrailers(*s_, trailers);
  }

  // After a complete response, NO_ERROR: the client got everything; only the rest of its
  // request body is refused.
  void abort() override {
    // The response is handed over whole and the request came whole: nothing is left to stop,
    // and a reset now would overtake a copied last piece still queued (writeBody).
    if (s_->outEnded && s_->inEnd) return;
    session_.resetStream(*s_, s_->outEnded ? ErrorCode::NoError : ErrorCode::Internal);
  }
  bool headWritten() const override { return headSent_; }
  uint64_t bodyBytesRead() const override { return s_->bodyBytesRead; }
  uint64_t bodyBytesWritten() const override { return s_->bodyBytesWritten; }

  // After the handler: a response left unfinished is reset; a request body nobody read is
  // refused with NO_ERROR so the client stops sending it (RFC 9113 section 8.1).
  void finish() {
    if (s_->closed) return;
    if (!s_->outEnded) session_.resetStream(*s_, ErrorCode::Internal);
    else if (!s_->inEnd) session_.resetStream(*s_, ErrorCode::NoError);
  }

 private:
  ServerSession& session_;
  std::shared_ptr<StreamState> s_;
  bool headSent_ = false;
};

namespace {

ServerSettings settingsFor(const conf::Limits& limits) {
  // The connection window bounds what all streams together may have in flight to us.
  uint64_t connection = std::max<uint64_t>(uint64_t{limits.streamWindowBytes} * 4, 4u << 20);
  return ServerSettings{limits.maxConcurrentStreams, limits.streamWindowBytes,
                        static_cast<uint32_t>(std::min<uint64_t>(connection, frames::kMaxWindow)),
                        limits.maxHeaderBytes, limits.maxHeaderCount};
}

// What kgate proxies: a request for a path (origin form, or "*" for OPTIONS) under http or
// https. CONNECT (RFC 9113 section 8.5) would open a tunnel, which kgate does not offer, and
// whose body would run past the end an HTTP/1.1 upstream was told.
// 0, or the status to refuse the request with.
int refusal(const http::RequestHead& r) {
  if (r.method == "CONNECT") return 405;
  if (r.scheme != "http" && r.scheme != "https") return 400;
  if (r.path.empty() || (r.path.front() != '/' && !(r.path == "*" && r.method == "OPTIONS")))
    return 400;
  return 0;
}

}  // namespace

ServerSession::ServerSession(std::unique_ptr<Transport> transport, ConnectionEnv env)
    : transport_(std::move(transport)),
      env_(std::move(env)),
      conn_(*this, settingsFor(env_.limits)),
      writeEvent_(transport_->executor()),
      writerExit_(transport_->executor()),
      written_(transport_->executor()),
      idleDeadline_(env_.sweeper,
                    [this] {
                      if (!conn_.goAwaySent()) env_.countTimeout("idle");
                      goAway();
                    }),
      headBlock_(env_.sweeper,
                 [this] {
                   if (dead_ || !conn_.inHeaderBlock()) return;
                   env_.countTimeout("header");
                   kill();
                 }),
      closeDeadline_(env_.sweeper, [this] { kill(); }),
      handlersDone_(transport_->executor()) {}

ServerSession::~ServerSession() = default;

awaitable<void> ServerSession::serve(ReadBuffer initial) {
  env_.registry.add(this);
  co_await readLoop(std::move(initial));
  while (handlers_ > 0) co_await handlersDone_.wait();
  env_.registry.remove(this);
}

void ServerSession::goAway() {
  if (dead_ || conn_.goAwaySent()) return;
  conn_.goAway();
  signalWrite();
}

void ServerSession::kill() {
  dead_ = true;
  transport_->close();
  signalWrite();
}

// --- Input -----------------------------------------------------------------------------------

awaitable<void> ServerSession::readLoop(ReadBuffer buf) {
  auto self = shared_from_this();
  spawn(transport_->executor(), writeLoop(self), "http2 writer");
  armIdle();
  uint64_t dropped = 0;
  bool readAny = false;  // the peer's first bytes (its preface) usually came with its Finished
  for (;;) {
    if (!buf.empty() && terminated_) {
      // Input after our GOAWAY for an error is dropped unread; reading it keeps a client that
      // is still sending from blocking the GOAWAY's way out.
      dropped += buf.size();
      buf.consume(buf.size());
      if (dropped > kGoawayDrainBytes) break;
    } else if (!buf.empty()) {
      buf.consume(conn_.receive(buf.data()));  // a frame not yet whole stays for the next read
      afterInput();
      signalWrite();
    }
    // Neither side opens streams any more, none is open, and the GOAWAY has been taken.
    if (dead_ || (conn_.finished() && conn_.out().empty())) break;
    // A client that sends requests answered at once (404s, HEADs) but reads no answers would
    // grow the queued output without bound: its input waits until the writer catches up.
    // Meanwhile a header block left half read is not the client's delay: the header timeout
    // starts again after (the writer's sendTimeout bounds a client that does not read).
    while (conn_.out().size() > kCopiedBatch && !dead_) {
      inputPaused_ = true;
      headBlock_.disarm();
      co_await written_.wait();
    }
    inputPaused_ = false;
    if (dead_) break;
    if (buf.empty() && streams_.empty()) {
      buf.release();  // an idle session holds no read buffer while it waits
      if (auto ec = co_await transport_->waitReadable(!readAny)) break;
    }
    auto space = buf.prepare(16 * 1024, 64 * 1024);
    auto [ec, n] = co_await transport_->readSome(space.data(), space.size());
    if (ec) break;
    readAny = true;
    buf.commit(n);
  }
  readerDone_ = true;
  signalWrite();
  while (!writerDone_) co_await writerExit_.wait();
  dead_ = true;
  idleDeadline_.disarm();
  headBlock_.disarm();
  if (terminated_ && transport_->isOpen()) {
    // Closing with the client's bytes unread would reset the connection, and a reset can
    // destroy the GOAWAY before the client reads it (closeDeadline_ still bounds this).
    transport_->clearCancel();
    co_await transport_->lingeringClose(kGoawayDrainBytes);
  }
  closeDeadline_.disarm();
  transport_->close(true);
  failAllStreams();
}

void ServerSession::afterInput() {
  if (const auto& failure = conn_.failure(); failure && !terminated_) {
    terminated_ = true;
    if (failure.code == ErrorCode::EnhanceYourCalm)
      KGATE_LOG(Info, "http2: " << transport_->remoteIp() << ": " << failure.why
                                << ": GOAWAY ENHANCE_YOUR_CALM");
    else
      KGATE_LOG(Debug, "http2: " << transport_->remoteIp() << ": " << failure.why << ": GOAWAY "
                                 << static_cast<uint32_t>(failure.code));
    closeDeadline_.arm(kGoawayGrace);
  }
  // Handlers start only now: one started inside receive() could answer and close its stream
  // before the connection knew the stream's state.
  for (auto& s : starting_) {
    ++handlers_;
    spawn(transport_->executor(), runHandler(shared_from_this(), std::move(s)), "http2 stream");
  }
  starting_.clear();
  // A header block must end within headerTimeout of its start; a completed one restarts it.
  if (!conn_.inHeaderBlock()) {
    headBlock_.disarm();
  } else if (!headBlock_.armed() || headBlocksAtArm_ != conn_.headerBlocks()) {
    headBlock_.arm(env_.limits.headerTimeout);
    headBlocksAtArm_ = conn_.headerBlocks();
  }
}

void* ServerSession::onRequest(uint32_t id, http::RequestHead& head, bool tooLarge,
                               bool endStream) {
  auto s = std::make_shared<StreamState>(transport_->executor());
  s->id = static_cast<int32_t>(id);
  s->request = std::move(head);
  s->request.version = 20;
  s->request.hasBody = !endStream;
  s->headersTooLarge = tooLarge;
  s->inEnd = endStream;
  s->copySmallWrites = true;
  StreamState* state = s.get();
  idleDeadline_.disarm();
  streams_.emplace(id, s);
  starting_.push_back(std::move(s));
  return state;
}

void ServerSession::onData(void* user, std::string_view data, bool endStream) {
  auto* s = static_cast<StreamState*>(user);
  if (!data.empty()) bufferBody(*s, data);
  if (endStream) s->inEnd = true;
  s->inEvent.notify();
}

void ServerSession::onTrailers(void* user, http::Headers& trailers) {
  auto* s = static_cast<StreamState*>(user);
  s->inTrailers = std::move(trailers);
  s->inEnd = true;
  s->inEvent.notify();
}

void ServerSession::onStreamClosed(void* user, ErrorCode code) {
  auto* s = static_cast<StreamState*>(user);
  if (!s) return;
  s->closed = true;
  s->closeCode = static_cast<uint32_t>(code);
  s->inEvent.notify();
  s->outEvent.notify();
  // Kept until the end of this call: the handler may hold no reference any more.
  std::shared_ptr<StreamState> keep;
  if (auto it = streams_.find(static_cast<uint32_t>(s->id)); it != streams_.end()) {
    keep = std::move(it->second);
    streams_.erase(it);
  }
  // Closed with an error (the client reset it, or kgate did): stop the handler's upstream too.
  // A clean close means both directions finished.
  if (code != ErrorCode::NoError && s->onReset) s->onReset();
  if (streams_.empty()) armIdle();
}

void ServerSession::failAllStreams() {
  auto all = std::move(streams_);
  streams_.clear();
  sending_.clear();
  for (auto& [id, s] : all) {
    if (!s->closed) {
      s->closed = true;
      s->closeCode = static_cast<uint32_t>(ErrorCode::Cancel);
    }
    s->inEvent.notify();
    s->outEvent.notify();
    if (s->onReset) s->onReset();
  }
}

awaitable<void> ServerSession::runHandler(std::shared_ptr<ServerSession> self,
                                          std::shared_ptr<StreamState> state) {
  {
    Stream stream(*this, state);
    int refused = refusal(state->request);
    if (state->headersTooLarge) co_await env_.handler.reject(stream, 431, cause::kHeadersTooLarge);
    else if (refused)
      co_await env_.handler.reject(stream, refused, cause::ofRefusal(refused));
    else co_await env_.handler.serve(stream);
    stream.finish();
  }
  if (--handlers_ == 0) handlersDone_.notify();
}

// --- Stream operations -----------------------------------------------------------------------

awaitable<Error> ServerSession::readBody(StreamState& s, http::BodyChunk& out) {
  // What the reader took last time may come again from the client.
  if (size_t n = releaseHanded(s); n > 0 && !s.closed && !dead_) {
    conn_.consume(static_cast<uint32_t>(s.id), n);
    if (!conn_.out().empty()) signalWrite();
  }
  for (;;) {
    if (takeBody(s, out)) co_return Error::Ok;
    if (s.closed || dead_) co_return s.abandoned ? Error::Aborted : Error::PeerClosed;
    co_await s.inEvent.wait();
  }
}

awaitable<Error> ServerSession::writeHead(StreamState& s, http::ResponseHead& head,
                                          bool endStream) {
  bool bodyless = s.request.method == "HEAD" || head.status == 204 || head.status == 304;
  if (bodyless) endStream = true;
  char digits[24];
  std::string_view length;
  if (head.contentLength && head.status != 204) {
    uint64_t n = endStream && !bodyless ? 0 : *head.contentLength;
    length = std::string_view(digits, std::to_chars(digits, digits + sizeof digits, n).ptr);
  } else if (endStream && !bodyless) {
    length = "0";
  }
  if (!conn_.sendResponse(static_cast<uint32_t>(s.id), head.status, head.headers, length,
                          endStream))
    co_return Error::Aborted;
  if (endStream) s.outEnded = true;
  else s.outStarted = true;
  signalWrite();
  co_return Error::Ok;
}

awaitable<Error> ServerSession::writeBody(StreamState& s, std::string_view data, bool endStream) {
  if (s.closed || dead_ || !s.outStarted || s.outEnd) co_return Error::Aborted;
  // A small piece written before may still wait for the writer: one piece at a time.
  while (!s.outData.empty() && !s.closed && !dead_) co_await s.outEvent.wait();
  auto it = streams_.find(static_cast<uint32_t>(s.id));
  if (s.closed || dead_ || it == streams_.end()) co_return Error::PeerClosed;
  // A small piece is copied and the writer goes on at once instead of waiting for the session's
  // writer to take it (a wake-up and a resumption per response). Only when the request is
  // whole: one whose body is still coming is reset after its response (Stream::finish), and
  // that reset must not overtake a copied last piece. And only when flow control lets the piece
  // leave with the next batch: a client that opens no window must keep the writer waiting (and
  // its idle deadline running), not pile up copies.
  bool copied = s.copySmallWrites && s.inEnd && data.size() <= kCopiedWrite &&
                conn_.sendable(static_cast<uint32_t>(s.id)) >= data.size();
  if (copied) {
    s.outCopy.assign(data);
    data = s.outCopy;
  }
  s.outBorrowed = !copied;
  s.outData = data;
  s.outEnd = endStream;
  queueData(it->second);
  if (!copied) co_return co_await awaitPieceTaken(s, data.size(), endStream, dead_);
  pieceTaken(s, data.size(), endStream);
  co_return Error::Ok;
}

awaitable<Error> ServerSession::writeTrailers(StreamState& s, const http::Headers& trailers) {
  if (s.closed || dead_ || !s.outStarted || s.outEnd) co_return Error::Aborted;
  s.outTrailers = true;
  s.outTrailerFields = trailers;
  co_return co_await writeBody(s, {}, true);
}

void ServerSession::resetStream(StreamState& s, ErrorCode code) {
  s.abandoned = true;
  dropBody(s);
  if (s.closed || dead_) return;
  conn_.reset(static_cast<uint32_t>(s.id), code);  // closes it: onStreamClosed
  signalWrite();
}

// --- Output ----------------------------------------------------------------------------------

void ServerSession::queueData(const std::shared_ptr<StreamState>& s) {
  if (!s->outQueued) {
    s->outQueued = true;
    sending_.push_back(s);
  }
  signalWrite();
}

void ServerSession::frameData() {
  std::string& out = conn_.out();
  // Each pass gives every queued stream one frame, so one large body does not hold up the rest.
  bool progress = true;
  while (progress && !sending_.empty() && !conn_.failure() && !splices_.full(out.size())) {
    progress = false;
    for (size_t i = sending_.size(); i > 0 && !splices_.full(out.size()); --i) {
      std::shared_ptr<StreamState> s = std::move(sending_.front());
      sending_.pop_front();
      // Closed, or an empty piece that does not end the body: nothing to frame.
      if (s->closed || (s->outData.empty() && !s->outEnd)) {
        s->outQueued = false;
        s->outEvent.notify();
        continue;
      }
      const auto id = static_cast<uint32_t>(s->id);
      size_t n = std::min(conn_.sendable(id), s->outData.size());
      bool last = n == s->outData.size();
      if (n == 0 && !(last && s->outEnd)) {  // waits for the client's WINDOW_UPDATE
        sending_.push_back(std::move(s));
        continue;
      }
      progress = true;
      std::string_view payload = s->outData.substr(0, n);
      s->outData.remove_prefix(n);
      // Trailers end the stream themselves: an empty last piece before them needs no frame.
      if (n > 0 || !s->outTrailers) {
        bool splice = spliced(*s, n);
        auto at = conn_.sendData(id, payload, last && s->outEnd && !s->outTrailers, splice);
        if (at && splice) splices_.add(*at, payload, s);
      }
      if (!last) {
        sending_.push_back(std::move(s));
        continue;
      }
      if (s->outEnd) {
        if (s->outTrailers) conn_.sendTrailers(id, s->outTrailerFields);
        s->outFinished = true;
      }
      s->outQueued = false;
      // A writer whose bytes the batch holds is woken once it is written (Splices::release).
      if (!s->outHeld) s->outEvent.notify();
    }
  }
}

awaitable<void> ServerSession::writeLoop(std::shared_ptr<ServerSession> self) {
  // Writers held by a batch go on however this loop ends, an exception included.
  struct Release {
    ServerSession* session;
    ~Release() { session->splices_.release(); }
  } release{this};
  for (;;) {
    if (!dead_) frameData();
    if (conn_.out().empty()) {
      if (dead_ || readerDone_) break;
      if (conn_.finished()) {
        transport_->cancel();  // the reader is waiting for bytes nobody needs any more
        break;
      }
      // An idle session holds no write buffers (swap: assigning an empty string keeps the room).
      if (streams_.empty()) {
        std::string().swap(batch_);
        std::string().swap(conn_.out());
      }
      co_await writeEvent_.wait();
      continue;
    }
    conn_.take(batch_);
    error_code ec = co_await transport_->writeGather(splices_.pieces(batch_));
    batch_.clear();
    splices_.release();
    written_.notify();
    if (ec) {
      dead_ = true;
      transport_->close();  // wakes the reader
      break;
    }
  }
  std::string().swap(batch_);
  writerDone_ = true;
  writerExit_.notify();
  written_.notify();
}

}  // namespace kgate::h2
