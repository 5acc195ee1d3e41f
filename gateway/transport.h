// A connection's byte stream: a non-blocking TCP socket, with OpenSSL driven directly on its
// file descriptor when TLS is on. Readiness comes from Asio (a small read, or async_wait under
// OpenSSL), bytes move with recv/writev or SSL_read/SSL_write. Compared with asio::ssl::stream
// this keeps no per-connection copy buffers (it allocates 2 x 17 KiB each), avoids a memory-BIO
// copy of every byte, and lets an idle connection hold no heap buffer (keepBuffersWhileBusy,
// waitReadable()). Each record OpenSSL makes leaves in a send of its own (see writeTls in
// transport.cc for why not gathered). Downstream TLS 1.3 connections go further
// (ownRecordsAfterHandshake): OpenSSL does the handshake, then its connection object is freed
// and kgate seals and opens the records itself.
#pragma once

#include <openssl/ssl.h>

#include <array>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "certs/tls13_records.h"
#include "gateway/asio.h"
#include "gateway/deadline.h"

namespace kgate {

class Transport {
 public:
  enum class Role { Server, Client };

  // An accepted socket inherits TCP_NODELAY from its listener (bindAcceptor sets it), so only
  // connected ones (setNoDelay, Role::Client) pay a setsockopt for it.
  explicit Transport(tcp::socket socket, bool setNoDelay = true);  // plain TCP
  Transport(tcp::socket socket, SSL_CTX* ctx, Role role);           // TLS
  ~Transport();
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  // Downstream connections: a write that makes no progress for `timeout` (a client that stopped
  // reading) resets the connection, so the writer fails instead of waiting for ever. onExpire
  // runs inside the sweep, before the reset (for counting).
  void setSendTimeout(Sweeper& sweeper, Clock::duration timeout,
                      std::function<void()> onExpire = {});
  bool sendTimedOut() const { return sendTimedOut_; }
  // TLS, downstream connections: OpenSSL keeps its record buffers (about 2 x 17 KiB) while the
  // connection is busy, and they are freed once a wait for input has lasted `after`: an idle
  // keep-alive connection, an HTTP/2 session with nothing to do, a client sending slowly.
  // Freeing them after every record instead (SSL_MODE_RELEASE_BUFFERS, still the mode of
  // upstream connections) cost two large allocations per HTTP/1.1 request.
  void keepBuffersWhileBusy(Sweeper& sweeper, Clock::duration after);
  // Frees OpenSSL's record buffers now; false if they hold something (then they stay).
  bool releaseBuffers();
  uint64_t buffersReleased() const { return buffersReleased_; }  // times they were freed

  // Server side, before handshake(): if the handshake ends in TLS 1.3, the transport protects the
  // records itself from then on and frees OpenSSL's connection object (certs/tls13_records.h);
  // what a client certificate said stays answered. Otherwise nothing changes.
  void ownRecordsAfterHandshake();
  bool ownsRecords() const { return own_ != nullptr; }

  bool isTls() const { return ssl_ != nullptr || own_ != nullptr; }
  SSL* nativeHandle() const { return ssl_; }  // OpenSSL's connection, if it still has one
  tcp::socket& socket() { return socket_; }
  net::any_io_executor executor() { return socket_.get_executor(); }

  // Client side, before handshake(): SNI for a host name (never an IP literal, RFC 6066) and,
  // when verifyName, the name or IP the peer's certificate must carry.
  bool setPeerName(const std::string& host, bool verifyName);
  // TLS handshake (no-op for plain TCP). On failure, the message says why (for logs).
  awaitable<error_code> handshake(std::string* failure = nullptr);
  std::string alpn() const;  // protocol chosen by ALPN, "" if none
  // The peer presented a certificate and it verified against the context's trust anchors.
  bool peerCertificateVerified() const;
  // "CN=<subject CN>, issued by CN=<issuer CN>, <TLS version>" of the peer, for diagnostics.
  std::string peerCertificateSummary() const;
  // The subject CN of a verified peer certificate ("" when none or unverified).
  std::string verifiedPeerName() const;

