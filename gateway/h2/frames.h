// HTTP/2 frames (RFC 9113 sections 4 and 6), for kgate's own server codec: the 9-byte header,
// what a frame alone can break of section 6's rules (the connection's and streams' states are
// the codec's to check), the parts of padded and prioritised frames, SETTINGS, and the frames a
// server writes. Like hpack.h, not used by the sessions yet (they still run nghttp2).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kgate::h2::frames {

enum class Type : uint8_t {
  Data = 0x0,
  Headers = 0x1,
  Priority = 0x2,
  RstStream = 0x3,
  Settings = 0x4,
  PushPromise = 0x5,
  Ping = 0x6,
  GoAway = 0x7,
  WindowUpdate = 0x8,
  Continuation = 0x9,
};

// Flags; END_STREAM and ACK share a bit, on different frame types.
inline constexpr uint8_t kEndStream = 0x1;
inline constexpr uint8_t kAck = 0x1;
inline constexpr uint8_t kEndHeaders = 0x4;
inline constexpr uint8_t kPadded = 0x8;
inline constexpr uint8_t kPriority = 0x20;

enum class ErrorCode : uint32_t {
  NoError = 0x0,
  Protocol = 0x1,
  Internal = 0x2,
  FlowControl = 0x3,
  SettingsTimeout = 0x4,
  StreamClosed = 0x5,
  FrameSize = 0x6,
  RefusedStream = 0x7,
  Cancel = 0x8,
  Compression = 0x9,
  Connect = 0xa,
  EnhanceYourCalm = 0xb,
  InadequateSecurity = 0xc,
  Http11Required = 0xd,
};

inline constexpr size_t kHeaderSize = 9;
inline constexpr uint32_t kDefaultMaxFrameSize = 16384;  // and the least a peer may set
inline constexpr uint32_t kLargestMaxFrameSize = (1u << 24) - 1;
inline constexpr uint32_t kMaxWindow = 0x7fffffff;
inline constexpr std::string_view kClientPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

struct Header {
  uint32_t length = 0;  // of the payload
  uint8_t type = 0;     // a Type, or an extension's: unknown types are ignored (section 5.5)
  uint8_t flags = 0;
  uint32_t stream = 0;  // the reserved bit cleared
};

// The header at p, which must hold kHeaderSize bytes.
Header parseHeader(const char* p);
void appendHeader(std::string& out, uint32_t length, Type type, uint8_t flags, uint32_t stream);

// A breach of RFC 9113: a connection error, or one the stream alone answers (RST_STREAM).
struct Violation {
  ErrorCode code = ErrorCode::NoError;
  bool streamOnly = false;
  explicit operator bool() const { return code != ErrorCode::NoError; }
};

// What a frame a client sent breaks of section 6's rules on its own: its stream identifier,
// its length (over maxFrameSize, the SETTINGS_MAX_FRAME_SIZE this side announced, or not what
// its type needs), its padding, a WINDOW_UPDATE of 0, a PUSH_PROMISE (clients send none). Frame
// size errors are connection errors throughout (section 4.2 lets an endpoint choose, and
// section 5.4.1 lets it close for any stream error). Left to the codec, which knows the
// states: a WINDOW_UPDATE of 0 on an idle stream is a connection error (section 5.1), not the
// stream error said here; a HEADERS or PRIORITY making a stream depend on itself (5.3.1).
Violation checkClientFrame(const Header& h, std::string_view payload, uint32_t maxFrameSize);

// DATA and HEADERS: the payload without its padding and (HEADERS) its priority fields. Only for
// a frame checkClientFrame found sound. Flow control counts the whole DATA payload, padding
// included (section 6.9.1), not just this.
std::string_view content(const Header& h, std::string_view payload);

// HEADERS with the PRIORITY flag, and PRIORITY (checked sound): the stream the frame says it
// depends on. Section 5.3.1 makes a dependency on itself a stream error; nothing else of it
// is used.
uint32_t priorityDependency(const Header& h, std::string_view payload);

// The four-byte fields: RST_STREAM's and GOAWAY's error code, WINDOW_UPDATE's increment,
// GOAWAY's last stream (reserved bits cleared where the RFC has one).
uint32_t rstStreamCode(std::string_view payload);
uint32_t windowIncrement(std::string_view payload);
uint32_t goAwayLastStream(std::string_view payload);
uint32_t goAwayCode(std::string_view payload);

// The settings a peer sent, the ones it left out unset; unknown identifiers are ignored
// (section 6.5.2).
struct Settings {
  std::optional<uint32_t> headerTableSize, enablePush, maxConcurrentStreams, initialWindowSize,
      maxFrameSize, maxHeaderListSize, noRfc7540Priorities;
  // Entries apply in order (section 6.5.3): a HEADER_TABLE_SIZE of 0 then 4096 empties the
  // peer's table on the way, which the encoder must announce. The smallest of the frame's.
  std::optional<uint32_t> lowestHeaderTableSize;
};
// Reads a SETTINGS payload (checkClientFrame found its length sound); values out of range are a
// connection error: ENABLE_PUSH or NO_RFC7540_PRIORITIES other than 0 or 1 and a
// MAX_FRAME_SIZE outside [2^14, 2^24 - 1] PROTOCOL_ERROR, an INITIAL_WINDOW_SIZE over 2^31 - 1
// FLOW_CONTROL_ERROR. Across frames, the codec's to check: NO_RFC7540_PRIORITIES may not change
// once sent (RFC 9218 section 2.1).
Violation parseSettings(std::string_view payload, Settings& out);

// Frames a server writes, appended to out.
void appendSettings(std::string& out, const std::vector<std::pair<uint16_t, uint32_t>>& entries);
void appendSettingsAck(std::string& out);
void appendPingAck(std::string& out, std::string_view opaque);  // the 8 bytes the peer sent
void appendWindowUpdate(std::string& out, uint32_t stream, uint32_t increment);  // 1..2^31-1
void appendRstStream(std::string& out, uint32_t stream, ErrorCode code);
void appendGoAway(std::string& out, uint32_t lastStream, ErrorCode code,
                  std::string_view debug = {});
// A header block as HEADERS and, past maxFrameSize (the peer's, at least 2^14), CONTINUATION
// frames.
void appendHeaders(std::string& out, uint32_t stream, std::string_view block, bool endStream,
                   uint32_t maxFrameSize);
// The header of a DATA frame of `length` bytes; the bytes follow it, from wherever they lie.
void appendDataHeader(std::string& out, uint32_t stream, uint32_t length, bool endStream);

// SETTINGS identifiers (section 6.5.2; 0x9 from RFC 9218).
inline constexpr uint16_t kHeaderTableSize = 0x1;
inline constexpr uint16_t kEnablePush = 0x2;
inline constexpr uint16_t kMaxConcurrentStreams = 0x3;
inline constexpr uint16_t kInitialWindowSize = 0x4;
inline constexpr uint16_t kMaxFrameSize = 0x5;
inline constexpr uint16_t kMaxHeaderListSize = 0x6;
inline constexpr uint16_t kNoRfc7540Priorities = 0x9;

}  // namespace kgate::h2::frames
