// Transport with records it protects itself (ownRecordsAfterHandshake): after a TLS 1.3
// handshake OpenSSL's SSL object is freed and two certs::TrafficKeys carry the connection. Reads
// take what the socket has (often several records) into one buffer and open records in place.
// Writes seal one record at a time straight from the caller's pieces and send it at once: four
// records per send took more CPU, not less (HTTP/2 1 MiB GETs 1,455 against 1,842 per
// CPU-second). After the handshake only KeyUpdate may come (RFC 8446 section 4.6.3);
// close_notify is the end of input, any other alert an error (section 6).
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <algorithm>
#include <boost/asio/ssl/error.hpp>
#include <cstring>
#include <utility>

#include "gateway/transport.h"

namespace kgate {
namespace {

using certs::Alert;
using certs::RecordType;

// Room for two of the largest records a peer may send: a read takes what has come, and a partial
// record moved to the front still fits whole.
constexpr size_t kInputCapacity = 2 * certs::kMaxRecordSize;
// AES-GCM's safety margin (RFC 8446 section 5.5): a new write key well before 2^24.5 records.
constexpr uint64_t kRecordsPerKey = uint64_t{1} << 24;
constexpr size_t kAlertRecordSize = 2 + certs::kRecordOverhead;

constexpr uint8_t kKeyUpdate = 24;           // HandshakeType key_update
// Records without application data in a row (empty ones, KeyUpdates, warnings) before the peer
// is taken for hostile: each costs a decryption and the reader never waits between them.
// OpenSSL's limits are the same (32 empty records, 32 key updates).
constexpr uint32_t kMaxRecordsWithoutData = 32;

error_code protocolError() { return error_code(EPROTO, boost::system::system_category()); }

size_t recordSizeAt(const uint8_t* p) {
  return certs::kRecordHeaderSize + ((size_t{p[3]} << 8) | p[4]);
}

}  // namespace

void Transport::ownRecordsAfterHandshake() {
  if (ssl_ && SSL_is_server(ssl_) && !watch_ && !SSL_is_init_finished(ssl_))
    watch_ = std::make_unique<certs::RecordWatch>(ssl_);
}

void Transport::adoptRecords() {
  auto keys = watch_->takeOver();  // declined: OpenSSL carries on as before
  watch_.reset();
  if (!keys) return;
  auto own = std::make_unique<OwnRecords>();
  own->read = std::move(keys->read);
  own->write = std::move(keys->write);
  own->alpn = alpn();
  // What the application may still ask about a client certificate, kept as answers.
  if (SSL_get0_peer_certificate(ssl_) != nullptr) {
    own->peerVerified = peerCertificateVerified();
    own->peerName = verifiedPeerName();
    own->peerSummary = peerCertificateSummary();
  }
  // Freed without SSL_shutdown, OpenSSL would take the session for a failed one and drop it
  // from the cache; the connection is not over, only no longer OpenSSL's.
  SSL_set_shutdown(ssl_, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
  SSL_free(ssl_);
  ssl_ = nullptr;
  own_ = std::move(own);
}

bool Transport::ownInputBuffered() const {
  const OwnRecords& r = *own_;
  return r.plainBegin < r.plainEnd || r.end > r.begin || r.inError;
}

// Whether the socket holds a whole record (or the close, or an error), looked at with a peek
// into a small buffer: a connection that sent a fragment so far is not served yet.
bool Transport::ownRecordWaiting() {
  uint8_t look[1024];
  ssize_t got = ::recv(socket_.native_handle(), look, sizeof look, MSG_PEEK | MSG_DONTWAIT);
  if (got < 0) return errno != EAGAIN && errno != EWOULDBLOCK;
  if (got == 0) return true;
  if (static_cast<size_t>(got) < certs::kRecordHeaderSize) return false;
  size_t size = recordSizeAt(look);
  if (size <= static_cast<size_t>(got)) return true;
  int queued = 0;  // a record larger than the look: is it all there?
  return got == sizeof look && ::ioctl(socket_.native_handle(), FIONREAD, &queued) == 0 &&
         static_cast<size_t>(queued) >= size;
}

bool Transport::releaseOwnBuffers() {
  OwnRecords& r = *own_;
  // Input half read or output half sent stays.
  if (r.plainBegin < r.plainEnd || r.end > r.begin || r.outBegin < r.outEnd) return false;
  r.in.reset();
  r.begin = r.end = r.plainBegin = r.plainEnd = 0;
  r.out.reset();
  r.outCapacity = r.outBegin = r.outEnd = 0;
  ++buffersReleased_;
  return true;
}

// Opens the next record if it is all there: true when it did (and took its content, or set
// inError), false when more bytes are needed.
bool Transport::openBufferedRecord() {
  OwnRecords& r = *own_;
  auto fail = [&](Alert alert) {
    r.inError = protocolError();
    sendAlert(alert);
    return true;
  };
  size_t have = r.end - r.begin;
  if (have < certs::kRecordHeaderSize) return false;
  uint8_t* rec = r.in.get() + r.begin;
  size_t size = recordSizeAt(rec);
  if (size > certs::kMaxRecordSize) return fail(Alert::RecordOverflow);
  if (have < size) return false;
  RecordType type;
  size_t plain = 0;
  Alert why;
  if (!r.read->open(rec, size, &type, &plain, &why)) return fail(why);
  size_t at = r.begin + certs::kRecordHeaderSize;
  r.begin += size;
  const uint8_t* content = r.in.get() + at;
  if (type == RecordType::ApplicationData && plain > 0) r.recordsWithoutData = 0;
  else if (++r.recordsWithoutData > kMaxRecordsWithoutData) return fail(Alert::UnexpectedMessage);
  // A handshake message may span records, but nothing else may come between its pieces, and
  // only application data may be empty (RFC 8446 section 5.1).
  if ((!r.handshake.empty() && type != RecordType::Handshake) ||
      (plain == 0 && type != RecordType::ApplicationData))
    return fail(Alert::UnexpectedMessage);
  switch (type) {
    case RecordType::ApplicationData:
      r.plainBegin = at;
      r.plainEnd = at + plain;
      return true;
    case RecordType::Alert: {
      // One whole alert per record; after close_notify there is nothing more to read. Any
      // other alert but user_canceled is fatal (section 6.2): nothing more is sent either.
      if (plain != 2) return fail(Alert::DecodeError);
      auto alert = static_cast<Alert>(content[1]);
      if (alert == Alert::CloseNotify) {
        r.inError = net::error::eof;
      } else if (alert != Alert::UserCanceled) {
        r.inError = protocolError();
        r.alertSent = true;
      }
      return true;
    }
    case RecordType::Handshake: {
      r.handshake.append(reinterpret_cast<const char*>(content), plain);
      const auto* m = reinterpret_cast<const uint8_t*>(r.handshake.data());
      size_t got = r.handshake.size();
      // Only KeyUpdate (type 24, one byte: update_requested or not) may come now, and it ends
      // its record: what follows is under the new key.
      if (m[0] != kKeyUpdate) return fail(Alert::UnexpectedMessage);
      if (got >= 4 && (m[1] != 0 || m[2] != 0 || m[3] != 1)) return fail(Alert::DecodeError);
      if (got > 5) return fail(Alert::UnexpectedMessage);
      if (got < 5) return true;
      if (m[4] > 1) return fail(Alert::IllegalParameter);
      if (!r.read->update()) return fail(Alert::InternalError);
      if (m[4] == 1) r.keyUpdateDue = true;
      r.handshake.clear();
      return true;
    }
  }
  return fail(Alert::UnexpectedMessage);
}

// Reads what the socket has; would_block when nothing, eof when it closed.
error_code Transport::fillInput() {
  OwnRecords& r = *own_;
  if (!r.in) r.in = std::make_unique_for_overwrite<uint8_t[]>(kInputCapacity);
  if (r.begin > 0) {  // keep the partial record, at the front
    std::memmove(r.in.get(), r.in.get() + r.begin, r.end - r.begin);
    r.end -= r.begin;
    r.begin = 0;
  }
  r.plainBegin = r.plainEnd = 0;
  if (hasEarlyInput()) {
    // What the wait read (at most early_'s size: the room after a partial record is larger),
    // alone: records it completes are opened before the socket is read again.
    size_t n = earlyEnd_ - earlyBegin_;
    std::memcpy(r.in.get() + r.end, early_.data() + earlyBegin_, n);
    r.end += n;
    earlyBegin_ = earlyEnd_ = 0;
    r.drained = n < early_.size();
    if (n > 0) return {};
    error_code e = std::exchange(earlyError_, {});
    if (e == net::error::eof) return endOfInput();
    return e;
  }
  size_t room = kInputCapacity - r.end;
  ssize_t got = ::recv(socket_.native_handle(), r.in.get() + r.end, room, 0);
  if (got > 0) {
    r.end += static_cast<size_t>(got);
    r.drained = static_cast<size_t>(got) < room;
    return {};
  }
  if (got == 0) return endOfInput();
  if (errno == EAGAIN || errno == EWOULDBLOCK) {
    r.drained = true;
    return net::error::would_block;
  }
  if (errno == EINTR) return {};
  return error_code(errno, boost::system::system_category());
}

// A FIN without close_notify between records is taken for a close: clients do it all the time,
// a request's own framing tells one cut short, and a client that half-closes after its request
// still gets its response. Within a record, or a KeyUpdate split over records, it is a
// truncation. (OpenSSL's records, kept for TLS 1.2, take either for an error.)
error_code Transport::endOfInput() const {
  const OwnRecords& r = *own_;
  return r.end > r.begin || !r.handshake.empty() ? error_code(net::ssl::error::stream_truncated)
                                                 : net::error::eof;
}

awaitable<std::pair<error_code, size_t>> Transport::readOwn(char* p, size_t n) {
  OwnRecords& r = *own_;
  for (;;) {
    if (closed_) co_return std::pair{error_code(net::error::operation_aborted), size_t{0}};
    if (r.plainBegin < r.plainEnd) {
      size_t take = std::min(n, r.plainEnd - r.plainBegin);
      std::memcpy(p, r.in.get() + r.plainBegin, take);
      r.plainBegin += take;
      bytesRead_ += take;
      co_return std::pair{error_code{}, take};
    }
    if (r.inError) co_return std::pair{r.inError, size_t{0}};
    if (openBufferedRecord()) continue;
    if (cancelled_) co_return std::pair{error_code(net::error::operation_aborted), size_t{0}};
    // After a short read the socket is most likely empty: Asio's read below tries it once before
    // it waits, and a recv of ours first would only find nothing too.
    error_code ec = r.drained && !hasEarlyInput() ? net::error::would_block : fillInput();
    if (ec == net::error::would_block) {
      armBufferRelease();
      auto [e, got] = co_await socket_.async_receive(net::buffer(early_), kUseTuple);
      disarmBufferRelease();
      error_code w = tookEarly(e, got);
      if (!w && (closed_ || cancelled_)) w = net::error::operation_aborted;
      if (w) co_return std::pair{w, size_t{0}};
    } else if (ec) {
      r.inError = ec;
      if (ec == net::ssl::error::stream_truncated) sendAlert(Alert::DecodeError);  // cut short
    }
  }
}

// Seals the next record of `pieces` (consuming what it takes) into out, a KeyUpdate first if one
// is due; out stays empty when there is nothing to send.
bool Transport::sealNext(PieceList pieces) {
  OwnRecords& r = *own_;
  r.outBegin = r.outEnd = 0;
  if (r.alertSent) return false;  // the connection is closing
  if (r.write->sequence() >= kRecordsPerKey) r.keyUpdateDue = true;
  std::array<std::string_view, 16> take{};
  size_t room = certs::kMaxRecordPlaintext, count = 0;
  auto piece = pieces.begin();
  for (; piece != pieces.end() && room > 0 && count + 1 < take.size(); ++piece) {
    if (piece->empty()) continue;
    take[count] = piece->substr(0, room);
    room -= take[count++].size();
  }
  // More pieces than the record takes one by one (many small ones): what fits of the rest is
  // copied together into the last slot.
  if (room > 0 && piece != pieces.end()) {
    take[count] = joinPieces(piece, pieces.end(), room);
    room -= take[count++].size();
  }
  size_t plain = certs::kMaxRecordPlaintext - room;
  if (plain == 0 && !r.keyUpdateDue) return true;
  static constexpr size_t kKeyUpdateRecord = 5 + certs::kRecordOverhead;
  size_t need = plain + certs::kRecordOverhead + kKeyUpdateRecord;
  if (r.outCapacity < need) {
    r.out = std::make_unique_for_overwrite<uint8_t[]>(need);
    r.outCapacity = need;
  }
  if (r.keyUpdateDue) {
    static constexpr char kUpdateNotRequested[] = {kKeyUpdate, 0, 0, 1, 0};
    std::string_view msg(kUpdateNotRequested, sizeof kUpdateNotRequested);
    if (!r.write->seal(RecordType::Handshake, std::span(&msg, 1), r.out.get()) ||
        !r.write->update())
      return false;
    r.outEnd = kKeyUpdateRecord;
    r.keyUpdateDue = false;
  }
  if (plain == 0) return true;
  if (!r.write->seal(RecordType::ApplicationData, std::span(take.data(), count),
                     r.out.get() + r.outEnd))
    return false;
  r.outEnd += plain + certs::kRecordOverhead;
  bytesWritten_ += plain;
  consume(pieces, plain);
  return true;
}

awaitable<error_code> Transport::writeOwn(Pieces three, PieceList list) {
  PieceList pieces = list.empty() ? PieceList(three) : list;
  OwnRecords& r = *own_;
  error_code ec;
  bool failed = false;  // an alert is the last record this write sends
  for (;;) {
    if (closed_) {
      ec = net::error::operation_aborted;
      break;
    }
    if (r.outBegin == r.outEnd) {
      if (failed) {
        ec = protocolError();
        break;
      }
      if (r.alertDue) {
        // The reader failed while this write was under way: its alert goes out as the last
        // record, sent like the others (waiting for room), and the write fails.
        failed = true;
        r.outBegin = r.outEnd = 0;
        if (r.outCapacity < kAlertRecordSize) {
          r.out = std::make_unique_for_overwrite<uint8_t[]>(kAlertRecordSize);
          r.outCapacity = kAlertRecordSize;
        }
        if (sealAlert(*r.alertDue, r.out.get())) r.outEnd = kAlertRecordSize;
        r.alertDue.reset();
        r.alertSent = true;
        continue;
      }
      if (!sealNext(pieces)) {
        // Nothing more may be sent: what sealNext left half made is dropped.
        r.outBegin = r.outEnd = 0;
        r.alertSent = true;
        ec = protocolError();
        break;
      }
      if (r.outEnd == 0) break;
    }
    ssize_t sent = ::send(socket_.native_handle(), r.out.get() + r.outBegin,
                          r.outEnd - r.outBegin, MSG_NOSIGNAL);
    if (sent >= 0) {
      r.outBegin += static_cast<size_t>(sent);
      if (sent > 0) stopSendCountdown();
      continue;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      startSendCountdown();
      ec = co_await waitFor(tcp::socket::wait_write);
      if (ec) break;
    } else if (errno != EINTR) {
      ec = error_code(errno, boost::system::system_category());
      break;
    }
  }
  stopSendCountdown();  // the countdown belongs to this write only
  co_return ec;
}

bool Transport::sealAlert(Alert alert, uint8_t* out) {
  bool closing = alert == Alert::CloseNotify;
  const char body[] = {closing ? '\x01' : '\x02', static_cast<char>(alert)};  // warning / fatal
  std::string_view piece(body, sizeof body);
  return own_->write->seal(RecordType::Alert, std::span(&piece, 1), out);
}

void Transport::sendAlert(Alert alert) {
  OwnRecords& r = *own_;
  // Once: nothing goes after a fatal alert or close_notify. A write under way finishes its
  // record first; then the writer sends a fatal alert (close_notify is for a close, which
  // does not wait for writers).
  if (r.alertSent) return;
  if (r.outBegin != r.outEnd) {
    if (alert != Alert::CloseNotify) r.alertDue = alert;
    return;
  }
  r.alertSent = true;
  r.alertDue.reset();
  uint8_t record[kAlertRecordSize];
  if (!sealAlert(alert, record)) return;
  // Best effort, as SSL_shutdown's: never wait for room.
  [[maybe_unused]] ssize_t sent =
      ::send(socket_.native_handle(), record, sizeof record, MSG_DONTWAIT | MSG_NOSIGNAL);
}

}  // namespace kgate
