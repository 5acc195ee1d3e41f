// HTTP/2 from a downstream client: each request stream is served by the StreamHandler in its own
// coroutine, concurrently, on the connection's worker.
#pragma once

#include "gateway/connection.h"
#include "gateway/h2/session.h"

namespace kgate::h2 {

class ServerSession final : public Session, public Drainable {
 public:
  ServerSession(std::unique_ptr<Transport> transport, ConnectionEnv env);
  ~ServerSession() override;

  // Serves the connection; initial holds bytes already read (at least part of the preface).
  awaitable<void> serve(ReadBuffer initial);

  void drain() override { goAway(); }
  void terminate() override { kill(); }

 protected:
  std::shared_ptr<StreamState> onBeginStream(int32_t id) override;
  void onStreamHead(StreamState& s, bool endStream) override;
  bool isServer() const override { return true; }
  void onIdle() override {
    if (!goawaySent_) env_.countTimeout("idle");
    goAway();
  }

 private:
  class Stream;
  awaitable<void> runHandler(std::shared_ptr<Session> self, std::shared_ptr<StreamState> s);

  ConnectionEnv env_;
  // A request's header block (HEADERS + CONTINUATION, nothing else may come between) must end
  // within headerTimeout of its start: the HTTP/2 form of a slowloris head.
  Deadline headBlock_;
  int32_t headStream_ = 0;  // the stream whose header block headBlock_ times
  size_t handlers_ = 0;
  Event handlersDone_;
};

}  // namespace kgate::h2
