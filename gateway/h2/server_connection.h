// The server side of one HTTP/2 connection as a state machine of kgate's own (RFC 9113): bytes
// from the client go in (receive), events come out to a Listener, and every frame kgate sends,
// its own answers (SETTINGS and PING ACKs, WINDOW_UPDATE, RST_STREAM, GOAWAY) and the
// responses the owner gives it, is appended to one output buffer (out) that the owner writes to
// the transport. It does no I/O and keeps no time but the reset bucket's: the session around it
// owns the socket, the timers and the body buffers (server_session.h). Built from hpack.h,
// frames.h and request_fields.h.
//
// What it keeps per stream is what the protocol needs: its state, both flow-control windows,
// the request's content-length against the DATA received. Closed streams are forgotten except
// the last kRemembered that the client ended or reset, so DATA or HEADERS on one of those is
// caught (RFC 9113 section 5.1: a connection error STREAM_CLOSED after its END_STREAM, a stream
// error STREAM_CLOSED after its RST_STREAM, answered once); frames on any other closed stream
// are dropped, as the RFC requires on a stream kgate reset.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "gateway/h2/frames.h"
#include "gateway/h2/hpack.h"
#include "gateway/http/message.h"

namespace kgate::h2 {

struct ServerSettings {
  uint32_t maxConcurrentStreams = 256;
  uint32_t streamWindow = 1 << 20;     // announced INITIAL_WINDOW_SIZE: each request body's buffer
  uint32_t connectionWindow = 4 << 20;  // all streams' bodies in flight together
  uint32_t maxHeaderBytes = 64 * 1024;  // announced MAX_HEADER_LIST_SIZE
  uint32_t maxHeaderCount = 100;
};

class ServerConnection {
 public:
  // Called from receive(), and from the owner's own calls where they close a stream. `user` is
  // what onRequest returned for the stream. No call may come back into the connection from
  // inside receive() (the session starts a request's handler after receive() returns).
  class Listener {
   public:
    virtual ~Listener() = default;
    // A request's head is whole (malformed ones are reset without reaching here). The owner may
    // move from `head`. tooLarge: over maxHeaderBytes or maxHeaderCount; the head holds what
    // came before the limit, and the owner answers 431. endStream: no body follows. The
    // stream's `user` is known only once this returns: nothing may act on the stream in it.
    virtual void* onRequest(uint32_t id, http::RequestHead& head, bool tooLarge,
                            bool endStream) = 0;
    // Body bytes, in order (the views die with the call); endStream with the last (possibly
    // empty) piece. The bytes count against the windows until the owner consumes them.
    virtual void onData(void* user, std::string_view data, bool endStream) = 0;
    // The trailer section, which ends the request. The owner may move from it.
    virtual void onTrailers(void* user, http::Headers& trailers) = 0;
    // The stream is gone: NoError when both sides ended, otherwise the code of the RST_STREAM
    // either side sent. Nothing more is said about `user` after this.
    virtual void onStreamClosed(void* user, frames::ErrorCode code) = 0;
    // A WINDOW_UPDATE or SETTINGS let more DATA out: writers waiting on sendable() may go on.
    virtual void onSendWindow() {}
  };

  // A connection error, after which the connection takes no more input: the GOAWAY is in out().
  struct Failure {
    frames::ErrorCode code = frames::ErrorCode::NoError;
    std::string_view why;  // for the log
    explicit operator bool() const { return code != frames::ErrorCode::NoError; }
  };

  static constexpr size_t kRemembered = 32;

  ServerConnection(Listener& listener, ServerSettings settings);
  ServerConnection(const ServerConnection&) = delete;
  ServerConnection& operator=(const ServerConnection&) = delete;

  // Takes the client's bytes, the preface first, and returns how many it used: whole frames
  // only, so the caller keeps the rest and calls again with more appended. After a failure
  // every byte is taken and dropped.
  size_t receive(std::string_view data);
  const Failure& failure() const { return failure_; }

  // The frames queued to send, in order. The owner takes them whole (take) to write them; what
  // the connection queues meanwhile goes to its own buffer.
  std::string& out() { return out_; }
  const std::string& out() const { return out_; }
  // Swaps the queued frames into `batch` (empty); the answers they hold (SETTINGS and PING
  // ACKs, RST_STREAMs) no longer count as queued against kMaxQueuedAcks.
  void take(std::string& batch);

  // The response's head. contentLength "" adds none. False if the stream is gone or its head
  // was sent.
  bool sendResponse(uint32_t id, int status, const http::Headers& fields,
                    std::string_view contentLength, bool endStream);
  // Trailers end the stream; false if it is gone, its head not sent or its end already sent.
  bool sendTrailers(uint32_t id, const http::Headers& fields);
  // How many body bytes the stream may send now: both windows and the client's frame size.
  size_t sendable(uint32_t id) const;
  // Appends a DATA frame of `payload` (at most sendable() bytes) and takes them from the
  // windows. With `splice` the payload is left out: the owner writes it at the returned place
  // in out(), from wherever it lies. Nullopt if the stream is gone, its end sent or the
  // payload over what the windows allow.
  std::optional<size_t> sendData(uint32_t id, std::string_view payload, bool endStream,
                                 bool splice = false);
  // Ends the stream with RST_STREAM (after a NoError one the client keeps the response).
  void reset(uint32_t id, frames::ErrorCode code);
  // The reader took `n` body bytes of the stream: the client may send as many more, announced
  // once half a window is owed. Bytes of closed streams are returned by the connection itself.
  void consume(uint32_t id, size_t n);

