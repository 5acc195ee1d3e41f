// Issue 6: malformed and hostile input. Each case sends what no well-behaved client sends and
// asserts the answer RFC 9110/9112/9113 asks for; after every case (TearDown) the node must still
// be running, serve a normal request over HTTP/1.1 and one over HTTP/2 (TLS, ALPN h2), and its
// memory must have stayed bounded. One node, bob, with the shipped default limits: a TLS
// external listener, an echo service, and a token for source alice.
#include <gtest/gtest.h>

#include <memory>

#include "integration/node.h"
#include "support/h2_raw_client.h"
#include "support/raw_client.h"

namespace kgate::test {
namespace {

namespace h2 = kgate::test::h2;

const std::string kIp = "127.0.0.5";

// How much a case may grow bob's resident memory (peak over the start), in kB.
// ASan keeps freed memory in quarantine.
const long kMaxRssGrowthKb = (sanitizedBuild() ? 256 : 64) * 1024;

// A GET on `stream`, without a token (answered 401 at once): HEADERS with END_STREAM.
std::string requestHeaders(uint32_t stream) {
  return h2::frame(h2::kHeaders, h2::kEndHeaders | h2::kEndStream, stream,
                   h2::requestBlock("GET", "bob", "/"));
}

class Hostile : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::make_unique<TempDir>("kgate-hostile");
    upstream_ = std::make_unique<Upstream>(Upstream::Options{.ip = kIp, .name = "bob-echo"});
    bob_ = std::make_unique<Node>(*dir_, NodeSpec{.domain = "bob", .ip = kIp, .protocol = "TLS"});
    bob_->appendConfig("services:\n  echo: " + upstream_->url() + "\ntokens:\n  alice: [\"" +
                       tokenFor("alice-bob") + "\"]");
    bob_->start();
  }
  static void TearDownTestSuite() {
    bob_.reset();
    upstream_.reset();
    dir_.reset();
  }

  // Each case's peak RSS is its own (writing 5 to clear_refs resets VmHWM).
  void SetUp() override {
    ASSERT_TRUE(bob_->running()) << bob_->process().describe();
    writeFile("/proc/" + std::to_string(bob_->process().pid()) + "/clear_refs", "5");
    rssBefore_ = procStatusKb(bob_->process().pid(), "VmRSS").value_or(0);
  }

  // After each case: still alive, still serving both protocols, memory bounded.
  void TearDown() override {
    ASSERT_TRUE(bob_->running()) << bob_->process().describe();
    for (std::string proto : {"--http1.1", "--http2"}) {
      auto r = curl({"-k", proto, "-m", "20", bob_->externalUrl("/normal"), "-H",
                     "Kuscia-Source: alice", "-H", "Kuscia-Token: " + tokenFor("alice-bob"), "-H",
                     "Kuscia-Host: echo.bob.svc"});
      EXPECT_EQ(r.status, 200) << proto << ": curl " << r.curlExit << " " << r.curlStderr;
      EXPECT_EQ(r.httpVersion, proto == "--http2" ? "2" : "1.1");
    }
    auto peak = procStatusKb(bob_->process().pid(), "VmHWM");
    ASSERT_TRUE(peak.has_value());
    EXPECT_LT(*peak - rssBefore_, kMaxRssGrowthKb)
        << "peak RSS " << *peak << " kB, " << rssBefore_ << " kB before";
  }
  long rssBefore_ = 0;

