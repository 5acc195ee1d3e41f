// HTTP/2 to an upstream over nghttp2: the glue under ClientSession (client_session.h). The
// downstream side runs kgate's own codec instead (server_session.h).
//
// One coroutine reads from the transport into nghttp2 (callbacks fill StreamState), another
// drains nghttp2's output to the transport. Stream bodies are bounded by HTTP/2 flow control:
// automatic WINDOW_UPDATEs are off, and a stream's window reopens only when its reader takes the
// data, so a slow consumer slows the peer instead of growing our buffers.
#pragma once

#include <nghttp2/nghttp2.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "conf/config.h"
#include "gateway/deadline.h"
#include "gateway/error.h"
#include "gateway/event.h"
#include "gateway/h2/stream_state.h"
#include "gateway/http/message.h"
#include "gateway/read_buffer.h"
#include "gateway/transport.h"

namespace kgate::h2 {

struct SessionOptions {
  uint32_t maxConcurrentStreams = 256;
  uint32_t streamWindow = 1 << 20;
  uint32_t maxHeaderBytes = 64 * 1024;
  uint32_t maxHeaderCount = 100;
  Clock::duration idleTimeout = std::chrono::seconds(300);
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(std::unique_ptr<Transport> transport, Sweeper& sweeper, SessionOptions options);
  virtual ~Session();

  // Runs until the connection is finished; returns after every stream has been closed.
  awaitable<void> run(ReadBuffer initial);

  void signalWrite() { writeEvent_.notify(); }
  nghttp2_session* raw() { return session_; }
  bool alive() const { return !dead_; }
  // GOAWAY: finish open streams, refuse new ones.
  void goAway();
  // Close the connection at once.
  void kill();
  Transport& transport() { return *transport_; }

  // Stream operations.
  awaitable<Error> readBody(StreamState& s, http::BodyChunk& out);
  awaitable<Error> writeBody(StreamState& s, std::string_view data, bool endStream);
  awaitable<Error> writeTrailers(StreamState& s, const http::Headers& trailers);
  void resetStream(StreamState& s, uint32_t code);
  void returnWindow(StreamState& s);  // gives handed-out bytes back to flow control

  nghttp2_data_provider dataProvider(StreamState& s);
  size_t openStreams() const { return streams_.size(); }
  size_t writeBufferCapacity() const { return out_.capacity(); }  // tests: none while idle

 protected:
  void addStream(std::shared_ptr<StreamState> s);
  StreamState* find(int32_t id);
  void setup(nghttp2_session_callbacks* cbs, nghttp2_option* opt);
  void submitSettings();
  void armIdle();
  // Ends the session for the peer's misbehaviour: GOAWAY with `code`, written while the peer's
  // input is dropped, then a lingering close; all within kGoawayGrace.
  void terminate(uint32_t code, std::string_view why);

  std::unique_ptr<Transport> transport_;
  Sweeper& sweeper_;
  SessionOptions options_;
  nghttp2_session* session_ = nullptr;
  std::map<int32_t, std::shared_ptr<StreamState>> streams_;
  // The stream whose header block is arriving, found once per block rather than once per field
  // (nghttp2 finds stream data by hashing the id). 0: none; cleared when the block ends or its
  // stream closes.
  int32_t blockStreamId_ = 0;
  StreamState* blockStream_ = nullptr;
  void enterBlock(int32_t id, StreamState* s) {
    blockStreamId_ = s ? id : 0;
    blockStream_ = s;
  }
  Event writeEvent_;
  Deadline idleDeadline_;
  bool dead_ = false;
  bool readerDone_ = false;
  bool writerDone_ = false;
  bool goawaySent_ = false;
  bool goawayReceived_ = false;
  Event writerExit_;
  bool terminated_ = false;
  Deadline closeDeadline_;

 private:
  awaitable<void> writeLoop(std::shared_ptr<Session> self);
  void failAllStreams();

  // Frames waiting for the transport. DATA payloads that are writers' own bytes are not copied
  // into out_ but spliced in at their place when the batch is written (nghttp2 never copies
  // them either). out_'s room is kept while streams are open, so a busy session does not regrow
  // it for every batch; a session with no streams holds none.
  std::string out_;
  Splices splices_;

  friend struct Callbacks;
};

// Pseudo-header and regular-header conversion helpers.
void addNv(std::vector<nghttp2_nv>& nva, std::string_view name, std::string_view value);

}  // namespace kgate::h2
