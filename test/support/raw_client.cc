#include "raw_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace kgate::test {
namespace {

using Clock = std::chrono::steady_clock;

std::chrono::milliseconds left(Clock::time_point deadline) {
  auto d = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return d.count() > 0 ? d : std::chrono::milliseconds(0);
}

}  // namespace

RawConnection::RawConnection(const std::string& ip, uint16_t port, RawOptions options) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) {
    error_ = "socket failed";
    return;
  }
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  // Before connect: they set the window and the segment size the server sees.
  if (options.receiveBuffer > 0)
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &options.receiveBuffer, sizeof options.receiveBuffer);
  if (options.sendBuffer > 0)
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &options.sendBuffer, sizeof options.sendBuffer);
  if (options.maxSegment > 0)
    ::setsockopt(fd_, IPPROTO_TCP, TCP_MAXSEG, &options.maxSegment, sizeof options.maxSegment);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 && errno != EINPROGRESS) {
    error_ = "connect failed";
    return;
  }
  int soError = 0;
  socklen_t len = sizeof soError;
  if (!waitFor(POLLOUT, options.connectTimeout) ||
      ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &soError, &len) != 0 || soError != 0) {
    error_ = "connect failed";
    return;
  }
  if (!options.tls) return;
  ctx_ = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_verify(ctx_, SSL_VERIFY_NONE, nullptr);
  std::string wire;  // ALPN list: length-prefixed names
  for (const auto& p : options.alpn) wire += static_cast<char>(p.size()) + p;
  if (!wire.empty())
    SSL_CTX_set_alpn_protos(ctx_, reinterpret_cast<const unsigned char*>(wire.data()),
                            static_cast<unsigned>(wire.size()));
  ssl_ = SSL_new(ctx_);
  SSL_set_fd(ssl_, fd_);
  SSL_set_mode(ssl_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  auto deadline = Clock::now() + options.connectTimeout;
  for (;;) {
    int rv = SSL_connect(ssl_);
    if (rv == 1) return;
    int err = SSL_get_error(ssl_, rv);
    short events = err == SSL_ERROR_WANT_READ ? POLLIN : err == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
    if (events == 0 || !waitFor(events, left(deadline))) {
      error_ = "TLS handshake failed";
      ERR_clear_error();
      return;
    }
  }
}

RawConnection::~RawConnection() {
  if (ssl_) SSL_free(ssl_);
  if (ctx_) SSL_CTX_free(ctx_);
  if (fd_ >= 0) ::close(fd_);
}

std::string RawConnection::alpnSelected() const {
  if (!ssl_) return "";
  const unsigned char* p = nullptr;
  unsigned n = 0;
  SSL_get0_alpn_selected(ssl_, &p, &n);
  return std::string(reinterpret_cast<const char*>(p), n);
}

bool RawConnection::waitFor(short events, std::chrono::milliseconds wait) const {
  pollfd p{fd_, events, 0};
  int rv = ::poll(&p, 1, static_cast<int>(wait.count()));
  return rv > 0;
}

bool RawConnection::readSome(std::chrono::milliseconds wait) {
  if (closed_ || !ok()) return false;
  char buf[16384];
  auto deadline = Clock::now() + wait;
  for (;;) {
    short want = POLLIN;
    if (ssl_) {
      ERR_clear_error();
      int rv = SSL_read(ssl_, buf, sizeof buf);
      if (rv > 0) {
        received_.append(buf, static_cast<size_t>(rv));
        return true;
      }
      int err = SSL_get_error(ssl_, rv);
      if (err == SSL_ERROR_WANT_WRITE) want = POLLOUT;
      else if (err != SSL_ERROR_WANT_READ) {
        closed_ = true;  // close_notify, EOF or reset
        return false;
      }
    } else {
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n > 0) {
        received_.append(buf, static_cast<size_t>(n));
        return true;
      }
      if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        closed_ = true;
        return false;
      }
    }
    if (!waitFor(want, left(deadline))) return false;
  }
}

bool RawConnection::send(std::string_view bytes, std::chrono::milliseconds timeout,
                         bool readWhileBlocked) {
  if (!ok()) return false;
  auto deadline = Clock::now() + timeout;
  while (!bytes.empty()) {
    short want = POLLOUT;
    if (ssl_) {
      ERR_clear_error();
      int rv = SSL_write(ssl_, bytes.data(), static_cast<int>(std::min<size_t>(bytes.size(), 1 << 20)));
      if (rv > 0) {
        bytes.remove_prefix(static_cast<size_t>(rv));
        continue;
      }
      int err = SSL_get_error(ssl_, rv);
      if (err == SSL_ERROR_WANT_READ) want = POLLIN;
      else if (err != SSL_ERROR_WANT_WRITE) return false;
    } else {
      ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n > 0) {
        bytes.remove_prefix(static_cast<size_t>(n));
        continue;
      }
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return false;
    }
    if (Clock::now() >= deadline) return false;
    // The peer may be waiting for us to read its answers before it reads more of ours.
    bool alsoRead = readWhileBlocked || want == POLLIN;
    pollfd p{fd_, static_cast<short>(alsoRead ? want | POLLIN : want), 0};
    if (::poll(&p, 1, static_cast<int>(left(deadline).count())) <= 0) return false;
    if (p.revents & (POLLERR | POLLHUP)) return false;
    if (readWhileBlocked && (p.revents & POLLIN) && !closed_) readSome(std::chrono::milliseconds(0));
  }
  return true;
}

bool RawConnection::readUntil(const std::function<bool(const std::string&)>& done,
                              std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    if (done && done(received_)) return true;
    if (closed_ || !ok() || Clock::now() >= deadline) return false;
    readSome(left(deadline));
  }
}

bool RawReply::hasHeaderLine(std::string_view line) const {
  size_t end = bytes.find("\r\n\r\n");
  std::string_view head = std::string_view(bytes).substr(0, end);
  return head.find("\r\n" + std::string(line) + "\r\n") != std::string_view::npos ||
         head.ends_with("\r\n" + std::string(line));
}

RawReply rawExchange(const std::string& ip, uint16_t port, std::string_view bytes,
                     RawOptions options, std::chrono::milliseconds timeout) {
  RawConnection c(ip, port, std::move(options));
  RawReply r;
  if (!c.ok()) {
    r.bytes = "<" + c.error() + ">";
    return r;
  }
  c.send(bytes, timeout);
  r.closed = c.readToClose(timeout);
  r.bytes = c.received();
  return r;
}

}  // namespace kgate::test