  // Headers that authenticate alice and route to bob's echo service (external listener).
  static std::string auth(bool withHost = true) {
    return "Kuscia-Source: alice\r\nKuscia-Token: " + tokenFor("alice-bob") + "\r\n" +
           (withHost ? "Kuscia-Host: echo.bob.svc\r\n" : "");
  }
  // HTTP/1.1 over TLS to the external listener; reads until bob closes.
  static RawReply h1(const std::string& bytes) {
    return rawExchange(kIp, bob_->externalPort(), bytes, RawOptions{.tls = true, .alpn = {"http/1.1"}});
  }
  static std::unique_ptr<h2::Client> h2Client() {
    auto c = std::make_unique<h2::Client>(kIp, bob_->externalPort());
    EXPECT_TRUE(c->ok()) << c->error();
    EXPECT_EQ(c->alpn(), "h2");
    return c;
  }
  // Sends `frame` over and over (2 MiB of its answers) from a client that reads nothing
  // meanwhile, with small socket buffers and 1 KiB segments: what bob answers backs up within
  // some 200 KiB (kernel buffers, kgate's 64 KiB of copied frames), then queues in nghttp2. Then
  // reads until the GOAWAY (checking that bob closes the connection after it) or until the
  // answer to a last PING. That answer means the answers never piled up: bob's kernel took
  // the flood faster than bob read it, and the client was reading by the time bob answered.
  // kgate was right to answer then, and the flood is tried again on a new connection (three
  // times at most; the GOAWAY usually comes at the first).
  static std::vector<h2::Frame> floodWithoutReading(const std::string& frame, size_t answerSize) {
    static const std::string marker = "lastping";
    std::vector<h2::Frame> frames;
    for (int attempt = 0; attempt < 3; ++attempt) {
      h2::Client c(kIp, bob_->externalPort(),
                   {.tls = true, .receiveBuffer = 4096, .sendBuffer = 16384, .maxSegment = 1024});
      EXPECT_TRUE(c.ok()) << c.error();
      c.sendPreface();
      std::string batch;
      for (int i = 0; i < 1000; ++i) batch += frame;
      bool sent = true;
      for (size_t n = 0; sent && n < (2u << 20) / answerSize; n += 1000) sent = c.sendBlind(batch);
      if (sent) c.sendBlind(h2::frame(h2::kPing, 0, 0, marker));
      frames = c.readUntil(
          [](const h2::Frame& f) {
            return f.type == h2::kGoaway || (f.type == h2::kPing && f.payload == marker);
          },
          std::chrono::seconds(10), h2::keepGoaway);
      if (h2::findFrame(frames, h2::kGoaway)) {
        EXPECT_TRUE(c.waitForClose());
        break;
      }
    }
    return frames;
  }
  // The GOAWAY's error code, or "none" (as text, for readable failures).
  static std::string goawayCode(const std::vector<h2::Frame>& frames) {
    const h2::Frame* g = h2::findFrame(frames, h2::kGoaway);
    return g ? std::to_string(g->errorCode()) : "none";
  }

  static std::unique_ptr<TempDir> dir_;
  static std::unique_ptr<Upstream> upstream_;
  static std::unique_ptr<Node> bob_;
};

std::unique_ptr<TempDir> Hostile::dir_;
std::unique_ptr<Upstream> Hostile::upstream_;
std::unique_ptr<Node> Hostile::bob_;

std::string str(uint32_t code) { return std::to_string(code); }

// ---------------------------------------------------------------------------------------------
// HTTP/1.1 (RFC 9110, RFC 9112)

// RFC 6585 section 5: a header field too large to process is 431.
TEST_F(Hostile, OversizedHeaderGets431) {
  auto r = h1("GET / HTTP/1.1\r\nHost: bob\r\nX-Big: " + std::string(70000, 'a') + "\r\n\r\n");
  EXPECT_EQ(r.statusLine(), "HTTP/1.1 431") << r.bytes.substr(0, 200);
  EXPECT_TRUE(r.closed);
}

// RFC 6585 section 5: so is a header section with too many fields (limits.maxHeaderCount).
TEST_F(Hostile, ThousandsOfHeadersGet431) {
  std::string many = "GET / HTTP/1.1\r\nHost: bob\r\n";
  for (int i = 0; i < 3000; ++i) many += "X-" + std::to_string(i) + ": y\r\n";
  auto r = h1(many + "\r\n");
  EXPECT_EQ(r.statusLine(), "HTTP/1.1 431") << r.bytes.substr(0, 200);
  EXPECT_TRUE(r.closed);
}

// RFC 9112 section 3: a request line that is not method SP target SP version is invalid, and
// section 2.2 asks for 400 to what cannot be parsed as a request.
TEST_F(Hostile, BadRequestLineGets400) {
  for (std::string line : {"GET  / HTTP/1.1", "G(T / HTTP/1.1", "GET / HTTP/1.1 extra",
                           "GET /a b HTTP/1.1", "GET", "\x01\x02\x03 / HTTP/1.1"}) {
    auto r = h1(line + "\r\nHost: bob\r\n\r\n");
    EXPECT_EQ(r.statusLine(), "HTTP/1.1 400") << line << ": " << r.bytes.substr(0, 200);
    EXPECT_TRUE(r.closed) << line;
  }
}

