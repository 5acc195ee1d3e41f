#include "gateway/h2/session.h"

#include <algorithm>
#include <charconv>
#include <vector>

#include "gateway/h2/flood_limits.h"
#include "gateway/log.h"
#include "gateway/spawn.h"

namespace kgate::h2 {

void addNv(std::vector<nghttp2_nv>& nva, std::string_view name, std::string_view value) {
  nghttp2_nv nv;
  nv.name = reinterpret_cast<uint8_t*>(const_cast<char*>(name.data()));
  nv.namelen = name.size();
  nv.value = reinterpret_cast<uint8_t*>(const_cast<char*>(value.data()));
  nv.valuelen = value.size();
  nv.flags = NGHTTP2_NV_FLAG_NONE;  // nghttp2 copies them on submit
  nva.push_back(nv);
}

namespace {

StreamState* stateOf(nghttp2_session* s, int32_t id) {
  return static_cast<StreamState*>(nghttp2_session_get_stream_user_data(s, id));
}

// nghttp2 ends the session on these errors without a GOAWAY; kgate sends one that says why
// (RFC 9113 section 5.4.1).
uint32_t goawayCodeFor(ssize_t fatal) {
  switch (fatal) {
    case NGHTTP2_ERR_BAD_CLIENT_MAGIC: return NGHTTP2_PROTOCOL_ERROR;  // section 3.4
    case NGHTTP2_ERR_FLOODED:                 // SETTINGS or PING answers piling up unread
    case NGHTTP2_ERR_TOO_MANY_CONTINUATIONS:  // a header block without end
      return NGHTTP2_ENHANCE_YOUR_CALM;
    default: return NGHTTP2_INTERNAL_ERROR;
  }
}

}  // namespace

// The C callbacks, forwarding to the Session (user_data) and the StreamState (stream user data).
struct Callbacks {
  static int onBeginHeaders(nghttp2_session* raw, const nghttp2_frame* frame, void* user) {
    auto* self = static_cast<Session*>(user);
    self->blockStreamId_ = 0;
    if (frame->hd.type != NGHTTP2_HEADERS) return 0;
    self->enterBlock(frame->hd.stream_id, stateOf(raw, frame->hd.stream_id));
    return 0;
  }

  static int onHeader(nghttp2_session* raw, const nghttp2_frame* frame, const uint8_t* name,
                      size_t namelen, const uint8_t* value, size_t valuelen, uint8_t,
                      void* user) {
    auto* self = static_cast<Session*>(user);
    if (frame->hd.type != NGHTTP2_HEADERS) return 0;
    int32_t id = frame->hd.stream_id;
    StreamState* s = id == self->blockStreamId_ ? self->blockStream_ : stateOf(raw, id);
    if (!s) return 0;
    std::string_view n(reinterpret_cast<const char*>(name), namelen);
    std::string_view v(reinterpret_cast<const char*>(value), valuelen);
    s->headerBytes += static_cast<uint32_t>(namelen + valuelen + 32);  // RFC 9113 accounting
    if (s->headersTooLarge) return 0;
    if (s->headerBytes > self->options_.maxHeaderBytes) {
      s->headersTooLarge = true;
      return 0;
    }
    if (s->headReady) {  // a trailer section: kept as HTTP/1.1's are (h1::Parser)
      if (!n.starts_with(':') && n != "content-length" && !http::isHopByHop(n))
        s->inTrailers.add(n, v);
      return 0;
    }
    if (s->response.headers.size() >= self->options_.maxHeaderCount) {
      s->headersTooLarge = true;
      return 0;
    }
    http::ResponseHead& r = s->response;
    if (n == ":status") {
      int st = 0;
      std::from_chars(v.data(), v.data() + v.size(), st);
      r.status = st;
    } else if (n.starts_with(':')) {
      return 0;
    } else if (n == "content-length") {
      uint64_t len;
      if (http::parseContentLength(v, len)) r.contentLength = len;
    } else if (!http::isHopByHop(n)) {
      r.headers.add(n, v);
    }
    return 0;
  }

  static int onFrameRecv(nghttp2_session* raw, const nghttp2_frame* frame, void* user) {
    auto* self = static_cast<Session*>(user);
    if (frame->hd.type == NGHTTP2_GOAWAY) {
      self->goawayReceived_ = true;
      return 0;
    }
    if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA) return 0;
    if (frame->hd.type == NGHTTP2_HEADERS) self->blockStreamId_ = 0;  // the block is whole
    StreamState* s = stateOf(raw, frame->hd.stream_id);
    if (!s) return 0;
    bool end = frame->hd.flags & NGHTTP2_FLAG_END_STREAM;
    if (frame->hd.type == NGHTTP2_HEADERS && !s->headReady) {
      if (s->response.status >= 100 && s->response.status < 200) {
        s->response = http::ResponseHead{};  // informational: the final head follows
        return 0;
      }
      s->headReady = true;
      if (end) s->inEnd = true;
      s->inEvent.notify();
      return 0;
    }
    if (end) {
      s->inEnd = true;
      s->inEvent.notify();
    }
    return 0;
  }

