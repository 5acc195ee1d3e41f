#include "gateway/h2/client_session.h"

namespace kgate::h2 {

class ClientSession::Stream final : public ClientStream {
 public:
  Stream(std::shared_ptr<ClientSession> session, bool reused)
      : session_(std::move(session)),
        s_(std::make_shared<StreamState>(session_->transport().executor())),
        reused_(reused) {}

  ~Stream() override {
    if (s_->id > 0 && !s_->closed) session_->resetStream(*s_, NGHTTP2_CANCEL);
  }

  awaitable<Error> writeHead(const http::RequestHead& head, bool endStream) override {
    if (!session_->alive()) co_return Error::PeerClosed;
    std::vector<nghttp2_nv> nva;
    nva.reserve(head.headers.size() + 6);
    addNv(nva, ":method", head.method);
    addNv(nva, ":scheme", session_->scheme_);
    addNv(nva, ":authority", session_->authority_);
    addNv(nva, ":path", head.path.empty() ? std::string_view("/") : std::string_view(head.path));
    for (const auto& f : head.headers) addNv(nva, f.name, f.value);
    std::string length;
    if (head.contentLength) {
      length = std::to_string(*head.contentLength);
      addNv(nva, "content-length", length);
    }
    if (head.trailersAllowed) addNv(nva, "te", "trailers");
    nghttp2_data_provider provider;
    if (!endStream) provider = session_->dataProvider(*s_);
    int32_t id = nghttp2_submit_request(session_->raw(), nullptr, nva.data(), nva.size(),
                                        endStream ? nullptr : &provider, s_.get());
    if (id < 0) co_return Error::PeerClosed;
    s_->id = id;
    session_->addStream(s_);
    session_->signalWrite();
    co_return Error::Ok;
  }

  awaitable<Error> writeBody(std::string_view data, bool endStream) override {
    return session_->writeBody(*s_, data, endStream);  // no frame of its own
  }

  awaitable<Error> readHead(http::ResponseHead& out) override {
    while (!s_->headReady) {
      if (s_->closed || !session_->alive()) co_return Error::PeerClosed;
      co_await s_->inEvent.wait();
    }
    out = std::move(s_->response);
    out.hasBody = !(s_->inEnd && s_->inBlocks.empty());
    co_return Error::Ok;
  }

  awaitable<Error> readBody(http::BodyChunk& out) override {
    return session_->readBody(*s_, out);  // no frame of its own
  }

  void abort() override {
    if (s_->id > 0) session_->resetStream(*s_, NGHTTP2_CANCEL);
    s_->abandoned = true;
    s_->inEvent.notify();
    s_->outEvent.notify();
  }
  bool reused() const override { return reused_; }
  std::string_view protocol() const override { return "h2"; }

 private:
  std::shared_ptr<ClientSession> session_;
  std::shared_ptr<StreamState> s_;
  bool reused_;
};

ClientSession::ClientSession(std::unique_ptr<Transport> transport, Sweeper& sweeper,
                             SessionOptions options, std::string authority, std::string scheme)
    : Session(std::move(transport), sweeper, options),
      authority_(std::move(authority)),
      scheme_(std::move(scheme)) {
  nghttp2_session_callbacks* cbs;
  nghttp2_session_callbacks_new(&cbs);
  nghttp2_option* opt;
  nghttp2_option_new(&opt);
  setup(cbs, opt);
  nghttp2_option_set_peer_max_concurrent_streams(opt, 100);  // until the peer's SETTINGS say
  nghttp2_session_client_new2(&session_, cbs, static_cast<Session*>(this), opt);
  nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cbs);
}

bool ClientSession::canOpen() {
  if (dead_ || goawayReceived_ || goawaySent_) return false;
  uint32_t limit =
      nghttp2_session_get_remote_settings(session_, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
  return streams_.size() < limit;
}

std::unique_ptr<ClientStream> ClientSession::openStream() {
  bool reused = opened_ > 0;
  ++opened_;
  auto self = std::static_pointer_cast<ClientSession>(shared_from_this());
  return std::make_unique<Stream>(std::move(self), reused);
}

}  // namespace kgate::h2
