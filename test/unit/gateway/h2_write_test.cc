// HTTP/2 responses as kgate's server session writes them (h2/server_session.cc): the session
// frames each DATA payload itself, large payloads straight from the writer's buffer. A real nghttp2 client checks what arrives: bodies written in pieces of sizes
// around the 16 KiB frame and the 64 and 128 KiB write batches, several streams at once, ended
// by the last piece, by an empty piece or by trailers (gRPC); and once every stream is done, the
// session holds no write buffer.
#include <gtest/gtest.h>
#include <nghttp2/nghttp2.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gateway/h2/server_session.h"

namespace kgate {
namespace {

using namespace std::chrono_literals;

// Piece sizes around the 16 KiB DATA frame and the 64 and 128 KiB write batches, and tiny ones.
const std::vector<size_t> kPieces = {1,     9,         16383,  16384,      16385, 7,
                                     40000, 65536 + 3, 100000, 131072 + 5, 2};

constexpr std::string_view kSmallAnswer = "a small answer";

char pieceByte(size_t piece, size_t i) { return static_cast<char>('a' + (piece * 7 + i) % 26); }

std::string expectedBody() {
  std::string body;
  for (size_t p = 0; p < kPieces.size(); ++p)
    for (size_t i = 0; i < kPieces[p]; ++i) body.push_back(pieceByte(p, i));
  return body;
}

// Writes kPieces, each from a buffer that is overwritten with 'X' and freed as soon as its write
// returns: bytes the session read after that would arrive as 'X' (or trip AddressSanitizer).
// The path says how the response ends: /data-end with its last piece, /empty-end with an empty
// piece, /trailers with trailers.
class PieceWriter final : public StreamHandler {
 public:
  awaitable<void> serve(ServerStream& stream) override {
    const std::string path = stream.request().path;
    http::ResponseHead head;
    if (path == "/trailers") head.headers.add("content-type", "application/grpc");
    if (co_await stream.writeHead(head, false) != Error::Ok) co_return;
    if (path == "/small" || path == "/small-then-abort") {  // the request body is not read
      co_await stream.writeBody(kSmallAnswer, true);
      // As the proxy does when it stops pumping a request body upstream after the answer.
      if (path == "/small-then-abort") stream.abort();
      co_return;
    }
    for (size_t p = 0; p < kPieces.size(); ++p) {
      std::string piece(kPieces[p], '\0');
      for (size_t i = 0; i < piece.size(); ++i) piece[i] = pieceByte(p, i);
      bool last = p + 1 == kPieces.size() && path == "/data-end";
      if (co_await stream.writeBody(piece, last) != Error::Ok) co_return;
      std::fill(piece.begin(), piece.end(), 'X');
    }
    if (path == "/trailers") {
      http::Headers trailers;
      trailers.add("grpc-status", "0");
      trailers.add("grpc-message", "done");
      co_await stream.writeTrailers(trailers);
    } else if (path == "/empty-end") {
      co_await stream.writeBody({}, true);
    }
  }
  awaitable<void> reject(ServerStream& stream, int status, std::string_view) override {
    http::ResponseHead head;
    head.status = status;
    co_await stream.writeHead(head, true);
  }
};

// What the client saw of one stream.
struct Received {
  std::string path;
  std::string status;
  std::string body;
  std::map<std::string, std::string> trailers;
  size_t dataFrames = 0;
  size_t largestData = 0;
  size_t paddedFrames = 0;
  int endedBy = -1;         // type of the frame with END_STREAM
  size_t endingLength = 0;  // its payload length
  bool closed = false;
  uint32_t closeCode = 0;
};

// An nghttp2 client on a non-blocking socket, pumped by hand between polls of the server.
class Client {
 public:
  Client(int fd, uint32_t window) : fd_(fd) {
    nghttp2_session_callbacks* cbs;
    nghttp2_session_callbacks_new(&cbs);
    nghttp2_session_callbacks_set_on_header_callback(cbs, &Client::onHeader);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, &Client::onData);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, &Client::onFrame);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, &Client::onClose);
    nghttp2_session_client_new(&session_, cbs, this);
    nghttp2_session_callbacks_del(cbs);
    nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, window}};
    nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, iv, 1);
    nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0,
                                          static_cast<int32_t>(std::max(window, 65535u)));
  }
  ~Client() { nghttp2_session_del(session_); }

  // withBody: a POST whose body never ends (HEADERS without END_STREAM).
  void get(const std::string& path, bool withBody = false) {
    std::vector<nghttp2_nv> nva;
    auto add = [&](const std::string& n, const std::string& v) {
      nva.push_back({reinterpret_cast<uint8_t*>(const_cast<char*>(n.data())),
                     reinterpret_cast<uint8_t*>(const_cast<char*>(v.data())), n.size(), v.size(),
                     NGHTTP2_NV_FLAG_NONE});
    };
    const std::string m = ":method", get = withBody ? "POST" : "GET", s = ":scheme",
                      https = "https", a = ":authority", host = "test", p = ":path";
    add(m, get);
    add(s, https);
    add(a, host);
    add(p, path);
    int32_t id =
        withBody ? nghttp2_submit_headers(session_, NGHTTP2_FLAG_NONE, -1, nullptr, nva.data(),
                                          nva.size(), nullptr)
                 : nghttp2_submit_request(session_, nullptr, nva.data(), nva.size(), nullptr,
                                          nullptr);
    ASSERT_GT(id, 0);
    streams_[id].path = path;
  }

  // Moves bytes both ways without blocking; false when the connection failed.
  bool pump() {
    char buf[64 * 1024];
    for (;;) {
      ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
      if (n == 0) return false;
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        return false;
      }
      if (nghttp2_session_mem_recv(session_, reinterpret_cast<uint8_t*>(buf), n) != n) return false;
    }
    for (;;) {
      if (pending_.empty()) {
        const uint8_t* data;
        ssize_t n = nghttp2_session_mem_send(session_, &data);
        if (n < 0) return false;
        if (n == 0) break;
        pending_.assign(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
      }
      ssize_t n = ::send(fd_, pending_.data(), pending_.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        return false;
      }
      pending_.erase(0, static_cast<size_t>(n));
    }
    return true;
  }

  // Resets a stream the way a client that lost interest does (RST_STREAM, CANCEL).
  void cancel(int32_t id) {
    nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
  }

  bool allClosed() const {
    return std::all_of(streams_.begin(), streams_.end(), [](auto& e) { return e.second.closed; });
  }
  const std::map<int32_t, Received>& streams() const { return streams_; }

 private:
  static Client& self(void* user) { return *static_cast<Client*>(user); }
  static int onHeader(nghttp2_session*, const nghttp2_frame* f, const uint8_t* name, size_t namelen,
                      const uint8_t* value, size_t valuelen, uint8_t, void* user) {
    Received& r = self(user).streams_[f->hd.stream_id];
    std::string n(reinterpret_cast<const char*>(name), namelen);
    std::string v(reinterpret_cast<const char*>(value), valuelen);
    if (f->headers.cat == NGHTTP2_HCAT_HEADERS) r.trailers[n] = v;
    else if (n == ":status") r.status = v;
    return 0;
  }
  static int onData(nghttp2_session*, uint8_t, int32_t id, const uint8_t* data, size_t len,
                    void* user) {
    self(user).streams_[id].body.append(reinterpret_cast<const char*>(data), len);
    return 0;
  }
  static int onFrame(nghttp2_session*, const nghttp2_frame* f, void* user) {
    if (f->hd.stream_id == 0) return 0;
    Received& r = self(user).streams_[f->hd.stream_id];
    if (f->hd.type == NGHTTP2_DATA) {
      ++r.dataFrames;
      r.largestData = std::max(r.largestData, f->hd.length);
      if (f->data.padlen) ++r.paddedFrames;
    }
    if (f->hd.flags & NGHTTP2_FLAG_END_STREAM) {
      r.endedBy = f->hd.type;
      r.endingLength = f->hd.length;
    }
    return 0;
  }
  static int onClose(nghttp2_session*, int32_t id, uint32_t code, void* user) {
    Received& r = self(user).streams_[id];
    r.closed = true;
    r.closeCode = code;
    return 0;
  }

  int fd_;
  nghttp2_session* session_ = nullptr;
  std::string pending_;
  std::map<int32_t, Received> streams_;
};

