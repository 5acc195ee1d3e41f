// Shared by the HTTP/1.1 and HTTP/2 targets: serves one downstream connection with kgate's own
// codec and feeds it the fuzz input as a client would send it.
//
// The codecs read from a Transport, which is a socket; the in-memory stand-in is an AF_UNIX
// socketpair (no port, no network; two descriptors closed at the end of each input). The input
// goes in as several writes, each followed by a poll of the io_context, so the codec sees it in
// several reads with the handlers running in between, the way segments arrive on a real
// connection. The piece size comes from the input's length, so it varies with the input and the
// seeds stay plain protocol bytes. Deadlines never fire (the sweeper is not started): every
// connection must end on the client's EOF alone, and one that does not is reported as a hang.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string_view>

#include "gateway/connection.h"
#include "gateway/log.h"
#include "gateway/transport.h"

namespace kgate::fuzz {

// Answers every request the way the proxy might, chosen by the path length so the fuzzer can
// reach each: read the whole body then answer with a body; answer at once without reading it
// (the codec must discard or refuse the rest); answer with trailers; or abort the stream.
class FuzzHandler final : public StreamHandler {
 public:
  awaitable<void> serve(ServerStream& stream) override {
    const http::RequestHead& req = stream.request();
    switch (req.path.size() % 4) {
      case 0: {  // read all, answer with two body pieces
        http::BodyChunk chunk;
        uint64_t total = 0;
        do {
          if (co_await stream.readBody(chunk) != Error::Ok) {
            stream.abort();
            co_return;
          }
          total += chunk.data.size();
        } while (!chunk.last);
        http::ResponseHead head;
        head.headers.add("x-body-bytes", std::to_string(total));
        if (co_await stream.writeHead(head, false) != Error::Ok) co_return;
        if (co_await stream.writeBody("hello, ", false) != Error::Ok) co_return;
        co_await stream.writeBody(req.authority, true);
        co_return;
      }
      case 1: {  // answer before reading the body
        http::ResponseHead head;
        head.status = 403;
        head.contentLength = 0;
        co_await stream.writeHead(head, true);
        co_return;
      }
      case 2: {  // read one piece, answer with trailers
        http::BodyChunk chunk;
        if (co_await stream.readBody(chunk) != Error::Ok) {
          stream.abort();
          co_return;
        }
        http::ResponseHead head;
        if (co_await stream.writeHead(head, false) != Error::Ok) co_return;
        if (co_await stream.writeBody(chunk.data.substr(0, 16), false) != Error::Ok) co_return;
        http::Headers trailers;
        trailers.add("grpc-status", "0");
        co_await stream.writeTrailers(trailers);
        co_return;
      }
      default:
        stream.abort();
        co_return;
    }
  }

  awaitable<void> reject(ServerStream& stream, int status, std::string_view cause) override {
    http::ResponseHead head;
    head.status = status;
    head.contentLength = cause.size();
    if (co_await stream.writeHead(head, false) == Error::Ok) co_await stream.writeBody(cause, true);
  }
};

// Limits small enough that short inputs reach them.
inline conf::Limits fuzzLimits() {
  conf::Limits l;
  l.maxHeaderBytes = 2048;
  l.maxHeaderCount = 16;
  l.maxConcurrentStreams = 8;
  l.streamWindowBytes = 4096;
  return l;
}

// Reads and drops what the server wrote to the client's end `fd`, so its writes never block.
// Returns bytes read.
inline size_t drainPeer(int fd) {
  char sink[16384];
  size_t total = 0;
  for (ssize_t n; (n = ::read(fd, sink, sizeof sink)) > 0;) total += static_cast<size_t>(n);
  return total;
}

// Ends the client's sending and runs until the connection is done: the rest must follow from
// the EOF alone, and a connection that stops moving without finishing is reported as a hang.
inline void finishAfterEof(net::io_context& io, int fd, const bool& done) {
  ::shutdown(fd, SHUT_WR);
  while (!done) {
    size_t ran = io.poll();
    size_t got = drainPeer(fd);
    if (ran == 0 && got == 0 && !done) {
      std::fprintf(stderr, "fuzz: the connection did not finish after the client's EOF\n");
      std::abort();
    }
  }
  io.poll();  // let handlers still running see the end
}

// serve(transport, env) runs the codec under test until the connection is finished.
using ServeFn =
    std::function<awaitable<void>(std::unique_ptr<Transport>, ConnectionEnv env)>;

inline void driveConnection(const uint8_t* data, size_t size, const ServeFn& serve) {
  log::setLevel(log::Level::Error);
  ::signal(SIGPIPE, SIG_IGN);  // as kgate's main does: a write to a closed peer is an error value
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) std::abort();
  int client = fds[1];
  ::fcntl(client, F_SETFL, O_NONBLOCK);

  net::io_context io;
  Sweeper sweeper(io.get_executor());
  ConnectionRegistry registry;
  FuzzHandler handler;
  ConnectionEnv env{sweeper, registry, handler, fuzzLimits(), ConnectionInfo{}};
  tcp::socket socket(io);
  socket.assign(tcp::v4(), fds[0]);  // Transport only needs a stream descriptor
  bool done = false;
  net::co_spawn(io, serve(std::make_unique<Transport>(std::move(socket)), std::move(env)),
                [&](std::exception_ptr e) {
                  if (e) std::rethrow_exception(e);  // a crash for libFuzzer
                  done = true;
                });

  const size_t piece = 1 + size % 509;
  for (size_t off = 0; off < size; off += piece) {
    size_t n = std::min(piece, size - off);
    // The socket buffer (>100 KiB) holds a whole piece; the server reads it at the next poll.
    // A server that has closed the connection (a protocol error) gets no more.
    if (::send(client, data + off, n, MSG_NOSIGNAL) != static_cast<ssize_t>(n)) break;
    io.poll();
    drainPeer(client);
  }
  finishAfterEof(io, client, done);
  ::close(client);
}

}  // namespace kgate::fuzz
