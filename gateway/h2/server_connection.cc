#include "gateway/h2/server_connection.h"

#include <algorithm>
#include <cassert>
#include <charconv>

#include "gateway/h2/flood_limits.h"
#include "gateway/h2/request_fields.h"

namespace kgate::h2 {

using frames::ErrorCode;
using frames::Type;

namespace {

// A header block kgate must decode to keep HPACK in step but whose fields nobody wants: a
// stream already closed, or opened after our GOAWAY.
struct DiscardFields final : hpack::FieldSink {
  void onField(std::string_view, std::string_view, bool) override {}
};

bool serverStream(uint32_t id) { return id % 2 == 0; }

// Credentials are never indexed by a decoder on the way (RFC 7541 section 7.1.3).
bool sensitive(std::string_view name) {
  return name == "authorization" || name == "proxy-authorization" || name == "set-cookie" ||
         name == "kuscia-token";
}

}  // namespace

ServerConnection::ServerConnection(Listener& listener, ServerSettings settings)
    : listener_(listener),
      settings_(settings),
      // Until the client acknowledges our SETTINGS it may still count from the default window.
      localInitialWindow_(std::max<int64_t>(settings.streamWindow, 65535)),
      resetTokens_(kResetBurst),
      resetsCountedAt_(std::chrono::steady_clock::now()) {
  frames::appendSettings(out_, {{frames::kMaxConcurrentStreams, settings_.maxConcurrentStreams},
                                {frames::kInitialWindowSize, settings_.streamWindow},
                                {frames::kMaxHeaderListSize, settings_.maxHeaderBytes}});
  if (settings_.connectionWindow > 65535) {
    frames::appendWindowUpdate(out_, 0, settings_.connectionWindow - 65535);
    connRecvWindow_ = settings_.connectionWindow;
  }
}

void ServerConnection::take(std::string& batch) {
  assert(batch.empty());
  batch.swap(out_);
  queuedAcks_ = 0;
}

size_t ServerConnection::receive(std::string_view data) {
  if (failure_) return data.size();
  size_t used = 0;
  if (!prefaceSeen_) {
    std::string_view preface = frames::kClientPreface;
    size_t n = std::min(data.size(), preface.size());
    if (data.substr(0, n) != preface.substr(0, n)) {
      fail(ErrorCode::Protocol, "no HTTP/2 connection preface");
      return data.size();
    }
    if (n < preface.size()) return 0;
    prefaceSeen_ = true;
    used = n;
  }
  partialHeaders_ = false;
  while (!failure_) {
    std::string_view rest = data.substr(used);
    if (rest.size() < frames::kHeaderSize) {
      partialHeaders_ = rest.size() > 3 && rest[3] == static_cast<char>(Type::Headers);
      break;
    }
    frames::Header h = frames::parseHeader(rest.data());
    // Refused before its payload arrives, so a huge length is not waited for.
    if (h.length > frames::kDefaultMaxFrameSize) {
      fail(ErrorCode::FrameSize, "a frame larger than SETTINGS_MAX_FRAME_SIZE");
      break;
    }
    if (rest.size() < frames::kHeaderSize + h.length) {
      partialHeaders_ = h.type == static_cast<uint8_t>(Type::Headers);
      break;
    }
    used += frames::kHeaderSize + h.length;
    onFrame(h, rest.substr(frames::kHeaderSize, h.length));
  }
  return failure_ ? data.size() : used;
}

void ServerConnection::fail(ErrorCode code, std::string_view why) {
  if (failure_) return;
  failure_ = Failure{code, why};
  // A second GOAWAY may not name streams the first one said would not be processed (6.8).
  if (!goAwaySent_) goAwayStream_ = lastStream_;
  frames::appendGoAway(out_, goAwayStream_, code, why);
  goAwaySent_ = true;
  blockStream_ = 0;
}

void ServerConnection::goAway(ErrorCode code, std::string_view why) {
  if (code != ErrorCode::NoError) {
    fail(code, why);
    return;
  }
  if (goAwaySent_) return;
  goAwaySent_ = true;
  goAwayStream_ = lastStream_;
  frames::appendGoAway(out_, goAwayStream_, code);
}

ServerConnection::Stream* ServerConnection::find(uint32_t id) {
  auto it = streams_.find(id);
  return it == streams_.end() ? nullptr : &it->second;
}

ServerConnection::Closed ServerConnection::closedBy(uint32_t id) const {
  for (uint32_t r : remembered_) {
    if (r == id) return Closed::Ended;
    if (r == (id | kResetMark)) return Closed::Reset;
  }
  return Closed::Unknown;
}

// One RST_STREAM STREAM_CLOSED per stream the client reset: the stream is forgotten with it, so
// a client cannot have kgate answer frame after frame (an RST flood it does not pay for).
void ServerConnection::answerOnce(uint32_t id) {
  std::replace(remembered_.begin(), remembered_.end(), id | kResetMark, 0u);
  streamError(id, ErrorCode::StreamClosed);
}

void ServerConnection::remember(uint32_t id, Closed how) {
  remembered_[rememberedNext_] = how == Closed::Reset ? id | kResetMark : id;
  rememberedNext_ = (rememberedNext_ + 1) % kRemembered;
}

void ServerConnection::countAck() {
  if (++queuedAcks_ > kMaxQueuedAcks)
    fail(ErrorCode::EnhanceYourCalm, "SETTINGS, PING or RST_STREAM answers piling up unread");
}

bool ServerConnection::takeResetToken() {
  auto now = std::chrono::steady_clock::now();
  double refill = std::chrono::duration<double>(now - resetsCountedAt_).count() * kResetsPerSecond;
  resetsCountedAt_ = now;
  resetTokens_ = std::min<double>(kResetBurst, resetTokens_ + refill);
  if (resetTokens_ < 1) return false;
  resetTokens_ -= 1;
  return true;
}

void ServerConnection::onFrame(const frames::Header& h, std::string_view payload) {
  const auto type = static_cast<Type>(h.type);
  if (!settingsSeen_) {
    if (type != Type::Settings || (h.flags & frames::kAck)) {
      fail(ErrorCode::Protocol, "the first frame is not SETTINGS");
      return;
    }
    settingsSeen_ = true;
  }
  // Nothing may come between a HEADERS frame and the CONTINUATIONs that end its block.
  if (blockStream_ != 0 && (type != Type::Continuation || h.stream != blockStream_)) {
    fail(ErrorCode::Protocol, "a frame inside a header block");
    return;
  }
  frames::Violation v = frames::checkClientFrame(h, payload, frames::kDefaultMaxFrameSize);
  if (v && !v.streamOnly) {
    fail(v.code, "a malformed frame");
    return;
  }
  switch (type) {
    case Type::Data: onData(h, payload); return;
    case Type::Headers: onHeaders(h, payload); return;
    case Type::Priority:
      if (frames::priorityDependency(h, payload) == h.stream)
        fail(ErrorCode::Protocol, "a stream made to depend on itself");
      return;
    case Type::RstStream: onRstStream(h, payload); return;
    case Type::Settings: onSettings(h, payload); return;
    case Type::Ping:
      if (!(h.flags & frames::kAck)) {
        frames::appendPingAck(out_, payload);
        countAck();
      }
      return;
    case Type::GoAway: goAwayReceived_ = true; return;
    case Type::WindowUpdate: onWindowUpdate(h, payload); return;
    case Type::Continuation: onContinuation(h, payload); return;
    case Type::PushPromise: return;  // refused by checkClientFrame
  }
  // An extension's frame: ignored (section 5.5).
}

void ServerConnection::onData(const frames::Header& h, std::string_view payload) {
  const uint32_t id = h.stream;
  if (serverStream(id) || id > lastStream_) {
    fail(ErrorCode::Protocol, "DATA on an idle stream");
    return;
  }
  // The whole payload, padding included, counts against both windows (section 6.9.1).
  if (h.length > connRecvWindow_) {
    fail(ErrorCode::FlowControl, "DATA beyond the connection's window");
    return;
  }
  connRecvWindow_ -= h.length;
  Stream* s = find(id);
  if (!s) {
    Closed how = closedBy(id);
    if (how == Closed::Ended) {
      fail(ErrorCode::StreamClosed, "DATA on a stream it had ended");
      return;
    }
    returnConnection(h.length);  // on a stream reset or refused: dropped
    if (how == Closed::Reset) answerOnce(id);
    return;
  }
  if (s->remoteEnded || h.length > s->recvWindow) {
    returnConnection(h.length);
    streamError(id, s->remoteEnded ? ErrorCode::StreamClosed : ErrorCode::FlowControl);
    return;
  }
  s->recvWindow -= h.length;
  std::string_view body = frames::content(h, payload);
  s->received += body.size();
  const bool end = h.flags & frames::kEndStream;
  // A body longer or shorter than its content-length makes the request malformed (8.1.1).
  if (s->contentLength >= 0 &&
      (s->received > static_cast<uint64_t>(s->contentLength) ||
       (end && s->received != static_cast<uint64_t>(s->contentLength)))) {
    returnConnection(h.length);
    streamError(id, ErrorCode::Protocol);
    return;
  }
  // Padding is nobody's to consume: returned at once.
  if (size_t padding = h.length - body.size()) {
    s->unconsumed += padding;
    consume(id, padding);
  }
  s->unconsumed += body.size();
  if (end) s->remoteEnded = true;
  if (!body.empty() || end) listener_.onData(s->user, body, end);
  if (end) {
    if (Stream* again = find(id)) remoteEnd(id, *again);
  }
}

void ServerConnection::onHeaders(const frames::Header& h, std::string_view payload) {
  const uint32_t id = h.stream;
  if (serverStream(id)) {
    fail(ErrorCode::Protocol, "HEADERS on a stream a client may not open");
    return;
  }
  if ((h.flags & frames::kPriority) && frames::priorityDependency(h, payload) == id) {
    fail(ErrorCode::Protocol, "a stream made to depend on itself");
    return;
  }
  std::string_view fragment = frames::content(h, payload);
  const bool end = h.flags & frames::kEndStream;
  if (h.flags & frames::kEndHeaders) {
    onBlock(id, end, fragment);
    return;
  }
  blockStream_ = id;
  blockEndStream_ = end;
  continuations_ = 0;
  block_.assign(fragment);
}

void ServerConnection::onContinuation(const frames::Header& h, std::string_view payload) {
  if (blockStream_ == 0) {
    fail(ErrorCode::Protocol, "CONTINUATION without HEADERS");
    return;
  }
  if (++continuations_ > maxContinuations(settings_.maxHeaderBytes)) {
    fail(ErrorCode::EnhanceYourCalm, "a header block in too many CONTINUATION frames");
    return;
  }
  block_.append(payload);
  if (!(h.flags & frames::kEndHeaders)) return;
  uint32_t id = blockStream_;
  blockStream_ = 0;
  onBlock(id, blockEndStream_, block_);
  block_.clear();
  if (block_.capacity() > 64 * 1024) std::string().swap(block_);
}

void ServerConnection::onBlock(uint32_t id, bool endStream, std::string_view block) {
  ++headerBlocks_;
  if (id > lastStream_) {
    openStream(id, endStream, block);
    return;
  }
  if (Stream* s = find(id)) {
    onStreamTrailers(id, *s, endStream, block);
    return;
  }
  Closed how = closedBy(id);
  if (how == Closed::Ended) {
    fail(ErrorCode::StreamClosed, "HEADERS on a stream it had ended");
    return;
  }
  DiscardFields discard;
  if (auto e = decoder_.decode(block, discard); e != hpack::DecodeError::None)
    fail(ErrorCode::Compression, hpack::describe(e));
  else if (how == Closed::Reset)
    answerOnce(id);
}

void ServerConnection::openStream(uint32_t id, bool endStream, std::string_view block) {
  lastStream_ = id;
  if (goAwaySent_) {  // past our GOAWAY: ignored, but HPACK must stay in step
    DiscardFields discard;
    if (auto e = decoder_.decode(block, discard); e != hpack::DecodeError::None)
      fail(ErrorCode::Compression, hpack::describe(e));
    return;
  }
  http::RequestHead head;
  head.headers.reserve(http::kTypicalFields);
  RequestFields fields(head, settings_.maxHeaderBytes, settings_.maxHeaderCount);
  if (auto e = decoder_.decode(block, fields); e != hpack::DecodeError::None) {
    fail(ErrorCode::Compression, hpack::describe(e));
    return;
  }
  RequestFields::Verdict verdict = fields.finish();
  const bool tooLarge = verdict == RequestFields::Verdict::TooLarge;
  // A request that ends with its head while announcing a body is malformed too (8.1.1).
  bool lengthBroken = endStream && !tooLarge && head.contentLength && *head.contentLength != 0;
  if (verdict == RequestFields::Verdict::Malformed || lengthBroken) {
    frames::appendRstStream(out_, id, ErrorCode::Protocol);
    countAck();
    return;
  }
  if (streams_.size() >= settings_.maxConcurrentStreams) {
    frames::appendRstStream(out_, id, ErrorCode::RefusedStream);
    countAck();
    return;
  }
  Stream& s = streams_[id];
  s.sendWindow = peerInitialWindow_;
  s.recvWindow = localInitialWindow_;
  s.contentLength = head.contentLength && !tooLarge ? static_cast<int64_t>(*head.contentLength) : -1;
  s.headBytes = fields.bytes();
  s.remoteEnded = endStream;
  void* user = listener_.onRequest(id, head, tooLarge, endStream);
  if (Stream* again = find(id)) again->user = user;
}

void ServerConnection::onStreamTrailers(uint32_t id, Stream& s, bool endStream,
                                        std::string_view block) {
  http::Headers trailers;
  RequestFields fields(trailers, settings_.maxHeaderBytes, settings_.maxHeaderCount, s.headBytes);
  if (auto e = decoder_.decode(block, fields); e != hpack::DecodeError::None) {
    fail(ErrorCode::Compression, hpack::describe(e));
    return;
  }
  if (s.remoteEnded) {
    streamError(id, ErrorCode::StreamClosed);
    return;
  }
  // A second HEADERS on a request is its trailer section, which must end it (8.1).
  bool lengthBroken = s.contentLength >= 0 && s.received != static_cast<uint64_t>(s.contentLength);
  if (!endStream || fields.finish() != RequestFields::Verdict::Ok || lengthBroken) {
    streamError(id, ErrorCode::Protocol);
    return;
  }
  s.remoteEnded = true;
  listener_.onTrailers(s.user, trailers);
  if (Stream* again = find(id)) remoteEnd(id, *again);
}

void ServerConnection::remoteEnd(uint32_t id, Stream& s) {
  if (s.localEnded) close(id, s, ErrorCode::NoError);
}

void ServerConnection::onRstStream(const frames::Header& h, std::string_view payload) {
  const uint32_t id = h.stream;
  if (serverStream(id) || id > lastStream_) {
    fail(ErrorCode::Protocol, "RST_STREAM on an idle stream");
    return;
  }
  if (!takeResetToken()) {
    fail(ErrorCode::EnhanceYourCalm, "resets streams faster than allowed");
    return;
  }
  if (Stream* s = find(id)) {
    uint32_t code = frames::rstStreamCode(payload);
    bool ended = s->remoteEnded;  // close() remembers it as ended
    // A client's NO_ERROR reset still stops the stream; the owner hears Cancel for it.
    close(id, *s, code == 0 ? ErrorCode::Cancel : static_cast<ErrorCode>(code));
    if (!ended) remember(id, Closed::Reset);
  }
}

void ServerConnection::onSettings(const frames::Header& h, std::string_view payload) {
  if (h.flags & frames::kAck) {
    if (settingsAcked_) return;
    settingsAcked_ = true;
    int64_t delta = static_cast<int64_t>(settings_.streamWindow) - localInitialWindow_;
    for (auto& [id, s] : streams_) s.recvWindow += delta;
    localInitialWindow_ = settings_.streamWindow;
    return;
  }
  if (payload.size() / 6 > kMaxSettingsEntries) {
    fail(ErrorCode::EnhanceYourCalm, "too many entries in one SETTINGS frame");
    return;
  }
  frames::Settings got;
  if (frames::Violation v = frames::parseSettings(payload, got)) {
    fail(v.code, "a SETTINGS value out of range");
    return;
  }
  if (got.noRfc7540Priorities) {
    bool value = *got.noRfc7540Priorities != 0;
    if (noPriorities_ && *noPriorities_ != value) {
      fail(ErrorCode::Protocol, "SETTINGS_NO_RFC7540_PRIORITIES changed");
      return;
    }
    noPriorities_ = value;
  }
  if (got.maxFrameSize) peerMaxFrame_ = *got.maxFrameSize;
  if (got.headerTableSize) {
    encoder_.setPeerLimit(*got.lowestHeaderTableSize);
    encoder_.setPeerLimit(*got.headerTableSize);
  }
  bool opened = false;
  if (got.initialWindowSize) {
    int64_t delta = static_cast<int64_t>(*got.initialWindowSize) - peerInitialWindow_;
    peerInitialWindow_ = *got.initialWindowSize;
    for (auto& [id, s] : streams_) {
      s.sendWindow += delta;
      if (s.sendWindow > frames::kMaxWindow) {
        fail(ErrorCode::FlowControl, "INITIAL_WINDOW_SIZE overflows a stream's window");
        return;
      }
    }
    opened = delta > 0;
  }
  frames::appendSettingsAck(out_);
  countAck();
  if (opened && !failure_) listener_.onSendWindow();
}

void ServerConnection::onWindowUpdate(const frames::Header& h, std::string_view payload) {
  const uint32_t id = h.stream;
  const uint32_t increment = frames::windowIncrement(payload);
  if (id == 0) {
    connSendWindow_ += increment;
    if (connSendWindow_ > frames::kMaxWindow) {
      fail(ErrorCode::FlowControl, "the connection's send window past 2^31-1");
      return;
    }
    listener_.onSendWindow();
    return;
  }
  if (serverStream(id) || id > lastStream_) {
    fail(ErrorCode::Protocol, "WINDOW_UPDATE on an idle stream");
    return;
  }
  Stream* s = find(id);
  if (!s) return;
  if (increment == 0) {
    streamError(id, ErrorCode::Protocol);
    return;
  }
  s->sendWindow += increment;
  if (s->sendWindow > frames::kMaxWindow) {
    streamError(id, ErrorCode::FlowControl);
    return;
  }
  listener_.onSendWindow();
}

void ServerConnection::streamError(uint32_t id, ErrorCode code) {
  frames::appendRstStream(out_, id, code);
  countAck();
  if (Stream* s = find(id)) close(id, *s, code);
}

void ServerConnection::close(uint32_t id, Stream& s, ErrorCode code) {
  returnConnection(s.unconsumed);  // what the owner will not consume now
  if (s.remoteEnded) remember(id, Closed::Ended);
  void* user = s.user;
  streams_.erase(id);
  listener_.onStreamClosed(user, code);
}

void ServerConnection::returnConnection(uint64_t n) {
  connOwed_ += n;
  if (connOwed_ == 0 || connOwed_ < settings_.connectionWindow / 2 || failure_) return;
  frames::appendWindowUpdate(out_, 0, static_cast<uint32_t>(connOwed_));
  connRecvWindow_ += static_cast<int64_t>(connOwed_);
  connOwed_ = 0;
}

void ServerConnection::consume(uint32_t id, size_t n) {
  Stream* s = find(id);
  if (!s) return;  // closed: its bytes went back then
  n = std::min<uint64_t>(n, s->unconsumed);
  s->unconsumed -= n;
  returnConnection(n);
  if (s->remoteEnded || failure_) return;  // the client sends no more on it
  s->owed += n;
  if (s->owed == 0 || s->owed < static_cast<uint64_t>(localInitialWindow_) / 2) return;
  frames::appendWindowUpdate(out_, id, static_cast<uint32_t>(s->owed));
  s->recvWindow += static_cast<int64_t>(s->owed);
  s->owed = 0;
}

bool ServerConnection::sendResponse(uint32_t id, int status, const http::Headers& fields,
                                    std::string_view contentLength, bool endStream) {
  Stream* s = find(id);
  if (!s || s->headSent || failure_) return false;
  char digits[8];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, status);
  encoded_.clear();
  encoder_.startBlock(encoded_);
  encoder_.field(":status", std::string_view(digits, end - digits), encoded_);
  for (const auto& f : fields) encoder_.field(f.name, f.value, encoded_, sensitive(f.name));
  if (!contentLength.empty()) encoder_.field("content-length", contentLength, encoded_);
  frames::appendHeaders(out_, id, encoded_, endStream, peerMaxFrame_);
  s->headSent = true;
  if (endStream) {
    s->localEnded = true;
    if (s->remoteEnded) close(id, *s, ErrorCode::NoError);
  }
  return true;
}