  // Reads what is available, up to n bytes (waits if nothing is). eof on orderly close.
  awaitable<std::pair<error_code, size_t>> readSome(char* p, size_t n) {
    return own_ ? readOwn(p, n) : readOpenSsl(p, n);
  }
  // Writes all pieces, in order (one writev; over TLS small pieces are coalesced into one record).
  // Not a coroutine itself: the write's only frame is the one of the coroutine it returns.
  awaitable<error_code> writeAll(std::string_view a, std::string_view b = {},
                                 std::string_view c = {}) {
    if (own_) return writeOwn({a, b, c});
    return ssl_ ? writeTls({a, b, c}) : writePlain({a, b, c});
  }
  // The same for any number of pieces, which it consumes: the caller keeps the list (and the
  // bytes) until the write completes.
  awaitable<error_code> writeGather(std::span<std::string_view> pieces) {
    if (own_) return writeOwn({}, pieces);
    return ssl_ ? writeTls({}, pieces) : writePlain({}, pieces);
  }
  // Waits until there is input, without holding any heap buffer (for idle keep-alive
  // connections); on sockets kgate reads itself the wait reads up to 1 KiB, kept for the next
  // read. lookFirst (TLS): look before waiting, for where input is likely there already (a
  // client's first bytes usually travel with its Finished); a wait costs a syscall, a pass
  // through epoll_wait and a coroutine switch, a miss one peek. What the look or the wait
  // finds, an error or the peer's close included, stays for the next read to report.
  awaitable<error_code> waitReadable(bool lookFirst = false);
  // Bytes read from the socket but not consumed: TLS records, or what a wait for input read.
  bool hasBufferedInput() const;
  // Whether a read would find something without waiting: buffered bytes, or (TLS) what one
  // read of the socket finds, kept for the next read as waitReadable's look does. Plain TCP's
  // socket is not looked at: false unless closed or bytes are buffered.
  bool lookForInput();

  // Completes pending waits with operation_aborted, and makes every wait fail the same way
  // until clearCancel(): a wait whose readiness was already queued cannot slip through.
  void cancel();
  void clearCancel() { cancelled_ = false; }
  // Closes the socket; pending and later operations fail. graceful sends TLS close_notify.
  void close(bool graceful = false);
  // Closing while the peer is still sending (a refused upload) would make the kernel answer
  // its bytes with a reset, which can destroy the response it has not read yet. Instead: stop
  // sending (FIN), read and drop what still comes for a while, then close. The caller bounds
  // the time (cancel() or close() from a deadline ends it).
  awaitable<void> lingeringClose(size_t maxBytes);
  bool isOpen() const { return !closed_; }

  // Moving to another worker (ConnectionBalancer), between the handshake and the first read, on
  // the thread it leaves: drops the deadlines that tie it to this worker's sweeper (set them
  // again where it goes) and takes the socket out of this worker's reactor; the descriptor
  // stays open, held here. False if the socket is closed: nothing to move.
  bool detach();
  // Before any detach(), e.g. as the workers are set up: makes what detached transports need
  // (it would otherwise be made by the first detach, and could fail there for descriptors).
  static void prepareMoves();
  // On the thread of the worker it joins: the socket goes into that worker's reactor.
  error_code attach(const net::any_io_executor& ex);

  std::string remoteIp() const;
  uint64_t bytesRead() const { return bytesRead_; }
  uint64_t bytesWritten() const { return bytesWritten_; }

 private:
  awaitable<error_code> waitFor(tcp::socket::wait_type type);
  // Sockets whose bytes kgate reads itself (own records, plain TCP) wait for input with a small
  // read into early_ instead of async_wait: Asio tries such a read at once and then queues it on
  // the edge-triggered registration as it stands, where an async_wait re-arms it with an
  // epoll_ctl every time (HTTPS HTTP/1.1 small requests: +2.8% per CPU-second; a recv that
  // finds nothing is the cheaper syscall). Reads take early_'s bytes first; tookEarly() files
  // what the wait's read brought.
  error_code tookEarly(error_code ec, size_t got);
  bool hasEarlyInput() const { return earlyBegin_ < earlyEnd_ || earlyError_; }
  // A write has to wait for the peer: start the send countdown unless it already runs.
  void startSendCountdown() {
    if (sendDeadline_ && !sendDeadline_->armed()) sendDeadline_->arm(sendTimeout_);
  }
  // Bytes moved: the countdown starts again at the next wait.
  void stopSendCountdown() {
    if (sendDeadline_) sendDeadline_->disarm();
  }
  // Around every wait for input (keepBuffersWhileBusy).
  void armBufferRelease() {
    if (bufferRelease_) bufferRelease_->arm(bufferReleaseAfter_);
  }
  void disarmBufferRelease() {
    if (bufferRelease_) bufferRelease_->disarm();
  }
  // A write's pieces: writeAll's three, kept in the write's own coroutine frame (so writeAll
  // needs no frame of its own to hold them), or writeGather's list when `list` is not empty.
  using Pieces = std::array<std::string_view, 3>;
  using PieceList = std::span<std::string_view>;
  // Drops the first n bytes of the pieces taken as one sequence.
  static void consume(PieceList pieces, size_t n);
  // What fits in `limit` bytes of the pieces from `from` on, copied together into this thread's
  // scratch (valid until the next call on the thread: callers use it before they wait).
  static std::string_view joinPieces(PieceList::iterator from, PieceList::iterator end,
                                     size_t limit);
  awaitable<error_code> writeTls(Pieces three, PieceList list = {});
  awaitable<error_code> writePlain(Pieces three, PieceList list = {});
  awaitable<std::pair<error_code, size_t>> readOpenSsl(char* p, size_t n);  // and plain TCP
  error_code sslError(int rc, int* want);
  bool handshakeDone() const;

