#include "gateway/h2/server_session.h"

#include "gateway/causes.h"
#include "gateway/spawn.h"

namespace kgate::h2 {

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
    bool bodyless = s_->request.method == "HEAD" || head.status == 204 || head.status == 304;
    if (bodyless) endStream = true;
    std::string status = std::to_string(head.status);
    std::string length;
    std::vector<nghttp2_nv> nva;
    nva.reserve(head.headers.size() + 2);
    addNv(nva, ":status", status);
    for (const auto& f : head.headers) addNv(nva, f.name, f.value);
    if (head.contentLength && head.status != 204) {
      length = std::to_string(endStream && !bodyless ? 0 : *head.contentLength);
      addNv(nva, "content-length", length);
    } else if (endStream && !bodyless) {
      addNv(nva, "content-length", "0");
    }
    nghttp2_data_provider provider;
    if (!endStream) provider = session_.dataProvider(*s_);
    int rv = nghttp2_submit_response(session_.raw(), s_->id, nva.data(), nva.size(),
                                     endStream ? nullptr : &provider);
    if (rv != 0) co_return Error::Aborted;
    if (endStream) s_->outEnded = true;
    session_.signalWrite();
    co_return Error::Ok;
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
    session_.resetStream(*s_, s_->outEnded ? NGHTTP2_NO_ERROR : NGHTTP2_INTERNAL_ERROR);
  }
  bool headWritten() const override { return headSent_; }
  uint64_t bodyBytesRead() const override { return s_->bodyBytesRead; }
  uint64_t bodyBytesWritten() const override { return s_->bodyBytesWritten; }

  // After the handler: a response left unfinished is reset; a request body nobody read is
  // refused with NO_ERROR so the client stops sending it (RFC 9113 section 8.1).
  void finish() {
    if (s_->closed) return;
    if (!s_->outEnded) session_.resetStream(*s_, NGHTTP2_INTERNAL_ERROR);
    else if (!s_->inEnd) session_.resetStream(*s_, NGHTTP2_NO_ERROR);
  }

 private:
  ServerSession& session_;
  std::shared_ptr<StreamState> s_;
  bool headSent_ = false;
};

ServerSession::ServerSession(std::unique_ptr<Transport> transport, ConnectionEnv env)
    : Session(std::move(transport), env.sweeper,
              SessionOptions{env.limits.maxConcurrentStreams, env.limits.streamWindowBytes,
                             env.limits.maxHeaderBytes, env.limits.maxHeaderCount,
                             env.limits.idleTimeout}),
      env_(std::move(env)),
      headBlock_(env_.sweeper,
                 [this] {
                   StreamState* s = find(headStream_);
                   if (!s || s->headReady || dead_) return;
                   env_.countTimeout("header");
                   kill();
                 }),
      handlersDone_(transport_->executor()) {
  nghttp2_session_callbacks* cbs;
  nghttp2_session_callbacks_new(&cbs);
  nghttp2_option* opt;
  nghttp2_option_new(&opt);
  setup(cbs, opt);
  nghttp2_session_server_new2(&session_, cbs, static_cast<Session*>(this), opt);
  nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cbs);
}

ServerSession::~ServerSession() = default;

awaitable<void> ServerSession::serve(ReadBuffer initial) {
  env_.registry.add(this);
  co_await run(std::move(initial));
  while (handlers_ > 0) co_await handlersDone_.wait();
  env_.registry.remove(this);
}

std::shared_ptr<StreamState> ServerSession::onBeginStream(int32_t id) {
  headStream_ = id;
  headBlock_.arm(env_.limits.headerTimeout);
  auto state = std::make_shared<StreamState>(transport_->executor());
  state->request.headers.reserve(http::kTypicalFields);
  state->copySmallWrites = true;
  return state;
}

void ServerSession::onStreamHead(StreamState& s, bool endStream) {
  if (s.id == headStream_) headBlock_.disarm();
  http::RequestHead& r = s.request;
  r.version = 20;
  r.hasBody = !endStream;
  auto it = streams_.find(s.id);
  if (it == streams_.end()) return;
  ++handlers_;
  spawn(transport_->executor(), runHandler(shared_from_this(), it->second), "http2 stream");
}

namespace {

// What kgate proxies: a request for a path (origin form, or "*" for OPTIONS) under http or
// https. nghttp2 checks :path only for those two schemes, and lets CONNECT through with neither
// (RFC 9113 section 8.5), its DATA not counted against a content-length: a tunnel, which kgate
// does not offer, and whose body would run past the end an HTTP/1.1 upstream was told.
// 0, or the status to refuse the request with.
int refusal(const http::RequestHead& r) {
  if (r.method == "CONNECT") return 405;
  if (r.scheme != "http" && r.scheme != "https") return 400;
  if (r.path.empty() || (r.path.front() != '/' && !(r.path == "*" && r.method == "OPTIONS")))
    return 400;
  return 0;
}

}  // namespace

awaitable<void> ServerSession::runHandler(std::shared_ptr<Session> self,
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

}  // namespace kgate::h2
