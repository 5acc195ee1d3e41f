// HTTP/2 frames by hand, for requests no HTTP/2 library will send: crafted frames go out as
// bytes, and the frames the server answers with come back parsed, so a test can assert their
// type and error code. Request header blocks are hand-encoded HPACK (literal fields, plus the
// indexed and incremental-indexing forms an HPACK bomb needs); the server's header blocks are
// decoded with nghttp2's HPACK inflater.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "raw_client.h"

struct nghttp2_hd_inflater;

namespace kgate::test::h2 {

enum FrameType : uint8_t {
  kData = 0x0, kHeaders = 0x1, kPriority = 0x2, kRstStream = 0x3, kSettings = 0x4,
  kPushPromise = 0x5, kPing = 0x6, kGoaway = 0x7, kWindowUpdate = 0x8, kContinuation = 0x9,
};
enum Flag : uint8_t { kEndStream = 0x1, kAck = 0x1, kEndHeaders = 0x4 };
enum ErrorCode : uint32_t {
  kNoError = 0x0, kProtocolError = 0x1, kInternalError = 0x2, kFlowControlError = 0x3,
  kStreamClosed = 0x5, kFrameSizeError = 0x6, kRefusedStream = 0x7, kCancel = 0x8,
  kCompressionError = 0x9, kEnhanceYourCalm = 0xb,
};

inline constexpr std::string_view kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

struct Frame {
  uint8_t type = 0;
  uint8_t flags = 0;
  uint32_t stream = 0;
  std::string payload;

  // GOAWAY and RST_STREAM: the error code; 0xffffffff for other frames.
  uint32_t errorCode() const;
  // GOAWAY: the last stream id.
  uint32_t lastStreamId() const;
  // HEADERS: the decoded fields, in order (when the block continues, they are on the
  // CONTINUATION frame that ends it).
  std::vector<std::pair<std::string, std::string>> headers;
  // A decoded field's value, or "" if absent.
  std::string header(std::string_view name) const;
};

// Frame bytes: the 9-byte header, then the payload.
std::string frame(uint8_t type, uint8_t flags, uint32_t stream, std::string_view payload);
std::string settingsFrame(const std::vector<std::pair<uint16_t, uint32_t>>& settings = {});
std::string rstStreamFrame(uint32_t stream, uint32_t code);
std::string windowUpdateFrame(uint32_t stream, uint32_t increment);

// HPACK pieces (RFC 7541).
std::string hpackInteger(uint32_t value, int prefixBits, uint8_t firstByteBits);
// Literal field without indexing, new name (section 6.2.2), no Huffman.
std::string hpackLiteral(std::string_view name, std::string_view value);
// Literal field with incremental indexing, new name (6.2.1): enters the dynamic table.
std::string hpackIndexedLiteral(std::string_view name, std::string_view value);
// Indexed field (6.1): index 62 is the newest dynamic-table entry.
std::string hpackIndexed(uint32_t index);
// A request header block: the pseudo-headers, then `extra` fields, all literal.
std::string requestBlock(const std::string& method, const std::string& authority,
                         const std::string& path,
                         const std::vector<std::pair<std::string, std::string>>& extra = {});

// A client connection over TLS with ALPN h2 (or plain TCP, prior knowledge, with tls false).
class Client {
 public:
  Client(const std::string& ip, uint16_t port, RawOptions options = {.tls = true});
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool ok() const { return conn_.ok(); }
  std::string error() const { return conn_.error(); }
  std::string alpn() const { return conn_.alpnSelected(); }
  // The client connection preface: magic and an empty SETTINGS frame.
  bool sendPreface() { return send(std::string(kPreface) + settingsFrame()); }
  bool send(std::string_view bytes) { return conn_.send(bytes); }
  // Sends without reading anything meanwhile (a client that ignores its answers).
  bool sendBlind(std::string_view bytes) { return conn_.send(bytes, std::chrono::seconds(10), false); }

  // Reads frames until `stop` accepts one (that frame is the last returned), the server closes
  // the connection, or `timeout` passes; returns those `keep` accepts (all if it is null).
  // closed() tells whether the server closed.
  template <typename Stop>
  std::vector<Frame> readUntil(Stop stop,
                               std::chrono::milliseconds timeout = std::chrono::seconds(10),
                               bool (*keep)(const Frame&) = nullptr) {
    std::vector<Frame> out;
    conn_.readUntil(
        [&](const std::string&) {
          while (auto f = take()) {
            bool last = stop(*f);
            if (last || !keep || keep(*f)) out.push_back(std::move(*f));
            if (last) return true;
          }
          return false;
        },
        timeout);
    return out;
  }
  // Until the first GOAWAY, the close, or the timeout.
  std::vector<Frame> readUntilGoaway(std::chrono::milliseconds timeout = std::chrono::seconds(10),
                                     bool (*keep)(const Frame&) = nullptr) {
    return readUntil([](const Frame& f) { return f.type == kGoaway; }, timeout, keep);
  }
  // Reads until the server closes; true if it did within `timeout`. Frames are dropped.
  bool waitForClose(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  bool closed() const { return conn_.closed(); }

 private:
  std::optional<Frame> take();  // the next whole frame received, if any
  void decode(Frame& f);        // fills f.headers from a HEADERS or CONTINUATION payload
  RawConnection conn_;
  nghttp2_hd_inflater* inflater_ = nullptr;
  std::string pending_;         // a header block waiting for its END_HEADERS
};

// For readUntil's `keep`: GOAWAY and RST_STREAM only (a flood's answers are many).
inline bool keepGoaway(const Frame& f) { return f.type == kGoaway || f.type == kRstStream; }

// The first frame of that type, or nullptr.
const Frame* findFrame(const std::vector<Frame>& frames, uint8_t type);
// "SETTINGS/0 HEADERS/1 :status=401 RST_STREAM/1 code=8 GOAWAY/0 code=1", for failure messages.
std::string describe(const std::vector<Frame>& frames);

}  // namespace kgate::test::h2