  // Records kgate protects itself (ownRecordsAfterHandshake); transport_records.cc.
  struct OwnRecords {
    std::unique_ptr<certs::TrafficKey> read, write;
    std::string alpn;
    bool peerVerified = false;             // peerCertificateVerified() at the handshake's end
    std::string peerName, peerSummary;     // verifiedPeerName(), peerCertificateSummary()
    // Bytes from the socket: [begin, end) not yet opened; an opened record's plaintext, not yet
    // taken, is [plainBegin, plainEnd). Allocated when needed, freed when idle.
    std::unique_ptr<uint8_t[]> in;
    size_t begin = 0, end = 0, plainBegin = 0, plainEnd = 0;
    error_code inError;  // for every later read: eof after close_notify, or why input failed
    // The last read from the socket came back short (or empty): it held no more then, so the
    // next read goes straight to Asio's wait (readOwn).
    bool drained = false;
    std::string handshake;  // a post-handshake message's first bytes, until it is whole
    uint32_t recordsWithoutData = 0;  // in a row (kMaxRecordsWithoutData)
    // A sealed record (a KeyUpdate before it at times), [outBegin, outEnd) still to be sent.
    std::unique_ptr<uint8_t[]> out;
    size_t outCapacity = 0, outBegin = 0, outEnd = 0;
    bool keyUpdateDue = false;  // the peer updated its keys and asked us to update ours
    bool alertSent = false;     // close_notify or a fatal alert: nothing more is sent
    std::optional<certs::Alert> alertDue;  // for the writer to send once its record is out
  };
  void adoptRecords();
  awaitable<std::pair<error_code, size_t>> readOwn(char* p, size_t n);
  awaitable<error_code> writeOwn(Pieces three, PieceList list = {});
  bool openBufferedRecord();
  error_code fillInput();
  error_code endOfInput() const;
  bool sealNext(PieceList pieces);
  void sendAlert(certs::Alert alert);
  bool sealAlert(certs::Alert alert, uint8_t* out);
  bool ownRecordWaiting();
  bool ownInputBuffered() const;
  bool releaseOwnBuffers();

  tcp::socket socket_;
  SSL* ssl_ = nullptr;
  std::unique_ptr<certs::RecordWatch> watch_;  // during the handshake only
  std::unique_ptr<OwnRecords> own_;            // after it, instead of ssl_
  bool closed_ = false;
  bool cancelled_ = false;
  uint64_t bytesRead_ = 0;
  uint64_t bytesWritten_ = 0;
  std::optional<Deadline> sendDeadline_;
  Clock::duration sendTimeout_{};
  std::optional<Deadline> bufferRelease_;  // keepBuffersWhileBusy()
  Clock::duration bufferReleaseAfter_{};
  uint64_t buffersReleased_ = 0;
  bool sendTimedOut_ = false;
  std::array<char, 1024> early_;  // most requests' first records fit
  uint16_t earlyBegin_ = 0, earlyEnd_ = 0;
  error_code earlyError_;  // the peer's close or a reset that read met, for the read after it
  int detachedFd_ = -1;    // between detach() and attach()
  tcp detachedProtocol_ = tcp::v4();
};

}  // namespace kgate