  static int onDataChunk(nghttp2_session* raw, uint8_t, int32_t id, const uint8_t* data,
                         size_t len, void*) {
    StreamState* s = stateOf(raw, id);
    if (!s || s->abandoned || s->closed) {
      nghttp2_session_consume(raw, id, len);  // nobody will read it: reopen the window now
      return 0;
    }
    s->unreturned += len;
    bufferBody(*s, std::string_view(reinterpret_cast<const char*>(data), len));
    s->inEvent.notify();
    return 0;
  }

  static int onStreamClose(nghttp2_session* raw, int32_t id, uint32_t code, void* user) {
    auto* self = static_cast<Session*>(user);
    if (id == self->blockStreamId_) self->blockStreamId_ = 0;
    auto it = self->streams_.find(id);
    if (it == self->streams_.end()) return 0;
    std::shared_ptr<StreamState> s = it->second;
    self->streams_.erase(it);
    s->closed = true;
    s->closeCode = code;
    if (s->unreturned) {
      nghttp2_session_consume_connection(raw, s->unreturned);
      s->unreturned = 0;
    }
    s->inEvent.notify();
    s->outEvent.notify();
    // Closed with an error (the client reset it, or the session failed): stop the handler's
    // upstream too. A clean close means both directions finished.
    if (self->streams_.empty()) self->armIdle();
    return 0;
  }

  // Picks the next DATA frame's bytes without copying them (NO_COPY): nghttp2 then calls
  // sendData for the frame before this nghttp2_session_mem_send() returns. The bytes stay valid
  // until then even when outData is used up here: the writer they belong to resumes only after
  // the outEvent notification is posted and the write loop yields (Event::notify never resumes
  // a waiter inline).
  static ssize_t readData(nghttp2_session* raw, int32_t id, uint8_t*, size_t length,
                          uint32_t* flags, nghttp2_data_source* source, void*) {
    auto* s = static_cast<StreamState*>(source->ptr);
    size_t n = std::min(length, s->outData.size());
    s->outFrame = s->outData.substr(0, n);
    s->outData.remove_prefix(n);
    *flags |= NGHTTP2_DATA_FLAG_NO_COPY;
    if (s->outData.empty()) {
      if (s->outEnd) {
        *flags |= NGHTTP2_DATA_FLAG_EOF;
        s->outFinished = true;
        if (s->outTrailers) {
          *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
          std::vector<nghttp2_nv> nva;
          for (const auto& f : s->outTrailerFields) addNv(nva, f.name, f.value);
          nghttp2_submit_trailer(raw, id, nva.data(), nva.size());
        }
      } else if (n == 0) {
        s->outDeferred = true;
        return NGHTTP2_ERR_DEFERRED;
      }
      // A writer whose bytes a batch holds (this frame's, spliced by sendData, or an earlier
      // one's) is woken by releaseHeld once that batch is out: waking it now too would only
      // have it wait again.
      if (!s->outHeld && !spliced(*s, n)) s->outEvent.notify();
    }
    return static_cast<ssize_t>(n);
  }

  // Writes a whole DATA frame to the session's output, as nghttp2_send_data_callback's contract
  // says: the 9-byte header, the pad length byte when padded, exactly `length` bytes of payload
  // (the ones readData picked), then the padding. A payload of the writer's own bytes is spliced
  // in, not copied, and its stream held until the batch is written. Pauses nghttp2 once a batch
  // is full, so one nghttp2_session_mem_send() cannot pack every stream's pending data into it.
  static int sendData(nghttp2_session*, nghttp2_frame* frame, const uint8_t* framehd,
                      size_t length, nghttp2_data_source* source, void* user) {
    auto* self = static_cast<Session*>(user);
    auto* s = static_cast<StreamState*>(source->ptr);
    // Never true (readData picked outFrame for this very frame); ends the session if it were.
    if (length != s->outFrame.size()) return NGHTTP2_ERR_CALLBACK_FAILURE;
    std::string& out = self->out_;
    size_t padlen = frame->data.padlen;
    out.append(reinterpret_cast<const char*>(framehd), 9);
    if (padlen > 0) out.push_back(static_cast<char>(padlen - 1));
    auto it = spliced(*s, length) ? self->streams_.find(frame->hd.stream_id) : self->streams_.end();
    if (it != self->streams_.end()) {
      self->splices_.add(out.size(), s->outFrame, it->second);
    } else {
      out.append(s->outFrame);
    }
    if (padlen > 1) out.append(padlen - 1, '\0');
    s->outFrame = {};
    return self->splices_.full(out.size()) ? NGHTTP2_ERR_PAUSE : 0;
  }
};