bool ServerConnection::sendTrailers(uint32_t id, const http::Headers& fields) {
  Stream* s = find(id);
  if (!s || !s->headSent || s->localEnded || failure_) return false;
  encoded_.clear();
  encoder_.startBlock(encoded_);
  for (const auto& f : fields) encoder_.field(f.name, f.value, encoded_, sensitive(f.name));
  frames::appendHeaders(out_, id, encoded_, true, peerMaxFrame_);
  s->localEnded = true;
  if (s->remoteEnded) close(id, *s, ErrorCode::NoError);
  return true;
}

size_t ServerConnection::sendable(uint32_t id) const {
  auto it = streams_.find(id);
  if (it == streams_.end() || failure_) return 0;
  const Stream& s = it->second;
  if (!s.headSent || s.localEnded) return 0;
  int64_t n = std::min<int64_t>({s.sendWindow, connSendWindow_, peerMaxFrame_});
  return n > 0 ? static_cast<size_t>(n) : 0;
}

std::optional<size_t> ServerConnection::sendData(uint32_t id, std::string_view payload,
                                                bool endStream, bool splice) {
  if (payload.size() > sendable(id) || failure_) return std::nullopt;
  Stream* s = find(id);
  if (!s || !s->headSent || s->localEnded) return std::nullopt;
  const auto length = static_cast<uint32_t>(payload.size());
  frames::appendDataHeader(out_, id, length, endStream);
  size_t at = out_.size();
  if (!splice) out_.append(payload);
  s->sendWindow -= length;
  connSendWindow_ -= length;
  // Closing may queue frames of its own (a WINDOW_UPDATE): after the payload, never inside.
  if (endStream) {
    s->localEnded = true;
    if (s->remoteEnded) close(id, *s, ErrorCode::NoError);
  }
  return at;
}

void ServerConnection::reset(uint32_t id, ErrorCode code) {
  Stream* s = find(id);
  if (!s || failure_) return;
  frames::appendRstStream(out_, id, code);
  close(id, *s, code);
}

}  // namespace kgate::h2
