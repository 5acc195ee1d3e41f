// HTTP/2 from a downstream client, on kgate's own codec (server_connection.h): each request
// stream is served by the StreamHandler in its own coroutine, concurrently, on the connection's
// worker.
//
// One coroutine reads from the transport into the connection (its listener calls fill the
// streams' StreamState), another writes what the connection queued and the streams' DATA to the
// transport. Request bodies are bounded by flow control: a stream's window reopens only as its
// reader takes the data, so a slow upstream slows the client instead of growing our buffers.
#pragma once

#include <algorithm>
#include <deque>
#include <memory>
#include <unordered_map>

#include "gateway/connection.h"
#include "gateway/h2/server_connection.h"
#include "gateway/h2/stream_state.h"
#include "gateway/read_buffer.h"
#include "gateway/transport.h"

namespace kgate::h2 {

class ServerSession final : public Drainable,
                            private ServerConnection::Listener,
                            public std::enable_shared_from_this<ServerSession> {
 public:
  ServerSession(std::unique_ptr<Transport> transport, ConnectionEnv env);
  ~ServerSession() override;

  // Serves the connection; initial holds bytes already read (at least part of the preface).
  awaitable<void> serve(ReadBuffer initial);

  void drain() override { goAway(); }
  void terminate() override { kill(); }

  // Tests: the larger room of the two write buffers (an idle session keeps none).
  size_t writeBufferCapacity() const {
    return std::max(batch_.capacity(), conn_.out().capacity());
  }
  // Tests: the reader waits for the writer to take the queued output (readLoop).
  bool inputPaused() const { return inputPaused_; }

 private:
  class Stream;

  // ServerConnection::Listener
  void* onRequest(uint32_t id, http::RequestHead& head, bool tooLarge, bool endStream) override;
  void onData(void* user, std::string_view data, bool endStream) override;
  void onTrailers(void* user, http::Headers& trailers) override;
  void onStreamClosed(void* user, frames::ErrorCode code) override;
  void onSendWindow() override { signalWrite(); }

  awaitable<void> readLoop(ReadBuffer buf);
  awaitable<void> writeLoop(std::shared_ptr<ServerSession> self);
  awaitable<void> runHandler(std::shared_ptr<ServerSession> self, std::shared_ptr<StreamState> s);
  // Frames the queued streams' DATA into the connection's output, round robin, until the batch
  // is full or no stream may send more.
  void frameData();
  void queueData(const std::shared_ptr<StreamState>& s);
  void afterInput();  // failure, header timeout and idle bookkeeping after the reader's input
  void failAllStreams();

  // Stream operations.
  awaitable<Error> readBody(StreamState& s, http::BodyChunk& out);
  awaitable<Error> writeHead(StreamState& s, http::ResponseHead& head, bool endStream);
  awaitable<Error> writeBody(StreamState& s, std::string_view data, bool endStream);
  awaitable<Error> writeTrailers(StreamState& s, const http::Headers& trailers);
  void resetStream(StreamState& s, frames::ErrorCode code);

  void signalWrite() { writeEvent_.notify(); }
  bool alive() const { return !dead_; }
  void goAway();
  void kill();
  void armIdle() { idleDeadline_.arm(env_.limits.idleTimeout); }

  std::unique_ptr<Transport> transport_;
  ConnectionEnv env_;
  ServerConnection conn_;
  std::unordered_map<uint32_t, std::shared_ptr<StreamState>> streams_;
  std::deque<std::shared_ptr<StreamState>> sending_;  // streams with DATA to frame
  // Requests whose heads came in the input being taken: their handlers start after it.
  std::vector<std::shared_ptr<StreamState>> starting_;

  std::string batch_;  // the frames being written
  Splices splices_;
  Event writeEvent_;
  Event writerExit_;
  Event written_;  // a batch went out: a reader waiting on a full output goes on
  Deadline idleDeadline_;
  // A request's header block (HEADERS + CONTINUATION, nothing else may come between) must end
  // within headerTimeout of its start: the HTTP/2 form of a slowloris head.
  Deadline headBlock_;
  uint64_t headBlocksAtArm_ = 0;  // the connection's completed header blocks when it was armed
  // After a connection error the client has kGoawayGrace to read the GOAWAY.
  Deadline closeDeadline_;
  bool dead_ = false;
  bool readerDone_ = false;
  bool writerDone_ = false;
  bool terminated_ = false;
  bool inputPaused_ = false;
  size_t handlers_ = 0;
  Event handlersDone_;
};

}  // namespace kgate::h2