Session::Session(std::unique_ptr<Transport> transport, Sweeper& sweeper, SessionOptions options)
    : transport_(std::move(transport)),
      sweeper_(sweeper),
      options_(options),
      writeEvent_(transport_->executor()),
      idleDeadline_(sweeper, [this] { goAway(); }),
      writerExit_(transport_->executor()),
      closeDeadline_(sweeper, [this] { kill(); }) {}

Session::~Session() {
  if (session_) nghttp2_session_del(session_);
}

void Session::setup(nghttp2_session_callbacks* cbs, nghttp2_option* opt) {
  nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, &Callbacks::onBeginHeaders);
  nghttp2_session_callbacks_set_on_header_callback(cbs, &Callbacks::onHeader);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, &Callbacks::onFrameRecv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, &Callbacks::onDataChunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, &Callbacks::onStreamClose);
  nghttp2_session_callbacks_set_send_data_callback(cbs, &Callbacks::sendData);
  nghttp2_option_set_no_auto_window_update(opt, 1);
  nghttp2_option_set_no_closed_streams(opt, 1);
  nghttp2_option_set_max_outbound_ack(opt, kMaxQueuedAcks);
  nghttp2_option_set_max_settings(opt, kMaxSettingsEntries);
  nghttp2_option_set_max_continuations(opt, maxContinuations(options_.maxHeaderBytes));
}

void Session::terminate(uint32_t code, std::string_view why) {
  if (terminated_ || dead_) return;
  terminated_ = true;
  if (code == NGHTTP2_ENHANCE_YOUR_CALM)
    KGATE_LOG(Info, "http2: " << transport_->remoteIp() << ": " << why << ": GOAWAY ENHANCE_YOUR_CALM");
  else
    KGATE_LOG(Debug, "http2: " << transport_->remoteIp() << ": " << why << ": GOAWAY " << code);
  nghttp2_session_terminate_session(session_, code);
  closeDeadline_.arm(kGoawayGrace);
  signalWrite();
}

void Session::submitSettings() {
  nghttp2_settings_entry iv[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, options_.maxConcurrentStreams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, options_.streamWindow},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, options_.maxHeaderBytes},
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
  };
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, iv, std::size(iv));
  // The connection window bounds what all streams together may have in flight to us.
  int32_t connWindow = static_cast<int32_t>(std::max<uint32_t>(options_.streamWindow * 4u, 4u << 20));
  nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, connWindow);
}

void Session::addStream(std::shared_ptr<StreamState> s) {
  idleDeadline_.disarm();
  streams_[s->id] = std::move(s);
}

StreamState* Session::find(int32_t id) {
  auto it = streams_.find(id);
  return it == streams_.end() ? nullptr : it->second.get();
}

void Session::armIdle() { idleDeadline_.arm(options_.idleTimeout); }

void Session::goAway() {
  if (dead_ || goawaySent_) return;
  goawaySent_ = true;
  nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE,
                        nghttp2_session_get_last_proc_stream_id(session_), NGHTTP2_NO_ERROR,
                        nullptr, 0);
  signalWrite();
  if (streams_.empty()) armIdle();  // nothing left to finish: let the loops wind down
}

void Session::kill() {
  dead_ = true;
  transport_->close();
  signalWrite();
}

void Session::failAllStreams() {
  auto all = std::move(streams_);
  streams_.clear();
  blockStreamId_ = 0;
  for (auto& [id, s] : all) {
    if (!s->closed) {
      s->closed = true;
      s->closeCode = NGHTTP2_CANCEL;
    }
    s->inEvent.notify();
    s->outEvent.notify();
  }
}