// RFC 9112 section 5: a field line is name ":" value; one without a colon is invalid (400).
TEST_F(Hostile, FieldLineWithoutColonGets400) {
  auto r = h1("GET / HTTP/1.1\r\nHost: bob\r\nBad Header\r\n\r\n");
  EXPECT_EQ(r.statusLine(), "HTTP/1.1 400") << r.bytes.substr(0, 200);
  EXPECT_TRUE(r.closed);
}

// RFC 9112 section 3.2: an HTTP/1.1 request without Host, or with two, is answered 400.
TEST_F(Hostile, MissingOrDuplicateHostGets400) {
  for (std::string head : {"GET / HTTP/1.1\r\n", "GET / HTTP/1.1\r\nHost: bob\r\nHost: carol\r\n"}) {
    auto r = h1(head + auth() + "\r\n");
    EXPECT_EQ(r.statusLine(), "HTTP/1.1 400") << head << r.bytes.substr(0, 200);
    EXPECT_TRUE(r.closed);
  }
}

// RFC 9112 section 7.1: chunk-size is 1*HEXDIG; anything else (not hex, more than 64 bits, a
// sign) is a malformed request (400, RFC 9110 section 15.5.1) whose body's end can no longer
// be found, so nothing after it on the connection can be trusted: it closes.
TEST_F(Hostile, BadChunkSizesGet400AndClose) {
  for (std::string size : {"zz", "FFFFFFFFFFFFFFFFFFFFFFFF", "-1", "0x10", " 5"}) {
    auto r = h1("POST /chunks HTTP/1.1\r\nHost: bob\r\n" + auth() +
                "Transfer-Encoding: chunked\r\n\r\n" + size + "\r\nhello\r\n0\r\n\r\n");
    EXPECT_EQ(r.statusLine(), "HTTP/1.1 400") << size << ": " << r.bytes.substr(0, 300);
    EXPECT_TRUE(r.hasHeaderLine("connection: close")) << size;
    EXPECT_TRUE(r.closed) << size;
  }
}

