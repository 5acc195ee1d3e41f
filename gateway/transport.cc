#include "gateway/transport.h"

#include "certs/tls_context.h"

#include <openssl/err.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <tuple>
#include <utility>

namespace kgate {
namespace {

// What SSL_get_error says to do next: wait for the socket to become readable or writable.
enum Want { kNone = 0, kRead = 1, kWrite = 2 };

std::string takeSslErrors() {
  std::string out;
  char buf[256];
  while (unsigned long e = ERR_get_error()) {
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

// Where a detached transport's (closed) socket object belongs until it is attached: a context
// that outlives every worker, so a transport freed after the worker it left (a hand-over still
// queued at shutdown) names no io_context that is gone. Never run; made once, never freed. Its
// reactor (three descriptors) is made with it, by the first socket: not in a detach() near the
// descriptor limit.
net::any_io_executor parkingExecutor() {
  static net::io_context* const parking = [] {
    auto* context = new net::io_context(1);
    tcp::socket first(*context);
    return context;
  }();
  return parking->get_executor();
}

// SSL_get_error needs the thread's error queue empty before each call. OpenSSL 3.0's
// ERR_clear_error frees 32 string slots whether or not anything is queued (~2k instructions, two
// per HTTP/1.1 request); the queue is nearly always empty, and looking costs ~1/20 of that.
void clearErrors() {
  if (ERR_peek_error() != 0) ERR_clear_error();
}

// Before 3.0.14 SSL_free_buffers could free a record the application had not read yet
// (CVE-2024-4741): there OpenSSL keeps freeing its buffers after every record, as upstream, and
// keepBuffersWhileBusy only frees kgate's own record buffers.
const bool kFreeBuffersIsSafe = OpenSSL_version_num() >= 0x300000e0L;

// The most a TLS record carries. Small writes that fit in one are copied into it (one SSL_write,
// one syscall, one MAC).
constexpr size_t kRecordPayload = 16 * 1024;

}  // namespace

Transport::Transport(tcp::socket socket, bool setNoDelay) : socket_(std::move(socket)) {
  error_code ignored;
  socket_.non_blocking(true, ignored);
  if (setNoDelay) socket_.set_option(tcp::no_delay(true), ignored);
}

Transport::Transport(tcp::socket socket, SSL_CTX* ctx, Role role)
    : Transport(std::move(socket), role == Role::Client) {
  ssl_ = SSL_new(ctx);
  SSL_set_fd(ssl_, socket_.native_handle());
  SSL_set_read_ahead(ssl_, 1);  // fewer read syscalls: whole records, not header then body
  SSL_set_mode(ssl_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                         SSL_MODE_RELEASE_BUFFERS);
  if (role == Role::Server) SSL_set_accept_state(ssl_);
  else SSL_set_connect_state(ssl_);
}

Transport::~Transport() {
  watch_.reset();  // detaches from ssl_
  if (ssl_) SSL_free(ssl_);
  if (detachedFd_ >= 0) ::close(detachedFd_);  // handed over, never taken: as close() would
}

bool Transport::handshakeDone() const {
  return own_ != nullptr || (ssl_ != nullptr && SSL_is_init_finished(ssl_));
}

void Transport::setSendTimeout(Sweeper& sweeper, Clock::duration timeout,
                               std::function<void()> onExpire) {
  sendTimeout_ = timeout;
  sendDeadline_.emplace(sweeper, [this, onExpire = std::move(onExpire)] {
    sendTimedOut_ = true;
    if (onExpire) onExpire();
    // A reset, not a FIN: what is queued would never be read, and an orphaned socket would keep
    // it in kernel memory for minutes. Wakes the blocked writer (and any reader) too.
    if (!closed_) {
      error_code ignored;
      socket_.set_option(net::socket_base::linger(true, 0), ignored);
    }
    close();
  });
}

void Transport::keepBuffersWhileBusy(Sweeper& sweeper, Clock::duration after) {
  if (!isTls()) return;
  if (ssl_ && kFreeBuffersIsSafe) SSL_clear_mode(ssl_, SSL_MODE_RELEASE_BUFFERS);
  bufferReleaseAfter_ = after;
  bufferRelease_.emplace(sweeper, [this] {
    if (!handshakeDone()) return;  // a slow handshake keeps them
    // Refused while the writer is halfway through a record: tried again after the same time.
    if (!releaseBuffers()) bufferRelease_->arm(bufferReleaseAfter_);
  });
}

bool Transport::releaseBuffers() {
  // OpenSSL refuses (returns 0) while a record is half read or half written, or read data
  // waits in the buffer: nothing is lost, the buffers stay.
  if (closed_) return true;
  if (own_) return releaseOwnBuffers();
  if (!ssl_ || !kFreeBuffersIsSafe) return true;
  if (SSL_free_buffers(ssl_) != 1) return false;
  ++buffersReleased_;
  return true;
}

bool Transport::setPeerName(const std::string& host, bool verifyName) {
  if (!ssl_ || host.empty()) return true;
  return certs::setClientPeerName(ssl_, host, verifyName).ok();
}

error_code Transport::sslError(int rc, int* want) {
  *want = kNone;
  int err = SSL_get_error(ssl_, rc);
  switch (err) {
    case SSL_ERROR_WANT_READ: *want = kRead; return {};
    case SSL_ERROR_WANT_WRITE: *want = kWrite; return {};
    case SSL_ERROR_ZERO_RETURN: return net::error::eof;
    case SSL_ERROR_SYSCALL: {
      int e = errno;
      clearErrors();
      // The socket ended with no error of its own to report. (OpenSSL 3 reports a close
      // without close_notify as SSL_ERROR_SSL, "unexpected eof": an error here, whether or not
      // it fell between records, since OpenSSL's option to accept it accepts it inside a
      // record too.)
      if (e == 0) return net::error::eof;
      return error_code(e, boost::system::system_category());
    }
    default:
      clearErrors();
      return error_code(EPROTO, boost::system::system_category());
  }
}

awaitable<error_code> Transport::waitFor(tcp::socket::wait_type type) {
  if (cancelled_ || closed_) co_return net::error::operation_aborted;
  // A read that waits long (a client trickling its head, a quiet stream) holds no buffers.
  bool reading = type == tcp::socket::wait_read;
  if (reading) armBufferRelease();
  auto [ec] = co_await socket_.async_wait(type, kUseTuple);
  if (reading) disarmBufferRelease();
  if (!ec && (closed_ || cancelled_)) ec = net::error::operation_aborted;
  co_return ec;
}

awaitable<error_code> Transport::handshake(std::string* failure) {
  if (!ssl_) co_return error_code{};
  for (;;) {
    if (closed_) co_return net::error::operation_aborted;
    clearErrors();
    int rc = SSL_do_handshake(ssl_);
    if (rc == 1) {
      if (watch_) adoptRecords();
      co_return error_code{};
    }
    int sslErr = SSL_get_error(ssl_, rc);
    if (sslErr == SSL_ERROR_WANT_READ || sslErr == SSL_ERROR_WANT_WRITE) {
      auto ec = co_await waitFor(sslErr == SSL_ERROR_WANT_READ ? tcp::socket::wait_read
                                                                : tcp::socket::wait_write);
      if (ec) co_return ec;
      continue;
    }
    if (failure) {
      *failure = takeSslErrors();
      long verify = SSL_get_verify_result(ssl_);
      if (verify != X509_V_OK) {
        if (!failure->empty()) *failure += "; ";
        *failure += "certificate verify: ";
        *failure += X509_verify_cert_error_string(verify);
      }
      if (failure->empty()) *failure = sslErr == SSL_ERROR_SYSCALL ? "connection closed" : "handshake failed";
    }
    clearErrors();
    co_return error_code(EPROTO, boost::system::system_category());
  }
}

std::string Transport::alpn() const {
  if (own_) return own_->alpn;
  if (!ssl_) return {};
  const unsigned char* p = nullptr;
  unsigned int n = 0;
  SSL_get0_alpn_selected(ssl_, &p, &n);
  return p ? std::string(reinterpret_cast<const char*>(p), n) : std::string();
}

bool Transport::peerCertificateVerified() const {
  if (own_) return own_->peerVerified;
  return ssl_ && SSL_get0_peer_certificate(ssl_) != nullptr &&
         SSL_get_verify_result(ssl_) == X509_V_OK;
}

namespace {
std::string nameCN(const X509_NAME* name) {
  char buf[256] = {0};
  if (!name || X509_NAME_get_text_by_NID(const_cast<X509_NAME*>(name), NID_commonName, buf,
                                         sizeof buf) < 0)
    return "-";
  return buf;
}
}  // namespace

std::string Transport::peerCertificateSummary() const {
  if (own_) return own_->peerSummary.empty() ? "no certificate, TLSv1.3" : own_->peerSummary;
  if (!ssl_) return "no TLS";
  X509* cert = SSL_get0_peer_certificate(ssl_);
  if (!cert) return std::string("no certificate, ") + SSL_get_version(ssl_);
  return "CN=" + nameCN(X509_get_subject_name(cert)) + ", issued by CN=" +
         nameCN(X509_get_issuer_name(cert)) + ", " + SSL_get_version(ssl_);
}

std::string Transport::verifiedPeerName() const {
  if (own_) return own_->peerName;
  if (!peerCertificateVerified()) return {};
  return nameCN(X509_get_subject_name(SSL_get0_peer_certificate(ssl_)));
}

awaitable<std::pair<error_code, size_t>> Transport::readOpenSsl(char* p, size_t n) {
  for (;;) {
    if (closed_) co_return std::pair{error_code(net::error::operation_aborted), size_t{0}};
    if (!ssl_) {
      // Asio's own read: queued on the edge-triggered registration without the epoll_ctl an
      // async_wait costs.
      if (cancelled_) co_return std::pair{error_code(net::error::operation_aborted), size_t{0}};
      if (earlyBegin_ < earlyEnd_) {
        size_t take = std::min<size_t>(n, earlyEnd_ - earlyBegin_);
        std::memcpy(p, early_.data() + earlyBegin_, take);
        earlyBegin_ += static_cast<uint16_t>(take);
        bytesRead_ += take;
        co_return std::pair{error_code{}, take};
      }
      if (earlyError_) co_return std::pair{std::exchange(earlyError_, {}), size_t{0}};
      auto [ec, got] = co_await socket_.async_read_some(net::buffer(p, n), kUseTuple);
      // Bytes the read took before a cancel are the caller's: a cancelled HTTP/1.1 body read
      // is followed by more reads on the same connection (h1::ServerConnection::run). After a
      // close nothing follows: an aborted exchange must not take a late response for one.
      if (closed_) ec = net::error::operation_aborted, got = 0;
      else if (cancelled_ && got == 0) ec = net::error::operation_aborted;
      bytesRead_ += got;
      co_return std::pair{ec, got};
    }
    size_t got = 0;
    clearErrors();
    int rc = SSL_read_ex(ssl_, p, n, &got);
    if (rc == 1) {
      bytesRead_ += got;
      co_return std::pair{error_code{}, got};
    }
    int want;
    error_code ec = sslError(rc, &want);
    if (ec) co_return std::pair{ec, size_t{0}};
    if (auto w = co_await waitFor(want == kRead ? tcp::socket::wait_read : tcp::socket::wait_write))
      co_return std::pair{w, size_t{0}};
  }
}

void Transport::consume(PieceList pieces, size_t n) {
  for (auto& p : pieces) {
    size_t take = std::min(n, p.size());
    p.remove_prefix(take);
    n -= take;
  }
}

std::string_view Transport::joinPieces(PieceList::iterator from, PieceList::iterator end,
                                       size_t limit) {
  thread_local std::string scratch;
  scratch.clear();
  for (; from != end && scratch.size() < limit; ++from)
    scratch.append(from->substr(0, limit - scratch.size()));
  return scratch;
}

// Each record OpenSSL makes leaves in a send of its own, through the socket BIO. Gathering a
// large write's records into one 64 KiB send (tls_gather, until 2026-11-27) saved three syscalls
// and TCP pushes in four, for one more copy of every byte. On the bench machine (kernel 6.18, AES
// with VAES) it cost more than it saved, and corking the socket instead (big segments, no copy)
// cost the same: HTTP/2 1 MiB GETs 1,270 -> 1,610 per CPU-second with records sent as made.
awaitable<error_code> Transport::writeTls(Pieces three, PieceList list) {
  PieceList pieces = list.empty() ? PieceList(three) : list;
  error_code ec;
  for (;;) {
    // Whole records straight from a piece that fills them; otherwise the next pieces joined into
    // one record's worth (made again, the same, when a write is retried after a wait: SSL_write
    // encrypts them at once).
    auto first = std::find_if(pieces.begin(), pieces.end(), [](auto p) { return !p.empty(); });
    if (first == pieces.end()) break;
    std::string_view data = *first;
    if (data.size() < kRecordPayload && std::next(first) != pieces.end())
      data = joinPieces(first, pieces.end(), kRecordPayload);
    if (closed_) {
      ec = net::error::operation_aborted;
      break;
    }
    size_t put = 0;
    clearErrors();
    int rc = SSL_write_ex(ssl_, data.data(), data.size(), &put);
    if (rc == 1) {
      bytesWritten_ += put;
      consume(pieces, put);
      stopSendCountdown();
      continue;
    }
    int want;
    ec = sslError(rc, &want);
    if (ec) break;
    startSendCountdown();
    ec = co_await waitFor(want == kRead ? tcp::socket::wait_read : tcp::socket::wait_write);
    if (ec) break;
  }
  stopSendCountdown();  // the countdown belongs to this write only
  co_return ec;
}

namespace {
// One writev of the first 64 non-empty pieces: bytes written, -1 (errno set), or 0 with `none`
// when no piece has bytes. A plain function, so its 1 KiB iovec array lives on the stack rather
// than in the calling coroutine's frame (and goes uninitialised).
ssize_t writevPieces(int fd, std::span<const std::string_view> pieces, bool& none) {
  std::array<iovec, 64> iov;
  int cnt = 0;
  for (auto p : pieces) {
    if (p.empty()) continue;
    if (cnt == static_cast<int>(iov.size())) break;
    iov[cnt].iov_base = const_cast<char*>(p.data());
    iov[cnt].iov_len = p.size();
    ++cnt;
  }
  none = cnt == 0;
  return none ? 0 : ::writev(fd, iov.data(), cnt);
}
}  // namespace

awaitable<error_code> Transport::writePlain(Pieces three, PieceList list) {
  PieceList pieces = list.empty() ? PieceList(three) : list;
  error_code ec;
  while (!ec) {
    if (closed_) {
      bool none = std::all_of(pieces.begin(), pieces.end(), [](auto p) { return p.empty(); });
      if (!none) ec = net::error::operation_aborted;
      break;
    }
    bool none = false;
    ssize_t n = writevPieces(socket_.native_handle(), pieces, none);
    if (none) break;
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        startSendCountdown();
        ec = co_await waitFor(tcp::socket::wait_write);
      } else if (errno != EINTR) {
        ec = error_code(errno, boost::system::system_category());
      }
      continue;
    }
    bytesWritten_ += static_cast<size_t>(n);
    if (n > 0) stopSendCountdown();
    consume(pieces, static_cast<size_t>(n));
  }
  stopSendCountdown();  // the countdown belongs to this write only
  co_return ec;
}

awaitable<error_code> Transport::waitReadable(bool lookFirst) {
  if (hasBufferedInput()) co_return error_code{};
  if (cancelled_ || closed_) co_return net::error::operation_aborted;
  if (lookFirst && lookForInput()) co_return error_code{};
  // waitFor()'s body, not a call to it: every idle connection waits here, and each coroutine
  // level is a frame it holds for as long as it is idle.
  armBufferRelease();
  error_code ec;
  if (ssl_) {
    std::tie(ec) = co_await socket_.async_wait(tcp::socket::wait_read, kUseTuple);
  } else {
    auto [e, got] = co_await socket_.async_receive(net::buffer(early_), kUseTuple);
    ec = tookEarly(e, got);
  }
  disarmBufferRelease();
  if (!ec && (closed_ || cancelled_)) ec = net::error::operation_aborted;
  co_return ec;
}

error_code Transport::tookEarly(error_code ec, size_t got) {
  earlyBegin_ = 0;
  earlyEnd_ = static_cast<uint16_t>(got);
  if (ec == net::error::operation_aborted) return ec;
  if (ec) earlyError_ = ec;  // the socket is readable: the next read reports it
  return {};
}

bool Transport::hasBufferedInput() const {
  if (hasEarlyInput()) return true;
  if (own_) return ownInputBuffered();
  return ssl_ && SSL_has_pending(ssl_) == 1;
}

bool Transport::lookForInput() {
  if (closed_) return true;  // the next read fails at once
  if (hasBufferedInput()) return true;
  if (own_) return ownRecordWaiting();  // a peek: what it sees stays for the next read
  if (!ssl_) return false;
  char byte;
  size_t got = 0;
  clearErrors();
  int rc = SSL_peek_ex(ssl_, &byte, 1, &got);
  // Anything but "nothing yet" is for the next read: data, close_notify, a reset, an error.
  return rc == 1 || SSL_get_error(ssl_, rc) != SSL_ERROR_WANT_READ;
}

void Transport::cancel() {
  cancelled_ = true;
  error_code ignored;
  socket_.cancel(ignored);
}

void Transport::close(bool graceful) {
  if (closed_) return;
  closed_ = true;
  if (graceful && own_) sendAlert(certs::Alert::CloseNotify);
  if (graceful && ssl_ && SSL_is_init_finished(ssl_)) {
    clearErrors();
    SSL_shutdown(ssl_);  // best effort: queue close_notify, never wait for the peer's
    clearErrors();
  }
  // close() alone sends the FIN (or the reset, with unread input or linger 0) a shutdown()
  // before it would: nothing else holds the descriptor.
  error_code ignored;
  socket_.close(ignored);
}

void Transport::prepareMoves() { parkingExecutor(); }

bool Transport::detach() {
  if (closed_ || detachedFd_ >= 0) return false;
  sendDeadline_.reset();
  bufferRelease_.reset();
  error_code ec;
  tcp::endpoint local = socket_.local_endpoint(ec);
  if (!ec) detachedProtocol_ = local.protocol();
  int fd = ec ? -1 : socket_.release(ec);
  if (ec || fd < 0) {
    close();
    return false;
  }
  detachedFd_ = fd;
  socket_ = tcp::socket(parkingExecutor());
  return true;
}

error_code Transport::attach(const net::any_io_executor& ex) {
  tcp::socket socket(ex);
  error_code ec;
  socket.assign(detachedProtocol_, detachedFd_, ec);
  if (ec) return ec;  // the descriptor stays ours, closed with the transport
  detachedFd_ = -1;
  // Asio forgets on release() that the socket was made non-blocking; the descriptor still is.
  socket.non_blocking(true, ec);
  socket_ = std::move(socket);
  return ec;
}

awaitable<void> Transport::lingeringClose(size_t maxBytes) {
  if (closed_) co_return;
  if (own_) sendAlert(certs::Alert::CloseNotify);
  if (ssl_ && SSL_is_init_finished(ssl_)) {
    clearErrors();
    SSL_shutdown(ssl_);
    clearErrors();
  }
  error_code ec;
  socket_.shutdown(tcp::socket::shutdown_send, ec);
  char scratch[16384];
  size_t dropped = 0;
  while (!ec && !closed_ && dropped < maxBytes) {
    // Raw bytes: under TLS they are records nobody will decrypt.
    size_t n = socket_.read_some(net::buffer(scratch), ec);
    if (ec == net::error::would_block || ec == net::error::try_again) {
      ec = co_await waitFor(tcp::socket::wait_read);
      continue;
    }
    dropped += n;
  }
  close();
}

std::string Transport::remoteIp() const {
  error_code ec;
  auto ep = socket_.remote_endpoint(ec);
  return ec ? std::string("-") : ep.address().to_string();
}

}  // namespace kgate