awaitable<void> Session::run(ReadBuffer buf) {
  auto self = shared_from_this();
  submitSettings();
  spawn(transport_->executor(), writeLoop(self), "http2 writer");
  armIdle();
  uint64_t dropped = 0;
  bool readAny = false;  // the peer's first bytes (its preface) usually came with its Finished
  for (;;) {
    if (!buf.empty() && terminated_) {
      // Input after our GOAWAY is dropped unread by nghttp2 anyway; reading it keeps a client
      // that is still sending from blocking the GOAWAY's way out.
      dropped += buf.size();
      buf.consume(buf.size());
      if (dropped > kGoawayDrainBytes) break;
    } else if (!buf.empty()) {
      auto data = buf.data();
      ssize_t rv = nghttp2_session_mem_recv(session_, reinterpret_cast<const uint8_t*>(data.data()),
                                            data.size());
      // nghttp2 takes all it is given unless a callback pauses it (none does).
      if (rv < 0 || static_cast<size_t>(rv) != data.size()) {
        if (rv < 0) terminate(goawayCodeFor(rv), nghttp2_strerror(static_cast<int>(rv)));
        else terminate(NGHTTP2_INTERNAL_ERROR, "input left unread");
        if (dead_) break;  // terminate() did nothing: the same bytes would fail again
        continue;
      }
      buf.consume(static_cast<size_t>(rv));
      signalWrite();
    }
    if (dead_ || (!nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_)))
      break;
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

awaitable<void> Session::writeLoop(std::shared_ptr<Session> self) {
  // Writers held by a batch go on however this loop ends, an exception included.
  struct Release {
    Session* session;
    ~Release() { session->splices_.release(); }
  } release{this};
  for (;;) {
    if (!dead_) {
      // DATA frames reach out_ through Callbacks::sendData, inside mem_send; it returns 0 when
      // there is nothing more to send or when sendData paused it on a full batch.
      for (;;) {
        const uint8_t* data = nullptr;
        ssize_t n = nghttp2_session_mem_send(session_, &data);
        if (n < 0) {
          // Only an internal failure gets here (sendData's frame-length check). Closing wakes
          // the reader, whose end fails every stream; otherwise their writers waited for the
          // client to send or leave.
          dead_ = true;
          transport_->close();
          break;
        }
        if (n == 0) break;
        out_.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
        if (splices_.full(out_.size())) break;
      }
    }
    if (out_.empty()) {
      if (dead_ || readerDone_) break;
      if (!nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_)) {
        transport_->cancel();  // the reader is waiting for bytes nobody needs any more
        break;
      }
      // An idle session holds no write buffer (swap: assigning an empty string keeps the room).
      if (streams_.empty()) std::string().swap(out_);
      co_await writeEvent_.wait();
      continue;
    }
    error_code ec = co_await transport_->writeGather(splices_.pieces(out_));
    out_.clear();
    splices_.release();
    if (ec) {
      dead_ = true;
      transport_->close();  // wakes the reader
      break;
    }
  }
  std::string().swap(out_);
  writerDone_ = true;
  writerExit_.notify();
}

void Session::returnWindow(StreamState& s) {
  size_t n = releaseHanded(s);
  if (n == 0 || s.closed || dead_ || s.unreturned < n) return;
  s.unreturned -= n;
  nghttp2_session_consume(session_, s.id, n);
  signalWrite();
}

awaitable<Error> Session::readBody(StreamState& s, http::BodyChunk& out) {
  returnWindow(s);
  for (;;) {
    if (takeBody(s, out)) co_return Error::Ok;
    if (s.closed || dead_) co_return s.abandoned ? Error::Aborted : Error::PeerClosed;
    co_await s.inEvent.wait();
  }
}

nghttp2_data_provider Session::dataProvider(StreamState& s) {
  nghttp2_data_provider p;
  p.source.ptr = &s;
  p.read_callback = &Callbacks::readData;
  s.outStarted = true;
  return p;
}

awaitable<Error> Session::writeBody(StreamState& s, std::string_view data, bool endStream) {
  if (s.closed || dead_ || !s.outStarted || s.outEnd) co_return Error::Aborted;
  s.outBorrowed = true;
  s.outData = data;
  s.outEnd = endStream;
  if (s.outDeferred) {
    s.outDeferred = false;
    nghttp2_session_resume_data(session_, s.id);
  }
  signalWrite();
  co_return co_await awaitPieceTaken(s, data.size(), endStream, dead_);
}

awaitable<Error> Session::writeTrailers(StreamState& s, const http::Headers& trailers) {
  if (s.closed || dead_ || !s.outStarted || s.outEnd) co_return Error::Aborted;
  s.outTrailers = true;
  s.outTrailerFields = trailers;
  co_return co_await writeBody(s, {}, true);
}

void Session::resetStream(StreamState& s, uint32_t code) {
  s.abandoned = true;
  if (s.unreturned) {
    if (!s.closed && !dead_) nghttp2_session_consume(session_, s.id, s.unreturned);
    s.unreturned = 0;
  }
  dropBody(s);
  if (s.closed || dead_) return;
  nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, s.id, code);
  signalWrite();
}

}  // namespace kgate::h2