// RFC 9112 section 6.1: a server MAY reject a request with both Content-Length and
// Transfer-Encoding as 400, and MUST close the connection after answering it.
TEST_F(Hostile, ContentLengthWithTransferEncodingGets400AndClose) {
  auto r = h1("POST / HTTP/1.1\r\nHost: bob\r\n" + auth() +
              "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
  EXPECT_EQ(r.statusLine(), "HTTP/1.1 400") << r.bytes.substr(0, 300);
  EXPECT_TRUE(r.hasHeaderLine("connection: close"));
  EXPECT_TRUE(r.closed);
}

// RFC 9112 section 6.3: an invalid Content-Length (not digits, a list of different values)
// leaves the body's end unknown: 400, and the connection closes.
TEST_F(Hostile, InvalidContentLengthGets400AndClose) {
  for (std::string cl : {"Content-Length: abc\r\n", "Content-Length: -1\r\n",
                         "Content-Length: 1, 2\r\n", "Content-Length: 1\r\nContent-Length: 2\r\n",
                         "Content-Length: 99999999999999999999999\r\n"}) {
    auto r = h1("POST / HTTP/1.1\r\nHost: bob\r\n" + auth() + cl + "\r\nx");
    EXPECT_EQ(r.statusLine(), "HTTP/1.1 400") << cl << r.bytes.substr(0, 300);
    EXPECT_TRUE(r.closed) << cl;
  }
}

// RFC 9110 section 5.5: a field value with NUL, CR or LF is invalid; a recipient rejects it
// (400) or replaces the character (kgate rejects: RFC 9112 section 2.2 forbids a bare CR too).
TEST_F(Hostile, NulCrOrLfInHeaderValueGets400) {
  for (std::string bad : {std::string("a\0b", 3), std::string("a\rb"), std::string("a\nb")}) {
    auto r = h1("GET / HTTP/1.1\r\nHost: bob\r\n" + auth() + "X-Bad: " + bad + "\r\n\r\n");
    EXPECT_EQ(r.statusLine(), "HTTP/1.1 400") << r.bytes.substr(0, 300);
    EXPECT_TRUE(r.closed);
  }
}

// RFC 9112 section 5.2: obsolete line folding is either refused (400) or replaced by spaces
// before the field is used or forwarded; kgate (Beast) replaces it, so no CRLF reaches the
// upstream.
TEST_F(Hostile, ObsFoldIsUnfoldedBeforeForwarding) {
  auto r = h1("GET /fold HTTP/1.1\r\nHost: bob\r\n" + auth() +
              "X-Folded: one\r\n two\r\nConnection: close\r\n\r\n");
  ASSERT_EQ(r.statusLine(), "HTTP/1.1 200") << r.bytes.substr(0, 300);
  EXPECT_NE(r.bytes.find("\"x-folded\":\"one two\""), std::string::npos) << r.bytes;
}

// RFC 9112 section 3.2.2: a server accepts the absolute form, and the target's authority wins
// over Host. Routing uses it (external listener without Kuscia-Host, and the internal listener
// where Host names the service), and the upstream sees the origin form.
TEST_F(Hostile, AbsoluteFormTargetWinsOverHost) {
  auto r = h1("GET http://echo.bob.svc/abs?q=1 HTTP/1.1\r\nHost: nowhere.bob.svc\r\n" +
              auth(false) + "Connection: close\r\n\r\n");
  ASSERT_EQ(r.statusLine(), "HTTP/1.1 200") << r.bytes.substr(0, 300);
  std::string body = r.bytes.substr(r.bytes.find("\r\n\r\n") + 4);
  EXPECT_NE(body.find("\"target\":\"/abs?q=1\""), std::string::npos) << body;

  // The other way round: the target names no service, Host does.
  r = h1("GET http://nowhere.bob.svc/abs HTTP/1.1\r\nHost: echo.bob.svc\r\n" + auth(false) +
         "Connection: close\r\n\r\n");
  EXPECT_EQ(r.statusLine(), "HTTP/1.1 404") << r.bytes.substr(0, 300);

  // A query right after the authority, and scheme and host in capitals (both case-insensitive,
  // RFC 9110 section 4.2.3).
  r = h1("GET HTTP://ECHO.BOB.SVC?q=2 HTTP/1.1\r\nHost: nowhere\r\n" + auth(false) +
         "Connection: close\r\n\r\n");
  ASSERT_EQ(r.statusLine(), "HTTP/1.1 200") << r.bytes.substr(0, 300);
  body = r.bytes.substr(r.bytes.find("\r\n\r\n") + 4);
  EXPECT_NE(body.find("\"target\":\"/?q=2\""), std::string::npos) << body;

  // The internal listener routes by the authority too.
  r = rawExchange(kIp, bob_->internalPort(),
                  "GET http://echo.bob.svc/in HTTP/1.1\r\nHost: nowhere.bob.svc\r\n"
                  "Connection: close\r\n\r\n");
  ASSERT_EQ(r.statusLine(), "HTTP/1.1 200") << r.bytes.substr(0, 300);
  body = r.bytes.substr(r.bytes.find("\r\n\r\n") + 4);
  EXPECT_NE(body.find("\"target\":\"/in\""), std::string::npos) << body;
}

// RFC 9112 section 3.2: only HTTP/1.1 requires Host. An HTTP/1.0 request without it is served
// (routed by Kuscia-Host), and without any routing information it gets the same answer as an
// HTTP/1.1 request with an empty Host.
TEST_F(Hostile, Http10WithoutHostIsServed) {
  auto r = h1("GET /old HTTP/1.0\r\n" + auth() + "\r\n");
  ASSERT_EQ(r.statusLine(), "HTTP/1.1 200") << r.bytes.substr(0, 300);
  EXPECT_TRUE(r.closed);  // no keep-alive asked for

  auto unrouted10 = h1("GET /old HTTP/1.0\r\n" + auth(false) + "\r\n");
  auto unrouted11 = h1("GET /old HTTP/1.1\r\nHost:\r\n" + auth(false) + "Connection: close\r\n\r\n");
  EXPECT_EQ(unrouted10.statusLine(), "HTTP/1.1 404") << unrouted10.bytes.substr(0, 300);
  EXPECT_EQ(unrouted11.statusLine(), "HTTP/1.1 404") << unrouted11.bytes.substr(0, 300);
}

// RFC 9112 section 2.3: a higher minor version of a major version the server implements is
// processed as the highest minor version it implements, 1.1; so the connection persists: two
// requests on it, the first without "close".
TEST_F(Hostile, Http12IsServedAs11) {
  std::string get = "GET /v12 HTTP/1.2\r\nHost: bob\r\n" + auth();
  auto r = h1(get + "\r\n" + get + "Connection: close\r\n\r\n");
  EXPECT_EQ(r.statusLine(), "HTTP/1.1 200") << r.bytes.substr(0, 300);
  size_t second = r.bytes.find("HTTP/1.1 200", 1);
  EXPECT_NE(second, std::string::npos) << r.bytes;
  EXPECT_TRUE(r.closed);
}

// RFC 9110 section 15.6.6: 505 for a major version the server does not support.
TEST_F(Hostile, OtherMajorVersionsGet505) {
  for (std::string v : {"HTTP/2.0", "HTTP/3.0", "HTTP/9.9", "HTTP/0.9"}) {
    auto r = h1("GET / " + v + "\r\nHost: bob\r\n" + auth() + "\r\n");
    EXPECT_EQ(r.statusLine(), "HTTP/1.1 505") << v << ": " << r.bytes.substr(0, 300);
    EXPECT_TRUE(r.closed) << v;
  }
}

// RFC 9112 section 2.3: HTTP-version is "HTTP/" DIGIT "." DIGIT, case-sensitive; anything
// else is not a request line (400).
TEST_F(Hostile, GarbageVersionGets400) {
  for (std::string v : {"HTTP/x", "HTTP/1", "HTTP/1.1.1", "HTTP/11.0", "http/1.1", "HTTPS/1.1"}) {
    auto r = h1("GET / " + v + "\r\nHost: bob\r\n" + auth() + "\r\n");
    EXPECT_EQ(r.statusLine(), "HTTP/1.1 400") << v << ": " << r.bytes.substr(0, 300);
    EXPECT_TRUE(r.closed) << v;
  }
}

// ---------------------------------------------------------------------------------------------
// HTTP/2 (RFC 9113), over TLS with ALPN h2

// RFC 9113 section 3.4: an invalid connection preface is a connection error PROTOCOL_ERROR.
// The GOAWAY may be omitted; kgate sends it (it tells a confused client what happened).
TEST_F(Hostile, InvalidPrefaceAfterAlpnH2IsProtocolError) {
  auto c = h2Client();
  c->send("GET / HTTP/1.1\r\nHost: bob\r\n\r\n");
  auto frames = c->readUntilGoaway();
  EXPECT_EQ(goawayCode(frames), str(h2::kProtocolError)) << h2::describe(frames);
  EXPECT_TRUE(c->waitForClose());
}

// Stream 1 ends both ways (a 401: no token), then the client sends `late` on it.
std::vector<h2::Frame> afterStreamOneClosed(h2::Client& c, const std::string& late) {
  c.sendPreface();
  c.send(requestHeaders(1));
  auto frames = c.readUntil([](const h2::Frame& f) {
    return f.stream == 1 && (f.flags & h2::kEndStream) &&
           (f.type == h2::kData || f.type == h2::kHeaders);
  });
  EXPECT_FALSE(frames.empty());
  c.send(late);
  return c.readUntil([](const h2::Frame& f) {
    return f.type == h2::kGoaway || (f.type == h2::kRstStream && f.stream == 1);
  });
}

// RFC 9113 section 5.1 ("closed") and 6.1: DATA on a closed stream is answered STREAM_CLOSED,
// as a stream error (RST_STREAM) or a connection error (GOAWAY).
TEST_F(Hostile, DataOnClosedStreamIsStreamClosed) {
  auto c = h2Client();
  auto frames = afterStreamOneClosed(*c, h2::frame(h2::kData, h2::kEndStream, 1, "late"));
  ASSERT_FALSE(frames.empty()) << "no answer to DATA on a closed stream";
  EXPECT_EQ(frames.back().errorCode(), h2::kStreamClosed) << h2::describe(frames);
}

// RFC 9113 section 5.1 ("closed"): so are HEADERS on a closed stream.
TEST_F(Hostile, HeadersOnClosedStreamIsStreamClosed) {
  auto c = h2Client();
  auto frames = afterStreamOneClosed(*c, requestHeaders(1));
  ASSERT_FALSE(frames.empty()) << "no answer to HEADERS on a closed stream";
  EXPECT_EQ(frames.back().errorCode(), h2::kStreamClosed) << h2::describe(frames);
}

// The same, when the stream closes in the same read as the late frame: the client's request,
// its RST_STREAM (allowed after END_STREAM) and DATA after it, in one write.
TEST_F(Hostile, DataOnAStreamClosedInTheSameReadIsStreamClosed) {
  auto c = h2Client();
  c->sendPreface();
  c->send(requestHeaders(1) + h2::frame(h2::kRstStream, 0, 1, std::string("\0\0\0\x08", 4)) +
          h2::frame(h2::kData, h2::kEndStream, 1, "late"));
  auto frames = c->readUntilGoaway();
  ASSERT_FALSE(frames.empty()) << "no GOAWAY for DATA after END_STREAM and RST_STREAM";
  EXPECT_EQ(goawayCode(frames), str(h2::kStreamClosed)) << h2::describe(frames);
}

// RFC 9113 section 5.1 ("closed"): frames on a stream kgate reset before the client ended it
// are ignored, not an error: a request refused before its body is sent leaves DATA in flight.
TEST_F(Hostile, DataAfterOurResetIsIgnored) {
  auto c = h2Client();
  c->sendPreface();
  // A POST without a token, its body still to come: the 401 ends the stream before the body.
  c->send(h2::frame(h2::kHeaders, h2::kEndHeaders, 1, h2::requestBlock("POST", "bob", "/")));
  auto frames = c->readUntil(
      [](const h2::Frame& f) { return f.type == h2::kRstStream && f.stream == 1; });
  ASSERT_FALSE(frames.empty()) << "no RST_STREAM after answering before the body";
  c->send(h2::frame(h2::kData, h2::kEndStream, 1, "late"));
  c->send(requestHeaders(3));
  frames = c->readUntil([](const h2::Frame& f) {
    return f.type == h2::kGoaway || (f.stream == 3 && (f.flags & h2::kEndStream));
  });
  ASSERT_FALSE(frames.empty()) << "no answer on stream 3";
  EXPECT_NE(frames.back().type, h2::kGoaway) << h2::describe(frames);
  EXPECT_EQ(frames.back().stream, 3u) << h2::describe(frames);
}

// RFC 9113 section 5.1 ("idle"): DATA, WINDOW_UPDATE or RST_STREAM on an idle stream is a
// connection error PROTOCOL_ERROR; so are HEADERS on an even (server-initiated) id (5.1.1).
TEST_F(Hostile, FramesOnIdleStreamsAreProtocolErrors) {
  std::vector<std::pair<std::string, std::string>> cases = {
      {"DATA", h2::frame(h2::kData, 0, 1, "idle")},
      {"WINDOW_UPDATE", h2::windowUpdateFrame(3, 1000)},
      {"RST_STREAM", h2::rstStreamFrame(5, h2::kCancel)},
      {"HEADERS on stream 2", requestHeaders(2)},
  };
  for (const auto& [name, bytes] : cases) {
    auto c = h2Client();
    c->sendPreface();
    c->send(bytes);
    auto frames = c->readUntilGoaway();
    EXPECT_EQ(goawayCode(frames), str(h2::kProtocolError)) << name << ": " << h2::describe(frames);
    EXPECT_TRUE(c->waitForClose()) << name;
  }
}

// RFC 7541 section 7.3 / RFC 9113 section 10.5.1: one large field in the dynamic table,
// referenced 12000 times, decodes to 48 MB, far past SETTINGS_MAX_HEADER_LIST_SIZE (64 KiB).
// Refusing the stream (431 or RST_STREAM) or closing the connection (COMPRESSION_ERROR,
// ENHANCE_YOUR_CALM) would all do; kgate answers 431 and stops keeping fields at the limit, so
// memory stays bounded (TearDown checks the peak RSS).
TEST_F(Hostile, HpackBombIsRefused) {
  auto c = h2Client();
  c->sendPreface();
  std::string block = h2::requestBlock("GET", "bob", "/bomb") +
                      h2::hpackIndexedLiteral("x-bomb", std::string(4000, 'b'));
  block.append(12000, static_cast<char>(0xbe));  // hpackIndexed(62): the field just added
  c->send(h2::frame(h2::kHeaders, h2::kEndHeaders | h2::kEndStream, 1, block));
  auto frames = c->readUntil([](const h2::Frame& f) {
    return f.type == h2::kGoaway || (f.stream == 1 && (f.type == h2::kRstStream || f.type == h2::kHeaders));
  });
  ASSERT_FALSE(frames.empty()) << "no answer to the HPACK bomb";
  EXPECT_EQ(frames.back().type, h2::kHeaders) << h2::describe(frames);
  EXPECT_EQ(frames.back().header(":status"), "431") << h2::describe(frames);
}

// The answer on stream 1 to a request that carries alice's token for bob's echo service, with
// `pseudo` for its pseudo-header fields and `body` (if any) in one DATA frame.
h2::Frame answerTo(h2::Client& c, const std::vector<std::pair<std::string, std::string>>& pseudo,
                   const std::string& body, const std::string& contentLength) {
  std::string block;
  for (const auto& [name, value] : pseudo) block += h2::hpackLiteral(name, value);
  block += h2::hpackLiteral("kuscia-source", "alice") +
           h2::hpackLiteral("kuscia-token", tokenFor("alice-bob")) +
           h2::hpackLiteral("kuscia-host", "echo.bob.svc");
  if (!contentLength.empty()) block += h2::hpackLiteral("content-length", contentLength);
  c.sendPreface();
  c.send(h2::frame(h2::kHeaders, h2::kEndHeaders | (body.empty() ? h2::kEndStream : 0), 1, block));
  if (!body.empty()) c.send(h2::frame(h2::kData, h2::kEndStream, 1, body));
  auto frames = c.readUntil([](const h2::Frame& f) {
    return f.type == h2::kGoaway ||
           (f.stream == 1 && (f.type == h2::kRstStream || f.type == h2::kHeaders));
  });
  return frames.empty() ? h2::Frame{} : frames.back();
}

// RFC 9113 section 8.5: CONNECT asks for a tunnel, which kgate does not offer. nghttp2 does not
// count a CONNECT's DATA against its content-length, so proxied as a request its body would run
// past the end an HTTP/1.1 upstream was told, and what follows (a request of the client's, sent
// without a token check) would be read there as the next request: smuggling. Refused with 405;
// TearDown's requests would hang on a poisoned upstream connection.
TEST_F(Hostile, Http2ConnectIsRefused) {
  auto c = h2Client();
  std::string smuggled = "12345POST /capture HTTP/1.1\r\nhost: echo\r\ncontent-length: 300\r\n\r\n";
  auto answer =
      answerTo(*c, {{":method", "CONNECT"}, {":authority", "echo.bob.svc"}}, smuggled, "5");
  EXPECT_EQ(answer.type, h2::kHeaders);
  EXPECT_EQ(answer.header(":status"), "405");
  EXPECT_FALSE(answer.header("kuscia-error-message").empty()) << h2::describe({answer});
}

// nghttp2 checks :path only under http and https; kgate proxies nothing else, and no path
// that is not one (an absolute URI, a bare name) or "*" outside OPTIONS.
TEST_F(Hostile, Http2RequestsForNoPathAreRefused) {
  const std::vector<std::vector<std::pair<std::string, std::string>>> cases = {
      {{":method", "GET"},
       {":scheme", "foo"},
       {":authority", "echo.bob.svc"},
       {":path", "http://svc.carol.svc/admin"}},
      {{":method", "GET"}, {":scheme", "foo"}, {":authority", "echo.bob.svc"}, {":path", "x"}},
      {{":method", "GET"}, {":scheme", "foo"}, {":authority", "echo.bob.svc"}, {":path", "*"}},
  };
  for (const auto& pseudo : cases) {
    auto c = h2Client();
    auto answer = answerTo(*c, pseudo, "", "");
    EXPECT_EQ(answer.type, h2::kHeaders) << pseudo.back().second;
    EXPECT_EQ(answer.header(":status"), "400") << pseudo.back().second;
  }
}

// Hop-by-hop fields nghttp2 lets through in an HTTP/2 request (trailer, http2-settings) mean
// nothing to the next hop and are not forwarded, as they are not from HTTP/1.1.
TEST_F(Hostile, Http2HopByHopFieldsAreNotForwarded) {
  auto c = h2Client();
  c->sendPreface();
  c->send(h2::frame(h2::kHeaders, h2::kEndHeaders | h2::kEndStream, 1,
                    h2::requestBlock("GET", "bob", "/echo",
                                     {{"kuscia-source", "alice"},
                                      {"kuscia-token", tokenFor("alice-bob")},
                                      {"kuscia-host", "echo.bob.svc"},
                                      {"trailer", "x-later"},
                                      {"http2-settings", "AAMAAABkAAQAAP__"},
                                      {"x-kept", "1"}})));
  auto frames = c->readUntil([](const h2::Frame& f) {
    return f.type == h2::kGoaway || (f.stream == 1 && (f.flags & h2::kEndStream));
  });
  std::string echo;
  for (const auto& f : frames)
    if (f.type == h2::kData && f.stream == 1) echo += f.payload;
  EXPECT_NE(echo.find("\"x-kept\""), std::string::npos) << echo;
  EXPECT_EQ(echo.find("\"trailer\""), std::string::npos) << echo;
  EXPECT_EQ(echo.find("\"http2-settings\""), std::string::npos) << echo;
}

// HTTP/1.1 CONNECT, in any target form: not a tunnel kgate offers either.
TEST_F(Hostile, Http1ConnectIsRefused) {
  for (std::string target : {"echo.bob.svc:443", "/x"}) {
    auto r = h1("CONNECT " + target + " HTTP/1.1\r\nHost: bob\r\n" + auth() +
                "Content-Length: 5\r\n\r\n12345");
    EXPECT_EQ(r.statusLine(), "HTTP/1.1 405") << target << ": " << r.bytes.substr(0, 300);
    EXPECT_TRUE(r.closed) << target;
  }
}

// CVE-2024-27316 / CVE-2024-28182: HEADERS without END_HEADERS, then CONTINUATION frames
// without end. RFC 9113 section 10.5: a connection error ENHANCE_YOUR_CALM long before the
// block could grow without bound.
TEST_F(Hostile, ContinuationFloodGetsGoaway) {
  auto c = h2Client();
  c->sendPreface();
  c->send(h2::frame(h2::kHeaders, h2::kEndStream, 1, h2::requestBlock("GET", "bob", "/")));
  std::string continuation = h2::frame(h2::kContinuation, 0, 1, h2::hpackLiteral("x-more", "y"));
  std::string batch;
  for (int i = 0; i < 100; ++i) batch += continuation;
  for (int round = 0; round < 100 && !c->closed(); ++round) {  // 10000 frames at most
    if (!c->send(batch)) break;
  }
  auto frames = c->readUntilGoaway(std::chrono::seconds(10), h2::keepGoaway);
  EXPECT_EQ(goawayCode(frames), str(h2::kEnhanceYourCalm)) << h2::describe(frames);
  EXPECT_TRUE(c->waitForClose());
}

// CVE-2023-44487 ("rapid reset"): streams opened and reset at once, thousands of times.
// RFC 9113 section 10.5: GOAWAY ENHANCE_YOUR_CALM once the reset budget is spent.
TEST_F(Hostile, RapidResetFloodGetsEnhanceYourCalm) {
  auto c = h2Client();
  c->sendPreface();
  std::string batch;
  uint32_t id = 1;
  for (int round = 0; round < 20 && !c->closed(); ++round) {  // 2000 resets at most
    batch.clear();
    for (int i = 0; i < 100; ++i, id += 2)
      batch += requestHeaders(id) + h2::rstStreamFrame(id, h2::kCancel);
    if (!c->send(batch)) break;
  }
  auto frames = c->readUntilGoaway(std::chrono::seconds(10), h2::keepGoaway);
  EXPECT_EQ(goawayCode(frames), str(h2::kEnhanceYourCalm)) << h2::describe(frames);
  EXPECT_TRUE(c->waitForClose());
}

// Thousands of SETTINGS frames from a client that does not read the ACKs: RFC 9113 section
// 10.5 names SETTINGS among the frames an endpoint may limit. The ACKs pile up unsent, and past
// h2::kMaxQueuedAcks: GOAWAY ENHANCE_YOUR_CALM. One frame with more entries than six settings
// need is refused the same way.
TEST_F(Hostile, SettingsFloodGetsEnhanceYourCalm) {
  auto frames = floodWithoutReading(h2::settingsFrame(), /*answerSize=*/9);
  EXPECT_EQ(goawayCode(frames), str(h2::kEnhanceYourCalm)) << h2::describe(frames);

  std::vector<std::pair<uint16_t, uint32_t>> entries(100, {0x4, 65535});
  auto c = h2Client();
  c->sendPreface();
  c->send(h2::settingsFrame(entries));
  frames = c->readUntilGoaway();
  EXPECT_EQ(goawayCode(frames), str(h2::kEnhanceYourCalm)) << h2::describe(frames);
  EXPECT_TRUE(c->waitForClose());
}

// The same for PING, the other frame that demands an answer (CVE-2019-9512).
TEST_F(Hostile, PingFloodGetsEnhanceYourCalm) {
  auto frames = floodWithoutReading(h2::frame(h2::kPing, 0, 0, std::string(8, 'p')), 17);
  EXPECT_EQ(goawayCode(frames), str(h2::kEnhanceYourCalm)) << h2::describe(frames);
}

}  // namespace
}  // namespace kgate::test
