// Benchmark helper for what wrk and h2load cannot measure:
//   handshakes HOST PORT SECONDS CONCURRENCY  full TLS handshakes, each on a new connection,
//                                             with session tickets and caching off; exits 2 if
//                                             any handshake was resumed. Prints "handshakes N".
//   idle HOST PORT COUNT [h1|h2]              opens COUNT TLS connections, completes their
//                                             handshakes, prints "ready N", and holds them
//                                             until stdin closes. With h1 (ALPN http/1.1) or
//                                             h2 (ALPN h2), each first sends one GET / and reads
//                                             the answer: an idle keep-alive connection, not
//                                             one still due its first request.
// Plain POSIX sockets and OpenSSL: a load tool must not share code with what it measures.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

int connectTo(const char* host, int port, bool nonblocking) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, host, &a.sin_addr);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  if (nonblocking) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  return fd;
}

SSL_CTX* clientContext() {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
  SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
  SSL_CTX_set_ciphersuites(ctx, "TLS_AES_128_GCM_SHA256");
  return ctx;
}

int handshakes(const char* host, int port, int seconds, int concurrency) {
  std::atomic<long> done{0}, resumed{0}, failed{0};
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  std::vector<std::thread> threads;
  for (int t = 0; t < concurrency; ++t) {
    threads.emplace_back([&] {
      SSL_CTX* ctx = clientContext();
      while (std::chrono::steady_clock::now() < until) {
        int fd = connectTo(host, port, false);
        if (fd < 0) {
          ++failed;
          continue;
        }
        SSL* ssl = SSL_new(ctx);
        SSL_set_fd(ssl, fd);
        if (SSL_connect(ssl) == 1) {
          ++done;
          if (SSL_session_reused(ssl)) ++resumed;
        } else {
          ++failed;
          ERR_clear_error();
        }
        SSL_shutdown(ssl);
        SSL_free(ssl);
        close(fd);
      }
      SSL_CTX_free(ctx);
    });
  }
  for (auto& t : threads) t.join();
  std::printf("handshakes %ld\nresumed %ld\nfailed %ld\n", done.load(), resumed.load(),
              failed.load());
  return resumed ? 2 : 0;
}

// Writes all of data (the socket is non-blocking; the requests are small).
bool sslWriteAll(SSL* ssl, const std::string& data) {
  size_t off = 0;
  for (int tries = 0; off < data.size() && tries < 1000; ++tries) {
    size_t put = 0;
    if (SSL_write_ex(ssl, data.data() + off, data.size() - off, &put) == 1) off += put;
    else usleep(1000);
  }
  return off == data.size();
}

// Reads and drops what the server sent, until it has been quiet for 200 ms (at most 3 s).
void drainAnswers(std::vector<SSL*>& ssls) {
  char buf[16384];
  auto last = std::chrono::steady_clock::now();
  auto start = last;
  for (;;) {
    bool got = false;
    for (SSL* ssl : ssls) {
      size_t n = 0;
      while (SSL_read_ex(ssl, buf, sizeof buf, &n) == 1) got = true;
      ERR_clear_error();
    }
    auto now = std::chrono::steady_clock::now();
    if (got) last = now;
    if (now - last > std::chrono::milliseconds(200) || now - start > std::chrono::seconds(3)) break;
    usleep(2000);
  }
}

int idle(const char* host, int port, int count, const std::string& proto) {
  rlimit r{};
  getrlimit(RLIMIT_NOFILE, &r);
  r.rlim_cur = r.rlim_max;
  setrlimit(RLIMIT_NOFILE, &r);
  SSL_CTX* ctx = clientContext();
  if (proto == "h1") SSL_CTX_set_alpn_protos(ctx, reinterpret_cast<const unsigned char*>("\x08http/1.1"), 9);
  if (proto == "h2") SSL_CTX_set_alpn_protos(ctx, reinterpret_cast<const unsigned char*>("\x02h2"), 3);
  struct Conn {
    int fd;
    SSL* ssl;
    bool ready;
  };
  std::vector<Conn> conns;
  int ready = 0;
  // Connect in batches so the server's accept backlog never overflows.
  for (int i = 0; i < count; ++i) {
    int fd = connectTo(host, port, true);
    if (fd < 0) {
      std::fprintf(stderr, "connect %d failed: %s\n", i, std::strerror(errno));
      break;
    }
    SSL* ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    SSL_set_connect_state(ssl);
    conns.push_back({fd, ssl, false});
    if (conns.size() % 200 == 0 || i + 1 == count) {
      // Drive pending handshakes until this batch is done.
      for (int rounds = 0; rounds < 2000; ++rounds) {
        bool pending = false;
        for (auto& c : conns) {
          if (c.ready) continue;
          int rc = SSL_do_handshake(c.ssl);
          if (rc == 1) {
            c.ready = true;
            ++ready;
          } else {
            int e = SSL_get_error(c.ssl, rc);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) pending = true;
            else c.ready = true;  // failed: stop driving it
          }
        }
        if (!pending) break;
        usleep(1000);
      }
    }
  }
  if (!proto.empty()) {
    std::string request;
    if (proto == "h1") {
      request = "GET / HTTP/1.1\r\nHost: bench\r\n\r\n";
    } else {
      // Preface, empty SETTINGS, HEADERS (END_STREAM|END_HEADERS, stream 1) for GET / with
      // :authority bench, in HPACK static-table indexes and one literal.
      request = std::string("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24) + std::string("\0\0\0\4\0\0\0\0\0", 9);
      std::string block = "\x82\x87\x84\x41\x05" "bench";
      request += std::string("\0\0", 2) + char(block.size()) + std::string("\1\5\0\0\0\1", 6) + block;
    }
    std::vector<SSL*> ssls;
    for (auto& c : conns)
      if (c.ready && sslWriteAll(c.ssl, request)) ssls.push_back(c.ssl);
    drainAnswers(ssls);
    if (proto == "h2")  // acknowledge the server's SETTINGS, as a real client does
      for (SSL* ssl : ssls) sslWriteAll(ssl, std::string("\0\0\0\4\1\0\0\0\0", 9));
    ready = static_cast<int>(ssls.size());
  }
  std::printf("ready %d\n", ready);
  std::fflush(stdout);
  char buf[64];
  while (read(0, buf, sizeof buf) > 0) {
  }
  for (auto& c : conns) {
    SSL_free(c.ssl);
    close(c.fd);
  }
  SSL_CTX_free(ctx);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 6 && std::string(argv[1]) == "handshakes")
    return handshakes(argv[2], std::atoi(argv[3]), std::atoi(argv[4]), std::atoi(argv[5]));
  if (argc >= 5 && std::string(argv[1]) == "idle")
    return idle(argv[2], std::atoi(argv[3]), std::atoi(argv[4]), argc >= 6 ? argv[5] : "");
  std::fprintf(stderr, "usage: tls_tool handshakes HOST PORT SECONDS CONCURRENCY | idle HOST PORT COUNT [h1|h2]\n");
  return 1;
}
