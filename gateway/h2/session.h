// nghttp2 glue shared by the downstream (server) and upstream (client) HTTP/2 sessions.
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
#include "gateway/h2/ended_streams.h"
#include "gateway/http/message.h"
#include "gateway/read_buffer.h"
#include "gateway/transport.h"

namespace kgate::h2 {

class Session;

// Largest piece of inbound body one read hands out.
constexpr size_t kBodyBlock = 256 * 1024;

// Per-stream state touched by nghttp2 callbacks and by the coroutine using the stream.
struct StreamState {
  explicit StreamState(const net::any_io_executor& ex) : inEvent(ex), outEvent(ex) {}
  ~StreamState();  // hands its body buffers back for the next stream on this thread
  StreamState(const StreamState&) = delete;
  StreamState& operator=(const StreamState&) = delete;

  int32_t id = -1;
  Session* session = nullptr;  // cleared when the session is gone

  // Inbound head: the request (server) or the response (client).
  http::RequestHead request;
  http::ResponseHead response;
  bool headReady = false;       // a complete (final) head arrived
  uint32_t headerBytes = 0;
  bool headersTooLarge = false;

  // Inbound body.
  // Received, not yet handed to the reader: blocks of at most kBodyBlock bytes filled in order
  // and handed out one at a time. A pooled block never grows; a fresh one taken for a small
  // first chunk (the pool empty) grows by copying as more comes, which keeps small bodies small.
  std::vector<std::string> inBlocks;
  size_t inFront = 0;   // first block not handed out yet; inBlocks is empty once all were
  std::string handed;   // handed out by the last read; returned to flow control on the next
  bool inEnd = false;
  http::Headers inTrailers;
  Event inEvent;

  // Outbound body: the writer's current piece (or outCopy). The data provider picks each DATA
  // frame's bytes from it (outFrame) without copying; Callbacks::sendData puts the frame in the
  // session's output when nghttp2 sends it, in the same nghttp2_session_mem_send() call. A frame
  // of the writer's own bytes is referenced there, not copied, and the writer waits in writeBody
  // until the batch holding it is written (outHeld).
  std::string_view outData;
  std::string_view outFrame;
  std::string outCopy;           // a small piece, copied so its writer need not wait (writeBody)
  bool outBorrowed = false;      // outData is the writer's own bytes, not outCopy
  bool outHeld = false;          // frames of them are in the batch being written
  bool outEnd = false;
  bool outStarted = false;       // a data provider is attached
  bool outDeferred = false;      // the provider returned DEFERRED and waits for resume
  bool outTrailers = false;      // submit outTrailerFields when the data ends
  bool outFinished = false;      // the provider has signalled the end of the data
  http::Headers outTrailerFields;
  Event outEvent;

  bool closed = false;           // nghttp2 closed the stream
  uint32_t closeCode = 0;        // RST_STREAM / GOAWAY error code, 0 = NO_ERROR
  bool abandoned = false;        // our side gave up on it: drop inbound data at once
  std::function<void()> onReset;  // server side: the handler's way to stop its upstream
  size_t unreturned = 0;         // received bytes not yet given back to flow control

  // Counted by the session's reads and writes, so a stream object can hand its caller the
  // session's awaitable itself instead of wrapping it in a frame of its own.
  uint64_t bodyBytesRead = 0;     // handed to the reader
  uint64_t bodyBytesWritten = 0;  // taken from the writer (sent, or copied and queued)
  bool outEnded = false;          // the writer's side ended: its last piece or trailers taken
  bool copySmallWrites = false;   // server streams: writeBody may copy a small piece and go on
};

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

  // Stream operations shared by both roles.
  awaitable<Error> readBody(StreamState& s, http::BodyChunk& out);
  awaitable<Error> writeBody(StreamState& s, std::string_view data, bool endStream);
  awaitable<Error> writeTrailers(StreamState& s, const http::Headers& trailers);
  void resetStream(StreamState& s, uint32_t code);
  void returnWindow(StreamState& s);  // gives handed-out bytes back to flow control

  nghttp2_data_provider dataProvider(StreamState& s);
  size_t openStreams() const { return streams_.size(); }
  size_t writeBufferCapacity() const { return out_.capacity(); }  // tests: none while idle

 protected:
  // Role hooks, called from nghttp2 callbacks.
  virtual void onStreamHead(StreamState& s, bool endStream) = 0;
  virtual void onStreamClosed(StreamState&) {}
  virtual std::shared_ptr<StreamState> onBeginStream(int32_t id) = 0;
  virtual bool isServer() const = 0;
  virtual void onIdle() {}  // no open streams for idleTimeout

  void addStream(std::shared_ptr<StreamState> s);
  StreamState* find(int32_t id);
  void setup(nghttp2_session_callbacks* cbs, nghttp2_option* opt);
  void submitSettings();
  void armIdle();
  // Takes a token from the client's stream-reset budget (flood_limits.h); false when spent.
  bool takeResetToken();
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
  EndedStreams ended_;  // server sessions: what nghttp2 no longer tells apart (ended_streams.h)
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
  double resetTokens_;
  Clock::time_point resetsCountedAt_;
  bool terminated_ = false;
  Deadline closeDeadline_;

 private:
  awaitable<void> writeLoop(std::shared_ptr<Session> self);
  void failAllStreams();

  // Frames waiting for the transport. DATA payloads that are writers' own bytes are not copied
  // into out_ but spliced in at their place when the batch is written (nghttp2 never copies
  // them either); their streams wait in held_ until then. out_'s room is kept while streams are
  // open, so a busy session does not regrow it for every batch; a session with no streams holds
  // none.
  struct Splice {
    size_t at;  // in out_
    std::string_view bytes;
  };
  std::string out_;
  std::vector<Splice> splices_;
  size_t splicedBytes_ = 0;
  std::vector<std::shared_ptr<StreamState>> held_;
  std::vector<std::string_view> gather_;  // out_ cut at the splices, for the transport
  void releaseHeld();
  bool batchFull() const;

  friend struct Callbacks;
};

// Pseudo-header and regular-header conversion helpers.
void addNv(std::vector<nghttp2_nv>& nva, std::string_view name, std::string_view value);

}  // namespace kgate::h2