// The parameter: the client's stream window. 64 KiB keeps flow control stepping in; 16 MiB lets
// several streams' data fill a whole write batch in one go.
class H2Write : public ::testing::TestWithParam<uint32_t> {
 protected:
  void SetUp() override {
    tcp::acceptor acceptor(io_, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    client_.emplace(io_);
    client_->connect(acceptor.local_endpoint());
    session_ = std::make_shared<h2::ServerSession>(std::make_unique<Transport>(acceptor.accept()),
                                                   ConnectionEnv{sweeper_, registry_, handler_,
                                                                 conf::Limits{}, ConnectionInfo{}});
    net::co_spawn(io_, session_->serve(ReadBuffer{}), [this](std::exception_ptr e) {
      if (e) std::rethrow_exception(e);
      served_ = true;
    });
  }

  // The client's close ends the session; its coroutines must be gone before the members they
  // use are.
  void TearDown() override {
    client_->close();
    auto until = Clock::now() + 10s;
    while (!served_ && Clock::now() < until) io_.run_one_for(10ms);
    if (!served_) session_->terminate();
    io_.poll();
    EXPECT_TRUE(served_) << "the session did not end after the client closed";
  }

  // Runs server and client until done() or 20 s pass.
  bool runUntil(Client& c, const std::function<bool()>& done) {
    auto until = Clock::now() + 20s;
    while (Clock::now() < until) {
      io_.poll();
      if (!c.pump()) return false;
      if (done()) return true;
      io_.run_one_for(1ms);
    }
    return false;
  }

  net::io_context io_;
  Sweeper sweeper_{io_.get_executor()};  // not started: no deadline fires in these tests
  ConnectionRegistry registry_;
  PieceWriter handler_;
  std::optional<tcp::socket> client_;
  std::shared_ptr<h2::ServerSession> session_;
  bool served_ = false;
};

TEST_P(H2Write, BodiesInPiecesArriveWholeOnEveryStream) {
  Client c(client_->native_handle(), GetParam());
  for (int i = 0; i < 2; ++i)
    for (const char* path : {"/data-end", "/empty-end", "/trailers"}) c.get(path);
  size_t largestOut = 0;
  ASSERT_TRUE(runUntil(c, [&] {
    largestOut = std::max(largestOut, session_->writeBufferCapacity());
    return c.allClosed();
  }));
  // Large payloads are written from the writers' own buffers: the session's holds frame headers
  // and the small copied pieces, never a 16 KiB frame.
  EXPECT_LT(largestOut, 8192u);

  const std::string body = expectedBody();
  ASSERT_EQ(c.streams().size(), 6u);
  for (const auto& [id, r] : c.streams()) {
    SCOPED_TRACE(r.path + " on stream " + std::to_string(id));
    EXPECT_EQ(r.closeCode, NGHTTP2_NO_ERROR);
    EXPECT_EQ(r.status, "200");
    EXPECT_EQ(r.body.size(), body.size());
    EXPECT_TRUE(r.body == body) << "first difference at "
                                << std::mismatch(r.body.begin(), r.body.end(), body.begin()).first -
                                       r.body.begin();
    EXPECT_LE(r.largestData, 16384u);
    EXPECT_EQ(r.paddedFrames, 0u);
    if (r.path == "/trailers") {
      EXPECT_EQ(r.endedBy, NGHTTP2_HEADERS);
      EXPECT_EQ(r.trailers, (std::map<std::string, std::string>{{"grpc-status", "0"},
                                                                {"grpc-message", "done"}}));
    } else {
      EXPECT_EQ(r.endedBy, NGHTTP2_DATA);
      EXPECT_TRUE(r.trailers.empty());
      if (r.path == "/data-end") EXPECT_EQ(r.endingLength, kPieces.back());
      else EXPECT_EQ(r.endingLength, 0u);
    }
  }

  // All streams done: the writer drops its buffer before it waits.
  const size_t none = std::string().capacity();
  ASSERT_TRUE(runUntil(c, [&] { return session_->writeBufferCapacity() == none; }))
      << "an idle session still holds " << session_->writeBufferCapacity() << " bytes";
}

// A client that resets a stream while its frames wait in a batch being written: that writer is
// held until the batch is out (its buffer is overwritten and freed as soon as it goes on), and
// the other streams carry on whole.
TEST_P(H2Write, AStreamResetWhileItsFramesAreBeingWrittenSpoilsNothing) {
  Client c(client_->native_handle(), GetParam());
  for (int i = 0; i < 3; ++i) c.get("/data-end");
  ASSERT_TRUE(runUntil(c, [&] {
    auto it = c.streams().find(3);
    return it != c.streams().end() && it->second.body.size() > 20000;
  }));
  c.cancel(3);
  ASSERT_TRUE(runUntil(c, [&] { return c.allClosed(); }));
  const std::string body = expectedBody();
  for (const auto& [id, r] : c.streams()) {
    SCOPED_TRACE("stream " + std::to_string(id));
    if (id == 3 && r.closeCode != NGHTTP2_NO_ERROR) {
      EXPECT_EQ(r.closeCode, NGHTTP2_CANCEL);
      EXPECT_TRUE(body.compare(0, r.body.size(), r.body) == 0) << "what came before is intact";
    } else {
      // With a 64 KiB window the reset comes while the stream is still sending; with 16 MiB the
      // whole body may already be out.
      if (id == 3) {
        EXPECT_GE(GetParam(), 1u << 20) << "the reset came too late to test anything";
      }
      EXPECT_EQ(r.closeCode, NGHTTP2_NO_ERROR);
      EXPECT_TRUE(r.body == body);
    }
  }
}

// A small last piece is copied and its writer goes on at once (writeBody), but not while the
// request body is still coming: the stream is then reset (NO_ERROR) after the response, and the
// reset must not overtake a last piece that is still waiting to be sent. Nor may an abort after
// a whole exchange (nghttp2 sends RST_STREAM before queued DATA).
TEST_P(H2Write, SmallAnswersArriveWholeWhetherOrNotTheRequestBodyWasRead) {
  Client c(client_->native_handle(), GetParam());
  c.get("/small");
  c.get("/small", true);
  c.get("/small-then-abort");
  ASSERT_TRUE(runUntil(c, [&] { return c.allClosed(); }));
  ASSERT_EQ(c.streams().size(), 3u);
  for (const auto& [id, r] : c.streams()) {
    SCOPED_TRACE("stream " + std::to_string(id));
    EXPECT_EQ(r.status, "200");
    EXPECT_EQ(r.body, kSmallAnswer);
    EXPECT_EQ(r.endedBy, NGHTTP2_DATA);
    EXPECT_EQ(r.closeCode, NGHTTP2_NO_ERROR);
  }
}

INSTANTIATE_TEST_SUITE_P(ClientWindow, H2Write, ::testing::Values(64 * 1024, 16 << 20),
                         [](const auto& info) {
                           return info.param < (1u << 20) ? std::string("Window64k")
                                                          : std::string("Window16m");
                         });

}  // namespace
}  // namespace kgate
