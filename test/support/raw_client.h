// A raw client connection for bytes no well-behaved client sends: plain TCP, or TLS with the
// ALPN protocols of the test's choosing (the certificate is not checked). Every wait is bounded;
// a send that the peer does not take keeps reading what the peer sends meanwhile (unless told
// not to), so two sides that both write cannot deadlock.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

struct ssl_st;
struct ssl_ctx_st;

namespace kgate::test {

struct RawOptions {
  bool tls = false;
  std::vector<std::string> alpn{};  // offered in order (TLS only), e.g. {"h2"}
  std::chrono::milliseconds connectTimeout = std::chrono::seconds(10);
  // SO_RCVBUF, SO_SNDBUF and TCP_MAXSEG in bytes (0: the kernel's defaults). Small ones make a
  // client that does not read push back on the server within kilobytes (the server's send
  // buffer is sized from the segment size, 64 KiB on loopback, which lets it take megabytes),
  // and keep its own sends from running far ahead of what the server has read.
  int receiveBuffer = 0;
  int sendBuffer = 0;
  int maxSegment = 0;
};

class RawConnection {
 public:
  // Connects (and completes the TLS handshake); ok() says whether that worked.
  RawConnection(const std::string& ip, uint16_t port, RawOptions options = {});
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool ok() const { return fd_ >= 0 && error_.empty(); }
  const std::string& error() const { return error_; }
  std::string alpnSelected() const;

  // Sends everything (false if the peer closed or reset first, or at the timeout). While the
  // peer takes nothing, what it sends is read and kept in received(); with readWhileBlocked
  // false nothing is read (a client that never reads its answers).
  bool send(std::string_view bytes, std::chrono::milliseconds timeout = std::chrono::seconds(10),
            bool readWhileBlocked = true);
  // Reads until `done(received())` holds, the peer closes, or `timeout` passes; true if `done`
  // held. A null `done` reads until the close.
  bool readUntil(const std::function<bool(const std::string&)>& done,
                 std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Reads until the peer closes; true if it did within `timeout`.
  bool readToClose(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    readUntil(nullptr, timeout);
    return closed_;
  }

  const std::string& received() const { return received_; }
  // Drops the first n received bytes (for parsers that consume as they go).
  void consume(size_t n) { received_.erase(0, n); }
  // The peer closed (EOF or reset) its side.
  bool closed() const { return closed_; }

 private:
  // One read of what is available; false when nothing came within `wait`.
  bool readSome(std::chrono::milliseconds wait);
  // Waits for `events` on the socket; also true when the socket has an error or hang-up.
  bool waitFor(short events, std::chrono::milliseconds wait) const;

  int fd_ = -1;
  ssl_ctx_st* ctx_ = nullptr;
  ssl_st* ssl_ = nullptr;
  std::string error_;
  std::string received_;
  bool closed_ = false;
};

struct RawReply {
  std::string bytes;   // everything the server sent
  bool closed = false; // the server closed the connection (within the timeout)
  // "HTTP/1.1 400" and the like: the start of the first status line.
  std::string statusLine() const { return bytes.substr(0, 12); }
  // Whether the response head carries this exact line (e.g. "connection: close").
  bool hasHeaderLine(std::string_view line) const;
};

// Connects, sends `bytes` and reads until the server closes or `timeout` passes.
RawReply rawExchange(const std::string& ip, uint16_t port, std::string_view bytes,
                     RawOptions options = {},
                     std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace kgate::test