  // GOAWAY: streams already open are finished, new ones ignored. NoError for a graceful end.
  void goAway(frames::ErrorCode code = frames::ErrorCode::NoError, std::string_view why = {});

  size_t openStreams() const { return streams_.size(); }
  bool goAwaySent() const { return goAwaySent_; }
  bool goAwayReceived() const { return goAwayReceived_; }
  // Neither side will open streams and none is open (or the connection failed).
  bool finished() const {
    return failure_ || ((goAwaySent_ || goAwayReceived_) && streams_.empty());
  }
  // Inside a header block (or a HEADERS frame not yet whole): for the owner's header timeout.
  bool inHeaderBlock() const { return blockStream_ != 0 || partialHeaders_; }
  // Header blocks completed so far: the owner's header timeout restarts when it moves.
  uint64_t headerBlocks() const { return headerBlocks_; }
  bool settingsAcknowledged() const { return settingsAcked_; }

 private:
  struct Stream {
    void* user = nullptr;
    int64_t sendWindow = 0;
    int64_t recvWindow = 0;    // what the client may still send
    uint64_t unconsumed = 0;   // delivered, not yet consumed by the owner
    uint64_t owed = 0;         // consumed, not yet announced in a WINDOW_UPDATE
    int64_t contentLength = -1;
    uint64_t received = 0;     // DATA content so far
    uint64_t headBytes = 0;    // RFC 9113's count of the head, which trailers share
    bool remoteEnded = false;
    bool headSent = false;
    bool localEnded = false;
  };

  void fail(frames::ErrorCode code, std::string_view why);
  // A stream error: RST_STREAM, then the stream closes.
  void streamError(uint32_t id, frames::ErrorCode code);
  void close(uint32_t id, Stream& s, frames::ErrorCode code);
  Stream* find(uint32_t id);
  // What the client did last on a closed stream kgate remembers.
  enum class Closed { Unknown, Ended, Reset };
  Closed closedBy(uint32_t id) const;
  void remember(uint32_t id, Closed how);
  void answerOnce(uint32_t id);  // STREAM_CLOSED for a frame on a stream the client reset

  void onFrame(const frames::Header& h, std::string_view payload);
  void onData(const frames::Header& h, std::string_view payload);
  void onHeaders(const frames::Header& h, std::string_view payload);
  void onContinuation(const frames::Header& h, std::string_view payload);
  void onSettings(const frames::Header& h, std::string_view payload);
  void onWindowUpdate(const frames::Header& h, std::string_view payload);
  void onRstStream(const frames::Header& h, std::string_view payload);
  void onBlock(uint32_t id, bool endStream, std::string_view block);
  void openStream(uint32_t id, bool endStream, std::string_view block);
  void onStreamTrailers(uint32_t id, Stream& s, bool endStream, std::string_view block);
  void remoteEnd(uint32_t id, Stream& s);
  void returnConnection(uint64_t n);
  void countAck();
  bool takeResetToken();

  Listener& listener_;
  ServerSettings settings_;
  hpack::Decoder decoder_;
  hpack::Encoder encoder_;
  std::string out_;
  std::string encoded_;  // a header block being built
  Failure failure_;

  std::unordered_map<uint32_t, Stream> streams_;
  uint32_t lastStream_ = 0;  // the highest stream the client opened (or tried to)
  uint32_t goAwayStream_ = 0;  // the last stream our first GOAWAY named: later ones name it too
  // Stream ids, with kResetMark set for the ones the client reset (no id has the top bit).
  static constexpr uint32_t kResetMark = 1u << 31;
  std::array<uint32_t, kRemembered> remembered_{};
  size_t rememberedNext_ = 0;

  bool prefaceSeen_ = false;
  bool settingsSeen_ = false;  // the client's first frame, which must be SETTINGS
  bool settingsAcked_ = false;
  bool goAwaySent_ = false;
  bool goAwayReceived_ = false;
  bool partialHeaders_ = false;
  std::optional<bool> noPriorities_;  // the client's NO_RFC7540_PRIORITIES, fixed once sent

  // A header block arriving in HEADERS + CONTINUATION frames.
  uint32_t blockStream_ = 0;
  bool blockEndStream_ = false;
  size_t continuations_ = 0;
  std::string block_;
  uint64_t headerBlocks_ = 0;

  int64_t connSendWindow_ = 65535;
  int64_t connRecvWindow_ = 65535;
  uint64_t connOwed_ = 0;
  uint32_t peerInitialWindow_ = 65535;
  uint32_t peerMaxFrame_ = frames::kDefaultMaxFrameSize;
  int64_t localInitialWindow_;  // the client's view of the streams' receive window

  size_t queuedAcks_ = 0;
  double resetTokens_;
  std::chrono::steady_clock::time_point resetsCountedAt_;
};

}  // namespace kgate::h2
