// The state of one HTTP/2 stream that both sessions keep (the downstream server's own codec,
// server_session.h, and the upstream client over nghttp2, session.h), and what they share of
// moving its bodies: inbound blocks recycled per thread, outbound payloads spliced into the
// write batch from their writers' buffers.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/asio.h"
#include "gateway/error.h"
#include "gateway/event.h"
#include "gateway/http/message.h"

namespace kgate::h2 {

// Largest piece of inbound body one read hands out.
constexpr size_t kBodyBlock = 256 * 1024;

// Per-stream state touched by nghttp2 callbacks and by the coroutine using the stream.
struct StreamState {
  explicit StreamState(const net::any_io_executor& ex) : inEvent(ex), outEvent(ex) {}
  ~StreamState();  // hands its body buffers back for the next stream on this thread
  StreamState(const StreamState&) = delete;
  StreamState& operator=(const StreamState&) = delete;

  int32_t id = -1;

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

  // Outbound body: the writer's current piece (or outCopy). Each DATA frame's bytes are taken
  // from it without copying when the session's writer builds a batch; a frame of the writer's
  // own bytes is referenced there (Splices), not copied, and the writer waits in writeBody until
  // the batch holding it is written (outHeld).
  std::string_view outData;
  std::string_view outFrame;
  std::string outCopy;           // a small piece, copied so its writer need not wait (writeBody)
  bool outBorrowed = false;      // outData is the writer's own bytes, not outCopy
  bool outHeld = false;          // frames of them are in the batch being written
  bool outEnd = false;
  bool outStarted = false;       // the head went without END_STREAM: a body may follow
  bool outDeferred = false;      // client: nghttp2's provider returned DEFERRED, waits for resume
  bool outQueued = false;        // server: in the session's list of streams with DATA to send
  bool outTrailers = false;      // send outTrailerFields when the data ends
  bool outFinished = false;      // the end of the data is in the output
  http::Headers outTrailerFields;
  Event outEvent;

  bool closed = false;           // the protocol closed the stream
  uint32_t closeCode = 0;        // RST_STREAM / GOAWAY error code, 0 = NO_ERROR
  bool abandoned = false;        // our side gave up on it: drop inbound data at once
  std::function<void()> onReset;  // server side: the handler's way to stop its upstream
  size_t unreturned = 0;         // client: received bytes not yet given back to flow control

  // Counted by the session's reads and writes, so a stream object can hand its caller the
  // session's awaitable itself instead of wrapping it in a frame of its own.
  uint64_t bodyBytesRead = 0;     // handed to the reader
  uint64_t bodyBytesWritten = 0;  // taken from the writer (sent, or copied and queued)
  bool outEnded = false;          // the writer's side ended: its last piece or trailers taken
  bool copySmallWrites = false;   // server streams: writeBody may copy a small piece and go on
};

// Inbound body.
// Appends received body bytes to the stream's blocks.
void bufferBody(StreamState& s, std::string_view data);
// The next piece for the reader: a block, or the end (with trailers if any). False: nothing yet.
// The piece stays in s.handed until the next call, which recycles it (releaseHanded).
bool takeBody(StreamState& s, http::BodyChunk& out);
// Recycles the piece handed out last; returns its size (the bytes to give back to flow control).
size_t releaseHanded(StreamState& s);
// Drops what was received and not read (a stream given up on).
void dropBody(StreamState& s);

// Outbound body. The writer hands the transport about kWriteBatch bytes at a time (a few TLS
// records or writevs); a batch also ends once kCopiedBatch bytes were copied into it (give or take
// a frame), the rest being spliced bodies, which lie in the writers' buffers anyway. 128 KiB
// batches match the upstream body reads (h1/parser.cc): 1 MiB GETs over HTTP/2 took ~2% less CPU
// than with 64 KiB ones.
inline constexpr size_t kWriteBatch = 128 * 1024;
inline constexpr size_t kCopiedBatch = 64 * 1024;
// DATA payloads from this size on are spliced into the batch rather than copied: each splice is
// two more pieces for the transport, and a record or a writev takes a bounded number of them.
inline constexpr size_t kSpliceFrom = 4 * 1024;
inline bool spliced(const StreamState& s, size_t payload) {
  return s.outBorrowed && payload >= kSpliceFrom;
}
// Body pieces up to this size are copied by writeBody, which then returns without waiting.
inline constexpr size_t kCopiedWrite = 4 * 1024;

// The writer's side of a piece it handed its session (s.outData set, the session's writer told):
// waits until the piece is framed and any batch holding it written, or the stream or the
// session (`dead`) ends first. Ok, with the piece counted, or PeerClosed when not all of it
// went.
awaitable<Error> awaitPieceTaken(StreamState& s, size_t size, bool endStream, const bool& dead);
// A piece is out (or copied to go): counted.
inline void pieceTaken(StreamState& s, size_t size, bool endStream) {
  s.bodyBytesWritten += size;
  if (endStream) s.outEnded = true;
}

// The DATA payloads of a batch that stay in their writers' buffers, and those writers, held
// (outHeld) until the batch is written.
class Splices {
 public:
  // `payload` goes at offset `at` of the batch's copied bytes.
  void add(size_t at, std::string_view payload, const std::shared_ptr<StreamState>& writer);
  size_t bytes() const { return bytes_; }
  bool full(size_t copied) const { return copied >= kCopiedBatch || copied + bytes_ >= kWriteBatch; }
  // The batch as the transport writes it: `copied` cut at the splices, the payloads between.
  std::vector<std::string_view>& pieces(std::string_view copied);
  // The batch is written (or failed): its writers go on.
  void release();

 private:
  struct Splice {
    size_t at;
    std::string_view bytes;
  };
  std::vector<Splice> splices_;
  size_t bytes_ = 0;
  std::vector<std::shared_ptr<StreamState>> held_;
  std::vector<std::string_view> pieces_;
};

}  // namespace kgate::h2
